"""Registries that fill themselves: a package imports each of its modules once, so a new selector
or dataset is one file (plus its YAML) and needs no import line anywhere else."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable


def import_submodules(package: str, path: Iterable[str]) -> list[str]:
    """Import every module of `package` (its `__path__`) whose name does not start with "_";
    returns their names, sorted. A module that fails to import raises with its own name."""
    names = sorted(m.name for m in pkgutil.iter_modules(list(path)) if not m.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names
