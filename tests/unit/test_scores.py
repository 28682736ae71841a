"""The pure LearnAlign and GradAlign scorers."""

from __future__ import annotations

import pytest
import torch

from rlselect.selectors.gradalign import gradalign_scores
from rlselect.selectors.learnalign import learnalign_scores, learnalign_scores_pairwise


def random_inputs(n=40, d=30, seed=0):
    """Random features with some zero rows, and success rates including 0 and 1."""
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.rand(n, 1, generator=g, dtype=torch.float64) * 5
    f[[3, 17]] = 0.0
    p = torch.randint(0, 9, (n,), generator=g).double() / 8  # {0, 1/8, ..., 1}
    p[[0, 5]] = torch.tensor([0.0, 1.0], dtype=torch.float64)
    return f, p


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("use_variance", [True, False])
@pytest.mark.parametrize("normalize", [True, False])
def test_learnalign_equals_pairwise(seed, use_variance, normalize):
    """Test: `learnalign_scores` equals the pairwise definition mean_j V_i V_j cos(phi_i, phi_j)
    to 1e-6 on random inputs; zero-gradient prompts score exactly 0 in both selectors; no NaN ever."""
    f, p = random_inputs(seed=seed)
    kw = dict(use_variance=use_variance, normalize=normalize)
    fast, ref = learnalign_scores(f, p, **kw), learnalign_scores_pairwise(f, p, **kw)
    assert fast.shape == (f.shape[0],)
    assert torch.allclose(fast, ref, rtol=1e-6, atol=1e-6 * ref.abs().max().item())
    assert not torch.isnan(fast).any() and not torch.isnan(ref).any()
    assert fast[3] == 0 and fast[17] == 0 and ref[3] == 0 and ref[17] == 0
    if use_variance:
        assert fast[0] == 0 and fast[5] == 0  # p in {0, 1}: V = 0


def test_learnalign_definition_by_hand():
    f = torch.tensor([[3.0, 4.0], [1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    p = torch.tensor([0.5, 0.25, 0.5], dtype=torch.float64)
    V = p * (1 - p)
    u = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    z = V[:, None] * u
    assert torch.allclose(learnalign_scores(f, p), z @ z.mean(0))
    assert torch.allclose(learnalign_scores(f, p, use_variance=False), u @ u.mean(0))
    assert torch.allclose(learnalign_scores(f, p, normalize=False), (V[:, None] * f) @ (V[:, None] * f).mean(0))


def test_no_nan_on_degenerate_inputs():
    for dtype in (torch.float32, torch.float64):
        zeros = torch.zeros(5, 8, dtype=dtype)
        assert torch.equal(learnalign_scores(zeros, torch.full((5,), 0.5)), torch.zeros(5, dtype=dtype))
        tiny = torch.full((4, 8), torch.finfo(dtype).tiny, dtype=dtype)  # norms underflow
        s = learnalign_scores(tiny, torch.full((4,), 0.5))
        assert torch.isfinite(s).all()
        s = gradalign_scores(torch.cat([tiny, zeros]), torch.ones(8, dtype=dtype))
        assert torch.isfinite(s).all() and torch.all(s[4:] == 0)
    with pytest.raises(ValueError, match="NaN"):
        learnalign_scores(torch.tensor([[float("nan"), 1.0]]), [0.5])
    with pytest.raises(ValueError, match="NaN"):
        gradalign_scores(torch.tensor([[float("nan"), 1.0]]), torch.ones(2))


@pytest.mark.parametrize("mode", ["cosine", "dot"])
def test_gradalign(mode):
    f, _ = random_inputs()
    v = torch.randn(f.shape[1], dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    s = gradalign_scores(f, v, mode=mode)
    nz = f.norm(dim=1) > 0
    if mode == "cosine":
        ref = torch.nn.functional.cosine_similarity(f[nz], v[None], dim=1)
        assert s.abs().max() <= 1 + 1e-12
    else:
        ref = f[nz] @ (v / v.norm())
    assert torch.allclose(s[nz], ref, rtol=1e-10)
    assert torch.all(s[~nz] == 0) and not torch.isnan(s).any()
    assert torch.allclose(gradalign_scores(f, 7.0 * v, mode=mode), s)  # g_V's scale is irrelevant


def test_gradalign_zero_validation_gradient_raises():
    f, _ = random_inputs()
    with pytest.raises(
        ValueError, match="validation set has no learnable items: all validation groups have equal rewards"
    ):
        gradalign_scores(f, torch.zeros(f.shape[1], dtype=torch.float64))
