"""`make gpu-smoke`'s code path on CPU (tiny shape, float32): every stage runs and is recorded."""

from __future__ import annotations

import json

import pytest
import torch

from rlselect.gpu_smoke import main


def test_gpu_smoke_runs_every_stage_on_cpu(tmp_path):
    out = tmp_path / "smoke.json"
    assert main(["--shape", "tiny", "--device", "cpu", "--dtype", "float32", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    stages = set(result["stages"])
    assert {
        "build_model",
        "rollouts_hf",
        "features_streaming",
        "features_projected",
        "grpo_3_steps",
        "lm_eval_10",
    } <= stages
    assert all(row["seconds"] > 0 for row in result["stages"].values())
    checks = result["checks"]
    assert checks["streaming_scores_finite"] and checks["grpo_steps"] == 3 and checks["eval_problems"] == 10
    assert checks["projected_features_shape"] == [12, 8192]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_smoke_on_cuda(tmp_path):
    out = tmp_path / "smoke.json"
    assert main(["--out", str(out)]) == 0
    assert all(row["peak_gpu_mb"] for row in json.loads(out.read_text())["stages"].values())
