"""The digits testbed: generator (splits, seeds, answers, scratchpads), its warm-start options, and the
unchanged cache key of the old tiny/arith warm start."""

from __future__ import annotations

import re

import pytest

from rlselect.cache import stage_key
from rlselect.data import load_records
from rlselect.data.digits import (
    BOX_PROB,
    boxed_completion,
    columns,
    generate_digits,
    plain_completion,
    sft_completion,
    uses_box,
)
from rlselect.data.schema import DataError
from rlselect.models.warm_start import DEFAULTS, completion_renderer
from rlselect.rewards.verifier import math_reward

SIZES = {"train": 300, "validation": 40, "test": 60, "sft": 400}
_QUESTION = re.compile(r"has (\d+) \w+ and (gets|gives) (\d+) (?:more|away)\.")


@pytest.fixture(scope="module")
def splits():
    return generate_digits(seed=0, sizes=SIZES)


def _operands(question: str) -> tuple[int, int, str]:
    m = _QUESTION.search(question)
    assert m, question
    return int(m.group(1)), int(m.group(3)), "add" if m.group(2) == "gets" else "sub"


def _replay(worked: str) -> int:
    """The answer a reader computes from the scratchpad alone (each column checked on the way)."""
    digits, carry = [], 0
    for col in worked.split(" "):
        m = re.fullmatch(r"(\d)([+-])(\d)\2([01])=([01])(\d)", col)
        assert m, col
        x, op, y, c, out, d = int(m[1]), m[2], int(m[3]), int(m[4]), int(m[5]), int(m[6])
        assert c == carry
        value = x + y + c if op == "+" else x - y - c
        assert value == (10 * out + d if op == "+" else d - 10 * out)
        digits.append(d)
        carry = out
    if worked[1] == "+" and carry:
        digits.append(carry)
    return int("".join(map(str, reversed(digits))))


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
            a, b, family = _operands(r["question"])
            assert r["meta"]["family"] == family
            assert len(str(a)) == r["meta"]["level"] + 1 and len(str(b)) == r["meta"]["level"] + 1
            assert int(r["answer"]) == (a + b if family == "add" else a - b) >= 0
            worked, gold = r["meta"]["solution"].split("\n#### ")
            assert gold == r["answer"] and _replay(worked) == int(r["answer"])


def test_both_families_and_all_levels_occur(splits):
    seen = {(r["meta"]["family"], r["meta"]["level"]) for r in splits["train"]}
    assert seen == {(f, lv) for f in ("add", "sub") for lv in (1, 2, 3)}


def test_columns_examples():
    assert columns(347, 285, "+") == (["7+5+0=12", "4+8+1=13", "3+2+1=06"], 632)
    assert columns(632, 285, "-") == (["2-5-0=17", "3-8-1=14", "6-2-1=03"], 347)
    assert columns(99, 1, "+")[1] == 100 and columns(100, 99, "-")[1] == 1
    with pytest.raises(ValueError):
        columns(1, 2, "-")


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
    recs = load_benchmark("digits", "test", arith_seed=0, family="sub")
    assert recs and all(r["meta"]["family"] == "sub" for r in recs)
