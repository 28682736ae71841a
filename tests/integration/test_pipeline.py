"""The Hydra app end to end on tiny settings: compose the real configs, run the main function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rlselect
from tiny_config import compose_tiny


@pytest.fixture
def compose_cfg(shared_cache_dir, tmp_path):
    return lambda *overrides: compose_tiny(shared_cache_dir, tmp_path / "results", *overrides)


def test_pipeline_runs_end_to_end_and_records_the_run(tmp_path, compose_cfg):
    from rlselect.pipeline import run

    cfg = compose_cfg("selector=random", "seed=3")
    record = run(cfg, tmp_path / "run")
    assert record["selector"] == "random" and record["seed"] == 3 and record["budget"] == 4
    assert record["evaluator"] == "lm-evaluation-harness"
    assert record["code"] == rlselect.code_commit()  # the commit that made the record
    assert record["platform"] == rlselect.compute_platform() and ", torch " in record["platform"]  # float kernels
    assert record["metrics"]["arith"]["n_problems"] == 6 and record["metrics"]["arith"]["limit"] == 6
    assert 0.0 <= record["metrics"]["arith"]["accuracy"] <= 1.0
    assert record["selection"]["n"] == 4
    assert "corrupted_share" not in record["selection"]  # no ground truth without a regime
    diag = record["selection"]["diagnostics"]
    assert 0.0 <= diag["zero_variance_share"] <= 1.0 and "ranking_auc" not in diag
    # random does not read the rollouts (they only feed the record's summary): not charged to it
    assert record["cost"]["rollouts_generated"] == 0 and record["cost"]["seconds"]["rollouts"] == 0.0
    assert record["cost"]["seconds"]["rollouts_wall"] >= 0.0
    lines = (tmp_path / "results" / "t" / "runs.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["seed"] == 3
    # the trained model and the selection are on disk
    assert (tmp_path / "run" / "train" / "final" / "train_summary.json").exists()
    ids = json.loads((tmp_path / "run" / "selection.json").read_text())["ids"]
    assert len(ids) == 4 and len(set(ids)) == 4

    # A rerun of the finished run does no work and returns the same record.
    again = run(cfg, tmp_path / "run")
    assert again == record
    assert len((tmp_path / "results" / "t" / "runs.jsonl").read_text().splitlines()) == len(lines)


def test_noisy_regime_reports_the_corrupted_share(compose_cfg):
    from rlselect.pipeline import load_pool
    from rlselect.selection import selection_summary

    cfg = compose_cfg("data.regime=noisy_reward", "+data.regime_params.noisy_fraction=0.5")
    from omegaconf import OmegaConf

    pool, val = load_pool(OmegaConf.to_container(cfg.data, resolve=True), seed=0)
    share = sum(r["meta"]["corrupted"] for r in pool) / len(pool)
    assert 0.3 < share < 0.7
    assert not any(r["meta"]["corrupted"] for r in val)  # the trusted set stays clean
    summary = selection_summary(pool, {}, "noisy_reward")
    assert summary["corrupted_share"] == pytest.approx(share)


@pytest.mark.parametrize(
    "override, message",
    [
        ("selector.name=nope", "available: "),
        ("data.name=nope", "available: "),
        ("budget=10000", "budget=10000"),
        ("schedule.name=weekly", "available: static"),
        ("budget=abc", "budget='abc' is not an integer"),  # a typo on the command line reaches the config as str
        ("budget=12.5", "budget=12.5 is not an integer"),  # refused, not truncated
        ("seed=-1", "seed=-1 is out of range"),  # numpy refused it only after the rollouts and the selection
        ("model.name=/no/such/ckpt", "model.name='/no/such/ckpt': no such checkpoint folder"),  # not a hub error
        # each of these surfaced only in the stage that reads it: after the rollouts, the warm-up or training
        ("rollouts.backend=vlm", "rollouts.backend='vlm'; available: hf, vllm"),  # was: HF rollouts, silently
        ("rollouts.G=0", "rollouts.G=0 is out of range"),  # was: a tensor reshape error
        ("schedule=rounds schedule.keep_fraction=1.5", "schedule.keep_fraction=1.5; choose a number in (0.0, 1.0]"),
        ("trainer.max_steps=0", "trainer.max_steps=0 is out of range"),
        ("features.token_agg=mean", "features.token_agg='mean'; available: seq_mean"),
        ("features.mode=streaming", "features.mode=streaming but features.projection.dim=64"),
        ("trainer.budget_mode=epochs", "trainer.budget_mode='epochs'; available: equal_steps"),
        ("+trainer.args.num_generation=8", "trainer.args: unknown field(s) num_generation"),
        # these were a TypeError from the optimizer after the selection, and a traceback after the warm start
        ("trainer.args.learning_rate=abc", "trainer.args.learning_rate='abc': trl.GRPOConfig takes a float"),
        ("trainer.args.num_generations=8.5", "trainer.args.num_generations=8.5: trl.GRPOConfig takes an int or None"),
        ("model.dtype=bf16", "model.dtype='bf16'; use float32, bfloat16"),
        ("rollouts.top_p=1.5", "rollouts.top_p=1.5; choose a number in (0.0, 1.0]"),  # was: no truncation, silently
        ("rollouts.temperature=-1", "rollouts.temperature=-1; choose a number in [0.0, inf]"),  # was: greedy
        ("data.val_size=0", "data.val_size=0 is out of range"),  # was: the whole validation split
        (
            "variant=lr/1e-5",
            "variant='lr/1e-5': a variant names run directories",
        ),  # was: runs/<study>/random-lr/1e-5-...
        ("eval.dtype=fp16", "eval.dtype='fp16'; use float32, bfloat16"),
        ("eval.runs.0.benchmarks=[gsm9k]", "unknown benchmark 'gsm9k'; available: "),
        ("eval.runs.0.protocol=avg", "unknown protocol 'avg'"),
        ("+eval.runs.0.temprature=0.7", "eval.runs[0]: "),
        ("eval.backend=vlm", "backend must be auto, hf or vllm"),
        ("eval=gsm8k_greedy", "eval.device=cuda: these settings need a CUDA device"),  # was: after training
        ("schedule=rounds selection_only=true", "schedule=rounds selects during training"),  # was: it trained
        ("model.path=/", "model.path='/': not a checkpoint folder (no config.json"),  # was: ignored by model=tiny
        ("selector=full schedule=rounds", "selector=full with schedule=rounds would keep"),  # was: a random subset
    ],
)
def test_bad_configuration_fails_before_any_expensive_stage(tmp_path, compose_cfg, override, message):
    import torch

    from rlselect.pipeline import run
    from rlselect.run_config import is_refusal

    if "CUDA" in message and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")

    cfg = compose_cfg(*override.split(), f"cache_dir={tmp_path / 'fresh_cache'}")
    with pytest.raises(Exception) as err:
        run(cfg, tmp_path / "run")
    assert message in str(err.value)
    assert is_refusal(err.value)  # the CLI prints its message alone and exits 2
    assert not (tmp_path / "fresh_cache").exists()  # nothing expensive started


def test_a_prompt_longer_than_the_models_positions_is_dropped_before_any_stage(tmp_path, compose_cfg, caplog):
    """A 12,000-token question asked the 512-position tiny model's attention for 48 GB in the rollouts."""
    import json
    import logging

    from rlselect.pipeline import run

    rows = [{"question": f"What is {i} + {i}?", "answer": f"so #### {2 * i}"} for i in range(1, 12)]
    rows.insert(3, {"question": "What is " + " + ".join(["1"] * 3000) + "?", "answer": "#### 3000"})
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = compose_cfg("data=gsm8k", f"data.path={tmp_path / 'gsm8k'}", "selector=full", "selection_only=true")
    with caplog.at_level(logging.WARNING, logger="rlselect"):
        record = run(cfg, tmp_path / "run")
    (line,) = [r.getMessage() for r in caplog.records if "prompts longer than" in r.getMessage()]
    assert line.startswith("pool: dropped 1 of 12 prompts longer than the model's 512 positions: gsm8k-train-3 (")
    selected = json.loads((tmp_path / "run" / "selection.json").read_text())["ids"]
    assert len(selected) == record["selection"]["n"] == 11 and "gsm8k-train-3" not in selected


def test_a_run_dir_is_not_reused_by_another_configuration(tmp_path, compose_cfg):
    """The directory name holds selector, schedule, budget and seed only: a finished run must not be
    reported as the result of a run that changed, say, the learning rate."""
    from rlselect.pipeline import run
    from rlselect.run_config import RunDirConflict, is_refusal

    base = ("selector=accuracy_band", "selection_only=true")
    first = run(compose_cfg(*base), tmp_path / "run")
    with pytest.raises(RunDirConflict, match=r"trainer.args.learning_rate: 3e-05 -> 0.0001.*variant=<label>"):
        run(compose_cfg(*base, "trainer.args.learning_rate=1e-4"), tmp_path / "run")
    with pytest.raises(RunDirConflict, match=r"data.pool_size: 16 -> 12"):
        run(compose_cfg(*base, "data.pool_size=12"), tmp_path / "run")
    for typo, message in (
        ("selector.params.lo=abc", "selector.params.lo='abc'"),
        ("rollouts.G=0", "rollouts.G=0 is out"),
    ):
        with pytest.raises(ValueError, match=message) as err:  # the typo is named, not the conflict it makes
            run(compose_cfg(*base, typo), tmp_path / "run")
        assert not isinstance(err.value, RunDirConflict) and is_refusal(err.value)
    # where results go, how loudly and in what batches are not part of a run: the finished run is reused
    knobs = ("verbose=true", f"results_dir={tmp_path / 'elsewhere'}", "features.batch_size=2")
    again = run(compose_cfg(*base, *knobs), tmp_path / "run")
    assert again == first
    replaced = run(compose_cfg(*base, "data.pool_size=12", "force=true"), tmp_path / "run")
    assert json.loads((tmp_path / "run" / "run_config.json").read_text())["data"]["pool_size"] == 12
    assert run(compose_cfg(*base, "data.pool_size=12"), tmp_path / "run") == replaced  # it is now that run's


def test_a_run_whose_evaluation_failed_is_finished_with_new_eval_settings_without_retraining(tmp_path, compose_cfg):
    """Training done, evaluation failed (here: a benchmark file with a bad row): the rerun with the
    evaluation fixed keeps the selection and training."""
    from rlselect.pipeline import run
    from rlselect.run_config import RunDirConflict

    (tmp_path / "data" / "gsm8k").mkdir(parents=True)
    (tmp_path / "data" / "gsm8k" / "test.jsonl").write_text('{"question": "What is 1 + 1?"}\n')  # no answer
    base = ("selector=random", "eval.runs.0.benchmarks=[gsm8k]", f"eval.data_dir={tmp_path / 'data'}")
    with pytest.raises(Exception, match=r"test.jsonl, row 1.*answer"):
        run(compose_cfg(*base), tmp_path / "run")
    summary, selection = (
        tmp_path / "run" / "train" / "final" / "train_summary.json",
        tmp_path / "run" / "selection.json",
    )
    trained, selected = summary.stat().st_mtime_ns, selection.stat().st_mtime_ns
    record = run(compose_cfg("selector=random", "eval.runs.0.benchmarks=[arith]"), tmp_path / "run")
    assert set(record["metrics"]) == {"arith"} and summary.stat().st_mtime_ns == trained  # not retrained
    assert selection.stat().st_mtime_ns == selected  # not selected again: the first attempt's selection and cost
    saved = json.loads(selection.read_text())
    assert (
        record["selection"]["n"] == 4
        and record["cost"]["seconds"]["selection"] == saved["cost"]["seconds"]["selection"]
    )
    with pytest.raises(RunDirConflict, match="eval.runs"):  # once finished, its evaluation is part of its result
        run(compose_cfg(*base), tmp_path / "run")

    # reevaluate=true: the finished run is evaluated again with the new settings, training kept; the new
    # record is the one the report reads, and the earlier result stays beside it
    from rlselect.pipeline import is_finished
    from rlselect.report.build import load_runs

    again = compose_cfg("selector=random", "eval.runs.0.benchmarks=[arith]", "eval.limit=4", "reevaluate=true")
    assert not is_finished(again, tmp_path / "run")
    redone = run(again, tmp_path / "run")
    assert redone["metrics"]["arith"]["n_problems"] == 4 and summary.stat().st_mtime_ns == trained
    assert redone["cost"]["seconds"]["train"] == json.loads(summary.read_text())["seconds"]  # what training took
    assert [
        json.loads(p.read_text())["metrics"]["arith"]["n_problems"] for p in (tmp_path / "run").glob("result.*.json")
    ] == [6]
    (latest,) = [r for r in load_runs(tmp_path / "results" / "t" / "runs.jsonl") if r["selector"] == "random"]
    assert latest["metrics"]["arith"]["n_problems"] == 4
    assert is_finished(again, tmp_path / "run") and run(again, tmp_path / "run") == redone  # nothing changed: read


def test_a_selection_study_is_carried_on_to_training_with_its_selection(tmp_path, compose_cfg):
    """selection_only=true, a look at what was picked, then the same run without it: the selection
    stands (not recomputed), the run trains and evaluates it; the study's record is kept beside."""
    from rlselect.pipeline import is_finished, run
    from rlselect.run_config import RunDirConflict

    run_dir = tmp_path / "run"
    study = run(compose_cfg("selector=accuracy_band", "selection_only=true"), run_dir)
    selected = (run_dir / "selection.json").stat().st_mtime_ns
    full = compose_cfg("selector=accuracy_band", "eval.limit=4")
    assert not is_finished(full, run_dir)
    record = run(full, run_dir)
    assert (run_dir / "selection.json").stat().st_mtime_ns == selected
    assert record["selection"] == study["selection"] and not record.get("selection_only")
    assert record["metrics"]["arith"]["n_problems"] == 4 and record["cost"]["train_steps"] > 0
    assert [json.loads(p.read_text()).get("selection_only") for p in run_dir.glob("result.*.json")] == [True]
    assert is_finished(full, run_dir)
    with pytest.raises(RunDirConflict, match=r"selection_only: False -> True"):  # a trained run is no study
        run(compose_cfg("selector=accuracy_band", "eval.limit=4", "selection_only=true"), run_dir)


def test_unknown_config_key_is_named(compose_cfg):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException) as err:
        compose_cfg("trainer.args.learning_rat=1e-4")
    assert "learning_rat" in str(err.value)


def test_unknown_grpo_field_is_named(tmp_path):
    from rlselect.train.grpo import build_grpo_config

    with pytest.raises(ValueError) as err:
        build_grpo_config({"use_cpu": True, "num_generation": 8}, tmp_path, 1, 0, "none")
    assert "num_generation" in str(err.value) and "trainer.args" in str(err.value)


def test_validation_set_without_learnable_items_is_refused_naming_the_setting_that_sets_its_rollouts(monkeypatch):
    """The message named features.val_G in rounds too, where schedule.k_v sets the validation rollouts."""
    import rlselect.rollouts.generate
    from rlselect.selection import gather_inputs
    from rlselect.selectors import get_selector
    from rlselect.selectors.base import NoValidationSignal

    val = [{"id": f"v{i}", "prompt": [{"role": "user", "content": "q"}]} for i in range(3)]
    equal = [{"id": f"v{i}", "completions": ["a", "b"], "rewards": [1.0, 1.0], "p": 1.0} for i in range(3)]
    monkeypatch.setattr(rlselect.rollouts.generate, "sample_rows", lambda *a, **kw: equal)
    cfg = {"rollouts": {"G": 8}, "features": {"val_G": 2, "mode": "streaming"}, "selector": {"params": {}}}
    kw = dict(cfg=cfg, cache_dir=Path("unused"), base_model_path="unused", model=object(), round_seed=1)
    with pytest.raises(NoValidationSignal, match=r"all 3 validation groups .* \(schedule.k_v=4\)$"):
        gather_inputs(get_selector("gradalign"), [], [], val, val_G=4, **kw)
    with pytest.raises(NoValidationSignal, match=r"\(features.val_G=2\)$"):
        gather_inputs(get_selector("gradalign"), [], [], val, **kw)


def test_selection_only_runs_record_the_selection_without_training(tmp_path, compose_cfg):
    from rlselect.pipeline import run

    cfg = compose_cfg("selector=accuracy_band", "selection_only=true")
    record = run(cfg, tmp_path / "run")
    assert record["selection_only"] and record["metrics"] == {} and record["selection"]["n"] == 4
    assert "train" not in record["cost"]["stage_pids"] and not (tmp_path / "run" / "train").exists()
    assert len(json.loads((tmp_path / "run" / "selection.json").read_text())["ids"]) == 4


def test_a_selector_that_keeps_fewer_than_the_budget_is_warned_about(tmp_path, compose_cfg, caplog):
    """A user's filter (the README's `hardest`) may keep fewer prompts than the budget: the run trains on
    those, and the table's budget column would not say so."""
    import logging

    from rlselect.pipeline import run
    from rlselect.selectors.base import SELECTORS, register_selector

    @register_selector("test_first_three")
    def first_three(inputs, budget: int, seed: int):
        return inputs.ids[:3]

    try:
        with caplog.at_level(logging.WARNING, logger="rlselect"):
            record = run(compose_cfg("selector=random", "selector.name=test_first_three", "budget=8"), tmp_path / "r")
    finally:
        SELECTORS.pop("test_first_three")
    assert record["selection"]["n"] == 3 and record["budget"] == 8
    assert "test_first_three kept 3 prompts, fewer than budget=8: the run trains on those 3" in caplog.text


def test_an_unlearnable_validation_set_is_refused_before_the_pools_rollouts(tmp_path, compose_cfg, monkeypatch):
    """GradAlign's zero g_V was found in the selection stage, after the pool's rollouts (pool/val times
    the validation set's cost); the validation rollouts, which selection reads from the cache, come first."""
    import rlselect.rollouts.stage
    from rlselect.pipeline import run
    from rlselect.run_config import is_refusal
    from rlselect.selectors.base import NoValidationSignal

    real, calls = rlselect.rollouts.stage.rollout_stage, []

    def every_one_wrong(model_path, records, cfg, cache_dir, **kw):
        calls.append(len(records))
        return [
            {**row, "rewards": [0.0] * len(row["rewards"]), "p": 0.0}
            for row in real(model_path, records, cfg, cache_dir, **kw)
        ]

    monkeypatch.setattr(rlselect.rollouts.stage, "rollout_stage", every_one_wrong)
    cfg = compose_cfg("selector=gradalign", "budget=4", "data.val_size=3", "features.val_G=2")
    with pytest.raises(NoValidationSignal, match=r"equal rewards at the base model .*\(features.val_G=2\)") as e:
        run(cfg, tmp_path / "run")
    assert is_refusal(e.value) and calls == [3]  # the validation set's rollouts alone
