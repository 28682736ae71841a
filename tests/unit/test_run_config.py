"""run_config: the keys that differ between two configurations of one run directory."""

from __future__ import annotations

import pytest

from rlselect.run_config import RunDirConflict, check_run_dir, claim_run_dir, differences


def test_differences_name_dotted_keys_and_count_the_rest():
    old = {"seed": 0, "trainer": {"args": {"learning_rate": 3e-5, "beta": 0.0}}, "data": {"regime_params": {}}}
    new = {"seed": 0, "trainer": {"args": {"learning_rate": 1e-4, "beta": 0.0}}, "data": {"regime_params": {"p": 1}}}
    assert differences(old, new) == [
        "data.regime_params: {} -> '(unset)'",
        "data.regime_params.p: '(unset)' -> 1",
        "trainer.args.learning_rate: 3e-05 -> 0.0001",
    ]
    many = differences({f"k{i}": i for i in range(8)}, {f"k{i}": -i - 1 for i in range(8)}, most=5)
    assert many[:5] == [f"k{i}: {i} -> {-i - 1}" for i in range(5)] and many[5] == "and 3 more"


def test_a_claimed_dir_accepts_its_own_config_only(tmp_path):
    check_run_dir(tmp_path, {"seed": 0})  # nothing claimed yet (or a run dir of an older rlselect)
    claim_run_dir(tmp_path, {"seed": 0, "budget": 4})
    check_run_dir(tmp_path, {"seed": 0, "budget": 4})
    with pytest.raises(RunDirConflict, match=r"budget: 4 -> 8\). .*force=true"):
        check_run_dir(tmp_path, {"seed": 0, "budget": 8})


def test_a_run_not_finished_may_change_its_evaluation_only(tmp_path):
    claim_run_dir(tmp_path, {"seed": 0, "eval": {"data_dir": None, "limit": 6}})
    new_eval = {"seed": 0, "eval": {"data_dir": "/data", "limit": 6}}
    assert check_run_dir(tmp_path, new_eval) == ["eval.data_dir: None -> '/data'"]
    with pytest.raises(RunDirConflict, match="eval.data_dir"):  # a finished run's result came from the old one
        check_run_dir(tmp_path, new_eval, finished=True)
    with pytest.raises(RunDirConflict, match=r"seed: 0 -> 1"):  # anything else still conflicts
        check_run_dir(tmp_path, {"seed": 1, "eval": {"data_dir": "/data", "limit": 6}})


def test_a_run_not_finished_may_be_carried_on_past_its_selection(tmp_path):
    claim_run_dir(tmp_path, {"seed": 0, "selection_only": True, "eval": {"limit": None}})
    full = {"seed": 0, "selection_only": False, "eval": {"limit": 6}}
    assert check_run_dir(tmp_path, full) == ["eval.limit: None -> 6", "selection_only: True -> False"]
    with pytest.raises(RunDirConflict, match=r"seed: 0 -> 1"):
        check_run_dir(tmp_path, {**full, "seed": 1})


def test_memory_and_output_knobs_are_not_part_of_a_runs_identity():
    from omegaconf import OmegaConf

    from rlselect.run_config import run_identity

    def cfg(**over):
        base = {
            "seed": 0,
            "force": False,
            "results_dir": "results",
            "rollouts": {"G": 8, "batch_size": 64, "vllm": {"gpu_memory_utilization": 0.85}},
            "trainer": {"args": {"learning_rate": 3e-5, "vllm_gpu_memory_utilization": 0.3}},
        }
        return OmegaConf.merge(OmegaConf.create(base), OmegaConf.from_dotlist([f"{k}={v}" for k, v in over.items()]))

    same = run_identity(cfg())
    assert "force" not in same and "batch_size" not in same["rollouts"] and same["rollouts"]["vllm"] == {}
    for knob in (
        "force",
        "results_dir",
        "rollouts.batch_size",
        "rollouts.vllm.gpu_memory_utilization",
        "trainer.args.vllm_gpu_memory_utilization",
    ):
        assert run_identity(cfg(**{knob: 1})) == same, knob  # e.g. a lower vLLM share after an OOM resumes
    for key in ("seed", "rollouts.G", "trainer.args.learning_rate"):
        assert run_identity(cfg(**{key: 1})) != same, key


def test_a_run_dir_computed_by_another_process_stops_a_second_one_at_once(tmp_path):
    import json

    from rlselect.pipeline import run
    from rlselect.run_config import RunInProgress, run_identity, run_lock
    from tiny_config import compose_tiny

    cfg = compose_tiny(tmp_path / "cache", tmp_path / "results", "selector=random")
    run_dir = tmp_path / "runs" / "random-static-b4-s0"
    run_dir.mkdir(parents=True)
    with run_lock(run_dir):  # another process is computing this run
        with pytest.raises(RunInProgress, match=r"random-static-b4-s0 is being computed by another process \(pid \d+"):
            run(cfg, run_dir)
        assert sorted(p.name for p in run_dir.iterdir()) == ["run.lock", "run_owner.json"]  # nothing touched
        assert not (tmp_path / "cache").exists()
        # ... and once it has finished, its result is read without waiting for the lock
        claim_run_dir(run_dir, run_identity(cfg))
        record = {"selector": "random", "metrics": {}, "base_metrics": {}, "cost": {"seconds": {"total": 1.0}}}
        (run_dir / "result.json").write_text(json.dumps(record))
        assert run(cfg, run_dir)["selector"] == "random"


def test_a_sweep_skips_a_run_another_process_is_computing(tmp_path):
    import subprocess
    import sys

    from rlselect.run_config import run_lock

    run_dir = tmp_path / "runs" / "t" / "random-static-b16-s0"
    run_dir.mkdir(parents=True)
    with run_lock(run_dir):
        out = subprocess.run(
            [sys.executable, "-m", "rlselect.cli", "-m", "experiment=demo", "selector=random", "seed=0", "budget=16"]
            + ["study=t", "logger=none", f"hydra.sweep.dir={tmp_path}/runs/t", f"results_dir={tmp_path}/results"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "skipped: " in out.stdout + out.stderr and "is being computed by another process" in out.stdout + out.stderr
    assert not (run_dir / "failed.json").exists() and not (tmp_path / "results").exists()
