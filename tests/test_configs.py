"""Every config composes: each option of each group, every experiment preset, the Slurm launchers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from rlselect.cli import CONF_DIR

GROUPS = ["model", "data", "selector", "schedule", "rollouts", "features", "trainer", "eval", "logger"]
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((Path(CONF_DIR) / g).glob("*.yaml"))]
EXPERIMENTS = sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


def _compose(*overrides: str, hydra_cfg: bool = False):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra_cfg)


@pytest.mark.parametrize("group, option", OPTIONS)
def test_every_group_option_composes(group, option):
    cfg = _compose(f"{group}={option}")
    assert cfg[group] is not None


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_preset_composes_with_its_sweep(name):
    cfg = _compose(f"experiment={name}", hydra_cfg=True)
    assert cfg.study == name
    from rlselect.plan import sweep_runs

    runs = sweep_runs(cfg)
    assert runs and all("selector" in r for r in runs)
    for run in runs[:3]:  # each run of the sweep composes too
        _compose(f"experiment={name}", *(f"{k}={v}" for k, v in run.items()))


@pytest.mark.parametrize("launcher", ["submitit_slurm", "slurm"])
def test_slurm_launcher_composes(launcher):
    cfg = _compose(f"hydra/launcher={launcher}", "experiment=reproduce_gsm8k", hydra_cfg=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")


def test_expected_presets_exist():
    for name in [
        "demo",
        "demo_noisy",
        "demo_budget",
        "reproduce_gsm8k",
        "reproduce_dapo",
        "gradalign_noisy",
        "gradalign_imbalance",
        "gradalign_low_utility",
        "demo_imbalance",
        "demo_low_utility",
    ]:
        assert name in EXPERIMENTS


def test_reproduce_plan_lists_every_run_and_the_paper_setting():
    from rlselect.plan import describe

    text = describe(["experiment=reproduce_gsm8k"])
    assert "60 runs" in text and "Qwen/Qwen2.5-1.5B-Instruct" in text
    for budget in (100, 500, 1000, 2000):
        assert f"budget={budget}" in text
    assert "lr 1e-06" in text and "beta 0.04" in text


def test_gpu_check_explains_and_fails_without_cuda(capsys):
    import torch

    from rlselect.plan import main

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["--check-gpu", "experiment=reproduce_gsm8k"]) != 0
    err = capsys.readouterr().err
    assert "No CUDA GPU" in err and "make demo" in err
