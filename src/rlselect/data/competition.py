"""Competition benchmarks with a `problem` and a final `answer`: MATH500, AIME24/25, AMC23.

One generic reader, registered once per benchmark with its hub location.
"""

from __future__ import annotations

from rlselect.data.io import field, read_rows
from rlselect.data.registry import register
from rlselect.data.schema import DataError, make_record, normalise_answer_field

# name -> (hub id, hub config, the hub's split for "test")
HUB = {
    "math500": ("HuggingFaceH4/MATH-500", None, "test"),
    "aime24": ("HuggingFaceH4/aime_2024", None, "train"),
    "aime25": ("math-ai/aime25", None, "test"),
    "amc23": ("math-ai/amc23", None, "test"),
}


def _load_competition(name: str, split: str, path=None, **kw) -> list[dict]:
    hub_id, config, hub_split = HUB[name]
    rows, origin = (
        read_rows(path, split, hub_id, config)
        if path
        else read_rows(None, hub_split if split == "test" else split, hub_id, config)
    )
    records = []
    for i, row in enumerate(rows):
        raw_answer = field(row, "answer", origin, i)
        rid = row.get("unique_id", row.get("id", i))
        try:
            answer = normalise_answer_field(raw_answer)
        except TypeError as exc:
            raise DataError(f"{origin}, row {i} (id {rid!r}): unusable answer ({exc})") from exc
        level = row.get("level", -1)
        records.append(
            make_record(
                id=f"{name}-{rid}",
                question=field(row, "problem", origin, i, "question"),
                answer=answer,
                source=name,
                meta={
                    "family": str(row.get("subject", name)),
                    "level": int(level) if isinstance(level, (int, float)) else -1,
                    "solution": str(row.get("solution") or ""),
                },
                **kw,
            )
        )
    return records


for _name in HUB:
    register(_name)(lambda split, path=None, _n=_name, **kw: _load_competition(_n, split, path, **kw))
