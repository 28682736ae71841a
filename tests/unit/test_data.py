"""Data loaders: bad input fails loudly (naming the file and row), the built-in arith task is
sound, and `load` gives a datasets.Dataset with the canonical columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rlselect.data import LOADERS, DataError, load, load_records
from rlselect.data.arith import FAMILIES, LEVEL_MAX, boxed_completion

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

GOOD_GSM8K = {"question": "Ann has 3 pens and gets 4 more. How many pens?", "answer": "3+4=7\n#### 7"}
GOOD_MATH = {"problem": "What is $1+1$?", "answer": "2", "unique_id": "test/algebra/1.json", "level": 1}


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- bad rows


@pytest.mark.parametrize(
    "bad_row,message",
    [
        ({"question": "", "answer": "#### 5"}, "empty or missing question"),
        ({"question": "   ", "answer": "#### 5"}, "empty or missing question"),
        ({"question": ["not", "text"], "answer": "#### 5"}, "empty or missing question"),
        ({"question": "What?"}, "missing field 'answer'"),
        ({"question": "What?", "answer": None}, "missing field 'answer'"),
        ({"question": "What?", "answer": "no final line"}, "no '#### <final answer>' line"),
        ({"question": "What?", "answer": "work\n#### "}, "no '#### <final answer>' line"),
        ({"question": "What?", "answer": 72}, "no '#### <final answer>' line"),
        ({"answer": "#### 5"}, "missing field 'question'"),
    ],
)
def test_gsm8k_bad_row_names_file_and_row(tmp_path, bad_row, message):
    f = write_jsonl(tmp_path / "test.jsonl", [GOOD_GSM8K, GOOD_GSM8K, bad_row])
    with pytest.raises(DataError) as exc:
        load_records("gsm8k", "test", path=f)
    text = str(exc.value)
    assert str(f) in text
    assert re.search(r", row 3\b", text)  # the file's third line, counted as an editor counts
    assert message in text


def test_bad_row_error_names_the_file_when_given_a_folder(tmp_path):
    write_jsonl(tmp_path / "test.jsonl", [GOOD_GSM8K, {"question": "", "answer": "#### 1"}])
    with pytest.raises(DataError) as exc:
        load_records("gsm8k", "test", path=tmp_path)
    assert str(tmp_path / "test.jsonl") in str(exc.value)
    assert "row 2" in str(exc.value)


@pytest.mark.parametrize(
    "bad_row,message",
    [
        ({**GOOD_MATH, "problem": ""}, "empty or missing question"),
        ({k: v for k, v in GOOD_MATH.items() if k != "answer"}, "missing field 'answer'"),
        ({**GOOD_MATH, "answer": ""}, "empty or missing answer"),
        ({**GOOD_MATH, "answer": "   "}, "empty or missing answer"),
        ({**GOOD_MATH, "answer": ["2"]}, "unusable answer"),
        ({**GOOD_MATH, "answer": {"value": 2}}, "unusable answer"),
        ({**GOOD_MATH, "answer": True}, "unusable answer"),
    ],
)
def test_math500_bad_row_names_file_and_row_id(tmp_path, bad_row, message):
    other = {**GOOD_MATH, "unique_id": "test/algebra/0.json"}
    bad = {**bad_row, "unique_id": "test/geometry/99.json"}
    f = write_jsonl(tmp_path / "test.jsonl", [other, bad])
    with pytest.raises(DataError) as exc:
        load_records("math500", "test", path=f)
    text = str(exc.value)
    assert str(f) in text and "row 2 " in text and message in text
    assert "test/geometry/99.json" in text  # the row's own id


def test_numeric_answers_become_clean_strings(tmp_path):
    rows = [
        {**GOOD_MATH, "unique_id": "a", "answer": 27.0},
        {**GOOD_MATH, "unique_id": "b", "answer": 5},
        {**GOOD_MATH, "unique_id": "c", "answer": "27.0"},
        {**GOOD_MATH, "unique_id": "d", "answer": 0.25},
        {**GOOD_MATH, "unique_id": "e", "answer": "-3.0"},
    ]
    f = write_jsonl(tmp_path / "test.jsonl", rows)
    answers = [r["answer"] for r in load_records("math500", "test", path=f)]
    assert answers == ["27", "5", "27", "0.25", "-3"]


def test_duplicate_ids_are_rejected(tmp_path):
    f = write_jsonl(tmp_path / "test.jsonl", [GOOD_MATH, {**GOOD_MATH, "problem": "Other?"}, GOOD_MATH])
    with pytest.raises(DataError, match=r"duplicate id, first seen at row 1$") as exc:
        load_records("math500", "test", path=f)
    assert str(f) in str(exc.value) and "row 2 " in str(exc.value)


def test_invalid_json_names_file_and_line(tmp_path):
    f = write_jsonl(tmp_path / "test.jsonl", [GOOD_GSM8K, "", '{"question": "x", "answer": '])
    with pytest.raises(DataError) as exc:
        load_records("gsm8k", "test", path=f)
    assert f"{f}, line 3" in str(exc.value) and "invalid JSON" in str(exc.value)


def test_non_object_json_line_names_file_and_line(tmp_path):
    f = write_jsonl(tmp_path / "test.jsonl", [GOOD_GSM8K, "[1, 2, 3]"])
    with pytest.raises(DataError, match=r"line 2: expected a JSON object") as exc:
        load_records("gsm8k", "test", path=f)
    assert str(f) in str(exc.value)


def test_a_file_saved_with_a_bom_and_crlf_line_ends_reads(tmp_path):
    """Windows editors write a UTF-8 BOM and CRLF: json refused line 1 ("Unexpected UTF-8 BOM")."""
    rows = [GOOD_GSM8K, {**GOOD_GSM8K, "question": "Other?"}]
    for name, text in (("l.jsonl", "".join(json.dumps(r) + "\r\n" for r in rows)), ("a.json", json.dumps(rows))):
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + text.encode())
        records = load_records("gsm8k", "test", path=tmp_path / name)
        assert [r["question"] for r in records] == [GOOD_GSM8K["question"], "Other?"]


def test_unreadable_file_is_named(tmp_path):
    f = tmp_path / "test.jsonl"
    f.write_bytes(b'{"question": "\xff\xfe", "answer": "#### 1"}\n')  # not UTF-8
    with pytest.raises(DataError, match="cannot read") as exc:
        load_records("gsm8k", "test", path=f)
    assert str(f) in str(exc.value)


def test_missing_file_and_empty_folder_are_named(tmp_path):
    with pytest.raises(DataError, match="no such file") as exc:
        load_records("gsm8k", "test", path=tmp_path / "nope.jsonl")
    assert "nope.jsonl" in str(exc.value)
    with pytest.raises(DataError, match=r"no test\.jsonl") as exc:
        load_records("gsm8k", "test", path=tmp_path)
    assert str(tmp_path) in str(exc.value) and "subfolder" not in str(exc.value)


def test_the_folder_above_a_datasets_folder_points_at_it(tmp_path):
    """data.path given the folder eval.data_dir takes (above the datasets' folders) said only 'no test.jsonl'."""
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text(json.dumps({"question": "1+1?", "answer": "#### 2"}) + "\n")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"\(its subfolders gsm8k hold one: give the dataset's own folder, e\.g\. "):
        load_records("gsm8k", "test", path=tmp_path)
    assert len(load_records("gsm8k", "test", path=tmp_path / "gsm8k")) == 1


def test_empty_file_is_an_error(tmp_path):
    f = tmp_path / "test.jsonl"
    f.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no rows") as exc:
        load_records("gsm8k", "test", path=f)
    assert str(f) in str(exc.value)


def test_json_array_file(tmp_path):
    f = tmp_path / "test.json"
    f.write_text(json.dumps([GOOD_MATH]), encoding="utf-8")
    [rec] = load_records("math500", "test", path=f)
    assert rec["answer"] == "2" and rec["id"] == "math500-test/algebra/1.json"
    f.write_text("[" + json.dumps(GOOD_MATH), encoding="utf-8")
    with pytest.raises(DataError, match="invalid JSON") as exc:
        load_records("math500", "test", path=f)
    assert str(f) in str(exc.value)


def test_unknown_dataset_lists_the_available_ones():
    with pytest.raises(DataError) as exc:
        load_records("no_such_dataset", "train")
    text = str(exc.value)
    assert "no_such_dataset" in text
    for name in ("arith", "gsm8k", "math500", "aime24", "amc23"):
        assert name in text
    assert set(LOADERS) >= {"arith", "gsm8k", "math500", "aime24", "aime25", "amc23", "dapo_math_17k"}


def test_unknown_selector_lists_the_available_ones():
    selectors = pytest.importorskip("rlselect.selectors")
    get = getattr(selectors, "get_selector", None)
    if get is None:
        pytest.skip("rlselect.selectors has no get_selector yet")
    with pytest.raises(ValueError) as exc:
        get("no_such_selector")
    assert "no_such_selector" in str(exc.value) and "random" in str(exc.value)


def test_arith_rejects_unknown_split_level_and_path(tmp_path):
    with pytest.raises(DataError, match="available: train, validation, test"):
        load_records("arith", "dev")
    with pytest.raises(DataError, match="unknown level 7"):
        load_records("arith", "train", levels=(1, 7))
    with pytest.raises(DataError, match="takes no path"):
        load_records("arith", "train", path=tmp_path)


# ----------------------------------------------------------------------------- arith

_EQUATION = re.compile(r"^\s*(\d+)\s*([-+*])\s*(\d+)\s*=\s*(\d+)\s*$")
_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
_FAMILY_OPS = {"add": ["+"], "sub": ["-"], "mul": ["*"], "two_step": ["+", "-"]}


def check_solution(solution: str) -> int:
    """Recompute a worked solution ("3+4=7, 7-2=5\\n#### 5") with a tiny parser (no eval):
    every step must be right, each step must start from the previous result, and the final line
    must repeat the last result. Returns that result."""
    work, final = solution.split("\n#### ")
    previous = None
    ops = []
    for step in work.split(","):
        m = _EQUATION.match(step)
        assert m, f"unparsable step {step!r}"
        a, op, b, c = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        assert _OPS[op](a, b) == c, f"wrong step {step!r}"
        if previous is not None:
            assert a == previous, f"step {step!r} does not continue from {previous}"
        previous = c
        ops.append(op)
    assert int(final) == previous
    return previous, ops


def recompute_from_question(question: str, family: str) -> int:
    nums = [int(x) for x in re.findall(r"\d+", question)]
    if family == "add":
        return nums[0] + nums[1]
    if family == "sub":
        return nums[0] - nums[1]
    if family == "mul":
        return nums[0] * nums[1]
    return nums[0] + nums[1] - nums[2]


def test_arith_is_deterministic_for_a_seed():
    a = load_records("arith", "train", seed=3)
    b = load_records("arith", "train", seed=3)
    c = load_records("arith", "train", seed=4)
    assert a == b
    assert [r["question"] for r in a] != [r["question"] for r in c]


def test_arith_splits_are_disjoint_and_sized():
    splits = {s: load_records("arith", s, seed=0) for s in ("train", "validation", "test")}
    assert {s: len(r) for s, r in splits.items()} == {"train": 2000, "validation": 200, "test": 300}
    questions = {s: {r["question"] for r in recs} for s, recs in splits.items()}
    assert all(len(q) == len(splits[s]) for s, q in questions.items())  # distinct within a split
    assert not questions["train"] & questions["validation"]
    assert not questions["train"] & questions["test"]
    assert not questions["validation"] & questions["test"]
    ids = [r["id"] for recs in splits.values() for r in recs]
    assert len(ids) == len(set(ids))
    small = load_records("arith", "test", seed=0, sizes={"train": 5, "validation": 5, "test": 7})
    assert len(small) == 7


def test_arith_answers_are_the_true_results_and_meta_is_complete():
    recs = load_records("arith", "train", seed=0) + load_records("arith", "test", seed=0)
    families, levels = set(), set()
    for r in recs:
        meta = r["meta"]
        assert set(meta) == {"level", "family", "corrupted", "solution", "low_utility"}
        assert meta["family"] in FAMILIES and meta["level"] in LEVEL_MAX
        assert meta["corrupted"] is False and meta["low_utility"] == ""
        families.add(meta["family"])
        levels.add(meta["level"])
        result, ops = check_solution(meta["solution"])
        assert ops == _FAMILY_OPS[meta["family"]]
        assert r["answer"] == str(result)
        assert r["answer"] == str(recompute_from_question(r["question"], meta["family"]))
        assert int(r["answer"]) >= 0
        assert r["source"] == "arith"
        assert r["prompt"][-1]["role"] == "user" and r["question"] in r["prompt"][-1]["content"]
        assert "\\boxed{}" in r["prompt"][-1]["content"]
    assert families == set(FAMILIES) and levels == set(LEVEL_MAX)


def test_arith_families_and_levels_can_be_restricted():
    recs = load_records("arith", "train", seed=0, families=["mul"], levels=[1], sizes={"train": 10, "test": 5})
    assert {r["meta"]["family"] for r in recs} == {"mul"}
    assert {r["meta"]["level"] for r in recs} == {1}


def test_arith_reference_completions_score_one_with_the_verifier():
    from rlselect.rewards import math_reward

    recs = load_records("arith", "validation", seed=0)
    for r in recs[:50]:
        worked = r["meta"]["solution"].split("\n####")[0]
        assert math_reward(boxed_completion(worked, r["answer"]), r["answer"]) == 1.0
        assert math_reward(boxed_completion(worked, int(r["answer"]) + 1), r["answer"]) == 0.0


# ----------------------------------------------------------------------------- load()


def test_load_returns_a_dataset_with_the_canonical_columns():
    datasets = pytest.importorskip("datasets")
    ds = load("arith", "test", seed=0, sizes={"train": 4, "validation": 2, "test": 6})
    assert isinstance(ds, datasets.Dataset)
    assert set(ds.column_names) == {"id", "question", "answer", "prompt", "source", "meta"}
    assert len(ds) == 6
    row = ds[0]
    assert isinstance(row["id"], str) and isinstance(row["answer"], str)
    assert row["prompt"][0]["role"] == "user"
    assert set(row["meta"]) == {"level", "family", "corrupted", "solution", "low_utility"}


def test_load_from_a_local_file(tmp_path):
    pytest.importorskip("datasets")
    f = write_jsonl(tmp_path / "test.jsonl", [GOOD_GSM8K])
    ds = load("gsm8k", "test", path=f)
    assert ds[0]["answer"] == "7" and ds[0]["meta"]["family"] == "gsm8k"
    assert ds[0]["meta"]["solution"] == GOOD_GSM8K["answer"]


def test_gsm8k_from_the_shared_folder_or_file():
    folder = SHARED / "gsm8k"
    if not (folder / "test.jsonl").exists():
        pytest.skip(f"shared data not found: {folder}")
    from_folder = load_records("gsm8k", "test", path=folder)
    from_file = load_records("gsm8k", "test", path=folder / "test.jsonl")
    assert from_folder == from_file
    assert len(from_folder) == 1319
    assert from_folder[0]["answer"] == "18"  # Janet's ducks
    assert from_folder[0]["id"] == "gsm8k-test-0"
