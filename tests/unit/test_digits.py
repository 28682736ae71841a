"""The digits testbed: generator (splits, seeds, answers, scratchpads), its warm-start options, and the
unchanged cache key of the old tiny/arith warm start."""

from __future__ import annotations

import re

import pytest

from rlselect.cache import stage_key
from rlselect.data import load_records
from rlselect.data.digits import (
    BOX_PROB,
    LEVEL_STEPS,
    boxed_completion,
    generate_digits,
    plain_completion,
    running_total,
    sft_completion,
    uses_box,
)
from rlselect.data.schema import DataError
from rlselect.models.warm_start import DEFAULTS, completion_renderer
from rlselect.rewards.verifier import math_reward

SIZES = {"train": 300, "validation": 40, "test": 60, "sft": 400}
_QUESTION = re.compile(r"has (\d) \w+, then (.*)\. How many now\?$")
_STEP = re.compile(r"(\d+)([+-])(\d)=(\d+)")


@pytest.fixture(scope="module")
def splits():
    return generate_digits(seed=0, sizes=SIZES)


def _story(question: str) -> tuple[int, list[int]]:
    """(starting count, signed steps) read back from the question text."""
    m = _QUESTION.search(question)
    assert m, question
    steps = [int(d) if verb == "gets" else -int(d) for verb, d in (x.split(" ") for x in m.group(2).split(", "))]
    return int(m.group(1)), steps


def _replay(worked: str, start: int, steps: list[int]) -> int:
    """The answer a reader computes from the scratchpad alone, each step checked against the story."""
    total = start
    parts = worked.split(" ")
    assert len(parts) == len(steps)
    for part, d in zip(parts, steps):
        m = _STEP.fullmatch(part)
        assert m, part
        t, op, x, u = int(m[1]), m[2], int(m[3]), int(m[4])
        assert t == total and (x if op == "+" else -x) == d
        assert u == (t + x if op == "+" else t - x) >= 0
        total = u
    return total


def test_splits_are_disjoint_and_sized(splits):
    assert {k: len(v) for k, v in splits.items()} == SIZES
    questions = [r["question"] for split in splits.values() for r in split]
    assert len(set(questions)) == len(questions)
    ids = [r["id"] for split in splits.values() for r in split]
    assert len(set(ids)) == len(ids)


def test_seeded(splits):
    again = generate_digits(seed=0, sizes=SIZES)
    assert again == splits
    other = generate_digits(seed=1, sizes=SIZES)
    assert [r["question"] for r in other["train"]] != [r["question"] for r in splits["train"]]
    assert load_records("digits", "validation", seed=0, sizes=SIZES) == splits["validation"]


def test_answers_and_scratchpads_are_correct(splits):
    for split in splits.values():
        for r in split:
            start, steps = _story(r["question"])
            assert len(steps) == LEVEL_STEPS[r["meta"]["level"]]
            assert r["meta"]["family"] == "mix" or all(d > 0 for d in steps)
            assert int(r["answer"]) == start + sum(steps)
            worked, gold = r["meta"]["solution"].split("\n#### ")
            assert gold == r["answer"] and _replay(worked, start, steps) == int(r["answer"])


def test_both_families_and_all_levels_occur(splits):
    seen = {(r["meta"]["family"], r["meta"]["level"]) for r in splits["train"]}
    assert seen == {(f, lv) for f in ("add", "mix") for lv in (1, 2, 3)}
    assert any(d < 0 for r in splits["train"] for d in _story(r["question"])[1])


def test_running_total_examples():
    assert running_total(7, [5, -3]) == ("7+5=12 12-3=9", 9)
    assert running_total(2, [7, -9, 1]) == ("2+7=9 9-9=0 0+1=1", 1)
    with pytest.raises(ValueError):
        running_total(1, [-2])


def test_scratchpad_verifies_only_in_the_boxed_format(splits):
    for r in splits["test"][:30]:
        worked = r["meta"]["solution"].split("\n####")[0]
        assert math_reward(boxed_completion(worked, r["answer"]), r["answer"]) == 1.0
        assert math_reward(boxed_completion(worked, int(r["answer"]) + 1), r["answer"]) == 0.0
        assert math_reward(plain_completion(worked, r["answer"]), r["answer"]) == 0.0  # no final answer to read


def test_warm_start_format_mix_is_seeded_and_follows_box_prob(splits):
    sft = splits["sft"]
    texts = [sft_completion(r) for r in sft]
    assert texts == [sft_completion(r) for r in sft]
    share = sum("\\boxed{" in t for t in texts) / len(texts)
    expected = sum(BOX_PROB[r["meta"]["level"]] for r in sft) / len(sft)
    assert abs(share - expected) < 0.1
    assert all(uses_box(r["id"], r["meta"]["level"], {1: 1.0, 2: 1.0, 3: 1.0}) for r in sft)
    assert not any(uses_box(r["id"], r["meta"]["level"], {"1": 0.0, "2": 0.0, "3": 0.0}) for r in sft)
    render = completion_renderer("digits", {1: 1, 2: 1, 3: 1})
    assert all(math_reward(render(r), r["answer"]) == 1.0 for r in sft[:20])
    assert completion_renderer("arith") is None
    with pytest.raises(ValueError):
        completion_renderer("gsm8k")


def test_loader_errors():
    with pytest.raises(DataError):
        load_records("digits", "nope", seed=0, sizes=SIZES)
    with pytest.raises(DataError):
        load_records("digits", "train", path="x")
    with pytest.raises(DataError):
        generate_digits(levels=(4,))


# The key of the embedded arith model as conf/model/tiny.yaml configures it, observed before the
# warm start learned its `data` / `box_prob` options (README: .cache/rlselect/models/tiny-sft-68402eec99e65bac).
OLD_TINY_KEY = "68402eec99e65bac"


def test_old_tiny_arith_warm_start_key_is_unchanged(tmp_path):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from rlselect.cli import CONF_DIR
    from rlselect.models import warm_start

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["experiment=demo_noisy"])
    ws = OmegaConf.to_container(cfg.model.warm_start, resolve=True)
    assert stage_key("tiny-sft-v3", {**DEFAULTS, **ws}) == OLD_TINY_KEY
    for extra in ({}, {"data": "arith"}, {"data": "arith", "box_prob": None}, {"data": None}):
        (tmp_path / "models" / f"tiny-sft-{OLD_TINY_KEY}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "models" / f"tiny-sft-{OLD_TINY_KEY}" / "done.json").write_text("{}")
        assert warm_start.warm_start_tiny(tmp_path, **ws, **extra).name == f"tiny-sft-{OLD_TINY_KEY}"
    # the digits testbed's model gets a key of its own
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        small = compose(config_name="config", overrides=["experiment=testbed_noisy"])
    assert small.model.warm_start.data == "digits" and small.data.name == "digits"
    key = stage_key("tiny-sft-v3", {**DEFAULTS, **OmegaConf.to_container(small.model.warm_start, resolve=True)})
    assert key != OLD_TINY_KEY


def test_digits_is_an_offline_benchmark():
    from rlselect.eval.benchmarks import GENERATED, TASKS_DIR, load_benchmark, task_name

    assert task_name("digits") == "rlselect_digits" and "digits" in GENERATED
    assert (TASKS_DIR / "rlselect_digits.yaml").exists()
    recs = load_benchmark("digits", "test", arith_seed=0, family="mix")
    assert recs and all(r["meta"]["family"] == "mix" for r in recs)
