"""GSM8K (openai/gsm8k, config main, or a local jsonl): the final answer follows '#### '."""

from __future__ import annotations

from rlselect.data.io import convert_rows, field, read_rows
from rlselect.data.registry import register
from rlselect.data.schema import DataError, make_record


def parse_gsm8k_answer(solution: str) -> str | None:
    """'... #### 1,234' -> '1234' (thousands separators dropped); None when there is no marker."""
    _, marker, final = solution.rpartition("####")
    return (marker and final.strip().replace(",", "")) or None


@register("gsm8k")
def load_gsm8k(split: str, path=None, **kw) -> list[dict]:
    def convert(row: dict, i: int) -> dict:
        solution = str(field(row, "answer"))
        if (final := parse_gsm8k_answer(solution)) is None:
            raise DataError("answer has no '#### <final answer>' line")
        question = field(row, "question")
        return make_record(
            id=f"gsm8k-{split}-{i}",
            question=question,
            answer=final,
            source="gsm8k",
            family="gsm8k",
            solution=solution,
            **kw,
        )

    return convert_rows(*read_rows(path, split, "openai/gsm8k", "main"), convert)
