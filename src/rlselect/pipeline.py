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
    pool = apply_regime(pool, regime, data_cfg.get("regime_seed", 0), **dict(data_cfg.get("regime_params") or {}))
    if data_cfg.get("pool_size"):
        pool = pool[: int(data_cfg["pool_size"])]
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


def selection_summary(chosen: list[dict], stats: dict[str, dict]) -> dict:
    ps = [stats[r["id"]]["p"] for r in chosen if r["id"] in stats]
    out: dict[str, Any] = {"n": len(chosen), "mean_success_rate": sum(ps) / len(ps) if ps else None}
    if any(r["meta"].get("corrupted") for r in chosen) or any("corrupted" in r["meta"] for r in chosen):
        out["corrupted_share"] = sum(bool(r["meta"].get("corrupted")) for r in chosen) / max(1, len(chosen))
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


def run(cfg: DictConfig, run_dir: str | Path) -> dict:
    """Run one (selector, budget, seed) configuration end to end; returns its result record."""
    from rlselect.logger import start_logger
    from rlselect.models import resolve_model_path
    from rlselect.rollouts.stage import rollout_stage
    from rlselect.selectors import SelectionInputs, get_selector

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
    data_cfg = _plain(cfg.data)
    pool, val = load_pool(data_cfg, seed=seed)
    budget = len(pool) if cfg.selector.name == "full" else int(cfg.budget)
    check_budget(budget, pool, cfg.selector.name)
    if cfg.schedule.name not in ("static", "rounds"):
        raise ValueError(f"schedule={cfg.schedule.name!r}; available: static, rounds")
    cost: dict[str, Any] = {"seconds": {}}

    t = time.time()
    model_path = resolve_model_path(_plain(cfg.model), cache_dir)
    cost["seconds"]["model"] = round(time.time() - t, 2)

    logger = start_logger(_plain(cfg.logger), run_dir, config=_plain(cfg), name=run_dir.name)

    # Rollouts at the starting policy: success rates for selection and for reporting.
    t = time.time()
    rollout_cfg = _plain(cfg.rollouts)
    rows = rollout_stage(model_path, pool, rollout_cfg, cache_dir)
    stats = {r["id"]: {"p": r["p"], "mean_len": r["mean_len"]} for r in rows}
    cost["rollouts_generated"] = sum(len(r["completions"]) for r in rows)
    cost["seconds"]["rollouts"] = round(time.time() - t, 2)

    # Selection (pure: ranked ids from the precomputed inputs).
    t = time.time()
    inputs = SelectionInputs(records=pool, stats=stats)
    ranked = selector(inputs, budget, seed, **dict(_plain(cfg.selector.get("params")) or {}))
    by_id = {r["id"]: r for r in pool}
    chosen = [by_id[i] for i in ranked[:budget]]
    selection = selection_summary(chosen, stats)
    atomic_write_json(run_dir / "selection.json", {"ids": [r["id"] for r in chosen], **selection})
    cost["seconds"]["selection"] = round(time.time() - t, 2)
    log.info("selected %d of %d with %s: %s", len(chosen), len(pool), selector.name, selection)
    logger.log({f"selection/{k}": v for k, v in selection.items() if v is not None})

    # Base model evaluation (shared by every run of the sweep through the cache).
    eval_cfg = _plain(cfg.eval)
    t = time.time()
    base = evaluate_stage(model_path, eval_cfg, run_dir / "eval_base", cache_dir=cache_dir)
    cost["seconds"]["eval_base"] = round(time.time() - t, 2)

    # GRPO training on the selection.
    from rlselect.train.grpo import train_grpo

    t = time.time()
    trained = train_grpo(model_path, chosen, _plain(cfg.trainer), run_dir / "train", seed=seed,
                         report_to=logger.report_to)
    cost["seconds"]["train"] = round(time.time() - t, 2)
    cost["train_steps"] = trained["steps"]

    t = time.time()
    after = evaluate_stage(trained["checkpoint"], eval_cfg, run_dir / "eval_trained")
    cost["seconds"]["eval_trained"] = round(time.time() - t, 2)
    cost["seconds"]["total"] = round(time.time() - t_start, 2)

    record = {
        "study": cfg.study,
        "selector": cfg.selector.name,
        "schedule": cfg.schedule.name,
        "budget": budget,
        "seed": seed,
        "model": _plain(cfg.model).get("name"),
        "data": data_cfg["name"],
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
