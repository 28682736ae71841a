"""Baseline: longest first, by reference-solution length or by mean rollout length."""

from typing import Literal

from rlselect.selectors.base import SelectionInputs, rank_by, register_selector


@register_selector("token_length")
def select_token_length(
    inputs: SelectionInputs, budget: int, seed: int, source: Literal["reference", "rollouts"] = "reference"
):
    """Longest reference solutions first (source=reference), or longest mean rollouts (source=rollouts).

    reference: stat `ref_tokens` (from the ppl stage) when every item has it, else the character
    length of the reference text, computed from the records alone (so no stage is required).
    rollouts: stat `mean_len` (mean rollout length in tokens, from the rollout stage).
    """
    if source == "rollouts":
        lengths = inputs.stat("mean_len")
    elif source == "reference":
        if inputs.ids and all("ref_tokens" in inputs.stats.get(i, {}) for i in inputs.ids):
            lengths = inputs.stat("ref_tokens")
        else:
            from rlselect.stats.perplexity import reference_text

            lengths = [float(len(reference_text(r))) for r in inputs.records]
    else:
        raise ValueError(f"token_length: source must be 'reference' or 'rollouts', got {source!r}")
    return rank_by(inputs.ids, lengths, seed, descending=True)
