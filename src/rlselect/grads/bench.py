"""Timing of the per-example gradient paths against one plain forward+backward (benchmarks).

`plain_forward_backward` is the yardstick: the same batches, one ordinary forward of the full
model and one .backward() of sum_i J_i into the summed .grad (what a GRPO step costs).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from rlselect.grads.policy import _pad_id, pack, policy_gradients, policy_gradients_loop
from rlselect.grads.rollout_batch import build_groups


def plain_forward_backward(model, tokenizer, prompts, completions, advantages, *,
                           token_agg="seq_mean", batch_size=16, append_eos=False) -> None:
    """grad of sum_i J_i accumulated into param.grad (then cleared), batch_size prompts a pass."""
    groups = [g for g in build_groups(tokenizer, prompts, completions, advantages, token_agg,
                                      append_eos) if g is not None]
    groups.sort(key=lambda g: -g.max_len)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for b0 in range(0, len(groups), batch_size):
            chunk = groups[b0:b0 + batch_size]
            ids, _, flat, tgt, w, _ = pack(chunk, [0] * len(chunk), _pad_id(tokenizer), device)
            logits = model(input_ids=ids, use_cache=False).logits
            lp = F.log_softmax(logits.reshape(-1, logits.shape[-1]).float()[flat], dim=-1)
            (lp.gather(1, tgt[:, None]).squeeze(1) * w).sum().backward()
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _best_of(fn, repeats: int) -> float:
    """Least wall time over repeats (the least disturbed run on a shared machine)."""
    times = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def _best_cpu(fn, repeats: int) -> float:
    """Least process CPU time (all threads) over repeats: steadier than wall time under load."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def benchmark(model, tokenizer, prompts, completions, advantages, *, repeats=3, loop=True,
              **kwargs) -> dict:
    """Best-of-`repeats` seconds for the plain forward+backward, the batched per-example path
    and (loop=True) the per-prompt reference loop, with the ratios the targets are stated in."""
    bs = kwargs.get("batch_size", 16)
    agg = kwargs.get("token_agg", "seq_mean")
    args = (model, tokenizer, prompts, completions, advantages)
    plain_forward_backward(*args, token_agg=agg, batch_size=bs)  # warm-up
    policy_gradients(*args, **kwargs)
    fns = {"plain_fb": lambda: plain_forward_backward(*args, token_agg=agg, batch_size=bs),
           "batched": lambda: policy_gradients(*args, **kwargs)}
    if loop:
        fns["loop"] = lambda: policy_gradients_loop(*args, **kwargs)
    out = {}
    for name, fn in fns.items():
        out[f"{name}_s"] = _best_of(fn, repeats)
        out[f"{name}_cpu_s"] = _best_cpu(fn, repeats)
    for unit in ("s", "cpu_s"):
        out[f"batched_over_plain_{unit}"] = out[f"batched_{unit}"] / out[f"plain_fb_{unit}"]
        if loop:
            out[f"loop_over_batched_{unit}"] = out[f"loop_{unit}"] / out[f"batched_{unit}"]
    return out
