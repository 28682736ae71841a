"""Evaluate a model on the project's benchmarks through lm-evaluation-harness.

    from rlselect.eval import evaluate
    evaluate("runs/x/checkpoint", ["gsm8k", "math500"], protocol="greedy", output_dir="runs/x/eval")
    evaluate(model, ["aime24"], tokenizer=tok, protocol="avg@16", temperature=0.7)

One `lm_eval.simple_evaluate` call per `evaluate` call, on the task YAMLs shipped in
`rlselect/eval/tasks/` (only that folder is indexed, not lm-eval's thousands of tasks), with
the chat template applied. lm-eval's own EvaluationTracker writes `<output_dir>/results_<time>.json`
(its results, with our per-benchmark rows under "rlselect") and `samples_<task>_<time>.jsonl`;
its WandbLogger logs the numbers into the caller's W&B run, when one is active.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlselect.eval.benchmarks import TASKS_DIR, describe_source, records_digest, task_name, task_yaml
from rlselect.eval.metrics import clear_cache, flatten_samples, score_completions

log = logging.getLogger(__name__)

EVALUATOR = "lm-evaluation-harness"
FILTER = "all_samples"  # the filter name in tasks/_rlselect_math_template
DEFAULT_MAX_GEN_TOKS = 2048
_PROTOCOL_RE = re.compile(r"^avg@(\d+|k)$")


@dataclass(frozen=True)
class Protocol:
    """greedy pass@1, or avg@k: k sampled completions per problem, per-problem mean accuracy."""

    name: str  # "greedy" | "avg@<k>"
    k: int
    do_sample: bool
    temperature: float
    top_p: float

    def gen_kwargs(self, max_gen_toks: int) -> dict[str, Any]:
        """lm-eval generation kwargs. Everything the protocol fixes is explicit, so that a
        checkpoint's generation_config.json (Qwen2.5-Instruct ships repetition_penalty 1.05 and
        top_k 20) cannot silently change it: no repetition penalty, no top-k truncation."""
        kw: dict[str, Any] = {"do_sample": self.do_sample, "max_gen_toks": int(max_gen_toks), "repetition_penalty": 1.0}
        if self.do_sample:
            kw.update(temperature=float(self.temperature), top_p=float(self.top_p), top_k=0)
        return kw


# lm-eval logs a --metadata usage hint for every custom_dataset task; it is noise here.
logging.getLogger("lm_eval.api.task").addFilter(
    lambda record: "Custom kwargs can be passed to `--metadata`" not in record.getMessage()
)


def parse_protocol(protocol: str, k: int = 1, temperature: float = 0.7, top_p: float = 0.95) -> Protocol:
    """'greedy' (alias 'pass@1'), 'avg@k' (k from the argument) or 'avg@16' (k in the name)."""
    p = str(protocol).strip().lower()
    if p in ("greedy", "pass@1"):
        return Protocol("greedy", 1, False, 0.0, 1.0)
    m = _PROTOCOL_RE.match(p)
    if not m:
        raise ValueError(f"unknown protocol {protocol!r}; use 'greedy' or 'avg@k' (e.g. 'avg@16')")
    if m.group(1) != "k":
        named = int(m.group(1))
        if k not in (1, named):
            raise ValueError(f"protocol {protocol!r} says k={named} but k={k} was passed")
        k = named
    k = int(k)
    if k < 1:
        raise ValueError(f"avg@k needs k >= 1, got {k}")
    if not temperature or float(temperature) <= 0:
        raise ValueError("avg@k samples: temperature must be > 0 (use protocol 'greedy' for T = 0)")
    if not 0 < float(top_p) <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    return Protocol(f"avg@{k}", k, True, float(temperature), float(top_p))


def _is_lm(obj) -> bool:
    from lm_eval.api.model import LM

    return isinstance(obj, LM)


def model_label(model) -> str:
    """The model's path (or a name for an in-memory model) as recorded in the results."""
    if isinstance(model, (str, Path)):
        return str(model)
    inner = getattr(model, "model", None) if _is_lm(model) else model
    for obj in (inner, getattr(inner, "config", None)):
        name = getattr(obj, "name_or_path", None) or getattr(obj, "_name_or_path", None)
        if name:
            return str(name)
    return f"<in-memory {type(inner if inner is not None else model).__name__}>"


def resolve_backend(backend: str, model, device: str | None) -> str:
    backend = (backend or "auto").lower()
    if backend not in ("auto", "hf", "vllm"):
        raise ValueError(f"backend must be auto, hf or vllm, got {backend!r}")
    if backend == "auto":
        on_gpu = device is None or str(device).startswith("cuda")
        has_vllm = importlib.util.find_spec("vllm") is not None
        return "vllm" if (has_vllm and on_gpu and isinstance(model, (str, Path))) else "hf"
    if backend == "vllm":
        if importlib.util.find_spec("vllm") is None:
            raise RuntimeError("backend 'vllm' asked for, but vllm is not installed (use backend 'hf')")
        if not isinstance(model, (str, Path)):
            raise ValueError("the vllm backend loads the model itself: pass a checkpoint path")
    return backend


def build_lm(
    model,
    *,
    tokenizer=None,
    backend: str = "auto",
    batch_size: int | str = 64,
    device: str | None = "cpu",
    dtype: str = "auto",
    max_length: int | None = None,
    seed: int = 0,
    **backend_kwargs,
):
    """An lm-eval LM for a checkpoint path or an in-memory transformers model (+ tokenizer)."""
    if _is_lm(model):
        return model
    backend = resolve_backend(backend, model, device)
    if backend == "vllm":
        from lm_eval.api.registry import get_model

        kw = dict(pretrained=str(model), dtype=dtype, batch_size=batch_size, seed=seed, **backend_kwargs)
        if tokenizer is not None:
            kw["tokenizer"] = str(tokenizer)
        if max_length is not None:
            kw["max_model_len"] = int(max_length)
        return get_model("vllm")(**kw)

    from lm_eval.models.huggingface import HFLM

    if isinstance(model, (str, Path)):
        tok = str(tokenizer) if isinstance(tokenizer, Path) else tokenizer
        return HFLM(
            pretrained=str(model),
            tokenizer=tok,
            batch_size=batch_size,
            device=device or "cpu",
            dtype=dtype,
            max_length=max_length,
            **backend_kwargs,
        )
    if tokenizer is None:
        raise ValueError("an in-memory model needs its tokenizer: evaluate(model, ..., tokenizer=tok)")
    if device is not None:
        import torch

        if model.device != torch.device(device) and model.device.type != str(device):
            model.to(device)  # note: moves the caller's model
    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, max_length=max_length, **backend_kwargs)


def backend_name(lm) -> str:
    """'hf' / 'vllm' for lm-eval's own classes, else the LM's class name."""
    cls = type(lm).__name__
    return {"HFLM": "hf", "VLLM": "vllm"}.get(cls, cls)


def _effective_max_gen_toks(lm, requested: int) -> int:
    """The tiny model has 512 positions: a 2048-token budget cannot fit, so it is clamped (logged
    and recorded). Real models (32k positions) keep the requested value."""
    max_len = getattr(lm, "max_length", None)
    if isinstance(max_len, int) and requested >= max_len:
        clamped = max(1, max_len // 2)
        log.warning("max_gen_toks=%d does not fit the model's %d positions; using %d", requested, max_len, clamped)
        return clamped
    return int(requested)


def _wandb_log(out: dict) -> None:
    """lm-eval's WandbLogger, into the caller's W&B run only: never import (or start) W&B here."""
    wandb = sys.modules.get("wandb")
    if wandb is None or getattr(wandb, "run", None) is None:
        return
    from lm_eval.loggers import WandbLogger

    # An explicit step lets lm-eval update the run config again on the next evaluate() call ...
    wl = WandbLogger(init_args={"step": wandb.run.step})
    wl.post_init(out)
    wl.log_eval_result()
    wandb.run.log({})  # ... and committing that step keeps the next call from overwriting it


def evaluate(
    model,
    benchmarks,
    *,
    protocol: str = "greedy",
    k: int = 1,
    temperature: float = 0.7,
    top_p: float = 0.95,
    max_gen_toks: int = DEFAULT_MAX_GEN_TOKS,
    limit: int | None = None,
    batch_size: int | str = 64,
    data_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    device: str | None = "cpu",
    tokenizer=None,
    seed: int = 0,
    arith_seed: int = 0,
    family: str | None = None,
    split: str = "test",
    backend: str = "auto",
    dtype: str = "auto",
    max_length: int | None = None,
    write_samples: bool = True,
    model_name: str | None = None,
    num_threads: int | None = None,
    **backend_kwargs,
) -> list[dict]:
    """Evaluate `model` on `benchmarks` through lm-eval; one result dict per benchmark.

    model: checkpoint path, an in-memory transformers model (pass `tokenizer`), or an lm-eval LM
        (reused across calls: see `evaluate_suite`).
    benchmarks: names among rlselect.eval.BENCHMARKS (list or comma-separated string).
    protocol: 'greedy' (pass@1, do_sample false) or 'avg@k' / 'avg@16' (k samples at
        temperature/top_p; accuracy = mean over problems of the per-problem mean score).
    limit: first N problems only (recorded in the results, null for full runs).
    data_dir: folder with <benchmark>/<split>.jsonl; default: the dataset hub (arith: generated).
    family: evaluate only the problems whose meta.family is this (e.g. the imbalance regime's
        target family); None evaluates the whole split.
    output_dir: where lm-eval writes results_<time>.json (+ samples_<task>_<time>.jsonl unless
        write_samples is false); None writes nothing.
    model_name: label recorded as `model` (default: the path, or the model's name_or_path).
    num_threads: torch CPU threads while generating (restored after); 1 is much faster for the
        tiny model on a small shared CPU, where intra-op threads wait on each other.
    """
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    if isinstance(benchmarks, str):
        benchmarks = [b.strip() for b in benchmarks.split(",") if b.strip()]
    benchmarks = list(dict.fromkeys(benchmarks))
    if not benchmarks:
        raise ValueError("no benchmarks given")
    names = {b: task_name(b) for b in benchmarks}
    proto = parse_protocol(protocol, k, temperature, top_p)
    if limit is not None and (int(limit) != limit or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")

    t0 = time.time()
    lm = build_lm(
        model,
        tokenizer=tokenizer,
        backend=backend,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        max_length=max_length,
        seed=seed,
        **backend_kwargs,
    )
    gen_toks = _effective_max_gen_toks(lm, int(max_gen_toks))
    gen_kwargs = proto.gen_kwargs(gen_toks)

    # Only the project's task folder is indexed; the metadata reaches utils.custom_dataset.
    data_dir_s = str(Path(data_dir).expanduser().resolve()) if data_dir else None
    meta = {"data_dir": data_dir_s, "eval_split": split, "arith_seed": int(arith_seed), "family": family}
    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=meta)
    tasks = tm.load(list(names.values()))["tasks"]
    for name in names.values():
        tasks[name].set_config("generation_kwargs", gen_kwargs, update=True)
        tasks[name].set_config("repeats", proto.k)

    # A ".json" output path makes lm-eval write into output_dir itself (not a per-model subfolder).
    tracker = None if output_dir is None else EvaluationTracker(output_path=str(Path(output_dir) / "results.json"))
    clear_cache()
    with _torch_threads(num_threads):
        out = lm_eval.simple_evaluate(
            model=lm,
            tasks=[tasks[n] for n in names.values()],
            task_manager=tm,
            limit=limit,
            apply_chat_template=True,
            log_samples=True,
            evaluation_tracker=tracker,
            bootstrap_iters=1000,  # `mean` has a closed-form stderr; > 0 only switches it on
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
    if out is None:  # non-zero rank in a distributed run
        return []
    samples = out.pop("samples")  # kept out of the results json and the W&B config, as lm-eval's CLI does
    common = {
        "model": model_name or model_label(model),
        "backend": backend_name(lm),
        "evaluator": EVALUATOR,
        "lm_eval_version": out["lm_eval_version"],
        "split": split,
        "limit": None if limit is None else int(limit),
        "max_gen_toks": gen_toks,
        "max_gen_toks_requested": int(max_gen_toks),
        "chat_template": True,
        "seed": int(seed),
        "family": family,
        "batch_size": getattr(lm, "batch_size", batch_size),
        "device": str(getattr(lm, "device", device)),
        "dtype": str(getattr(getattr(lm, "model", None), "dtype", dtype)).replace("torch.", ""),
        "elapsed_s_all_benchmarks": round(time.time() - t0, 3),
    }
    rows = [
        _collect(
            out,
            samples[name],
            bench,
            proto,
            dict(
                common,
                task=name,
                task_yaml=str(task_yaml(bench)),
                generation_kwargs={**tasks[name].config.generation_kwargs},
                arith_seed=int(arith_seed) if bench == "arith" else None,
                data_source=describe_source(bench, split, data_dir_s, arith_seed, family),
            ),
        )
        for bench, name in names.items()
    ]
    if tracker is not None:
        _save(tracker, out, samples, rows, write_samples)
    _wandb_log(out)
    for row in rows:
        log.info(
            "%s %s: accuracy %.4f +- %s over %d problems%s",
            row["benchmark"],
            proto.name,
            row["accuracy"],
            "n/a" if row["stderr"] is None else f"{row['stderr']:.4f}",
            row["n_problems"],
            f" (limit {limit})" if limit is not None else "",
        )
    return rows


@contextmanager
def _torch_threads(n: int | None):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(n or before))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _collect(out: dict, samples: list[dict], bench: str, proto: Protocol, common: dict) -> dict:
    """Result row: lm-eval's numbers, with the per-problem and per-sample scores of its samples."""
    res = out["results"][common["task"]]
    se = res.get(f"acc_stderr,{FILTER}")  # sample std of the per-problem scores / sqrt(n); "N/A" for n = 1
    per_problem, docs = [], []
    for ex in sorted(samples, key=lambda e: e["doc_id"]):
        doc = ex["doc"]
        docs.append(doc)
        # free: process_results already scored these completions (cached)
        scores = score_completions(flatten_samples(ex["filtered_resps"]), doc["answer"])
        per_problem.append({"id": doc["id"], "answer": doc["answer"], "score": float(ex["acc"]), "scores": scores})
    return {
        "benchmark": bench,
        "protocol": proto.name,
        "k": proto.k,
        "n_problems": len(per_problem),
        "accuracy": float(res[f"acc,{FILTER}"]),
        "stderr": float(se) if isinstance(se, (int, float)) else None,
        "pass_at_k": float(res[f"pass_at_k,{FILTER}"]),
        "n_samples": sum(len(p["scores"]) for p in per_problem),
        "do_sample": proto.do_sample,
        "temperature": proto.temperature,
        "top_p": proto.top_p,
        **common,
        "data_sha256": records_digest(docs),
        "per_problem": per_problem,
    }


def _save(tracker, out: dict, samples: dict, rows: list[dict], write_samples: bool) -> None:
    """lm-eval's own result and sample files; our rows (settings, per-problem scores) ride in its results json."""
    tracker.save_results_aggregated(results={**out, "rlselect": {r["benchmark"]: r for r in rows}}, samples=samples)
    date = getattr(tracker, "date_id", "")  # set by lm-eval when it writes the results file
    files = [Path(tracker.output_path).with_name(f"results_{date}.json")]
    for row in rows:
        row["results_file"] = str(files[0])
        if write_samples:
            tracker.save_results_samples(task_name=row["task"], samples=samples[row["task"]])
            files.append(files[0].with_name(f"samples_{row['task']}_{date}.jsonl"))
            row["samples_file"] = files[-1].name
    if missing := [str(f) for f in files if not f.exists()]:  # lm-eval only logs a failed write
        raise RuntimeError(f"lm-eval could not write {missing} (see its warning above)")


def evaluate_suite(model, runs, *, tokenizer=None, **common) -> list[dict]:
    """Several protocol groups on one loaded model, e.g. the paper's
        [{benchmarks: [gsm8k, math500], protocol: greedy},
         {benchmarks: [aime24, aime25, amc23], protocol: avg@16, temperature: 0.7}]
    `common` holds evaluate()'s shared keyword arguments; a run's own keys override them."""
    lm_keys = ("backend", "batch_size", "device", "dtype", "max_length", "seed")
    lm = build_lm(model, tokenizer=tokenizer, **{k: common[k] for k in lm_keys if k in common})
    common = {**common, "model_name": common.get("model_name") or model_label(model)}
    rows = []
    for run in runs:
        args = {**common, **dict(run)}
        benchmarks = args.pop("benchmarks")
        rows += evaluate(lm, benchmarks, **{k: v for k, v in args.items() if k not in lm_keys[:-1]})
    return rows


def run_config(model, cfg, *, output_dir=None, tokenizer=None, **overrides) -> list[dict]:
    """Run an eval config group (conf/eval/*.yaml: `runs` + shared settings) on one model.

    `cfg` is a dict or OmegaConf node; `overrides` replace its shared settings (e.g. limit=20).
    """
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_container(cfg, resolve=True)
    cfg = {**dict(cfg), **overrides}
    runs = cfg.pop("runs", None)
    if not runs:
        raise ValueError("eval config has no `runs` (list of {benchmarks, protocol, ...})")
    if output_dir is not None:
        cfg["output_dir"] = output_dir
    return evaluate_suite(model, runs, tokenizer=tokenizer, **cfg)
