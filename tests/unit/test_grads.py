"""Batched per-example policy gradients against the one-backward-per-prompt reference."""

from __future__ import annotations

import random

import pytest
import torch

from rlselect.grads import add_lora, param_layout, policy_gradients, policy_gradients_loop, validation_gradient
from rlselect.grads.per_example import affine_grads, generic_grads
from rlselect.grads.projection import JLProjection
from rlselect.models.tiny import build_tiny

QUESTIONS = [
    "What is 12+7?",
    "Tom has 3 apples and buys 5 more. How many now?",
    "Compute 9*8.",
    "What is half of 30?",
    "A train goes 60 km in 1 hour. Speed?",
    "Is 17 prime?",
    "What is 100-45?",
    "Sum the digits of 2024.",
]


pytestmark = pytest.mark.usefixtures("one_thread")


def make_rollouts(tok, n=8, G=4, seed=0):
    """n chat-templated prompts, G completions of varied length each, advantages r - mean(r)
    with binary r; prompt 3 has all-equal rewards (all-zero advantages), prompt 2 has an empty
    completion with a nonzero advantage."""
    rng = random.Random(seed)
    prompts = [
        tok.apply_chat_template(
            [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}], tokenize=False, add_generation_prompt=True
        )
        for i in range(n)
    ]
    comps, advs = [], []
    for _ in range(n):
        comps.append(
            ["".join(rng.choice("0123456789 +-=xy.\\{}boxed") for _ in range(rng.randint(1, 30))) for _ in range(G)]
        )
        r = [1.0, 0.0] + [float(rng.random() < 0.5) for _ in range(G - 2)]
        advs.append([x - sum(r) / G for x in r])
    advs[3] = [0.0] * G
    comps[2][0] = ""
    return prompts, comps, advs


@pytest.fixture(scope="module")
def tiny():
    model, tok = build_tiny(seed=0)
    return model, tok, make_rollouts(tok)


def last(model) -> str:
    """Name prefix of the last decoder block (the tiny config may change)."""
    return f"layers.{model.config.num_hidden_layers - 1}."


def resolve(model, params):
    return [p.replace("LAST.", last(model)) for p in params] if isinstance(params, list) else params


def assert_match(batched, loop):
    """Every prompt: cosine >= 0.9999 and relative norm error <= 1e-3; zero rows exactly zero."""
    assert batched.shape == loop.shape
    for i in range(loop.shape[0]):
        ref, got = loop[i], batched[i]
        if ref.norm() == 0:
            assert torch.count_nonzero(got) == 0, f"prompt {i} should be exactly zero"
            continue
        cos = torch.nn.functional.cosine_similarity(got, ref, dim=0).item()
        rel = ((got.norm() - ref.norm()).abs() / ref.norm()).item()
        assert cos >= 0.9999, f"prompt {i}: cosine {cos}"
        assert rel <= 1e-3, f"prompt {i}: relative norm error {rel}"


@pytest.mark.parametrize("token_agg", ["seq_mean", "token_mean", "sum"])
@pytest.mark.parametrize("params", ["all", ["LAST.", "lm_head"], ["LAST.mlp", "model.norm"]])
def test_batched_equals_loop(tiny, token_agg, params):
    """Test: batched features equal the loop reference (projection off) with cosine >= 0.9999 and
    relative norm error <= 1e-3 for every prompt on the tiny model."""
    model, tok, (prompts, comps, advs) = tiny
    params = resolve(model, params)
    kw = dict(params=params, token_agg=token_agg)
    batched = policy_gradients(model, tok, prompts, comps, advs, batch_size=3, **kw)
    loop = policy_gradients_loop(model, tok, prompts, comps, advs, **kw)
    assert batched.dtype == torch.float32 and batched.shape[1] == sum(n for _, n in param_layout(model, params))
    assert_match(batched, loop)
    assert torch.count_nonzero(batched[3]) == 0  # all-zero advantages
    assert all(batched[i].norm() > 0 for i in range(len(prompts)) if i != 3)


def test_batched_equals_loop_lora():
    model, tok = build_tiny(seed=1)
    model = add_lora(model, r=4, init_lora_weights=False)  # random A and B: nonzero A-grads
    prompts, comps, advs = make_rollouts(tok, seed=1)
    batched = policy_gradients(model, tok, prompts, comps, advs, params="lora", batch_size=4)
    loop = policy_gradients_loop(model, tok, prompts, comps, advs, params="lora")
    n_lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    assert batched.shape == (len(prompts), n_lora)
    assert_match(batched, loop)


def test_eos_and_batch_size_invariance(tiny):
    model, tok, (prompts, comps, advs) = tiny
    kw = dict(params=[last(model), "lm_head"], append_eos=True)
    a = policy_gradients(model, tok, prompts, comps, advs, batch_size=1, **kw)
    b = policy_gradients(model, tok, prompts, comps, advs, batch_size=8, **kw)
    assert_match(b, policy_gradients_loop(model, tok, prompts, comps, advs, **kw))
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)


def test_empty_completion_contributes_nothing(tiny):
    model, tok, (prompts, comps, advs) = tiny
    advs2 = [list(a) for a in advs]
    advs2[2][0] = 0.0  # the empty completion: its advantage must not matter
    kw = dict(params=[last(model)])
    a = policy_gradients(model, tok, prompts[:3], comps[:3], advs[:3], **kw)
    b = policy_gradients(model, tok, prompts[:3], comps[:3], advs2[:3], **kw)
    assert torch.equal(a[2], b[2])


def test_validation_gradient_is_mean_of_rows(tiny):
    model, tok, (prompts, comps, advs) = tiny
    kw = dict(params=[last(model), "lm_head"])
    g_v = validation_gradient(model, tok, prompts, comps, advs, batch_size=3, **kw)
    ref = policy_gradients_loop(model, tok, prompts, comps, advs, **kw).mean(0)
    assert g_v.dim() == 1
    assert torch.nn.functional.cosine_similarity(g_v, ref, dim=0) > 0.9999
    assert torch.allclose(g_v, ref, rtol=1e-3, atol=1e-6 * ref.abs().max().item())


def test_projected_batched_equals_projected_loop(tiny):
    """Streaming projection inside the backward == projecting the reference's named grads."""
    model, tok, (prompts, comps, advs) = tiny
    J = JLProjection(64, seed=3)
    kw = dict(params=[last(model) + "mlp", "lm_head"], projection=J)
    a = policy_gradients(model, tok, prompts, comps, advs, **kw)
    b = policy_gradients_loop(model, tok, prompts, comps, advs, **kw)
    assert a.shape == (len(prompts), 64)
    assert torch.count_nonzero(a[3]) == 0
    assert torch.allclose(a, b, rtol=1e-3, atol=1e-4 * b.abs().max().item())


def test_generic_vjp_path_equals_affine_path():
    """The vmap/vjp fallback for arbitrary modules agrees with the norm fast path."""
    model, _ = build_tiny(seed=0)
    norm = model.model.norm
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    H = model.config.hidden_size
    gen = torch.Generator().manual_seed(3)
    x, go = torch.randn(5, 7, H, generator=gen), torch.randn(5, 7, H, generator=gen)
    seg = torch.tensor([0, 0, 1, 2, 2])
    a = affine_grads(norm, ["weight"], x, go, seg, 3)["weight"]
    b = generic_grads(norm, ["weight"], x, go, seg, 3)["weight"]
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)


def test_caller_no_grad_and_training_mode_restored(tiny):
    model, tok, (prompts, comps, advs) = tiny
    kw = dict(params=[last(model)])
    ref = policy_gradients(model, tok, prompts[:3], comps[:3], advs[:3], **kw)
    model.train()
    with torch.no_grad():
        got = policy_gradients(model, tok, prompts[:3], comps[:3], advs[:3], **kw)
    assert model.training
    model.eval()
    assert torch.equal(got, ref)
    assert all(p.grad is None for p in model.parameters())  # .grad is never touched
