"""`digits`: running-total word problems over single digits, worked step by step.

The second embedded testbed, built so that what RL learns on one prompt transfers to the others and
gradient alignment can mean something (issue "A testbed where gradient alignment means something";
diagnostic: results/testbed/digits.md; the search, failed designs included: experiments/testbed_search.md):

- one shared procedure: every solution is one "t+d=u" (or "t-d=u") per step of the story, carrying
  the running total t forward; the steps' facts ("12+3=15") recur across prompts;
- one word-problem template reused with new numbers ("Ann has 7 pens, then gets 5, gives 3. How
  many now?");
- an answer format the warm start follows only part of the time: `sft_completion` ends with
  "\\boxed{N}" (what the verifier reads) with probability BOX_PROB[level], else with "so N.", so
  every clean prompt's reward pushes toward the same format behaviour.

Families add (every step gets more) and mix (steps get or give away; the count never goes below 0);
level L = L + 1 steps after the starting count. Splits: one seeded draw (data/generated.py).
"""

from __future__ import annotations

import random

from rlselect.data.generated import ITEMS, NAMES, GeneratedTask, boxed_completion, load_split
from rlselect.data.registry import register

FAMILIES = ("add", "mix")  # add: every step gets more; mix: steps get or give away
LEVEL_STEPS = {1: 2, 2: 3, 3: 4}  # steps after the starting count
# Warm-start answer format: P(the SFT example ends in \boxed{N}) per level; else "so N.".
BOX_PROB = {1: 0.6, 2: 0.55, 3: 0.45}
DEFAULT_SIZES = {"train": 2000, "validation": 200, "test": 300, "sft": 20000}


def running_total(start: int, steps: list[int]) -> tuple[str, int]:
    """(scratchpad, answer): one "t+d=u" / "t-d=u" per step, e.g. (7, [5, -3]) -> ("7+5=12 12-3=9", 9)."""
    total, parts = start, []
    for d in steps:
        new = total + d
        if new < 0:
            raise ValueError(f"running_total({start}, {steps}): the count goes below 0")
        parts.append(f"{total}{'+' if d >= 0 else '-'}{abs(d)}={new}")
        total = new
    return " ".join(parts), total


def _problem(rng: random.Random, family: str, level: int) -> tuple[str, str, int]:
    """(question, worked solution, answer) for one problem."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    start, steps = rng.randint(1, 9), []
    total = start
    for _ in range(LEVEL_STEPS[level]):
        d = rng.randint(1, 9)
        if family == "mix" and d <= total and rng.random() < 0.5:
            d = -d
        steps.append(d)
        total += d
    said = ", ".join(f"gets {d}" if d > 0 else f"gives {-d}" for d in steps)
    q = f"{name} has {start} {item}, then {said}. How many now?"
    worked, ans = running_total(start, steps)
    return q, worked, ans


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


TASK = GeneratedTask("digits", _problem, FAMILIES, tuple(LEVEL_STEPS), DEFAULT_SIZES)
generate_digits = TASK.generate  # every split at once: train, validation, test, sft


@register("digits")
def load_digits(split: str, path=None, **kwargs):
    """One split of `generate_digits(**kwargs)`: seed, sizes, families, levels, instruction."""
    return load_split("digits", generate_digits, split, path, **kwargs)
