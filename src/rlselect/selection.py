"""Gathering what a selector needs (`Selector.needs`), running it, and summarising its choice.

One path for both schedules: `static` (once, at the scoring policy loaded from disk, gradient
features cached on disk and shared by a sweep) and `rounds` (at the live policy inside training:
features in memory, validation rollouts sampled with the round's seed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlselect import console
from rlselect.cache import model_fingerprint, records_key, stage_key, stage_lock
from rlselect.models import load_options
from rlselect.selectors.base import SelectionInputs, Selector

log = logging.getLogger(__name__)


def advantages(rewards: list[float]) -> list[float]:
    """A_ij = r_ij - mean_j r_ij (GradAlign's scorer; no std division, docs/methods.md section 1)."""
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
            raise ValueError(f"features.rollouts_for_grad={rollouts_for_grad!r}; available: {', '.join(GRAD_ROLLOUTS)}")
    return prompts, comps, advs


def feature_kwargs(feat_cfg: dict) -> dict[str, Any]:
    from rlselect.grads import make_projector

    proj = feat_cfg.get("projection") or {}
    projection = None
    if proj.get("dim"):
        projection = make_projector(proj.get("kind", "countsketch"), int(proj["dim"]), int(proj.get("seed", 0)))
    kwargs = dict(
        params=feat_cfg.get("params", "all"),
        token_agg=feat_cfg.get("token_agg", "seq_mean"),
        projection=projection,
        batch_size=int(feat_cfg.get("batch_size", 8)),
        max_tokens_per_batch=int(feat_cfg["max_tokens_per_batch"]) if feat_cfg.get("max_tokens_per_batch") else None,
    )
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
    # one run of a concurrent sweep computes; the others wait, then read
    with stage_lock(out_dir, "gradient features"), console.progress(len(prompts), "gradient features", "prompt") as bar:
        return compute_features(
            model,
            tokenizer,
            prompts,
            comps,
            advs,
            out_dir,
            shard_size=int(feat_cfg.get("shard_size", 64)),
            progress=lambda rows, cached: console.found_done(bar, rows) if cached else bar.update(rows),
            **kwargs,
        )


def validation_G(cfg: dict, val_G: int | None = None) -> int:
    """Rollouts per validation prompt: the rounds' schedule.k_v (`val_G`), else features.val_G, else rollouts.G."""
    return int(val_G or (cfg.get("features") or {}).get("val_G") or cfg["rollouts"]["G"])


def check_validation_signal(val_rows: list[dict], knob: str, where: str = "at this policy") -> None:
    """NoValidationSignal when every validation group has equal rewards: all advantages, and g_V, are zero.
    `knob` is the setting that sets the rollouts per validation prompt, with its value."""
    from rlselect.selectors.base import NoValidationSignal

    if all(len(set(row["rewards"])) <= 1 for row in val_rows):
        raise NoValidationSignal(
            f"validation set has no learnable items: all {len(val_rows)} validation groups have equal rewards "
            f"{where} (every rollout right, or every one wrong); use a harder/easier validation set or more "
            f"rollouts per validation prompt ({knob})"
        )


def validation_knob(cfg: dict, val_G: int | None = None) -> str:
    """The setting behind validation_G, as the user types it: schedule.k_v in rounds, else features.val_G."""
    return f"{'schedule.k_v' if val_G else 'features.val_G'}={validation_G(cfg, val_G)}"


# What to set when a selector needs a validation set and the data config gives none. GSM8K and
# DAPO-Math-17K have no validation split: load_pool takes the first val_size items of the named split
# and leaves them out of the pool (by content), so the two stay disjoint.
SET_VAL_SPLIT = (
    "set data.val_split (and data.val_size); a dataset without a validation split can hold some of its "
    "train items out of the pool: data.val_split=train data.val_size=64"
)


def compute_validation_gradient(model, tokenizer, val_records, val_rows, feat_cfg: dict):
    from rlselect.grads import validation_gradient

    if not val_records:
        raise ValueError(f"this selector needs a validation set: {SET_VAL_SPLIT}")
    prompts, comps, advs = grad_inputs(tokenizer, val_records, val_rows, "all")
    return validation_gradient(model, tokenizer, prompts, comps, advs, **feature_kwargs(feat_cfg))


STREAMING_SELECTORS = ("gradalign", "gradalign_align", "learnalign")
FEATURE_MODES = ("auto", "exact", "projected", "streaming")
GRAD_ROLLOUTS = ("all", "one_correct")  # features.rollouts_for_grad


def feature_mode(feat_cfg: dict) -> str:
    """features.mode: exact (stored [n, P] features), projected (stored [n, d]) or streaming (exact
    GradAlign / LearnAlign scores, nothing stored); auto = projected when projection.dim is set."""
    mode = feat_cfg.get("mode") or "auto"
    dim = (feat_cfg.get("projection") or {}).get("dim")
    if mode == "auto":
        return "projected" if dim else "exact"
    if mode not in FEATURE_MODES:
        raise ValueError(f"features.mode={mode!r}; available: {', '.join(FEATURE_MODES)}")
    if (mode == "projected") != bool(dim):
        raise ValueError(
            f"features.mode={mode} but features.projection.dim={dim}: projected needs a dim, the others null"
        )
    return mode


def streaming_scores(selector: Selector, model, tokenizer, records, rows, val, val_rows, feat_cfg, params):
    """The exact scores of `selector` (one of STREAMING_SELECTORS) without stored features."""
    import torch

    from rlselect.grads import gradalign_scores_streaming, learnalign_scores_streaming

    # features.mode=streaming has no projection (feature_mode checks it)
    kw = {k: v for k, v in feature_kwargs(feat_cfg).items() if not k.startswith("projection")}
    prompts, comps, advs = grad_inputs(tokenizer, records, rows, feat_cfg.get("rollouts_for_grad", "all"))
    if selector.name == "learnalign":
        p = [r["p"] for r in rows]
        return learnalign_scores_streaming(model, tokenizer, prompts, comps, advs, p, **kw, **params)
    if selector.name == "gradalign_align":  # the target is the pool's own mean gradient
        if not any(a != 0 for group in advs for a in group):
            return torch.zeros(len(records))  # no gradient anywhere: every score 0, as with stored features
        vp, vc, va = prompts, comps, advs
    else:
        vp, vc, va = grad_inputs(tokenizer, val, val_rows, "all")
    return gradalign_scores_streaming(model, tokenizer, prompts, comps, advs, vp, vc, va, **kw, **params)


def with_scoring_lora(model, feat_cfg: dict, *, copy: bool):
    """features.params=lora: the scoring model with adapters (features.lora) attached; a copy when the
    model is the live policy of the rounds schedule, which trains on without them."""
    import copy as copy_module

    from rlselect.grads.params import attach_scoring_lora, has_lora

    if has_lora(model):
        return model
    lora = dict(feat_cfg.get("lora") or {})
    return attach_scoring_lora(copy_module.deepcopy(model) if copy else model, **lora)


def uses_rollouts(selector, params: dict) -> bool:
    """Whether the selector reads the pool's rollouts (directly, or through gradient features)."""
    return bool(selector.needs & {"rollouts", "features", "val_features"}) or params.get("source") == "rollouts"


def item_stats(rows: list[dict]) -> dict[str, dict]:
    """id -> {"p", "mean_len"} from rollout rows."""
    return {r["id"]: {"p": r["p"], "mean_len": r["mean_len"]} for r in rows}


def _required(model_path: str | None) -> str:
    if model_path is None:
        raise ValueError("the static schedule scores a checkpoint on disk: pass model_path")
    return model_path


def gather_inputs(
    selector: Selector,
    records: list[dict],
    rows: list[dict],
    val: list[dict],
    *,
    cfg: dict,
    cache_dir: Path,
    base_model_path: str,
    model_path: str | None = None,
    model=None,
    tokenizer=None,
    val_G: int | None = None,
    round_seed: int | None = None,
    pool: list[dict] | None = None,
) -> SelectionInputs:
    """Everything `selector.needs` for `records`, given their rollouts `rows` at the scoring policy.

    Gradients, hidden states and the validation gradient are taken at the scoring policy (`model`,
    or loaded from `model_path`); perplexities and LIMR's reward trajectories at the base model
    (the baselines' definitions; cached stages computed over the whole `pool`, default `records`,
    so the rounds schedule computes them once per run, not once per chunk). `round_seed=None`
    (static): features and validation rollouts are cached stages keyed by `model_path`; an int
    (rounds): computed in memory at the live policy, validation rollouts sampled with that seed.
    """
    stats = item_stats(rows)
    inputs = SelectionInputs(records=records, stats=stats)
    needs = selector.needs
    feat_cfg = dict(cfg.get("features") or {})
    rollout_cfg = dict(cfg["rollouts"])
    load = load_options(cfg.get("model"))
    if needs & {"features", "val_features", "hidden"} and model is None:
        from rlselect.models import load_model

        model, tokenizer = load_model(_required(model_path), **load)
    if feat_cfg.get("params") == "lora" and needs & {"features", "val_features"}:
        model = with_scoring_lora(model, feat_cfg, copy=model_path is None)
    streaming = feature_mode(feat_cfg) == "streaming" and bool(needs & {"features", "val_features"})
    val_rows: list[dict] = []
    if streaming and selector.name not in STREAMING_SELECTORS:
        raise ValueError(
            f"features.mode=streaming scores {', '.join(STREAMING_SELECTORS)} only; "
            f"selector {selector.name} needs stored features: features.mode=exact or projected"
        )
    if "features" in needs and not streaming:
        out_dir = None
        if round_seed is None:
            fingerprint = model_fingerprint(model_path)
            key = stage_key("features-v4", fingerprint, records_key(records), rollout_cfg, feat_cfg, load["dtype"])
            out_dir = Path(cache_dir) / "features" / key
        inputs.features = compute_gradient_features(model, tokenizer, records, rows, feat_cfg, out_dir)
    if "val_features" in needs:
        G = validation_G(cfg, val_G)
        if round_seed is None:
            from rlselect.rollouts.stage import rollout_stage

            val_cfg = {**rollout_cfg, "G": G}
            val_rows = rollout_stage(
                _required(model_path), val, val_cfg, cache_dir, model=model, tokenizer=tokenizer, load=load
            )
        else:
            from rlselect.rollouts.generate import sample_rows

            val_rows = sample_rows(model, tokenizer, val, rollout_cfg, G=G, seed=round_seed)
        check_validation_signal(val_rows, validation_knob(cfg, val_G))
        if not streaming:
            inputs.val_features = compute_validation_gradient(model, tokenizer, val, val_rows, feat_cfg)
    if streaming:
        params = dict((cfg.get("selector") or {}).get("params") or {})
        inputs.extra["scores"] = streaming_scores(
            selector, model, tokenizer, records, rows, val, val_rows, feat_cfg, params
        )
    if "hidden" in needs:
        from rlselect.stats.hidden import hidden_features

        inputs.hidden = hidden_features(model, tokenizer, records)
    if "reward_trajectories" in needs:
        from rlselect.stats.reward_trajectory import reward_trajectory_stage

        epochs = int(cfg["selector"].get("limr_epochs", 2))
        inputs.extra["reward_trajectories"] = reward_trajectory_stage(
            base_model_path, pool or records, dict(cfg["trainer"]), epochs, cache_dir
        )
    if "ppl" in needs:
        from rlselect.stats.perplexity import perplexity_stage

        ppl = perplexity_stage(base_model_path, pool or records, cache_dir, load=load)
        for rid in inputs.ids:  # also where no rollouts were sampled (a perplexity selector in rounds)
            stats.setdefault(rid, {}).update(ppl[rid])
    return inputs


def run_selector(
    selector: Selector,
    inputs: SelectionInputs,
    budget: int,
    seed: int,
    params: dict,
    *,
    diagnostics: dict | None = None,
    regime: str = "none",
    target_family: str | None = None,
) -> list[str]:
    """The selector's first `budget` ids; `diagnostics`, when given, receives `ranking_diagnostics`."""
    ranked = checked_ranking(selector.name, selector(inputs, budget, seed, **params), inputs.ids)
    if diagnostics is not None:
        diagnostics.update(ranking_diagnostics(inputs, ranked, regime, target_family))
    return ranked[:budget]


def checked_ranking(name: str, ranked: Any, ids: list[str]) -> list[str]:
    """A selector's return value as a list of distinct pool ids, or an error naming the first value that
    is not one (a user's selector that returns positions, a tensor or nothing)."""
    if ranked is None or isinstance(ranked, (str, bytes, dict)) or not hasattr(ranked, "__iter__"):
        raise TypeError(f"selector {name} returned {type(ranked).__name__}: return a list of ids from inputs.ids")
    ranked, known, seen = list(ranked), set(ids), set()
    for value in ranked:
        if not isinstance(value, str) or value not in known:
            hint = " (a position? return inputs.ids[i])" if isinstance(value, int) or hasattr(value, "item") else ""
            raise ValueError(f"selector {name} returned {value!r}, which is not an id of the pool{hint}")
        if value in seen:
            raise ValueError(f"selector {name} returned id {value!r} twice")
        seen.add(value)
    return ranked


def is_good(record: dict, regime: str, target_family: str | None) -> bool | None:
    """Ground truth where the regime has one: clean, on-target or useful items are good."""
    meta = record.get("meta") or {}
    if regime == "noisy_reward":
        return not meta.get("corrupted")
    if regime == "imbalance" and target_family:
        return meta.get("family") == target_family
    if regime == "low_utility":
        return not meta.get("low_utility")
    return None


def ranking_diagnostics(inputs: SelectionInputs, ranked: list[str], regime: str, target_family: str | None) -> dict:
    """Over the candidates: the share with zero reward variance (p in {0, 1}: zero gradient), per
    ground-truth class where the regime has one; the number of positive scores (selectors that
    expose `extra['last_scores']`); and the AUC of the selector's ranking for good vs bad items
    (the chance a random good item ranks above a random bad one; unranked items tie last)."""
    p = {i: (inputs.stats.get(i) or {}).get("p") for i in inputs.ids}

    def zero_share(ids: list[str]) -> float | None:
        known = [p[i] for i in ids if p[i] is not None]
        return sum(x in (0.0, 1.0) for x in known) / len(known) if known else None

    out: dict[str, Any] = {"zero_variance_share": zero_share(inputs.ids)}
    scores = inputs.extra.get("last_scores", inputs.extra.get("scores"))
    if scores is not None:
        out["positive_scores"] = int(sum(float(x) > 0 for x in scores))
    labels = {r["id"]: is_good(r, regime, target_family) for r in inputs.records}
    good = [i for i, g in labels.items() if g]
    bad = [i for i, g in labels.items() if g is False]
    if good and bad:
        out["zero_variance_share_good"], out["zero_variance_share_bad"] = zero_share(good), zero_share(bad)
        pos = {i: k for k, i in enumerate(ranked)}
        out["ranking_auc"] = auc([-pos.get(i, len(ranked)) for i in good], [-pos.get(i, len(ranked)) for i in bad])
    return out


def auc(good: Sequence[float], bad: Sequence[float]) -> float | None:
    """P(score of a random good item > that of a random bad one), ties counting 1/2; None when a
    class is empty. Lists, arrays or CPU tensors. Mann-Whitney U from rank sums, O(n log n): a 40k-item pool has 4e8 pairs."""
    if len(good) == 0 or len(bad) == 0:
        return None
    import numpy as np
    from scipy.stats import rankdata

    rank_sum = rankdata(np.concatenate([np.asarray(good, dtype=float), np.asarray(bad, dtype=float)]))[
        : len(good)
    ].sum()
    return float(rank_sum - len(good) * (len(good) + 1) / 2) / (len(good) * len(bad))


def selection_summary(
    chosen: list[dict], stats: dict[str, dict], regime: str = "none", target_family: str | None = None
) -> dict:
    """Size, mean success rate and, when the pool carries ground truth, the selection precision."""
    ps = [p for r in chosen if (p := stats.get(r["id"], {}).get("p")) is not None]
    out: dict[str, Any] = {"n": len(chosen), "mean_success_rate": sum(ps) / len(ps) if ps else None}
    share = max(1, len(chosen))
    if regime == "noisy_reward":
        out["corrupted_share"] = sum(bool(r["meta"]["corrupted"]) for r in chosen) / share
    if regime == "imbalance" and target_family:
        out["on_target_share"] = sum(r["meta"]["family"] == target_family for r in chosen) / share
    if regime == "low_utility":
        out["low_utility_share"] = sum(bool(r["meta"].get("low_utility")) for r in chosen) / share
    return out
