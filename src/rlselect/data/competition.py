"""Competition benchmarks with a `problem` and a final `answer`: MATH500, AIME24/25, AMC23.

One generic reader, registered once per benchmark with its hub location.
"""

from __future__ import annotations

from rlselect.data.io import convert_rows, field, read_rows
from rlselect.data.registry import register
from rlselect.data.schema import make_record

# name -> (hub id, the hub's split for "test")
HUB = {
    "math500": ("HuggingFaceH4/MATH-500", "test"),
    "aime24": ("HuggingFaceH4/aime_2024", "train"),
    "aime25": ("math-ai/aime25", "test"),
    "amc23": ("math-ai/amc23", "test"),
}


def _load_competition(name: str, split: str, path=None, **kw) -> list[dict]:
    hub_id, hub_split = HUB[name]

    def convert(row: dict, i: int) -> dict:
        level = row.get("level", -1)
        return make_record(
            id=f"{name}-{row.get('unique_id', row.get('id', i))}",
            answer=field(row, "answer"),
            question=field(row, "problem", "question"),
            source=name,
            family=str(row.get("subject", name)),
            level=int(level) if isinstance(level, (int, float)) else -1,
            solution=str(row.get("solution") or ""),
            **kw,
        )

    return convert_rows(*read_rows(path, hub_split if split == "test" and not path else split, hub_id), convert)


for _name in HUB:
    register(_name)(lambda split, path=None, _n=_name, **kw: _load_competition(_n, split, path, **kw))
