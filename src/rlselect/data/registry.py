"""Name -> loader registry. A new dataset is one file with a function decorated by `register`."""

from __future__ import annotations

from collections.abc import Callable

from rlselect.data.schema import DataError, validate_records
from rlselect.discovery import register_once

LOADERS: dict[str, Callable[..., list[dict]]] = {}


def register(name: str):
    def wrap(fn):
        register_once(LOADERS, name, fn, fn, "dataset")
        return fn

    return wrap


def load_records(name: str, split: str, path=None, **kwargs) -> list[dict]:
    """Validated records as plain dicts (what the pipeline stages use); loaders that read files
    validate their own rows (`io.convert_rows`), so that errors name the file."""
    if name not in LOADERS:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(sorted(LOADERS))}")
    return validate_records(LOADERS[name](split, path=path, **kwargs), f"{name}:{split}")
