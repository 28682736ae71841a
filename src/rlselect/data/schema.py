"""The canonical record every dataset loader produces, and its validation.

Columns: id (str), question (str), answer (str, final answer), prompt (chat messages),
source (str), meta (dict with a fixed set of keys so that Arrow can store it as one struct).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The instruction appended to every problem (docs/methods.md section 6).
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

# Keys every record's meta carries. Fixed so that all datasets share one Arrow schema:
#   level      difficulty level when the source has one (-1 otherwise)
#   family     task family (e.g. "gsm8k", "add", "countdown"): ground truth for imbalance studies
#   corrupted  True when a data-regime transform made this item's reward ignore the response
#   solution   reference solution text ("" when the source has none)
#   low_utility why the item cannot teach anything ("mislabeled", "unanswerable"; "" = a clean item)
META_DEFAULTS: dict[str, Any] = {"level": -1, "family": "", "corrupted": False, "solution": "", "low_utility": ""}


class DataError(ValueError):
    """A dataset row or file that cannot be used; the message names the file and row."""


def make_prompt(question: str, instruction: str = INSTRUCTION) -> list[dict[str, str]]:
    """Zero-shot chat prompt: one user turn with the problem and the boxed-answer instruction."""
    content = f"{question}\n{instruction}" if instruction else question
    return [{"role": "user", "content": content}]


def make_record(
    *, id: str, question: str, answer: Any, source: str, instruction: str = INSTRUCTION, **meta: Any
) -> dict[str, Any]:
    """One record: `answer` goes through `normalise_answer_field`, `meta` keywords over META_DEFAULTS."""
    if unknown := sorted(set(meta) - set(META_DEFAULTS)):
        raise DataError(f"record {id!r} from {source}: unknown meta keys {unknown}")
    return {
        "id": str(id),
        "question": question,
        "answer": normalise_answer_field(answer),
        "prompt": make_prompt(question, instruction),
        "source": source,
        "meta": {**META_DEFAULTS, **meta},
    }


def normalise_answer_field(value: Any) -> str:
    """Gold answers arrive as str, int or float ("27.0" in AMC23); store a clean string."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"unusable answer {value!r} (of type {type(value).__name__})")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    # "27.0" -> "27" so that exact string comparisons and boxed renderings stay clean.
    try:
        as_float = float(text)
    except ValueError:
        return text
    if as_float.is_integer() and "." in text and text.replace(".", "", 1).lstrip("-").isdigit():
        return str(int(as_float))
    return text


def validate_records(records: Iterable[dict[str, Any]], origin: str) -> list[dict[str, Any]]:
    """Check every record before any expensive work: non-empty question and answer, unique ids.

    `origin` names the file or generator so that the error says where the bad record is (counted
    from 1, as the rows of `convert_rows`' errors).
    """
    records, seen = list(records), {}
    for row_number, rec in enumerate(records, start=1):
        rid, q, a = rec.get("id"), rec.get("question"), rec.get("answer")
        where = f"{origin}, row {row_number} (id {rid!r})"
        if rid is None or str(rid) == "":
            raise DataError(f"{where}: missing id")
        if not isinstance(q, str) or not q.strip():
            raise DataError(f"{where}: empty or missing question")
        if not isinstance(a, str) or not a.strip():
            raise DataError(f"{where}: empty or missing answer")
        if rid in seen:
            raise DataError(f"{where}: duplicate id, first seen at row {seen[rid]}")
        seen[rid] = row_number
    if not records:
        raise DataError(f"{origin}: no rows")
    return records
