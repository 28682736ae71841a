"""Benchmark 3: what selection costs in the demo, against what the demo's GRPO training costs.

Each selector runs the whole pipeline once (`rlselect.pipeline.run`, `experiment=demo`: 512-prompt
arith pool, G = 8, budget 64, 60 GRPO steps) in a fresh stage cache, so every stage does its work;
the numbers are the run's own cost record `cost.seconds`: rollouts (the pool at the starting
policy), selection (learnalign: warm-up GRPO, rollouts at the warm-up policy, features, scoring;
gradalign, one static round: validation rollouts, features, validation gradient, scoring), train.
overhead = (rollouts + selection) / train. Outside every clock (not selection cost): the warm
start (found or trained in the source cache, copied into each fresh cache), one-off imports and
the verifier worker's start.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from rlselect.bench.core import peak_memory

DEMO = ["experiment=demo", "logger=none", "study=bench"]
SELECTORS = ("learnalign", "gradalign")
# --quick (tests): the demo shrunk to seconds; its warm start is the tests' (tests/tiny_config.py).
QUICK = [
    "model.warm_start.max_steps=150",
    "data.pool_size=16",
    "data.val_size=16",
    "budget=4",
    "rollouts.G=8",
    "rollouts.max_new_tokens=24",
    "features.val_G=8",
    "trainer.max_steps=1",
    "trainer.args.per_device_train_batch_size=8",
    "trainer.args.num_generations=4",
    "trainer.args.max_completion_length=24",
    "trainer.args.save_steps=1",
    "eval.limit=6",
    "eval.max_gen_toks=24",
]
QUICK_SELECTOR = {"learnalign": ["selector.warmup.size=8", "selector.warmup.steps=1"]}
SETUP = {
    "pool": "data.pool_size",
    "val": "data.val_size",
    "G": "rollouts.G",
    "val_G": "features.val_G",
    "budget": "budget",
    "max_new_tokens": "rollouts.max_new_tokens",
    "batch_size": "features.batch_size",
}


def compose_config(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from rlselect.cli import CONF_DIR

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def bench_selection(*, quick: bool = False, source_cache: str | Path = ".cache/rlselect") -> dict:
    """Per selector: its run's cost record and rollouts_s, selection_s, total_s = their sum,
    train_s, ratio_to_train = total_s / train_s, and the run's peak memory."""
    import trl  # noqa: F401  (one-off import: not a selection cost)
    from omegaconf import OmegaConf

    from rlselect.models import resolve_model_path
    from rlselect.pipeline import run
    from rlselect.rewards import warmup

    overrides = [*DEMO, *(QUICK if quick else [])]
    base = compose_config([*overrides, f"cache_dir={source_cache}"])
    model = Path(resolve_model_path(OmegaConf.to_container(base.model, resolve=True), Path(source_cache)))
    warmup()
    out: dict[str, Any] = {
        "setup": {
            "overrides": overrides,
            "selector_overrides": QUICK_SELECTOR if quick else {},
            "model": model.name,
            **{k: int(OmegaConf.select(base, v)) for k, v in SETUP.items()},
            "projection": base.features.projection.dim,
            "excluded": [
                "warm start of the tiny model (copied from the source cache)",
                "imports of trl/transformers and the verifier worker's start",
            ],
        }
    }
    with tempfile.TemporaryDirectory(prefix="rlselect-bench-") as tmp:
        for s in SELECTORS:
            work = Path(tmp) / s
            shutil.copytree(model, work / "cache" / "models" / model.name)
            cfg = compose_config(
                [
                    *overrides,
                    f"selector={s}",
                    *(QUICK_SELECTOR.get(s, []) if quick else []),
                    f"cache_dir={work / 'cache'}",
                    f"results_dir={work / 'results'}",
                ]
            )
            with peak_memory() as mem:
                record = run(cfg, work / "run")
            sec = record["cost"]["seconds"]
            total = sec["rollouts"] + sec["selection"]
            out[s] = {
                "rollouts_s": sec["rollouts"],
                "selection_s": sec["selection"],
                "total_s": total,
                "train_s": sec["train"],
                "ratio_to_train": total / sec["train"],
                "train_steps": record["cost"]["train_steps"],
                "rollouts_generated": record["cost"]["rollouts_generated"],
                "selected": record["selection"]["n"],
                "summary": record["selection"],
                "cost": record["cost"],
                "memory": mem,
            }
    return out
