"""Selectors: pure functions from (records, stats, features, budget, seed) to ranked ids.

A new selector is one file here with a function decorated by `@register_selector(name, needs=...)`
(imported below) plus one YAML under conf/selector/.
"""

from rlselect.selectors import (  # noqa: F401  (register)
    accuracy,
    full,
    grad_norm,
    gradalign,
    learnalign,
    limr,
    perplexity,
    random_subset,
    token_length,
)
from rlselect.selectors.base import SELECTORS, SelectionInputs, Selector, get_selector, register_selector

__all__ = ["SELECTORS", "SelectionInputs", "Selector", "get_selector", "register_selector"]
