"""GradAlign's data regimes on the built-in arith pool: ground truth in meta, selection precision,
the imbalance regime's target-family validation/test sets, and stage caches that tell a regime's
pool from the clean pool with the same ids."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from rlselect.data import load_records
from rlselect.data.regimes import apply_regime, low_utility
from rlselect.data.schema import DataError
from tiny_config import compose_tiny


@pytest.fixture
def compose_cfg(shared_cache_dir, tmp_path):
    return lambda *overrides: compose_tiny(shared_cache_dir, tmp_path / "results", *overrides)


def test_low_utility_marks_mislabeled_and_unanswerable_items():
    clean = load_records("arith", "train")[:200]
    out = low_utility(clean, 0.5, seed=0)
    assert [r["id"] for r in out] == [r["id"] for r in clean]
    kinds = [r["meta"]["low_utility"] for r in out]
    assert kinds.count("mislabeled") == 50 and kinds.count("unanswerable") == 50
    for before, after in zip(clean, out):
        kind = after["meta"]["low_utility"]
        if kind == "mislabeled":
            assert after["answer"] != before["answer"] and after["question"] == before["question"]
        elif kind == "unanswerable":
            assert not any(ch.isdigit() for ch in after["question"]) and after["answer"] == before["answer"]
            # the prompt asks the new question with the same instruction
            assert after["prompt"][0]["content"].startswith(after["question"])
            assert after["prompt"][0]["content"].endswith(before["prompt"][0]["content"][len(before["question"]) :])
        else:
            assert after == before
    assert low_utility(clean, 0.5, seed=0) == out  # seeded
    with pytest.raises(DataError, match="low_utility_fraction"):
        low_utility(clean, 1.5, seed=0)


def test_mislabeled_items_fail_the_verifier_on_their_correct_solution(verifier_ready):
    from rlselect.rewards import math_reward

    clean = {r["id"]: r for r in load_records("arith", "train")[:100]}
    for r in low_utility(list(clean.values()), 1.0, seed=1):
        if r["meta"]["low_utility"] == "mislabeled":
            right = clean[r["id"]]["answer"]
            assert math_reward(f"\\boxed{{{right}}}", r["answer"]) == 0.0


def test_unknown_regime_lists_the_available_ones():
    with pytest.raises(DataError, match="low_utility"):
        apply_regime(load_records("arith", "train")[:10], "bogus", 0)


def test_low_utility_regime_reports_its_share(compose_cfg):
    from rlselect.pipeline import load_pool
    from rlselect.selection import selection_summary

    cfg = compose_cfg("data.regime=low_utility", "+data.regime_params.low_utility_fraction=0.5")
    pool, val = load_pool(OmegaConf.to_container(cfg.data, resolve=True), seed=0)
    assert sum(bool(r["meta"]["low_utility"]) for r in pool) == len(pool) // 2
    assert not any(r["meta"]["low_utility"] for r in val)  # the trusted set stays clean
    assert selection_summary(pool, {}, "low_utility")["low_utility_share"] == pytest.approx(0.5)


def test_imbalance_regime_keeps_the_target_family_rare_and_validates_on_it(compose_cfg):
    from rlselect.pipeline import load_pool
    from rlselect.selection import selection_summary

    cfg = compose_cfg("experiment=demo_imbalance", "data.pool_size=200")
    data = OmegaConf.to_container(cfg.data, resolve=True)
    pool, val = load_pool(data, seed=0)
    target = data["regime_params"]["target_family"]
    share = sum(r["meta"]["family"] == target for r in pool) / len(pool)
    assert 0.05 <= share <= 0.15
    assert val and all(r["meta"]["family"] == target for r in val)
    assert cfg.eval.family == target  # the test set is the target family too
    assert selection_summary(pool, {}, "imbalance", target)["on_target_share"] == pytest.approx(share)


def test_eval_family_keeps_only_that_family():
    from rlselect.eval.benchmarks import custom_dataset, load_benchmark

    rows = load_benchmark("arith", "test", family="two_step")
    assert rows and all(r["meta"]["family"] == "two_step" for r in rows)
    assert len(rows) < len(load_benchmark("arith", "test"))
    assert len(custom_dataset("arith", family="two_step")["test"]) == len(rows)
    with pytest.raises(ValueError, match="families: "):
        load_benchmark("arith", "test", family="countdown")


def test_stage_caches_tell_a_regime_pool_from_the_clean_pool_with_the_same_ids():
    """Regression: the rollout/warm-up/feature caches were keyed by ids, so a noisy pool and the
    clean pool of the same ids shared rollouts (and coin-flip rewards)."""
    from rlselect.cache import records_key

    clean = load_records("arith", "train")[:32]
    noisy = apply_regime(clean, "noisy_reward", 0, noisy_fraction=0.5)
    unusable = apply_regime(clean, "low_utility", 0, low_utility_fraction=0.5)
    assert [r["id"] for r in noisy] == [r["id"] for r in clean]
    keys = {records_key(clean), records_key(noisy), records_key(unusable)}
    assert len(keys) == 3
    assert records_key(clean) == records_key(load_records("arith", "train")[:32])  # deterministic


@pytest.mark.slow
def test_rollout_stage_does_not_reuse_clean_rewards_for_a_noisy_pool(compose_cfg, shared_cache_dir, verifier_ready):
    from rlselect.models import resolve_model_path
    from rlselect.rollouts.stage import rollout_stage

    cfg = compose_cfg()
    model = resolve_model_path(OmegaConf.to_container(cfg.model, resolve=True), shared_cache_dir)
    rcfg = {**OmegaConf.to_container(cfg.rollouts, resolve=True), "G": 8, "max_new_tokens": 8}
    clean = load_records("arith", "train")[:8]
    noisy = apply_regime(clean, "noisy_reward", 0, noisy_fraction=1.0)
    a = rollout_stage(model, clean, rcfg, shared_cache_dir)
    b = rollout_stage(model, noisy, rcfg, shared_cache_dir)
    assert [r["completions"] for r in a] == [r["completions"] for r in b]  # same seeded samples
    # every completion is rescored by a coin flip in the noisy pool: the rewards cannot all match
    assert [r["rewards"] for r in a] != [r["rewards"] for r in b]


def test_wrong_answers_differ_from_the_gold_for_any_answer_text():
    import random

    from rlselect.data.regimes import _wrong_answer

    rng = random.Random(0)
    for gold in ["7", "0", "-3", "2.5", "1e3", "nan", "inf", "\\frac{1}{2}", "x^2"]:
        wrong = _wrong_answer(gold, rng)
        assert wrong != gold and wrong.strip()
