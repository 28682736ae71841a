"""GradAlign's data regimes as transforms of a pool, with ground truth kept in `meta`.

- noisy_reward: a seeded fraction of items gets a reward that ignores the response (a coin flip,
  applied by the reward function when meta.corrupted is true); selection precision is then the
  share of corrupted items among the selected.
- imbalance: the target family is only `target_share` of the pool (the rest are other families);
  the validation and test sets are the target family.
"""

from __future__ import annotations

import random

from rlselect.data.schema import DataError


def noisy_reward(records: list[dict], fraction: float, seed: int) -> list[dict]:
    if not 0.0 <= fraction <= 1.0:
        raise DataError(f"data.noisy_fraction={fraction}: must be in [0, 1]")
    rng = random.Random(f"noisy-{seed}")
    chosen = set(rng.sample(range(len(records)), round(fraction * len(records))))
    return [
        {**r, "meta": {**r["meta"], "corrupted": i in chosen}} for i, r in enumerate(records)
    ]


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


def apply_regime(records: list[dict], regime: str | None, seed: int, **params) -> list[dict]:
    if regime in (None, "none"):
        return records
    if regime == "noisy_reward":
        return noisy_reward(records, params.get("noisy_fraction", 0.5), seed)
    if regime == "imbalance":
        return imbalance(records, params["target_family"], params.get("target_share", 0.1), seed)
    raise DataError(f"data.regime={regime!r}; available: none, noisy_reward, imbalance")
