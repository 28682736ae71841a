"""GSM8K (openai/gsm8k, config main, or a local jsonl): the final answer follows '#### '."""

from __future__ import annotations

from rlselect.data.io import field, read_rows
from rlselect.data.registry import register
from rlselect.data.schema import DataError, make_record, normalise_answer_field


def parse_gsm8k_answer(solution: str) -> str | None:
    """'... #### 1,234' -> '1234' (thousands separators dropped); None when there is no marker."""
    if "####" not in solution:
        return None
    final = solution.rsplit("####", 1)[1].strip().replace(",", "")
    return final or None


@register("gsm8k")
def load_gsm8k(split: str, path=None, **kw) -> list[dict]:
    rows, origin = read_rows(path, split, "openai/gsm8k", "main")
    records = []
    for i, row in enumerate(rows):
        solution = field(row, "answer", origin, i)
        final = parse_gsm8k_answer(str(solution))
        if final is None:
            raise DataError(f"{origin}, row {i} (id 'gsm8k-{split}-{i}'): answer has no '#### <final answer>' line")
        records.append(
            make_record(
                id=f"gsm8k-{split}-{i}",
                question=field(row, "question", origin, i),
                answer=normalise_answer_field(final),
                source="gsm8k",
                meta={"family": "gsm8k", "solution": str(solution)},
                **kw,
            )
        )
    return records
