"""The end of a sweep (`rlselect -m ...`): one summary of what became of its runs.

Each run of a sweep notes its outcome in `<hydra.sweep.dir>/sweep_outcomes.jsonl`, tagged with the sweep's
id, which the launching process puts in the environment before any job starts (the basic launcher runs the
jobs in that process; submitit's local jobs inherit its environment, and Slurm's do under sbatch's default
--export=ALL; checked here with the basic and the submitit_local launchers only). When every job has
returned, `SweepSummary` (a Hydra callback, conf/config.yaml) counts this sweep's outcomes and says where the
failures and the tables are. The sweep's runs may be spread over machines; the file is on the shared
filesystem the run directories are on.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rlselect.cache import append_jsonl, read_jsonl_objects

log = logging.getLogger(__name__)

OUTCOMES = "sweep_outcomes.jsonl"
ENV = "RLSELECT_SWEEP_ID"
# What became of a run: trained and evaluated (or selected, for selection_only), found finished, failed,
# skipped because another process was computing it, or stopped by Ctrl-C (which ends the sweep).
STATUSES = ("finished", "already finished", "failed", "skipped", "interrupted")


def note_outcome(sweep_dir: str | Path, run_dir: str | Path, status: str, detail: str = "") -> None:
    """Called by each run of a sweep (cli.main); a no-op outside one started by this module's callback."""
    if sweep_id := os.environ.get(ENV):
        line = {"sweep": sweep_id, "run": Path(run_dir).name, "status": status, "detail": detail}
        append_jsonl(Path(sweep_dir) / OUTCOMES, line)


def summary(outcomes: list[dict], study: str, results_dir: str) -> list[str]:
    """The summary's lines for one sweep's outcomes."""
    counts = Counter(o["status"] for o in outcomes)
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    lines = [f"sweep of {len(outcomes)} run{'s' * (len(outcomes) != 1)}: {', '.join(parts) or 'no run reported back'}"]
    for o in outcomes:
        if o["status"] in ("failed", "skipped", "interrupted"):
            lines.append(f"  {o['status']}: {o['run']}: {o['detail']}")
    if counts["failed"]:
        lines.append(
            f"tracebacks: {results_dir}/{study}/failures.jsonl (the same command again redoes only the runs not finished)"
        )
    if counts["interrupted"]:
        lines.append("the same command again resumes the interrupted run, then the sweep's runs not started yet")
    if counts["finished"] or counts["already finished"]:
        where = "" if results_dir == "results" else f" results_dir={results_dir}"
        lines.append(f"tables: python -m rlselect.report study={study}{where}")
    return lines


class SweepSummary(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        os.environ[ENV] = uuid.uuid4().hex

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        log_summary(config.hydra.sweep.dir, str(config.study), str(config.results_dir))
        os.environ.pop(ENV, None)


def log_summary(sweep_dir: str | Path, study: str, results_dir: str) -> None:
    """The summary of this sweep's outcomes so far (at its end, or when Ctrl-C stops it)."""
    sweep_id = os.environ.get(ENV)
    outcomes = [o for o in read_jsonl_objects(Path(sweep_dir) / OUTCOMES) if o.get("sweep") == sweep_id]
    for line in summary(outcomes, study, results_dir):
        log.info("%s", line)
