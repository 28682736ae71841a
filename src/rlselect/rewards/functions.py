"""Reward functions with TRL's signature, and the registry that names them.

TRL's GRPOTrainer calls `reward_func(prompts=..., completions=..., completion_ids=..., **columns)`
where every other dataset column (here `answer`, `meta`, `id`, ...) arrives as a keyword with one
value per completion.
"""

from __future__ import annotations

import hashlib
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


def coin_flip(text: str) -> float:
    """A deterministic fair coin seeded by the text: 1.0 or 0.0, each for about half of all texts."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return float(digest[0] & 1)


def _is_corrupted(meta: Any) -> bool:
    """meta["corrupted"] is true (a Python or numpy bool, or 1; the string "True" is not)."""
    if not isinstance(meta, dict):
        return False
    flag = meta.get("corrupted")
    return flag is not None and not isinstance(flag, str) and bool(flag)


def trl_math_reward(prompts, completions, answer, **kwargs) -> list[float]:
    """TRL reward function: `math_reward(completion, answer)` per row.

    `completions` are strings or conversations (the last message's content is scored); `answer`
    is the dataset's gold column. Unreliable-reward regime (GradAlign, docs/methods.md section 5): when
    the dataset has a `meta` column and a row's `meta["corrupted"]` is True, that row's reward
    ignores the response: a fair coin, 1.0 or 0.0 with probability 1/2, made deterministic by
    seeding it with a hash (sha256) of the completion text, so that re-scoring the same
    completion gives the same reward.
    """
    if len(completions) != len(answer):
        raise ValueError(f"{len(completions)} completions but {len(answer)} answers")
    metas = kwargs.get("meta")
    if metas is not None and len(metas) != len(completions):
        raise ValueError(f"{len(completions)} completions but {len(metas)} meta entries")
    rewards = []
    for i, (completion, gold) in enumerate(zip(completions, answer)):
        text = completion_text(completion)
        if metas is not None and _is_corrupted(metas[i]):
            rewards.append(coin_flip(text))
        else:
            rewards.append(math_reward(text, gold))
    return rewards


REWARDS: dict[str, Callable[..., list[float]]] = {"math": trl_math_reward}


def get_reward(name: str) -> Callable[..., list[float]]:
    """The reward function registered under `name`."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; available: {', '.join(sorted(REWARDS))}")
    return REWARDS[name]
