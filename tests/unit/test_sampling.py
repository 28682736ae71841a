"""Rollout sampling: each prompt's samples depend on (seed, prompt id) alone, the hashed Gumbel
sampler draws from softmax(logits / T) restricted to the top-p nucleus, and completions stop at EOS
and at the chat template's end of turn."""

from __future__ import annotations

import pytest
import torch

from rlselect.models.stop_tokens import end_of_turn_token, stop_strings, stop_token_ids
from rlselect.models.tiny import build_tiny
from rlselect.models.tokenizer import build_char_tokenizer
from rlselect.rollouts.generate import (
    PromptSeededSampler,
    hashed_uniform,
    prompt_seeds,
    render_prompts,
    sample_completions,
)

pytestmark = pytest.mark.usefixtures("one_thread")

RECORDS = [{"id": f"q{i}", "prompt": [{"role": "user", "content": f"{i}+{i + 1}="}]} for i in range(6)]


def test_prompt_seeds_follow_the_id_not_the_position():
    a = prompt_seeds(0, RECORDS)
    assert prompt_seeds(0, RECORDS[::-1]) == a[::-1]
    assert prompt_seeds(1, RECORDS) != a and len(set(a)) == len(a)
    assert all(0 <= s < 2**63 for s in a)


def test_hashed_uniform_is_deterministic_and_uniform():
    keys = torch.tensor([1, 2, -5, 2**62], dtype=torch.long)
    u = hashed_uniform(keys, step=3, vocab=4096)
    assert torch.equal(u, hashed_uniform(keys, step=3, vocab=4096))
    assert not torch.equal(u, hashed_uniform(keys, step=4, vocab=4096))
    assert bool(((u > 0) & (u < 1)).all())
    assert abs(float(u.mean()) - 0.5) < 0.01 and abs(float(u.var()) - 1 / 12) < 0.005


def test_gumbel_sampler_draws_from_the_tempered_nucleus():
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, -3.0]])
    T, top_p, n = 0.8, 0.9, 20000
    probs = (logits[0] / T).softmax(-1)
    keep = probs.sort(descending=True).values.cumsum(0) - probs.sort(descending=True).values < top_p
    nucleus = probs.sort(descending=True).indices[keep]
    want = torch.zeros(5)
    want[nucleus] = probs[nucleus] / probs[nucleus].sum()
    sampler = PromptSeededSampler(torch.arange(n, dtype=torch.long) * 7919, 0, T, top_p)
    draws = sampler(torch.zeros(n, 0, dtype=torch.long), logits.expand(n, -1)).argmax(-1)
    freq = torch.bincount(draws, minlength=5).float() / n
    assert torch.allclose(freq, want, atol=4 * (0.25 / n) ** 0.5)  # 4 standard errors at most
    assert freq[want == 0].sum() == 0  # nothing outside the nucleus


def test_samples_do_not_depend_on_batching():
    model, tok = build_tiny(seed=0)
    prompts, seeds = render_prompts(tok, RECORDS), prompt_seeds(3, RECORDS)
    kw = dict(G=4, temperature=1.0, top_p=1.0, max_new_tokens=12)
    whole = sample_completions(model, tok, prompts, seeds=seeds, batch_size=6, **kw)
    pieces = sample_completions(model, tok, prompts[:2], seeds=seeds[:2], batch_size=1, **kw)
    pieces += sample_completions(model, tok, prompts[2:], seeds=seeds[2:], batch_size=3, **kw)
    assert pieces == whole
    texts = {c["text"] for g in whole for c in g}
    assert len(texts) > 6  # sampled, not greedy: rollouts differ
    other = sample_completions(model, tok, prompts, seeds=prompt_seeds(4, RECORDS), batch_size=6, **kw)
    assert other != whole


def test_stops_cover_eos_and_the_end_of_turn():
    tok = build_char_tokenizer()
    assert stop_token_ids(tok) == [tok.eos_token_id]  # ChatML with EOS = <|im_end|>: one stop
    tok.eos_token = "<|endoftext|>"  # a base model: EOS differs from the template's end of turn
    assert end_of_turn_token(tok) == "<|im_end|>"
    assert stop_token_ids(tok) == [tok.convert_tokens_to_ids("<|endoftext|>"), tok.convert_tokens_to_ids("<|im_end|>")]
    assert stop_strings(tok) == ["<|endoftext|>", "<|im_end|>"]
    tok.chat_template = None
    assert stop_token_ids(tok) == [tok.eos_token_id]  # no template: EOS alone


def test_generation_stops_at_the_end_of_turn_when_eos_differs():
    model, tok = build_tiny(seed=0)
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    with torch.no_grad():  # the end of turn a few times likelier than at random init
        model.lm_head.weight[eot] *= 3
    tok.eos_token = "<|endoftext|>"  # as in a base model: EOS is not the end of turn
    kw = dict(G=8, temperature=1.0, top_p=1.0, max_new_tokens=40, seeds=[1, 2, 3, 4])
    out = sample_completions(model, tok, render_prompts(tok, RECORDS[:4]), **kw)
    lengths = [c["n_tokens"] for g in out for c in g]
    assert min(lengths) < 40 < max(lengths) + 1  # some rollouts ended at <|im_end|>, before the cap
    full = sample_completions(model, tok, render_prompts(tok, RECORDS[:4]), **{**kw, "max_new_tokens": 60})
    for g_short, g_long in zip(out, full):  # a stopped rollout is the same with a larger cap
        for a, b in zip(g_short, g_long):
            if a["n_tokens"] < 40:
                assert a == b


def test_rollout_stage_results_do_not_depend_on_sharding(tmp_path, verifier_ready):
    from rlselect.rollouts.stage import rollout_stage

    model, tok = build_tiny(seed=0)
    records = [{**r, "answer": "1", "meta": {}} for r in RECORDS]
    cfg = dict(G=4, temperature=1.0, top_p=1.0, max_new_tokens=8, batch_size=4, seed=5, backend="hf")
    one = rollout_stage("tiny-in-memory", records, {**cfg, "shard_size": 6}, tmp_path, model=model, tokenizer=tok)
    three = rollout_stage("tiny-in-memory", records, {**cfg, "shard_size": 2}, tmp_path, model=model, tokenizer=tok)
    assert [r["completions"] for r in one] == [r["completions"] for r in three]
