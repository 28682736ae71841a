"""The embedded model: a tiny Qwen2-architecture causal LM over the character-level tokenizer.

`build_tiny_model` gives a seeded random initialisation (tests, benchmarks); `warm_start.py`
fine-tunes it on arith to partial competence and caches it, so RL has room to improve.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TinyConfig:
    hidden_size: int = 96
    intermediate_size: int = 256
    num_hidden_layers: int = 3
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 512

    def as_dict(self) -> dict:
        return asdict(self)


def build_tiny_model(tokenizer, config: TinyConfig | dict | None = None, seed: int = 0):
    """A randomly initialised Qwen2ForCausalLM (about 0.3M parameters with the defaults)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = config if isinstance(config, TinyConfig) else TinyConfig(**(config or {}))
    qcfg = Qwen2Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=True,
        use_cache=True,
        **cfg.as_dict(),
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(qcfg)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def build_tiny(seed: int = 0, config: TinyConfig | dict | None = None):
    """(model, tokenizer), randomly initialised: the fixture tests and benchmarks share."""
    from rlselect.models.tokenizer import build_char_tokenizer

    tok = build_char_tokenizer()
    return build_tiny_model(tok, config, seed), tok
