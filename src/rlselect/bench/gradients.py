"""Benchmark 1: per-prompt gradient features on n arith prompts x G sampled completions, each path
with projection off (exact [n, P] features) and with the pipeline's `JLProjection` to `dim`:
batched `policy_gradients` (one forward + backward per batch of prompts, per-example gradients from
hooks, as the pipeline calls it), loop `policy_gradients_loop` (one forward + autograd.grad per
prompt, the reference), floor `core.floor_forward_backward` (plain batched forward + backward)."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Any

from rlselect.bench.core import Setup, floor_forward_backward, make_inputs, time_call
from rlselect.grads import JLProjection, policy_gradients, policy_gradients_loop

PATHS = ("batched", "loop", "floor")
BATCH = 8  # prompts per forward + backward (batched and floor)


def bench_gradients(model, tokenizer, desc: dict, s: Setup) -> dict:
    """One entry per projection setting ('projection_off', 'projection_<dim>'): <path>_s (median
    wall seconds), <path>_cpu_s, <path>_tokens_per_s, speedup_vs_loop = loop_s / batched_s,
    ratio_to_floor = batched_s / floor_s (and both in CPU seconds: *_cpu), times_s and memory per
    path; on the tiny model also batched_vs_loop, the largest difference between their features."""
    prompts, completions, advantages, sizes = make_inputs(model, tokenizer, s)
    args = (model, tokenizer, prompts, completions, advantages)
    floor, _ = time_call(partial(floor_forward_backward, *args, batch_size=BATCH), s.min_run_time, s.device)
    out: dict[str, Any] = {"setup": {**desc, **asdict(s), **sizes, "batch_size": BATCH}}
    for dim in s.dims:
        proj = JLProjection(dim=dim, seed=0) if dim else None
        fn = partial(policy_gradients, *args, projection=proj, batch_size=BATCH)
        batched, fb = time_call(fn, s.min_run_time, s.device)
        loop, fl = time_call(partial(policy_gradients_loop, *args, projection=proj), s.min_run_time, s.device)
        t = {"batched": batched, "loop": loop, "floor": floor}
        row: dict[str, Any] = {"dim": dim, **{f"{p}_{k}": t[p][k] for p in PATHS for k in ("s", "cpu_s")}}
        row |= {f"{p}_tokens_per_s": sizes["tokens"] / t[p]["s"] for p in PATHS}
        for unit, suffix in (("s", ""), ("cpu_s", "_cpu")):
            row[f"speedup_vs_loop{suffix}"] = loop[unit] / batched[unit]
            row[f"ratio_to_floor{suffix}"] = batched[unit] / floor[unit]
        row |= {k: {p: t[p][k] for p in PATHS} for k in ("times_s", "memory")}
        if s.model == "tiny":  # both paths must compute the same features
            diff, scale = float((fb - fl).abs().max()), float(fl.abs().max()) or 1.0
            row["batched_vs_loop"] = {"max_abs_diff": diff, "max_rel_diff": diff / scale}
        out["projection_off" if dim is None else f"projection_{dim}"] = row
        del fb, fl
    return out
