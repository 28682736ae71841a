"""One run of the pipeline: data -> rollouts -> (features) -> selection -> GRPO -> evaluation.

Every stage is cached under `cache_dir` by a key of its inputs (so a sweep's runs share the warm
start, the rollouts and the base model's evaluation) or under the run directory (selection,
training, trained-model evaluation), and a rerun of a finished run does no work.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlselect.cache import append_jsonl, atomic_write_json, read_json, stage_key

log = logging.getLogger("rlselect")


def _plain(cfg) -> Any:
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def load_pool(data_cfg: dict, seed: int) -> tuple[list[dict], list[dict]]:
    """(pool, validation) records, with the data regime applied to the pool."""
    from rlselect.data import load_records
    from rlselect.data.regimes import apply_regime

    kwargs = dict(data_cfg.get("kwargs") or {})
    pool = load_records(data_cfg["name"], data_cfg.get("pool_split", "train"), data_cfg.get("path"), **kwargs)
    regime = data_cfg.get("regime", "none")
    size = int(data_cfg["pool_size"]) if data_cfg.get("pool_size") else None
    # Corrupt exactly the requested fraction of the pool; mix an imbalanced pool before cutting it.
    if regime != "imbalance":
        pool = pool[:size]
    pool = apply_regime(pool, regime, data_cfg.get("regime_seed", 0), **dict(data_cfg.get("regime_params") or {}))
    pool = pool[:size]
    val: list[dict] = []
    if data_cfg.get("val_split"):
        val = load_records(data_cfg["name"], data_cfg["val_split"], data_cfg.get("path"), **kwargs)
        if regime == "imbalance":  # the trusted set is the target family
            val = [r for r in val if r["meta"]["family"] == data_cfg["regime_params"]["target_family"]]
        if data_cfg.get("val_size"):
            val = val[: int(data_cfg["val_size"])]
    return pool, val


def check_budget(budget: int, pool: list[dict], selector_name: str) -> None:
    if selector_name != "full" and not 0 < budget <= len(pool):
        raise ValueError(f"budget={budget} but the pool has {len(pool)} items (data.pool_size); "
                         f"choose 1 <= budget <= {len(pool)} or selector=full")


def selection_summary(chosen: list[dict], stats: dict[str, dict], regime: str = "none",
                      target_family: str | None = None) -> dict:
    """Size, mean success rate and, when the pool carries ground truth, the selection precision."""
    ps = [stats[r["id"]]["p"] for r in chosen if r["id"] in stats]
    out: dict[str, Any] = {"n": len(chosen), "mean_success_rate": sum(ps) / len(ps) if ps else None}
    if regime == "noisy_reward":
        out["corrupted_share"] = sum(bool(r["meta"]["corrupted"]) for r in chosen) / max(1, len(chosen))
    if regime == "imbalance" and target_family:
        out["on_target_share"] = sum(r["meta"]["family"] == target_family for r in chosen) / max(1, len(chosen))
    return out


def evaluate_stage(model_path: str, eval_cfg: dict, out_dir: Path, cache_dir: Path | None = None) -> list[dict]:
    """lm-eval on the configured benchmarks; cached in `cache_dir` for shared (base) models."""
    from rlselect.eval import run_config
    from rlselect.rollouts.stage import model_fingerprint

    if cache_dir is not None:
        out_dir = Path(cache_dir) / "eval" / stage_key("eval-v1", model_fingerprint(model_path), eval_cfg)
    done = out_dir / "eval_results.json"
    if done.exists():
        log.info("evaluation of %s cached in %s (no work)", model_path, out_dir)
        return read_json(done)
    results = run_config(model_path, eval_cfg, output_dir=str(out_dir))
    atomic_write_json(done, results)
    return results


def _metrics(results: list[dict]) -> dict[str, dict]:
    return {
        r["benchmark"]: {k: r.get(k) for k in ("accuracy", "stderr", "protocol", "k", "n_problems", "limit")}
        for r in results
    }


def warmup_stage(model_path: str, pool: list[dict], cfg: DictConfig, cache_dir: Path, report_to: str) -> str:
    """LearnAlign's warm-up: GRPO on a random subset of the pool gives the scoring policy theta_s."""
    import random

    from rlselect.rollouts.stage import model_fingerprint
    from rlselect.train.grpo import train_grpo

    wcfg = _plain(cfg.selector.warmup)
    rng = random.Random(f"warmup-{wcfg.get('seed', 0)}")
    subset = rng.sample(pool, min(int(wcfg["size"]), len(pool)))
    trainer_cfg = {**_plain(cfg.trainer), "budget_mode": "equal_steps", "max_steps": int(wcfg["steps"])}
    key = stage_key("warmup-v1", model_fingerprint(model_path), [r["id"] for r in subset], trainer_cfg)
    out = train_grpo(model_path, subset, trainer_cfg, Path(cache_dir) / "warmup" / key,
                     seed=int(wcfg.get("seed", 0)), report_to="none")
    return out["checkpoint"]


def run(cfg: DictConfig, run_dir: str | Path) -> dict:
    """Run one (selector, schedule, budget, seed) configuration end to end; returns its record."""
    from rlselect.logger import start_logger
    from rlselect.models import resolve_model_path
    from rlselect.rollouts.stage import rollout_stage
    from rlselect.selection import run_selector, static_inputs
    from rlselect.selectors import get_selector

    t_start = time.time()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cfg.cache_dir)
    seed = int(cfg.seed)
    result_path = run_dir / "result.json"
    if result_path.exists() and not cfg.get("force", False):
        log.info("run already finished: %s (no work; force=true recomputes)", result_path)
        return read_json(result_path)

    # Validate everything cheap before any expensive stage.
    selector = get_selector(cfg.selector.name)
    params = dict(_plain(cfg.selector.get("params")) or {})
    data_cfg = _plain(cfg.data)
    pool, val = load_pool(data_cfg, seed=seed)
    schedule = cfg.schedule.name
    if schedule not in ("static", "rounds"):
        raise ValueError(f"schedule={schedule!r}; available: static, rounds")
    budget = len(pool) if cfg.selector.name == "full" else int(cfg.budget)
    if schedule == "static":  # in rounds the schedule sets the size (chunk_size x keep_fraction)
        check_budget(budget, pool, cfg.selector.name)
    if "val_features" in selector.needs and not val:
        raise ValueError(f"selector {selector.name} needs a validation set: set data.val_split")
    regime = data_cfg.get("regime", "none")
    target = (data_cfg.get("regime_params") or {}).get("target_family")
    cost: dict[str, Any] = {"seconds": {}}

    t = time.time()
    model_path = resolve_model_path(_plain(cfg.model), cache_dir)
    cost["seconds"]["model"] = round(time.time() - t, 2)
    logger = start_logger(_plain(cfg.logger), run_dir, config=_plain(cfg), name=run_dir.name)

    # Rollouts at the starting policy: the success rates every run reports (cached, shared).
    t = time.time()
    rollout_cfg = _plain(cfg.rollouts)
    rows = rollout_stage(model_path, pool, rollout_cfg, cache_dir)
    stats = {r["id"]: {"p": r["p"], "mean_len": r["mean_len"]} for r in rows}
    cost["rollouts_generated"] = sum(len(r["completions"]) for r in rows)
    cost["seconds"]["rollouts"] = round(time.time() - t, 2)

    from rlselect.train.grpo import train_grpo

    eval_cfg = _plain(cfg.eval)
    if schedule == "static":
        t = time.time()
        scoring_path, scoring_rows = model_path, rows
        if cfg.selector.get("warmup") and cfg.selector.warmup.get("enabled"):
            scoring_path = warmup_stage(model_path, pool, cfg, cache_dir, logger.report_to)
            scoring_rows = rollout_stage(scoring_path, pool, rollout_cfg, cache_dir)
            cost["rollouts_generated"] += sum(len(r["completions"]) for r in scoring_rows)
        inputs = static_inputs(selector, pool, val, model_path=scoring_path, base_model_path=model_path,
                               rows=scoring_rows, cfg=_plain(cfg), cache_dir=cache_dir)
        ranked = run_selector(selector, inputs, budget, seed, params)
        by_id = {r["id"]: r for r in pool}
        chosen = [by_id[i] for i in ranked]
        selection = selection_summary(chosen, stats, regime, target)
        atomic_write_json(run_dir / "selection.json", {"ids": ranked, **selection})
        cost["seconds"]["selection"] = round(time.time() - t, 2)
        log.info("selected %d of %d with %s: %s", len(chosen), len(pool), selector.name, selection)
        logger.log({f"selection/{k}": v for k, v in selection.items() if v is not None})
        t = time.time()
        trained = train_grpo(model_path, chosen, _plain(cfg.trainer), run_dir / "train", seed=seed,
                             report_to=logger.report_to)
    else:
        from rlselect.train.schedule import train_rounds

        t = time.time()
        trained, selection = train_rounds(model_path, pool, val, selector, params, cfg, run_dir,
                                          seed=seed, logger=logger)
    cost["seconds"]["train"] = round(time.time() - t, 2)
    cost["train_steps"] = trained["steps"]

    t = time.time()
    base = evaluate_stage(model_path, eval_cfg, run_dir / "eval_base", cache_dir=cache_dir)
    cost["seconds"]["eval_base"] = round(time.time() - t, 2)
    t = time.time()
    after = evaluate_stage(trained["checkpoint"], eval_cfg, run_dir / "eval_trained")
    cost["seconds"]["eval_trained"] = round(time.time() - t, 2)
    cost["seconds"]["total"] = round(time.time() - t_start, 2)

    record = {
        "study": cfg.study,
        "selector": cfg.selector.name,
        "schedule": schedule,
        "budget": budget,
        "seed": seed,
        "variant": cfg.get("variant"),
        "model": _plain(cfg.model).get("name"),
        "data": data_cfg["name"],
        "regime": regime,
        "metrics": _metrics(after),
        "base_metrics": _metrics(base),
        "selection": selection,
        "cost": cost,
        "evaluator": "lm-evaluation-harness",
        "run_dir": str(run_dir),
        "host": platform.node(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    logger.log({f"eval/{b}/accuracy": m["accuracy"] for b, m in record["metrics"].items()})
    logger.finish(summary={"result": record})
    atomic_write_json(result_path, record)
    append_jsonl(Path(cfg.results_dir) / str(cfg.study) / "runs.jsonl", record)
    return record
