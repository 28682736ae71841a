"""WebInstruct-verified (TIGER-Lab/WebInstruct-verified, or a local .jsonl/.json/.parquet file):
the large, noisy web corpus of GradAlign's low-utility regime (their pool: the unfiltered release,
first 40k rows: `limit: 40000`).

Rows need `question` and `answer`; `category` becomes meta.family. The corpus carries no ground
truth of which rows are useless; when a column marks them (e.g. the output of a verification pass),
name it with `low_utility_field` and truthy values become meta.low_utility = "flagged", so runs
report the flagged share of each selection.
"""

from __future__ import annotations

from rlselect.data.io import convert_rows, field, read_rows
from rlselect.data.registry import register
from rlselect.data.schema import DataError, make_record

HUB_ID = "TIGER-Lab/WebInstruct-verified"


@register("webinstruct")
def load_webinstruct(
    split: str, path=None, hub_id: str = HUB_ID, limit: int | None = None, low_utility_field: str | None = None, **kw
) -> list[dict]:
    def convert(row: dict, i: int) -> dict:
        question, answer = str(field(row, "question", "problem")), field(row, "answer", "final_answer")
        if low_utility_field is not None and low_utility_field not in row:
            raise DataError(f"missing field {low_utility_field!r} (data.kwargs.low_utility_field)")
        return make_record(
            id=f"webinstruct-{row.get('id', i)}",
            question=question,
            answer=answer,
            source="webinstruct",
            family=str(row.get("category") or "webinstruct").lower(),
            low_utility="flagged" if low_utility_field and row.get(low_utility_field) else "",
            **kw,
        )

    rows, origin = read_rows(path, split, hub_id)
    return convert_rows(rows[: None if limit is None else int(limit)], origin, convert)
