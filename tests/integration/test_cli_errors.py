"""A run the CLI refuses before any work (a bad key, row or budget) prints one line, not a traceback."""

from __future__ import annotations

import subprocess
import sys

from tiny_config import TINY


def _cli(tmp_path, *overrides: str) -> subprocess.CompletedProcess:
    args = [*(o for o in TINY if not o.startswith("budget=")), *overrides, f"results_dir={tmp_path}/results"]
    args += [f"cache_dir={tmp_path}/cache", f"hydra.run.dir={tmp_path}/run"]
    return subprocess.run(
        [sys.executable, "-m", "rlselect.cli", *args], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )


def test_a_refused_run_prints_its_error_alone_and_exits_2(tmp_path):
    out = _cli(tmp_path, "budget=99")  # the tiny pool has 16 prompts
    assert out.returncode == 2, out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert "error: budget=99 but the pool has 16 items (data.pool_size); choose 1 <= budget <= 16" in text
    assert "Traceback" not in text and "HYDRA_FULL_ERROR" not in text
    assert not (tmp_path / "cache").exists()  # refused before any stage


def test_verbose_keeps_the_traceback(tmp_path):
    out = _cli(tmp_path, "budget=99", "verbose=true")
    assert out.returncode == 1
    assert "Traceback" in out.stderr and "ValueError: budget=99" in out.stderr
