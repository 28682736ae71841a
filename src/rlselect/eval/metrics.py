"""Scoring of generated answers: the project's verifier (`rlselect.rewards.math_reward`) per sample.

`process_results` is what lm-eval calls for every problem (named in the task YAMLs); it returns

    acc        mean of math_reward over the problem's k samples (k = 1 for greedy pass@1)
    pass_at_k  1.0 when any of the k samples is correct

lm-eval averages both over problems (aggregation: mean) and reports the standard error of the
per-problem values, so for avg@k the stderr is the one of the per-problem mean accuracies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache


@lru_cache(maxsize=1 << 16)
def _cached_reward(completion: str, gold: str) -> float:
    from rlselect.rewards import math_reward

    return float(math_reward(completion, gold))


def score_completions(completions: Iterable, gold: str) -> list[float]:
    """1.0 / 0.0 per completion from the project's verifier (cached: the runner re-reads scored samples for free).
    lm-eval passes one entry per request: with the `all_samples` filter, the list of the k completions; with its
    default `take_first` filter, a single string. Both are flattened."""
    return [
        _cached_reward(str(c), str(gold)) for r in completions for c in (r if isinstance(r, (list, tuple)) else [r])
    ]


clear_cache = _cached_reward.cache_clear  # the runner starts every evaluation with an empty cache


def process_results(doc: dict, results: Sequence) -> dict[str, float]:
    """lm-eval `process_results`: per-problem mean score over the samples, and pass@k."""
    if not (scores := score_completions(results, doc["answer"])):
        raise ValueError(f"problem {doc.get('id')!r}: no completions to score")
    return {"acc": sum(scores) / len(scores), "pass_at_k": float(max(scores))}


def all_samples(resps, docs):
    """lm-eval `custom` filter: keep all `repeats` samples of every request (identity)."""
    return [list(r) for r in resps]
