"""Selection studies (selection_only runs: no metrics) get a share table with 95% CIs, bars and claims."""

from __future__ import annotations

import json
import re

from rlselect.report.build import build_study


def _run(selector: str, seed: int, share: float) -> dict:
    return {
        "study": "s",
        "selector": selector,
        "schedule": "static",
        "budget": 64,
        "seed": seed,
        "data": "digits",
        "regime": "noisy_reward",
        "regime_params": {"noisy_fraction": 0.5},
        "metrics": {},
        "base_metrics": {},
        "selection_only": True,
        "selection": {"n": 64, "corrupted_share": share, "mean_success_rate": 0.4, "diagnostics": {"ranking_auc": 0.7}},
        "cost": {},
    }


def test_selection_study_tables_and_bars(tmp_path):
    study = tmp_path / "results" / "s"
    study.mkdir(parents=True)
    shares = {"random": [0.5, 0.55, 0.45], "acc_greedy": [0.8, 0.75, 0.7], "gradalign": [0.2, 0.25, 0.3]}
    lines = [json.dumps(_run(sel, k, v)) for sel, vs in shares.items() for k, v in enumerate(vs)]
    (study / "runs.jsonl").write_text("\n".join(lines) + "\n")
    files = build_study(study)
    md = (study / "tables.md").read_text()
    # mean 25.0, std 5.0, n = 3: half-width t(0.975, 2) * 5 / sqrt(3) = 4.303 * 2.887 = 12.4
    assert re.search(r"\| gradalign\s+\|\s+3 \|\s+25\.0 ± 12\.4 \|", md)
    assert "the pool's own share: 50%" in md and "GradAlign keeps the corrupted share" in md
    bars = study / "corrupted_share_bars.png"
    assert bars in files and bars.stat().st_size > 10_000
