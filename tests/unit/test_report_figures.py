"""Figures from synthetic run records: every figure is written (a non-empty PNG), with its pool line and seed count."""

from __future__ import annotations

import json

from rlselect.report import build, figures, tables

PNG = b"\x89PNG\r\n\x1a\n"
SEEDS = range(3)
REGIMES: dict[str, tuple[str, dict]] = {
    "noisy_reward": ("corrupted_share", {"noisy_fraction": 0.4}),
    "imbalance": ("on_target_share", {"target_family": "two_step", "target_share": 0.1}),
    "low_utility": ("low_utility_share", {"low_utility_fraction": 0.5}),
}


def run(selector, seed, budget=64, *, regime="none", schedule="static", share=None, run_dir=None):
    selection: dict = {"n": budget, "mean_success_rate": 0.4}
    params: dict = {}
    if regime != "none":
        key, params = REGIMES[regime]
        selection[key] = share
        if schedule == "rounds":
            selection["rounds"] = [{"round": t, "n": 8, key: share + 0.01 * t} for t in range(4)]
    return {
        "study": "f",
        "selector": selector,
        "schedule": schedule,
        "budget": budget,
        "seed": seed,
        "variant": None,
        "model": "tiny",
        "data": "arith",
        "regime": regime,
        "regime_params": params,
        "metrics": {"arith": {"accuracy": 0.4 + 0.01 * seed + budget / 1e4, "protocol": "greedy", "k": 1}},
        "base_metrics": {"arith": {"accuracy": 0.38, "protocol": "greedy", "k": 1}},
        "selection": selection,
        "cost": {"seconds": {}, "rollouts_generated": 10, "train_steps": 5},
        "run_dir": run_dir,
    }


def assert_png(path):
    assert path.exists() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG


def test_pool_share_and_seed_counts():
    runs = [run("random", s, regime=r, share=0.3) for r in REGIMES for s in SEEDS]
    assert tables.pool_share(runs, "corrupted_share") == (0.4, "noisy_fraction")
    assert tables.pool_share(runs, "on_target_share") == (0.1, "target_share")
    assert tables.pool_share(runs, "low_utility_share") == (0.5, "low_utility_fraction")
    defaults = [dict(r, regime_params={}) for r in runs]
    assert tables.pool_share(defaults, "corrupted_share") == (0.5, "noisy_fraction")  # apply_regime's default
    assert tables.pool_share([run("random", 0)], "corrupted_share") is None
    assert figures.seeds_text([3, 3]) == "n = 3 seeds" and figures.seeds_text([2, 3]) == "n = 2-3 seeds"
    assert figures.seeds_text([1]) == "n = 1 seed"


def test_every_figure_is_written(tmp_path):
    budget = [run(sel, s, b) for sel in ("random", "learnalign") for b in (16, 64) for s in SEEDS]
    budget += [run("full", s, 256) for s in SEEDS]
    assert_png(figures.accuracy_vs_budget(budget, "arith", tmp_path / "acc.png"))
    for regime, (key, _) in REGIMES.items():
        static = [
            run(sel, s, regime=regime, share=v) for sel, v in (("random", 0.5), ("gradalign", 0.2)) for s in SEEDS
        ]
        rounds = [run(sel, s, 8, regime=regime, schedule="rounds", share=0.3) for sel in ("random",) for s in SEEDS]
        assert_png(figures.corrupted_share_bars(static + rounds, tmp_path / f"{key}_bars.png", key))
        assert_png(figures.corrupted_share_per_round(static + rounds, tmp_path / f"{key}_rounds.png", key))
    # reward curves: from each run's train summary, one line per method with a band over seeds
    curves = []
    for sel in ("random", "gradalign"):
        for s in SEEDS:
            d = tmp_path / "runs" / f"{sel}-{s}"
            (d / "train" / "final").mkdir(parents=True)
            log = [{"step": t, "reward": 0.1 * t + 0.02 * s} for t in range(1, 9)] + [{"train_runtime": 1.0}]
            (d / "train" / "final" / "train_summary.json").write_text(json.dumps({"log_history": log}))
            curves.append(run(sel, s, run_dir=str(d)))
    assert_png(figures.reward_curves(curves, tmp_path / "reward.png"))


def test_figures_without_data_still_write_a_png(tmp_path):
    assert_png(figures.accuracy_vs_budget([run("full", 0, 256)], "arith", tmp_path / "a.png"))
    assert_png(figures.corrupted_share_bars([run("random", 0)], tmp_path / "b.png"))
    assert_png(figures.corrupted_share_per_round([run("random", 0)], tmp_path / "c.png"))
    assert_png(figures.reward_curves([run("random", 0)], tmp_path / "d.png"))


def test_build_study_writes_the_regime_figures(tmp_path):
    study = tmp_path / "results" / "noisy"
    study.mkdir(parents=True)
    runs = [
        run(sel, s, regime="noisy_reward", share=v) for sel, v in (("random", 0.5), ("gradalign", 0.2)) for s in SEEDS
    ]
    runs += [run("random", s, 8, regime="noisy_reward", schedule="rounds", share=0.4) for s in SEEDS]
    (study / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    files = {f.name: f for f in build.build_study(study)}
    for name in ("corrupted_share_bars.png", "corrupted_share_per_round.png"):
        assert_png(files[name])


def test_reward_curves_keep_schedules_and_static_budgets_apart():
    """testbed_noisy's reward curves drew a selector's static and rounds runs as one line ("n = 10 seeds" of 5)."""
    runs = [run("gradalign", 0, schedule="static"), run("gradalign", 0, schedule="rounds"), run("random", 0)]
    names = [name for name, _ in figures.curve_labels(runs)]
    assert names == ["gradalign (static)", "gradalign (rounds)", "random (static)"]
    runs = [run("gradalign", 0, 16), run("gradalign", 0, 64), run("gradalign", 0, 16, schedule="rounds")]
    runs.append(run("full", 0, 512))
    names = [name for name, _ in figures.curve_labels(runs)]
    assert names == [
        "gradalign (static) N=16",
        "gradalign (static) N=64",
        "gradalign (rounds)",
        "full (static) (N=512)",
    ]
    assert [n for n, _ in figures.curve_labels(runs[:2])] == ["gradalign N=16", "gradalign N=64"]
