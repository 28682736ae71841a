"""The CountSketch projector: seeded, unbiased inner products, and GradAlign rankings kept."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import spearmanr
from test_projection import rollouts

from rlselect.grads import CountSketch, make_projector, param_layout, policy_gradients, validation_gradient
from rlselect.models.tiny import build_tiny
from rlselect.selectors.gradalign import gradalign_scores

pytestmark = pytest.mark.usefixtures("one_thread")


def test_same_seed_same_sketch():
    g = torch.randn(3, 5000, generator=torch.Generator().manual_seed(0))
    a, b = CountSketch(64, seed=1), CountSketch(64, seed=1, block_elems=1000)
    assert torch.equal(a.project_flat("w", g), a.project_flat("w", g))
    assert not torch.allclose(a.project_flat("w", g), CountSketch(64, seed=2).project_flat("w", g))
    assert a.project_flat("w", g).shape == (3, 64) and b.project_flat("w", g).shape == (3, 64)
    one = torch.zeros(5000)
    one[123] = 2.0  # a single coordinate lands in one bucket with sign +-1
    assert sorted(a.project_flat("w", one).abs().unique().tolist()) == [0.0, 2.0]
    with pytest.raises(ValueError, match="projection.kind="):
        make_projector("nope", 8)


@pytest.mark.parametrize("kind", ["countsketch", "rademacher"])
def test_inner_products_are_unbiased_over_seeds(kind):
    """Mean over 20 seeds of <phi_a, phi_b> within 3 standard errors of <g_a, g_b>."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(4000, generator=gen, dtype=torch.float64)
    b = 0.5 * a + torch.randn(4000, generator=gen, dtype=torch.float64)
    exact = float(a @ b)
    draws = torch.tensor(
        [
            float(make_projector(kind, 256, s).project_flat("p", torch.stack([a, b])).double().prod(0).sum())
            for s in range(20)
        ]
    )
    se = float(draws.std() / 20**0.5)
    assert abs(float(draws.mean()) - exact) <= 3 * se, (float(draws.mean()), exact, se)


def test_projected_gradalign_ranks_like_exact():
    """Spearman of GradAlign scores from CountSketch features (d = 1024) vs exact >= 0.95 (tiny model)."""
    model, tok = build_tiny(seed=0)
    (P, C, A), (vP, vC, vA) = rollouts(tok, 32, 4, seed=0), rollouts(tok, 8, 4, seed=1)
    exact = gradalign_scores(policy_gradients(model, tok, P, C, A), validation_gradient(model, tok, vP, vC, vA))
    sketch = make_projector("countsketch", 1024, 0)
    proj = policy_gradients(model, tok, P, C, A, projection=sketch)
    proj_v = sketch.project_concat(validation_gradient(model, tok, vP, vC, vA), param_layout(model, "all"))
    rho = spearmanr(exact.numpy(), gradalign_scores(proj, proj_v).numpy()).statistic
    assert rho >= 0.95, rho
