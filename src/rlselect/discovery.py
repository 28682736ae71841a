"""Registries that fill themselves: a package imports each of its modules once, so a new selector
or dataset is one file (plus its YAML) and needs no import line anywhere else."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import Any


def import_submodules(package: str, path: Iterable[str]) -> list[str]:
    """Import every module of `package` (its `__path__`) whose name does not start with "_";
    returns their names, sorted. A module that fails to import raises with its own name."""
    names = sorted(m.name for m in pkgutil.iter_modules(list(path)) if not m.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names


def register_once(table: dict[str, Any], name: str, value: Any, fn: Callable, kind: str) -> None:
    """table[name] = value, unless another function already holds the name: two files naming one
    selector or dataset (or a user's `random`) would otherwise replace the other silently, whichever
    imports last. The same function again (a module reloaded, a notebook cell rerun) replaces it."""
    old = table.get(name)
    old_fn = getattr(old, "fn", old)  # a Selector keeps its function in .fn; a dataset is its loader
    if old is not None and _where(old_fn) != _where(fn):
        raise ValueError(f"{kind} {name!r} is registered twice, by {_where(old_fn)} and by {_where(fn)}: rename one")
    table[name] = value


def _where(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"
