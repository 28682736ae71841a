"""Benchmark 1: per-prompt gradient features, batched path vs per-prompt loop vs the floor.

On n arith prompts x G sampled completions (`core.make_inputs`):
  batched  `policy_gradients` (one forward + one backward per batch of prompts, per-example
           gradients from hooks), as the pipeline calls it;
  loop     `policy_gradients_loop` (one forward + one autograd.grad per prompt), the reference;
  floor    `core.floor_forward_backward`: one plain batched forward + backward over the same tokens.
Each with projection off (exact [n, P] features) and with the pipeline's `JLProjection` to `dim`
dimensions (Gamma regenerated from its seed on every use).
"""

from __future__ import annotations

from typing import Any

from rlselect.bench.core import floor_forward_backward, make_inputs, time_call

PATHS = ("batched", "loop", "floor")


def bench_gradients(
    model,
    tokenizer,
    *,
    n_prompts: int = 32,
    G: int = 8,
    max_new_tokens: int = 32,
    dims: tuple[int | None, ...] = (None, 1024),
    min_run_time: float = 5.0,
    batch_size: int = 8,
    device: str = "cpu",
    check: bool = True,
    model_desc: dict | None = None,
) -> dict:
    """One entry per projection setting ('projection_off', 'projection_<dim>'): <path>_s (median
    wall seconds), <path>_cpu_s, <path>_tokens_per_s, speedup_vs_loop = loop_s / batched_s,
    ratio_to_floor = batched_s / floor_s (and both in CPU seconds), times_s and memory per path."""
    from rlselect.grads import JLProjection, policy_gradients, policy_gradients_loop

    prompts, completions, advantages, sizes = make_inputs(
        model, tokenizer, n_prompts=n_prompts, G=G, max_new_tokens=max_new_tokens
    )
    args = (model, tokenizer, prompts, completions, advantages)
    floor, _ = time_call(lambda: floor_forward_backward(*args, batch_size=batch_size), min_run_time, device)
    out: dict[str, Any] = {
        "setup": {
            **sizes,
            **(model_desc or {}),
            "batch_size": batch_size,
            "min_run_time": min_run_time,
            "token_agg": "seq_mean",
            "grad_params": "all",
            "device": device,
            "timing": "torch.utils.benchmark.Timer.blocked_autorange: median wall seconds after one warm-up call",
        }
    }
    for dim in dims:
        proj = JLProjection(dim=dim, seed=0) if dim else None
        batched, fb = time_call(
            lambda proj=proj: policy_gradients(*args, projection=proj, batch_size=batch_size), min_run_time, device
        )
        loop, fl = time_call(lambda proj=proj: policy_gradients_loop(*args, projection=proj), min_run_time, device)
        t = {"batched": batched, "loop": loop, "floor": floor}
        row: dict[str, Any] = {f"{p}_{k}": t[p][k] for p in PATHS for k in ("s", "cpu_s")}
        row.update({f"{p}_tokens_per_s": sizes["tokens"] / t[p]["s"] for p in PATHS})
        for unit in ("s", "cpu_s"):
            suffix = "_cpu" if unit == "cpu_s" else ""
            row[f"speedup_vs_loop{suffix}"] = loop[unit] / batched[unit]
            row[f"ratio_to_floor{suffix}"] = batched[unit] / floor[unit]
        row.update(dim=dim, times_s={p: t[p]["times_s"] for p in PATHS}, memory={p: t[p]["memory"] for p in PATHS})
        if check:  # both paths must compute the same features
            diff, scale = float((fb - fl).abs().max()), float(fl.abs().max()) or 1.0
            row["batched_vs_loop"] = {"max_abs_diff": diff, "max_rel_diff": diff / scale}
        out["projection_off" if dim is None else f"projection_{dim}"] = row
        del fb, fl
    return out
