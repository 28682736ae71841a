"""The rollout stage: cached, sharded and resumable; every selector of a sweep reuses it."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from rlselect import console
from rlselect.cache import atomic_write_json, model_fingerprint, read_json, records_key, stage_key

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
    ids = [r["id"] for r in records]
    load = dict(load or {})
    root = _root(model_path, records, cfg, cache_root, load)
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(root / "spec.json", {"model": str(model_path), "n": len(ids), "cfg": cfg})
    shard_size = int(cfg.get("shard_size", 128))
    shards = [records[i : i + shard_size] for i in range(0, len(records), shard_size)]
    rows: list[dict] = []
    todo = [s for s in range(len(shards)) if not (root / f"shard_{s:05d}.json").exists()]
    if not todo:
        log.info("rollouts: all %d shards cached in %s (no work)", len(shards), root)
    elif len(todo) < len(shards):
        log.info("rollouts: resuming, %d of %d shards already done", len(shards) - len(todo), len(shards))
    sampler = None
    if todo:
        sampler = _sampler(model_path, model, tokenizer, cfg, load)
    t0 = time.time()
    bar = console.progress(len(records), f"rollouts (G={cfg['G']})", unit="prompt")
    for s, shard in enumerate(shards):
        path = root / f"shard_{s:05d}.json"
        if path.exists():
            rows.extend(read_json(path))
        else:
            rows.extend(_compute_shard(sampler, shard, cfg, out=path))
            log.debug("rollouts: shard %d/%d done (%.0f s)", s + 1, len(shards), time.time() - t0)
        bar.update(len(shard))
    bar.close()
    if todo:
        mean_p = sum(r["p"] for r in rows) / max(1, len(rows))
        log.info(
            "rollouts: %d prompts x %d at %s, mean success rate %.3f (%.0f s)",
            len(rows),
            cfg["G"],
            Path(str(model_path)).name,
            mean_p,
            time.time() - t0,
        )
    (root / "done").touch()
    if todo:  # what computing the stage cost, for the runs that later read it from the cache
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
    """(render, sample) for the stage: the HF model (loaded once) or one vLLM engine for every shard."""
    from rlselect.rollouts.generate import VllmEngine, render_prompts, sample_completions

    if cfg.get("backend", "hf") == "vllm":
        from transformers import AutoTokenizer

        tok = tokenizer or AutoTokenizer.from_pretrained(str(model_path))
        engine_kwargs = dict(cfg.get("vllm") or {})
        engine = VllmEngine(str(model_path), tok, dtype=load.get("dtype", "auto"), **engine_kwargs)
        return (lambda shard: render_prompts(tok, shard)), engine.sample
    if model is None:
        from rlselect.models import load_model

        model, tokenizer = load_model(model_path, **load)
    batch = int(cfg.get("batch_size", 32))
    return (lambda shard: render_prompts(tokenizer, shard)), (
        lambda prompts, **kw: sample_completions(model, tokenizer, prompts, batch_size=batch, **kw)
    )


def _compute_shard(sampler, shard, cfg, *, out) -> list[dict]:
    """One shard's rollouts; each prompt seeded from (rollouts.seed, its id), whatever the sharding."""
    from rlselect.rollouts.generate import prompt_seeds, score_groups

    render, sample = sampler
    groups = sample(
        render(shard),
        G=cfg["G"],
        temperature=cfg["temperature"],
        top_p=cfg["top_p"],
        max_new_tokens=cfg["max_new_tokens"],
        seeds=prompt_seeds(cfg["seed"], shard),
    )
    rows = score_groups(shard, groups, seed=cfg["seed"], reward=cfg.get("reward", "math"))
    atomic_write_json(out, rows)
    return rows
