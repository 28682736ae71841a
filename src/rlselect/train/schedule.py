"""`schedule=rounds`: GRPO whose training set is re-selected every S steps (docs/methods.md section 3).

Round t: take chunk t of M candidates, sample k_r rollouts per candidate with the current policy
(only for selectors that read rollouts: random or a length heuristic would pay M x k_r generations a
round for nothing), compute what the selector needs at that policy (gradients, validation gradient,
...), keep the top fraction q, train S steps on it. Any selector but `full` works in this schedule.
"""

from __future__ import annotations

import logging
import math
import random
from pathlib import Path

from omegaconf import OmegaConf

log = logging.getLogger(__name__)


def train_rounds(
    model_path: str, pool: list[dict], val: list[dict], selector, params: dict, cfg, run_dir: Path, *, seed: int, logger
) -> tuple[dict, dict]:
    """(training summary, selection summary with per-round entries)."""
    from rlselect.cache import read_json
    from rlselect.rollouts.generate import sample_rows
    from rlselect.run_config import refuse
    from rlselect.selection import gather_inputs, item_stats, run_selector, selection_summary, uses_rollouts
    from rlselect.selectors.base import NoValidationSignal, SelectionInputs
    from rlselect.train.grpo import train_grpo
    from rlselect.train.rounds import RoundSchedule, chunks, slot_dataset

    plain = OmegaConf.to_container(cfg, resolve=True)
    sched, data_cfg, rollout_cfg, trainer_cfg = plain["schedule"], plain["data"], plain["rollouts"], plain["trainer"]
    chunk_size = min(int(sched["chunk_size"]), len(pool))
    keep = max(1, math.floor(float(sched["keep_fraction"]) * chunk_size))
    steps_per_round = int(sched["steps_per_round"])
    max_steps = steps_per_round * int(sched["rounds"])
    args = trainer_cfg.get("args") or {}
    batch = args.get("per_device_train_batch_size", 8) * args.get("gradient_accumulation_steps", 1)
    prompts_per_step = batch // args.get("num_generations", 8)
    by_id = {r["id"]: r for r in pool}
    regime, target = data_cfg.get("regime", "none"), (data_cfg.get("regime_params") or {}).get("target_family")
    k_r, k_v = int(sched.get("k_r", rollout_cfg["G"])), int(sched.get("k_v", rollout_cfg["G"]))
    # gather_inputs' arguments that are the same in every round
    gather_kw = dict(cfg=plain, cache_dir=Path(cfg.cache_dir), base_model_path=model_path, val_G=k_v, pool=pool)
    tokenizer_box: dict = {}

    def select_round(model, t: int, chunk_ids: list[str]):
        tok = tokenizer_box["tok"]
        recs = [by_id[i] for i in chunk_ids]
        rows = []
        if uses_rollouts(selector, params):
            rows = sample_rows(model, tok, recs, rollout_cfg, G=k_r, seed=seed * 1009 + t)
        diagnostics: dict = {}
        try:
            inputs = gather_inputs(
                selector, recs, rows, val, model=model, tokenizer=tok, round_seed=seed * 2003 + t, **gather_kw
            )
            kept = run_selector(
                selector, inputs, keep, seed + t, params, diagnostics=diagnostics, regime=regime, target_family=target
            )
        except NoValidationSignal as exc:  # the policy now solves every validation prompt (or none)
            if t == 0:  # before any step: the validation set is unusable for this model
                exc.args = (f"{exc} (round 0, before training)",)
                refuse(exc)
                raise
            log.warning("round %d: %s; this round keeps a random %d of its chunk", t, exc, keep)
            kept = random.Random(seed * 4001 + t).sample(chunk_ids, min(keep, len(chunk_ids)))
            inputs = SelectionInputs(records=recs, stats=item_stats(rows))
            diagnostics["fallback"] = "random: no validation signal at this policy"
        summary = selection_summary([by_id[i] for i in kept], inputs.stats, regime, target)
        summary.update({f"diag_{k}": v for k, v in diagnostics.items()})
        ps = [s["p"] for s in inputs.stats.values() if "p" in s]  # none without rollouts
        summary["chunk_mean_success_rate"] = sum(ps) / len(ps) if ps else None
        summary["rollouts_generated"] = sum(len(r["completions"]) for r in rows)
        return kept, summary

    rounds_dir = Path(run_dir) / "rounds"
    chunk = chunks(list(by_id), chunk_size, seed)
    schedule = RoundSchedule(
        by_id, chunk, select_round, steps_per_round, prompts_per_step, rounds_dir, seed, log_fn=logger.log
    )

    def on_trainer_built(trainer):
        tokenizer_box["tok"] = trainer.processing_class
        schedule.attach(trainer)

    trained = train_grpo(
        model_path,
        [],
        {**trainer_cfg, "budget_mode": "equal_steps", "max_steps": max_steps},
        Path(run_dir) / "train",
        seed=seed,
        report_to=logger.report_to,
        train_dataset=slot_dataset(max(1, max_steps * prompts_per_step)),
        on_trainer_built=on_trainer_built,
    )
    per_round = [{k: v for k, v in read_json(p).items() if k != "ids"} for p in sorted(rounds_dir.glob("round_*.json"))]
    shares = ("mean_success_rate", "corrupted_share", "on_target_share", "low_utility_share")
    keys = [k for k in shares if per_round and k in per_round[0] and all(r[k] is not None for r in per_round)]
    return trained, {"n": keep, "rounds": per_round, **{k: sum(r[k] for r in per_round) / len(per_round) for k in keys}}
