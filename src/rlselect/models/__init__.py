"""Models: the embedded tiny model (warm-started and cached) and loading of any checkpoint.

`resolve_model_path(cfg, cache_dir)` turns the `model` config group into a local path or hub id;
`load_model(path, dtype=, device=)` loads (model, tokenizer) with left padding for generation, in the
configured dtype on the configured device; `load_options(model_cfg)` reads both from the `model` group.
Every stage that only scores (rollouts on the HF path, features, PPL/IFD, hidden states) loads this
way; the trained policy alone keeps fp32 master weights (train/grpo.py), and the Trainer places it.
"""

from __future__ import annotations

from pathlib import Path


def given_checkpoint(model_cfg) -> str | None:
    """model.path when set, whatever model.name says (a run's trained tiny policy, say: the name then
    only labels it), or model.name unless it names an embedded model; checked, not loaded."""
    if model_cfg.get("path"):  # with model=tiny it was ignored, and the demo ran the embedded model instead
        return local_or_hub(model_cfg["path"], "model.path", "or model=tiny")
    if model_cfg["name"] not in ("tiny", "random"):
        return local_or_hub(model_cfg["name"], "model.name", "or model=tiny")
    return None


def resolve_model_path(model_cfg, cache_dir: str | Path) -> str:
    """The given checkpoint, else 'tiny' -> the cached warm-started checkpoint (trained on first use)
    or 'random' -> the cached random checkpoint of model.shape (models/random_init.py)."""
    if (given := given_checkpoint(model_cfg)) is not None:
        return given
    if model_cfg["name"] == "random":
        from rlselect.models.random_init import SIZE_KEYS, random_model_path

        keys = ("shape", "seed", "dtype", *SIZE_KEYS)
        return str(random_model_path(cache_dir, **{k: v for k, v in model_cfg.items() if k in keys}))
    from rlselect.models.warm_start import warm_start_tiny

    return str(warm_start_tiny(cache_dir, **dict(model_cfg.get("warm_start") or {})))


def local_or_hub(path, key: str, alternative: str = "") -> str:
    """`path` when it is a local checkpoint folder or may be a hub id ("org/name"); else a
    FileNotFoundError naming `key`, before anything loads (transformers' own errors are about repo
    id syntax or a missing `model_type`)."""
    local = Path(str(path)).expanduser()
    if local.exists():
        if not any((local / f).is_file() for f in ("config.json", "adapter_config.json")):
            raise FileNotFoundError(
                f"{key}={str(path)!r}: not a checkpoint folder (no config.json in it; a run's trained policy "
                "is <run dir>/train/final)"
            )
        return str(local)
    if str(path).startswith(("/", ".", "~")) or str(path).count("/") > 1:  # a hub id is "org/name"
        raise FileNotFoundError(
            f"{key}={str(path)!r}: no such checkpoint folder (a local folder or a hub id such as "
            f"Qwen/Qwen2.5-1.5B-Instruct{', ' + alternative if alternative else ''})"
        )
    from rlselect import hub_offline

    if hub_offline(datasets=False):  # transformers would fail later, with a traceback, in the first stage that loads it
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(str(path), "config.json"), str):
            raise FileNotFoundError(
                f"{key}={str(path)!r}: not in the local hub cache, and the hub is offline (HF_HUB_OFFLINE): "
                f"give a local copy ({key.replace('model.name', 'model.path')}{' ' if key.startswith('-') else '='}"
                f"/path/to/checkpoint{', ' + alternative if alternative else ''})"
            )
    return str(path)


def resolve_device(device: str | None = "auto") -> str:
    """'auto' (or None) -> 'cuda' when a CUDA device is present, else 'cpu'; anything else as given."""
    if device in (None, "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def load_options(model_cfg) -> dict[str, str]:
    """{'dtype', 'device'} for `load_model` from the `model` config group (model.dtype: float32 |
    bfloat16 | float16 | auto = the checkpoint's own; model.device: auto | cpu | cuda | cuda:N)."""
    model_cfg = model_cfg or {}
    return {"dtype": str(model_cfg.get("dtype") or "float32"), "device": resolve_device(model_cfg.get("device"))}


def check_dtype(dtype: str, key: str = "model.dtype") -> None:
    """A ValueError naming `key` unless `dtype` is auto or a torch dtype's name (bf16 is neither)."""
    import torch

    if dtype != "auto" and not isinstance(getattr(torch, str(dtype), None), torch.dtype):
        raise ValueError(f"{key}={dtype!r}; use float32, bfloat16, float16 or auto")


def load_model(path: str | Path, *, dtype: str = "float32", device: str | None = None):
    """(model, tokenizer); dtype 'auto' keeps the checkpoint's; device None leaves it on the CPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    check_dtype(dtype)
    try:
        tok = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(
            str(path), dtype="auto" if dtype == "auto" else getattr(torch, dtype)
        )
    except OSError as exc:
        raise OSError(
            f"cannot load model {path!r}: {exc}. Offline machines need a local checkpoint path "
            "(model.path=/path/to/checkpoint) or the embedded model (model=tiny)."
        ) from exc
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if device:
        model.to(resolve_device(device))
    return model, tok
