"""Verdicts on the papers' claims from synthetic run records (5 seeds each), and the interval math behind them."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from rlselect.report import build, ci, verdicts

SEEDS = range(5)
REGIME_PARAMS: dict[str, dict] = {
    "noisy_reward": {"noisy_fraction": 0.5},
    "imbalance": {"target_family": "two_step", "target_share": 0.1},
    "low_utility": {"low_utility_fraction": 0.5},
}
JITTER = [0.00, 0.01, -0.01, 0.02, -0.02]  # per seed, in fractions: sample std 0.0158


def run(selector, seed, *, acc=0.5, budget=64, regime="none", share=None, schedule="static", data="arith", **extra):
    """A run record with what the verdicts read: selector, schedule, budget, seed, data, regime, metrics, selection."""
    selection = {"n": budget, "mean_success_rate": 0.4}
    params: dict = {}
    if share is not None:
        key, value = share
        selection[key] = value
        params = REGIME_PARAMS[regime]
    return {
        "study": extra.get("study", "s"),
        "selector": selector,
        "schedule": schedule,
        "budget": budget,
        "seed": seed,
        "variant": extra.get("variant"),
        "model": "tiny",
        "data": data,
        "regime": regime,
        "regime_params": params,
        "metrics": {"arith": {"accuracy": acc, "protocol": "greedy", "k": 1, "limit": None}},
        "base_metrics": {"arith": {"accuracy": 0.4, "protocol": "greedy", "k": 1, "limit": None}},
        "selection": selection,
        "cost": {"seconds": {}, "rollouts_generated": 100, "train_steps": 8},
    }


def budget_runs(learnalign_acc: float, random_acc: float = 0.50) -> list[dict]:
    """demo_budget's layout: learnalign and random at N = 16 and 64 of a 256-prompt pool, full data, 5 seeds."""
    runs = [run("full", s, acc=0.6, budget=256) for s in SEEDS]
    for budget, shift in ((16, 0.0), (64, 0.03)):
        runs += [run("random", s, acc=random_acc + shift + JITTER[s], budget=budget) for s in SEEDS]
        runs += [run("learnalign", s, acc=learnalign_acc + shift - JITTER[s], budget=budget) for s in SEEDS]
    return runs


def share_runs(regime: str, key: str, shares: dict[str, float], schedule: str = "static") -> list[dict]:
    return [
        run(
            sel,
            s,
            regime=regime,
            share=(key, mean + JITTER[s]),
            schedule=schedule,
            budget=64 if schedule == "static" else 8,
        )
        for sel, mean in shares.items()
        for s in SEEDS
    ]


def write_testbed(tmp_path, met: bool, name: str = "arith", regime: str = "noisy_reward"):
    d = tmp_path / "results" / "testbed"
    d.mkdir(parents=True, exist_ok=True)
    cos, auc = (0.2, 0.9) if met else (0.0009, 0.4938)
    result = {
        "testbed": name,
        "model": "tiny",
        "regime": regime,
        "cos_clean_clean": cos,
        "oracle_auc": auc,
        "criteria": {"cos_clean_clean >= 0.05": cos >= 0.05, "oracle_auc >= 0.8": auc >= 0.8},
    }
    (d / f"{name}.json").write_text(json.dumps(result))
    return d


# --- the interval math ------------------------------------------------------------------------------------------


def test_half_width_by_hand_n3_and_n5():
    # n = 3: [70, 72, 75]: mean 72.333, s = sqrt((2.333^2 + 0.333^2 + 2.667^2) / 2) = sqrt(6.3333) = 2.5166,
    # t(0.975, 2) = 4.3027 -> h = 4.3027 * 2.5166 / sqrt(3) = 6.2517
    mean, std = ci.mean_std([70.0, 72.0, 75.0])
    assert mean == pytest.approx(72.3333, abs=1e-4) and std == pytest.approx(math.sqrt(19 / 3), rel=1e-12)
    assert ci.half_width(std, 3) == pytest.approx(4.302652729911275 * math.sqrt(19 / 3) / math.sqrt(3), rel=1e-9)
    assert ci.half_width(std, 3) == pytest.approx(6.2517, abs=1e-4)
    # n = 5: [10, 12, 14, 16, 18]: s = sqrt(40 / 4) = sqrt(10), t(0.975, 4) = 2.7764 -> h = 2.7764 * 3.1623 / 2.2361
    _, std = ci.mean_std([10.0, 12.0, 14.0, 16.0, 18.0])
    assert std == pytest.approx(math.sqrt(10))
    assert ci.half_width(std, 5) == pytest.approx(2.7764451051977987 * math.sqrt(10) / math.sqrt(5), rel=1e-9)
    assert ci.half_width(std, 5) == pytest.approx(3.9265, abs=1e-4)
    assert math.isnan(ci.half_width(1.0, 1)) and math.isnan(ci.half_width(float("nan"), 4))


def test_welch_interval_by_hand_and_against_scipy():
    a, b = [1.0, 2.0, 3.0], [4.0, 6.0, 8.0, 10.0, 12.0]
    iv = ci.welch(a, b)
    # var/n: 1/3 and 10/5 = 2; se^2 = 7/3; df = (7/3)^2 / ((1/3)^2 / 2 + 2^2 / 4) = 5.1579
    df = (7 / 3) ** 2 / ((1 / 3) ** 2 / 2 + 2**2 / 4)
    h = stats.t.ppf(0.975, df) * math.sqrt(7 / 3)
    assert iv.diff == -6.0 and iv.df == pytest.approx(df) and (iv.lo, iv.hi) == pytest.approx((-6 - h, -6 + h))
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (iv.lo, iv.hi) == pytest.approx((ref.low, ref.high))
    assert iv.below_zero and not iv.above_zero
    assert ci.welch([5.0, 5.0], [3.0, 3.0]) == ci.Interval(2.0, 2.0, 2.0, 2.0)  # no spread: the point difference
    one = ci.welch([5.0], [3.0, 4.0])
    assert math.isnan(one.lo) and not one.above_zero and not one.below_zero and "no interval" in one.text()


# --- one claim at a time ----------------------------------------------------------------------------------------


def test_learnalign_clear_effect_is_reproduced():
    v = verdicts.learnalign_beats_random(budget_runs(0.60))
    assert v["verdict"] == "reproduced" and v["n_seeds"] == 5
    assert "N=16" in v["evidence"] and "N=64" not in v["evidence"]  # the smallest budget below the pool
    assert "learnalign 60.0 ± " in v["evidence"] and "random 50.0 ± " in v["evidence"]
    assert "difference +10.0, 95% CI [+" in v["evidence"]


def test_learnalign_no_effect_is_not_reproduced_and_premise_fails(tmp_path):
    runs = budget_runs(0.50)
    v = verdicts.learnalign_beats_random(runs)
    assert v["verdict"] == "not reproduced" and "difference +0.0, 95% CI [-" in v["evidence"]
    assert verdicts.learnalign_beats_random(runs, tmp_path / "nowhere" / "testbed")["evidence"].endswith(
        "premise not measured (no nowhere/testbed/arith.json)"
    )
    v = verdicts.learnalign_beats_random(runs, write_testbed(tmp_path, met=False))
    assert v["verdict"] == "premise fails"
    assert "difference +0.0, 95% CI [-" in v["evidence"]  # the numbers stay in the evidence
    assert (
        "premise fails (results/testbed/arith.json: cos_clean_clean 0.0009 < 0.05, oracle_auc 0.4938 < 0.8)"
        in (v["evidence"])
    )
    assert "(measured with regime noisy_reward)" in v["evidence"]  # the testbed's regime is not the runs'
    v = verdicts.learnalign_beats_random(runs, write_testbed(tmp_path, met=True))
    assert v["verdict"] == "not reproduced" and "premise met (results/testbed/arith.json)" in v["evidence"]


def test_reproduced_stays_reproduced_when_the_premise_fails(tmp_path):
    v = verdicts.learnalign_beats_random(budget_runs(0.60), write_testbed(tmp_path, met=False))
    assert v["verdict"] == "reproduced" and "note: premise fails (results/testbed/arith.json:" in v["evidence"]


def test_learnalign_claim_needs_clean_static_runs_below_the_pool():
    assert verdicts.learnalign_beats_random([])["verdict"] == "no data"
    noisy = [dict(r, regime="noisy_reward") for r in budget_runs(0.6)]
    assert verdicts.learnalign_beats_random(noisy)["verdict"] == "no data"  # not the paper's clean pool
    only_full_size = [r for r in budget_runs(0.6) if r["budget"] in (256,)]
    only_full_size += [run(s, k, acc=0.5, budget=256) for s in ("random", "learnalign") for k in SEEDS]
    assert verdicts.learnalign_beats_random(only_full_size)["verdict"] == "no data"
    variants = [dict(r, variant="no_warmup") if r["selector"] == "learnalign" else r for r in budget_runs(0.6)]
    assert verdicts.learnalign_beats_random(variants)["verdict"] == "no data"


def test_one_seed_gives_no_interval_hence_not_reproduced():
    runs = [r for r in budget_runs(0.9) if r["seed"] == 0]
    v = verdicts.learnalign_beats_random(runs)
    assert v["verdict"] == "not reproduced" and v["n_seeds"] == 1 and "no interval" in v["evidence"]
    assert "(n = 1)" in v["evidence"]


def test_noisy_claim_needs_both_differences_below_zero():
    key = "corrupted_share"
    clear = share_runs("noisy_reward", key, {"random": 0.5, "acc_greedy": 0.85, "gradalign": 0.2})
    v = verdicts.gradalign_avoids_corrupted(clear)
    assert v["verdict"] == "reproduced" and v["n_seeds"] == 5
    assert (
        "gradalign - acc_greedy: difference -65.0" in v["evidence"]
        and "(pool's own share 50 = noisy_fraction)" in v["evidence"]
    )
    near_random = share_runs("noisy_reward", key, {"random": 0.5, "acc_greedy": 0.85, "gradalign": 0.48})
    assert verdicts.gradalign_avoids_corrupted(near_random)["verdict"] == "not reproduced"
    # the rounds schedule: the record's mean over rounds, checked in its own setting as well
    rounds = share_runs("noisy_reward", key, {"random": 0.5, "acc_greedy": 0.85, "gradalign": 0.5}, schedule="rounds")
    v = verdicts.gradalign_avoids_corrupted(clear + rounds)
    assert (
        v["verdict"] == "not reproduced"
        and "static N=64: " in v["evidence"]
        and "rounds (8 per round): " in v["evidence"]
    )
    no_greedy = [r for r in clear if r["selector"] != "acc_greedy"]
    v = verdicts.gradalign_avoids_corrupted(no_greedy)
    assert v["verdict"] == "no data" and "acc_greedy" in v["evidence"]


def test_target_family_claim(tmp_path):
    key = "on_target_share"
    v = verdicts.gradalign_finds_target(share_runs("imbalance", key, {"random": 0.1, "gradalign": 0.4}))
    assert v["verdict"] == "reproduced" and "(pool's own share 10 = target_share)" in v["evidence"]
    flat = share_runs("imbalance", key, {"random": 0.1, "gradalign": 0.1})
    assert verdicts.gradalign_finds_target(flat)["verdict"] == "not reproduced"
    assert verdicts.gradalign_finds_target(flat, write_testbed(tmp_path, met=False))["verdict"] == "premise fails"


def test_low_utility_claim_includes_learnalign_where_it_ran():
    key = "low_utility_share"
    both = share_runs("low_utility", key, {"random": 0.5, "learnalign": 0.2, "gradalign": 0.2})
    v = verdicts.low_utility_avoided(both)
    assert v["verdict"] == "reproduced" and "learnalign - random" in v["evidence"]
    only_grad = [r for r in both if r["selector"] != "learnalign"]
    assert verdicts.low_utility_avoided(only_grad)["verdict"] == "reproduced"
    bad_learnalign = share_runs("low_utility", key, {"random": 0.5, "learnalign": 0.5, "gradalign": 0.2})
    assert verdicts.low_utility_avoided(bad_learnalign)["verdict"] == "not reproduced"


def test_accuracy_under_noise_claim_needs_both_differences_above_zero():
    def noisy(accs: dict[str, float], schedule: str = "static") -> list[dict]:
        return [
            run(sel, s, acc=acc + JITTER[s], regime="noisy_reward", share=("corrupted_share", 0.5), schedule=schedule)
            for sel, acc in accs.items()
            for s in SEEDS
        ]

    clear = noisy({"random": 0.45, "acc_greedy": 0.35, "gradalign": 0.55})
    v = verdicts.gradalign_trains_better_under_noise(clear)
    assert v["verdict"] == "reproduced" and v["n_seeds"] == 5
    assert "arith accuracy (%):" in v["evidence"] and "gradalign - acc_greedy: difference +20.0" in v["evidence"]
    # beats acc_greedy only (the rounds pattern on digits): not reproduced
    v = verdicts.gradalign_trains_better_under_noise(noisy({"random": 0.55, "acc_greedy": 0.35, "gradalign": 0.55}))
    assert v["verdict"] == "not reproduced"
    # a second setting where it fails makes the whole claim fail
    v = verdicts.gradalign_trains_better_under_noise(
        clear + noisy({"random": 0.5, "acc_greedy": 0.5, "gradalign": 0.5}, "rounds")
    )
    assert v["verdict"] == "not reproduced" and "rounds (64 per round): " in v["evidence"]
    # selection-only runs (no metrics) and other regimes give no data
    selection_only = [dict(r, metrics={}) for r in clear]
    assert verdicts.gradalign_trains_better_under_noise(selection_only)["verdict"] == "no data"
    assert verdicts.gradalign_trains_better_under_noise(budget_runs(0.6))["verdict"] == "no data"


def test_verdicts_are_one_of_four_and_markdown(tmp_path):
    runs = budget_runs(0.6) + share_runs("imbalance", "on_target_share", {"random": 0.1, "gradalign": 0.4})
    vs = verdicts.verdicts(runs, write_testbed(tmp_path, met=False))
    assert {v["verdict"] for v in vs} <= set(verdicts.VERDICTS)
    assert [v["verdict"] for v in vs] == ["reproduced", "no data", "reproduced", "no data", "no data"]
    assert all(set(v) == {"claim", "verdict", "evidence", "n_seeds"} for v in vs)
    md = verdicts.verdicts_markdown(runs, tmp_path / "results" / "testbed")
    assert md.count("\n- ") + md.startswith("- ") == 2 and "**GradAlign finds the target family**: reproduced" in md
    assert "no data" in verdicts.verdicts_markdown(runs, all_claims=True)
    two = [dict(r, study="a") for r in budget_runs(0.5)] + [dict(r, study="b") for r in budget_runs(0.6)]
    md = verdicts.verdicts_markdown(two)
    assert "[a]: not reproduced" in md and "[b]: reproduced" in md
    assert verdicts.verdicts_markdown([run("full", 0)]) == "- No claim of the papers is tested by these runs.\n"


def test_build_study_writes_the_claims_section(tmp_path):
    write_testbed(tmp_path, met=False)
    study = tmp_path / "results" / "lu"
    study.mkdir(parents=True)
    runs = share_runs("low_utility", "low_utility_share", {"random": 0.5, "learnalign": 0.5, "gradalign": 0.2})
    (study / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    build.build_study(study)
    md = (study / "tables.md").read_text()
    claims = md[md.index("## Claims") :]
    assert "**Low-utility items avoided**: premise fails (n = 5 seeds)" in claims
    assert "premise fails (results/testbed/arith.json: cos_clean_clean 0.0009 < 0.05" in claims
    assert "LearnAlign beats random" not in claims  # a claim without data is left out of the study's section
