"""Baselines on the base model's perplexity of the reference solution (stage: rlselect.stats.perplexity)."""

from rlselect.selectors.base import SelectionInputs, rank_by, register_selector


@register_selector("ppl_top", needs=("ppl",))
def select_ppl_top(inputs: SelectionInputs, budget: int, seed: int):
    """Highest PPL(reference solution | prompt) under the base model first (stat `ppl_cond`)."""
    return rank_by(inputs.ids, inputs.stat("ppl_cond"), seed, descending=True)


@register_selector("ifd", needs=("ppl",))
def select_ifd(inputs: SelectionInputs, budget: int, seed: int):
    """Highest instruction-following difficulty PPL(answer | question) / PPL(answer) first (stat `ifd`)."""
    return rank_by(inputs.ids, inputs.stat("ifd"), seed, descending=True)
