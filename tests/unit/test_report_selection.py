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
    assert "| gradalign" in (study / "table.md").read_text()  # the study's main table (it held the title alone)


def test_a_selection_study_on_a_clean_pool_gets_its_success_rate_table(tmp_path):
    """No regime, no share: the table had nothing to show, and table.md and tables.md held a title alone."""
    study = tmp_path / "results" / "s"
    study.mkdir(parents=True)
    runs = []
    for selector, rates in {"random": [0.3, 0.4], "acc_greedy": [0.5, 0.5]}.items():
        for seed, p in enumerate(rates):
            run = {**_run(selector, seed, 0.0), "regime": "none", "regime_params": {}}
            runs.append({**run, "selection": {"n": 64, "mean_success_rate": p, "diagnostics": {}}})
    (study / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    build_study(study)
    for name in ("table.md", "tables.md"):
        md = (study / name).read_text()
        assert "Selection study on digits: mean success rate of the N=64 selected prompts" in md
        assert re.search(r"\| acc_greedy\s+\|\s+2 \|\s+50\.0 ± 0\.0 \|", md) and "| random " in md
    assert "\\label{tab:selection}" in (study / "tables.tex").read_text()
