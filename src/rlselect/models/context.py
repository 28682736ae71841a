"""Prompts that fit the model's context window.

A prompt whose chat-templated tokens outnumber the model's positions (config.max_position_embeddings)
is generated entirely past what the model was trained on, and a long one fails in the first stage
that generates: a 12,000-token question asked the 512-position tiny model's attention for 48 GB. Such
prompts are dropped from the pool and the validation set before any stage, with a warning naming
them, as the leakage filter drops benchmark problems. (A prompt that fits but leaves less room than
the completions asked of it is kept: HF generation and vLLM stop at the window.)
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def context_length(model_path: str | Path) -> int | None:
    """The model's positions (config.max_position_embeddings), None where the config has none."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(model_path))
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    n = getattr(text, "max_position_embeddings", None)
    return int(n) if n else None


def drop_long_prompts(records: list[dict], tokenizer, limit: int | None, what: str) -> list[dict]:
    """`records` less those whose templated prompt has more than `limit` tokens (warned, by id)."""
    if limit is None or not records:
        return records
    from rlselect.rollouts.generate import render_prompts

    lengths = [len(ids) for ids in tokenizer(render_prompts(tokenizer, records), add_special_tokens=False)["input_ids"]]
    long = [(r["id"], n) for r, n in zip(records, lengths) if n > limit]
    if long:
        named = ", ".join(f"{i} ({n:,} tokens)" for i, n in long[:5]) + (
            f" and {len(long) - 5} more" if len(long) > 5 else ""
        )
        log.warning(
            "%s: dropped %d of %d prompts longer than the model's %d positions: %s",
            what,
            len(long),
            len(records),
            limit,
            named,
        )
    return [r for r, n in zip(records, lengths) if n <= limit]
