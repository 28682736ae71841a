"""Every registered selector runs in the pipeline, in both schedules, on tiny settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from rlselect.cli import CONF_DIR
from rlselect.selectors import SELECTORS

CONF_SELECTORS = sorted(p.stem for p in (Path(CONF_DIR) / "selector").glob("*.yaml"))

TINY = [
    "model.warm_start.max_steps=3",
    "data.pool_size=16",
    "data.val_size=6",
    "budget=4",
    "trainer.max_steps=1",
    "trainer.args.per_device_train_batch_size=8",
    "trainer.args.num_generations=4",
    "trainer.args.max_completion_length=8",
    "rollouts.G=4",
    "rollouts.max_new_tokens=8",
    "features.val_G=4",
    "features.projection.dim=64",
    "eval.limit=3",
    "eval.max_gen_toks=8",
    "logger=none",
    "study=t",
]


def compose_cfg(tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=[
            *TINY, f"cache_dir={tmp_path.parent / 'shared_cache'}", f"results_dir={tmp_path / 'results'}", *overrides])


def tiny_selector_overrides(name: str) -> list[str]:
    extra = []
    if name.startswith("learnalign"):
        extra += ["selector.warmup.size=8", "selector.warmup.steps=1"]
    if name == "limr":
        extra += ["selector.limr_epochs=2"]
    return extra


def test_every_registered_selector_has_a_yaml_and_every_yaml_a_selector():
    assert sorted(SELECTORS) == CONF_SELECTORS


@pytest.mark.parametrize("name", CONF_SELECTORS)
def test_selector_selects_in_the_static_schedule(tmp_path, name):
    from rlselect.pipeline import static_selection

    cfg = compose_cfg(tmp_path, f"selector={name}", *tiny_selector_overrides(name))
    ranked, summary = static_selection(cfg)
    expected = 16 if name == "full" else 4
    assert len(ranked) == expected and len(set(ranked)) == expected
    assert summary["n"] == expected and 0.0 <= summary["mean_success_rate"] <= 1.0


@pytest.mark.parametrize("name", ["random", "acc_greedy", "learnalign", "gradalign"])
def test_selector_runs_end_to_end_in_the_rounds_schedule(tmp_path, name):
    from rlselect.pipeline import run

    cfg = compose_cfg(tmp_path, f"selector={name}", "schedule=rounds", "schedule.chunk_size=8",
                      "schedule.keep_fraction=0.5", "schedule.steps_per_round=1", "schedule.rounds=3",
                      "schedule.k_r=4", "schedule.k_v=4", *tiny_selector_overrides(name))
    record = run(cfg, tmp_path / "run")
    rounds = record["selection"]["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]  # re-selected 3 times inside one trainer
    assert all(r["n"] == 4 and 0.0 <= r["mean_success_rate"] <= 1.0 for r in rounds)
    files = sorted((tmp_path / "run" / "rounds").glob("round_*.json"))
    chunks = [set(json.loads(f.read_text())["ids"]) for f in files]
    assert len(files) == 3 and chunks[0] != chunks[1]  # each round scored a fresh chunk


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["static", "rounds"])
@pytest.mark.parametrize("name", CONF_SELECTORS)
def test_every_selector_runs_end_to_end(tmp_path, name, schedule):
    from rlselect.pipeline import run

    extra = ["schedule.chunk_size=8", "schedule.keep_fraction=0.5", "schedule.steps_per_round=1",
             "schedule.rounds=2", "schedule.k_r=4", "schedule.k_v=4"] if schedule == "rounds" else []
    cfg = compose_cfg(tmp_path, f"selector={name}", f"schedule={schedule}", *extra, *tiny_selector_overrides(name))
    record = run(cfg, tmp_path / "run")
    assert record["selector"] == name and record["schedule"] == schedule
    assert record["metrics"]["arith"]["n_problems"] == 3
