"""Baselines on the rollout success rate p_i alone."""

import random

from rlselect.selectors.base import SelectionInputs, rank_by, register_selector


@register_selector("accuracy_band", needs=("rollouts",))
def select_accuracy_band(inputs: SelectionInputs, budget: int, seed: int, lo: float = 0.2, hi: float = 0.8):
    """Keep lo <= p_i <= hi, random among them (then the rest, random), up to N."""
    p = inputs.stat("p")
    inside = [i for i, pi in zip(inputs.ids, p) if lo <= pi <= hi]
    outside = [i for i, pi in zip(inputs.ids, p) if not lo <= pi <= hi]
    rng = random.Random(seed)
    rng.shuffle(inside)
    rng.shuffle(outside)
    return inside + outside


@register_selector("pass_filter", needs=("rollouts",))
def select_pass_filter(inputs: SelectionInputs, budget: int, seed: int):
    """Drop p_i in {0, 1} (all rollouts wrong or all right), random among the rest."""
    return select_accuracy_band(inputs, budget, seed, lo=1e-9, hi=1 - 1e-9)


@register_selector("acc_greedy", needs=("rollouts",))
def select_acc_greedy(inputs: SelectionInputs, budget: int, seed: int):
    """Sort by |p_i - 0.5| ascending (most uncertain first)."""
    return rank_by(inputs.ids, [abs(p - 0.5) for p in inputs.stat("p")], seed, descending=False)
