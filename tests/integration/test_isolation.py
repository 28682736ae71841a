"""GPU-heavy stages in child processes give the in-process results; a failing run of a sweep is
recorded and the sweep goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from rlselect.models import resolve_model_path
from rlselect.pipeline import run
from tiny_config import TINY, compose_tiny


@pytest.fixture(scope="module")
def warm_model(shared_cache_dir, tmp_path_factory):
    """The warm-started tiny model as a plain checkpoint path (model.name=<path>), so that each run
    below can use a fresh stage cache and really compute every stage."""
    cfg = compose_tiny(shared_cache_dir, tmp_path_factory.mktemp("r"))
    return resolve_model_path(OmegaConf.to_container(cfg.model, resolve=True), shared_cache_dir)


def test_child_process_stages_equal_in_process(tmp_path, warm_model):
    records = {}
    for isolate in ("false", "true"):
        cfg = compose_tiny(
            tmp_path / f"cache-{isolate}",
            tmp_path / "results",
            f"model.name={warm_model}",
            "selector=accuracy_band",
            f"isolate_stages={isolate}",
        )
        records[isolate] = run(cfg, tmp_path / f"run-{isolate}")
    inproc, child = records["false"], records["true"]
    stages = {"rollouts", "selection_inputs", "train", "eval_base", "eval_trained"}
    assert set(inproc["cost"]["stage_pids"]) == set(child["cost"]["stage_pids"]) == stages
    assert set(inproc["cost"]["stage_pids"].values()) == {os.getpid()}
    child_pids = list(child["cost"]["stage_pids"].values())
    assert os.getpid() not in child_pids and len(set(child_pids)) == len(stages)  # a fresh process each
    assert child["metrics"] == inproc["metrics"] and child["base_metrics"] == inproc["base_metrics"]
    assert child["selection"] == inproc["selection"]
    ids = [json.loads((tmp_path / f"run-{i}" / "selection.json").read_text())["ids"] for i in ("false", "true")]
    assert ids[0] == ids[1]
    assert child["cost"]["train_steps"] == inproc["cost"]["train_steps"]


def test_a_failing_run_does_not_stop_the_sweep(tmp_path, warm_model, shared_cache_dir):
    results = tmp_path / "results"
    cmd = [
        sys.executable,
        "-m",
        "rlselect.cli",
        "-m",
        *TINY,
        f"model.name={warm_model}",
        f"cache_dir={shared_cache_dir}",
        f"results_dir={results}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        "selector=accuracy_band",
        "budget=9999,4",  # budget 9999 > the 16-item pool: the sweep's first run fails at validation
        "isolate_stages=true",  # each GPU-heavy stage of the sweep's runs in its own child process
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    done = [json.loads(line) for line in (results / "t" / "runs.jsonl").read_text().splitlines()]
    failed = [json.loads(line) for line in (results / "t" / "failures.jsonl").read_text().splitlines()]
    assert [(r["selector"], r["budget"]) for r in done] == [("accuracy_band", 4)]  # the run after the failure
    assert [(f["selector"], f["budget"]) for f in failed] == [("accuracy_band", 9999)]
    assert all("budget=9999" in f["error"] for f in failed)
    for r in done:  # rollouts, selection inputs, training and both evaluations: five distinct child pids
        assert len(r["cost"]["stage_pids"]) == 5 and len(set(r["cost"]["stage_pids"].values())) == 5
    for f in failed:
        assert json.loads((tmp_path / "sweep" / f["run_dir"].split("/")[-1] / "failed.json").read_text())["error"]
