"""Benchmark 2: rollout generation throughput (HF `generate`, as the rollout stage samples).

n arith prompts x G completions, temperature 1, `max_new_tokens`, `batch_size` prompts per
generate call, the same seed every repeat (the same work); best of `repeats`. Generated tokens
count each completion up to and including its EOS (what `sample_completions` reports).
"""

from __future__ import annotations

from typing import Any

from rlselect.bench.common import finish, header, measure, worst_memory


def bench_rollouts(model, tokenizer, *, n_prompts: int = 32, G: int = 8, max_new_tokens: int = 32,
                   repeats: int = 3, batch_size: int = 64, seed: int = 0, device: str = "cpu",
                   model_desc: dict | None = None) -> dict:
    from rlselect.data import load_records
    from rlselect.rollouts.generate import render_prompts, sample_completions

    out: dict[str, Any] = header(device)
    prompts = render_prompts(tokenizer, load_records("arith", "train")[:n_prompts])
    kw = dict(G=G, temperature=1.0, top_p=1.0, max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size)
    sample_completions(model, tokenizer, prompts[:2], **{**kw, "max_new_tokens": 4})  # warm-up, untimed
    walls, cpus, mems, groups = [], [], [], None
    for _ in range(repeats):
        wall, cpu, mem, groups = measure(lambda: sample_completions(model, tokenizer, prompts, **kw), device)
        walls.append(round(wall, 6))
        cpus.append(round(cpu, 6))
        mems.append(mem)
    best = min(walls)
    n_completions = sum(len(g) for g in groups)
    gen_tokens = sum(c["n_tokens"] for g in groups for c in g)
    prompt_tokens = sum(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    out["setup"] = {**(model_desc or {}), "prompts": n_prompts, "G": G, "max_new_tokens": max_new_tokens,
                    "batch_size": batch_size, "temperature": 1.0, "repeats": repeats, "device": device,
                    "backend": "hf generate"}
    out["rollouts"] = {
        "seconds": best,
        "cpu_s": min(cpus),
        "completions": n_completions,
        "generated_tokens": gen_tokens,
        "mean_completion_tokens": gen_tokens / n_completions,
        "prompt_tokens": prompt_tokens,
        "completions_per_s": n_completions / best,
        "tokens_per_s": gen_tokens / best,
        "repeats_s": walls,
        "memory": worst_memory(mems),
    }
    return finish(out)
