"""PNG figures from run records (matplotlib's Agg canvas, no pyplot state); each returns its path.

accuracy_vs_budget: test accuracy vs N per method (mean ± std over seeds, paper numbers as crosses);
reward_curves: GRPO training reward vs step from each run's train_summary.json;
corrupted_share_per_round: share of corrupted (or on-target) prompts per round (rounds schedule);
corrupted_share_bars: the same share for static selections, one bar per method.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rlselect.cache import atomic_write_bytes
from rlselect.report import paper
from rlselect.report.records import mean_std
from rlselect.report.tables import accuracy, base_values, method_rank, plain_runs, share_label

PALETTE = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
           "tab:gray", "tab:olive", "tab:cyan"]


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
    runs = [r for r in plain_runs(runs) if benchmark in r.get("metrics", {})]
    fig, ax = _new(f"{benchmark}: test accuracy vs budget", "budget N (prompts selected)", "accuracy (%)")
    by_method: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        if r["selector"] != "full" and r["schedule"] == "static":
            by_method[r["selector"]][r["budget"]].append(accuracy(r, benchmark))
    colors = _colors(by_method)
    pt = paper.LEARNALIGN_GSM8K
    paper_shown = False
    for method in sorted(by_method, key=method_rank):
        xs = sorted(by_method[method])
        stats = [mean_std(by_method[method][x]) for x in xs]
        ax.errorbar(xs, [m for m, _ in stats], yerr=[s for _, s in stats], marker="o", capsize=3,
                    color=colors[method], label=method)
        ref = next(r for r in runs if r["selector"] == method)
        if pt.applies(ref, method, benchmark):
            pxs = [x for x in xs if pt.value(method, x) is not None]
            ax.scatter(pxs, [pt.value(method, x) for x in pxs], marker="x", color=colors[method])
            paper_shown = paper_shown or bool(pxs)
    base = base_values(runs, benchmark)
    if base:
        ax.axhline(mean_std(base)[0], color="black", linestyle="--", linewidth=1, label="base (no RL)")
    full = [accuracy(r, benchmark) for r in runs if r["selector"] == "full"]
    if full:
        ax.axhline(mean_std(full)[0], color="black", linestyle=":", linewidth=1, label="full data")
    if by_method:
        ax.set_xscale("log")
        budgets = sorted({x for per in by_method.values() for x in per})
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
        ax.legend(fontsize=8, title="mean ± std over seeds" + ("; x = paper" if paper_shown else ""),
                  title_fontsize=8)
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
        ax.plot([s for s, _ in hist], [v for _, v in hist], color=colors[name], alpha=0.8, linewidth=1,
                label=None if name in seen else name)
        seen.add(name)
    if curves:
        ax.legend(fontsize=8, title="one line per seed", title_fontsize=8)
    else:
        _empty(ax, "no train_summary.json with rewards found")
    return _save(fig, path)


def corrupted_share_per_round(runs: list[dict], path: str | Path, share: str = "corrupted_share") -> Path:
    what = share_label(share)
    fig, ax = _new(f"{what} share of the selected prompts per round", "round", f"{what} share (%)")
    per: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in plain_runs(runs):
        for rd in r.get("selection", {}).get("rounds") or []:
            if rd.get(share) is not None:
                per[r["selector"]][int(rd["round"])].append(100.0 * rd[share])
    colors = _colors(per)
    for method in sorted(per, key=method_rank):
        xs = sorted(per[method])
        stats = [mean_std(per[method][x]) for x in xs]
        mean, std = [m for m, _ in stats], [s for _, s in stats]
        ax.plot(xs, mean, marker=".", color=colors[method], label=method)
        ax.fill_between(xs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                        color=colors[method], alpha=0.15)
    if per:
        ax.set_ylim(0, 100)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8, title="mean ± std over seeds", title_fontsize=8)
    else:
        _empty(ax, "no rounds with this share in these runs")
    return _save(fig, path)


def corrupted_share_bars(runs: list[dict], path: str | Path, share: str = "corrupted_share") -> Path:
    what = share_label(share)
    fig, ax = _new(f"{what} share of the selected set (static selection)", "method", f"{what} share (%)")
    per: dict[str, list[float]] = defaultdict(list)
    for r in plain_runs(runs):
        if r.get("schedule") == "static" and r.get("selection", {}).get(share) is not None:
            per[r["selector"]].append(100.0 * r["selection"][share])
    methods = sorted(per, key=method_rank)
    colors = _colors(methods)
    stats = [mean_std(per[m]) for m in methods]
    ax.bar(range(len(methods)), [m for m, _ in stats], yerr=[s for _, s in stats], capsize=4,
           color=[colors[m] for m in methods])
    ax.set_xticks(range(len(methods)), methods, rotation=20, fontsize=8)
    if methods:
        ax.set_ylim(0, 100)
    else:
        _empty(ax, "no static selections with this share")
    return _save(fig, path)
