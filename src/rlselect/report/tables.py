"""Paper-layout tables from run records; each builder returns (markdown, latex).

The records become a DataFrame (`frame`: one row per run and benchmark) and a table is a groupby of it
into rows x columns. Cells are "mean ± std" over seeds in % (sample std; a single seed shows "x (n = 1)"),
with the paper's number beside ours, "(paper 75.1)", where the run's setting matches a published table
(see `paper.PaperTable.applies`). Variant (ablation) runs appear only in the ablation table.
"""

from __future__ import annotations

import pandas as pd

from rlselect.report import paper

METHOD_ORDER = [
    "base",
    "full",
    "random",
    "ifd",
    "token_length",
    "limr",
    "learnalign",
    "learnalign_hidden",
    "accuracy_band",
    "acc_greedy",
    "pass_filter",
    "ppl_top",
    "grad_norm",
    "gradalign_align",
    "gradalign",
]
BENCHMARK_ORDER = ["gsm8k", "math500", "amc23", "aime24", "aime25", "crux", "arith"]
DASH = "—"
SHARES = ("corrupted_share", "on_target_share", "low_utility_share")
COLUMNS = [
    "rid",
    "run",
    "selector",
    "schedule",
    "budget",
    "seed",
    "method",
    "bench",
    "acc",
    "base",
    "cost_s",
    "rollouts",
    *SHARES,
]
# Styler.format(escape="latex") escapes cells and headers, but neither the caption nor these symbols.
TEX_CAPTION = str.maketrans(
    {
        **{c: "\\" + c for c in "&%$#_{}"},
        "\\": r"\textbackslash{}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
)
TEX_SYMBOLS = str.maketrans({"±": r"$\pm$", DASH: "--", ">": "$>$"})


# ----------------------------------------------------------------------------- record access


def accuracy(run: dict, benchmark: str, base: bool = False) -> float | None:
    """Accuracy in % of the trained (or, with base=True, the base) model; None when absent."""
    m = run.get("base_metrics" if base else "metrics", {}).get(benchmark)
    return None if m is None or m.get("accuracy") is None else 100.0 * m["accuracy"]


def selection_seconds(run: dict) -> float:
    """Rollouts + selection (incl. warm-up) + per-round selection seconds of one run."""
    sec = run.get("cost", {}).get("seconds", {})
    rounds = run.get("selection", {}).get("rounds") or []
    return (
        float(sec.get("rollouts", 0.0) or 0.0)
        + float(sec.get("selection", 0.0) or 0.0)
        + sum(float(r.get("seconds", 0.0) or 0.0) for r in rounds)
    )


def rollouts_generated(run: dict) -> int:
    rounds = run.get("selection", {}).get("rounds") or []
    return int(run.get("cost", {}).get("rollouts_generated", 0) or 0) + sum(
        int(r.get("rollouts_generated", 0) or 0) for r in rounds
    )


def benchmarks_of(runs: list[dict]) -> list[str]:
    found = {b for r in runs for b in r.get("metrics", {})}
    return sorted(found, key=lambda b: (BENCHMARK_ORDER.index(b) if b in BENCHMARK_ORDER else 99, b))


def method_rank(selector: str) -> tuple[int, str]:
    return (METHOD_ORDER.index(selector) if selector in METHOD_ORDER else 99, selector)


def protocol(runs: list[dict], benchmark: str) -> str:
    """'greedy', 'avg@16', ... with the limit when the benchmark was cut ('greedy, first 20')."""
    ms = [r["metrics"][benchmark] for r in runs if benchmark in r.get("metrics", {})]
    if not ms:
        return "?"
    p = ms[0].get("protocol") or "?"
    if p.startswith("avg@") and not p[4:].isdigit() and ms[0].get("k"):
        p = f"avg@{ms[0]['k']}"
    limits = sorted({m["limit"] for m in ms if m.get("limit")})
    return p + (f", first {'/'.join(map(str, limits))}" if limits else "")


def plain_runs(runs: list[dict]) -> list[dict]:
    """Runs of the main method comparison (no ablation variant)."""
    return [r for r in runs if not r.get("variant")]


def budgets_of(runs: list[dict]) -> list[int]:
    """Budgets N of the static selections (in the rounds schedule the schedule sets the size)."""
    return sorted({r["budget"] for r in plain_runs(runs) if r["selector"] != "full" and r["schedule"] == "static"})


def share_label(share: str) -> str:
    """'corrupted_share' -> 'corrupted', 'low_utility_share' -> 'low-utility' (tables, figures)."""
    return share.removesuffix("_share").replace("_", "-")


# ----------------------------------------------------------------------------- the frame


def _record(rid: int, run: dict, bench: str) -> dict:
    sel, method = run.get("selection") or {}, paper.method_key(run["selector"], run.get("variant"))
    return {
        "rid": rid,
        "run": run,
        "selector": run["selector"],
        "schedule": run["schedule"],
        "budget": run["budget"],
        "seed": run.get("seed"),
        "method": method,
        "bench": bench,
        "acc": accuracy(run, bench),
        "base": accuracy(run, bench, base=True),
        "cost_s": selection_seconds(run),
        "rollouts": rollouts_generated(run),
        **{s: 100.0 * sel[s] for s in SHARES if sel.get(s) is not None},
    }


def frame(runs: list[dict], benchmark: str | None = None) -> pd.DataFrame:
    """One row per (run, benchmark) (only `benchmark` if given): keys, accuracies and shares in %, cost.

    `rid` tells the runs apart, `run` holds the record (for the paper's `applies`), `method` folds the variant in.
    """
    recs = [_record(i, r, b) for i, r in enumerate(runs) for b in r.get("metrics", {}) if benchmark in (None, b)]
    return pd.DataFrame(recs, columns=COLUMNS)


def with_base(df: pd.DataFrame) -> pd.DataFrame:
    """`df` plus the base model as method 'base': one record per seed and benchmark (a sweep shares its base)."""
    base = df.dropna(subset=["base"]).drop_duplicates(["seed", "bench"])
    base = base.assign(
        selector="base",
        method="base",
        acc=base["base"],
        rid=-1 - base.groupby("seed", sort=False, dropna=False).ngroup(),
        **dict.fromkeys(["cost_s", "rollouts", *SHARES], float("nan")),
    )
    return pd.concat([base, df], ignore_index=True)


def label_rows(df: pd.DataFrame, multi_schedule: bool = False, multi_budget: bool = False) -> pd.DataFrame:
    """Add each record's row label, 'method (schedule) N=budget' as needed, and its sort key `rank`."""

    def label(sel: str, schedule: str, budget: int) -> str:
        text = "base (no RL)" if sel == "base" else f"{sel} ({schedule})" if multi_schedule else sel
        if sel == "full":
            return f"{text} (N={budget})"
        return f"{text} N={budget}" if multi_budget and sel != "base" and schedule == "static" else text

    keys = list(zip(df.selector, df.schedule, df.budget))
    return df.assign(
        row=[label(*k) for k in keys],
        rank=[(method_rank(s), sch, b if multi_budget and sch == "static" else 0) for s, sch, b in keys],
    )


def paper_refs(df: pd.DataFrame, pt: paper.PaperTable, key: str = "budget") -> list:
    """`pt`'s number for each record made in its setting (None elsewhere); its column is df[key]."""
    records = zip(df.run, df.method, df[key], df.bench)
    return [pt.value(m, k) if pt.applies(r, m, b) else None for r, m, k, b in records]


# ----------------------------------------------------------------------------- cells and rendering


def fmt_cell(mean: float, std: float, n: int, ref=None, digits: int = 1) -> str:
    """'75.1 ± 0.4 (paper 75.1)'; one value shows '75.1 (n = 1)' (no std to show); no value gives a dash."""
    if not n:
        return DASH
    text = f"{mean:.{digits}f} " + ("(n = 1)" if n == 1 else f"± {std:.{digits}f}")
    if pd.notna(ref):
        text += f" (paper {ref:.1f})" if isinstance(ref, (int, float)) else f" (paper {ref})"
    return text


def summarize(groups, value: str = "acc", ref: str | None = None) -> pd.DataFrame:
    """mean, std, n of `value` per group (and the group's first paper number `ref`), with the cell text."""
    stats = groups.agg(
        mean=(value, "mean"), std=(value, "std"), n=(value, "count"), **({"ref": (ref, "first")} if ref else {})
    )
    return stats.assign(cell=[fmt_cell(*s) for s in stats.itertuples(index=False)])


def fmt_count(x: float) -> str:
    return DASH if pd.isna(x) else f"{x:.0f}"


def fmt_seconds(x: float) -> str:
    return DASH if pd.isna(x) else f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def grid(
    df: pd.DataFrame, cols: list[str], index: str = "method", seed_cols: list[str] | None = None, cost: bool = False
) -> pd.DataFrame:
    """Table body: a row per df.row (by df.rank), the seeds, a cell of df.acc per df.col in `cols`, the cost.

    seeds counts the runs in the `seed_cols` cells; cost is the mean per run of selection seconds and rollouts.
    """
    stats = summarize(df.groupby(["row", "col"], sort=False), ref="ref")
    rows = list(dict.fromkeys(df.sort_values("rank", kind="stable").row))
    table = stats.cell.unstack().reindex(index=rows, columns=cols).fillna(DASH)
    n = stats.n.unstack().reindex(index=rows, columns=seed_cols or cols).replace(0, float("nan"))
    lo_hi = zip(n.min(axis=1).map(fmt_count), n.max(axis=1).map(fmt_count))  # '3', or '2-3' when cells differ
    table.insert(0, "seeds", [lo if lo == hi else f"{lo}-{hi}" for lo, hi in lo_hi])
    if cost:
        c = df.drop_duplicates("rid").groupby("row")[["cost_s", "rollouts"]].mean().reindex(rows)
        table["selection s"], table["rollouts"] = c.cost_s.map(fmt_seconds), c.rollouts.map(fmt_count)
    return table.rename_axis(index).reset_index()


def render(caption: str, table: pd.DataFrame, label: str) -> tuple[str, str]:
    """(markdown, booktabs latex) of one table."""
    align = ["left"] + ["right"] * (table.shape[1] - 1)
    md = f"**{caption}**\n\n{table.to_markdown(index=False, disable_numparse=True, colalign=align)}\n"
    styler = table.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    tex = styler.set_table_styles([{"selector": "small", "props": ":;"}]).to_latex(
        caption=caption.translate(TEX_CAPTION),
        label=f"tab:{label}",
        position="t",
        position_float="centering",
        hrules=True,
        column_format="l" + "r" * (table.shape[1] - 1),
    )
    return md, tex.translate(TEX_SYMBOLS)


# ----------------------------------------------------------------------------- tables


def budget_table(runs: list[dict], benchmark: str) -> tuple[str, str]:
    """Method x budget (LearnAlign's GSM8K layout) with base and full-data rows and the selection cost.

    Static selections only (rounds runs appear in the benchmark and regime tables).
    """
    runs = [r for r in plain_runs(runs) if benchmark in r.get("metrics", {}) and r["schedule"] == "static"]
    cols = [f"N={b}" for b in budgets_of(runs)] or ["N=all"]
    df = label_rows(with_base(frame(runs, benchmark)))
    df["col"] = ("N=" + df.budget.astype(str)).where(~df.selector.isin(["base", "full"]), cols[0])
    df["ref"] = paper_refs(df, paper.LEARNALIGN_GSM8K)
    caption = (
        f"{benchmark} test accuracy (%, {protocol(runs, benchmark)}) by method and budget N: mean ± std "
        f"over seeds; paper = the published number in the same setting; selection s and rollouts: mean "
        f"per run of rollout + selection seconds (cached stages count ~0) and completions generated"
    )
    return render(caption, grid(df, cols, cost=True), f"budget-{benchmark}")


def benchmark_table(runs: list[dict]) -> tuple[str, str]:
    """Method x benchmark with an average column (LearnAlign's DAPO layout)."""
    runs = plain_runs(runs)
    benches = benchmarks_of(runs)
    multi = len({r["schedule"] for r in runs}) > 1, len(budgets_of(runs)) > 1
    df = label_rows(with_base(frame(runs)), *multi)
    heads = {b: f"{b} ({protocol(runs, b)})" for b in benches}
    if len(benches) > 1:  # avg: each run's (for base each seed's) mean over all the benchmarks
        per_run = df.groupby("rid").acc
        avg = per_run.transform("mean").where(per_run.transform("count") == len(benches))
        df = pd.concat([df, df.assign(bench="avg", acc=avg).drop_duplicates("rid")], ignore_index=True)
        heads["avg"] = "avg"
    df["col"] = df.bench.map(heads)
    df["ref"] = paper_refs(df, paper.LEARNALIGN_DAPO, key="bench")
    table = grid(df, list(heads.values()), seed_cols=list(heads.values())[: len(benches)], cost=True)
    caption = (
        "Test accuracy (%) by method and benchmark, mean ± std over seeds; avg = per-seed mean over the "
        "columns; selection s and rollouts: mean per run of rollout + selection seconds and completions "
        "generated"
    )
    if table.map(lambda c: "(paper" in c).to_numpy().any():
        caption += f"; paper = {paper.LEARNALIGN_DAPO.source} ({paper.LEARNALIGN_DAPO.note})"
    return render(caption, table, "benchmarks")


def ablation_rows(runs: list[dict]) -> list[dict]:
    """The ablation family: selectors run with a variant, their plain runs, and learnalign_hidden."""
    family = {r["selector"] for r in runs if r.get("variant")}
    if any(r["selector"] == "learnalign_hidden" for r in runs):
        family |= {"learnalign_hidden", "learnalign"}
    return [r for r in runs if r["selector"] in family]


def ablation_table(runs: list[dict], benchmark: str) -> tuple[str, str]:
    """Rows by variant (LearnAlign's ablation: w/o warm-up, w/o V, feature similarity), cols = budgets."""
    runs = [r for r in ablation_rows(runs) if benchmark in r.get("metrics", {})]
    df = frame(runs, benchmark)
    budgets = sorted(set(df.budget[df.method != "learnalign"]) or set(df.budget))
    labels, pt = paper.ABLATION_LABELS, paper.LEARNALIGN_ABLATION
    df = df.assign(
        ref=paper_refs(df, pt),
        col="N=" + df.budget.astype(str),
        row=[f"{labels[k]} [{k}]" if k in labels else k for k in df.method],
        rank=[(list(labels).index(k) if k in labels else 99, k) for k in df.method],
    )
    caption = (
        f"Ablation: {benchmark} test accuracy (%, {protocol(runs, benchmark)}) by variant and budget N, "
        f"mean ± std over seeds; paper = {pt.source}"
    )
    return render(caption, grid(df, [f"N={b}" for b in budgets], index="variant"), f"ablation-{benchmark}")


def noisy_table(runs: list[dict], benchmark: str, share: str = "corrupted_share") -> tuple[str, str]:
    """Per method: share of the selected set that is corrupted (or on target) and final accuracy.

    For the rounds schedule the share is the run's mean over rounds.
    """
    runs = [r for r in plain_runs(runs) if benchmark in r.get("metrics", {})]
    df = label_rows(
        with_base(frame(runs, benchmark)), len({r["schedule"] for r in runs}) > 1, len(budgets_of(runs)) > 1
    )
    what, regime = share_label(share), (runs[0].get("regime", "?") if runs else "?")
    families = {r["metrics"][benchmark].get("family") for r in runs} - {None}
    tested = f"{benchmark} [{', '.join(sorted(families))}]" if families else benchmark
    cols = [f"{what} share of selected (%)", f"{tested} accuracy (%)"]
    noisy = share == "corrupted_share"
    refs = [
        paper.GRADALIGN_NOISY_SHARE.get(s) if noisy and r.get("regime") == "noisy_reward" else None
        for s, r in zip(df.selector, df.run)
    ]
    df = pd.concat([df.assign(col=cols[0], acc=df[share], ref=refs), df.assign(col=cols[1], ref=None)])
    params = runs[0].get("regime_params") if runs else None
    setting = f" ({', '.join(f'{k} {v}' for k, v in sorted(params.items()))})" if params else ""
    only = f" on the {', '.join(sorted(families))} problems only" if families else ""
    caption = (
        f"Regime {regime}{setting}: {what} share of the selected prompts (rounds: mean over rounds) and "
        f"final {benchmark} test accuracy{only} ({protocol(runs, benchmark)}), mean ± std over seeds"
    )
    if noisy and regime == "noisy_reward":
        caption += (
            f"; paper = GradAlign's qualitative report at {paper.GRADALIGN_NOISY_FRACTION:.0%} corrupted "
            f"rewards (its models, not ours)"
        )
    return render(caption, grid(df, cols, seed_cols=cols[1:]), f"{regime}-{benchmark}")
