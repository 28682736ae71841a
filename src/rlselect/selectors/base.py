"""What every selector receives and returns, and the name -> selector registry.

A selector is a pure function `(inputs: SelectionInputs, budget: int, seed: int, **params)
-> list[str]`: item ids, best first (the caller keeps the first `budget`). It never touches a
model: what it needs (rollout statistics, gradient features, perplexities, ...) is computed by the
pipeline's cached stages beforehand, as named in the selector's `needs`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rlselect.discovery import register_once
from rlselect.value_types import expected_type

# Stages a selector can ask for.
NEEDS = {"rollouts", "features", "val_features", "ppl", "hidden", "reward_trajectories"}


@dataclass
class SelectionInputs:
    records: list[dict]  # the candidate pool (canonical records)
    stats: dict[str, dict] = field(default_factory=dict)  # id -> {"p", "mean_len", "ppl", ...}
    features: Any = None  # Tensor [n, d], rows in `records` order
    val_features: Any = None  # Tensor [d]: the validation gradient
    hidden: Any = None  # Tensor [n, h]: hidden-state features (ablation)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.records]

    def stat(self, key: str) -> list[float]:
        missing = [i for i in self.ids if key not in self.stats.get(i, {})]
        if missing:
            raise KeyError(
                f"selector needs per-item stat {key!r}, missing for {len(missing)} items (first: {missing[0]!r})"
            )
        return [float(self.stats[i][key]) for i in self.ids]


@dataclass(frozen=True)
class Selector:
    name: str
    fn: Callable[..., list[str]]
    needs: frozenset[str]
    doc: str

    def __call__(self, inputs: SelectionInputs, budget: int, seed: int, **params) -> list[str]:
        return self.fn(inputs, budget, seed, **params)

    def check_params(self, params: dict) -> None:
        """A ValueError naming a `selector.params` key the selector does not take, or a value that
        does not fit its annotation (bool, int, float, str, Literal[...]): `use_variance=flase`
        reaches the selector as a truthy string. Checked before any stage, since the selector itself
        runs after the rollouts and the gradient features."""
        taken = list(inspect.signature(self.fn).parameters.values())[3:]  # after inputs, budget, seed
        if any(p.kind is p.VAR_KEYWORD for p in taken):
            return
        if unknown := sorted(set(params) - {p.name for p in taken}):
            names = ", ".join(p.name for p in taken) or "no params"
            raise ValueError(f"selector.params.{unknown[0]}: selector {self.name} takes {names}")
        hints = typing.get_type_hints(self.fn)
        for key, value in params.items():
            if (want := expected_type(hints.get(key), value)) is not None:
                raise ValueError(f"selector.params.{key}={value!r}: selector {self.name} takes {want}")


SELECTORS: dict[str, Selector] = {}


def register_selector(name: str, needs: tuple[str, ...] = ()):
    unknown = set(needs) - NEEDS
    if unknown:
        raise ValueError(f"selector {name}: unknown needs {sorted(unknown)}; known: {sorted(NEEDS)}")

    def wrap(fn):
        kinds = [p.kind for p in inspect.signature(fn).parameters.values()]
        positional = sum(
            k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in kinds
        )
        if positional < 3 and inspect.Parameter.VAR_POSITIONAL not in kinds:  # else it fails at selection time
            raise TypeError(
                f"selector {name}: {fn.__qualname__}{inspect.signature(fn)} must take (inputs, budget, seed, **params)"
            )
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        register_once(SELECTORS, name, Selector(name, fn, frozenset(needs), doc), fn, "selector")
        return fn

    return wrap


def get_selector(name: str) -> Selector:
    if name not in SELECTORS:
        raise ValueError(f"unknown selector {name!r}; available: {', '.join(sorted(SELECTORS))}")
    return SELECTORS[name]


class NoValidationSignal(ValueError):
    """Every validation group has equal rewards at this policy: its gradient is zero, nothing to align with."""


def all_finite(t, rows: int = 64) -> bool:
    """No NaN/inf in `t`, checked a block of rows at a time: torch.isfinite on a whole [n, P]
    feature matrix allocates several n x P temporaries (+1.2 GB for 512 x 330k floats)."""
    import torch

    t = torch.as_tensor(t)
    if t.dim() < 2:
        return bool(torch.isfinite(t).all())
    return all(bool(torch.isfinite(block).all()) for block in t.split(rows))


def rank_by(ids: list[str], scores: list[float], seed: int, descending: bool = True) -> list[str]:
    """Ids sorted by score; ties broken by a seeded random order (not by pool position)."""
    import random

    tiebreak = list(range(len(ids)))
    random.Random(seed).shuffle(tiebreak)
    sign = -1.0 if descending else 1.0
    order = sorted(range(len(ids)), key=lambda i: (sign * scores[i], tiebreak[i]))
    return [ids[i] for i in order]
