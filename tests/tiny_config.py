"""Composing the real Hydra configs with tiny settings, for tests that run the pipeline."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir

from rlselect.cli import CONF_DIR

# Enough SFT for the tiny model to solve some easy problems (so groups have mixed rewards and the
# validation gradient is non-zero); trained once per session in the shared cache.
TINY = [
    "model.warm_start.max_steps=150",
    "data.pool_size=16",
    "data.val_size=16",
    "budget=4",
    "trainer.max_steps=1",
    "trainer.args.per_device_train_batch_size=8",
    "trainer.args.num_generations=4",
    "trainer.args.max_completion_length=24",
    "trainer.args.save_steps=1",
    "rollouts.G=8",
    "rollouts.max_new_tokens=24",
    "features.val_G=8",
    "features.projection.dim=64",
    "eval.limit=6",
    "eval.max_gen_toks=24",
    "logger=none",
    "study=t",
]


def compose_tiny(cache_dir: Path, results_dir: Path, *overrides: str):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(
            config_name="config", overrides=[*TINY, f"cache_dir={cache_dir}", f"results_dir={results_dir}", *overrides]
        )
