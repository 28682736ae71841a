"""Sharded, resumable feature files: out_dir/shard_00000.pt ... + out_dir/meta.json.

Shard s holds policy_gradients(...) of prompts [s*shard_size, (s+1)*shard_size). Every file is
written atomically (temp file + rename), so a killed run leaves only whole shards; a rerun with
the same inputs skips them. meta.json records n, dim, shard_size and a key of everything the
features depend on (data, model weights, params, token_agg, projection, append_eos); a rerun
into a directory whose key differs raises instead of mixing features of different configs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from rlselect.cache import atomic_torch_save, atomic_write_json, model_fingerprint, read_json, stage_key
from rlselect.grads.params import select_parameters
from rlselect.grads.policy import policy_gradients

FORMAT = 2  # 2: the model's fingerprint hashes its exact bytes (1: float sums, thread-dependent)


def _shard_path(out_dir: Path, s: int) -> Path:
    return out_dir / f"shard_{s:05d}.pt"


def compute_features(
    model,
    tokenizer,
    prompts,
    completions,
    advantages,
    out_dir,
    *,
    shard_size: int = 64,
    key_extra=None,
    progress: Callable[[int, bool], None] | None = None,
    **kwargs,
) -> torch.Tensor:
    """[n, dim] features (policy_gradients(**kwargs) of every prompt), computed shard by shard
    into out_dir and resumed from the shards already there. key_extra: anything else the caller
    wants in the key (e.g. a checkpoint id). progress(rows, cached) after each shard: its prompts, and
    whether it was found on disk."""
    out_dir = Path(out_dir)
    n = len(prompts)
    proj, params = kwargs.get("projection"), kwargs.get("params", "all")
    cfg = {  # everything the features depend on (not batch_size: it changes only rounding)
        "format": FORMAT,
        "data": stage_key(
            list(prompts), [list(c) for c in completions], [[float(a) for a in adv] for adv in advantages], length=24
        ),
        "model": model_fingerprint(model),
        "params": params,
        "token_agg": kwargs.get("token_agg", "seq_mean"),
        "append_eos": bool(kwargs.get("append_eos", False)),
        "projection": proj.config() if proj is not None else None,
        "shard_size": int(shard_size),
        "extra": key_extra,
    }
    key = stage_key(cfg)
    dim = proj.dim if proj is not None else sum(p.numel() for _, p in select_parameters(model, params))
    num_shards = (n + shard_size - 1) // shard_size
    meta = dict(n=n, dim=dim, shard_size=shard_size, num_shards=num_shards, key=key, config=cfg, complete=False)
    meta_path = out_dir / "meta.json"
    if meta_path.exists():
        old = read_json(meta_path)
        if old.get("key") != key:
            raise ValueError(
                f"feature store {out_dir} holds features of a different configuration (key "
                f"{old.get('key')} != {key}); refusing to mix them: use a new out_dir or delete it"
            )
    else:
        atomic_write_json(meta_path, meta)
    parts = []
    for s in range(num_shards):
        a, b = s * shard_size, min(n, (s + 1) * shard_size)
        path = _shard_path(out_dir, s)
        cached = path.exists()
        if cached:
            blob = torch.load(path, map_location="cpu")
            if blob.get("key") != key or tuple(blob["features"].shape) != (b - a, dim):
                raise ValueError(f"{path} does not belong to this feature store (key/shape mismatch)")
            feats = blob["features"]
        else:
            feats = policy_gradients(model, tokenizer, prompts[a:b], completions[a:b], advantages[a:b], **kwargs)
            atomic_torch_save(path, {"features": feats, "start": a, "end": b, "key": key})
        parts.append(feats)
        if progress is not None:
            progress(b - a, cached)
    meta["complete"] = True
    atomic_write_json(meta_path, meta)
    return torch.cat(parts) if parts else torch.zeros(0, dim)


def load_features(out_dir) -> torch.Tensor:
    """[n, dim] features of a complete store; raises if shards are missing."""
    out_dir = Path(out_dir)
    meta = read_json(out_dir / "meta.json")
    missing = [s for s in range(meta["num_shards"]) if not _shard_path(out_dir, s).exists()]
    if missing:
        raise FileNotFoundError(
            f"feature store {out_dir} is incomplete: {len(missing)} of "
            f"{meta['num_shards']} shards missing (rerun compute_features)"
        )
    parts = [torch.load(_shard_path(out_dir, s), map_location="cpu")["features"] for s in range(meta["num_shards"])]
    return torch.cat(parts) if parts else torch.zeros(0, meta["dim"])
