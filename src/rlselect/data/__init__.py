"""Datasets in one canonical schema: id, question, answer, prompt, source, meta.

    rlselect.data.load("gsm8k", "test", path="../shared/data/gsm8k")   # local file or folder
    rlselect.data.load("arith", "train", seed=0)                        # built in, offline

Adding a dataset: one file here with a loader decorated by `@register("name")` (rows from
`io.read_rows`, records from `io.convert_rows` and `schema.make_record`) and one YAML under
conf/data/: every module of this package is imported (and so registered) when the package is.
"""

from __future__ import annotations

from rlselect.data.registry import LOADERS, load_records
from rlselect.data.schema import INSTRUCTION, DataError
from rlselect.discovery import import_submodules

import_submodules(__name__, __path__)


def load(name: str, split: str, path=None, **kwargs):
    """A `datasets.Dataset` with the canonical columns."""
    import datasets

    return datasets.Dataset.from_list(load_records(name, split, path, **kwargs))


__all__ = ["load", "load_records", "LOADERS", "DataError", "INSTRUCTION"]
