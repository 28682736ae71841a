"""Benchmark 3: what selection costs in the demo, against what the demo's GRPO training costs.

The demo configuration (`experiment=demo`: 512-prompt arith pool, G = 8, budget 64) runs through
the pipeline's own stages (`rlselect.pipeline.prepare` and `static_selection`) in a fresh stage
cache, so every stage does its work:

  rollouts      G completions per pool prompt at the starting policy, scored (shared by both
                selectors, as in a sweep: counted in each selector's total)
  learnalign    warm-up GRPO on a random pool subset, rollouts of the pool at the warm-up
                policy, per-prompt gradient features, scoring
  gradalign     one round: validation rollouts, the pool's gradient features, the validation
                gradient, scoring (the static schedule scores the whole pool once)

against one GRPO training run of the demo's trainer (60 steps) on the 64 prompts LearnAlign chose,
timed in the same process, and the demo's own measured `cost.seconds.train` when
results/demo/runs.jsonl exists.

Not selection cost, so excluded: the tiny model's warm start (SFT; trained or found in the source
cache first and copied into the fresh cache), one-off imports and the verifier worker's start.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rlselect.bench.common import PeakMemory, finish, header, worst_memory

DEMO = ["experiment=demo", "logger=none"]
SELECTORS = ("learnalign", "gradalign")

# --quick (tests): the demo configuration shrunk to seconds; its warm start matches the tests'.
QUICK = [
    "model.warm_start.max_steps=150",
    "data.pool_size=16",
    "data.val_size=16",
    "budget=4",
    "rollouts.G=8",
    "rollouts.max_new_tokens=24",
    "features.val_G=8",
    "trainer.max_steps=1",
    "trainer.args.per_device_train_batch_size=8",
    "trainer.args.num_generations=4",
    "trainer.args.max_completion_length=24",
    "trainer.args.save_steps=1",
]
QUICK_SELECTOR = {"learnalign": ["selector.warmup.size=8", "selector.warmup.steps=1"]}


def compose_config(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from rlselect.cli import CONF_DIR

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


class StageClock:
    """Times the pipeline's stage functions (and their peak memory) by wrapping them for the
    duration of a `with` block; only the outermost timed call counts (a model load inside a
    rollout stage is rollout time)."""

    def __init__(self):
        self.phase = ""
        self.seconds: dict[str, dict[str, float]] = {}
        self.memory: dict[str, dict[str, dict[str, float]]] = {}
        self.val_ids: set[str] = set()
        self._depth = 0

    def _wrap(self, label, fn):
        def timed(*args, **kwargs):
            if self._depth:  # inside another timed stage: counted there
                return fn(*args, **kwargs)
            name = label(*args, **kwargs) if callable(label) else label
            self._depth += 1
            mem, t0 = PeakMemory(), time.perf_counter()
            try:
                with mem:
                    return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                d = self.seconds.setdefault(self.phase, {})
                d[name] = d.get(name, 0.0) + time.perf_counter() - t0
                m = self.memory.setdefault(self.phase, {})
                m[name] = worst_memory([m[name], mem.as_dict()]) if name in m else mem.as_dict()
        return timed

    def _rollout_label(self, model_path, records, *args, **kwargs) -> str:
        if records and records[0]["id"] in self.val_ids:
            return "rollouts_validation"
        return "rollouts" if self.phase == "rollouts" else "rollouts_scoring_policy"

    @contextlib.contextmanager
    def patched(self):
        import rlselect.models as models
        import rlselect.pipeline as pipeline
        import rlselect.rollouts.stage as stage
        import rlselect.selection as selection

        targets = [
            (stage, "rollout_stage", self._rollout_label),
            (pipeline, "warmup_stage", "warmup_grpo"),
            (models, "load_model", "load_model"),
            (selection, "compute_gradient_features", "features"),
            (selection, "compute_validation_gradient", "validation_gradient"),
            (selection, "run_selector", "scoring"),
        ]
        saved = [(mod, attr, getattr(mod, attr)) for mod, attr, _ in targets]
        try:
            for mod, attr, label in targets:
                setattr(mod, attr, self._wrap(label, getattr(mod, attr)))
            yield self
        finally:
            for mod, attr, fn in saved:
                setattr(mod, attr, fn)


def _round(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in d.items()}


def demo_recorded_train(path: str | Path) -> dict | None:
    """The demo's own `cost.seconds.train` per run (results/demo/runs.jsonl), if present."""
    path = Path(path)
    if not path.exists():
        return None
    secs = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        s = (rec.get("cost") or {}).get("seconds", {}).get("train")
        if s is not None:
            secs.append(float(s))
    if not secs:
        return None
    return {"source": str(path), "runs": len(secs), "mean_s": statistics.mean(secs),
            "min_s": min(secs), "max_s": max(secs)}


def _warm_imports() -> None:
    """One-off process costs, paid before the clock starts (not selection cost)."""
    import trl  # noqa: F401
    from trl import GRPOTrainer  # noqa: F401

    from rlselect.rewards import warmup

    warmup()


def bench_selection(*, overrides: list[str] | None = None, selector_overrides: dict[str, list[str]] | None = None,
                    source_cache: str | Path = ".cache/rlselect", work_dir: str | Path | None = None,
                    train: bool = True, demo_runs: str | Path | None = "results/demo/runs.jsonl") -> dict:
    """Selection overhead of learnalign and one gradalign round vs one GRPO training run."""
    from omegaconf import OmegaConf

    from rlselect.models import resolve_model_path
    from rlselect.pipeline import prepare, static_selection
    from rlselect.train.grpo import train_grpo

    overrides = [*DEMO, *(overrides or [])]
    selector_overrides = selector_overrides or {}
    out: dict[str, Any] = header("cpu")
    own_tmp = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="rlselect-bench-")) if own_tmp else Path(work_dir)
    try:
        # The warm start, outside the clock: found (or trained) in the source cache, then copied.
        src_cfg = compose_config([*overrides, f"cache_dir={source_cache}"])
        t0 = time.perf_counter()
        src_model = Path(resolve_model_path(OmegaConf.to_container(src_cfg.model, resolve=True), Path(source_cache)))
        warm_s = time.perf_counter() - t0
        fresh = work / "cache"
        shutil.copytree(src_model, fresh / "models" / src_model.name, copy_function=shutil.copy2)
        _warm_imports()

        cfgs = {s: compose_config([*overrides, f"selector={s}", *selector_overrides.get(s, []),
                                   f"cache_dir={fresh}", f"results_dir={work / 'results'}"]) for s in SELECTORS}
        clock = StageClock()
        records: dict[str, Any] = {}
        with clock.patched():
            # Base rollouts of the pool: the stage every selector shares.
            clock.phase = "rollouts"
            with PeakMemory() as mem:
                t0 = time.perf_counter()
                ctx = prepare(cfgs[SELECTORS[0]])
                rollouts_s = time.perf_counter() - t0
            n_completions = ctx.cost["rollouts_generated"]
            out["rollouts"] = {"seconds": rollouts_s, "completions": n_completions,
                               "completions_per_s": n_completions / rollouts_s,
                               "generated_tokens": sum(sum(r["n_tokens"]) for r in ctx.rows),
                               "stages_s": _round(clock.seconds.get("rollouts", {})), "memory": mem.as_dict()}
            clock.val_ids = {r["id"] for r in ctx.val}
            for s in SELECTORS:
                clock.phase = "prepare_cached"
                ctx_s = prepare(cfgs[s])  # the rollouts are cached now: no work
                clock.phase = s
                with PeakMemory() as mem:
                    t0 = time.perf_counter()
                    ranked, summary = static_selection(cfgs[s], ctx_s)
                    sel_s = time.perf_counter() - t0
                stages = clock.seconds.get(s, {})
                stages["other"] = max(0.0, sel_s - sum(stages.values()))
                records[s] = ranked
                out[s] = {"selection_s": sel_s, "total_s": rollouts_s + sel_s,
                          "stages_s": _round({"rollouts": rollouts_s, **stages}),
                          "selected": len(ranked), "summary": summary, "memory": mem.as_dict(),
                          "stages_memory": {"rollouts": out["rollouts"]["memory"], **clock.memory.get(s, {})}}

        base = cfgs[SELECTORS[0]]
        pool = ctx.pool
        out["setup"] = {
            "overrides": overrides,
            "selector_overrides": selector_overrides,
            "pool": len(pool),
            "val": len(ctx.val),
            "G": int(base.rollouts.G),
            "val_G": int(base.features.val_G),
            "budget": int(base.budget),
            "max_new_tokens": int(base.rollouts.max_new_tokens),
            "features": OmegaConf.to_container(base.features, resolve=True),
            "learnalign_warmup": OmegaConf.to_container(cfgs["learnalign"].selector.warmup, resolve=True),
            "model": str(src_model.name),
            "excluded": ["warm start of the tiny model (copied from the source cache)",
                         "imports of trl/transformers and the verifier worker's start"],
            "warm_start_lookup_s": round(warm_s, 2),
            "timing": "wall seconds of one run of each stage in a fresh cache",
        }

        train_s = None
        if train:
            by_id = {r["id"]: r for r in pool}
            chosen = [by_id[i] for i in records["learnalign"]]
            trainer_cfg = OmegaConf.to_container(base.trainer, resolve=True)
            with PeakMemory() as mem:
                t0 = time.perf_counter()
                trained = train_grpo(ctx.model_path, chosen, trainer_cfg, work / "train", seed=0, report_to="none")
                train_s = time.perf_counter() - t0
            out["train"] = {"seconds": train_s, "steps": trained["steps"], "prompts": len(chosen),
                            "memory": mem.as_dict()}
        recorded = demo_recorded_train(demo_runs) if demo_runs else None
        if recorded:
            out["demo_recorded_train"] = recorded
        ref = train_s if train_s is not None else (recorded or {}).get("mean_s")
        out["overhead"] = {
            s: {"selection_total_s": out[s]["total_s"], "train_s": ref,
                "ratio_to_train": out[s]["total_s"] / ref if ref else None} for s in SELECTORS}
        out["overhead"]["train_reference"] = "train_grpo timed here" if train_s is not None else \
            ("demo runs.jsonl cost.seconds.train (mean)" if ref else None)
    finally:
        if own_tmp:
            shutil.rmtree(work, ignore_errors=True)
    return finish(out)
