"""`python -m rlselect.diagnose [experiment=<preset>] [overrides]`: does gradient alignment mean
anything on this testbed?

Premise diagnostics of a pool at the preset's model (no warm-up), before any selector is trusted
with it: the rollouts come from the cached rollout stage (G = `diagnose.G`), the per-prompt
gradients from `selection.compute_gradient_features` with the preset's `features.*`, exact unless
`diagnose.projection_dim` is set; the validation set's gradients likewise (rollouts_for_grad=all).
The numbers (`ROWS`) and the criteria (cos_clean_clean >= 0.05, oracle_auc >= 0.8) are defined in
docs/methods.md section 9.

Overrides (besides any config key; `diagnose.*` keys need no `+`):
  diagnose.testbed=<name>       output name (default: data.name)
  diagnose.G=<int>              rollouts per pool prompt for this pass (default 8; replaces rollouts.G)
  diagnose.val_G=<int>          rollouts per validation prompt (default: diagnose.G)
  diagnose.out_dir=<dir>        where <testbed>.json and <testbed>.md go (default: <results_dir>/testbed)
  diagnose.projection_dim=<d>   project the gradients (features.projection.kind) instead of exact ones
  diagnose.top_k=<int>          principal components in the energy share (default 10)

A bad key or value (an unknown diagnose key, a count below 1, a config key the run would refuse)
stops with one `error:` line and status 2 before the model loads. A preset's hydra.mode=MULTIRUN is ignored: the config is composed once, its sweep is not run.

  make diagnose ARGS="experiment=demo_noisy diagnose.testbed=arith diagnose.G=32"
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from rlselect import code_commit
from rlselect.selection import auc  # one AUC for the diagnostics and the run records

log = logging.getLogger("rlselect")

COS_THRESHOLD = 0.05
AUC_THRESHOLD = 0.8


# ---------------------------------------------------------------------------------------------------
# The math: pure functions of tensors and labels (unit-tested on synthetic gradients).


def unit_gram(*mats: torch.Tensor, block_bytes: int = 1 << 26) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, nonzero) for the rows of `mats` stacked: K [m, m] float64, the cosines between the m
    rows with a non-zero norm; nonzero [n_total] bool. Accumulated in float64 over column blocks of
    about `block_bytes`, so no float64 copy of the whole [n, d] matrix is made."""
    if not mats:
        raise ValueError("unit_gram needs at least one matrix")
    d = mats[0].shape[1] if mats[0].ndim == 2 else -1
    for m in mats:
        if m.ndim != 2 or m.shape[1] != d:
            raise ValueError(f"gradients must be [n, d] matrices of one width; got {[tuple(x.shape) for x in mats]}")
        if not bool(torch.isfinite(m).all()):
            raise ValueError("gradients contain NaN or inf")
    n = sum(m.shape[0] for m in mats)
    gram = torch.zeros(n, n, dtype=torch.float64)
    step = max(1, block_bytes // (8 * max(n, 1)))
    for j in range(0, d, step):
        b = torch.cat([m[:, j : j + step].detach().cpu().double() for m in mats])
        gram += b @ b.T
    sq = gram.diagonal()
    nonzero = sq > 0
    norms = sq[nonzero].sqrt()
    k = gram[nonzero][:, nonzero] / norms[:, None] / norms[None, :]
    return k, nonzero


def _mean_pair_cos(k: torch.Tensor, a: torch.Tensor, b: torch.Tensor | None = None) -> float | None:
    """Mean cosine over pairs (i in a, j in b), or over distinct pairs within a when b is None."""
    if b is None:
        n = int(a.sum())
        if n < 2:
            return None
        sub = k[a][:, a]
        return float((sub.sum() - sub.diagonal().sum()) / (n * (n - 1)))
    if not a.any() or not b.any():
        return None
    return float(k[a][:, b].mean())


def _loo_cos(k: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """For every row i of `k`: cos(u_i, sum of u_j over j in `ref`, j != i). Leave-one-out for
    rows in `ref`; a zero reference sum scores 0. k: [m, m] unit-row cosines; ref: [m] bool."""
    s = k[:, ref].sum(1)  # u_i . S, S = sum_{j in ref} u_j
    t = k[ref][:, ref].sum()  # ||S||^2
    own = ref.double()  # u_i's own share of S (cos(u_i, u_i) = 1)
    num = s - own
    norm2 = (t - 2 * own * s + own).clamp_min(0)
    safe = norm2 > 1e-12
    out = torch.zeros_like(s)
    out[safe] = num[safe] / norm2[safe].sqrt()
    return out


def _energy(k: torch.Tensor, top_k: int, centered: bool) -> float | None:
    """Share of the top_k squared singular values of the unit-row matrix U (eigenvalues of U U^T)."""
    m = k.shape[0]
    if m == 0:
        return None
    if centered:
        h = torch.eye(m, dtype=k.dtype) - 1.0 / m
        k = h @ k @ h
    ev = torch.linalg.eigvalsh((k + k.T) / 2).clamp_min(0).flip(0)
    total = float(ev.sum())
    return float(ev[:top_k].sum()) / total if total > 0 else None


def premise_diagnostics(
    features: torch.Tensor,
    labels: Sequence[bool | None] | None = None,
    val: torch.Tensor | None = None,
    p: Sequence[float] | None = None,
    top_k: int = 10,
) -> dict[str, Any]:
    """The premise numbers of a pool (docs/methods.md section 9) from its gradients.

    features: [n, d] per-prompt gradients (any positive scale per row; zero rows = no signal).
    labels: per prompt, True (clean), False (corrupted) or None (no ground truth); None for all.
    val: [n_val, d] per-validation-prompt gradients, or None.
    p: per-prompt success rates, for the zero-variance shares (p in {0, 1}); None to skip them.
    """
    n = features.shape[0]
    lab = list(labels) if labels is not None else [None] * n
    if len(lab) != n or (p is not None and len(p) != n):
        raise ValueError(f"{n} gradient rows but {len(lab)} labels and {len(p) if p is not None else '-'} p values")
    mats = [features] + ([val] if val is not None else [])
    k_all, nz_all = unit_gram(*mats)
    nz = nz_all[:n]
    m = int(nz.sum())  # non-zero pool rows come first in k_all
    k = k_all[:m, :m]
    clean_all = torch.tensor([x is True for x in lab], dtype=torch.bool)
    corr_all = torch.tensor([x is False for x in lab], dtype=torch.bool)
    truth = bool(clean_all.any() and corr_all.any())
    clean, corr = clean_all[nz], corr_all[nz]
    out: dict[str, Any] = {"n_pool": n, "n_nonzero": m, "ground_truth": truth}
    out["n_clean"], out["n_corrupted"] = (int(clean_all.sum()), int(corr_all.sum())) if truth else (None, None)

    p_all = [float(x) for x in p] if p is not None else []

    def zero_share(mask: torch.Tensor) -> float | None:
        ps = [x for x, keep in zip(p_all, mask.tolist()) if keep]
        return sum(x in (0.0, 1.0) for x in ps) / len(ps) if ps else None

    everyone = torch.ones(n, dtype=torch.bool)
    out["zero_var"] = zero_share(everyone) if p is not None else None
    out["zero_var_clean"] = zero_share(clean_all) if p is not None and truth else None
    out["zero_var_corrupted"] = zero_share(corr_all) if p is not None and truth else None
    out["zero_grad"] = 1 - m / n if n else None
    out["cos_all"] = _mean_pair_cos(k, torch.ones(m, dtype=torch.bool))
    out["abs_cos_all"] = _mean_pair_cos(k.abs(), torch.ones(m, dtype=torch.bool))
    out["cos_clean_clean"] = _mean_pair_cos(k, clean) if truth else None
    out["cos_corrupted_corrupted"] = _mean_pair_cos(k, corr) if truth else None
    out["cos_clean_corrupted"] = _mean_pair_cos(k, clean, corr) if truth else None

    out["oracle_auc"] = out["oracle_auc_all"] = None
    if truth and int(clean.sum()) >= 2:
        score = _loo_cos(k, clean)
        out["oracle_auc"] = auc(score[clean], score[corr])
        full = torch.zeros(n, dtype=torch.float64)
        full[nz] = score
        out["oracle_auc_all"] = auc(full[clean_all], full[corr_all])

    keys = ("n_val", "n_val_nonzero", "val_coherence", "val_auc", "cos_clean_val", "cos_corrupted_val")
    out.update(dict.fromkeys(keys))
    if val is not None:
        nv = int(nz_all[n:].sum())
        out["n_val"], out["n_val_nonzero"] = val.shape[0], nv
        is_val = torch.arange(k_all.shape[0]) >= m
        if nv >= 2:
            out["val_coherence"] = float(_loo_cos(k_all[m:, m:], torch.ones(nv, dtype=torch.bool)).mean())
        if nv >= 1 and truth:
            to_val = _loo_cos(k_all, is_val)[:m]  # pool rows are not in the reference: plain cosines
            out["val_auc"] = auc(to_val[clean], to_val[corr])
            pool_c = torch.cat([clean, torch.zeros(nv, dtype=torch.bool)])
            pool_b = torch.cat([corr, torch.zeros(nv, dtype=torch.bool)])
            out["cos_clean_val"] = _mean_pair_cos(k_all, pool_c, is_val)
            out["cos_corrupted_val"] = _mean_pair_cos(k_all, pool_b, is_val)

    out[f"top{top_k}_energy"] = _energy(k, top_k, centered=False)
    out[f"top{top_k}_energy_centered"] = _energy(k, top_k, centered=True)
    return out


def criteria(result: dict[str, Any]) -> dict[str, bool | None]:
    """The two premise criteria: met (True), not met (False), or not applicable (None)."""
    cos, oracle = result.get("cos_clean_clean"), result.get("oracle_auc")
    return {
        f"cos_clean_clean >= {COS_THRESHOLD}": None if cos is None else cos >= COS_THRESHOLD,
        f"oracle_auc >= {AUC_THRESHOLD}": None if oracle is None else oracle >= AUC_THRESHOLD,
    }


# ---------------------------------------------------------------------------------------------------
# I/O: compose the config, roll out, differentiate, write results/testbed/<testbed>.{json,md}.


SETTINGS = ("testbed", "G", "val_G", "out_dir", "projection_dim", "top_k")


def settings(cfg) -> dict[str, Any]:
    """The `diagnose.*` keys with their defaults; an unknown key or a count below 1 is an error
    naming it (`diagnose.G=0` would otherwise mean the default, 8)."""
    from rlselect.config_checks import config_int

    d = dict(cfg.get("diagnose") or {})
    if unknown := sorted(set(d) - set(SETTINGS)):
        raise ValueError(f"diagnose.{unknown[0]} is not a diagnose key; available: {', '.join(SETTINGS)}")

    def count(key: str, default: int | None) -> int | None:
        return default if d.get(key) is None else config_int(cfg, f"diagnose.{key}", 1)

    testbed = str(d.get("testbed") or cfg.data.name)
    if Path(testbed).name != testbed:  # it names the output files
        raise ValueError(f"diagnose.testbed={testbed!r} names the output files; choose a name without '/'")
    G = count("G", 8)
    return {
        "testbed": testbed,
        "G": G,
        "val_G": count("val_G", G),
        "out_dir": str(d.get("out_dir") or Path(str(cfg.results_dir)) / "testbed"),
        "projection_dim": count("projection_dim", None),
        "top_k": count("top_k", 10),
    }


def check(cfg) -> None:
    """The settings and the config's rollout and feature keys, checked before the model loads, as a
    selection study's run checks them (diagnose neither trains nor evaluates)."""
    from omegaconf import OmegaConf

    from rlselect.config_checks import check_config
    from rlselect.models import given_checkpoint

    settings(cfg)
    check_config(OmegaConf.merge(cfg, {"selection_only": True, "schedule": {"name": "static"}}))
    given_checkpoint(OmegaConf.to_container(cfg.model, resolve=True))


def run_diagnose(cfg, command: str = "") -> dict[str, Any]:
    """Roll out the pool (and validation set) at the preset's model, take the exact per-prompt
    policy gradients as selection does, and return the premise diagnostics with their context."""
    from omegaconf import OmegaConf

    from rlselect.grads import param_layout
    from rlselect.models import load_model, load_options, resolve_model_path
    from rlselect.models.context import context_length, drop_long_prompts
    from rlselect.pipeline import load_pool
    from rlselect.rollouts.stage import rollout_stage
    from rlselect.selection import compute_gradient_features, is_good

    t0 = time.time()
    opts = settings(cfg)
    plain = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(plain, dict)
    data_cfg, cache_dir = plain["data"], Path(plain["cache_dir"])
    regime = data_cfg.get("regime", "none")
    target = (data_cfg.get("regime_params") or {}).get("target_family")
    pool, val = load_pool(data_cfg, seed=int(plain["seed"]))
    model_path = resolve_model_path(plain["model"], cache_dir)
    load = load_options(plain["model"])
    model, tokenizer = load_model(model_path, **load)
    limit = context_length(model_path)  # as the pipeline does: prompts past the model's positions go
    pool, val = (
        drop_long_prompts(recs, tokenizer, limit, what) for recs, what in ((pool, "pool"), (val, "validation set"))
    )
    rollout_cfg = dict(plain["rollouts"])
    # The same cached stage (and key) as the pipeline's rollouts, at G = diagnose.G.
    shared = dict(model=model, tokenizer=tokenizer, load=load)
    rows = rollout_stage(model_path, pool, {**rollout_cfg, "G": opts["G"]}, cache_dir, **shared)
    val_rows = rollout_stage(model_path, val, {**rollout_cfg, "G": opts["val_G"]}, cache_dir, **shared) if val else []
    feat_cfg = dict(plain.get("features") or {})
    proj = dict(feat_cfg.get("projection") or {})
    feat_cfg["projection"] = {**proj, "dim": opts["projection_dim"]}
    feat_cfg["mode"] = "projected" if opts["projection_dim"] else "exact"
    if feat_cfg.get("params") == "lora":  # scoring adapters, as selection attaches them
        from rlselect.selection import with_scoring_lora

        model = with_scoring_lora(model, feat_cfg, copy=False)
    t = time.time()
    feats = compute_gradient_features(model, tokenizer, pool, rows, feat_cfg, None)
    val_feats = None
    if val:
        val_feats = compute_gradient_features(
            model, tokenizer, val, val_rows, {**feat_cfg, "rollouts_for_grad": "all"}, None
        )
    log.info(
        "gradients: %d pool + %d validation prompts, dim %d (%.0f s)",
        len(pool),
        len(val),
        feats.shape[1],
        time.time() - t,
    )
    labels = [is_good(r, regime, target) for r in pool]
    stats = premise_diagnostics(feats, labels, val_feats, [r["p"] for r in rows], top_k=opts["top_k"])
    n_params = sum(numel for _, numel in param_layout(model, feat_cfg.get("params", "all")))
    result: dict[str, Any] = {
        "testbed": opts["testbed"],
        "G": opts["G"],
        "val_G": opts["val_G"] if val else None,
        "model": plain["model"].get("name"),
        "model_path": str(model_path),
        "params": n_params,
        "feature_dim": int(feats.shape[1]),
        "features": {
            "params": feat_cfg.get("params", "all"),
            "token_agg": feat_cfg.get("token_agg", "seq_mean"),
            "rollouts_for_grad": feat_cfg.get("rollouts_for_grad", "all"),
            "projection": None
            if not opts["projection_dim"]
            else {"dim": opts["projection_dim"], "kind": proj.get("kind")},
        },
        "data": data_cfg["name"],
        "regime": regime,
        "regime_params": dict(data_cfg.get("regime_params") or {}),
        "seed": int(plain["seed"]),
        "mean_p": sum(r["p"] for r in rows) / max(1, len(rows)),
        **stats,
        "energy": "uncentered (squared singular values of the unit-gradient rows as they are); "
        "*_centered subtracts the mean row first",
    }
    result["criteria"] = criteria(result)
    result["command"] = command
    result["code"] = code_commit()  # the rlselect commit that computed it
    result["seconds"] = round(time.time() - t0, 1)
    return result


def _fmt(key: str, v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:+.4f}" if key.startswith("cos") else f"{v:.4f}"
    return str(v)


ROWS = (
    ("zero_var", "share of prompts with p in {0, 1} (zero gradient)"),
    ("zero_var_clean", "the same among clean prompts"),
    ("zero_var_corrupted", "the same among corrupted prompts"),
    ("cos_all", "mean pairwise cosine of unit gradients, all non-zero prompts"),
    ("abs_cos_all", "mean pairwise absolute cosine, all non-zero prompts"),
    ("cos_clean_clean", "within clean prompts"),
    ("cos_corrupted_corrupted", "within corrupted prompts"),
    ("cos_clean_corrupted", "across the classes"),
    ("oracle_auc", "clean vs corrupted, scored by cosine with the other clean prompts' mean unit gradient"),
    ("oracle_auc_all", "the same with zero-gradient prompts kept at score 0"),
    ("val_coherence", "validation prompt vs the other validation prompts' mean unit gradient (mean cosine)"),
    ("val_auc", "clean vs corrupted, scored by cosine with the mean unit validation gradient"),
    ("cos_clean_val", "mean cosine clean prompt / validation prompt"),
    ("cos_corrupted_val", "mean cosine corrupted prompt / validation prompt"),
)


def to_markdown(result: dict[str, Any]) -> str:
    """A short page: the criteria, the numbers, and the command that produced them."""
    top = next((k for k in result if k.startswith("top") and k.endswith("_energy")), "top10_energy")
    verdict = {True: "met", False: "not met", None: "n/a (no ground truth)"}
    proj = result["features"]["projection"]
    lines = [
        f"# Testbed `{result['testbed']}`: premise diagnostics",
        "",
        f"Pool of {result['n_pool']} prompts ({result['data']}, regime {result['regime']} "
        f"{result['regime_params'] or ''}) at the base model `{result['model']}`, G = {result['G']} rollouts per "
        f"prompt (validation: {result['n_val'] or 0} prompts, G = {result['val_G']}), mean success rate "
        f"{result['mean_p']:.3f}; per-prompt policy gradients over {result['params']:,} parameters "
        f"(features.params={result['features']['params']}, token_agg={result['features']['token_agg']}, "
        + ("exact" if proj is None else f"projected to {proj['dim']} ({proj['kind']})")
        + f"); {result['n_nonzero']} prompts have a non-zero gradient.",
        "",
        "| criterion | value | verdict |",
        "|---|---|---|",
    ]
    for name, met in result["criteria"].items():
        key = name.split(" ")[0]
        lines.append(f"| {name} | {_fmt(key, result.get(key))} | {verdict[met]} |")
    lines += ["", "| quantity | value | meaning |", "|---|---|---|"]
    for key, meaning in ROWS:
        lines.append(f"| {key} | {_fmt(key, result.get(key))} | {meaning} |")
    lines.append(
        f"| {top} | {_fmt(top, result.get(top))} | energy share of the top PCs of the unit gradients, uncentered |"
    )
    lines.append(f"| {top}_centered | {_fmt(top, result.get(top + '_centered'))} | the same, mean row subtracted |")
    code = f" (rlselect {result['code']})" if result.get("code") else ""
    lines += ["", f"Produced by{code}:", "", "```bash", result["command"], "```", ""]
    return "\n".join(lines)


def write(result: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    from rlselect.cache import atomic_write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / f"{result['testbed']}.json", out / f"{result['testbed']}.md"
    atomic_write_json(js, result)
    md.write_text(to_markdown(result))
    return js, md


def hydra_overrides(args: Sequence[str]) -> list[str]:
    """`diagnose.x=v` -> `++diagnose.x=v` (the `diagnose` keys are not in conf/, so Hydra would
    otherwise refuse them); everything else as given."""
    return [f"++{a}" if a.startswith("diagnose.") else a for a in args]


def compose_config(args: Sequence[str]):
    from rlselect.cli import compose

    return compose(hydra_overrides(args))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rlselect.diagnose",
        description="Premise diagnostics of a testbed (keys: the module docstring; numbers: docs/methods.md section 9).",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. experiment=demo_noisy diagnose.G=32")
    args = parser.parse_args(argv)
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rlselect import console

    try:  # a typo is one line on stderr, before anything loads
        cfg = compose_config(args.overrides)
        console.setup_entry_point(verbose=bool(cfg.get("verbose", False)))
        check(cfg)
    except (HydraException, OmegaConfBaseException, ValueError, FileNotFoundError) as exc:
        if console.VERBOSE:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    env = " ".join(f"{k}={os.environ[k]}" for k in ("HF_HUB_OFFLINE",) if os.environ.get(k))
    command = " ".join(x for x in (env, "python -m rlselect.diagnose", shlex.join(args.overrides)) if x)
    result = run_diagnose(cfg, command)
    js, md = write(result, settings(cfg)["out_dir"])
    print(to_markdown(result))
    print(f"saved {js}\nsaved {md}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
