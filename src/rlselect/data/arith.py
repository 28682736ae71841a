"""`arith`: the built-in synthetic grade-school arithmetic task (generated in code, offline).

Word problems in four families (add, sub, mul, two_step) at three difficulty levels, with GSM8K-style
reference solutions ("3+4=7\n#### 7") and integer final answers. One seeded generator draws a pool
of distinct problems and cuts it into train / validation / test, so the splits never overlap and
are the same on every machine for the same seed.
"""

from __future__ import annotations

import random

from rlselect.data.registry import register
from rlselect.data.schema import DataError, make_record

NAMES = ["Ann", "Bob", "Cal", "Dee", "Eve", "Fay"]
ITEMS = ["apples", "pens", "cups", "books", "coins", "eggs"]
FAMILIES = ("add", "sub", "mul", "two_step")
# Largest operand per level (mul uses smaller factors). Sized so that the embedded 0.3M-parameter
# model learns level 1 well, level 2 partly and level 3 rarely: partial competence, room for RL.
LEVEL_MAX = {1: 5, 2: 9, 3: 30}
MUL_MAX = {1: 3, 2: 5, 3: 9}
# "sft" is the embedded model's warm-start data: disjoint from the RL pool, so SFT cannot memorise
# the prompts that RL and selection later see.
DEFAULT_SIZES = {"train": 2000, "validation": 200, "test": 300, "sft": 16000}
# A short instruction keeps a character-level model's sequences (and CPU time) small; the
# boxed-answer contract is the same as the paper prompt's (conf/data/arith.yaml can change it).
ARITH_INSTRUCTION = "Answer in \\boxed{}."


def _problem(rng: random.Random, family: str, level: int) -> tuple[str, str, int]:
    """(question, worked solution, answer) for one problem."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    lo, hi = (2, MUL_MAX[level]) if family == "mul" else (1, LEVEL_MAX[level])
    a, b = rng.randint(lo, hi), rng.randint(lo, hi)
    if family == "add":
        return f"{name} has {a} {item} and gets {b} more. How many now?", f"{a}+{b}={a + b}", a + b
    if family == "sub":
        a, b = max(a, b), min(a, b)
        return f"{name} has {a} {item} and gives {b} away. How many are left?", f"{a}-{b}={a - b}", a - b
    if family == "mul":
        return f"{name} buys {a} bags of {b} {item}. How many {item} in all?", f"{a}*{b}={a * b}", a * b
    s, c = a + b, rng.randint(1, a + b)  # two_step
    q = f"{name} has {a} {item}, gets {b} more and gives {c} away. How many now?"
    return q, f"{a}+{b}={s}, {s}-{c}={s - c}", s - c


def boxed_completion(worked: str, answer: int | str) -> str:
    """The assistant turn the embedded model is warm-started on (and that the verifier accepts)."""
    return f"{worked} \\boxed{{{answer}}}"


def generate_arith(
    seed: int = 0,
    sizes: dict[str, int] | None = None,
    families: tuple[str, ...] | list[str] = FAMILIES,
    levels: tuple[int, ...] | list[int] = (1, 2, 3),
    instruction: str = ARITH_INSTRUCTION,
) -> dict[str, list[dict]]:
    """All splits at once: a pool of distinct problems, cut in a fixed order (train, validation, test)."""
    sizes, families, levels = dict(DEFAULT_SIZES if sizes is None else sizes), tuple(families), tuple(levels)
    for what, values, known in (("family", families, FAMILIES), ("level", levels, LEVEL_MAX)):
        if unknown := [v for v in values if v not in known]:
            raise DataError(f"arith: unknown {what} {unknown[0]!r}; available: {', '.join(map(str, known))}")
    total = sum(sizes.values())
    rng = random.Random(f"arith-{seed}")
    pool: dict[str, tuple] = {}  # question -> (question, worked, answer, family, level); the first draw of each
    for _ in range(50 * total):
        if len(pool) == total:
            break
        family, level = rng.choice(families), rng.choice(levels)
        q, worked, ans = _problem(rng, family, level)
        pool.setdefault(q, (q, worked, ans, family, level))
    if len(pool) < total:
        raise DataError(f"arith: cannot draw {total} distinct problems from families {families}")
    items, splits, start = list(pool.values()), {}, 0
    for split, n in sizes.items():
        splits[split] = [
            make_record(
                id=f"arith-{split}-{start + j}",
                question=q,
                answer=str(ans),
                source="arith",
                family=family,
                level=level,
                solution=f"{worked}\n#### {ans}",
                instruction=instruction,
            )
            for j, (q, worked, ans, family, level) in enumerate(items[start : start + n])
        ]
        start += n
    return splits


@register("arith")
def load_arith(split: str, path=None, **kwargs):
    """One split of `generate_arith(**kwargs)`: seed, sizes, families, levels, instruction."""
    if path is not None:
        raise DataError("arith is generated in code; it takes no path (use seed and sizes)")
    splits = generate_arith(**kwargs)
    if split not in splits:
        raise DataError(f"arith: unknown split {split!r}; available: {', '.join(splits)}")
    return splits[split]
