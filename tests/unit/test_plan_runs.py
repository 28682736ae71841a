"""rlselect.plan.run_configs gives each run of a sweep the config Hydra composes for it, while
composing only once per choice of config groups (the shortcut the plan and the config tests use)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

import rlselect.plan
from rlselect.cli import CONF_DIR, compose
from rlselect.plan import fixed_overrides, run_configs

EXPERIMENTS = sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


def _shortcut_and_hydra(overrides: list[str]):
    """(run, run_configs' config, Hydra's own composition of that run) for each run of the sweep."""
    fixed = fixed_overrides(overrides)
    root = compose(fixed, hydra_node=True)
    return [
        (run, cfg, compose([*fixed, *(f"{k}={v}" for k, v in run.items())]))
        for run, cfg in run_configs(root, overrides)
    ]


def _assert_equal(runs) -> None:
    for run, cfg, full in runs:
        assert OmegaConf.to_container(cfg) == OmegaConf.to_container(full), run
        assert OmegaConf.is_struct(cfg) and OmegaConf.is_struct(full)


@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=demo"],  # the preset's own sweep: selector x seed
        # the command line's sweeps of groups and of values, with a fixed value beside them
        [
            "experiment=testbed_imbalance",
            "selector=random,learnalign",
            "seed=3,4",
            "trainer.args.beta=0.0,0.1",
            "budget=16",
        ],
        ["experiment=demo", "selector=random", "seed=0,1", "++trainer.args.warmup_steps=2,3"],  # composed in full
    ],
)
def test_each_run_gets_the_config_hydra_composes_for_it(overrides):
    runs = _shortcut_and_hydra(overrides)
    assert len({json.dumps(OmegaConf.to_container(cfg), sort_keys=True) for _, cfg, _ in runs}) == len(runs) > 1
    _assert_equal(runs)


def test_a_value_under_a_swept_dict_is_set_in_the_order_hydra_sets_it():
    """`a.b=x` then `++a={b: y}`: the dict, merged after, wins (in Hydra's composition and here)."""
    overrides = ["experiment=demo", "selector=random", "seed=0", "trainer.args.learning_rate=0.1,0.2"]
    runs = _shortcut_and_hydra([*overrides, "++trainer.args={learning_rate:0.5},{learning_rate:0.6}"])
    assert [cfg.trainer.args.learning_rate for _, cfg, _ in runs] == [0.5, 0.6, 0.5, 0.6]
    _assert_equal(runs)


def test_runs_that_differ_only_in_plain_values_share_one_composition(monkeypatch):
    """reproduce_gsm8k's 60 runs (selectors x budgets x seeds): one composition per selector."""
    composed = []
    monkeypatch.setattr(
        rlselect.plan, "compose", lambda overrides, **kw: composed.append(overrides) or compose(overrides, **kw)
    )
    overrides = ["experiment=reproduce_gsm8k"]
    runs = list(run_configs(compose(overrides, hydra_node=True), overrides))
    selectors = {run["selector"] for run, _ in runs}
    assert len(runs) == 60 and len(composed) == len(selectors) < 10
    assert sorted(
        (cfg.selector.name, cfg.budget, cfg.seed) for _, cfg in runs if cfg.selector.name == "learnalign"
    ) == sorted(("learnalign", b, s) for b in (100, 500, 1000, 2000) for s in (0, 1, 2))
    a, b = (cfg for _, cfg in runs[:2])
    assert a.trainer is not b.trainer  # a copy each: setting one run's value changes no other run


def test_a_value_hydra_cannot_set_gets_hydras_own_error():
    overrides = ["experiment=demo", "selector=random", "seed=0,1", "no_such_key=1,2"]
    with pytest.raises(ConfigCompositionException, match="Could not override 'no_such_key'"):
        list(run_configs(compose(fixed_overrides(overrides), hydra_node=True), overrides))


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_run_of_every_preset_equals_hydras_composition(name):
    """All 19 presets, every run: about 80 s of compositions here, hence slow (make test-all)."""
    _assert_equal(_shortcut_and_hydra([f"experiment={name}"]))
