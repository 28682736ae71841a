"""Benchmark 4: how the gradient paths scale with model size. Random Qwen2 models (models/random_init.py,
small vocabulary so the embedding does not dominate) of about 0.3M to 55M parameters score the same
sampled tokens with the streaming GradAlign / LearnAlign scores and the projected features (CountSketch,
dense JL where P x d <= DENSE_MAX), each against the floor: one plain forward + backward of the same
batches, timed in alternation with each path (`time_paired`: ratio_to_floor is the median of the per-pair
ratios). Also the log-log slope of seconds vs parameters between the two largest sizes."""

from __future__ import annotations

import gc
import math
import statistics
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

from rlselect.bench.core import QUICK_LM, Setup, floor_forward_backward, make_inputs, time_paired
from rlselect.grads import gradalign_scores_streaming, learnalign_scores_streaming, make_projector, policy_gradients
from rlselect.models.random_init import SIZE_KEYS, build_random

VOCAB = 320  # the character tokenizer's 259 ids, rounded up
SIZES = {  # name -> (hidden, intermediate, layers, attention heads, kv heads)
    "0.3M": dict(zip(SIZE_KEYS, (96, 256, 3, 4, 2))),
    "2M": dict(zip(SIZE_KEYS, (192, 512, 5, 4, 2))),
    "10M": dict(zip(SIZE_KEYS, (384, 1024, 6, 6, 2))),
    "55M": dict(zip(SIZE_KEYS, (768, 2048, 9, 12, 2))),
}
QUICK_SIZES = {"20k": QUICK_LM, "0.3M": SIZES["0.3M"]}
DIMS, QUICK_DIMS = (1024, 8192), (64,)
DENSE_MAX = 2e10  # P x d entries of Gamma regenerated per call: beyond this dense JL takes too long here
BATCH = 8  # prompts per forward + backward (every path and the floor)


def _paths(model, tok, x, dims: tuple[int, ...], params: int):
    """(method, dim, call or None when skipped) for every path measured."""
    # Validation rollouts: the first eighth of the prompts (GradAlign's trusted set is small next to the
    # pool it scores: 64 problems vs chunks of 5,120; g_V is computed once per selection).
    val = tuple(v[: max(1, len(x[0]) // 8)] for v in x)
    yield "gradalign_streaming", None, partial(gradalign_scores_streaming, model, tok, *x, *val, batch_size=BATCH)
    rates = [0.5] * len(x[0])  # the cost does not depend on the success rates
    yield "learnalign_streaming", None, partial(learnalign_scores_streaming, model, tok, *x, rates, batch_size=BATCH)
    for kind, method, limit in (
        ("countsketch", "projected_countsketch", math.inf),
        ("rademacher", "dense_jl", DENSE_MAX),
    ):
        for d in dims:
            fn = partial(policy_gradients, model, tok, *x, projection=make_projector(kind, d, 0), batch_size=BATCH)
            yield method, d, fn if params * d <= limit else None


def _slope(a: float | None, b: float | None, pa: int, pb: int) -> float | None:
    return math.log(b / a) / math.log(pb / pa) if a and b else None


def bench_scaling(s: Setup, out_dir: str | Path | None = None) -> dict:
    """{setup, rows (one per size, method and dim; skipped ones with seconds null), slopes}; also
    <out_dir>/scaling.png (ratio to the floor vs parameters) when out_dir is given."""
    sizes, dims = (QUICK_SIZES, QUICK_DIMS) if s.quick else (SIZES, DIMS)
    # min_run_time 3 s: the median of several calls below ~10M parameters, where one call lasts ~1 s and a
    # single draw on this shared 2-core machine varies by +-30%
    s = s if s.quick else replace(s, prompts=8, G=4, max_new_tokens=32, min_run_time=3.0)
    rows, x, desc = [], None, {}
    for name, shape in sizes.items():
        model, tok = build_random("tiny", seed=0, vocab_size=VOCAB, **shape)
        model.to(s.device)
        params = sum(p.numel() for p in model.parameters())
        if x is None:  # the same sampled tokens for every size (from the smallest model)
            *x, desc = make_inputs(model, tok, s)
        floor = partial(floor_forward_backward, model, tok, *x, batch_size=BATCH)
        for method, dim, fn in _paths(model, tok, x, dims, params):
            row = dict(size=name, params=params, method=method, dim=dim)
            if fn is None:
                row |= dict.fromkeys(("seconds", "floor_s", "ratio_to_floor", "peak_rss_mb"))
                rows.append(row | {"skipped": f"P*d = {params * (dim or 0):.1e} > {DENSE_MAX:.0e}"})
                continue
            t = time_paired(fn, floor, s.min_run_time, s.device)
            timed = dict(seconds=t["s"], floor_s=t["floor_s"], ratio_to_floor=t["ratio_to_floor"], ratios=t["ratios"])
            rows.append(row | timed | {"peak_rss_mb": t["memory"].get("peak_rss_mb")})
        del model
        gc.collect()
    pa, pb = sorted({r["params"] for r in rows})[-2:]
    at = {(r["method"], r["dim"], r["params"]): r for r in rows}
    floor_s = {p: statistics.median(r["floor_s"] for r in rows if r["params"] == p and r["floor_s"]) for p in (pa, pb)}
    slopes = {"floor": _slope(floor_s[pa], floor_s[pb], pa, pb)}
    for method, dim in dict.fromkeys((r["method"], r["dim"]) for r in rows):
        a, b = at[method, dim, pa]["seconds"], at[method, dim, pb]["seconds"]
        slopes[method if dim is None else f"{method}_{dim}"] = _slope(a, b, pa, pb)
    setup = {**asdict(s), **desc, "dims": list(dims), "sizes": sizes, "vocab_size": VOCAB, "batch_size": BATCH}
    setup["dense_max"] = DENSE_MAX
    if out_dir:
        plot_scaling(rows, Path(out_dir) / "scaling.png")
    return {"setup": setup, "rows": rows, "slopes": slopes}


def plot_scaling(rows: list[dict], path: Path) -> Path:
    """Ratio to the floor vs parameters, one line per method (and dim), log axes, the targets dotted."""
    from matplotlib.figure import Figure

    ax = Figure(figsize=(6.4, 4.2)).add_subplot()
    for method, dim in dict.fromkeys((r["method"], r["dim"]) for r in rows):
        pts = [(r["params"], r["ratio_to_floor"]) for r in rows if (r["method"], r["dim"]) == (method, dim)]
        if pts := [p for p in pts if p[1] is not None]:
            ax.plot(*zip(*pts), marker="o", label=method if dim is None else f"{method} d={dim}")
    for target, what in ((1.3, "GradAlign streaming target"), (1.5, "projected target"), (3.0, "LearnAlign target")):
        ax.axhline(target, color="grey", lw=0.8, ls=":")
        ax.annotate(what, (1.0, target), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=7)
    ax.set(xscale="log", yscale="log", xlabel="parameters", ylabel="seconds / floor (forward + backward), log")
    ax.grid(alpha=0.3)
    ax.minorticks_off()
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return path
