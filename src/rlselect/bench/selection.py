"""Benchmark 3: what selection costs in the demo, against what the demo's GRPO training costs.

Each selector runs the whole pipeline once (`rlselect.pipeline.run`, `experiment=demo`) in a fresh
stage cache, so every stage does its work; the numbers are the run's own cost record `cost.seconds`:
rollouts (the pool at the starting policy), selection (learnalign: warm-up GRPO, rollouts at the
warm-up policy, features, scoring; gradalign: validation rollouts, features, validation gradient,
scoring), train. Outside every clock: the warm start (copied from the source cache), one-off
imports and the verifier worker's start.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import trl  # noqa: F401  (imported before any clock: a one-off import is not a selection cost)
from omegaconf import OmegaConf

from rlselect.bench.core import peak_memory
from rlselect.cli import compose
from rlselect.models import resolve_model_path
from rlselect.pipeline import run
from rlselect.rewards import warmup

DEMO = ["experiment=demo", "logger=none", "study=bench"]
SELECTORS = ("learnalign", "gradalign")
# --quick (tests): the demo shrunk to seconds; its warm start is the tests' (tests/tiny_config.py).
QUICK = ["model.warm_start.max_steps=150", "data.pool_size=16", "data.val_size=16", "budget=4", "rollouts.G=8"]
QUICK += ["rollouts.max_new_tokens=24", "features.val_G=8", "trainer.max_steps=1", "eval.limit=6"]
QUICK += ["eval.max_gen_toks=24", "trainer.args.max_completion_length=24", "trainer.args.save_steps=1"]
QUICK += ["trainer.args.per_device_train_batch_size=8", "trainer.args.num_generations=4"]
QUICK_SELECTOR = {"learnalign": ["selector.warmup.size=8", "selector.warmup.steps=1"]}
SETUP = dict(pool="data.pool_size", val="data.val_size", G="rollouts.G", val_G="features.val_G", budget="budget")
SETUP |= dict(max_new_tokens="rollouts.max_new_tokens", batch_size="features.batch_size")
EXCLUDED = "the warm start (copied from the source cache); imports of trl/transformers; the verifier worker's start"


def bench_selection(quick: bool = False, source_cache: str | Path = ".cache/rlselect") -> dict:
    """Per selector: its run's cost record and rollouts_s, selection_s, total_s = their sum,
    train_s, ratio_to_train = total_s / train_s, selected (prompts), and the run's peak memory."""
    overrides = [*DEMO, *(QUICK if quick else [])]
    base = compose([*overrides, f"cache_dir={source_cache}"])
    model = Path(resolve_model_path(OmegaConf.to_container(base.model, resolve=True), Path(source_cache)))
    warmup()
    setup = {k: int(OmegaConf.select(base, v)) for k, v in SETUP.items()}
    setup |= dict(overrides=overrides, selector_overrides=QUICK_SELECTOR if quick else {}, model=model.name)
    out: dict[str, Any] = {
        "setup": {**setup, "projection": base.features.projection.dim or "off", "excluded": EXCLUDED}
    }
    with tempfile.TemporaryDirectory(prefix="rlselect-bench-") as tmp:
        for s in SELECTORS:
            work = Path(tmp) / s
            shutil.copytree(model, work / "cache" / "models" / model.name)
            paths = [f"cache_dir={work / 'cache'}", f"results_dir={work / 'results'}"]
            cfg = compose([*overrides, f"selector={s}", *(QUICK_SELECTOR.get(s, []) if quick else []), *paths])
            with peak_memory() as mem:
                record = run(cfg, work / "run")
            sec = record["cost"]["seconds"]
            total = sec["rollouts"] + sec["selection"]
            out[s] = dict(rollouts_s=sec["rollouts"], selection_s=sec["selection"], total_s=total, train_s=sec["train"])
            out[s] |= dict(ratio_to_train=total / sec["train"], selected=record["selection"]["n"], memory=mem)
            out[s] |= {k: record["cost"][k] for k in ("rollouts_generated", "train_steps")} | {"cost": record["cost"]}
    return out
