"""How scoring stages load and batch the model: dtype and device from the `model` group, backward
batches bounded by tokens, and LoRA adapters attached for params='lora' features."""

from __future__ import annotations

import pytest
import torch
from test_grads import make_rollouts

from rlselect.grads import gradalign_scores_streaming, policy_gradients
from rlselect.grads.params import attach_scoring_lora, has_lora, select_parameters
from rlselect.grads.policy import policy_gradients_loop, token_batches
from rlselect.grads.rollout_batch import build_groups
from rlselect.models import load_model, load_options, resolve_device
from rlselect.models.tiny import build_tiny

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny():
    model, tok = build_tiny(seed=0)
    return model, tok, make_rollouts(tok, n=8, G=4, seed=0), make_rollouts(tok, n=4, G=4, seed=1)


def test_load_options_read_the_model_group():
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
    assert load_options({"dtype": "bfloat16", "device": "cpu"}) == {"dtype": "bfloat16", "device": "cpu"}
    assert load_options({"name": "x"})["dtype"] == "float32"


def test_load_model_honours_dtype_and_names_a_bad_one(tiny, tmp_path):
    model, tok, *_ = tiny
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    m16, _ = load_model(tmp_path, dtype="bfloat16", device="cpu")
    assert {p.dtype for p in m16.parameters()} == {torch.bfloat16}
    m_auto, _ = load_model(tmp_path, dtype="auto")
    assert next(m_auto.parameters()).dtype == torch.float32  # the checkpoint's own
    with pytest.raises(ValueError, match="model.dtype='fp8x'"):
        load_model(tmp_path, dtype="fp8x")


def test_token_batches_respect_the_cap(tiny):
    _, tok, (P, C, A), _ = tiny
    groups = sorted((g for g in build_groups(tok, P, C, A) if g is not None), key=lambda g: -g.max_len)
    cap = 2 * max(len(g.seqs) for g in groups) * groups[0].max_len
    chunks = token_batches(groups, batch_size=8, max_tokens=cap)
    assert [g for c in chunks for g in c] == groups  # every prompt once, order kept
    assert len(chunks) > 1
    for c in chunks:
        assert len(c) == 1 or sum(len(g.seqs) for g in c) * c[0].max_len <= cap
    n = len(groups)
    assert [len(c) for c in token_batches(groups, batch_size=3)] == [min(3, n - k) for k in range(0, n, 3)]
    assert all(len(c) == 1 for c in token_batches(groups, batch_size=8, max_tokens=1))  # oversized: alone


def test_token_bounded_features_equal_unbounded(tiny):
    model, tok, (P, C, A), (vP, vC, vA) = tiny
    full = policy_gradients(model, tok, P, C, A, batch_size=8)
    capped = policy_gradients(model, tok, P, C, A, batch_size=8, max_tokens_per_batch=200)
    assert torch.allclose(capped, full, atol=1e-6, rtol=1e-4)
    a = gradalign_scores_streaming(model, tok, P, C, A, vP, vC, vA, batch_size=8)
    b = gradalign_scores_streaming(model, tok, P, C, A, vP, vC, vA, batch_size=8, max_tokens_per_batch=200)
    assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_scoring_lora_keeps_the_policy_and_gives_both_factors_gradients(tiny):
    base, tok, (P, C, A), _ = tiny
    model, _ = build_tiny(seed=0)
    ids = torch.tensor([tok(P[0], add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        before = model(ids).logits
    model = attach_scoring_lora(model, r=4, alpha=8, seed=3)
    assert has_lora(model) and attach_scoring_lora(model) is model  # attached once
    with torch.no_grad():
        after = model(ids).logits
    assert torch.allclose(before, after, atol=1e-5)  # B A = 0: the scored policy is unchanged
    feats = policy_gradients(model, tok, P, C, A, params="lora", batch_size=3)
    names = [n for n, _ in select_parameters(model, "lora")]
    sizes = [p.numel() for _, p in select_parameters(model, "lora")]
    per_param = dict(zip(names, feats.split(sizes, dim=1)))
    for factor in ("lora_A", "lora_B"):
        assert any(g.abs().sum() > 0 for n, g in per_param.items() if factor in n), factor
    ref = policy_gradients_loop(model, tok, P, C, A, params="lora")
    assert torch.allclose(feats, ref, atol=1e-6, rtol=1e-4)


def test_scoring_lora_is_seeded(tiny):
    a = attach_scoring_lora(build_tiny(seed=0)[0], r=4, seed=1)
    b = attach_scoring_lora(build_tiny(seed=0)[0], r=4, seed=1)
    c = attach_scoring_lora(build_tiny(seed=0)[0], r=4, seed=2)
    wa, wb, wc = (dict(m.named_parameters()) for m in (a, b, c))
    name = next(n for n in wa if "lora_A" in n)
    assert torch.equal(wa[name], wb[name]) and not torch.equal(wa[name], wc[name])
