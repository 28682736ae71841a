"""Name -> loader registry. A new dataset is one file with a function decorated by `register`."""

from __future__ import annotations

from typing import Callable

from rlselect.data.schema import DataError

LOADERS: dict[str, Callable[..., list[dict]]] = {}


def register(name: str):
    def wrap(fn):
        LOADERS[name] = fn
        return fn

    return wrap


def get_loader(name: str) -> Callable[..., list[dict]]:
    if name not in LOADERS:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(sorted(LOADERS))}")
    return LOADERS[name]
