"""A pool mixed from several datasets, each tagged with its own meta.family: the pools of
GradAlign's distribution-imbalance regime (a rare target family inside other data).

    components:
      - {name: dapo_math_17k, family: dapo, splits: {validation: null}}
      - {name: gsm8k, family: gsm8k, splits: {validation: train},
         slices: {train: [0, 7000], validation: [7000, null]}}

For split s, each component contributes its split `splits.get(s, s)` (null: none from this
component), cut to `slices[s] = [start, stop]` when given (so a validation slice can be held out
of the same source split as the pool), with `path`/`kwargs` passed to its own loader.
"""

from __future__ import annotations

from rlselect.data.registry import load_records, register
from rlselect.data.schema import DataError


@register("mixture")
def load_mixture(split: str, path=None, components=()) -> list[dict]:
    if path is not None:
        raise DataError("mixture: give each component its own path (data.kwargs.components[i].path)")
    if not components:
        raise DataError("mixture: data.kwargs.components is empty")
    records: list[dict] = []
    for i, comp in enumerate(components):
        comp = dict(comp)
        if "name" not in comp:
            raise DataError(f"mixture: data.kwargs.components[{i}] has no `name`")
        source_split = dict(comp.get("splits") or {}).get(split, split)
        if source_split is None:
            continue
        rows = load_records(comp["name"], source_split, comp.get("path"), **dict(comp.get("kwargs") or {}))
        start, stop = dict(comp.get("slices") or {}).get(split) or [None, None]
        rows = rows[start:stop]
        if comp.get("family"):
            rows = [{**r, "meta": {**r["meta"], "family": str(comp["family"])}} for r in rows]
        records += rows
    if not records:
        raise DataError(f"mixture: no component has a {split!r} split (components[i].splits)")
    return records
