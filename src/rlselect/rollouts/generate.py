"""Sampling G completions per prompt and scoring them with the project's one verifier.

Every prompt's samples depend on (seed, prompt id) alone, not on which shard or batch it lands in,
so a resumed or re-sharded run draws the same completions. HF `generate` (left-padded batches, each
prompt repeated G times) samples through `PromptSeededSampler`: temperature and top-p, then the
Gumbel-max trick with noise hashed from (the prompt's seed, the rollout, the step, the token), so
greedy decoding of the perturbed logits is an exact sample and no global RNG is involved. vLLM
gets one engine per stage (`VllmEngine`) and one seeded request per prompt. Both stop at EOS and at
the chat template's end of turn (models/stop_tokens.py).
"""

from __future__ import annotations

import hashlib
from functools import partial
from itertools import islice
from typing import Any

import torch

from rlselect.models.stop_tokens import stop_token_ids


def render_prompts(tokenizer, records) -> list[str]:
    """The chat-templated prompt strings (the same rendering TRL and lm-eval apply)."""
    return [tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in records]


def prompt_seeds(seed: int, records) -> list[int]:
    """A 63-bit sampling seed per record from (run seed, record id)."""
    return [int.from_bytes(hashlib.blake2b(f"{seed}|{r['id']}".encode(), digest_size=8).digest()) >> 1 for r in records]


def _signed(c: int) -> int:
    return c - (1 << 64) if c >= 1 << 63 else c


_M1, _M2, _GOLD = _signed(0xBF58476D1CE4E5B9), _signed(0x94D049BB133111EB), _signed(0x9E3779B97F4A7C15)
_LOW = {k: (1 << (64 - k)) - 1 for k in (30, 27, 31, 11)}


def _mix(x: torch.Tensor) -> torch.Tensor:
    """splitmix64's finaliser on int64 tensors (multiplication wraps; shifts made logical by masks)."""
    x = x ^ ((x >> 30) & _LOW[30])
    x = x * _M1
    x = x ^ ((x >> 27) & _LOW[27])
    x = x * _M2
    return x ^ ((x >> 31) & _LOW[31])


def hashed_uniform(row_keys: torch.Tensor, step: int, vocab: int) -> torch.Tensor:
    """[rows, vocab] uniforms in (0, 1), a pure function of (row key, step, token id)."""
    tokens = torch.arange(vocab, device=row_keys.device, dtype=torch.long)
    step_key = _signed((_GOLD * (step + 1)) % (1 << 64))
    x = _mix(_mix(row_keys[:, None] + step_key) + tokens[None, :] * _GOLD)
    return (((x >> 11) & _LOW[11]).double() + 0.5) / float(1 << 53)


class PromptSeededSampler:
    """A logits processor that turns greedy decoding into temperature / top-p sampling whose noise
    is keyed per row (one row = one rollout of one prompt) instead of drawn from a global RNG."""

    def __init__(self, row_keys: torch.Tensor, prompt_len: int, temperature: float, top_p: float):
        self.row_keys, self.prompt_len = row_keys, prompt_len
        self.temperature, self.top_p = temperature, top_p

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        logits = scores.float() / self.temperature
        if self.top_p < 1.0:  # keep the smallest set of tokens whose probability reaches top_p
            sorted_logits, order = logits.sort(dim=-1, descending=True)
            before = sorted_logits.softmax(-1).cumsum(-1) - sorted_logits.softmax(-1)
            drop = torch.zeros_like(logits, dtype=torch.bool).scatter(1, order, before >= self.top_p)
            logits = logits.masked_fill(drop, float("-inf"))
        step = input_ids.shape[1] - self.prompt_len
        u = hashed_uniform(self.row_keys.to(logits.device), step, logits.shape[-1])
        return logits - torch.log(-torch.log(u)).to(logits.dtype)  # + Gumbel noise; argmax = a sample


def sample_completions(
    model,
    tokenizer,
    prompts: list[str],
    *,
    G: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    seeds: list[int],
    batch_size: int = 32,
) -> list[list[dict]]:
    """G sampled completions per prompt, [{'text', 'n_tokens'}] (HF backend); prompt i's samples are
    a function of seeds[i] (see `prompt_seeds`); temperature 0 decodes greedily."""
    from transformers import GenerationConfig, LogitsProcessorList

    if len(seeds) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
    device = next(model.parameters()).device
    stops = stop_token_ids(tokenizer)
    config = GenerationConfig(  # explicit: nothing inherited from the checkpoint's generation_config.json
        do_sample=False,
        max_new_tokens=max_new_tokens,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=stops,
        suppress_tokens=model.generation_config.suppress_tokens,
    )
    out: list[list[dict]] = []
    was_training = model.training
    model.eval()
    tokenizer.padding_side = "left"
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        enc = {k: v.repeat_interleave(G, dim=0) for k, v in enc.items()}  # row i * G + j: rollout j of prompt i
        processors = LogitsProcessorList()
        if temperature > 0:
            keys = [_signed((k + j * _GOLD) % (1 << 64)) for k in seeds[start : start + batch_size] for j in range(G)]
            row_keys = torch.tensor(keys, dtype=torch.long, device=device)
            processors.append(PromptSeededSampler(row_keys, enc["input_ids"].shape[1], temperature, top_p))
        with torch.no_grad():
            gen = model.generate(**enc, generation_config=config, logits_processor=processors)
        new = gen[:, enc["input_ids"].shape[1] :]
        # tokens up to and including the first stop token
        is_stop = torch.isin(new, torch.tensor(stops, device=new.device))
        after_stop = (is_stop.cumsum(1) - is_stop.long()) > 0
        lengths = ((new != tokenizer.pad_token_id) & ~after_stop).sum(1).tolist()
        texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        for i in range(len(chunk)):
            out.append([{"text": texts[i * G + j], "n_tokens": int(lengths[i * G + j])} for j in range(G)])
    model.train(was_training)
    return out


class VllmEngine:
    """One vLLM engine for a whole stage (built on first use), with an explicit GPU memory share."""

    def __init__(self, model_path: str, tokenizer, gpu_memory_utilization: float = 0.85, **engine_kwargs):
        self.model_path, self.tokenizer = model_path, tokenizer
        self.engine_kwargs = dict(gpu_memory_utilization=gpu_memory_utilization, **engine_kwargs)
        self._llm = None

    def sample(self, prompts, *, G, temperature, top_p, max_new_tokens, seeds, **_) -> list[list[dict]]:
        from vllm import LLM, SamplingParams

        if self._llm is None:
            self._llm = LLM(model=self.model_path, **self.engine_kwargs)
        stops = stop_token_ids(self.tokenizer)
        kw = dict(n=G, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens, stop_token_ids=stops)
        results = self._llm.generate(prompts, [SamplingParams(**kw, seed=s) for s in seeds])
        return [[{"text": o.text, "n_tokens": len(o.token_ids)} for o in r.outputs] for r in results]


def score_groups(records, groups: list[list[dict]], seed: int = 0, reward: str = "math") -> list[dict[str, Any]]:
    """Rewards, success rate p_i and mean length per prompt, with the training reward itself
    (rollouts.reward = trainer.rewards[0]; `math`: the verifier, and for items a data regime
    corrupted a coin drawn per (seed, prompt, rollout))."""
    from rlselect.rewards import get_reward

    flat_c = [c["text"] for g in groups for c in g]
    flat_gold = [r["answer"] for r, g in zip(records, groups) for _ in g]
    flat_meta = [r["meta"] for r, g in zip(records, groups) for _ in g]
    flat_id = [r["id"] for r, g in zip(records, groups) for _ in g]
    flat_r = iter(get_reward(reward, seed)(None, flat_c, flat_gold, meta=flat_meta, id=flat_id))
    rows = []
    for rec, g in zip(records, groups):
        rewards = list(islice(flat_r, len(g)))
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


def rollout_rows(tokenizer, sample, records, cfg: dict, *, G: int, seed: int) -> list[dict[str, Any]]:
    """`score_groups` rows for G rollouts per record drawn by `sample` (`sample_completions` with the model bound,
    or `VllmEngine.sample`); each prompt is seeded from (seed, its id), whatever the batching or sharding."""
    knobs = {key: cfg[key] for key in ("temperature", "top_p", "max_new_tokens")}
    groups = sample(render_prompts(tokenizer, records), G=G, seeds=prompt_seeds(seed, records), **knobs)
    return score_groups(records, groups, seed=seed, reward=cfg.get("reward", "math"))


def sample_rows(model, tokenizer, records, rollout_cfg: dict, *, G: int, seed: int) -> list[dict[str, Any]]:
    """G scored rollouts per record at the live policy (HF generate): `score_groups` rows."""
    sample = partial(sample_completions, model, tokenizer, batch_size=rollout_cfg.get("batch_size", 32))
    return rollout_rows(tokenizer, sample, records, rollout_cfg, G=G, seed=seed)
