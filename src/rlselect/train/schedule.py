"""`schedule=rounds`: GRPO whose training set is re-selected every S steps (METHODS.md section 3).

Round t: take chunk t of M candidates, sample k_r rollouts per candidate with the current policy,
compute what the selector needs at that policy (gradients, validation gradient, ...), keep the top
fraction q, train S steps on it. Any selector works in this schedule.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from omegaconf import OmegaConf

log = logging.getLogger(__name__)


def _plain(node):
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def train_rounds(model_path: str, pool: list[dict], val: list[dict], selector, params: dict, cfg, run_dir: Path,
                 *, seed: int, logger) -> tuple[dict, dict]:
    """(training summary, selection summary with per-round entries)."""
    from rlselect.pipeline import selection_summary
    from rlselect.rollouts.generate import render_prompts, sample_completions, score_groups
    from rlselect.selection import compute_gradient_features, compute_validation_gradient, run_selector
    from rlselect.selectors import SelectionInputs
    from rlselect.train.grpo import train_grpo
    from rlselect.train.rounds import PoolView, RoundCallback, chunks

    sched = _plain(cfg.schedule)
    data_cfg = _plain(cfg.data)
    feat_cfg = dict(_plain(cfg.get("features")) or {})
    rollout_cfg = _plain(cfg.rollouts)
    trainer_cfg = _plain(cfg.trainer)
    chunk_size = min(int(sched["chunk_size"]), len(pool))
    keep = max(1, math.floor(float(sched["keep_fraction"]) * chunk_size))
    steps_per_round = int(sched["steps_per_round"])
    n_rounds = int(sched["rounds"])
    max_steps = steps_per_round * n_rounds
    args = trainer_cfg.get("args") or {}
    prompts_per_step = args.get("per_device_train_batch_size", 8) * args.get("gradient_accumulation_steps", 1) \
        // args.get("num_generations", 8)
    by_id = {r["id"]: r for r in pool}
    view = PoolView(by_id, length=max(1, max_steps * prompts_per_step))
    chunk = chunks(list(by_id), chunk_size, seed)
    regime, target = data_cfg.get("regime", "none"), (data_cfg.get("regime_params") or {}).get("target_family")
    tokenizer_box: dict = {}
    cache_dir = Path(cfg.cache_dir)
    # Per-item inputs that do not depend on the current policy are computed once, at the base model.
    static_extra: dict = {}
    if "reward_trajectories" in selector.needs:
        from rlselect.stats.reward_trajectory import reward_trajectory_stage

        static_extra["reward_trajectories"] = reward_trajectory_stage(
            model_path, pool, trainer_cfg, int(cfg.selector.get("limr_epochs", 2)), cache_dir)
    base_ppl: dict = {}
    if "ppl" in selector.needs:
        from rlselect.stats.perplexity import perplexity_stage

        base_ppl = perplexity_stage(model_path, pool, cache_dir)

    def select_round(model, t: int, chunk_ids: list[str]):
        tok = tokenizer_box["tok"]
        recs = [by_id[i] for i in chunk_ids]
        groups = sample_completions(model, tok, render_prompts(tok, recs), G=int(sched.get("k_r", rollout_cfg["G"])),
                                    temperature=rollout_cfg["temperature"], top_p=rollout_cfg["top_p"],
                                    max_new_tokens=rollout_cfg["max_new_tokens"], seed=seed * 1009 + t,
                                    batch_size=rollout_cfg.get("batch_size", 32))
        rows = score_groups(recs, groups)
        stats = {r["id"]: {"p": r["p"], "mean_len": r["mean_len"]} for r in rows}
        for rid in stats:
            stats[rid].update(base_ppl.get(rid, {}))
        inputs = SelectionInputs(records=recs, stats=stats, extra=dict(static_extra))
        if "hidden" in selector.needs:
            from rlselect.stats.hidden import hidden_features

            inputs.hidden = hidden_features(model, tok, recs)
        if "features" in selector.needs:
            inputs.features = compute_gradient_features(model, tok, recs, rows, feat_cfg, out_dir=None)
        if "val_features" in selector.needs:
            vgroups = sample_completions(model, tok, render_prompts(tok, val), G=int(sched.get("k_v", rollout_cfg["G"])),
                                         temperature=rollout_cfg["temperature"], top_p=rollout_cfg["top_p"],
                                         max_new_tokens=rollout_cfg["max_new_tokens"], seed=seed * 2003 + t,
                                         batch_size=rollout_cfg.get("batch_size", 32))
            inputs.val_features = compute_validation_gradient(model, tok, val, score_groups(val, vgroups), feat_cfg)
        kept = run_selector(selector, inputs, keep, seed + t, params)
        summary = selection_summary([by_id[i] for i in kept], stats, regime, target)
        summary["chunk_mean_success_rate"] = sum(s["p"] for s in stats.values()) / len(stats)
        summary["rollouts_generated"] = sum(len(g) for g in groups)
        return kept, summary

    rounds_dir = Path(run_dir) / "rounds"
    callback = RoundCallback(view, chunk, select_round, steps_per_round, rounds_dir, log_fn=logger.log)

    def on_model_loaded(model, tok):
        tokenizer_box["tok"] = tok
        callback._round(0, model)  # the dataset must hold round 0 before the trainer is built

    trained = train_grpo(model_path, [], {**trainer_cfg, "budget_mode": "equal_steps", "max_steps": max_steps},
                         Path(run_dir) / "train", seed=seed, report_to=logger.report_to,
                         callbacks=[callback], train_dataset=view.dataset, on_model_loaded=on_model_loaded)
    rounds = sorted(rounds_dir.glob("round_*.json"))
    from rlselect.cache import read_json

    per_round = [{k: v for k, v in read_json(p).items() if k != "ids"} for p in rounds]
    keys = [k for k in ("mean_success_rate", "corrupted_share", "on_target_share", "low_utility_share") if per_round and k in per_round[0]]
    selection = {"n": keep, "rounds": per_round,
                 **{k: sum(r[k] for r in per_round) / len(per_round) for k in keys if all(r[k] is not None for r in per_round)}}
    return trained, selection
