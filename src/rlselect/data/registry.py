"""Name -> loader registry. A new dataset is one file with a function decorated by `register`."""

from __future__ import annotations

from collections.abc import Callable

from rlselect.data.io import resolve_local_file
from rlselect.data.schema import DataError, validate_records

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


def load_records(name: str, split: str, path=None, **kwargs) -> list[dict]:
    """Validated records as plain dicts (what the pipeline stages use)."""
    records = get_loader(name)(split, path=path, **kwargs)
    origin = f"{name}:{split}"
    if path:
        try:  # name the file, also when `path` is the folder holding it
            origin = str(resolve_local_file(path, split))
        except DataError:
            origin = str(path)
    return validate_records(records, origin)
