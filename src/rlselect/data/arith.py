"""`arith`: the built-in synthetic grade-school arithmetic task (generated in code, offline).

Word problems in four families (add, sub, mul, two_step) at three difficulty levels, with GSM8K-style
reference solutions ("3+4=7\n#### 7") and integer final answers; the splits come from one seeded
draw (data/generated.py).
"""

from __future__ import annotations

import random

from rlselect.data.generated import ITEMS, NAMES, GeneratedTask, boxed_completion, load_split  # noqa: F401 (boxed_completion: re-exported)
from rlselect.data.registry import register

FAMILIES = ("add", "sub", "mul", "two_step")
# Largest operand per level (mul uses smaller factors). Sized so that the embedded 0.3M-parameter
# model learns level 1 well, level 2 partly and level 3 rarely: partial competence, room for RL.
LEVEL_MAX = {1: 5, 2: 9, 3: 30}
MUL_MAX = {1: 3, 2: 5, 3: 9}
# "sft" is the embedded model's warm-start data: disjoint from the RL pool, so SFT cannot memorise
# the prompts that RL and selection later see.
DEFAULT_SIZES = {"train": 2000, "validation": 200, "test": 300, "sft": 16000}


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


TASK = GeneratedTask("arith", _problem, FAMILIES, tuple(LEVEL_MAX), DEFAULT_SIZES)
generate_arith = TASK.generate  # every split at once: train, validation, test, sft


@register("arith")
def load_arith(split: str, path=None, **kwargs):
    """One split of `generate_arith(**kwargs)`: seed, sizes, families, levels, instruction."""
    return load_split("arith", generate_arith, split, path, **kwargs)
