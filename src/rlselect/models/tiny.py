"""The embedded model: a tiny Qwen2-architecture causal LM over the character-level tokenizer.

`build_tiny` gives a seeded random initialisation (tests, benchmarks); `warm_start.py`
fine-tunes it on arith to partial competence and caches it, so RL has room to improve. Its sizes,
`TinyConfig`, are random_init.py's shape "tiny".
"""

from __future__ import annotations

from rlselect.models.random_init import TinyConfig, build_random


def build_tiny(seed: int = 0, config: TinyConfig | dict | None = None):
    """(model, tokenizer): a seeded random Qwen2ForCausalLM (about 0.3M parameters with the defaults),
    the fixture tests and benchmarks share; `build_random` of shape tiny in float32."""
    cfg = config if isinstance(config, TinyConfig) else TinyConfig(**(config or {}))
    return build_random("tiny", seed, "float32", **cfg.as_dict())
