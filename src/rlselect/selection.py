"""Gathering what a selector needs (`Selector.needs`) and running it on a set of candidates.

Used by both schedules: `static` (once, at the starting policy, every stage cached on disk and
shared by a sweep) and `rounds` (at the current policy inside training, cached per round in the
run directory).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rlselect.selectors import SelectionInputs, Selector

log = logging.getLogger(__name__)


def advantages(rewards: list[float]) -> list[float]:
    """A_ij = r_ij - mean_j r_ij (GradAlign's scorer; no std division, METHODS.md section 1)."""
    mean = sum(rewards) / len(rewards) if rewards else 0.0
    return [r - mean for r in rewards]


def grad_inputs(tokenizer, records: list[dict], rows: list[dict], rollouts_for_grad: str = "all"):
    """(prompts, completions, advantages) for the gradient features of `records`.

    `one_correct` keeps a single correct rollout per prompt with advantage 1 - p (the paper's
    speed-up for large pools); prompts with no correct rollout get no gradient.
    """
    from rlselect.rollouts.generate import render_prompts

    prompts = render_prompts(tokenizer, records)
    comps, advs = [], []
    for row in rows:
        if rollouts_for_grad == "one_correct":
            correct = [c for c, r in zip(row["completions"], row["rewards"]) if r > 0]
            comps.append(correct[:1] or row["completions"][:1])
            advs.append([1.0 - row["p"]] if correct else [0.0])
        elif rollouts_for_grad == "all":
            comps.append(row["completions"])
            advs.append(advantages(row["rewards"]))
        else:
            raise ValueError(f"features.rollouts_for_grad={rollouts_for_grad!r}; available: all, one_correct")
    return prompts, comps, advs


def feature_kwargs(feat_cfg: dict) -> dict[str, Any]:
    from rlselect.grads import JLProjection

    proj = feat_cfg.get("projection") or {}
    projection = JLProjection(dim=int(proj["dim"]), seed=int(proj.get("seed", 0)), kind=proj.get("kind", "rademacher")) \
        if proj.get("dim") else None
    kwargs = dict(params=feat_cfg.get("params", "all"), token_agg=feat_cfg.get("token_agg", "seq_mean"),
                  projection=projection, batch_size=int(feat_cfg.get("batch_size", 8)))
    if proj.get("buffer_mb") is not None:
        kwargs["projection_buffer_mb"] = float(proj["buffer_mb"])
    return kwargs


def compute_gradient_features(model, tokenizer, records, rows, feat_cfg: dict, out_dir: Path | None):
    """[n, d] features; sharded and resumable on disk when `out_dir` is given."""
    from rlselect.grads import policy_gradients
    from rlselect.grads.store import compute_features

    prompts, comps, advs = grad_inputs(tokenizer, records, rows, feat_cfg.get("rollouts_for_grad", "all"))
    kwargs = feature_kwargs(feat_cfg)
    if out_dir is None:
        return policy_gradients(model, tokenizer, prompts, comps, advs, **kwargs)
    return compute_features(model, tokenizer, prompts, comps, advs, out_dir,
                            shard_size=int(feat_cfg.get("shard_size", 64)), **kwargs)


def compute_validation_gradient(model, tokenizer, val_records, val_rows, feat_cfg: dict):
    from rlselect.grads import validation_gradient

    if not val_records:
        raise ValueError("this selector needs a validation set: set data.val_split (and data.val_size)")
    prompts, comps, advs = grad_inputs(tokenizer, val_records, val_rows, "all")
    if all(a == 0 for group in advs for a in group):
        raise ValueError(
            f"validation set has no learnable items: all {len(val_records)} validation groups have equal "
            "rewards at this policy (every rollout right, or every one wrong); use a harder/easier "
            "validation set or more rollouts (selector.params / features.val_G)"
        )
    return validation_gradient(model, tokenizer, prompts, comps, advs, **feature_kwargs(feat_cfg))


def run_selector(selector: Selector, inputs: SelectionInputs, budget: int, seed: int, params: dict) -> list[str]:
    ranked = selector(inputs, budget, seed, **params)
    if len(set(ranked)) != len(ranked) or not set(ranked) <= set(inputs.ids):
        raise RuntimeError(f"selector {selector.name} returned duplicate or unknown ids")
    return ranked[:budget]


def static_inputs(selector: Selector, pool: list[dict], val: list[dict], *, model_path: str, base_model_path: str,
                  rows: list[dict], cfg: dict, cache_dir: Path) -> SelectionInputs:
    """Everything `selector.needs`, computed once at `model_path` and cached under `cache_dir`.

    `rows` are the pool's rollouts at `model_path` (their p_i are the per-item stats). Perplexities
    are taken under the base model (the baselines' definition), gradients at the scoring policy.
    """
    from rlselect.cache import records_key, stage_key
    from rlselect.rollouts.stage import model_fingerprint, rollout_stage

    stats = {r["id"]: {"p": r["p"], "mean_len": r["mean_len"]} for r in rows}
    inputs = SelectionInputs(records=pool, stats=stats)
    needs = selector.needs
    feat_cfg = dict(cfg.get("features") or {})
    model = tok = None
    if needs & {"features", "val_features", "hidden"}:
        from rlselect.models import load_model

        model, tok = load_model(model_path)
    if "features" in needs:
        key = stage_key("features-v2", model_fingerprint(model_path), records_key(pool),
                        cfg.get("rollouts"), feat_cfg)
        inputs.features = compute_gradient_features(model, tok, pool, rows, feat_cfg,
                                                    Path(cache_dir) / "features" / key)
    if "val_features" in needs:
        val_rollouts = {**dict(cfg.get("rollouts") or {}), "G": int(feat_cfg.get("val_G", cfg["rollouts"]["G"]))}
        val_rows = rollout_stage(model_path, val, val_rollouts, cache_dir, model=model, tokenizer=tok)
        inputs.val_features = compute_validation_gradient(model, tok, val, val_rows, feat_cfg)
    if "hidden" in needs:
        from rlselect.stats.hidden import hidden_features

        inputs.hidden = hidden_features(model, tok, pool)
    if "reward_trajectories" in needs:
        from rlselect.stats.reward_trajectory import reward_trajectory_stage

        inputs.extra["reward_trajectories"] = reward_trajectory_stage(
            base_model_path, pool, dict(cfg["trainer"]), int(cfg["selector"].get("limr_epochs", 2)), cache_dir)
    if "ppl" in needs:
        from rlselect.stats.perplexity import perplexity_stage

        for rid, row in perplexity_stage(base_model_path, pool, cache_dir).items():
            stats[rid].update(row)
    return inputs
