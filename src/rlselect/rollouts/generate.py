"""Sampling G completions per prompt and scoring them with the project's one verifier.

HF `generate` in batches (left-padded prompts, `num_return_sequences=G`); vLLM when installed and
asked for. Each batch is seeded from (seed, batch index), so a resumed run reproduces the same
samples shard by shard.
"""

from __future__ import annotations

from typing import Any


def render_prompts(tokenizer, records) -> list[str]:
    """The chat-templated prompt strings (the same rendering TRL and lm-eval apply)."""
    return [tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in records]


def sample_completions(
    model,
    tokenizer,
    prompts: list[str],
    *,
    G: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    seed: int,
    batch_size: int = 32,
) -> list[list[dict]]:
    """G sampled completions per prompt: [{'text', 'n_tokens'}] (HF backend)."""
    import torch

    device = next(model.parameters()).device
    out: list[list[dict]] = []
    was_training = model.training
    model.eval()
    tokenizer.padding_side = "left"
    for b, start in enumerate(range(0, len(prompts), batch_size)):
        chunk = prompts[start : start + batch_size]
        enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        torch.manual_seed(seed * 1_000_003 + b)
        with torch.no_grad():
            gen = model.generate(
                **enc,
                do_sample=temperature > 0,
                temperature=temperature if temperature > 0 else None,
                top_p=top_p if temperature > 0 else None,
                top_k=0,
                max_new_tokens=max_new_tokens,
                num_return_sequences=G,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        new = gen[:, enc["input_ids"].shape[1] :]
        not_pad = new != tokenizer.pad_token_id
        # tokens up to and including the first EOS
        is_eos = new == tokenizer.eos_token_id
        after_eos = (is_eos.cumsum(1) - is_eos.long()) > 0
        lengths = (not_pad & ~after_eos).sum(1).tolist()
        texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        for i in range(len(chunk)):
            out.append([{"text": texts[i * G + j], "n_tokens": int(lengths[i * G + j])} for j in range(G)])
    model.train(was_training)
    return out


def sample_completions_vllm(
    model_path: str,
    prompts: list[str],
    *,
    G: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    seed: int,
    **_,
) -> list[list[dict]]:
    """Same as `sample_completions` with vLLM (GPU machines)."""
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_path, seed=seed)
    params = SamplingParams(n=G, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens, seed=seed)
    results = llm.generate(prompts, params)
    return [[{"text": o.text, "n_tokens": len(o.token_ids)} for o in r.outputs] for r in results]


def score_groups(records, groups: list[list[dict]], seed: int = 0) -> list[dict[str, Any]]:
    """Rewards, success rate p_i and mean length per prompt, with the training reward itself
    (`MathReward`: the verifier, and for items a data regime corrupted a coin drawn per
    (seed, prompt, rollout))."""
    from rlselect.rewards import trl_math_reward

    flat_c = [c["text"] for g in groups for c in g]
    flat_gold = [r["answer"] for r, g in zip(records, groups) for _ in g]
    flat_meta = [r["meta"] for r, g in zip(records, groups) for _ in g]
    flat_id = [r["id"] for r, g in zip(records, groups) for _ in g]
    flat_r = trl_math_reward(None, flat_c, flat_gold, meta=flat_meta, id=flat_id, seed=seed)
    rows, k = [], 0
    for rec, g in zip(records, groups):
        rewards = flat_r[k : k + len(g)]
        k += len(g)
        rows.append(
            {
                "id": rec["id"],
                "completions": [c["text"] for c in g],
                "n_tokens": [c["n_tokens"] for c in g],
                "rewards": rewards,
                "p": sum(rewards) / len(rewards),
                "mean_len": sum(c["n_tokens"] for c in g) / len(g),
            }
        )
    return rows


def sample_rows(model, tokenizer, records, rollout_cfg: dict, *, G: int, seed: int) -> list[dict[str, Any]]:
    """G scored rollouts per record at the live policy (HF generate): `score_groups` rows."""
    groups = sample_completions(
        model,
        tokenizer,
        render_prompts(tokenizer, records),
        G=G,
        temperature=rollout_cfg["temperature"],
        top_p=rollout_cfg["top_p"],
        max_new_tokens=rollout_cfg["max_new_tokens"],
        seed=seed,
        batch_size=rollout_cfg.get("batch_size", 32),
    )
    return score_groups(records, groups, seed=seed)
