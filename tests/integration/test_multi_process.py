"""A two-process launch (torchrun, CPU, gloo): only GRPO runs on both processes; rollouts, selection
and evaluation run once, on the main process, and the other process follows its files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from rlselect.models import resolve_model_path
from tiny_config import TINY, compose_tiny


@pytest.mark.slow
def test_two_processes_share_training_and_nothing_else(tmp_path, shared_cache_dir):
    cfg = compose_tiny(shared_cache_dir, tmp_path / "r")
    model = resolve_model_path(OmegaConf.to_container(cfg.model, resolve=True), shared_cache_dir)
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists() and not shutil.which("torchrun"):
        pytest.skip("torchrun not installed")
    cmd = [str(torchrun if torchrun.exists() else "torchrun"), "--nproc_per_node", "2", "-m", "rlselect.cli"]
    cmd += [*TINY, f"model.name={model}", "selector=accuracy_band", "trainer.max_steps=2"]
    cmd += ["trainer.args.per_device_train_batch_size=4", f"cache_dir={tmp_path / 'cache'}"]
    cmd += [f"results_dir={tmp_path / 'results'}", f"hydra.run.dir={tmp_path / 'run'}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert log.count("rollouts: 16 prompts") == 1  # the main process alone rolled out the pool
    assert log.count("trained run: 2 GRPO steps") == 2  # both processes trained
    assert "process 1: training done" in log
    record = json.loads((tmp_path / "results" / "t" / "runs.jsonl").read_text().splitlines()[-1])
    assert record["cost"]["train_steps"] == 2
    pids = record["cost"]["stage_pids"]
    assert len(set(pids.values())) == len(pids)  # every stage in its own child process
    assert {p.name for p in (tmp_path / "run" / "dist").iterdir()} == {"prepared.json", "selection.json"}
