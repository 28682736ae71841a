"""features.mode=streaming selects what exact stored features select, without storing them."""

from __future__ import annotations

import pytest

from rlselect.pipeline import static_selection
from tiny_config import compose_tiny


@pytest.mark.parametrize("selector", ["gradalign", "gradalign_align", "learnalign"])
def test_streaming_mode_selects_like_exact_features(tmp_path, shared_cache_dir, selector):
    extra = ["selector.warmup.size=8", "selector.warmup.steps=1"] if selector == "learnalign" else []
    runs = {}
    for mode in ("exact", "streaming"):
        cfg = compose_tiny(
            shared_cache_dir,
            tmp_path,
            f"selector={selector}",
            "features.projection.dim=null",
            f"features.mode={mode}",
            *extra,
        )
        ranked, summary = static_selection(cfg)
        runs[mode] = ranked, summary["diagnostics"]
    assert runs["streaming"][0] == runs["exact"][0]
    assert runs["streaming"][1] == pytest.approx(runs["exact"][1])  # positive scores, zero-variance shares


def test_streaming_mode_refuses_selectors_that_need_stored_features(tmp_path, shared_cache_dir):
    cfg = compose_tiny(
        shared_cache_dir, tmp_path, "selector=grad_norm", "features.projection.dim=null", "features.mode=streaming"
    )
    with pytest.raises(ValueError, match="features.mode=streaming scores gradalign, gradalign_align, learnalign only"):
        static_selection(cfg)


def test_mode_and_projection_dim_must_agree(tmp_path, shared_cache_dir):
    cfg = compose_tiny(
        shared_cache_dir, tmp_path, "selector=gradalign", "features.mode=projected", "features.projection.dim=null"
    )
    with pytest.raises(ValueError, match="projected needs a dim"):
        static_selection(cfg)


def test_scoring_stages_load_in_the_configured_dtype_and_attach_lora(tmp_path, shared_cache_dir, monkeypatch):
    """model.dtype reaches every stage that loads the model itself (rollouts, features, PPL), and
    features.params=lora scores through adapters attached to the loaded model."""
    import rlselect.models as models

    calls = []
    real = models.load_model

    def spy(path, **kw):
        calls.append(kw)
        return real(path, **kw)

    monkeypatch.setattr(models, "load_model", spy)
    cfg = compose_tiny(
        shared_cache_dir,
        tmp_path,
        "selector=gradalign",
        "model.dtype=bfloat16",
        "model.device=cpu",
        "features.params=lora",
        "features.lora.r=4",
        "features.max_tokens_per_batch=256",
    )
    ranked, summary = static_selection(cfg)
    assert len(ranked) == 4 and summary["diagnostics"]["positive_scores"] > 0
    assert calls and all(kw == {"dtype": "bfloat16", "device": "cpu"} for kw in calls)
