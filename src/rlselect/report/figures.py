"""PNG figures from run records (matplotlib's Agg canvas, no pyplot state); each returns its path.

Every figure shows means over seeds with 95% t-intervals (bands or error bars; `ci.half_width`), says how many seeds
in its title and keeps its legend outside the data area. The run records hold no per-step rewards: reward_curves reads
each run's run_dir/train/final/train_summary.json. The share figures (corrupted, on-target, low-utility share) draw
the pool's own share (the regime parameter, `tables.pool_share`) as a horizontal line.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rlselect.cache import atomic_write_bytes
from rlselect.report import ci, paper
from rlselect.report.tables import (
    SHARE_LABELS,
    budgets_of,
    frame,
    method_rank,
    paper_refs,
    plain_runs,
    pool_share,
    setting_label,
)

BAND = 0.15  # alpha of the CI bands
LEGEND = dict(
    fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False
)


def _ci_stats(groups) -> pd.DataFrame:
    """mean, n and the 95% CI half-width `half` (0 where n < 2: nothing to draw) of each group."""
    stats = groups.agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    return stats.assign(half=[ci.half_width(s, int(n)) for s, n in zip(stats["std"], stats["n"])]).fillna({"half": 0.0})


def seeds_text(counts) -> str:
    """'n = 3 seeds', 'n = 2-3 seeds' (the seeds behind each point), 'n = 1 seed'."""
    counts = sorted({int(c) for c in counts if c})
    if not counts:
        return "no seeds"
    lo, hi = counts[0], counts[-1]
    return f"n = {lo if lo == hi else f'{lo}-{hi}'} seed{'s' if hi > 1 else ''}"


def _pool_line(ax: Axes, runs: list[dict], share: str) -> None:
    """The pool's own share as a dashed horizontal line, labelled with the regime parameter."""
    if pool := pool_share(runs, share):
        ax.axhline(
            100 * pool[0], color="black", linestyle="--", linewidth=1, label=f"pool: {100 * pool[0]:.0f}% ({pool[1]})"
        )


def _colors(methods, key=method_rank) -> dict[str, str]:
    """A colour of matplotlib's default cycle per method, in method order (`key`)."""
    return {m: f"C{i % 10}" for i, m in enumerate(sorted(set(methods), key=key))}


def _band(ax: Axes, s: pd.DataFrame, color: str, label: str, **line) -> None:
    """The mean per x as a line, its 95% CI as a band."""
    ax.plot(s.index, s["mean"], color=color, label=label, **line)
    ax.fill_between(s.index, s["mean"] - s.half, s["mean"] + s.half, color=color, alpha=BAND, linewidth=0)


def _axes(title: str, xlabel: str, ylabel: str) -> Axes:
    ax = Figure(figsize=(6.4, 4.2)).add_subplot()
    ax.set_title(title, fontsize=10)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.set_axisbelow(True)
    return ax


def _save(ax: Axes, path: str | Path, empty: str | None, legend: str | None = None) -> Path:
    """Write the PNG, with the text `empty` in the middle where nothing was drawn, else a legend titled `legend`
    to the right of the axes (outside the data area)."""
    if empty:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes, color="gray")
    elif legend is not None and ax.get_legend_handles_labels()[0]:
        ax.legend(title=legend or None, **LEGEND)
    buf = io.BytesIO()
    fig = ax.get_figure(root=True)
    assert fig is not None  # every Axes here comes from _axes' Figure
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def accuracy_vs_budget(runs: list[dict], benchmark: str, path: str | Path) -> Path:
    """Test accuracy vs budget N per method: the mean over seeds with its 95% CI band, the paper's numbers as crosses;
    base and full data as lines."""
    df = frame(plain_runs(runs), benchmark)
    sweep = df[(df.selector != "full") & (df.schedule == "static")]
    sweep = sweep.assign(ref=paper_refs(sweep, paper.LEARNALIGN_GSM8K)).astype({"ref": float})
    stats = _ci_stats(sweep.groupby(["selector", "budget"]).acc)
    refs = sweep.groupby(["selector", "budget"]).ref.first()
    ax = _axes(
        f"{benchmark}: test accuracy vs budget ({seeds_text(stats.n)})\nmean ± 95% CI (t-interval over seeds)",
        "budget N (prompts selected)",
        "accuracy (%)",
    )
    colors = _colors(sweep.selector)
    for method, color in colors.items():
        _band(ax, stats.loc[method], color, method, marker="o")
        ref = refs.loc[method].dropna()
        ax.scatter(ref.index, ref, marker="x", color=color)
    base = df.dropna(subset=["base"]).drop_duplicates("seed").base  # one base evaluation per seed
    if len(base):
        ax.axhline(base.mean(), color="black", linestyle="--", linewidth=1, label="base (no RL)")
    if (df.selector == "full").any():
        ax.axhline(df.acc[df.selector == "full"].mean(), color="black", linestyle=":", linewidth=1, label="full data")
    if colors:
        budgets = sorted(set(sweep.budget))
        ax.set_xscale("log")
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
    legend = "x = paper" if refs.notna().any() else ""
    return _save(ax, path, None if colors else "no budget sweep in these runs", legend)


def reward_history(run: dict) -> list[tuple[int, float]]:
    """(step, reward) pairs from run_dir/train/final/train_summary.json; [] when missing."""
    if not run.get("run_dir"):
        return []
    try:
        log = json.loads(Path(run["run_dir"], "train", "final", "train_summary.json").read_text()).get("log_history")
    except (OSError, json.JSONDecodeError):
        return []
    return [(int(e["step"]), float(e["reward"])) for e in log or [] if "reward" in e and "step" in e]


def curve_labels(runs: list[dict]) -> list[tuple[str, tuple]]:
    """Each run's line in a per-method figure and its sort key, named as the tables name rows (`setting_label`)."""
    by = (len({r["schedule"] for r in runs}) > 1, len(budgets_of(runs)) > 1)
    labels = []
    for r in runs:
        name, rank = setting_label(
            paper.method_key(r["selector"], r.get("variant")), r["selector"], r["schedule"], r["budget"], *by
        )
        labels.append((name, (*rank, name)))
    return labels


def reward_curves(runs: list[dict], path: str | Path) -> Path:
    """Training reward per step, one line per method (and schedule or budget, where they differ): mean over seeds,
    95% CI band. Static and rounds runs of one selector were one line (testbed_noisy: 'n = 10 seeds')."""
    curves = [(r, h) for r in runs if (h := reward_history(r))]
    rows, ranks = [], {}
    for rid, ((_, hist), (name, rank)) in enumerate(zip(curves, curve_labels([r for r, _ in curves]))):
        ranks[name] = rank
        rows += [(name, rid, step, reward) for step, reward in hist]
    log = pd.DataFrame(rows, columns=["name", "rid", "step", "reward"])
    stats = _ci_stats(log.groupby(["name", "step"]).reward)
    ax = _axes(
        f"GRPO training reward ({seeds_text(log.groupby('name').rid.nunique())})\nmean ± 95% CI over seeds",
        "step",
        "mean reward",
    )
    for name, color in _colors(ranks, key=ranks.get).items():
        _band(ax, stats.loc[name], color, name, linewidth=1.2)
    return _save(ax, path, None if curves else "no train_summary.json with rewards found", "")


def corrupted_share_per_round(runs: list[dict], path: str | Path, share: str = "corrupted_share") -> Path:
    """The share per round (rounds schedule), one line per method with its 95% CI band; the pool's share as a line."""
    what = SHARE_LABELS[share]
    per_round = [(r["selector"], rd) for r in plain_runs(runs) for rd in r.get("selection", {}).get("rounds") or []]
    rows = [(s, int(rd["round"]), 100.0 * rd[share]) for s, rd in per_round if rd.get(share) is not None]
    rounds = pd.DataFrame(rows, columns=["selector", "round", "share"])
    stats = _ci_stats(rounds.groupby(["selector", "round"]).share)
    ax = _axes(
        f"{what} share of the selected prompts per round ({seeds_text(stats.n)})\nmean ± 95% CI over seeds",
        "round",
        f"{what} share (%)",
    )
    for method, color in _colors(rounds.selector).items():
        _band(ax, stats.loc[method], color, method, marker=".")
    if len(rounds):
        _pool_line(ax, runs, share)
        ax.set_ylim(0, 100)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _save(ax, path, None if len(rounds) else "no rounds with this share in these runs", "")


def corrupted_share_bars(runs: list[dict], path: str | Path, share: str = "corrupted_share") -> Path:
    """The share of each method's static selection: a bar per method (the mean, printed under its name) with 95% CI error
    bars, and the pool's own share as a dashed line (what a selector that ignores the regime would pick)."""
    what = SHARE_LABELS[share]
    # read off the records' selection (selection_only runs have no metrics rows in `frame`)
    static = [(r["selector"], r.get("selection") or {}) for r in plain_runs(runs) if r["schedule"] == "static"]
    rows = [(m, 100.0 * s[share]) for m, s in static if s.get(share) is not None]
    df = pd.DataFrame(rows, columns=["selector", share])
    stats = _ci_stats(df.groupby("selector")[share]).dropna(subset=["mean"])
    colors = _colors(stats.index)
    stats = stats.loc[list(colors)]
    ax = _axes(
        f"{what} share of the selected set, static selection ({seeds_text(stats.n)})\n"
        "bars: mean, error bars: 95% CI (t-interval over seeds)",
        "method",
        f"{what} share (%)",
    )
    ax.bar(range(len(stats)), stats["mean"], yerr=stats.half, capsize=4, color=list(colors.values()))
    ax.set_xticks(range(len(stats)), [f"{m}\n{v:.1f}%" for m, v in zip(stats.index, stats["mean"])], fontsize=8)
    if len(stats):
        _pool_line(ax, runs, share)
        ax.set_ylim(0, 100)
    return _save(ax, path, None if len(stats) else "no static selections with this share", "")
