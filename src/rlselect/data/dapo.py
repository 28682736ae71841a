"""DAPO-Math-17K (BytedTsinghua-SIA/DAPO-Math-17k or open-r1's processed copy, or a local file).

The original rows wrap each problem in an 'Answer: $Answer' instruction; we keep the bare problem
so that every dataset shares one prompt format.
"""

from __future__ import annotations

from rlselect.data.io import read_rows
from rlselect.data.registry import register
from rlselect.data.schema import DataError, make_record, normalise_answer_field

_HEAD = "the answer to the problem."
_TAIL = "Remember to put your answer on its own line after"


def strip_dapo_instruction(text: str) -> str:
    if _HEAD in text:
        text = text.split(_HEAD, 1)[1]
    if _TAIL in text:
        text = text.rsplit(_TAIL, 1)[0]
    return text.strip()


@register("dapo_math_17k")
def load_dapo(split: str, path=None, **kw) -> list[dict]:
    rows, origin = read_rows(path, split, "BytedTsinghua-SIA/DAPO-Math-17k")
    records, seen = [], set()
    for i, row in enumerate(rows):
        prompt = row.get("prompt")
        if isinstance(prompt, list) and prompt:  # original format: chat messages
            question = strip_dapo_instruction(str(prompt[-1].get("content", "")))
            gold = (row.get("reward_model") or {}).get("ground_truth")
            rid = (row.get("extra_info") or {}).get("index", i)
        else:  # processed format: prompt / solution strings
            question = str(prompt or row.get("problem") or "")
            gold = row.get("solution", row.get("answer"))
            rid = row.get("id", i)
        if gold is None:
            raise DataError(f"{origin}, row {i}: missing ground-truth answer")
        rid = f"dapo-{rid}"
        if rid in seen:  # the original release repeats each problem; keep the first copy
            continue
        seen.add(rid)
        records.append(
            make_record(
                id=rid,
                question=question,
                answer=normalise_answer_field(gold),
                source="dapo_math_17k",
                meta={"family": "dapo"},
                **kw,
            )
        )
    return records
