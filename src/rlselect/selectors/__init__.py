"""Selectors: pure functions from (records, stats, features, budget, seed) to ranked ids.

A new selector is one file here with a function decorated by `@register_selector(name, needs=...)`
(imported below) plus one YAML under conf/selector/.
"""

from rlselect.selectors import accuracy, full, random_subset  # noqa: F401  (register)
from rlselect.selectors.base import SELECTORS, SelectionInputs, Selector, get_selector, register_selector

__all__ = ["SELECTORS", "SelectionInputs", "Selector", "get_selector", "register_selector"]
