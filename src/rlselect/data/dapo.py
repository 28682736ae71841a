"""DAPO-Math-17K (BytedTsinghua-SIA/DAPO-Math-17k or open-r1's processed copy, or a local file).

The original rows wrap each problem in an 'Answer: $Answer' instruction; we keep the bare problem
so that every dataset shares one prompt format.
"""

from __future__ import annotations

from rlselect.data.io import convert_rows, read_rows
from rlselect.data.registry import register
from rlselect.data.schema import DataError, make_record

_HEAD = "the answer to the problem."
_TAIL = "Remember to put your answer on its own line after"


def strip_dapo_instruction(text: str) -> str:
    """The text after the first _HEAD and before the last _TAIL (each only when present)."""
    return text.split(_HEAD, 1)[-1].rsplit(_TAIL, 1)[0].strip()


@register("dapo_math_17k")
def load_dapo(split: str, path=None, **kw) -> list[dict]:
    seen = set()

    def convert(row: dict, i: int) -> dict | None:
        prompt = row.get("prompt")
        if isinstance(prompt, list) and prompt:  # original format: chat messages
            question = strip_dapo_instruction(str(prompt[-1].get("content", "")))
            gold = (row.get("reward_model") or {}).get("ground_truth")
            rid = f"dapo-{(row.get('extra_info') or {}).get('index', i)}"
        else:  # processed format: prompt / solution strings
            question = str(prompt or row.get("problem") or "")
            gold, rid = row.get("solution", row.get("answer")), f"dapo-{row.get('id', i)}"
        if gold is None:
            raise DataError("missing ground-truth answer")
        if rid in seen:  # the original release repeats each problem; keep the first copy
            return None
        seen.add(rid)
        return make_record(id=rid, question=question, answer=gold, source="dapo_math_17k", family="dapo", **kw)

    return convert_rows(*read_rows(path, split, "BytedTsinghua-SIA/DAPO-Math-17k"), convert)
