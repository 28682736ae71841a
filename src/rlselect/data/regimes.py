"""GradAlign's data regimes as transforms of a pool, with ground truth kept in `meta`.

- noisy_reward: a seeded fraction of items gets a reward that ignores the response (a coin flip,
  applied by the reward function when meta.corrupted is true); selection precision is then the
  share of corrupted items among the selected.
- imbalance: the target family is only `target_share` of the pool (the rest are other families);
  the validation and test sets are the target family.
- low_utility: a seeded fraction of items is made useless the way a noisy web corpus is: half
  `mislabeled` (the gold answer is replaced by a wrong one) and half `unanswerable` (the numbers
  are removed from the question); meta.low_utility names which. The verifier is unchanged, so
  such items are (almost) never solved and selection precision is their share among the selected.
"""

from __future__ import annotations

import math
import random
import re

from rlselect.data.schema import DataError, make_prompt


def noisy_reward(records: list[dict], fraction: float, seed: int) -> list[dict]:
    if not 0.0 <= fraction <= 1.0:
        raise DataError(f"data.noisy_fraction={fraction}: must be in [0, 1]")
    rng = random.Random(f"noisy-{seed}")
    chosen = set(rng.sample(range(len(records)), round(fraction * len(records))))
    return [{**r, "meta": {**r["meta"], "corrupted": i in chosen}} for i, r in enumerate(records)]


def imbalance(records: list[dict], target_family: str, target_share: float, seed: int) -> list[dict]:
    target = [r for r in records if r["meta"]["family"] == target_family]
    other = [r for r in records if r["meta"]["family"] != target_family]
    if not target:
        families = sorted({r["meta"]["family"] for r in records})
        raise DataError(f"data.target_family={target_family!r} not in the pool; families: {families}")
    if not 0.0 < target_share < 1.0:
        raise DataError(f"data.target_share={target_share}: must be in (0, 1)")
    n_target = min(len(target), round(target_share * len(other) / (1 - target_share)))
    rng = random.Random(f"imbalance-{seed}")
    mixed = rng.sample(target, n_target) + other
    rng.shuffle(mixed)
    return mixed


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _wrong_answer(answer: str, rng: random.Random) -> str:
    """A gold answer that is certainly wrong: a shifted number, or a marker for non-numeric ones."""
    try:
        value = float(answer)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # expressions, and "inf"/"nan" strings
        return f"{answer} + 1"
    shifted = value + rng.choice([-1, 1]) * rng.randint(1, max(3, int(abs(value)) // 2 + 1))
    return str(int(shifted)) if shifted == int(shifted) else str(shifted)


def _with_question(record: dict, question: str) -> dict:
    """The record with a new question and the same instruction in its prompt."""
    user = record["prompt"][-1]["content"]
    instruction = user[len(record["question"]) :].lstrip("\n") if user.startswith(record["question"]) else ""
    return {**record, "question": question, "prompt": make_prompt(question, instruction)}


def low_utility(records: list[dict], fraction: float, seed: int) -> list[dict]:
    if not 0.0 <= fraction <= 1.0:
        raise DataError(f"data.regime_params.low_utility_fraction={fraction}: must be in [0, 1]")
    rng = random.Random(f"low-utility-{seed}")
    chosen = rng.sample(range(len(records)), round(fraction * len(records)))
    kind = {i: ("mislabeled" if k % 2 == 0 else "unanswerable") for k, i in enumerate(chosen)}
    out = []
    for i, r in enumerate(records):
        if kind.get(i) == "unanswerable" and _NUMBER.search(r["question"]):
            r = _with_question(r, _NUMBER.sub("some", r["question"]))
            r = {**r, "meta": {**r["meta"], "low_utility": "unanswerable"}}
        elif i in kind:  # questions without numbers get a wrong label instead
            r = {**r, "answer": _wrong_answer(r["answer"], rng), "meta": {**r["meta"], "low_utility": "mislabeled"}}
        out.append(r)
    return out


def apply_regime(records: list[dict], regime: str | None, seed: int, **params) -> list[dict]:
    if regime in (None, "none"):
        return records
    if regime == "noisy_reward":
        return noisy_reward(records, params.get("noisy_fraction", 0.5), seed)
    if regime == "imbalance":
        return imbalance(records, params["target_family"], params.get("target_share", 0.1), seed)
    if regime == "low_utility":
        return low_utility(records, params.get("low_utility_fraction", 0.5), seed)
    raise DataError(f"data.regime={regime!r}; available: none, noisy_reward, imbalance, low_utility")
