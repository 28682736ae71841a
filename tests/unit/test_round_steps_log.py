"""rounds/steps.jsonl, the prompts of each optimizer step: one line per step, also after a resume."""

from __future__ import annotations

import json
from types import SimpleNamespace

from rlselect.train.rounds import RoundSchedule


def schedule(tmp_path) -> RoundSchedule:
    by_id = {f"p{i}": {"id": f"p{i}", "prompt": f"q{i}", "answer": str(i), "meta": {}} for i in range(8)}
    return RoundSchedule(
        by_id,
        chunk=lambda t: sorted(by_id),
        select_round=lambda model, t, ids: (ids[:4], {"n": 4}),
        steps_per_round=2,
        prompts_per_step=2,
        rounds_dir=tmp_path,
        seed=0,
    )


def train(sched: RoundSchedule, first_step: int, last_step: int) -> None:
    """Steps first_step+1 .. last_step of a trainer that starts (or resumes) at global_step first_step."""
    trainer = SimpleNamespace(
        model=SimpleNamespace(training=True),
        state=SimpleNamespace(global_step=first_step),
        _generate_and_score_completions=lambda inputs: inputs,
    )
    sched.attach(trainer)
    for step in range(first_step, last_step):
        trainer.state.global_step = step
        trainer._generate_and_score_completions([{"slot": 0}, {"slot": 1}])


def logged_steps(tmp_path) -> list[int]:
    return [json.loads(line)["step"] for line in (tmp_path / "steps.jsonl").read_text().splitlines()]


def test_a_resumed_run_logs_each_step_once(tmp_path):
    train(schedule(tmp_path), 0, 5)  # killed after generating step 5; its last checkpoint holds step 2
    with (tmp_path / "steps.jsonl").open("a") as fh:
        fh.write('{"step": 6, "rou')  # a line cut short by the kill
    train(schedule(tmp_path), 2, 6)
    assert logged_steps(tmp_path) == [1, 2, 3, 4, 5, 6]
    rounds = [json.loads(line)["round"] for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert rounds == [0, 0, 1, 1, 2, 2]


def test_a_fresh_run_keeps_its_log(tmp_path):
    train(schedule(tmp_path), 0, 3)
    assert logged_steps(tmp_path) == [1, 2, 3]
