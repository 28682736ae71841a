"""A run killed with SIGKILL during rollouts, features or training resumes and ends exactly like
an uninterrupted run (same selected ids, same final metrics)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlselect.train.grpo import TrainingClock, last_complete_checkpoint
from tiny_config import TINY

REPO = Path(__file__).resolve().parents[2]


def cli(cache: Path, run_dir: Path, results: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rlselect.cli",
        *TINY,
        f"cache_dir={cache}",
        f"results_dir={results}",
        f"hydra.run.dir={run_dir}",
        *overrides,
    ]


def env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


# The run to be killed, with one change: once it has written its `count`-th file named like `pattern`
# (through rlselect.cache's atomic writes), it writes `marker` and waits there. The test's signal then always
# lands at that point, however loaded the machine (polling for the file from outside could see it late,
# after the run had gone on, or finished: a Ctrl-C once arrived after the run's end and changed nothing).
# It also takes SIGINT as a terminal's Ctrl-C does: a process started in the background of a non-interactive
# shell (`bash -c "make test" &`) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
PAUSED_CLI = """
import fnmatch, pathlib, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import rlselect.cache as cache
pattern, count, marker = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
del sys.argv[1:4]
written, atomic = [], cache._atomic
def write_then_pause(path, write):
    atomic(path, write)
    if fnmatch.fnmatch(pathlib.Path(path).name, pattern):
        written.append(path)
        if len(written) == count:
            marker.write_text(str(path))
            while True:
                time.sleep(0.05)
cache._atomic = write_then_pause
from rlselect.cli import main
main()
"""


def kill_when(cmd: list[str], pause: tuple[str, int], marker: Path, sig=signal.SIGKILL, log=None) -> int:
    """Run `cmd` (a `cli(...)` command) paused after its `pause` = (pattern, count) file, send it `sig`
    there, and return its exit status; fail if it finished without reaching that point."""
    assert cmd[1:3] == ["-m", "rlselect.cli"]
    out = subprocess.DEVNULL if log is None else log
    paused = [cmd[0], "-c", PAUSED_CLI, pause[0], str(pause[1]), str(marker), *cmd[3:]]
    proc = subprocess.Popen(paused, cwd=REPO, env=env(), stdout=out, stderr=out)
    deadline = time.time() + 600  # a hang guard, not a speed check
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (status {proc.returncode}) before writing {pause[1]} x {pause[0]}")
        if time.time() > deadline:
            proc.kill()
            pytest.fail("the kill point never came")
        time.sleep(0.02)
    proc.send_signal(sig)
    return proc.wait(timeout=300)


def finish(cmd: list[str]) -> None:
    subprocess.run(cmd, cwd=REPO, env=env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def fresh_cache(shared: Path, tmp: Path) -> Path:
    """A cache holding only the session's warm-started model: every later stage is recomputed."""
    cache = tmp / "cache"
    if (shared / "models").exists():
        shutil.copytree(shared / "models", cache / "models")
    return cache


def outcome(run_dir: Path) -> tuple[list[str], dict]:
    result = json.loads((run_dir / "result.json").read_text())
    return json.loads((run_dir / "selection.json").read_text())["ids"], result["metrics"]


CASES = {
    # stage: (extra overrides, kill point: after the count-th file written with this name)
    "rollouts": (["data.pool_size=48", "rollouts.shard_size=4"], ("shard_*.json", 2)),
    "features": (["selector=grad_norm", "features.shard_size=2", "features.batch_size=2"], ("shard_*.pt", 2)),
    # a whole checkpoint: its clock file is the last thing written into it
    "training": (["trainer.max_steps=4", "trainer.args.save_steps=1"], (TrainingClock.ELAPSED, 1)),
}


@pytest.fixture(scope="module")
def warm_model(shared_cache_dir, tmp_path_factory):
    """Warm-start the session's tiny model once (in-process) so the subprocesses only copy it."""
    from rlselect.models import resolve_model_path
    from tiny_config import compose_tiny

    cfg = compose_tiny(shared_cache_dir, tmp_path_factory.mktemp("r"))
    from omegaconf import OmegaConf

    resolve_model_path(OmegaConf.to_container(cfg.model, resolve=True), shared_cache_dir)
    return shared_cache_dir


@pytest.mark.parametrize("stage", sorted(CASES))
def test_killed_run_resumes_to_the_same_result(tmp_path, warm_model, stage):
    extra, pause = CASES[stage]
    cache_a = fresh_cache(warm_model, tmp_path / "a")
    run_a = tmp_path / "a" / "run"
    cmd_a = cli(cache_a, run_a, tmp_path / "a" / "results", *extra)
    kill_when(cmd_a, pause, tmp_path / "paused")
    assert not (run_a / "result.json").exists()
    if stage == "training":  # what the killed attempt took up to the checkpoint the rerun resumes from
        elapsed = Path(str(last_complete_checkpoint(run_a / "train" / "trainer"))) / TrainingClock.ELAPSED
        # (killed between a newer checkpoint's trainer_state.json and its clock, it is resumed from with 0 s)
        before = json.loads(elapsed.read_text())["seconds"] if elapsed.exists() else 0.0
    finish(cmd_a)  # the rerun resumes from what the killed run left
    if stage == "training":  # charged its whole training, the killed attempt's seconds included
        summary = json.loads((run_a / "train" / "final" / "train_summary.json").read_text())
        cost = json.loads((run_a / "result.json").read_text())["cost"]["seconds"]
        assert summary["resumed_seconds"] == before and (before > 0 or not elapsed.exists())
        assert summary["seconds"] > before and cost["train"] > before

    cache_b = fresh_cache(warm_model, tmp_path / "b")
    run_b = tmp_path / "b" / "run"
    finish(cli(cache_b, run_b, tmp_path / "b" / "results", *extra))  # uninterrupted

    ids_a, metrics_a = outcome(run_a)
    ids_b, metrics_b = outcome(run_b)
    assert ids_a == ids_b
    assert metrics_a == metrics_b


def test_ctrl_c_stops_a_run_with_one_line_and_the_same_command_resumes_it(tmp_path, warm_model):
    """SIGINT (Ctrl-C) during training: exit status 130 and one line saying what is kept, not the
    traceback of wherever the run was; the same command then finishes the run from its checkpoint."""
    extra, pause = CASES["training"]
    cache, run_dir = fresh_cache(warm_model, tmp_path), tmp_path / "run"
    cmd = cli(cache, run_dir, tmp_path / "results", *extra)
    with open(tmp_path / "console.log", "w") as log:
        status = kill_when(cmd, pause, tmp_path / "paused", sig=signal.SIGINT, log=log)
    console = (tmp_path / "console.log").read_text()
    assert status == 130, console[-3000:]
    assert "interrupted: run run stopped; its cached stages and checkpoints are kept" in console
    assert "Traceback" not in console and "KeyboardInterrupt" not in console
    finish(cmd)
    assert (run_dir / "result.json").exists()
