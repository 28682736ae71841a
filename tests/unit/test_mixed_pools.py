"""The loaders behind GradAlign's real-data regimes: a mixture of datasets tagged by family, and
the WebInstruct corpus, read from local files (the hub is never reached in tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from rlselect.data import DataError, load_records
from rlselect.data.regimes import apply_regime


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def gsm8k_dir(tmp_path):
    rows = [{"question": f"What is {i} + 1?", "answer": f"{i}+1={i + 1}\n#### {i + 1}"} for i in range(40)]
    _write_jsonl(tmp_path / "gsm8k" / "train.jsonl", rows)
    return tmp_path / "gsm8k"


@pytest.fixture
def dapo_file(tmp_path):
    rows = [{"prompt": f"Compute {i} * 3.", "solution": str(3 * i), "id": i} for i in range(90)]
    return _write_jsonl(tmp_path / "dapo" / "train.jsonl", rows)


def _components(gsm8k_dir, dapo_file):
    return [
        {"name": "dapo_math_17k", "path": str(dapo_file), "family": "dapo", "splits": {"validation": None}},
        {
            "name": "gsm8k",
            "path": str(gsm8k_dir),
            "family": "gsm8k",
            "splits": {"validation": "train"},
            "slices": {"train": [0, 30], "validation": [30, None]},
        },
    ]


def test_mixture_tags_families_and_holds_out_the_validation_slice(gsm8k_dir, dapo_file):
    comps = _components(gsm8k_dir, dapo_file)
    pool = load_records("mixture", "train", components=comps)
    val = load_records("mixture", "validation", components=comps)
    assert len(pool) == 90 + 30 and len(val) == 10
    assert {r["meta"]["family"] for r in pool} == {"dapo", "gsm8k"}
    assert {r["meta"]["family"] for r in val} == {"gsm8k"}
    assert not {r["id"] for r in pool} & {r["id"] for r in val}
    mixed = apply_regime(pool, "imbalance", 0, target_family="gsm8k", target_share=0.1)
    assert sum(r["meta"]["family"] == "gsm8k" for r in mixed) == 10  # 10 of 100: the target is rare


def test_mixture_errors_name_the_problem(gsm8k_dir, dapo_file):
    with pytest.raises(DataError, match="components is empty"):
        load_records("mixture", "train", components=[])
    with pytest.raises(DataError, match=r"components\[0\] has no `name`"):
        load_records("mixture", "train", components=[{"path": "x"}])
    with pytest.raises(DataError, match="no component has a 'test' split"):
        load_records(
            "mixture", "test", components=[{"name": "gsm8k", "path": str(gsm8k_dir), "splits": {"test": None}}]
        )
    with pytest.raises(DataError, match="unknown dataset 'nope'"):
        load_records("mixture", "train", components=[{"name": "nope"}])


def test_the_imbalance_preset_runs_its_data_stage_on_local_files(gsm8k_dir, dapo_file):
    """gradalign_imbalance's data config, with the component paths pointed at local files."""
    from hydra import compose, initialize_config_dir

    from rlselect.cli import CONF_DIR
    from rlselect.pipeline import load_pool

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["experiment=gradalign_imbalance"])
    data = OmegaConf.to_container(cfg.data, resolve=True)
    data["kwargs"]["components"][0]["path"] = str(dapo_file)
    data["kwargs"]["components"][1]["path"] = str(gsm8k_dir)
    data["kwargs"]["components"][1]["slices"] = {"train": [0, 30], "validation": [30, None]}
    pool, val = load_pool(data, seed=0)
    assert sum(r["meta"]["family"] == "gsm8k" for r in pool) == 10
    assert val and all(r["meta"]["family"] == "gsm8k" for r in val)


def test_webinstruct_rows_limit_and_flags(tmp_path):
    rows = [
        {"id": f"w{i}", "question": f"Q{i}?", "answer": str(i), "category": "Physics", "suspect": i % 3 == 0}
        for i in range(12)
    ]
    f = _write_jsonl(tmp_path / "webinstruct.jsonl", rows)
    recs = load_records("webinstruct", "train", path=f, limit=9, low_utility_field="suspect")
    assert len(recs) == 9 and recs[0]["id"] == "webinstruct-w0" and recs[0]["meta"]["family"] == "physics"
    assert [r["meta"]["low_utility"] for r in recs].count("flagged") == 3
    plain = load_records("webinstruct", "train", path=f)
    assert len(plain) == 12 and not any(r["meta"]["low_utility"] for r in plain)


def test_webinstruct_bad_rows_are_named(tmp_path):
    f = _write_jsonl(
        tmp_path / "w.jsonl", [{"id": "a", "question": "Q?", "answer": "1"}, {"id": "b", "question": "Q?"}]
    )
    with pytest.raises(DataError, match=r"w.jsonl, row 2 \(id 'b'\): missing field 'answer'"):
        load_records("webinstruct", "train", path=f)
    with pytest.raises(DataError, match="missing field 'flag'"):
        load_records("webinstruct", "train", path=f, low_utility_field="flag")


def test_dapo_original_format_keeps_the_first_copy_and_names_bad_rows(tmp_path):
    head, tail = (
        "Solve. The last line is 'Answer: $Answer' where $Answer is the answer to the problem.",
        ('Remember to put your answer on its own line after "Answer:".'),
    )
    rows = [
        {
            "prompt": [{"role": "user", "content": f"{head}\n\nWhat is {i % 3} + 1?\n\n{tail}"}],
            "reward_model": {"ground_truth": str(i % 3 + 1)},
            "extra_info": {"index": i % 3},
        }
        for i in range(7)
    ]
    recs = load_records("dapo_math_17k", "train", path=_write_jsonl(tmp_path / "dapo.jsonl", rows))
    assert [r["id"] for r in recs] == ["dapo-0", "dapo-1", "dapo-2"]
    assert recs[1]["question"] == "What is 1 + 1?" and recs[1]["answer"] == "2"
    bad = _write_jsonl(
        tmp_path / "bad.jsonl", [{"prompt": "Q", "solution": "1", "id": 0}, {"prompt": "Q", "solution": [1], "id": 1}]
    )
    with pytest.raises(DataError, match=r"bad.jsonl, row 2 \(id 1\): unusable answer \[1\]"):
        load_records("dapo_math_17k", "train", path=bad)
