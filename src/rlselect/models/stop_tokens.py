"""Where a completion ends: the tokenizer's EOS and the chat template's end-of-turn token.

Base models (Qwen2.5-7B: EOS <|endoftext|>) often differ from their chat template's end of turn
(<|im_end|>); a sampler that stops at EOS alone runs every rollout to the token cap. Rollouts,
training and evaluation all stop at both.
"""

from __future__ import annotations

_MARK = "\x00rlselect-end-of-turn-probe\x00"


def end_of_turn_token(tokenizer) -> str | None:
    """The special token the chat template writes right after an assistant message, if any."""
    try:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": "q"}, {"role": "assistant", "content": _MARK}], tokenize=False
        )
    except Exception:  # no chat template, or one that rejects this conversation: EOS alone
        return None
    tail = text.split(_MARK, 1)[-1] if _MARK in text else ""
    ids = tokenizer(tail, add_special_tokens=False)["input_ids"] if tail.strip() else []
    special = set(tokenizer.all_special_ids) | {i for i, t in tokenizer.added_tokens_decoder.items() if t.special}
    return next((tokenizer.convert_ids_to_tokens(i) for i in ids if i in special), None)


def stop_token_ids(tokenizer) -> list[int]:
    """EOS first, then the end-of-turn token when it differs."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    if (eot := end_of_turn_token(tokenizer)) is not None:
        ids.append(tokenizer.convert_tokens_to_ids(eot))
    return list(dict.fromkeys(ids))


def stop_strings(tokenizer) -> list[str]:
    """The same stops as strings (lm-eval's `until`)."""
    return [tokenizer.convert_ids_to_tokens(i) for i in stop_token_ids(tokenizer)]
