"""Reward functions with TRL's signature, and the registry that names them.

TRL's GRPOTrainer calls `reward_func(prompts=..., completions=..., completion_ids=..., **columns)`
where every other dataset column (here `answer`, `meta`, `id`, ...) arrives as a keyword with one
value per completion.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from typing import Any

from rlselect.rewards.verifier import math_reward


def completion_text(completion: Any) -> str:
    """A completion as text: plain strings as they are; conversational completions (a list of
    message dicts) as the last message's "content"."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, (list, tuple)):
        if not completion:
            return ""
        last = completion[-1]
        if isinstance(last, dict):
            content = last.get("content")
            if isinstance(content, list):  # multimodal style: [{"type": "text", "text": ...}]
                return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content or "")
        return str(last)
    return "" if completion is None else str(completion)


def coin_flip(seed: int, prompt_id: str, draw: int) -> float:
    """Fair coin number `draw` of prompt `prompt_id` under `seed`: 1.0 or 0.0, independent of
    the response (GradAlign draws a fresh coin per call; we draw per (seed, prompt, rollout) so
    that a rerun of the same run gives the same rewards)."""
    digest = hashlib.sha256(f"{seed}|{prompt_id}|{draw}".encode("utf-8", "surrogatepass")).digest()
    return float(digest[0] & 1)


def _is_corrupted(meta: Any) -> bool:
    """meta["corrupted"] is true (a Python or numpy bool, or 1; the string "True" is not)."""
    if not isinstance(meta, dict):
        return False
    flag = meta.get("corrupted")
    return flag is not None and not isinstance(flag, str) and bool(flag)


class _Coins:
    """Fair coins per (seed, prompt id, rollout): the k-th coin this instance draws for a prompt id is draw k."""

    def __init__(self, seed: int = 0):
        self.seed = int(seed)
        self.draws: Counter[str] = Counter()

    def coin(self, key: str) -> float:
        self.draws[key] += 1
        return coin_flip(self.seed, key, self.draws[key] - 1)


class MathReward(_Coins):
    """TRL reward function: `math_reward(completion, answer)` per row.

    `completions` are strings or conversations (the last message's content is scored); `answer`
    is the dataset's gold column. Unreliable-reward regime (GradAlign, docs/methods.md section 5):
    a row whose `meta["corrupted"]` is true gets a reward that ignores the response, a fair coin
    (`_Coins`), so identical completions do not share a coin and a rerun repeats it.
    """

    __name__ = "math"  # TRL names the reward column after the function

    def __call__(self, prompts, completions, answer, **kwargs) -> list[float]:
        if len(completions) != len(answer):
            raise ValueError(f"{len(completions)} completions but {len(answer)} answers")
        metas, ids = kwargs.get("meta"), kwargs.get("id")
        for name, column in (("meta", metas), ("id", ids)):
            if column is not None and len(column) != len(completions):
                raise ValueError(f"{len(completions)} completions but {len(column)} {name} entries")
        return [
            self.coin(str(ids[i]) if ids is not None else f"row{i}")
            if metas is not None and _is_corrupted(metas[i])
            else math_reward(completion_text(completion), gold)
            for i, (completion, gold) in enumerate(zip(completions, answer))
        ]


def trl_math_reward(prompts, completions, answer, *, seed: int = 0, **kwargs) -> list[float]:
    """`MathReward(seed)` for one batch: coin draws start at 0 for every prompt id."""
    return MathReward(seed)(prompts, completions, answer, **kwargs)


class CoinReward(_Coins):
    """A fair coin per (seed, prompt id, rollout) for every row, whatever the response: the reward of
    `make smoke-presets`, whose randomly initialised models never solve a problem, so that every
    group still has reward variance and every selector and stage has something to work on."""

    __name__ = "coin"

    def __call__(self, prompts, completions, answer=None, **kwargs) -> list[float]:
        ids = kwargs.get("id") or [f"row{i}" for i in range(len(completions))]
        return [self.coin(str(key)) for key in ids]


REWARDS: dict[str, Callable[..., Callable[..., list[float]]]] = {"math": MathReward, "coin": CoinReward}


def get_reward(name: str, seed: int = 0) -> Callable[..., list[float]]:
    """A fresh reward function registered under `name`, seeded (coin draws) with `seed`."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; available: {', '.join(sorted(REWARDS))}")
    return REWARDS[name](seed)
