from rlselect.selectors.base import SelectionInputs, register_selector


@register_selector("full")
def select_full(inputs: SelectionInputs, budget: int, seed: int) -> list[str]:
    """The whole pool (the budget is ignored)."""
    return inputs.ids
