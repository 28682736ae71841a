"""Exact streaming scores equal the selectors' scores on materialised exact features."""

from __future__ import annotations

import pytest
import torch
from test_grads import make_rollouts

from rlselect.grads import (
    gradalign_scores_streaming,
    learnalign_scores_streaming,
    policy_gradients,
    validation_gradient,
)
from rlselect.grads.streaming import _DotSink, _SumSink
from rlselect.models.tiny import build_tiny
from rlselect.selectors.gradalign import gradalign_scores
from rlselect.selectors.learnalign import learnalign_scores

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny():
    model, tok = build_tiny(seed=0)
    pool = make_rollouts(tok, n=8, G=4, seed=0)
    val = make_rollouts(tok, n=4, G=4, seed=1)
    return model, tok, pool, val


def close(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-4) -> bool:
    return bool((a - b).abs().max() <= rel * b.abs().max())


@pytest.mark.parametrize("token_agg", ["seq_mean", "token_mean", "sum"])
@pytest.mark.parametrize("mode", ["cosine", "dot"])
def test_gradalign_streaming_equals_materialised(tiny, token_agg, mode):
    model, tok, (P, C, A), (vP, vC, vA) = tiny
    feats = policy_gradients(model, tok, P, C, A, token_agg=token_agg)
    g_v = validation_gradient(model, tok, vP, vC, vA, token_agg=token_agg)
    want = gradalign_scores(feats.double(), g_v.double(), mode=mode)
    got = gradalign_scores_streaming(model, tok, P, C, A, vP, vC, vA, token_agg=token_agg, mode=mode, batch_size=3)
    assert got.shape == (8,) and close(got.double(), want)
    assert got[3] == 0  # prompt 3's rewards are all equal: zero gradient, score exactly 0


@pytest.mark.parametrize("mode", ["cosine", "dot"])
def test_the_pool_as_its_own_target_is_gradalign_align(tiny, mode):
    """gradalign_align streams as GradAlign against the pool's own mean gradient (selection.streaming_scores)."""
    model, tok, (P, C, A), _ = tiny
    feats = policy_gradients(model, tok, P, C, A, token_agg="token_mean").double()
    want = gradalign_scores(feats, feats.mean(0), mode=mode)
    got = gradalign_scores_streaming(model, tok, P, C, A, P, C, A, token_agg="token_mean", mode=mode, batch_size=3)
    assert close(got.double(), want) and got[3] == 0


@pytest.mark.parametrize("token_agg", ["seq_mean", "token_mean", "sum"])
@pytest.mark.parametrize("use_variance,normalize", [(True, True), (False, True), (True, False)])
def test_learnalign_streaming_equals_materialised(tiny, token_agg, use_variance, normalize):
    model, tok, (P, C, A), _ = tiny
    p = [0.25, 0.5, 0.75, 1.0, 0.5, 0.25, 0.5, 0.0]  # prompts 3 and 7: no learnability
    feats = policy_gradients(model, tok, P, C, A, token_agg=token_agg)
    want = learnalign_scores(feats.double(), p, use_variance=use_variance, normalize=normalize)
    got = learnalign_scores_streaming(
        model, tok, P, C, A, p, token_agg=token_agg, use_variance=use_variance, normalize=normalize, batch_size=3
    )
    assert close(got.double(), want)
    assert got[3] == 0 and (not use_variance or got[7] == 0)


def test_streaming_works_on_a_parameter_subset(tiny):
    model, tok, (P, C, A), (vP, vC, vA) = tiny
    kw = dict(params=["layers.1.", "lm_head"])
    want = gradalign_scores(
        policy_gradients(model, tok, P, C, A, **kw).double(), validation_gradient(model, tok, vP, vC, vA, **kw).double()
    )
    assert close(gradalign_scores_streaming(model, tok, P, C, A, vP, vC, vA, **kw).double(), want)


def test_zero_validation_gradient_is_refused(tiny):
    model, tok, (P, C, A), (vP, vC, _) = tiny
    zeros = [[0.0] * len(c) for c in vC]
    with pytest.raises(ValueError, match="no learnable items"):
        gradalign_scores_streaming(model, tok, P, C, A, vP, vC, zeros)


def test_sinks_hold_per_prompt_scalars_and_one_vector_not_n_gradients():
    """The streaming path's memory: [n] scalars plus one P-vector, whatever n is."""
    target = {"w": torch.ones(1000)}
    sink = _DotSink(50, target)
    total = _SumSink()
    gen = torch.Generator().manual_seed(0)
    for b in range(0, 50, 10):
        rows, g = torch.arange(b, b + 10), torch.randn(10, 1000, generator=gen)
        sink.add(rows, "w", g)
        total.add(rows, "w", g)
        assert torch.allclose(sink.dots[rows], g.sum(1).double(), rtol=1e-5, atol=1e-4)
    held = [sink.dots, sink.sq, *total.out.values()]
    assert sum(t.numel() for t in held) == 50 + 50 + 1000


@pytest.mark.parametrize("params", ["layers.2.", ["embed_tokens"], ["layers.0.mlp", "norm"]])
def test_learnalign_fused_pass_on_parameter_subsets(tiny, params):
    """Pass 1's extra backward (m on the kept graph) over a subset of parameters, the tied embedding
    (lookup and lm_head uses) included, equals the materialised features' score."""
    model, tok, (P, C, A), _ = tiny
    p = [0.25, 0.5, 0.75, 1.0, 0.5, 0.25, 0.5, 0.0]
    want = learnalign_scores(policy_gradients(model, tok, P, C, A, params=params).double(), p)
    got = learnalign_scores_streaming(model, tok, P, C, A, p, params=params, batch_size=3)
    assert close(got.double(), want)
