"""Every registered selector runs in the pipeline, in both schedules, on tiny settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlselect.cli import CONF_DIR
from rlselect.selectors import SELECTORS
from tiny_config import compose_tiny

CONF_SELECTORS = sorted(p.stem for p in (Path(CONF_DIR) / "selector").glob("*.yaml"))


@pytest.fixture
def compose_cfg(shared_cache_dir, tmp_path):
    return lambda *overrides: compose_tiny(shared_cache_dir, tmp_path / "results", *overrides)


def tiny_selector_overrides(name: str) -> list[str]:
    extra = []
    if name.startswith("learnalign"):
        extra += ["selector.warmup.size=8", "selector.warmup.steps=1"]
    if name == "limr":
        extra += ["selector.limr_epochs=2"]
    return extra


def test_every_registered_selector_has_a_yaml_and_every_yaml_a_selector():
    import yaml

    named = {
        stem: yaml.safe_load((Path(CONF_DIR) / "selector" / f"{stem}.yaml").read_text())["name"]
        for stem in CONF_SELECTORS
    }
    assert set(SELECTORS) <= set(CONF_SELECTORS)  # each selector has a YAML of its own name...
    assert set(named.values()) == set(SELECTORS)  # ...and every YAML (presets such as plain_grpo) names one


@pytest.mark.parametrize("name", CONF_SELECTORS)
def test_selector_selects_in_the_static_schedule(tmp_path, compose_cfg, name):
    from rlselect.pipeline import static_selection

    cfg = compose_cfg(f"selector={name}", *tiny_selector_overrides(name))
    ranked, summary = static_selection(cfg)
    expected = 16 if cfg.selector.name == "full" else 4  # plain_grpo is `full` too
    assert len(ranked) == expected and len(set(ranked)) == expected
    assert summary["n"] == expected and 0.0 <= summary["mean_success_rate"] <= 1.0


@pytest.mark.parametrize("name", ["random", "acc_greedy", "learnalign", "gradalign", "ifd"])
def test_selector_runs_end_to_end_in_the_rounds_schedule(tmp_path, compose_cfg, name):
    from rlselect.pipeline import run

    cfg = compose_cfg(
        f"selector={name}",
        "schedule=rounds",
        "schedule.chunk_size=8",
        "schedule.keep_fraction=0.5",
        "schedule.steps_per_round=1",
        "schedule.rounds=3",
        "schedule.k_r=4",
        "schedule.k_v=4",
        *tiny_selector_overrides(name),
    )
    record = run(cfg, tmp_path / "run")
    rounds = record["selection"]["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]  # re-selected 3 times inside one trainer
    assert all(r["n"] == 4 for r in rounds)
    if name in ("random", "ifd"):  # read no rollouts, so their rounds sample none (train/schedule.py)
        assert all(r["rollouts_generated"] == 0 and r["mean_success_rate"] is None for r in rounds)
    else:
        assert all(r["rollouts_generated"] == 8 * 4 and 0.0 <= r["mean_success_rate"] <= 1.0 for r in rounds)
    files = sorted((tmp_path / "run" / "rounds").glob("round_*.json"))
    chunks = [set(json.loads(f.read_text())["ids"]) for f in files]
    assert len(files) == 3 and chunks[0] != chunks[1]  # each round scored a fresh chunk


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["static", "rounds"])
@pytest.mark.parametrize("name", CONF_SELECTORS)
def test_every_selector_runs_end_to_end(tmp_path, compose_cfg, name, schedule):
    from rlselect.pipeline import run

    extra = (
        [
            "schedule.chunk_size=8",
            "schedule.keep_fraction=0.5",
            "schedule.steps_per_round=1",
            "schedule.rounds=2",
            "schedule.k_r=4",
            "schedule.k_v=4",
        ]
        if schedule == "rounds"
        else []
    )
    cfg = compose_cfg(f"selector={name}", f"schedule={schedule}", *extra, *tiny_selector_overrides(name))
    if cfg.selector.name == "full" and schedule == "rounds":  # refused before any stage (config_checks)
        with pytest.raises(ValueError, match="selector=full with schedule=rounds would keep"):
            run(cfg, tmp_path / "run")
        return
    record = run(cfg, tmp_path / "run")
    # the record names the selector that ran (gradalign_dot is gradalign with variant dot, plain_grpo is full)
    assert record["selector"] == cfg.selector.name and record["schedule"] == schedule
    assert record["metrics"]["arith"]["n_problems"] == 6
