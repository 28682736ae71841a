"""Benchmark 1: per-prompt gradient features, batched path vs per-prompt loop vs the floor.

For n arith prompts x G completions sampled from the model:
  batched  `policy_gradients` (one forward + one backward per batch of prompts, per-example
           gradients from hooks), as the pipeline calls it;
  loop     `policy_gradients_loop` (one forward + one autograd.grad per prompt), the reference;
  floor    `floor_forward_backward`: one ordinary batched forward + backward of sum_i J_i over the
           same tokens and batches into the summed .grad, logits only where completion tokens are
           predicted, as the batched path and TRL's GRPO compute them (what one GRPO step's
           forward+backward costs; no per-example work).
Each with projection off (exact [n, P] features) and with a JL projection to `dim` dimensions
(JLProjection as the pipeline builds it: Gamma regenerated block by block on every use). All
paths run interleaved in one process, best of `repeats`.

The advantages are synthetic (seeded Bernoulli(1/2) rewards per completion, centred per group,
every group mixed): the cost depends on the tokens, not on the advantages' values, and a random
model would give all-zero rewards, i.e. no group to differentiate.
"""

from __future__ import annotations

import random
from typing import Any

from rlselect.bench.common import finish, header, interleaved


def make_inputs(model, tokenizer, *, n_prompts: int, G: int, max_new_tokens: int, seed: int = 0):
    """(prompts, completions, advantages, sizes): arith train prompts, G sampled completions each."""
    from rlselect.data import load_records
    from rlselect.grads.rollout_batch import build_groups
    from rlselect.rollouts.generate import render_prompts, sample_completions

    records = load_records("arith", "train")[:n_prompts]
    prompts = render_prompts(tokenizer, records)
    groups = sample_completions(model, tokenizer, prompts, G=G, temperature=1.0, top_p=1.0,
                                max_new_tokens=max_new_tokens, seed=seed, batch_size=64)
    completions = [[c["text"] for c in g] for g in groups]
    rng = random.Random(seed)
    advantages = []
    for comps in completions:
        r = [float(rng.random() < 0.5) for _ in comps]
        if len(r) > 1:
            r[0], r[1] = 1.0, 0.0  # every group mixed: none is skipped
        mean = sum(r) / len(r)
        advantages.append([x - mean for x in r])
    built = [g for g in build_groups(tokenizer, prompts, completions, advantages) if g is not None]
    sizes = {
        "prompts": len(prompts),
        "G": G,
        "sequences": sum(len(g.seqs) for g in built),
        "tokens": sum(g.n_tokens for g in built),  # prompt + completion tokens of every sequence
        "completion_tokens": sum(len(s) - g.start for g in built for s in g.seqs),
        "max_new_tokens": max_new_tokens,
    }
    return prompts, completions, advantages, sizes


def floor_forward_backward(model, tokenizer, prompts, completions, advantages, *, batch_size: int = 8,
                           token_agg: str = "seq_mean") -> None:
    """grad of sum_i J_i into param.grad (then cleared), batch_size prompts a pass, the same
    packing and the same completion-position logits as `policy_gradients`, no hooks."""
    import torch.nn.functional as F

    from rlselect.grads.policy import _pad_id, model_parts, pack
    from rlselect.grads.rollout_batch import build_groups

    groups = sorted((g for g in build_groups(tokenizer, prompts, completions, advantages, token_agg)
                     if g is not None), key=lambda g: -g.max_len)
    _, embed, backbone, head = model_parts(model)
    was_training = model.training
    model.eval()
    try:
        for b0 in range(0, len(groups), batch_size):
            chunk = groups[b0:b0 + batch_size]
            ids, _, flat, tgt, w, _ = pack(chunk, [0] * len(chunk), _pad_id(tokenizer), embed.weight.device)
            h = backbone(input_ids=ids, use_cache=False).last_hidden_state
            hs = h.reshape(-1, h.shape[-1]).index_select(0, flat)
            logp = F.log_softmax(head(hs).float(), dim=-1).gather(1, tgt[:, None]).squeeze(1)
            (logp * w).sum().backward()
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)


def _max_abs_diff(a, b) -> dict[str, float]:
    scale = float(b.abs().max()) or 1.0
    diff = float((a - b).abs().max())
    return {"max_abs_diff": diff, "max_rel_diff": diff / scale}


def bench_gradients(model, tokenizer, *, n_prompts: int = 32, G: int = 8, max_new_tokens: int = 32,
                    dims: tuple[int | None, ...] = (None, 1024), repeats: int = 3, batch_size: int = 8,
                    seed: int = 0, device: str = "cpu", check: bool = True, model_desc: dict | None = None) -> dict:
    """The benchmark's JSON: one entry per projection setting ('projection_off',
    'projection_<dim>') with batched_s, loop_s, floor_s, speedup_vs_loop = loop_s / batched_s,
    ratio_to_floor = batched_s / floor_s (wall seconds, best of `repeats`), the same in process
    CPU seconds, tokens/s and peak memory of each path; plus the setup and the machine."""
    from rlselect.grads import JLProjection, policy_gradients, policy_gradients_loop

    out: dict[str, Any] = header(device)
    prompts, completions, advantages, sizes = make_inputs(model, tokenizer, n_prompts=n_prompts, G=G,
                                                          max_new_tokens=max_new_tokens, seed=seed)
    args = (model, tokenizer, prompts, completions, advantages)
    settings = {("projection_off" if d is None else f"projection_{d}"): d for d in dims}
    projections = {name: (JLProjection(dim=d, seed=0) if d else None) for name, d in settings.items()}

    fns = {"floor": lambda: floor_forward_backward(*args, batch_size=batch_size)}
    for name, proj in projections.items():
        fns[f"batched/{name}"] = lambda proj=proj: policy_gradients(*args, projection=proj, batch_size=batch_size)
        fns[f"loop/{name}"] = lambda proj=proj: policy_gradients_loop(*args, projection=proj)

    # Warm-up (allocator, kernels, lazy imports) on two prompts, untimed.
    small = tuple(x[:2] for x in args[2:])
    floor_forward_backward(model, tokenizer, *small, batch_size=batch_size)
    for proj in projections.values():
        policy_gradients(model, tokenizer, *small, projection=proj, batch_size=batch_size)
        policy_gradients_loop(model, tokenizer, *small, projection=proj)

    keep = tuple(n for n in fns if n != "floor") if check else ()
    t = interleaved(fns, repeats, device, keep=keep)

    out["setup"] = {**sizes, **(model_desc or {}), "batch_size": batch_size, "repeats": repeats,
                    "token_agg": "seq_mean", "grad_params": "all", "device": device,
                    "timing": "wall seconds, best of the repeats; paths interleaved in one process"}
    tokens = sizes["tokens"]
    floor = t["floor"]
    for name in settings:
        b, lp = t[f"batched/{name}"], t[f"loop/{name}"]
        row: dict[str, Any] = {
            "batched_s": b["best_wall"],
            "loop_s": lp["best_wall"],
            "floor_s": floor["best_wall"],
            "speedup_vs_loop": lp["best_wall"] / b["best_wall"],
            "ratio_to_floor": b["best_wall"] / floor["best_wall"],
            "batched_tokens_per_s": tokens / b["best_wall"],
            "loop_tokens_per_s": tokens / lp["best_wall"],
            "floor_tokens_per_s": tokens / floor["best_wall"],
            "batched_cpu_s": b["best_cpu"],
            "loop_cpu_s": lp["best_cpu"],
            "floor_cpu_s": floor["best_cpu"],
            "speedup_vs_loop_cpu": lp["best_cpu"] / b["best_cpu"],
            "ratio_to_floor_cpu": b["best_cpu"] / floor["best_cpu"],
            "dim": settings[name],
            "repeats_s": {"batched": b["wall"], "loop": lp["wall"], "floor": floor["wall"]},
            "memory": {"batched": b["memory"], "loop": lp["memory"], "floor": floor["memory"]},
        }
        if check:
            row["batched_vs_loop"] = _max_abs_diff(b["value"], lp["value"])
        out[name] = row
    return finish(out)
