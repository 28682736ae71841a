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


def score_completions(completions: Iterable[str], gold: str) -> list[float]:
    """1.0 / 0.0 per completion from the project's verifier (cached: the runner re-reads scored samples for free)."""
    return [_cached_reward(str(c), str(gold)) for c in completions]


def clear_cache() -> None:
    _cached_reward.cache_clear()


def flatten_samples(results: Sequence) -> list[str]:
    """lm-eval passes one entry per request; with the `all_samples` filter that entry is the list
    of the k completions (with lm-eval's default `take_first` filter it is a single string)."""
    out: list[str] = []
    for r in results:
        if isinstance(r, (list, tuple)):
            out.extend(str(x) for x in r)
        else:
            out.append(str(r))
    return out


def process_results(doc: dict, results: Sequence) -> dict[str, float]:
    """lm-eval `process_results`: per-problem mean score over the samples, and pass@k."""
    completions = flatten_samples(results)
    if not completions:
        raise ValueError(f"problem {doc.get('id')!r}: no completions to score")
    scores = score_completions(completions, doc["answer"])
    return {"acc": sum(scores) / len(scores), "pass_at_k": float(max(scores))}


def all_samples(resps, docs):
    """lm-eval `custom` filter: keep all `repeats` samples of every request (identity)."""
    return [list(r) for r in resps]
