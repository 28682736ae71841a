"""The rollout stage: cached, sharded and resumable; every selector of a sweep reuses it."""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path
from typing import Any

from rlselect import console
from rlselect.cache import atomic_write_json, model_fingerprint, read_json, records_key, stage_key, stage_lock
from rlselect.rollouts.generate import VllmEngine, rollout_rows, sample_completions

BACKENDS = ("hf", "vllm")  # rollouts.backend

log = logging.getLogger(__name__)


def rollout_stage(
    model_path: str | Path,
    records: list[dict],
    cfg: dict[str, Any],
    cache_root: str | Path,
    *,
    model=None,
    tokenizer=None,
    load: dict[str, str] | None = None,
) -> list[dict]:
    """Per-prompt rollouts {id, completions, n_tokens, rewards, p, mean_len}, in record order.

    cfg: G, temperature, top_p, max_new_tokens, batch_size, seed, backend ('hf' | 'vllm'),
    shard_size (prompts per shard: the resume unit, default 128).
    Shards are written atomically; a killed run resumes from its last complete shard.
    load: `load_model`'s dtype and device (models.load_options) when the stage loads the model itself.
    """
    load = dict(load or {})
    root = _root(model_path, records, cfg, cache_root, load)
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(root / "spec.json", {"model": str(model_path), "n": len(records), "cfg": cfg})
    shard_size = int(cfg.get("shard_size", 128))
    shards = [records[i : i + shard_size] for i in range(0, len(records), shard_size)]
    paths = [root / f"shard_{s:05d}.json" for s in range(len(shards))]
    with stage_lock(root, "rollouts"):  # one run of a concurrent sweep samples; the others wait, then read
        todo = [path for path in paths if not path.exists()]
        if not todo:
            log.info("rollouts: all %d shards cached in %s (no work)", len(shards), root)
        elif len(todo) < len(shards):
            log.info("rollouts: resuming, %d of %d shards already done", len(shards) - len(todo), len(shards))
        tokenizer, sample = _sampler(model_path, model, tokenizer, cfg, load) if todo else (None, None)
        t0 = time.time()
        rows: list[dict] = []
        bar = console.progress(len(records), f"rollouts (G={cfg['G']})", unit="prompt")
        for s, (shard, path) in enumerate(zip(shards, paths)):
            if path.exists():  # a resumed stage's shards count as done, not into the ETA
                rows.extend(read_json(path))
                console.found_done(bar, len(shard))
            else:  # each prompt seeded from (rollouts.seed, its id), whatever the sharding
                shard_rows = rollout_rows(tokenizer, sample, shard, cfg, G=cfg["G"], seed=cfg["seed"])
                atomic_write_json(path, shard_rows)
                rows.extend(shard_rows)
                log.debug("rollouts: shard %d/%d done (%.0f s)", s + 1, len(shards), time.time() - t0)
                bar.update(len(shard))
        bar.close()
        (root / "done").touch()
        if todo:
            log.info(
                "rollouts: %d prompts x %d at %s, mean success rate %.3f (%.0f s)",
                len(rows),
                cfg["G"],
                console.model_name(model_path),
                sum(r["p"] for r in rows) / max(1, len(rows)),
                time.time() - t0,
            )
            # what computing the stage cost, for the runs that later read it from the cache
            prev = read_json(root / "cost.json") if (root / "cost.json").exists() else {"seconds": 0.0}
            atomic_write_json(root / "cost.json", {"seconds": round(prev["seconds"] + time.time() - t0, 2)})
    return rows


def rollout_compute_seconds(model_path, records, cfg, cache_root, *, load=None) -> float | None:
    """Seconds the cached stage took to compute (summed over resumes); None if it was never recorded."""
    path = _root(model_path, records, cfg, cache_root, dict(load or {})) / "cost.json"
    return read_json(path)["seconds"] if path.exists() else None


def _root(model_path, records, cfg, cache_root, load: dict) -> Path:
    # The dtype changes the samples; the device does not enter (same weights, same sampler seed).
    key = stage_key(
        "rollouts-v4", model_fingerprint(model_path), records_key(records), cfg, load.get("dtype", "float32")
    )
    return Path(cache_root) / "rollouts" / key


def _sampler(model_path, model, tokenizer, cfg, load):
    """(tokenizer, sample) for the stage: the HF model (loaded once) or one vLLM engine for every shard."""
    if (backend := cfg.get("backend", "hf")) not in BACKENDS:
        raise ValueError(f"rollouts.backend={backend!r}; available: {', '.join(BACKENDS)}")
    if backend == "vllm":
        from transformers import AutoTokenizer

        tok = tokenizer or AutoTokenizer.from_pretrained(str(model_path))
        engine = VllmEngine(str(model_path), tok, dtype=load.get("dtype", "auto"), **dict(cfg.get("vllm") or {}))
        return tok, engine.sample
    if model is None:
        from rlselect.models import load_model

        model, tokenizer = load_model(model_path, **load)
    return tokenizer, partial(sample_completions, model, tokenizer, batch_size=int(cfg.get("batch_size", 32)))
