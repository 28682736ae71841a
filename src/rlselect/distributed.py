"""Runs launched on several processes (`accelerate launch`, torchrun): which stages are data-parallel.

Only GRPO training (the run's training and LearnAlign's warm-up) is data-parallel: every process
runs it, TRL / accelerate / DeepSpeed shard the work. Everything else (rollouts, scoring, selection,
evaluation) runs once, on the main process, in a single-process child (`isolation.Stages` strips
the launcher's variables from its environment); the other processes wait for the main process's
files in the run directory (`<run_dir>/dist/*.json`, `selection.json`) and join each training stage.
The rounds schedule selects inside its training loop and is not data-parallel yet.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

# Set by accelerate / torchrun for each process; a single-process child must not see them.
LAUNCH_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK", "MASTER_ADDR")
LAUNCH_ENV += ("MASTER_PORT", "TORCHELASTIC_RUN_ID", "ACCELERATE_USE_DEEPSPEED", "ACCELERATE_USE_FSDP")


def world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside a multi-process launch."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def single_process_env() -> None:
    """Drop the launcher's variables from this (child) process's environment."""
    for key in LAUNCH_ENV:
        os.environ.pop(key, None)


def announce(run_dir: Path, name: str, payload: dict) -> None:
    """The main process tells the others that `name` is done (an atomic json in <run_dir>/dist/)."""
    from rlselect.cache import atomic_write_json

    atomic_write_json(Path(run_dir) / "dist" / f"{name}.json", payload)


def wait_for(run_dir: Path, name: str, poll_s: float = 5.0, timeout_s: float = 7 * 24 * 3600) -> dict:
    """Block until the main process announces `name`; raise if it recorded a failure first."""
    path, failed = Path(run_dir) / "dist" / f"{name}.json", Path(run_dir) / "failed.json"
    t0 = time.time()
    while not path.exists():
        if failed.exists() and failed.stat().st_mtime >= t0:
            raise RuntimeError(f"the main process failed before {name}: see {failed}")
        if time.time() - t0 > timeout_s:
            raise TimeoutError(f"waited {timeout_s:.0f} s for the main process's {name} ({path})")
        time.sleep(poll_s)
    return json.loads(path.read_text())
