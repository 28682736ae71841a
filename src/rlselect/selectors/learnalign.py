"""LearnAlign scores (docs/methods.md section 2): learnability-weighted gradient alignment.

    V_i = p_i (1 - p_i),  u_i = phi_i / ||phi_i||,  z_i = V_i u_i,
    score_i = (1/n) sum_j <z_i, z_j> = <z_i, mean_j z_j>

i.e. the row mean of the paper's matrix S_ij = V_i V_j cos(phi_i, phi_j), in O(n d).
"""

from __future__ import annotations

import torch

from rlselect.selectors.base import SelectionInputs, all_finite, rank_by, register_selector


def _check(features: torch.Tensor, success_rates) -> tuple[torch.Tensor, torch.Tensor]:
    if features.dim() != 2:
        raise ValueError(f"features must be [n, d], got shape {tuple(features.shape)}")
    p = torch.as_tensor(success_rates, dtype=features.dtype, device=features.device).reshape(-1)
    if p.shape[0] != features.shape[0]:
        raise ValueError(f"{features.shape[0]} feature rows but {p.shape[0]} success rates")
    if not all_finite(features):
        raise ValueError("features contain NaN or inf")
    if not bool(((p >= 0) & (p <= 1)).all()):
        raise ValueError("success rates must lie in [0, 1]")
    return features, p


def _row_weights(features, p, use_variance: bool, normalize: bool) -> torch.Tensor:
    """[n] w_i with z_i = w_i phi_i: w_i = V_i / ||phi_i|| (or its ablation variants). Zero rows
    and p in {0, 1} (when V is used) get w_i = 0 exactly, never NaN."""
    w = torch.ones(features.shape[0], dtype=features.dtype, device=features.device)
    if normalize:
        norms = torch.linalg.vector_norm(features, dim=1)
        w = torch.where(norms > 0, 1.0 / norms.clamp_min(torch.finfo(features.dtype).tiny), torch.zeros_like(w))
    if use_variance:
        w = w * (p * (1 - p))
    return w


def learnalign_scores(
    features: torch.Tensor, success_rates, *, use_variance: bool = True, normalize: bool = True
) -> torch.Tensor:
    """[n] scores: score_i = <z_i, mean_j z_j>, z_i = V_i phi_i/||phi_i||, V_i = p_i(1 - p_i).

    use_variance=False drops V (z_i = u_i: "w/o V", cosine to the pool's mean unit gradient);
    normalize=False keeps the raw phi_i (the raw-inner-product ablation, length-biased).
    Rows with phi_i = 0 or p_i in {0, 1} (when V is used) score exactly 0. With z_i = w_i phi_i,
    score_i = w_i <phi_i, (1/n) sum_j w_j phi_j>: two matrix-vector products in the features'
    dtype, O(n d) time and O(n + d) extra memory (no [n, d] copy of the features)."""
    features, p = _check(features, success_rates)
    w = _row_weights(features, p, use_variance, normalize)
    mean_z = (w @ features) / features.shape[0]
    return w * (features @ mean_z)


def learnalign_scores_pairwise(
    features: torch.Tensor, success_rates, *, use_variance: bool = True, normalize: bool = True
) -> torch.Tensor:
    """Reference (tests, small n): builds S_ij = V_i V_j cos(phi_i, phi_j) (or the ablation's
    variant) as an n x n matrix and returns its row means."""
    features, p = _check(features, success_rates)
    n = features.shape[0]
    S = torch.empty(n, n, dtype=features.dtype, device=features.device)
    norms = torch.linalg.vector_norm(features, dim=1)
    V = p * (1 - p)
    for i in range(n):
        for j in range(n):
            dot = torch.dot(features[i], features[j])
            if normalize:
                den = norms[i] * norms[j]
                dot = dot / den if den > 0 else torch.zeros((), dtype=features.dtype)
            S[i, j] = V[i] * V[j] * dot if use_variance else dot
    return S.mean(1)


# --- registered selectors (pure: features and success rates come from the pipeline's stages) ---
@register_selector("learnalign", needs=("rollouts", "features"))
def select_learnalign(
    inputs: SelectionInputs, budget: int, seed: int, use_variance: bool = True, normalize: bool = True
):
    """Top <z_i, mean_j z_j>, z_i = p_i(1-p_i) g_i/||g_i|| (learnable and representative)."""
    scores = inputs.extra.get("scores")  # features.mode=streaming: exact scores computed in the stage
    if scores is None:
        scores = learnalign_scores(inputs.features, inputs.stat("p"), use_variance=use_variance, normalize=normalize)
    inputs.extra["last_scores"] = scores  # for the run record's diagnostics (positive scores)
    return rank_by(inputs.ids, scores.tolist(), seed)


@register_selector("learnalign_hidden", needs=("rollouts", "hidden"))
def select_learnalign_hidden(inputs: SelectionInputs, budget: int, seed: int, use_variance: bool = True):
    """LearnAlign with mean hidden states in place of gradients (feature-similarity ablation)."""
    scores = learnalign_scores(inputs.hidden.float(), inputs.stat("p"), use_variance=use_variance)
    return rank_by(inputs.ids, scores.tolist(), seed)
