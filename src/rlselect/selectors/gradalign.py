"""GradAlign scores (docs/methods.md section 3): alignment of each candidate's policy gradient with
the validation gradient g_V (one aggregate gradient over all validation rollouts).

    cosine: s_i = <g_i, g_V> / (||g_i|| ||g_V||)     (default)
    dot:    s_i = <g_i, g_V / ||g_V||>
"""

from __future__ import annotations

from typing import Literal

import torch

from rlselect.selectors.base import NoValidationSignal, SelectionInputs, all_finite, rank_by, register_selector

MODES = ("cosine", "dot")


def gradalign_scores(features: torch.Tensor, val_gradient: torch.Tensor, mode: str = "cosine") -> torch.Tensor:
    """[n] scores of candidate features [n, d] against the validation gradient [d].

    Zero-gradient rows (all-equal-reward groups) score exactly 0 and stay in the ranking; never
    NaN. A zero validation gradient raises ValueError: nothing to align with."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if features.dim() != 2:
        raise ValueError(f"features must be [n, d], got shape {tuple(features.shape)}")
    v = torch.as_tensor(val_gradient).to(device=features.device, dtype=features.dtype).reshape(-1)
    if v.shape[0] != features.shape[1]:
        raise ValueError(f"val_gradient has {v.shape[0]} dims, features have {features.shape[1]}")
    if not (all_finite(features) and all_finite(v)):
        raise ValueError("features or val_gradient contain NaN or inf")
    vn = torch.linalg.vector_norm(v)
    if not vn > 0:
        raise NoValidationSignal(
            "validation set has no learnable items: all validation groups have equal rewards (zero validation gradient)"
        )
    s = features @ (v / vn)
    if mode == "cosine":
        norms = torch.linalg.vector_norm(features, dim=1)
        s = torch.where(norms > 0, s / norms.clamp_min(torch.finfo(features.dtype).tiny), torch.zeros_like(s))
    return s


# --- registered selectors ---
@register_selector("gradalign", needs=("rollouts", "features", "val_features"))
def select_gradalign(inputs: SelectionInputs, budget: int, seed: int, mode: Literal["cosine", "dot"] = "cosine"):
    """Top cos(g_i, g_V) (or <g_i, g_V/||g_V||>): gradients aligned with the trusted validation set."""
    scores = inputs.extra.get("scores")  # features.mode=streaming: exact scores computed in the stage
    if scores is None:
        scores = gradalign_scores(inputs.features, inputs.val_features, mode=mode)
    inputs.extra["last_scores"] = scores  # for the run record's diagnostics (positive scores)
    return rank_by(inputs.ids, scores.tolist(), seed)


@register_selector("gradalign_align", needs=("rollouts", "features"))
def select_gradalign_align(inputs: SelectionInputs, budget: int, seed: int, mode: Literal["cosine", "dot"] = "cosine"):
    """GradAlign with the pool's own mean gradient as the target (no validation set)."""
    scores = inputs.extra.get("scores")  # features.mode=streaming: exact scores computed in the stage
    if scores is None:
        target = inputs.features.mean(0)
        no_target = not bool(target.abs().sum() > 0)
        scores = torch.zeros(len(inputs.ids)) if no_target else gradalign_scores(inputs.features, target, mode=mode)
    inputs.extra["last_scores"] = scores  # for the run record's diagnostics (positive scores)
    return rank_by(inputs.ids, scores.tolist(), seed)
