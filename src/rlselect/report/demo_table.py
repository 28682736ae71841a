"""The base-vs-trained accuracy table of a study: one row per (selector, schedule, budget)."""

from __future__ import annotations

import pandas as pd

from rlselect.report.tables import frame, summarize


def base_vs_trained(runs: list[dict], benchmark: str) -> tuple[pd.DataFrame, str]:
    """(table, markdown) with mean ± std over seeds of accuracy before and after GRPO, in %."""
    df = frame(runs, benchmark)
    df = df.assign(delta=df.acc - df.base, train_s=[r["cost"]["seconds"].get("train", 0.0) for r in df.run])
    groups = df.groupby(["budget", "selector", "schedule"])
    table = pd.DataFrame(
        {
            "seeds": groups.seed.count(),
            "base": summarize(groups, "base").cell,
            "GRPO-trained": summarize(groups, "acc").cell,
            "change": summarize(groups, "delta").cell,
            "train s": groups.train_s.mean().map("{:.0f}".format),
        }
    )
    table = table.reset_index()[["selector", "schedule", "budget", *table.columns]]
    proto = next((r["metrics"][benchmark].get("protocol") for r in runs if benchmark in r["metrics"]), "?")
    md = table.to_markdown(index=False, disable_numparse=True)
    return table, f"{benchmark} test accuracy (%), {proto}, mean ± std over seeds\n\n{md}\n"
