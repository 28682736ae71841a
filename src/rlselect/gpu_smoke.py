"""`make gpu-smoke`: every GPU stage once, offline, on one device, with a random 1.5B-shaped model.

    python -m rlselect.gpu_smoke [--shape 1.5b] [--dtype bfloat16] [--device cuda] [--out results/gpu/smoke.json]

Stages, each timed with its peak device memory: build the random Qwen2 (`model=random`, Qwen2.5-1.5B's
config over the character tokenizer), rollouts of 16 GSM8K prompts (../shared/data, else arith; the
HF path, vLLM too when installed), exact streaming GradAlign scores and CountSketch-projected
features, 3 GRPO steps through TRL, and lm-eval on 10 problems. A random model solves nothing, so
the rewards are seeded coins (the `coin` reward): the point is that every stage runs and what it
costs. `--shape tiny --device cpu --dtype float32` runs the same code here in a minute (the test).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("rlselect.gpu_smoke")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


class StageClock:
    """Seconds and peak device memory (MiB, CUDA only) per stage."""

    def __init__(self, device: str):
        self.device, self.rows = device, {}

    @contextmanager
    def stage(self, name: str):
        import torch

        cuda = self.device.startswith("cuda")
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.time()
        yield
        if cuda:
            torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
        self.rows[name] = {"seconds": round(time.time() - t0, 2), "peak_gpu_mb": None if peak is None else round(peak)}
        log.info("gpu-smoke %s: %.1f s%s", name, self.rows[name]["seconds"], f", peak {peak:.0f} MiB" if peak else "")


def smoke_records(n: int) -> tuple[list[dict], str]:
    from rlselect.data import load_records

    if (SHARED / "gsm8k" / "train.jsonl").exists():
        return load_records("gsm8k", "train", str(SHARED / "gsm8k"))[:n], "gsm8k"
    return load_records("arith", "train")[:n], "arith"


def run_smoke(shape: str, dtype: str, device: str, n_prompts: int, work: Path) -> dict[str, Any]:
    import torch

    from rlselect.grads import gradalign_scores_streaming, make_projector, policy_gradients
    from rlselect.models import load_model
    from rlselect.models.random_init import random_model_path
    from rlselect.rollouts.stage import rollout_stage
    from rlselect.selection import grad_inputs
    from rlselect.train.grpo import train_grpo

    clock = StageClock(device)
    with clock.stage("build_model"):
        path = str(random_model_path(work, shape=shape, dtype=dtype))
    records, data = smoke_records(n_prompts)
    pool, val = records[: n_prompts - 4], records[n_prompts - 4 :]
    rollout_cfg = dict(G=4, temperature=1.0, top_p=1.0, max_new_tokens=64, batch_size=64, seed=0, reward="coin")
    load = {"dtype": dtype, "device": device}
    backends = ["hf"] + (["vllm"] if device.startswith("cuda") and _has_vllm() else [])
    rows: dict[str, list[dict]] = {}
    for backend in backends:
        with clock.stage(f"rollouts_{backend}"):
            cfg = {**rollout_cfg, "backend": backend, "vllm": {"gpu_memory_utilization": 0.5}}
            rows[backend] = rollout_stage(path, records, cfg, work / backend, load=load)
    model, tok = load_model(path, **load)
    by_id = {r["id"]: r for r in rows["hf"]}
    prompts, comps, advs = grad_inputs(tok, pool, [by_id[r["id"]] for r in pool])
    vp, vc, va = grad_inputs(tok, val, [by_id[r["id"]] for r in val])
    with clock.stage("features_streaming"):
        scores = gradalign_scores_streaming(model, tok, prompts, comps, advs, vp, vc, va, batch_size=4)
    with clock.stage("features_projected"):
        proj = make_projector("countsketch", 8192, seed=0)
        feats = policy_gradients(model, tok, prompts, comps, advs, projection=proj, batch_size=4)
    params = sum(p.numel() for p in model.parameters())
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    trainer_cfg = {
        "budget_mode": "equal_steps",
        "max_steps": 3,
        "rewards": ["coin"],
        "args": {
            "use_cpu": not device.startswith("cuda"),
            "bf16": dtype == "bfloat16",
            "gradient_checkpointing": device.startswith("cuda"),
            "learning_rate": 1e-6,
            "per_device_train_batch_size": 16,
            "gradient_accumulation_steps": 1,
            "num_generations": 4,
            "max_completion_length": 64,
            "logging_steps": 1,
            "save_strategy": "no",
            "disable_tqdm": True,
        },
    }
    with clock.stage("grpo_3_steps"):
        trained = train_grpo(path, pool, trainer_cfg, work / "train", seed=0)
    with clock.stage("lm_eval_10"):
        from rlselect.eval import evaluate

        bench = "gsm8k" if data == "gsm8k" else "arith"
        eval_rows = evaluate(
            trained["checkpoint"],
            [bench],
            protocol="greedy",
            limit=10,
            max_gen_toks=64,
            data_dir=str(SHARED) if data == "gsm8k" else None,
            device=device,
            dtype=dtype,
            backend="hf",
            batch_size=16,
        )
    return {
        "model": {"shape": shape, "params": params, "dtype": dtype},
        "device": device,
        "device_name": torch.cuda.get_device_name() if device.startswith("cuda") else platform.processor() or "cpu",
        "torch": torch.__version__,
        "data": data,
        "prompts": len(records),
        "rollout_backends": backends,
        "stages": clock.rows,
        "checks": {
            "streaming_scores_finite": bool(torch.isfinite(scores).all()),
            "projected_features_shape": list(feats.shape),
            "grpo_steps": trained["steps"],
            "eval_problems": eval_rows[0].get("n_problems"),
        },
        "total_seconds": round(sum(r["seconds"] for r in clock.rows.values()), 1),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _has_vllm() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def main(argv: list[str] | None = None) -> int:
    from rlselect import console

    parser = argparse.ArgumentParser(prog="python -m rlselect.gpu_smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="1.5b")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--out", default="results/gpu/smoke.json")
    ns = parser.parse_args(argv)
    console.setup_entry_point(verbose=False)
    if ns.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise SystemExit(
                "gpu-smoke needs a CUDA device (or --device cpu --shape tiny --dtype float32 for a dry run)"
            )
    with tempfile.TemporaryDirectory(prefix="rlselect-gpu-smoke-") as work:
        result = run_smoke(ns.shape, ns.dtype, ns.device, ns.prompts, Path(work))
    out = Path(ns.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["stages"], indent=1))
    print(f"gpu-smoke: {result['total_seconds']:.0f} s on {result['device_name']} -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
