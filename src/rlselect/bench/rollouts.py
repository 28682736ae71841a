"""Benchmark 2: rollout throughput of HF `generate` as the rollout stage samples (n arith prompts x G,
temperature 1, the same seed every call); generated tokens count each completion up to its EOS."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

from rlselect.bench.core import Setup, arith_prompts, sample, time_call


def bench_rollouts(model, tokenizer, desc: dict, s: Setup) -> dict:
    prompts = arith_prompts(tokenizer, s.prompts)
    t, groups = time_call(partial(sample, model, tokenizer, prompts, s), s.min_run_time, s.device)
    n, tokens, sec = sum(len(g) for g in groups), sum(c["n_tokens"] for g in groups for c in g), t["s"]
    prompt_tokens = sum(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    rollouts = dict(seconds=sec, cpu_s=t["cpu_s"], completions=n, generated_tokens=tokens, prompt_tokens=prompt_tokens)
    rollouts |= dict(mean_completion_tokens=tokens / n, completions_per_s=n / sec, tokens_per_s=tokens / sec)
    setup = {**desc, **asdict(s), "batch_size": 64, "temperature": 1.0, "backend": "hf generate"}
    return {"setup": setup, "rollouts": {**rollouts, "times_s": t["times_s"], "memory": t["memory"]}}
