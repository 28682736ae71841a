"""Baseline: largest per-example policy-gradient norm ||g_i|| first."""

from rlselect.selectors.base import SelectionInputs, rank_by, register_selector


@register_selector("grad_norm", needs=("features",))
def select_grad_norm(inputs: SelectionInputs, budget: int, seed: int):
    """Top ||g_i|| (L2 norm of each row of `inputs.features`, rows in records order)."""
    import torch

    if inputs.features is None:
        raise ValueError("grad_norm needs gradient features (inputs.features), got None")
    feats = torch.as_tensor(inputs.features)
    if feats.ndim != 2 or feats.shape[0] != len(inputs.records):
        raise ValueError(
            f"grad_norm: features of shape {tuple(feats.shape)}, expected "
            f"[{len(inputs.records)}, d] (one row per record)"
        )
    # row blocks: the float64 accumulation never copies more than 64 rows of the [n, d] features
    norms = torch.cat([torch.linalg.vector_norm(block.double(), dim=1) for block in feats.split(64)])
    return rank_by(inputs.ids, norms.tolist(), seed, descending=True)
