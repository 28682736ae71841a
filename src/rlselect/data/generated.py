"""Tasks generated in code (arith, digits): one seeded draw of distinct problems, cut into splits.

Each task supplies `problem(rng, family, level) -> (question, worked solution, answer)`; the splits
(train, validation, test, sft, ...) are consecutive slices of one pool of distinct questions, so they
never overlap and are the same on every machine for the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from rlselect.data.schema import DataError, make_record

NAMES = ["Ann", "Bob", "Cal", "Dee", "Eve", "Fay"]
ITEMS = ["apples", "pens", "cups", "books", "coins", "eggs"]
# A short instruction keeps a character-level model's sequences (and CPU time) small; the
# boxed-answer contract is the same as the paper prompt's (conf/data/<task>.yaml can change it).
BOXED_INSTRUCTION = "Answer in \\boxed{}."


def boxed_completion(worked: str, answer: int | str) -> str:
    """The completion the verifier accepts (and the embedded model is warm-started on): the
    scratchpad, then the boxed answer."""
    return f"{worked} \\boxed{{{answer}}}"


def load_split(name: str, generate: Callable[..., dict[str, list[dict]]], split: str, path, **kwargs) -> list[dict]:
    """One split of `generate(**kwargs)` (a generated task takes no path)."""
    if path is not None:
        raise DataError(f"{name} is generated in code; it takes no path (use seed and sizes)")
    splits = generate(**kwargs)
    if split not in splits:
        raise DataError(f"{name}: unknown split {split!r}; available: {', '.join(splits)}")
    return splits[split]


@dataclass(frozen=True)
class GeneratedTask:
    """A task generated in code: its problem function, known families and levels, default split sizes
    and instruction. `generate(seed, sizes, families, levels, instruction)` returns every split."""

    name: str
    problem: Callable[[random.Random, str, int], tuple[str, str, int]]
    families: tuple[str, ...]
    levels: tuple[int, ...]
    sizes: dict[str, int]
    instruction: str = BOXED_INSTRUCTION

    def generate(
        self,
        seed: int = 0,
        sizes: dict[str, int] | None = None,
        families: tuple[str, ...] | list[str] | None = None,
        levels: tuple[int, ...] | list[int] = (1, 2, 3),
        instruction: str | None = None,
    ) -> dict[str, list[dict]]:
        name, families, levels = self.name, tuple(self.families if families is None else families), tuple(levels)
        for what, values, known in (("family", families, self.families), ("level", levels, self.levels)):
            if unknown := [v for v in values if v not in known]:
                raise DataError(f"{name}: unknown {what} {unknown[0]!r}; available: {', '.join(map(str, known))}")
        sizes = dict(self.sizes if sizes is None else sizes)
        total = sum(sizes.values())
        rng = random.Random(f"{name}-{seed}")
        pool: dict[str, tuple] = {}  # question -> (question, worked, answer, family, level); the first draw of each
        for _ in range(50 * total):
            if len(pool) == total:
                break
            family, level = rng.choice(families), rng.choice(levels)
            q, worked, ans = self.problem(rng, family, level)
            pool.setdefault(q, (q, worked, ans, family, level))
        if len(pool) < total:
            raise DataError(f"{name}: cannot draw {total} distinct problems from families {families}")
        items, splits, start = list(pool.values()), {}, 0
        for split, n in sizes.items():
            splits[split] = [
                make_record(
                    id=f"{name}-{split}-{start + j}",
                    question=q,
                    answer=str(ans),
                    source=name,
                    family=family,
                    level=level,
                    solution=f"{worked}\n#### {ans}",
                    instruction=self.instruction if instruction is None else instruction,
                )
                for j, (q, worked, ans, family, level) in enumerate(items[start : start + n])
            ]
            start += n
        return splits
