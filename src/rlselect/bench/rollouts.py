"""Benchmark 2: rollout generation throughput (HF `generate`, as the rollout stage samples).

n arith prompts x G completions, temperature 1, the same seed every call (the same work).
Generated tokens count each completion up to and including its EOS (as `sample_completions` does).
"""

from __future__ import annotations

from rlselect.bench.core import time_call


def bench_rollouts(
    model,
    tokenizer,
    *,
    n_prompts: int = 32,
    G: int = 8,
    max_new_tokens: int = 32,
    min_run_time: float = 5.0,
    batch_size: int = 64,
    device: str = "cpu",
    model_desc: dict | None = None,
) -> dict:
    from rlselect.data import load_records
    from rlselect.rollouts.generate import render_prompts, sample_completions

    prompts = render_prompts(tokenizer, load_records("arith", "train")[:n_prompts])
    kw = dict(G=G, temperature=1.0, top_p=1.0, max_new_tokens=max_new_tokens, seed=0, batch_size=batch_size)
    t, groups = time_call(lambda: sample_completions(model, tokenizer, prompts, **kw), min_run_time, device)
    n = sum(len(g) for g in groups)
    tokens = sum(c["n_tokens"] for g in groups for c in g)
    setup = {
        **(model_desc or {}),
        "prompts": n_prompts,
        "G": G,
        "max_new_tokens": max_new_tokens,
        "batch_size": batch_size,
        "temperature": 1.0,
        "min_run_time": min_run_time,
        "device": device,
        "backend": "hf generate",
    }
    return {
        "setup": setup,
        "rollouts": {
            "seconds": t["s"],
            "cpu_s": t["cpu_s"],
            "completions": n,
            "generated_tokens": tokens,
            "mean_completion_tokens": tokens / n,
            "prompt_tokens": sum(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts),
            "completions_per_s": n / t["s"],
            "tokens_per_s": tokens / t["s"],
            "times_s": t["times_s"],
            "memory": t["memory"],
        },
    }
