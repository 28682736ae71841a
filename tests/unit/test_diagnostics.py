"""Selection diagnostics in every run record: zero-variance shares, positive scores, ranking AUC."""

from __future__ import annotations

import pytest

from rlselect.selection import ranking_diagnostics
from rlselect.selectors import SelectionInputs


def noisy_inputs():
    records = [{"id": f"q{i}", "meta": {"corrupted": i >= 4}} for i in range(8)]
    p = [0.5, 0.25, 1.0, 0.75, 0.5, 0.0, 0.5, 1.0]  # zero variance: 1 clean (q2), 2 corrupted (q5, q7)
    return SelectionInputs(records=records, stats={f"q{i}": {"p": x} for i, x in enumerate(p)})


def test_a_perfect_ranking_has_auc_one_and_the_reverse_zero():
    inputs = noisy_inputs()
    d = ranking_diagnostics(inputs, [f"q{i}" for i in range(8)], "noisy_reward", None)
    assert d["ranking_auc"] == 1.0 and d["zero_variance_share"] == pytest.approx(3 / 8)
    assert d["zero_variance_share_good"] == pytest.approx(1 / 4) and d["zero_variance_share_bad"] == pytest.approx(
        2 / 4
    )
    assert (
        ranking_diagnostics(inputs, [f"q{i}" for i in reversed(range(8))], "noisy_reward", None)["ranking_auc"] == 0.0
    )


def test_unranked_items_tie_last_and_scores_are_counted():
    inputs = noisy_inputs()
    inputs.extra["last_scores"] = [0.3, -0.1, 0.0, 0.2, 0.0, 0.0, 0.1, -0.2]
    d = ranking_diagnostics(inputs, ["q0", "q4"], "noisy_reward", None)
    # q0 (good) beats all 4 bad; the 3 unranked good beat q4 (ranked) and tie the 3 unranked bad
    assert d["ranking_auc"] == pytest.approx((4 + 3 * (0 + 3 * 0.5)) / 16)
    assert d["positive_scores"] == 3


def test_no_ground_truth_no_auc():
    inputs = noisy_inputs()
    d = ranking_diagnostics(inputs, ["q0"], "none", None)
    assert "ranking_auc" not in d and d["zero_variance_share"] == pytest.approx(3 / 8)


def test_auc_equals_the_pairwise_definition_on_a_large_partial_ranking():
    import random

    rng = random.Random(0)
    records = [{"id": f"q{i}", "meta": {"corrupted": rng.random() < 0.4}} for i in range(300)]
    inputs = SelectionInputs(records=records, stats={r["id"]: {"p": 0.5} for r in records})
    ranked = rng.sample([r["id"] for r in records], 120)  # 180 items unranked: they tie last
    pos = {i: k for k, i in enumerate(ranked)}
    good = [pos.get(r["id"], 120) for r in records if not r["meta"]["corrupted"]]
    bad = [pos.get(r["id"], 120) for r in records if r["meta"]["corrupted"]]
    pairwise = sum((g < b) + 0.5 * (g == b) for g in good for b in bad) / (len(good) * len(bad))
    assert ranking_diagnostics(inputs, ranked, "noisy_reward", None)["ranking_auc"] == pytest.approx(pairwise)
