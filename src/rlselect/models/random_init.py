"""`model=random`: a randomly initialised Qwen2 of a named shape (the real Qwen2.5 configs) or of explicit
sizes, over the project's character tokenizer, for benchmarks and offline GPU smoke runs. Saved once per
(shape, sizes, dtype, seed) under <cache_dir>/models/random-<shape>-<key>; `load_model` reads it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from rlselect.cache import build_once, save_checkpoint, stage_key


@dataclass(frozen=True)
class TinyConfig:
    """The sizes of the embedded model (models/tiny.py)."""

    hidden_size: int = 96
    intermediate_size: int = 256
    num_hidden_layers: int = 3
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 512

    def as_dict(self) -> dict:
        return asdict(self)


_LAYOUT = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads")
SIZE_KEYS = (*_LAYOUT, "vocab_size", "max_position_embeddings")
_REAL = dict(vocab_size=151936, rope_theta=1e6, max_position_embeddings=32768, rms_norm_eps=1e-6)


def _qwen(h: int, i: int, layers: int, heads: int, kv: int, tied: bool) -> dict:
    return dict(zip(_LAYOUT, (h, i, layers, heads, kv)), **_REAL, tie_word_embeddings=tied)


SHAPES = {  # tiny: the embedded model (vocab: the tokenizer's ids); the others: Qwen2.5's config.json
    "tiny": dict(TinyConfig().as_dict(), tie_word_embeddings=True),
    "0.5b": _qwen(896, 4864, 24, 14, 2, tied=True),
    "1.5b": _qwen(1536, 8960, 28, 12, 2, tied=True),
    "7b": _qwen(3584, 18944, 28, 28, 4, tied=False),
}


def random_config(tokenizer, shape: str = "tiny", **sizes):
    """The Qwen2Config of `shape`, explicit sizes (SIZE_KEYS; None: the shape's) overriding it."""
    from transformers import Qwen2Config

    if shape not in SHAPES or set(sizes) - set(SIZE_KEYS):
        raise ValueError(f"shape {shape!r} sizes {sorted(sizes)}; shapes: {list(SHAPES)}, sizes: {SIZE_KEYS}")
    cfg = {"vocab_size": len(tokenizer), **SHAPES[shape], **{k: v for k, v in sizes.items() if v is not None}}
    if cfg["vocab_size"] < len(tokenizer):
        raise ValueError(f"vocab_size {cfg['vocab_size']} does not cover the tokenizer's {len(tokenizer)} ids")
    ids = dict(pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    return Qwen2Config(**cfg, **ids, bos_token_id=tokenizer.bos_token_id, use_cache=True)


def build_random(shape: str = "tiny", seed: int = 0, dtype: str = "float32", **sizes):
    """(model, tokenizer): seeded random init, built directly in `dtype` (bfloat16: half the memory);
    ids beyond the tokenizer are suppressed in generation."""
    import torch
    from transformers import Qwen2ForCausalLM

    from rlselect.models.tokenizer import build_char_tokenizer

    tok = build_char_tokenizer()
    config = random_config(tok, shape, **sizes)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM._from_config(config, dtype=getattr(torch, dtype))
    extra = list(range(len(tok), config.vocab_size))
    model.generation_config.update(pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    model.generation_config.suppress_tokens = extra or None
    return model, tok


def random_model_path(cache_dir: str | Path, shape: str = "tiny", dtype: str = "auto", seed: int = 0, **sizes) -> Path:
    """The saved checkpoint (built on first use); dtype auto: float32 for tiny, bfloat16 for the real shapes."""
    sizes = {k: v for k, v in sizes.items() if v is not None}
    dtype = ("float32" if shape == "tiny" else "bfloat16") if dtype == "auto" else dtype
    key = stage_key("random-v1", shape, sizes, dtype, seed)
    out = Path(cache_dir) / "models" / f"random-{shape}-{key}"

    def build() -> None:
        model, tok = build_random(shape, seed, dtype, **sizes)
        params = sum(p.numel() for p in model.parameters())
        save_checkpoint(model, tok, out, dict(shape=shape, sizes=sizes, dtype=dtype, seed=seed, params=params))

    build_once(out / "done.json", build, f"the random {shape} model")
    return out
