"""The run seed reaches every random choice: rollouts, projection, selection; same seed, same run."""

from __future__ import annotations

import pytest
import torch

from rlselect.pipeline import prepare, static_selection
from rlselect.selection import feature_kwargs
from tiny_config import compose_tiny


def selection_run(cache_dir, results_dir, seed):
    cfg = compose_tiny(cache_dir, results_dir, "selector=gradalign", f"seed={seed}")
    ctx = prepare(cfg)
    ranked, _ = static_selection(cfg, ctx)
    return cfg, ctx, ranked


@pytest.mark.slow
def test_seed_changes_rollouts_projection_and_gradalign_selection(tmp_path, shared_cache_dir):
    cfg0, ctx0, ids0 = selection_run(shared_cache_dir, tmp_path / "r", seed=0)
    cfg1, ctx1, ids1 = selection_run(shared_cache_dir, tmp_path / "r", seed=1)
    assert cfg0.rollouts.seed == 0 and cfg1.rollouts.seed == 1  # the run seed reaches each stage...
    assert cfg1.features.projection.seed == 1 and cfg1.data.regime_seed == 1
    assert [r["completions"] for r in ctx0.rows] != [r["completions"] for r in ctx1.rows]  # ...rollouts
    proj0, proj1 = (feature_kwargs(dict(c.features))["projection"] for c in (cfg0, cfg1))
    g = torch.randn(3, 500, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(proj0.project_flat("w", g), proj1.project_flat("w", g))  # ...the projection
    assert ids0 != ids1  # ...and what static GradAlign selects
    # The same seed again, recomputed from scratch (only the warm-started model is reused): same ids.
    fresh = tmp_path / "fresh_cache"
    fresh.mkdir()
    (fresh / "models").symlink_to(shared_cache_dir / "models", target_is_directory=True)
    cfg0b, ctx0b, ids0b = selection_run(fresh, tmp_path / "r2", seed=0)
    assert [r["rewards"] for r in ctx0b.rows] == [r["rewards"] for r in ctx0.rows]
    assert ids0b == ids0


def test_a_pinned_stage_seed_overrides_the_run_seed(tmp_path):
    cfg = compose_tiny(tmp_path, tmp_path, "seed=5", "rollouts.seed=0")
    assert cfg.rollouts.seed == 0 and cfg.features.projection.seed == 5 and cfg.data.regime_seed == 5
