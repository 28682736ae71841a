"""`rlselect -m ...` ends with a summary of what became of the sweep's runs (rlselect/sweep.py)."""

from __future__ import annotations

import subprocess
import sys

from rlselect.sweep import summary
from tiny_config import TINY


def test_summary_counts_outcomes_and_names_what_failed():
    outcomes = [
        {"run": "random-static-b4-s0", "status": "finished", "detail": ""},
        {"run": "random-static-b4-s1", "status": "already finished", "detail": ""},
        {"run": "random-static-b99-s0", "status": "failed", "detail": "ValueError: budget=99"},
        {"run": "random-static-b4-s2", "status": "skipped", "detail": "another process is computing it"},
        {"run": "random-static-b4-s3", "status": "interrupted", "detail": "Ctrl-C"},
    ]
    lines = summary(outcomes, "t", "results")
    assert lines[0] == "sweep of 5 runs: 1 finished, 1 already finished, 1 failed, 1 skipped, 1 interrupted"
    assert "  interrupted: random-static-b4-s3: Ctrl-C" in lines
    assert "the same command again resumes the interrupted run, then the sweep's runs not started yet" in lines
    assert "  failed: random-static-b99-s0: ValueError: budget=99" in lines
    assert "  skipped: random-static-b4-s2: another process is computing it" in lines
    assert any(line.startswith("tracebacks: results/t/failures.jsonl") for line in lines)
    assert lines[-1] == "tables: python -m rlselect.report study=t"
    assert summary([], "t", "out")[0] == "sweep of 0 runs: no run reported back"
    assert summary(outcomes[:1], "t", "out")[0] == "sweep of 1 run: 1 finished"


def test_a_sweep_ends_with_its_own_runs_outcomes(tmp_path, shared_cache_dir):
    sweep = [
        *(o for o in TINY if not o.startswith("budget=")),
        "selector=random",
        "budget=4,99",  # 99 > the 16-prompt pool: that run fails, the sweep goes on
        "selection_only=true",
        f"cache_dir={shared_cache_dir}",
        f"results_dir={tmp_path}/results",
        f"hydra.sweep.dir={tmp_path}/runs",
    ]

    def launch() -> str:
        out = subprocess.run(
            [sys.executable, "-m", "rlselect.cli", "-m", *sweep],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout + out.stderr

    first = launch()
    assert "sweep of 2 runs: 1 finished, 1 failed" in first
    assert "failed: random-static-b99-s0: ValueError: budget=99 but the pool has 16 items" in first
    assert f"tracebacks: {tmp_path}/results/t/failures.jsonl" in first
    # the same command again: only this launch's outcomes are counted, not the first one's as well
    second = launch()
    assert "sweep of 2 runs: 1 already finished, 1 failed" in second
