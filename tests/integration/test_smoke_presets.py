"""`make smoke-presets`, its faster half in CI: the paper presets (both schedules of a GradAlign
preset, LearnAlign's static schedule with warm-up and LoRA features) reach the end of every stage
on CPU with a random tiny model; the whole set runs in `make smoke-presets` (and as a slow test)."""

from __future__ import annotations

import json

import pytest

from rlselect.smoke import main, presets, smoke_plan


def test_every_preset_has_a_plan_covering_its_schedules():
    names = presets()
    assert {"demo", "reproduce_gsm8k", "reproduce_dapo", "gradalign_noisy"} <= set(names)
    assert smoke_plan("gradalign_noisy") == ["plain_grpo", "gradalign"]  # static and rounds
    assert smoke_plan("reproduce_dapo") == ["learnalign"]


@pytest.mark.parametrize("names", ["reproduce_dapo,gradalign_noisy"])
def test_paper_presets_reach_every_stage(tmp_path, names):
    assert main(["--presets", names, "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "presets.json").read_text())
    assert [(r["preset"], r["schedule"]) for r in rows] == [
        ("reproduce_dapo", "static"),
        ("gradalign_noisy", "static"),
        ("gradalign_noisy", "rounds"),
    ]
    for r in rows:
        assert r["ok"] and r["train_steps"] == 2 and {"train", "eval_trained"} <= set(r["stages"])
        # the rounds schedule rolls out each round's chunk inside training, not the pool before it
        assert ("rollouts" in r["stages"]) == (r["schedule"] == "static")
    assert "warmup" in rows[0]["stages"]  # LearnAlign's warm-up ran before scoring


@pytest.mark.slow
def test_all_presets_reach_every_stage(tmp_path):
    assert main(["--out", str(tmp_path)]) == 0
