"""A study's runs.jsonl holds one record per run: a run found finished (made earlier, perhaps with another
results_dir) adds its record when it is missing and never twice."""

from __future__ import annotations

import json

from omegaconf import OmegaConf

from rlselect.cache import append_jsonl_once, run_record_key
from rlselect.pipeline import run

RECORD = {"selector": "random", "schedule": "static", "budget": 64, "seed": 0, "data": "digits", "variant": None}


def test_append_once_keys_on_the_run_not_on_its_numbers(tmp_path):
    path = tmp_path / "s" / "runs.jsonl"
    assert append_jsonl_once(path, RECORD | {"metrics": {"a": 1}})
    assert not append_jsonl_once(path, RECORD | {"metrics": {"a": 2}, "run_dir": "/elsewhere"})  # same run
    assert append_jsonl_once(path, RECORD | {"seed": 1})
    assert append_jsonl_once(path, RECORD | {"variant": "no_var"})
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(r["seed"], r["variant"]) for r in lines] == [(0, None), (1, None), (0, "no_var")]
    assert run_record_key(lines[0]) != run_record_key(lines[2])


def test_append_once_skips_unreadable_lines(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text("{not json\n" + json.dumps(RECORD) + "\n")
    assert not append_jsonl_once(path, RECORD)
    assert append_jsonl_once(path, RECORD | {"budget": 32})


def test_a_finished_run_lands_in_this_studys_records_once(tmp_path):
    run_dir = tmp_path / "runs" / "random-static-b64-s0"
    run_dir.mkdir(parents=True)
    record = RECORD | {"study": "st", "metrics": {}, "base_metrics": {}, "cost": {"seconds": {"total": 95.0}}}
    (run_dir / "result.json").write_text(json.dumps(record))
    cfg = OmegaConf.create({"results_dir": str(tmp_path / "results"), "study": "st", "seed": 0, "cache_dir": "c"})
    for _ in range(2):  # found finished twice: recorded once, nothing recomputed
        assert run(cfg, run_dir) == record
    lines = (tmp_path / "results" / "st" / "runs.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines] == [record]


def test_run_summary_shows_the_accuracy_table_or_says_why_there_is_none():
    from rlselect.pipeline import run_summary

    cost = {"seconds": {"total": 12.0, "selection": 1.0}}
    trained = RECORD | {
        "run_dir": "/runs/demo/random-static-b64-s0",
        "metrics": {"arith": {"accuracy": 0.5}},
        "base_metrics": {"arith": {"accuracy": 0.4}},
        "cost": cost,
    }
    text = run_summary(trained, "random-static-b64-s0")
    assert "| arith | 40.0 | 50.0 | +10.0 |" in text and "selection 1" in text
    picked = trained | {"metrics": {}, "base_metrics": {}, "selection_only": True}
    text = run_summary(picked, "random-static-b64-s0")
    assert "| benchmark |" not in text  # no empty table
    assert (
        "selection only (selection_only=true): the selected ids are in /runs/demo/random-static-b64-s0/selection.json"
        in text
    )
