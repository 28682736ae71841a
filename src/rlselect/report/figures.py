"""PNG figures from run records (matplotlib's Agg canvas, no pyplot state); each returns its path.

accuracy_vs_budget: test accuracy vs N per method (mean ± std over seeds, paper numbers as crosses);
reward_curves: GRPO training reward vs step from each run's train_summary.json;
corrupted_share_per_round: share of corrupted (on-target, low-utility) prompts per round (rounds schedule);
corrupted_share_bars: the same share for static selections, one bar per method.
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
from rlselect.report import paper
from rlselect.report.tables import SHARE_LABELS, frame, method_rank, paper_refs, plain_runs


def _colors(methods) -> dict[str, str]:
    """A colour of matplotlib's default cycle per method, in method order."""
    return {m: f"C{i % 10}" for i, m in enumerate(sorted(set(methods), key=method_rank))}


def _axes(title: str, xlabel: str, ylabel: str) -> Axes:
    ax = Figure(figsize=(6.4, 4.2)).add_subplot()
    ax.set_title(title, fontsize=10)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    return ax


def _save(ax: Axes, path: str | Path, empty: str | None, legend: str | None = None) -> Path:
    """Write the PNG, with the text `empty` in the middle where nothing was drawn, else a legend titled `legend`."""
    if empty:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes, color="gray")
    elif legend:
        ax.legend(fontsize=8, title=legend, title_fontsize=8)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def accuracy_vs_budget(runs: list[dict], benchmark: str, path: str | Path) -> Path:
    df = frame(plain_runs(runs), benchmark)
    ax = _axes(f"{benchmark}: test accuracy vs budget", "budget N (prompts selected)", "accuracy (%)")
    sweep = df[(df.selector != "full") & (df.schedule == "static")]
    sweep = sweep.assign(ref=paper_refs(sweep, paper.LEARNALIGN_GSM8K)).astype({"ref": float})
    stats = sweep.groupby(["selector", "budget"]).agg(mean=("acc", "mean"), std=("acc", "std"), ref=("ref", "first"))
    colors = _colors(sweep.selector)
    for method, color in colors.items():
        s = stats.loc[method].fillna({"std": 0.0})
        ax.errorbar(s.index, s["mean"], yerr=s["std"], marker="o", capsize=3, color=color, label=method)
        ax.scatter(s.index[s.ref.notna()], s.ref.dropna(), marker="x", color=color)
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
    legend = "mean ± std over seeds" + ("; x = paper" if stats.ref.notna().any() else "")
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


def reward_curves(runs: list[dict], path: str | Path) -> Path:
    ax = _axes("GRPO training reward", "step", "mean reward")
    curves = [(r, h) for r in runs if (h := reward_history(r))]
    multi_budget = len({r["budget"] for r, _ in curves if r["selector"] != "full"}) > 1
    lines = []
    for r, hist in curves:
        name = paper.method_key(r["selector"], r.get("variant"))
        name = f"{name} N={r['budget']}" if multi_budget and r["selector"] != "full" else name
        lines.append(((method_rank(r["selector"]), r["budget"], name, r.get("seed", 0)), name, hist))
    colors, seen = _colors(name for _, name, _ in lines), set()
    for _, name, hist in sorted(lines, key=lambda line: line[0]):
        ax.plot(*zip(*hist), color=colors[name], alpha=0.8, linewidth=1, label=None if name in seen else name)
        seen.add(name)
    return _save(ax, path, None if curves else "no train_summary.json with rewards found", "one line per seed")


def corrupted_share_per_round(runs: list[dict], path: str | Path, share: str = "corrupted_share") -> Path:
    what = SHARE_LABELS[share]
    ax = _axes(f"{what} share of the selected prompts per round", "round", f"{what} share (%)")
    rows = [(r["selector"], rd) for r in plain_runs(runs) for rd in r.get("selection", {}).get("rounds") or []]
    rows = [(s, int(rd["round"]), 100.0 * rd[share]) for s, rd in rows if rd.get(share) is not None]
    rounds = pd.DataFrame(rows, columns=["selector", "round", "share"])
    stats = rounds.groupby(["selector", "round"]).share.agg(["mean", "std"]).fillna({"std": 0.0})
    for method, color in _colors(rounds.selector).items():
        s = stats.loc[method]
        ax.plot(s.index, s["mean"], marker=".", color=color, label=method)
        ax.fill_between(s.index, s["mean"] - s["std"], s["mean"] + s["std"], color=color, alpha=0.15)
    if len(rounds):
        ax.set_ylim(0, 100)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _save(ax, path, None if len(rounds) else "no rounds with this share in these runs", "mean ± std over seeds")


def corrupted_share_bars(runs: list[dict], path: str | Path, share: str = "corrupted_share") -> Path:
    what = SHARE_LABELS[share]
    ax = _axes(f"{what} share of the selected set (static selection)", "method", f"{what} share (%)")
    df = frame(plain_runs(runs)).drop_duplicates("rid")
    stats = df[df.schedule == "static"].groupby("selector")[share].agg(["mean", "std"]).dropna(subset=["mean"])
    colors = _colors(stats.index)
    stats = stats.fillna({"std": 0.0}).loc[list(colors)]
    ax.bar(range(len(stats)), stats["mean"], yerr=stats["std"], capsize=4, color=list(colors.values()))
    ax.set_xticks(range(len(stats)), list(stats.index), rotation=20, fontsize=8)
    if len(stats):
        ax.set_ylim(0, 100)
    return _save(ax, path, None if len(stats) else "no static selections with this share")
