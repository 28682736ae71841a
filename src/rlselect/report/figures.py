"""PNG figures from run records (matplotlib's Agg canvas, no pyplot state); each returns its path.

accuracy_vs_budget: test accuracy vs N per method (mean ± std over seeds, paper numbers as crosses);
reward_curves: GRPO training reward vs step from each run's train_summary.json;
corrupted_share_per_round: share of corrupted (or on-target) prompts per round (rounds schedule);
corrupted_share_bars: the same share for static selections, one bar per method.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rlselect.cache import atomic_write_bytes
from rlselect.report import paper
from rlselect.report.tables import frame, method_rank, plain_runs, share_label

PALETTE = [
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:gray",
    "tab:olive",
    "tab:cyan",
]


def _colors(methods) -> dict[str, str]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(set(methods), key=method_rank))}


def _save(fig: Figure, path: str | Path) -> Path:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def _new(title: str, xlabel: str, ylabel: str):
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="gray")


def accuracy_vs_budget(runs: list[dict], benchmark: str, path: str | Path) -> Path:
    df = frame(plain_runs(runs), benchmark)
    fig, ax = _new(f"{benchmark}: test accuracy vs budget", "budget N (prompts selected)", "accuracy (%)")
    sweep = df[(df.selector != "full") & (df.schedule == "static")]
    stats = sweep.groupby(["selector", "budget"]).acc.agg(["mean", "std"]).fillna({"std": 0.0})
    methods = sorted(set(sweep.selector), key=method_rank)
    colors, pt, paper_shown = _colors(methods), paper.LEARNALIGN_GSM8K, False
    for method in methods:
        s = stats.loc[method]
        ax.errorbar(s.index, s["mean"], yerr=s["std"], marker="o", capsize=3, color=colors[method], label=method)
        if pt.applies(df.run[df.selector == method].iloc[0], method, benchmark):
            pxs = [x for x in s.index if pt.value(method, x) is not None]
            ax.scatter(pxs, [pt.value(method, x) for x in pxs], marker="x", color=colors[method])
            paper_shown = paper_shown or bool(pxs)
    base = df.dropna(subset=["base"]).drop_duplicates("seed").base  # one base evaluation per seed
    if len(base):
        ax.axhline(base.mean(), color="black", linestyle="--", linewidth=1, label="base (no RL)")
    if (df.selector == "full").any():
        ax.axhline(df.acc[df.selector == "full"].mean(), color="black", linestyle=":", linewidth=1, label="full data")
    if methods:
        ax.set_xscale("log")
        budgets = sorted(set(sweep.budget))
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
        ax.legend(fontsize=8, title="mean ± std over seeds" + ("; x = paper" if paper_shown else ""), title_fontsize=8)
    else:
        _empty(ax, "no budget sweep in these runs")
    return _save(fig, path)


def reward_history(run: dict) -> list[tuple[int, float]]:
    """(step, reward) pairs from run_dir/train/final/train_summary.json; [] when missing."""
    f = Path(run.get("run_dir") or "") / "train" / "final" / "train_summary.json"
    if not run.get("run_dir") or not f.is_file():
        return []
    try:
        log = json.loads(f.read_text()).get("log_history") or []
    except (OSError, json.JSONDecodeError):
        return []
    return [(int(e["step"]), float(e["reward"])) for e in log if "reward" in e and "step" in e]


def reward_curves(runs: list[dict], path: str | Path) -> Path:
    fig, ax = _new("GRPO training reward", "step", "mean reward")
    curves = [(r, reward_history(r)) for r in runs]
    curves = [(r, h) for r, h in curves if h]
    multi_budget = len({r["budget"] for r, _ in curves if r["selector"] != "full"}) > 1

    def label(r: dict) -> str:
        name = paper.method_key(r["selector"], r.get("variant"))
        return f"{name} N={r['budget']}" if multi_budget and r["selector"] != "full" else name

    colors = _colors({label(r) for r, _ in curves})
    seen = set()

    def order(rh) -> tuple:
        r = rh[0]
        return method_rank(r["selector"]), r["budget"], label(r), r.get("seed", 0)

    for r, hist in sorted(curves, key=order):
        name = label(r)
        ax.plot(
            [s for s, _ in hist],
            [v for _, v in hist],
            color=colors[name],
            alpha=0.8,
            linewidth=1,
            label=None if name in seen else name,
        )
        seen.add(name)
    if curves:
        ax.legend(fontsize=8, title="one line per seed", title_fontsize=8)
    else:
        _empty(ax, "no train_summary.json with rewards found")
    return _save(fig, path)


def corrupted_share_per_round(runs: list[dict], path: str | Path, share: str = "corrupted_share") -> Path:
    what = share_label(share)
    fig, ax = _new(f"{what} share of the selected prompts per round", "round", f"{what} share (%)")
    rounds = pd.DataFrame(
        [
            (r["selector"], int(rd["round"]), 100.0 * rd[share])
            for r in plain_runs(runs)
            for rd in r.get("selection", {}).get("rounds") or []
            if rd.get(share) is not None
        ],
        columns=["selector", "round", "share"],
    )
    stats = rounds.groupby(["selector", "round"]).share.agg(["mean", "std"]).fillna({"std": 0.0})
    methods = sorted(set(rounds.selector), key=method_rank)
    colors = _colors(methods)
    for method in methods:
        s = stats.loc[method]
        ax.plot(s.index, s["mean"], marker=".", color=colors[method], label=method)
        ax.fill_between(s.index, s["mean"] - s["std"], s["mean"] + s["std"], color=colors[method], alpha=0.15)
    if methods:
        ax.set_ylim(0, 100)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8, title="mean ± std over seeds", title_fontsize=8)
    else:
        _empty(ax, "no rounds with this share in these runs")
    return _save(fig, path)


def corrupted_share_bars(runs: list[dict], path: str | Path, share: str = "corrupted_share") -> Path:
    what = share_label(share)
    fig, ax = _new(f"{what} share of the selected set (static selection)", "method", f"{what} share (%)")
    df = frame(plain_runs(runs)).drop_duplicates("rid")
    stats = df[df.schedule == "static"].groupby("selector")[share].agg(["mean", "std"]).dropna(subset=["mean"])
    stats = stats.fillna({"std": 0.0}).loc[sorted(stats.index, key=method_rank)]
    colors = _colors(stats.index)
    ax.bar(range(len(stats)), stats["mean"], yerr=stats["std"], capsize=4, color=[colors[m] for m in stats.index])
    ax.set_xticks(range(len(stats)), list(stats.index), rotation=20, fontsize=8)
    if len(stats):
        ax.set_ylim(0, 100)
    else:
        _empty(ax, "no static selections with this share")
    return _save(fig, path)
