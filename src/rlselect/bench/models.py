"""The models the benchmarks run on: the embedded tiny model, or a random ~0.5B Qwen2 on a GPU."""

from __future__ import annotations

# A smaller tiny model for `--quick` (tests): the same code paths in a fraction of the time.
QUICK_TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  num_key_value_heads=1)

# The shape of Qwen2.5-0.5B (494M parameters with tied embeddings), randomly initialised.
QWEN2_05B = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, vocab_size=151936, max_position_embeddings=4096,
                 rope_theta=1_000_000.0, tie_word_embeddings=True)

MODEL_SIZES = ("tiny", "0.5b")


def bench_model(model_size: str = "tiny", device: str = "cpu", quick: bool = False, seed: int = 0):
    """(model, tokenizer, description). tiny: `build_tiny` (random init, float32); 0.5b: a random
    Qwen2 of Qwen2.5-0.5B's shape in bf16 (float32 on CPU) over the character tokenizer; ids
    beyond the tokenizer's vocabulary are suppressed in generation, but the full 151,936-row
    embedding and LM head are kept so that their cost is the real one."""
    import torch

    from rlselect.models.tiny import build_tiny

    if model_size == "tiny":
        model, tok = build_tiny(seed=seed, config=QUICK_TINY if quick else None)
        dtype = torch.float32
    elif model_size == "0.5b":
        from transformers import Qwen2Config, Qwen2ForCausalLM

        from rlselect.models.tokenizer import build_char_tokenizer

        tok = build_char_tokenizer()
        cfg = Qwen2Config(pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                          bos_token_id=tok.bos_token_id, use_cache=True, **QWEN2_05B)
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(cfg)
        model.generation_config.eos_token_id = tok.eos_token_id
        model.generation_config.pad_token_id = tok.pad_token_id
        model.generation_config.suppress_tokens = list(range(len(tok), cfg.vocab_size))
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    else:
        raise ValueError(f"model size {model_size!r}; available: {', '.join(MODEL_SIZES)}")
    model.to(device=device, dtype=dtype)
    n_params = sum(p.numel() for p in model.parameters())
    desc = {"model": model_size, "params": n_params, "dtype": str(dtype).replace("torch.", ""),
            "config": {k: getattr(model.config, k) for k in ("hidden_size", "intermediate_size",
                                                             "num_hidden_layers", "vocab_size")},
            "init": "random (seed %d)" % seed}
    return model, tok, desc
