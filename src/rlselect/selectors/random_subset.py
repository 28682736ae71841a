import random

from rlselect.selectors.base import SelectionInputs, register_selector


@register_selector("random")
def select_random(inputs: SelectionInputs, budget: int, seed: int) -> list[str]:
    """A uniform random subset of size N (seeded)."""
    ids = list(inputs.ids)
    random.Random(seed).shuffle(ids)
    return ids
