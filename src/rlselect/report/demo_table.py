"""The base-vs-trained accuracy table of a study: one row per (selector, schedule, budget)."""

from __future__ import annotations

from collections import defaultdict

from rlselect.report.records import fmt_pm, mean_std


def base_vs_trained(runs: list[dict], benchmark: str) -> tuple[list[dict], str]:
    """(rows, markdown) with mean ± std over seeds of accuracy before and after GRPO, in %."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in runs:
        if benchmark in r.get("metrics", {}):
            groups[(r["selector"], r["schedule"], r["budget"])].append(r)
    rows = []
    for (selector, schedule, budget), rs in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0])):
        base = [r["base_metrics"][benchmark]["accuracy"] for r in rs]
        after = [r["metrics"][benchmark]["accuracy"] for r in rs]
        rows.append({
            "selector": selector, "schedule": schedule, "budget": budget,
            "seeds": sorted(r["seed"] for r in rs),
            "base": mean_std(base), "trained": mean_std(after),
            "delta": mean_std([a - b for a, b in zip(after, base)]),
            "base_cell": fmt_pm(base), "trained_cell": fmt_pm(after),
            "delta_cell": fmt_pm([a - b for a, b in zip(after, base)]),
            "train_s": mean_std([r["cost"]["seconds"].get("train", 0.0) for r in rs])[0],
        })
    protocol = next((r["metrics"][benchmark].get("protocol") for r in runs if benchmark in r["metrics"]), "?")
    lines = [
        f"{benchmark} test accuracy (%), {protocol}, mean ± std over seeds",
        "",
        "| selector | schedule | budget | seeds | base | GRPO-trained | change | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['selector']} | {row['schedule']} | {row['budget']} | {len(row['seeds'])} | "
            f"{row['base_cell']} | {row['trained_cell']} | {row['delta_cell']} | {row['train_s']:.0f} |"
        )
    return rows, "\n".join(lines) + "\n"
