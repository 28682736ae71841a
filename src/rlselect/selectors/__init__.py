"""Selectors: pure functions from (records, stats, features, budget, seed) to ranked ids.

A new selector is one file here with a function decorated by `@register_selector(name, needs=...)`
plus one YAML under conf/selector/: every module of this package is imported (and so registered)
when the package is.
"""

from rlselect.discovery import import_submodules
from rlselect.selectors.base import SELECTORS, SelectionInputs, Selector, get_selector, register_selector

import_submodules(__name__, __path__)

__all__ = ["SELECTORS", "SelectionInputs", "Selector", "get_selector", "register_selector"]
