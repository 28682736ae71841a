"""Coin-flip rewards are independent per rollout: all-equal groups among corrupted prompts are
as rare as a binomial says (2 * 0.5^8 at G = 8). (Identical completions drawing independent coins
is checked in tests/unit/test_rewards.py.)"""

from __future__ import annotations

import math

from rlselect.data import load_records
from rlselect.data.regimes import apply_regime
from rlselect.models.tiny import build_tiny
from rlselect.rollouts.generate import sample_rows

ROLLOUTS = {"temperature": 1.0, "top_p": 1.0, "max_new_tokens": 12, "batch_size": 64}


def test_corrupted_groups_are_all_equal_at_the_binomial_rate(one_thread):
    pool = apply_regime(load_records("arith", "train", seed=0)[:400], "noisy_reward", 0, noisy_fraction=0.5)
    corrupted = [r for r in pool if r["meta"]["corrupted"]]
    model, tok = build_tiny(seed=0)  # untrained: every completion is wrong
    rows = sample_rows(model, tok, corrupted, ROLLOUTS, G=8, seed=0)
    n, p = len(rows), 2 * 0.5**8
    all_equal = sum(len(set(r["rewards"])) == 1 for r in rows)
    assert all_equal <= n * p + 4 * math.sqrt(n * p * (1 - p)), f"{all_equal} of {n} groups all-equal"
    assert 0.4 < sum(sum(r["rewards"]) for r in rows) / (8 * n) < 0.6  # a fair coin overall
