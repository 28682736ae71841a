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

import contextlib
import functools
import importlib.util
import inspect
import io
import logging
import re
import sys
import tempfile
import time
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from unittest import mock

import rlselect
from rlselect import console
from rlselect.eval.benchmarks import GENERATED, describe_source, records_digest, task_name, task_paths, task_yaml
from rlselect.eval.metrics import clear_cache, score_completions
from rlselect.models.stop_tokens import stop_strings

log = logging.getLogger(__name__)
FILTER = "all_samples"  # the filter name in tasks/_rlselect_math_template
# lm-eval logs a --metadata usage hint for every custom_dataset task, and a CLI hint for gen_kwargs: noise here.
logging.getLogger("lm_eval.api.task").addFilter(lambda r: "can be passed to `--metadata`" not in r.getMessage())
logging.getLogger("lm_eval.evaluator").addFilter(lambda r: "specified through cli" not in r.getMessage())


@dataclass(frozen=True)
class Protocol:
    """greedy pass@1, or avg@k: k sampled completions per problem, per-problem mean accuracy."""

    name: str  # "greedy" | "avg@<k>"
    k: int
    do_sample: bool
    temperature: float
    top_p: float


def parse_protocol(protocol: str, k: int = 1, temperature: float = 0.7, top_p: float = 0.95) -> Protocol:
    """'greedy' (alias 'pass@1'), 'avg@k' (k from the argument) or 'avg@16' (k in the name)."""
    if str(protocol).strip().lower() in ("greedy", "pass@1"):
        return Protocol("greedy", 1, False, 0.0, 1.0)
    if not (m := re.fullmatch(r"avg@(\d+|k)", str(protocol).strip().lower())):
        raise ValueError(f"unknown protocol {protocol!r}; use 'greedy' or 'avg@k' (e.g. 'avg@16')")
    if m[1] != "k" and k not in (1, int(m[1])):
        raise ValueError(f"protocol {protocol!r} says k={m[1]} but k={k} was passed")
    k = int(k if m[1] == "k" else m[1])
    if k < 1 or not temperature or temperature <= 0 or not 0 < top_p <= 1:
        raise ValueError(f"avg@k needs k >= 1, temperature > 0, 0 < top_p <= 1, got {k=} {temperature=} {top_p=}")
    return Protocol(f"avg@{k}", k, True, float(temperature), float(top_p))


@dataclass(frozen=True)
class Settings:
    """Everything an evaluation fixes besides the model and the benchmarks: the CLI's options, a conf/eval group's keys."""

    protocol: str = "greedy"  # 'greedy' (pass@1, do_sample false) | 'avg@k' | 'avg@16' (k samples at temperature/top_p)
    k: int = 1
    temperature: float = 0.7
    top_p: float = 0.95
    max_gen_toks: int = 2048  # clamped to half the model's positions when it cannot fit (recorded)
    limit: int | None = None  # first N problems only (recorded; None = full split)
    data_dir: str | Path | None = None  # folder with <benchmark>/<split>.jsonl; None: dataset hub (arith: generated)
    split: str = "test"
    arith_seed: int = 0
    family: str | None = None  # only the problems whose meta.family is this (the imbalance regime's target family)
    seed: int = 0
    output_dir: str | Path | None = None  # lm-eval's results_<time>.json (+ samples_<task>_<time>.jsonl)
    write_samples: bool = True
    model_name: str | None = None  # label recorded as `model` (default: the path, or the model's name_or_path)
    num_threads: int | None = None  # torch CPU threads while generating (1: fastest for the tiny model)
    backend: str = "auto"  # hf | vllm | auto: vllm when installed, on GPU, for a checkpoint path
    batch_size: int | str = 64
    device: str | None = "cpu"  # auto: cuda when present, else cpu
    dtype: str = "auto"
    max_length: int | None = None
    model_args: dict = field(default_factory=dict)  # more keyword arguments of lm-eval's HFLM / VLLM
    gpu_memory_utilization: float = 0.85  # vLLM backend only: explicit, never vLLM's implicit default
    proto: Protocol = field(init=False, repr=False)  # parsed from protocol, k, temperature and top_p

    def __post_init__(self):
        if self.limit is not None and (int(self.limit) != self.limit or self.limit < 1):
            raise ValueError(f"limit must be a positive integer or None, got {self.limit!r}")
        if self.backend not in ("auto", "hf", "vllm"):
            raise ValueError(f"backend must be auto, hf or vllm, got {self.backend!r}")
        if self.device == "auto":
            from rlselect.models import resolve_device

            object.__setattr__(self, "device", resolve_device("auto"))
        object.__setattr__(self, "proto", parse_protocol(self.protocol, self.k, self.temperature, self.top_p))


# The task files' own stop strings (tasks/_rlselect_math_template); gen_kwargs' `until` replaces them.
TEMPLATE_STOPS = ("<|im_end|>", "<|endoftext|>")


def build_lm(model, settings: Settings | None = None, *, tokenizer=None, **kw):
    """An lm-eval LM for a checkpoint path or an in-memory transformers model (+ tokenizer); an LM is returned as is."""
    from lm_eval.api.model import LM

    if isinstance(model, LM):
        return model
    s, is_path = replace(settings or Settings(), **kw), isinstance(model, (str, Path))
    tok = str(tokenizer) if isinstance(tokenizer, Path) else tokenizer
    backend = s.backend
    if backend == "auto":
        on_gpu = s.device is None or str(s.device).startswith("cuda")
        backend = "vllm" if importlib.util.find_spec("vllm") and on_gpu and is_path else "hf"
    kw = dict(tokenizer=tok, batch_size=s.batch_size, dtype=s.dtype, **s.model_args)
    if backend == "vllm":
        if not (importlib.util.find_spec("vllm") and is_path):  # vllm loads the model itself
            raise ValueError("backend 'vllm' needs vllm installed and a checkpoint path (else use backend 'hf')")
        from lm_eval.models.vllm_causallms import VLLM

        kw.setdefault("gpu_memory_utilization", s.gpu_memory_utilization)
        return VLLM(pretrained=str(model), seed=s.seed, max_model_len=s.max_length, **kw)
    from lm_eval.models.huggingface import HFLM

    if not is_path and tok is None:
        raise ValueError("an in-memory model needs its tokenizer: evaluate(model, ..., tokenizer=tok)")
    if not is_path and s.device is not None and str(s.device) not in (str(model.device), model.device.type):
        model.to(s.device)  # note: moves the caller's model (HFLM keeps an in-memory model where it is)
    return HFLM(pretrained=str(model) if is_path else model, device=s.device or "cpu", max_length=s.max_length, **kw)


def model_label(model) -> str:
    """The model's path (or a name for an in-memory model) as recorded in the results."""
    from lm_eval.api.model import LM

    if isinstance(model, (str, Path)):
        return str(model)
    inner = getattr(model, "model", None) if isinstance(model, LM) else model
    for obj in (inner, getattr(inner, "config", None)):
        if name := getattr(obj, "name_or_path", None) or getattr(obj, "_name_or_path", None):
            return str(name)
    return f"<in-memory {type(inner if inner is not None else model).__name__}>"


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


def quiet_request_bars(lm) -> None:
    """Switch off lm-eval's per-request progress bars on this LM instance (quiet console): its
    generate_until passes `disable=` to tqdm itself, so TQDM_DISABLE (console.configure) cannot reach it."""
    for name in ("generate_until", "loglikelihood", "loglikelihood_rolling"):
        method = getattr(lm, name, None)
        if method is not None and "disable_tqdm" in inspect.signature(method).parameters:
            setattr(lm, name, functools.partial(method, disable_tqdm=True))


def evaluate(model, benchmarks, settings: Settings | None = None, *, tokenizer=None, **kw) -> list[dict]:
    """Evaluate `model` on `benchmarks` through lm-eval; one result dict per benchmark.

    model: checkpoint path, an in-memory transformers model (pass `tokenizer`), or an lm-eval LM
        (reused across calls: see `evaluate_suite`).
    benchmarks: names among rlselect.eval.BENCHMARKS (list or comma-separated string).
    settings: a `Settings`; keyword arguments replace its fields, e.g. protocol="avg@16", limit=20.
    """
    import lm_eval
    import lm_eval.evaluator
    import torch
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    s = replace(settings or Settings(), **kw)
    if isinstance(benchmarks, str):
        benchmarks = benchmarks.split(",")
    names = {b: task_name(b) for b in dict.fromkeys(b.strip() for b in benchmarks) if b}
    if not names:
        raise ValueError("no benchmarks given")
    t0, lm, gen_toks, p = time.time(), build_lm(model, s, tokenizer=tokenizer), int(s.max_gen_toks), s.proto
    if isinstance(max_len := getattr(lm, "max_length", None), int) and gen_toks >= max_len:
        gen_toks = max(1, max_len // 2)  # the tiny model has 512 positions; real models (32k) keep the request
        log.warning("max_gen_toks=%d does not fit %d positions; using %d", s.max_gen_toks, max_len, gen_toks)
    # Everything the protocol fixes is explicit, so that a checkpoint's generation_config.json (Qwen2.5-Instruct
    # ships repetition_penalty 1.05 and top_k 20) cannot silently change it: no repetition penalty, no top-k.
    gen_kwargs = {"do_sample": p.do_sample, "max_gen_toks": gen_toks, "repetition_penalty": 1.0}
    if (tok := getattr(lm, "tokenizer", None)) is not None:  # EOS and the chat template's end of turn
        gen_kwargs["until"] = list(dict.fromkeys([*TEMPLATE_STOPS, *stop_strings(tok)]))
    if p.do_sample:
        gen_kwargs.update(temperature=p.temperature, top_p=p.top_p, top_k=0)

    # Only the project's task folder is indexed; the metadata reaches utils.custom_dataset.
    data_dir = str(Path(s.data_dir).expanduser().resolve()) if s.data_dir else None
    meta = {"data_dir": data_dir, "eval_split": s.split, "arith_seed": s.arith_seed, "family": s.family}
    with tempfile.TemporaryDirectory(prefix="rlselect-tasks-") as scratch:  # read by lm-eval here only
        tm = TaskManager(include_path=task_paths(names, scratch), include_defaults=False, metadata=meta)
        tasks = tm.load(list(names.values()))["tasks"]
    for task in tasks.values():
        task.set_config("repeats", p.k)
    # A ".json" output path makes lm-eval write into output_dir itself (not a per-model subfolder).
    tracker = None if s.output_dir is None else EvaluationTracker(output_path=str(Path(s.output_dir) / "results.json"))
    clear_cache()
    threads = torch.get_num_threads()
    torch.set_num_threads(s.num_threads or threads)
    if not console.VERBOSE:
        quiet_request_bars(lm)
    # lm-eval records `git describe` of the working directory, and git prints "fatal: not a git
    # repository" from any other folder: record this package's commit instead, quietly.
    quiet_git = mock.patch.object(lm_eval.evaluator, "get_git_commit_hash", rlselect.code_commit)
    # HFLM print()s its batch-size probe ("Passed argument batch_size = auto ..."): a debug line when quiet.
    printed = io.StringIO()
    quiet_prints = contextlib.redirect_stdout(printed) if not console.VERBOSE else contextlib.nullcontext()
    try:  # bootstrap_iters > 0 only switches on the stderr (closed-form for `mean`)
        seeds = dict(random_seed=s.seed, numpy_random_seed=s.seed, torch_random_seed=s.seed, fewshot_random_seed=s.seed)
        with quiet_git, quiet_prints:
            out = lm_eval.simple_evaluate(
                lm,
                tasks=list(tasks.values()),
                task_manager=tm,
                limit=s.limit,
                apply_chat_template=True,
                gen_kwargs=gen_kwargs,
                evaluation_tracker=tracker,
                bootstrap_iters=1000,
                **seeds,
            )
    finally:
        torch.set_num_threads(threads)
        for line in printed.getvalue().splitlines():
            log.debug("lm-eval: %s", line)
    if out is None:  # non-zero rank in a distributed run
        return []
    samples = out.pop("samples")  # kept out of the results json and the W&B config, as lm-eval's CLI does
    rows, elapsed = [], round(time.time() - t0, 3)
    for bench, name in names.items():
        res, exs = out["results"][name], sorted(samples[name], key=lambda e: e["doc_id"])
        se = res.get(f"acc_stderr,{FILTER}")  # sample std of the per-problem scores / sqrt(n); "N/A" for n = 1
        per_problem = [  # free: process_results already scored these completions (cached)
            dict(
                id=e["doc"]["id"],
                answer=e["doc"]["answer"],
                score=float(e["acc"]),
                scores=score_completions(e["filtered_resps"], e["doc"]["answer"]),
            )
            for e in exs
        ]
        rows.append(
            {
                "benchmark": bench,
                **dict(zip(("protocol", "k", "do_sample", "temperature", "top_p"), astuple(p))),
                "n_problems": len(per_problem),
                "accuracy": float(res[f"acc,{FILTER}"]),
                "stderr": float(se) if isinstance(se, (int, float)) else None,
                "pass_at_k": float(res[f"pass_at_k,{FILTER}"]),
                "n_samples": sum(len(q["scores"]) for q in per_problem),
                "model": s.model_name or model_label(model),
                "backend": {"HFLM": "hf", "VLLM": "vllm"}.get(type(lm).__name__, type(lm).__name__),
                "evaluator": "lm-evaluation-harness",
                "lm_eval_version": out["lm_eval_version"],
                **{k: getattr(s, k) for k in ("split", "limit", "seed", "family")},
                "max_gen_toks": gen_toks,
                "max_gen_toks_requested": s.max_gen_toks,
                "chat_template": True,
                "batch_size": getattr(lm, "batch_size", s.batch_size),
                "device": str(getattr(lm, "device", s.device)),
                "dtype": str(getattr(getattr(lm, "model", None), "dtype", s.dtype)).replace("torch.", ""),
                "elapsed_s_all_benchmarks": elapsed,
                "task": name,
                "task_yaml": task_yaml(bench),
                "generation_kwargs": {**tasks[name].config.generation_kwargs},
                "arith_seed": s.arith_seed if bench in GENERATED else None,
                "data_source": describe_source(bench, s.split, data_dir, s.arith_seed, s.family),
                "data_sha256": records_digest([e["doc"] for e in exs]),
                "per_problem": per_problem,
            }
        )
    if tracker is not None:  # lm-eval's own files; our rows (settings, per-problem scores) ride in its results json
        tracker.save_results_aggregated(results={**out, "rlselect": {r["benchmark"]: r for r in rows}}, samples=samples)
        date = getattr(tracker, "date_id", "")  # set by lm-eval when it writes the results file
        files = [Path(tracker.output_path).with_name(f"results_{date}.json")]
        for row in rows:
            row["results_file"] = str(files[0])
            if s.write_samples:
                tracker.save_results_samples(task_name=row["task"], samples=samples[row["task"]])
                files.append(files[0].with_name(f"samples_{row['task']}_{date}.jsonl"))
                row["samples_file"] = files[-1].name
        if missing := [str(f) for f in files if not f.exists()]:  # lm-eval only logs a failed write
            raise RuntimeError(f"lm-eval could not write {missing} (see its warning above)")
    _wandb_log(out)
    for r in rows:
        se = "n/a" if r["stderr"] is None else f"{r['stderr']:.4f}"
        msg = f"{r['benchmark']} {p.name}: accuracy {r['accuracy']:.4f} +- {se} over {r['n_problems']} problems"
        log.debug(msg + (f" (limit {s.limit})" if s.limit is not None else ""))
    return rows


def suite_plan(runs, settings: Settings) -> list[tuple[list[str], Settings]]:
    """(benchmarks, settings) per protocol group, checked without loading anything: unknown keys,
    benchmarks, protocols and backends raise here (pipeline.validate calls it before any stage)."""
    plan = []
    for i, run in enumerate(runs):
        run = dict(run)
        names = run.pop("benchmarks", None) or []
        names = [b.strip() for b in (names.split(",") if isinstance(names, str) else names) if str(b).strip()]
        if not names:
            raise ValueError(f"eval.runs[{i}] has no benchmarks")
        for name in names:
            task_name(name)  # unknown benchmark: ValueError listing the available ones
        try:
            plan.append((names, replace(settings, **run)))
        except TypeError as exc:  # a key that is not a Settings field
            raise ValueError(f"eval.runs[{i}]: {exc}") from None
    return plan


def evaluate_suite(model, runs, settings: Settings | None = None, *, tokenizer=None, **kw) -> list[dict]:
    """Several protocol groups on one loaded model, e.g. the paper's
        [{benchmarks: [gsm8k, math500], protocol: greedy},
         {benchmarks: [aime24, aime25, amc23], protocol: avg@16, temperature: 0.7}]
    `settings` (+ keyword arguments, as in `evaluate`) are shared; a run's own keys replace them."""
    s = replace(settings or Settings(), **kw)
    plan = suite_plan(runs, s)  # checked before the model loads
    lm, label = build_lm(model, s, tokenizer=tokenizer), s.model_name or model_label(model)
    return [row for names, rs in plan for row in evaluate(lm, names, replace(rs, model_name=rs.model_name or label))]


def run_config(model, cfg, *, tokenizer=None, **overrides) -> list[dict]:
    """Run an eval config group (conf/eval/*.yaml: `runs` + shared Settings fields) on one model.

    `cfg` is a dict or OmegaConf node; `overrides` (output_dir=..., limit=20, ...) replace its shared settings.
    """
    runs, shared = _split_config(cfg, overrides)
    return evaluate_suite(model, runs, tokenizer=tokenizer, **shared)


def check_eval_config(cfg) -> list[tuple[list[str], Settings]]:
    """Everything run_config would refuse in an eval config group, without loading a model; its plan."""
    runs, shared = _split_config(cfg, {})
    try:
        settings = Settings(**shared)
    except TypeError as exc:  # a key that is not a Settings field
        raise ValueError(f"eval: {exc}") from None
    return suite_plan(runs, settings)


def _split_config(cfg, overrides: dict) -> tuple[list, dict]:
    from omegaconf import OmegaConf

    cfg = {**(OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg), **overrides}
    if not (runs := cfg.pop("runs", None)):
        raise ValueError("eval config has no `runs` (list of {benchmarks, protocol, ...})")
    return runs, cfg
