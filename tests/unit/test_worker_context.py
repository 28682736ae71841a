"""The verifier's workers do not re-run the caller's main script (rewards/worker_context.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from multiprocessing import spawn

# A notebook-style script with no `if __name__ == "__main__":` guard. Its body must run once: a spawned
# verifier worker that re-ran it would print the marker again and, while busy, leave the parent's request
# to time out (a correct answer scored 0.0).
SCRIPT = """
import os
print("body ran in", os.getpid(), flush=True)
from rlselect.rewards import math_reward, verifier_pids
print("reward", math_reward(r"\\boxed{\\sqrt{2}/2}", r"\\frac{\\sqrt2}{2}", timeout=5.0), flush=True)
print("workers", len(verifier_pids()), flush=True)
"""


def test_an_unguarded_script_runs_once_and_its_verifier_workers_answer(tmp_path):
    script = tmp_path / "score.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "RLSELECT_VERIFY_WORKERS": "2", "RLSELECT_VERIFY_MODE": "process"}
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert sum(line.startswith("body ran in") for line in lines) == 1, out.stdout
    assert "reward 1.0" in lines, out.stdout
    assert "workers 2" in lines, out.stdout  # answered by the worker processes, not inline


def test_other_spawned_processes_still_re_import_main():
    from rlselect.rewards import worker_context

    assert spawn.get_preparation_data is not worker_context._original_preparation_data  # wrapped
    assert spawn.get_preparation_data("any") == worker_context._original_preparation_data("any")
