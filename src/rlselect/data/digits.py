"""`digits`: multi-digit addition and subtraction word problems, worked column by column.

The second embedded testbed (the first is `arith`). It is built so that what RL learns on one prompt
transfers to the others, as in LLM RL, and gradient alignment can mean something (docs: the issue
"A testbed where gradient alignment means something"; the diagnostic that chose it:
results/testbed/digits.md, the search: experiments/testbed_search.md):

- one shared procedure: every solution is the same short scratchpad, one column per digit from
  the right, "d1+d2+c=CD" (add: carry C, digit D) or "d1-d2-b=BD" (sub: borrow B, digit D), then
  the final answer; a model learns the procedure, not a table of facts;
- word-problem templates reused with new numbers ("Ann has 347 coins and gets 285 more. ...");
- an answer format the warm start follows only part of the time: `sft_completion` ends a warm-start
  example with "\\boxed{N}" (what the verifier reads) with probability BOX_PROB[level], else with
  "so N." (no final answer the verifier accepts). Every clean prompt's reward then pushes toward
  the same format behaviour, a direction shared by all prompts.

Families add and sub; level L = operands of L + 1 digits (2, 3, 4). One seeded generator draws a pool
of distinct problems and cuts it into train / validation / test / sft, so the splits never overlap
and are the same on every machine for the same seed.
"""

from __future__ import annotations

import random

from rlselect.data.registry import register
from rlselect.data.schema import DataError, make_record

NAMES = ["Ann", "Bob", "Cal", "Dee", "Eve", "Fay"]
ITEMS = ["apples", "pens", "cups", "books", "coins", "eggs"]
FAMILIES = ("add", "sub")
LEVEL_DIGITS = {1: 2, 2: 3, 3: 4}  # digits per operand
# Warm-start answer format: P(the SFT example ends in \boxed{N}) per level; else "so N.".
BOX_PROB = {1: 0.5, 2: 0.5, 3: 0.5}
DEFAULT_SIZES = {"train": 2000, "validation": 200, "test": 300, "sft": 20000}
DIGITS_INSTRUCTION = "Answer in \\boxed{}."


def columns(a: int, b: int, op: str) -> tuple[list[str], int]:
    """The scratchpad columns of a op b (right to left) and the result. add: "d1+d2+c=CD" with C the
    carry out and D the digit; sub (a >= b): "d1-d2-b=BD" with B the borrow out and D the digit."""
    if op not in ("+", "-") or a < 0 or b < 0 or (op == "-" and a < b):
        raise ValueError(f"columns({a}, {b}, {op!r}): need non-negative operands, a >= b for '-'")
    width = max(len(str(a)), len(str(b)))
    da, db = str(a).zfill(width)[::-1], str(b).zfill(width)[::-1]
    cols, digits, c = [], [], 0
    for x, y in zip(da, db):
        v = int(x) + int(y) + c if op == "+" else int(x) - int(y) - c
        out, d = (v // 10, v % 10) if op == "+" else (int(v < 0), v % 10)
        cols.append(f"{x}{op}{y}{op}{c}={out}{d}")
        digits.append(str(d))
        c = out
    if op == "+" and c:
        digits.append(str(c))
    return cols, int("".join(reversed(digits)))


def worked_solution(a: int, b: int, family: str) -> tuple[str, int]:
    """(scratchpad, answer) for one problem, e.g. ("7+5+0=12 4+8+1=13 3+2+1=06", 632)."""
    cols, ans = columns(a, b, "+" if family == "add" else "-")
    return " ".join(cols), ans


def _problem(rng: random.Random, family: str, level: int) -> tuple[str, str, int]:
    """(question, worked solution, answer) for one problem."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    n = LEVEL_DIGITS[level]
    lo, hi = 10 ** (n - 1), 10**n - 1
    a, b = rng.randint(lo, hi), rng.randint(lo, hi)
    if family == "add":
        q = f"{name} has {a} {item} and gets {b} more. How many now?"
    else:
        a, b = max(a, b), min(a, b)
        q = f"{name} has {a} {item} and gives {b} away. How many are left?"
    worked, ans = worked_solution(a, b, family)
    return q, worked, ans


def boxed_completion(worked: str, answer: int | str) -> str:
    """The completion the verifier accepts: the scratchpad, then the boxed answer."""
    return f"{worked} \\boxed{{{answer}}}"


def plain_completion(worked: str, answer: int | str) -> str:
    """The other warm-start format: the same scratchpad and answer, with no final answer the
    verifier can read (no \\boxed{}, no '####', no 'The answer is')."""
    return f"{worked} so {answer}."


def uses_box(record_id: str, level: int, box_prob: dict | None = None) -> bool:
    """Whether the warm-start example of this record ends in \\boxed{} (seeded by its id)."""
    probs = BOX_PROB if box_prob is None else {int(k): float(v) for k, v in box_prob.items()}
    return random.Random(f"digits-format-{record_id}").random() < probs.get(int(level), 1.0)


def sft_completion(record: dict, box_prob: dict | None = None) -> str:
    """The warm-start target of one record: boxed with probability box_prob[level], else plain."""
    worked = record["meta"]["solution"].split("\n####")[0]
    boxed = uses_box(record["id"], record["meta"]["level"], box_prob)
    return (boxed_completion if boxed else plain_completion)(worked, record["answer"])


def generate_digits(
    seed: int = 0,
    sizes: dict[str, int] | None = None,
    families: tuple[str, ...] | list[str] = FAMILIES,
    levels: tuple[int, ...] | list[int] = (1, 2, 3),
    instruction: str = DIGITS_INSTRUCTION,
) -> dict[str, list[dict]]:
    """All splits at once: a pool of distinct problems, cut in a fixed order (train, validation, test, sft)."""
    sizes, families, levels = dict(DEFAULT_SIZES if sizes is None else sizes), tuple(families), tuple(levels)
    for what, values, known in (("family", families, FAMILIES), ("level", levels, LEVEL_DIGITS)):
        if unknown := [v for v in values if v not in known]:
            raise DataError(f"digits: unknown {what} {unknown[0]!r}; available: {', '.join(map(str, known))}")
    total = sum(sizes.values())
    rng = random.Random(f"digits-{seed}")
    pool: dict[str, tuple] = {}  # question -> (question, worked, answer, family, level); the first draw of each
    for _ in range(50 * total):
        if len(pool) == total:
            break
        family, level = rng.choice(families), rng.choice(levels)
        q, worked, ans = _problem(rng, family, level)
        pool.setdefault(q, (q, worked, ans, family, level))
    if len(pool) < total:
        raise DataError(f"digits: cannot draw {total} distinct problems from families {families}")
    items, splits, start = list(pool.values()), {}, 0
    for split, n in sizes.items():
        splits[split] = [
            make_record(
                id=f"digits-{split}-{start + j}",
                question=q,
                answer=str(ans),
                source="digits",
                family=family,
                level=level,
                solution=f"{worked}\n#### {ans}",
                instruction=instruction,
            )
            for j, (q, worked, ans, family, level) in enumerate(items[start : start + n])
        ]
        start += n
    return splits


@register("digits")
def load_digits(split: str, path=None, **kwargs):
    """One split of `generate_digits(**kwargs)`: seed, sizes, families, levels, instruction."""
    if path is not None:
        raise DataError("digits is generated in code; it takes no path (use seed and sizes)")
    splits = generate_digits(**kwargs)
    if split not in splits:
        raise DataError(f"digits: unknown split {split!r}; available: {', '.join(splits)}")
    return splits[split]
