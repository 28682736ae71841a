"""Prompts longer than the model's positions are dropped, by id, before any stage (models/context.py)."""

from __future__ import annotations

import logging

from rlselect.data.schema import make_record
from rlselect.models.context import context_length, drop_long_prompts
from rlselect.models.tokenizer import build_char_tokenizer
from rlselect.rollouts.generate import render_prompts


def records(*questions: str) -> list[dict]:
    return [make_record(id=f"q{i}", question=q, answer="1", source="t") for i, q in enumerate(questions)]


def test_the_context_is_the_configs_positions(tmp_path):
    from transformers import Qwen2Config

    Qwen2Config(max_position_embeddings=777).save_pretrained(tmp_path)
    assert context_length(tmp_path) == 777


def test_prompts_longer_than_the_limit_are_dropped_and_named(caplog):
    tok = build_char_tokenizer()  # one token per character
    pool = records("1 + 1?", "1 + " * 3000 + "1?", "2 + 2?")
    limit = max(len(tok(p, add_special_tokens=False)["input_ids"]) for p in render_prompts(tok, pool[::2]))
    with caplog.at_level(logging.WARNING, logger="rlselect.models.context"):
        kept = drop_long_prompts(pool, tok, limit, "pool")
    assert [r["id"] for r in kept] == ["q0", "q2"]  # in order
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"pool: dropped 1 of 3 prompts longer than the model's {limit} positions: q1 (")
    assert drop_long_prompts(pool, tok, limit + 20_000, "pool") == pool  # all fit: the same list
    assert drop_long_prompts(pool, tok, None, "pool") == pool  # no known limit


def test_many_are_named_five_then_counted(caplog):
    tok = build_char_tokenizer()
    pool = records("1?", *["9 " * 400 + "?"] * 6)
    with caplog.at_level(logging.WARNING, logger="rlselect.models.context"):
        assert [r["id"] for r in drop_long_prompts(pool, tok, 200, "validation set")] == ["q0"]
    assert caplog.records[0].getMessage().endswith("and 1 more")
