"""One run of the pipeline: data -> rollouts -> (features) -> selection -> GRPO -> evaluation.

Every stage is cached under `cache_dir` by a key of its inputs (so a sweep's runs share the warm
start, the rollouts and the base model's evaluation) or under the run directory (selection,
training, trained-model evaluation), and a rerun of a finished run does no work.
"""

from __future__ import annotations

import logging
import platform
import shutil
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlselect import code_commit, compute_platform, console
from rlselect.cache import (
    append_jsonl,
    append_jsonl_once,
    atomic_write_json,
    build_once,
    model_fingerprint,
    read_json,
    records_key,
    stage_key,
)
from rlselect.config_checks import check_config
from rlselect.distributed import announce, wait_for, world
from rlselect.isolation import Stages, should_isolate
from rlselect.run_config import RunDirConflict, check_run_dir, claim_run_dir, refuse, run_identity, run_lock
from rlselect.selection import (
    SET_VAL_SPLIT,
    gather_inputs,
    item_stats,
    run_selector,
    selection_summary,
    uses_rollouts,
)

log = logging.getLogger("rlselect")


def _plain(cfg) -> Any:
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def load_pool(data_cfg: dict, seed: int, held_out: list[dict] | None = None) -> tuple[list[dict], list[dict]]:
    """(pool, validation) records, with the data regime applied to the pool.

    No leakage, by content (`rlselect.data.leakage.content_key`, not by id): validation items that
    are `held_out` (test) items, and pool items that are validation or test items, are removed
    before the pool and the validation set are cut to their sizes (and before a regime rewrites
    questions). `held_out`: the test records (or problem texts) of the evaluated benchmarks
    (`rlselect.eval.benchmarks.eval_test_items`)."""
    from rlselect.data import load_records
    from rlselect.data.leakage import remove_overlap
    from rlselect.data.regimes import apply_regime

    kwargs = dict(data_cfg.get("kwargs") or {})
    regime = data_cfg.get("regime", "none")
    held_out = list(held_out or [])
    val: list[dict] = []
    if data_cfg.get("val_split"):
        val = load_records(data_cfg["name"], data_cfg["val_split"], data_cfg.get("path"), **kwargs)
        if regime == "imbalance":  # the trusted set is the target family
            val = [r for r in val if r["meta"]["family"] == data_cfg["regime_params"]["target_family"]]
        val = remove_overlap(val, held_out, what="validation")
        if data_cfg.get("val_size"):
            val = val[: int(data_cfg["val_size"])]
    pool = load_records(data_cfg["name"], data_cfg.get("pool_split", "train"), data_cfg.get("path"), **kwargs)
    pool = remove_overlap(pool, held_out, val, what="pool")
    size = int(data_cfg["pool_size"]) if data_cfg.get("pool_size") else None
    # Corrupt exactly the requested fraction of the pool; mix an imbalanced pool before cutting it.
    if regime != "imbalance":
        pool = pool[:size]
    pool = apply_regime(pool, regime, data_cfg.get("regime_seed", 0), **dict(data_cfg.get("regime_params") or {}))
    pool = pool[:size]
    return pool, val


def run_budget(selector_name: str, schedule: str, budget: int, pool: list[dict]) -> int:
    """How many prompts the run selects: the pool's size for `full`; else `budget`, checked against the
    pool in the static schedule (in rounds the schedule sets the size: chunk_size x keep_fraction)."""
    if selector_name == "full":
        return len(pool)
    if schedule == "static":
        check_budget(budget, pool, selector_name)
    return budget


def check_budget(budget: int, pool: list[dict], selector_name: str) -> None:
    if selector_name != "full" and not 0 < budget <= len(pool):
        raise ValueError(
            f"budget={budget} but the pool has {len(pool)} items (data.pool_size); "
            f"choose 1 <= budget <= {len(pool)} or selector=full"
        )


def evaluate_stage(model_path: str, eval_cfg: dict, out_dir: Path, cache_dir: Path | None = None) -> list[dict]:
    """lm-eval on the configured benchmarks; cached in `cache_dir` for shared (base) models."""
    from rlselect.eval import run_config

    if cache_dir is not None:
        out_dir = Path(cache_dir) / "eval" / stage_key("eval-v1", model_fingerprint(model_path), eval_cfg)
    done = out_dir / "eval_results.json"

    def evaluate() -> None:
        t0 = time.time()
        results = run_config(model_path, eval_cfg, output_dir=str(out_dir))
        atomic_write_json(done, results)
        accs = ", ".join(
            f"{r['benchmark']} {100 * r['accuracy']:.1f}%" for r in results if r.get("accuracy") is not None
        )
        log.info("evaluated %s: %s (%.0f s)", console.model_name(model_path), accs, time.time() - t0)

    if not build_once(done, evaluate, f"the evaluation of {console.model_name(model_path)}"):
        log.debug("evaluation of %s cached in %s (no work)", model_path, out_dir)
    return read_json(done)


def _metrics(results: list[dict]) -> dict[str, dict]:
    return {
        r["benchmark"]: {k: r.get(k) for k in ("accuracy", "stderr", "protocol", "k", "n_problems", "limit", "family")}
        for r in results
    }


def warmup_stage(model_path: str, pool: list[dict], cfg: DictConfig, cache_dir: Path, report_to: str) -> str:
    """LearnAlign's warm-up: GRPO on a random subset of the pool gives the scoring policy theta_s."""
    import random

    from rlselect.train.grpo import train_grpo

    wcfg = _plain(cfg.selector.warmup)
    rng = random.Random(f"warmup-{wcfg.get('seed', 0)}")
    subset = rng.sample(pool, min(int(wcfg["size"]), len(pool)))
    trainer_cfg = {**_plain(cfg.trainer), "budget_mode": "equal_steps", "max_steps": int(wcfg["steps"])}
    key = stage_key("warmup-v3", model_fingerprint(model_path), records_key(subset), trainer_cfg)
    out_dir = Path(cache_dir) / "warmup" / key
    train = partial(
        train_grpo,
        model_path,
        subset,
        trainer_cfg,
        out_dir,
        seed=int(wcfg.get("seed", 0)),
        report_to="none",
        label="LearnAlign's warm-up",
    )
    if world()[1] == 1:  # once for the sweep's concurrent runs
        build_once(out_dir / "final" / "train_summary.json", train, "LearnAlign's warm-up")
    else:  # a multi-process launch's ranks train it together (data-parallel): a lock would have them wait on each other
        train()
    return str(out_dir / "final")


@dataclass
class Prepared:
    """What every run needs before selection: validated inputs, the model and the base rollouts."""

    selector: Any
    params: dict
    data_cfg: dict
    pool: list[dict]
    val: list[dict]
    budget: int
    schedule: str
    model_path: str = ""
    load: dict[str, str] = field(default_factory=dict)  # load_model's dtype and device (model group)
    stages: Stages = field(default_factory=lambda: Stages(isolate=False))  # in-process or child processes
    rows: list[dict] = field(default_factory=list)
    stats: dict[str, dict] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=lambda: {"seconds": {}})

    @property
    def regime(self) -> str:
        return self.data_cfg.get("regime", "none")

    @property
    def target_family(self) -> str | None:
        return (self.data_cfg.get("regime_params") or {}).get("target_family")


def validate(cfg: DictConfig) -> Prepared:
    """Every cheap check before any expensive stage: names, model folder, data rows, budget, validation
    set. A ValueError (DataError included) or FileNotFoundError (the model folder) here is a refusal
    (`run_config.refuse`): nothing has run yet."""
    try:
        return _validate(cfg)
    except (ValueError, FileNotFoundError) as exc:
        refuse(exc)
        raise


def check_settings(cfg: DictConfig) -> tuple[Any, dict, int, int]:
    """(selector, params, seed, budget): the config's own checks, no data read (names, counts, enumerated
    keys, trainer.args, eval, the selector's params, the model folder); an error here is a refusal."""
    from rlselect.models import given_checkpoint
    from rlselect.selectors import get_selector

    try:
        selector = get_selector(cfg.selector.name)
        seed, budget = check_config(cfg)  # counts, enumerated keys, trainer.args and eval: before any stage
        given_checkpoint(_plain(cfg.model))  # a missing folder or one that is no checkpoint
        params = dict(_plain(cfg.selector.get("params")) or {})
        selector.check_params(params)
    except (ValueError, FileNotFoundError) as exc:
        refuse(exc)
        raise
    return selector, params, seed, budget


def _validate(cfg: DictConfig) -> Prepared:
    from rlselect.eval.benchmarks import eval_test_items

    selector, params, seed, budget = check_settings(cfg)
    schedule = cfg.schedule.name
    data_cfg = _plain(cfg.data)
    held_out, unloaded = eval_test_items(_plain(cfg.eval))  # local files only: never the dataset hub
    if unloaded:
        log.warning("leakage check: the pool is not checked against %s", "; ".join(unloaded))
    pool, val = load_pool(data_cfg, seed=seed, held_out=held_out)
    budget = run_budget(cfg.selector.name, schedule, budget, pool)
    if "val_features" in selector.needs and not val:
        why = SET_VAL_SPLIT
        if data_cfg.get("val_split"):  # every item was a test problem of the evaluated benchmarks
            why = f"data.val_split={data_cfg['val_split']} has no item left after the leakage check (see above)"
        raise ValueError(f"selector {selector.name} needs a validation set: {why}")
    return Prepared(selector, params, data_cfg, pool, val, budget, schedule)


def prepare(cfg: DictConfig) -> Prepared:
    """Validate, then resolve the model and roll out the pool at it (cached, shared by a sweep; the static
    schedule's, since the rounds schedule rolls out each round's chunk itself)."""
    from rlselect.models import load_options, resolve_model_path
    from rlselect.rollouts.stage import rollout_compute_seconds, rollout_stage

    ctx = validate(cfg)
    t = time.time()
    ctx.model_path = resolve_model_path(_plain(cfg.model), Path(cfg.cache_dir))
    fit_to_context(ctx, cfg)
    ctx.cost["seconds"]["model"] = round(time.time() - t, 2)
    t = time.time()
    ctx.load = load_options(_plain(cfg.model))
    ctx.stages = Stages(should_isolate(cfg.get("isolate_stages", "auto")))
    if ctx.schedule == "rounds":  # each round rolls out its own chunk at the current policy (train/schedule.py):
        ctx.cost["rollouts_generated"] = 0  # a pass over the whole pool at the base model would be paid for nothing
        ctx.cost["seconds"].update(rollouts=0.0, rollouts_wall=0.0)
        return ctx
    if "val_features" in ctx.selector.needs and not warmup_enabled(cfg):
        validation_signal_first(ctx, cfg)  # before the pool's rollouts, which cost pool/val times more
    ctx.rows = ctx.stages.run(
        "rollouts", rollout_stage, ctx.model_path, ctx.pool, _plain(cfg.rollouts), Path(cfg.cache_dir), load=ctx.load
    )
    ctx.stats = item_stats(ctx.rows)
    # Charged to the selectors that read the rollouts (the others get them only for the record's
    # success-rate summary), at the stage's compute cost even when this run found it cached.
    wall = round(time.time() - t, 2)
    used = uses_rollouts(ctx.selector, ctx.params)
    computed = rollout_compute_seconds(
        ctx.model_path, ctx.pool, _plain(cfg.rollouts), Path(cfg.cache_dir), load=ctx.load
    )
    ctx.cost["rollouts_generated"] = sum(len(r["completions"]) for r in ctx.rows) if used else 0
    ctx.cost["seconds"]["rollouts"] = (computed if computed is not None else wall) if used else 0.0
    ctx.cost["seconds"]["rollouts_wall"] = wall
    return ctx


def warmup_enabled(cfg: DictConfig) -> bool:
    return bool(cfg.selector.get("warmup") and cfg.selector.warmup.get("enabled"))


def validation_signal_first(ctx: Prepared, cfg: DictConfig) -> None:
    """The validation set's rollouts at the scoring (base) model, the cached stage that selection then reads:
    when every validation group has equal rewards, g_V is zero and the run is refused here."""
    from rlselect.rollouts.stage import rollout_stage
    from rlselect.selection import check_validation_signal, validation_G, validation_knob
    from rlselect.selectors.base import NoValidationSignal

    t, plain = time.time(), _plain(cfg)
    rollouts = {**plain["rollouts"], "G": validation_G(plain)}
    rows = ctx.stages.run(
        "rollouts_validation", rollout_stage, ctx.model_path, ctx.val, rollouts, Path(cfg.cache_dir), load=ctx.load
    )
    ctx.cost["seconds"]["rollouts_validation"] = round(time.time() - t, 2)
    try:
        check_validation_signal(rows, validation_knob(plain), "at the base model")
    except NoValidationSignal as exc:
        refuse(exc)
        raise


def fit_to_context(ctx: Prepared, cfg: DictConfig) -> None:
    """Drop the pool's and the validation set's prompts longer than the model's positions
    (models/context.py), then check the budget again."""
    from transformers import AutoTokenizer

    from rlselect.models.context import context_length, drop_long_prompts

    if (limit := context_length(ctx.model_path)) is None:
        return
    tokenizer = AutoTokenizer.from_pretrained(ctx.model_path)
    ctx.pool = drop_long_prompts(ctx.pool, tokenizer, limit, "pool")
    ctx.val = drop_long_prompts(ctx.val, tokenizer, limit, "validation set")
    try:
        ctx.budget = run_budget(cfg.selector.name, ctx.schedule, ctx.budget, ctx.pool)
    except ValueError as exc:  # before any stage: a refusal
        refuse(exc)
        raise


def static_selection(cfg: DictConfig, ctx: Prepared | None = None) -> tuple[list[str], dict]:
    """(selected ids, selection summary) for the static schedule: select once before training."""
    from rlselect.rollouts.stage import rollout_stage

    ctx = ctx or prepare(cfg)
    cache_dir = Path(cfg.cache_dir)
    t = time.time()
    scoring_path, scoring_rows = ctx.model_path, ctx.rows
    if warmup_enabled(cfg):
        scoring_path = ctx.stages.run_parallel(
            "warmup", warmup_stage, ctx.model_path, ctx.pool, cfg, cache_dir, "none"
        )  # GRPO: data-parallel under a multi-process launch
        scoring_rows = ctx.stages.run(
            "rollouts_scoring", rollout_stage, scoring_path, ctx.pool, _plain(cfg.rollouts), cache_dir, load=ctx.load
        )
        ctx.cost["rollouts_generated"] += sum(len(r["completions"]) for r in scoring_rows)
    inputs = ctx.stages.run(  # features, hidden states, PPL, LIMR trajectories: the scoring model's stage
        "selection_inputs",
        gather_inputs,
        ctx.selector,
        ctx.pool,
        scoring_rows,
        ctx.val,
        cfg=_plain(cfg),
        cache_dir=cache_dir,
        base_model_path=ctx.model_path,
        model_path=scoring_path,
    )
    diagnostics: dict = {}
    ranked = run_selector(
        ctx.selector,
        inputs,
        ctx.budget,
        int(cfg.seed),
        ctx.params,
        diagnostics=diagnostics,
        regime=ctx.regime,
        target_family=ctx.target_family,
    )
    by_id = {r["id"]: r for r in ctx.pool}
    summary = selection_summary([by_id[i] for i in ranked], ctx.stats, ctx.regime, ctx.target_family)
    summary["diagnostics"] = diagnostics
    ctx.cost["seconds"]["selection"] = round(time.time() - t, 2)
    return ranked, summary


def static_selection_once(cfg: DictConfig, ctx: Prepared, path: Path) -> tuple[list[str], dict]:
    """static_selection, saved to `path` with its cost; a resumed run (training or evaluation failed,
    or was killed) reads it back instead of selecting again: streamed GradAlign scores are a backward
    pass over the whole pool. check_run_dir has made sure the run's configuration is the same."""
    saved = read_json(path) if path.exists() else {}
    if "cost" in saved:  # older selection.json files carry no cost: selected again
        ctx.cost["rollouts_generated"] = saved["cost"]["rollouts_generated"]
        ctx.cost["seconds"].update(saved["cost"]["seconds"])
        log.info("selection of an earlier attempt of this run reused: %s (no work)", path)
        return saved["ids"], {k: v for k, v in saved.items() if k not in ("ids", "cost")}
    ranked, selection = static_selection(cfg, ctx)
    seconds = {
        k: v
        for k, v in ctx.cost["seconds"].items()
        if k in ("rollouts", "rollouts_wall", "rollouts_validation", "selection")
    }
    cost = {"rollouts_generated": ctx.cost["rollouts_generated"], "seconds": seconds}
    atomic_write_json(path, {"ids": ranked, **selection, "cost": cost})
    return ranked, selection


def clear_run_dir(run_dir: Path) -> None:
    """force=true: drop this run's own artifacts (shared, content-keyed stage caches stay valid); the
    recomputed run is a new W&B run."""
    for name in ("result.json", "selection.json", "train", "rounds", "eval_trained", "wandb/run_id"):
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def finished_twin(cfg: DictConfig, run_dir: str | Path) -> Path | None:
    """A finished rounds run that this one repeats: the same configuration but for `budget`, which the
    rounds schedule never reads (it only names the directory), so `-m schedule=rounds budget=32,64` trains
    once per seed, not twice. Its directory, or None (and None with force=true or reevaluate=true)."""
    run_dir = Path(run_dir)
    schedule = cfg.get("schedule") or {}
    if schedule.get("name") != "rounds" or cfg.get("force", False) or cfg.get("reevaluate", False):
        return None
    tag = f"-b{cfg.budget}-"
    if (run_dir / "result.json").exists() or tag not in run_dir.name:
        return None
    identity = {k: v for k, v in run_identity(cfg).items() if k != "budget"}
    for other in sorted(run_dir.parent.glob(run_dir.name.replace(tag, "-b*-"))):
        stored = other / "run_config.json"
        if other == run_dir or not (other / "result.json").exists() or not stored.exists():
            continue
        if {k: v for k, v in read_json(stored).items() if k != "budget"} == identity:
            return other
    return None


def is_finished(cfg: DictConfig, run_dir: str | Path) -> bool:
    """A finished run that this call reads instead of computing (unless force=true, or reevaluate=true
    with other eval.* settings)."""
    if finished_twin(cfg, run_dir):
        return True
    result = Path(run_dir) / "result.json"
    if not result.exists() or cfg.get("force", False) or carries_on_to_training(cfg, result):
        return False
    if not cfg.get("reevaluate", False):
        return True
    try:
        return not check_run_dir(run_dir, run_identity(cfg))
    except RunDirConflict:  # run() raises it
        return False


def carries_on_to_training(cfg: DictConfig, result: Path) -> bool:
    """A finished selection study (selection_only=true) rerun without selection_only: its selection is
    kept, and the run trains and evaluates it."""
    return not cfg.get("selection_only", False) and bool(read_json(result).get("selection_only"))


def run(cfg: DictConfig, run_dir: str | Path) -> dict:
    """Run one (selector, schedule, budget, seed) configuration end to end; returns its record.

    One process per run directory (`run_lock`; RunInProgress if another holds it), except for the other
    ranks of a multi-process launch, which follow their main process, and a finished run, which is read.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if is_finished(cfg, run_dir) or world()[0] != 0:
        return _run(cfg, run_dir)
    with run_lock(run_dir):
        return _run(cfg, run_dir)


def _run(cfg: DictConfig, run_dir: Path) -> dict:
    from rlselect.logger import start_logger
    from rlselect.train.grpo import train_grpo

    t_start = time.time()
    cache_dir = Path(cfg.cache_dir)
    result_path = run_dir / "result.json"
    reused = ""
    if twin := finished_twin(cfg, run_dir):
        result_path, reused = twin / "result.json", " (this run: the rounds schedule does not read budget)"
    identity = run_identity(cfg)
    if cfg.get("force", False):
        clear_run_dir(run_dir)
    else:
        # before a finished result or a checkpoint of another run is reused
        finished = result_path.exists() and not cfg.get("reevaluate", False)
        finished = finished and not carries_on_to_training(cfg, result_path)
        try:
            changed = check_run_dir(run_dir, identity, finished=finished)
        except RunDirConflict:
            check_settings(cfg)  # a typo (selector.params.floor=abc) is the error to name, not the conflict it makes
            raise
        if changed:
            log.info("settings changed (%s): the selection and any training kept, the rest redone", "; ".join(changed))
            shutil.rmtree(run_dir / "eval_trained", ignore_errors=True)
            if result_path.exists():  # the earlier result is kept beside the new one
                result_path.rename(run_dir / f"result.{time.strftime('%Y%m%d-%H%M%S')}.json")
    if result_path.exists():
        log.info("run already finished: %s%s (no work; force=true recomputes)", result_path, reused)
        record = read_json(result_path)
        # a run finished earlier (e.g. with another results_dir) still lands in this study's records, once
        if append_jsonl_once(Path(cfg.results_dir) / str(cfg.study) / "runs.jsonl", record):
            log.info("its record was missing from %s/%s/runs.jsonl: appended", cfg.results_dir, cfg.study)
        log.info("%s", run_summary(record, run_dir.name))
        return record

    rank, world_size = world()
    if world_size > 1 and rank != 0:
        return follow(cfg, run_dir, rank)
    ctx = prepare(cfg)  # validates names, rows, budgets and the seed before the model is even resolved
    claim_run_dir(run_dir, identity)  # after validation: a config that failed it claims nothing
    seed = int(cfg.seed)
    if world_size > 1:
        if ctx.schedule != "static":
            raise NotImplementedError("the rounds schedule is not data-parallel yet: launch it on one process")
        announce(run_dir, "prepared", {"model_path": ctx.model_path})
    cost = ctx.cost
    logger = start_logger(_plain(cfg.logger), run_dir, config=_plain(cfg), name=run_dir.name)
    eval_cfg = _plain(cfg.eval)

    if ctx.schedule == "static":
        ranked, selection = static_selection_once(cfg, ctx, run_dir / "selection.json")
        if world_size > 1:
            announce(run_dir, "selection", {"n": len(ranked)})
        shares = {
            k: round(v, 3)
            for k, v in selection.items()
            if v is not None and (k.endswith("share") or k == "mean_success_rate")
        }
        log.info(
            "selected %d of %d prompts with %s %s (%.0f s)",
            len(ranked),
            len(ctx.pool),
            ctx.selector.name,
            shares,
            cost["seconds"]["selection"],
        )
        if len(ranked) < ctx.budget:  # a filter (the README's `hardest`) kept fewer; the table says budget
            log.warning(
                "%s kept %d prompts, fewer than budget=%d: the run trains on those %d (selection.n in its record)",
                *(ctx.selector.name, len(ranked), ctx.budget, len(ranked)),
            )
        logger.log({f"selection/{k}": v for k, v in selection.items() if v is not None})
        if cfg.get("selection_only", False):  # a selection study: what each selector picks, no GRPO
            cost["seconds"]["total"] = round(time.time() - t_start, 2)
            return finish(cfg, ctx, run_dir, logger, selection, {}, {}, selection_only=True)
        by_id = {r["id"]: r for r in ctx.pool}
        t = time.time()
        trained = ctx.stages.run_parallel(
            "train",
            train_grpo,
            ctx.model_path,
            [by_id[i] for i in ranked],
            _plain(cfg.trainer),
            run_dir / "train",
            seed=seed,
            report_to="none" if ctx.stages.isolate else logger.report_to,  # a child cannot share the W&B run
        )
    else:
        from rlselect.train.schedule import train_rounds

        t = time.time()
        from rlselect.logger import NullLogger

        trained, selection = ctx.stages.run(
            "train",
            train_rounds,
            *(ctx.model_path, ctx.pool, ctx.val, ctx.selector, ctx.params, cfg, run_dir),
            seed=seed,
            logger=NullLogger() if ctx.stages.isolate else logger,
        )
    if ctx.stages.isolate:  # the child trained without the parent's W&B run: log its history now
        for entry in trained.get("log_history", []):
            logger.log({f"train/{k}": v for k, v in entry.items() if isinstance(v, (int, float))})
    # a run that found its training done is charged what that training took; one resumed from a
    # checkpoint, what this attempt took plus what led to that checkpoint
    wall = time.time() - t + float(trained.get("resumed_seconds") or 0.0)
    cost["seconds"]["train"] = trained["seconds"] if trained.get("reused") else round(wall, 2)
    cost["train_steps"] = trained["steps"]

    t = time.time()
    base = ctx.stages.run("eval_base", evaluate_stage, ctx.model_path, eval_cfg, run_dir / "eval_base", cache_dir)
    cost["seconds"]["eval_base"] = round(time.time() - t, 2)
    t = time.time()
    after = ctx.stages.run("eval_trained", evaluate_stage, trained["checkpoint"], eval_cfg, run_dir / "eval_trained")
    cost["seconds"]["eval_trained"] = round(time.time() - t, 2)
    cost["seconds"]["total"] = round(time.time() - t_start, 2)

    return finish(cfg, ctx, run_dir, logger, selection, _metrics(after), _metrics(base))


def finish(cfg, ctx: Prepared, run_dir: Path, logger, selection, metrics, base_metrics, selection_only=False) -> dict:
    """The run's record: result.json, a line in results/<study>/runs.jsonl, the logger's summary."""
    ctx.cost["stage_pids"] = dict(ctx.stages.pids)
    record = {
        "study": cfg.study,
        "selector": cfg.selector.name,
        "schedule": ctx.schedule,
        "budget": ctx.budget,
        "seed": int(cfg.seed),
        "variant": cfg.get("variant") or None,
        "model": _plain(cfg.model).get("name"),
        "data": ctx.data_cfg["name"],
        "regime": ctx.regime,
        "regime_params": dict(ctx.data_cfg.get("regime_params") or {}),
        "metrics": metrics,
        "base_metrics": base_metrics,
        "selection": selection,
        "cost": ctx.cost,
        "evaluator": "lm-evaluation-harness",
        "code": code_commit(),  # the rlselect commit that made the record
        "run_dir": str(run_dir),
        "host": platform.node(),
        "platform": compute_platform(),  # numbers from different CPU kernels or GPUs differ
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if selection_only:
        record["selection_only"] = True
    logger.log({f"eval/{b}/accuracy": m["accuracy"] for b, m in metrics.items()})
    logger.finish(summary={"result": record})
    atomic_write_json(run_dir / "result.json", record)
    (run_dir / "failed.json").unlink(missing_ok=True)  # an earlier failure of this run is retried and done
    append_jsonl(Path(cfg.results_dir) / str(cfg.study) / "runs.jsonl", record)
    log.info("%s", run_summary(record, run_dir.name))
    return record


def follow(cfg: DictConfig, run_dir: Path, rank: int) -> dict:
    """A non-main process of a multi-process launch (distributed.py): it joins the data-parallel
    stages (LearnAlign's warm-up, training) and leaves the rest to the main process."""
    from rlselect.train.grpo import train_grpo

    ctx = validate(cfg)
    stages = Stages(isolate=True)
    model_path = ctx.model_path = wait_for(run_dir, "prepared")["model_path"]
    fit_to_context(ctx, cfg)  # the main process's pool
    if warmup_enabled(cfg):
        stages.run_parallel("warmup", warmup_stage, model_path, ctx.pool, cfg, Path(cfg.cache_dir), "none")
    wait_for(run_dir, "selection")
    by_id = {r["id"]: r for r in ctx.pool}
    chosen = [by_id[i] for i in read_json(run_dir / "selection.json")["ids"]]
    stages.run_parallel(
        "train", train_grpo, model_path, chosen, _plain(cfg.trainer), run_dir / "train", seed=int(cfg.seed)
    )
    log.info("process %d: training done; the main process evaluates and records the run", rank)
    return {"rank": rank, "stage_pids": stages.pids}


def record_failure(cfg: DictConfig, run_dir: str | Path, exc: BaseException) -> dict:
    """A failed run of a sweep: <run_dir>/failed.json and a line in results/<study>/failures.jsonl,
    so the sweep goes on and the failure stays on record (rerunning the sweep retries it)."""
    import traceback

    entry = {
        "study": str(cfg.study),
        "selector": str(cfg.selector.name),
        "budget": cfg.get("budget"),
        "seed": int(cfg.seed),
        "run_dir": str(run_dir),
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    atomic_write_json(Path(run_dir) / "failed.json", entry)
    append_jsonl(Path(cfg.results_dir) / str(cfg.study) / "failures.jsonl", entry)
    log.error("run %s FAILED: %s (the sweep goes on; traceback in %s)", Path(run_dir).name, entry["error"], run_dir)
    return entry


def run_summary(record: dict, name: str) -> str:
    """The final table of one run: accuracy before and after training, and where the time went."""
    rows = []
    for bench, m in record["metrics"].items():
        base = (record["base_metrics"].get(bench) or {}).get("accuracy")
        after = m.get("accuracy")
        if base is not None and after is not None:
            rows.append(f"| {bench} | {100 * base:.1f} | {100 * after:.1f} | {100 * (after - base):+.1f} |")
    lines = [f"run {name} finished in {record['cost']['seconds']['total']:.0f} s", ""]
    if rows:
        lines += ["| benchmark | base | GRPO-trained | change |", "|---|---|---|---|", *rows]
    else:
        what = "selection only (selection_only=true)" if record.get("selection_only") else "no benchmark evaluated"
        lines.append(f"{what}: the selected ids are in {Path(record.get('run_dir') or name) / 'selection.json'}")
    secs = {k: v for k, v in record["cost"]["seconds"].items() if k != "total"}
    lines += ["", "seconds per stage: " + ", ".join(f"{k} {v:.0f}" for k, v in secs.items())]
    return "\n".join(lines)
