"""Models: the embedded tiny model (warm-started and cached) and loading of any checkpoint.

`resolve_model_path(cfg, cache_dir)` turns the `model` config group into a local path or hub id;
`load_model(path)` loads (model, tokenizer) with left padding for generation.
"""

from __future__ import annotations

from pathlib import Path


def resolve_model_path(model_cfg, cache_dir: str | Path) -> str:
    """'tiny' -> the cached warm-started checkpoint (trained on first use); 'random' -> the cached random
    checkpoint of model.shape (models/random_init.py); else the given path/id."""
    name = model_cfg["name"]
    if name == "random":
        from rlselect.models.random_init import random_model_path

        return str(random_model_path(cache_dir, **{k: v for k, v in model_cfg.items() if k not in ("name", "path")}))
    if name == "tiny":
        from rlselect.models.warm_start import warm_start_tiny

        return str(warm_start_tiny(cache_dir, **dict(model_cfg.get("warm_start") or {})))
    path = model_cfg.get("path") or name
    if Path(str(path)).expanduser().exists():
        return str(Path(str(path)).expanduser())
    return str(path)  # a hub id such as Qwen/Qwen2.5-1.5B-Instruct


def load_model(path: str | Path, *, dtype: str = "float32", device: str | None = None):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=getattr(torch, dtype))
    except OSError as exc:
        raise OSError(
            f"cannot load model {path!r}: {exc}. Offline machines need a local checkpoint path "
            "(model.path=/path/to/checkpoint) or the embedded model (model=tiny)."
        ) from exc
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if device:
        model.to(device)
    return model, tok
