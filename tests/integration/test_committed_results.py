"""Committed numbers reproduce from the current code, from an empty stage cache (slow: warm starts).

A file under results/ is a measurement of this code. The arith diagnostics were once committed from a
development cache and did not reproduce (experiments/testbed_search.md, "The arith numbers"); these
tests rerun one result of each kind and compare it with the committed file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def numbers(d: dict) -> dict:
    return {k: v for k, v in d.items() if isinstance(v, (int, float)) and k != "seconds"}


def test_the_arith_premise_diagnostics_reproduce(tmp_path):
    from rlselect.diagnose import compose_config, run_diagnose

    committed = json.loads((ROOT / "results" / "testbed" / "arith.json").read_text())
    cfg = compose_config(["experiment=demo_noisy", "diagnose.testbed=arith", f"cache_dir={tmp_path}"])
    fresh = run_diagnose(cfg)
    assert fresh["criteria"] == committed["criteria"]
    assert numbers(fresh) == pytest.approx(numbers(committed), rel=1e-4, abs=1e-6)
    assert len(numbers(committed)) > 20  # the comparison covers the diagnostics, not a stray field


def test_a_testbed_selection_run_reproduces_its_committed_record(tmp_path):
    from rlselect.cli import compose
    from rlselect.pipeline import run

    study = "testbed_noisy_selection"
    lines = (ROOT / "results" / study / "runs.jsonl").read_text().splitlines()
    committed = [r for r in map(json.loads, lines) if r["selector"] == "gradalign" and r["seed"] == 0][-1]
    cfg = compose(
        [
            f"experiment={study}",
            "selector=gradalign",
            "seed=0",
            "logger=none",
            f"cache_dir={tmp_path / 'cache'}",
            f"results_dir={tmp_path / 'results'}",
        ]
    )
    fresh = run(cfg, tmp_path / "run")["selection"]
    old = committed["selection"]
    assert (fresh["n"], fresh["corrupted_share"]) == (old["n"], old["corrupted_share"])
    assert fresh["mean_success_rate"] == pytest.approx(old["mean_success_rate"])
    assert fresh["diagnostics"] == pytest.approx(old["diagnostics"])
