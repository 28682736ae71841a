"""The rounds schedule trains each step on its own round's selection, epoch by epoch."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from rlselect.report import tables
from rlselect.rewards.functions import REWARDS, MathReward
from rlselect.train.rounds import epoch_batches
from tiny_config import compose_tiny


def test_epoch_batches_pass_over_the_kept_set_without_repeats():
    ids = [f"p{i}" for i in range(5)]
    batches = epoch_batches(ids, n_batches=10, per_batch=2, rng=random.Random(0))
    assert all(len(b) == 2 and len(set(b)) == 2 for b in batches)  # no prompt twice in a step
    flat = [x for b in batches for x in b]
    assert Counter(flat) == dict.fromkeys(ids, 4)  # 20 draws = 4 full epochs of 5
    assert set(flat[:5]) == set(ids)  # the first epoch covers the set before any repeat
    small = epoch_batches(ids[:1], n_batches=2, per_batch=3, rng=random.Random(0))
    assert small == [["p0"] * 3] * 2  # a kept set smaller than a step repeats, as it must


def test_every_step_trains_on_its_own_rounds_selection(tmp_path, shared_cache_dir, monkeypatch):
    """S = 3 steps per round, 3 rounds: the prompts TRL rewards at steps 3t+1..3t+3 all belong to
    round t's selection, and no prompt appears twice in one step (checked from the reward calls)."""
    from rlselect.pipeline import run

    trained: list[list[str]] = []  # the ids of every reward call, one call per GRPO step

    class Recorder(MathReward):
        def __call__(self, prompts, completions, answer, **kwargs):
            if "completion_ids" in kwargs:  # TRL's reward call (the rounds' own rollouts score without it)
                trained.append(list(kwargs["id"]))
            return super().__call__(prompts, completions, answer, **kwargs)

    monkeypatch.setitem(REWARDS, "math", Recorder)
    cfg = compose_tiny(
        shared_cache_dir,
        tmp_path / "results",
        "selector=random",
        "schedule=rounds",
        "schedule.chunk_size=8",
        "schedule.keep_fraction=0.5",
        "schedule.steps_per_round=3",
        "schedule.rounds=3",
        "schedule.k_r=4",
    )
    run(cfg, tmp_path / "run")
    rounds_dir = tmp_path / "run" / "rounds"
    records = [json.loads((rounds_dir / f"round_{t:04d}.json").read_text()) for t in range(3)]
    selected = [set(r["ids"]) for r in records]
    # random reads no rollouts, so a round samples none (at paper scale: 5120 x k_r generations saved)
    assert all(r["rollouts_generated"] == 0 and r["chunk_mean_success_rate"] is None for r in records)
    assert len(trained) == 9 and selected[0] != selected[1] != selected[2]
    for step, ids in enumerate(trained, start=1):
        t = (step - 1) // 3
        assert set(ids) <= selected[t], f"step {step} trained on prompts outside round {t}'s selection"
        counts = Counter(ids)  # 2 prompts x 4 completions per step
        assert len(counts) == 2 and set(counts.values()) == {4}, f"step {step}: {counts}"
    log = [json.loads(line) for line in (rounds_dir / "steps.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 10))
    assert [sorted(set(r["ids"])) for r in log] == [sorted(set(ids)) for ids in trained]
    # Within a round the 4 kept prompts are passed over epoch by epoch: 6 draws cover all 4.
    for t in range(3):
        assert {i for ids in trained[3 * t : 3 * t + 3] for i in ids} == selected[t]


@pytest.fixture(autouse=True)
def _no_wandb(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")


def test_a_round_samples_rollouts_only_for_selectors_that_read_them(tmp_path, shared_cache_dir, caplog, monkeypatch):
    import logging
    import re

    from rlselect.pipeline import run

    cfg = compose_tiny(
        shared_cache_dir,
        tmp_path / "results",
        "selector=pass_filter",
        "schedule=rounds",
        "schedule.chunk_size=8",
        "schedule.keep_fraction=0.5",
        "schedule.steps_per_round=1",
        "schedule.rounds=1",
        "schedule.k_r=4",
    )

    def no_pool_pass(*args, **kwargs):
        raise AssertionError("the rounds schedule rolled out the whole pool at the base model")

    monkeypatch.setattr("rlselect.rollouts.stage.rollout_stage", no_pool_pass)
    with caplog.at_level(logging.INFO, logger="rlselect"):
        record = run(cfg, tmp_path / "run")
    (round0,) = record["selection"]["rounds"]
    assert round0["rollouts_generated"] == 8 * 4 and 0.0 <= round0["chunk_mean_success_rate"] <= 1.0
    # the record charges the rounds' rollouts only (it charged a base pass over the pool on top: 64 x 8)
    assert record["cost"]["rollouts_generated"] == 0 and record["cost"]["seconds"]["rollouts"] == 0.0
    assert tables.frame([record]).rollouts.tolist() == [8 * 4]
    # the console's round line: counts, then the round's numbers to 3 decimals, then its seconds
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("round 0:")]
    assert re.fullmatch(r"round 0: kept \d+ of 8 prompts \{.*\} \(\d+ s\)", line), line
    assert not re.search(r"\d\.\d{4}", line), line


def test_a_round_without_validation_signal_keeps_a_random_part_and_the_run_goes_on(
    tmp_path, shared_cache_dir, caplog, monkeypatch
):
    """GradAlign's policy came to solve every validation prompt (or none) in round 1: the run crashed there,
    and every rerun crashed at the same round. Now that round keeps a random part of its chunk, on record;
    in round 0, before any step, the validation set is refused (the message names schedule.k_v: test_pipeline)."""
    import logging

    import rlselect.selection
    from rlselect.pipeline import run
    from rlselect.run_config import is_refusal
    from rlselect.selectors.base import NoValidationSignal

    real = rlselect.selection.gather_inputs
    dead_rounds = {1}

    def gather(*args, round_seed=None, **kwargs):
        if round_seed is not None and round_seed % 2003 in dead_rounds:  # seed 0: round_seed = t
            raise NoValidationSignal("validation set has no learnable items: all validation groups have equal rewards")
        return real(*args, round_seed=round_seed, **kwargs)

    monkeypatch.setattr(rlselect.selection, "gather_inputs", gather)
    overrides = ["selector=gradalign", "schedule=rounds", "schedule.chunk_size=8", "schedule.keep_fraction=0.5"]
    overrides += ["schedule.steps_per_round=1", "schedule.rounds=3", "schedule.k_r=4", "schedule.k_v=4"]
    cfg = compose_tiny(shared_cache_dir, tmp_path / "results", *overrides)
    with caplog.at_level(logging.WARNING, logger="rlselect"):
        record = run(cfg, tmp_path / "run")
    rounds = record["selection"]["rounds"]
    assert [r.get("diag_fallback") for r in rounds] == [None, "random: no validation signal at this policy", None]
    assert rounds[1]["n"] == 4 and record["cost"]["train_steps"] == 3
    assert "round 1: validation set has no learnable items" in caplog.text and "keeps a random 4" in caplog.text
    dead_rounds.add(0)
    with pytest.raises(NoValidationSignal, match=r"\(round 0, before training\)") as err:
        run(compose_tiny(shared_cache_dir, tmp_path / "results", *overrides, "seed=1"), tmp_path / "run1")
    assert is_refusal(err.value)


def test_a_rounds_run_that_differs_only_in_budget_is_read_not_trained_again(tmp_path, shared_cache_dir, caplog):
    """The rounds schedule never reads `budget` (it only names the run directory): a sweep over budgets
    would train each seed's rounds run once per budget, the same run each time."""
    import logging

    from rlselect.pipeline import finished_twin, is_finished, run

    rounds = ["selector=random", "schedule=rounds", "schedule.chunk_size=8", "schedule.steps_per_round=1"]
    rounds += ["schedule.rounds=1", "schedule.keep_fraction=0.5"]

    def cfg(*overrides):
        return compose_tiny(shared_cache_dir, tmp_path / "results", *rounds, *overrides)

    first = run(cfg("budget=4"), tmp_path / "runs" / "random-rounds-b4-s0")
    second_dir = tmp_path / "runs" / "random-rounds-b8-s0"
    assert is_finished(cfg("budget=8"), second_dir)
    with caplog.at_level(logging.INFO, logger="rlselect"):
        second = run(cfg("budget=8"), second_dir)
    assert second == first and not (second_dir / "train").exists()
    assert "(this run: the rounds schedule does not read budget)" in caplog.text
    assert len((tmp_path / "results" / "t" / "runs.jsonl").read_text().splitlines()) == 1
    # anything else that differs is another run; so is the static schedule, which reads budget
    assert finished_twin(cfg("budget=8", "trainer.args.learning_rate=1e-3"), second_dir) is None
    assert finished_twin(cfg("budget=8", "force=true"), second_dir) is None
    static = compose_tiny(shared_cache_dir, tmp_path / "results", "selector=random", "budget=8")
    assert finished_twin(static, tmp_path / "runs" / "random-static-b8-s0") is None
