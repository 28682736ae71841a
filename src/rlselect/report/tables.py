"""Paper-layout tables from run records; each builder returns (markdown, latex).

One DataFrame of the records (`frame`: a row per run and benchmark) grouped into rows x columns (`grid`), written
by `render`. Cells are "mean ± h" over seeds in %, h the half-width of the 95% t-interval of the mean
(t(0.975, n - 1) * s / sqrt(n), s the sample std; `ci.half_width`); one seed shows "x (n = 1)". The paper's number
stands beside ours, "(paper 75.1)", where the run's setting matches a published table (`paper.PaperTable.applies`).
Variant (ablation) runs appear only in the ablation table.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from rlselect.report import ci, paper

METHOD_ORDER = ["base", "full", "random", "ifd", "token_length", "limr", "learnalign", "learnalign_hidden"]
METHOD_ORDER += ["accuracy_band", "acc_greedy", "pass_filter", "ppl_top", "grad_norm", "gradalign_align", "gradalign"]
BENCHMARK_ORDER = ["gsm8k", "math500", "amc23", "aime24", "aime25", "crux", "arith"]
DASH, NAN = "—", float("nan")
SHARES = ("corrupted_share", "on_target_share", "low_utility_share")
SHARE_LABELS = {s: s.removesuffix("_share").replace("_", "-") for s in SHARES}  # 'low_utility_share' -> 'low-utility'
# The regime parameter that sets the pool's own share (data/regimes.py, with apply_regime's defaults): noisy_reward
# corrupts round(f * n) of n items and low_utility spoils round(f * n) (all flagged), so the pool's share is the
# fraction up to rounding; imbalance keeps the target family at target_share of the pool, also up to rounding.
POOL_SHARE = {
    "corrupted_share": ("noisy_reward", "noisy_fraction", 0.5),
    "on_target_share": ("imbalance", "target_share", 0.1),
    "low_utility_share": ("low_utility", "low_utility_fraction", 0.5),
}
COLUMNS = ["rid", "run", "selector", "schedule", "budget", "seed", "method", "rollouts", "bench", "acc"]
COLUMNS += ["base", *SHARES]  # accuracies and shares in %
# Styler.format(escape="latex") escapes cells and headers, but neither the caption nor these symbols.
TEX_CAPTION = str.maketrans(
    {c: "\\" + c for c in "&%$#_{}"}
    | {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
)
TEX_OPTIONS = dict(position="t", position_float="centering", hrules=True)
TEX_SYMBOLS = str.maketrans({"±": r"$\pm$", DASH: "--", ">": "$>$"})


def method_rank(name: str, order: list[str] = METHOD_ORDER) -> tuple[int, str]:
    """Sort key: the names in `order` first, in that order, then the others by name."""
    return (order.index(name) if name in order else 99, name)


def benchmarks_of(runs: list[dict]) -> list[str]:
    return sorted({b for r in runs for b in r.get("metrics", {})}, key=lambda b: method_rank(b, BENCHMARK_ORDER))


def plain_runs(runs: list[dict]) -> list[dict]:
    """Runs of the main method comparison (no ablation variant)."""
    return [r for r in runs if not r.get("variant")]


def budgets_of(runs: list[dict]) -> list[int]:
    """Budgets N of the static selections (in the rounds schedule the schedule sets the size)."""
    return sorted({r["budget"] for r in plain_runs(runs) if r["selector"] != "full" and r["schedule"] == "static"})


def size_label(schedule: str, budget: int, runs: list[dict]) -> int | str:
    """A setting's size as tables print it: the budget N of a static selection; in rounds, what each round keeps
    (keep_fraction x chunk_size: the rounds schedule never reads `budget`, which only names the run directory)."""
    if schedule != "rounds":
        return budget
    kept = sorted({n for r in runs if (n := (r.get("selection") or {}).get("n")) is not None})
    return f"{'/'.join(map(str, kept)) or '?'} per round"


def pool_share(runs: list[dict], share: str) -> tuple[float, str] | None:
    """(the pool's own `share` as a fraction, the regime parameter that sets it) from the runs of the share's regime;
    None without such runs or when they disagree."""
    regime, key, default = POOL_SHARE[share]
    values = {(r.get("regime_params") or {}).get(key, default) for r in runs if r.get("regime") == regime}
    return (float(values.pop()), key) if len(values) == 1 else None


def protocol(runs: list[dict], benchmark: str) -> str:
    """'greedy', 'avg@16', ... with the limit when the benchmark was cut ('greedy, first 20'); runs
    evaluated in different ways (some reevaluated with eval.limit, say) are named as mixed, with counts."""
    ms = [r[k][benchmark] for r in runs for k in ("metrics", "base_metrics") if benchmark in (r.get(k) or {})]
    settings = Counter(_setting(m) for m in ms) or Counter(["?"])
    if len(settings) == 1:
        return next(iter(settings))
    return "MIXED: " + "; ".join(f"{s} ({n} evaluations)" for s, n in sorted(settings.items()))


def _setting(m: dict) -> str:
    p = m.get("protocol") or "?"
    if p.startswith("avg@") and not p[4:].isdigit() and m.get("k"):
        p = f"avg@{m['k']}"
    return p + (f", first {m['limit']}" if m.get("limit") else "")


def frame(runs: list[dict], benchmark: str | None = None) -> pd.DataFrame:
    """One row per (run, benchmark) (only `benchmark` if given): keys, cost, accuracies and shares in %.

    `rid` tells the runs apart, `run` holds the record (for the paper's `applies`), `method` folds the variant
    in; rollouts: the completions generated for selection (LearnAlign's warm-up included; a rounds run's: its rounds').
    """
    rows = []
    for rid, run in enumerate(runs):
        sel, cost = run.get("selection") or {}, run.get("cost", {})
        # a rounds run's are its rounds' (records before 2026-12-03 also count a base pass over the pool it never read)
        spent = (sel.get("rounds") or []) if run["schedule"] == "rounds" else [cost]
        rollouts = sum(int(c.get("rollouts_generated") or 0) for c in spent)
        keys = [rid, run, run["selector"], run["schedule"], run["budget"], run.get("seed")]
        keys += [paper.method_key(run["selector"], run.get("variant")), rollouts]
        for b in (b for b in run.get("metrics", {}) if benchmark in (None, b)):
            accs = [(run.get(k, {}).get(b) or {}).get("accuracy") for k in ("metrics", "base_metrics")]
            fractions = accs + [sel.get(s) for s in SHARES]
            rows.append([*keys, b, *(NAN if v is None else 100.0 * v for v in fractions)])
    return pd.DataFrame(rows, columns=COLUMNS)


def with_base(runs: list[dict], benchmark: str | None = None, by_setting: bool = False) -> pd.DataFrame:
    """frame() plus the base model as method 'base' (a record per seed and benchmark: a sweep shares its base), each
    record's row label and its sort key `rank`; with `by_setting` the label names the schedule and the budget where
    the runs differ in them: 'method (schedule) N=budget'."""
    df = frame(runs, benchmark)
    base = df.dropna(subset=["base"]).drop_duplicates(["seed", "bench"])
    rid = -1 - base.groupby("seed", sort=False, dropna=False).ngroup()
    base = base.assign(selector="base", method="base", acc=base["base"], rid=rid)
    df = pd.concat([base.assign(**dict.fromkeys(["rollouts", *SHARES], NAN)), df], ignore_index=True)
    by = (by_setting and len({r["schedule"] for r in runs}) > 1, by_setting and len(budgets_of(runs)) > 1)
    labels = [setting_label(s, s, schedule, b, *by) for s, schedule, b in zip(df.selector, df.schedule, df.budget)]
    return df.assign(row=[name for name, _ in labels], rank=[rank for _, rank in labels])


def setting_label(method: str, selector: str, schedule: str, budget, by_schedule: bool, by_budget: bool):
    """(name, sort key) of a table row or a figure line: 'method (schedule) N=budget', with the schedule where the
    runs differ in it and N for static selections where their budgets differ (a rounds run never reads its budget);
    full data always names its pool, 'full (N=512)'."""
    sized = by_budget and schedule == "static" and selector not in ("base", "full")
    if selector == "base":
        return "base (no RL)", (method_rank(selector), schedule, 0)
    name = f"{method} ({schedule})" if by_schedule else method
    name = f"{name} (N={budget})" if selector == "full" else f"{name} N={budget}" if sized else name
    return name, (method_rank(selector), schedule, budget if sized else 0)


def paper_refs(df: pd.DataFrame, pt: paper.PaperTable, key: str = "budget") -> list:
    """`pt`'s number for each record made in its setting (None elsewhere); its column is df[key]."""
    return [pt.value(m, k) if pt.applies(r, m, b) else None for r, m, k, b in zip(df.run, df.method, df[key], df.bench)]


def fmt_cell(mean: float, half: float, n: int, ref) -> str:
    """'75.1 ± 0.4 (paper 75.1)', ± the 95% CI half-width; one value shows '75.1 (n = 1)' (no interval); no value
    gives a dash."""
    ref = "" if pd.isna(ref) else f" (paper {ref:.1f})" if isinstance(ref, float) else f" (paper {ref})"
    return f"{mean:.1f} " + ("(n = 1)" if n == 1 else f"± {half:.1f}") + ref if n else DASH


def summarize(groups, value: str = "acc") -> pd.DataFrame:
    """mean, std, n, the 95% CI half-width `half` of `value` per group and the group's first paper number `ref`,
    with the cell text."""
    stats = groups.agg(mean=(value, "mean"), std=(value, "std"), n=(value, "count"), ref=("ref", "first"))
    stats = stats.assign(half=[ci.half_width(s, int(n)) for s, n in zip(stats["std"], stats["n"])])
    return stats.assign(cell=[fmt_cell(*r) for r in stats[["mean", "half", "n", "ref"]].itertuples(index=False)])


def grid(df: pd.DataFrame, cols: list[str], index="method", seed_cols: list | None = None, cost=False) -> pd.DataFrame:
    """Table body: a row per df.row (by df.rank), the seeds, a cell of df.acc per df.col in `cols`, the cost.

    seeds counts the runs in the `seed_cols` cells; cost is the mean per run of completions generated for selection
    (seconds vary with the machine: they stay in runs.jsonl and results/bench, so a rerun reprints the same table).
    """
    stats = summarize(df.groupby(["row", "col"], sort=False))
    rows = list(dict.fromkeys(df.sort_values("rank", kind="stable").row))
    table = stats.cell.unstack().reindex(index=rows, columns=cols).fillna(DASH)
    n = stats.n.unstack().reindex(index=rows, columns=seed_cols or cols).replace(0, NAN)
    lo, hi = (s.map("{:.0f}".format).replace("nan", DASH) for s in (n.min(axis=1), n.max(axis=1)))
    table.insert(0, "seeds", lo.where(lo == hi, lo + "-" + hi))  # '3', or '2-3' when the cells differ
    if cost:
        c = df.drop_duplicates("rid").groupby("row")[["rollouts"]].mean().reindex(rows)
        table["rollouts"] = c.rollouts.map("{:.0f}".format).replace("nan", DASH)
    return table.rename_axis(index).reset_index()


def render(caption: str, table: pd.DataFrame, label: str) -> tuple[str, str]:
    """(markdown, booktabs latex) of one table: the first column left-aligned, the others right."""
    right = table.shape[1] - 1
    md = table.to_markdown(index=False, disable_numparse=True, colalign=["left"] + ["right"] * right)
    styler = table.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    styler = styler.set_caption(caption.translate(TEX_CAPTION)).set_table_styles([{"selector": "small", "props": ":;"}])
    tex = styler.to_latex(label=f"tab:{label}", column_format="l" + "r" * right, **TEX_OPTIONS)
    return f"**{caption}**\n\n{md}\n", tex.translate(TEX_SYMBOLS)


def budget_table(runs: list[dict], benchmark: str) -> tuple[str, str]:
    """Method x budget (LearnAlign's GSM8K layout) with base and full-data rows and the selection cost.

    Static selections only (rounds runs appear in the benchmark and regime tables).
    """
    runs = [r for r in plain_runs(runs) if benchmark in r.get("metrics", {}) and r["schedule"] == "static"]
    cols = [f"N={b}" for b in budgets_of(runs)] or ["N=all"]
    df = with_base(runs, benchmark)
    df["col"] = ("N=" + df.budget.astype(str)).where(~df.selector.isin(["base", "full"]), cols[0])
    df["ref"] = paper_refs(df, paper.LEARNALIGN_GSM8K)
    caption = (
        f"{benchmark} test accuracy (%, {protocol(runs, benchmark)}) by method and budget N: {ci.TEXT}; "
        "paper = the published number in the same setting; rollouts: mean per run of completions generated for "
        "selection (cached stages count ~0)"
    )
    return render(caption, grid(df, cols, cost=True), f"budget-{benchmark}")


def benchmark_table(runs: list[dict]) -> tuple[str, str]:
    """Method x benchmark with an average column (LearnAlign's DAPO layout)."""
    runs = plain_runs(runs)
    df, benches = with_base(runs, by_setting=True), benchmarks_of(runs)
    heads = {b: f"{b} ({protocol(runs, b)})" for b in benches}
    if len(benches) > 1:  # avg: each run's (for base each seed's) mean over all the benchmarks
        per_run = df.groupby("rid").acc
        avg = per_run.transform("mean").where(per_run.transform("count") == len(benches))
        df = pd.concat([df, df.assign(bench="avg", acc=avg).drop_duplicates("rid")], ignore_index=True)
        heads["avg"] = "avg"
    df["col"], df["ref"] = df.bench.map(heads), paper_refs(df, paper.LEARNALIGN_DAPO, key="bench")
    table = grid(df, list(heads.values()), seed_cols=list(heads.values())[: len(benches)], cost=True)
    caption = (
        f"Test accuracy (%) by method and benchmark, {ci.TEXT}; avg = per-seed mean over the columns; "
        "rollouts: mean per run of completions generated for selection"
    )
    if table.map(lambda c: "(paper" in c).to_numpy().any():
        caption += f"; paper = {paper.LEARNALIGN_DAPO.source}"
    return render(caption, table, "benchmarks")


def ablation_table(runs: list[dict], benchmark: str) -> tuple[str, str]:
    """Rows by variant (LearnAlign's ablation: w/o warm-up, w/o V, feature similarity), cols = budgets.

    The rows: selectors run with a variant, their plain runs, and learnalign_hidden beside learnalign.
    """
    family = {r["selector"] for r in runs if r.get("variant")}
    family |= {"learnalign_hidden", "learnalign"} if any(r["selector"] == "learnalign_hidden" for r in runs) else set()
    runs = [r for r in runs if r["selector"] in family and benchmark in r.get("metrics", {})]
    df, labels, pt = frame(runs, benchmark), paper.ABLATION_LABELS, paper.LEARNALIGN_ABLATION
    budgets = sorted(set(df.budget[df.method != "learnalign"]) or set(df.budget))
    df = df.assign(
        ref=paper_refs(df, pt),
        col="N=" + df.budget.astype(str),
        row=[f"{labels[k]} [{k}]" if k in labels else k for k in df.method],
        rank=[method_rank(k, list(labels)) for k in df.method],
    )
    caption = (
        f"Ablation: {benchmark} test accuracy (%, {protocol(runs, benchmark)}) by variant and budget N, "
        f"{ci.TEXT}; paper = {pt.source}"
    )
    return render(caption, grid(df, [f"N={b}" for b in budgets], index="variant"), f"ablation-{benchmark}")


def noisy_table(runs: list[dict], benchmark: str, share: str = "corrupted_share") -> tuple[str, str]:
    """Per method: share of the selected set that is corrupted (on target, low-utility; rounds: the mean over
    rounds) and final accuracy."""
    runs = [r for r in plain_runs(runs) if benchmark in r.get("metrics", {})]
    df, what, first = with_base(runs, benchmark, by_setting=True), SHARE_LABELS[share], runs[0] if runs else {}
    regime, params = first.get("regime", "?"), first.get("regime_params")
    families = sorted({r["metrics"][benchmark].get("family") for r in runs} - {None})
    tested = f"{benchmark} [{', '.join(families)}]" if families else benchmark
    cols = [f"{what} share of selected (%)", f"{tested} accuracy (%)"]
    noisy = share == "corrupted_share"
    in_setting = [noisy and r.get("regime") == "noisy_reward" for r in df.run]
    refs = df.selector.map(paper.GRADALIGN_NOISY_SHARE).where(in_setting)
    df = pd.concat([df.assign(col=cols[0], acc=df[share], ref=refs), df.assign(col=cols[1], ref=None)])
    setting = f" ({', '.join(f'{k} {v}' for k, v in sorted(params.items()))})" if params else ""
    only = f" on the {', '.join(families)} problems only" if families else ""
    caption = (
        f"Regime {regime}{setting}: {what} share of the selected prompts (rounds: mean over rounds) and "
        f"final {benchmark} test accuracy{only} ({protocol(runs, benchmark)}), {ci.TEXT}"
    )
    if noisy and regime == "noisy_reward":
        caption += f"; paper = {paper.GRADALIGN_NOISY_SOURCE}"
    return render(caption, grid(df, cols, seed_cols=cols[1:]), f"{regime}-{benchmark}")


def base_vs_trained(runs: list[dict], benchmark: str) -> tuple[pd.DataFrame, str]:
    """(table, markdown): mean ± 95% CI half-width over seeds of the accuracy (%) before and after GRPO per selector,
    schedule, N."""
    df = frame(runs, benchmark)
    # GRPO steps, not seconds: the table a fresh clone prints must equal the committed one
    df = df.assign(delta=df.acc - df.base, ref=None, steps=[r["cost"].get("train_steps") for r in df.run])
    groups = df.groupby(["budget", "selector", "schedule"])
    cells = {h: summarize(groups, v).cell for h, v in (("base", "base"), ("GRPO-trained", "acc"), ("change", "delta"))}
    steps = groups.steps.agg(lambda s: f"{s.min()}-{s.max()}" if s.min() != s.max() else str(s.max()))  # runs differ
    sizes = groups.run.agg(lambda rs: size_label(rs.iloc[0]["schedule"], rs.iloc[0]["budget"], list(rs)))
    table = pd.DataFrame({"seeds": groups.seed.count(), **cells, "GRPO steps": steps, "size": sizes})
    table = table.reset_index().drop(columns="budget").rename(columns={"size": "budget"})
    table = table[["selector", "schedule", "budget", *table.columns[2:-1]]]
    md = table.to_markdown(index=False, disable_numparse=True)
    return table, f"{benchmark} test accuracy (%), {protocol(runs, benchmark)}, {ci.TEXT}\n\n{md}\n"


def selection_table(runs: list[dict], share: str | None) -> tuple[str, str]:
    """Selection studies (`selection_only` runs, no training): per selector the regime's share among the
    selected prompts, their mean success rate and the ranking AUC of good vs bad items, mean ± 95% CI;
    share None (a pool with no regime): the mean success rate alone."""
    labels = {f"selection.{share}": f"{SHARE_LABELS[share]} share of selected (%)"} if share else {}
    labels |= {"selection.mean_success_rate": "mean success rate (%)"}
    labels |= {"selection.diagnostics.ranking_auc": "ranking AUC good vs bad (x100)"} if share else {}
    df = pd.json_normalize(plain_runs(runs)).reindex(columns=["selector", *labels]).astype(dict.fromkeys(labels, float))
    groups = df.assign(ref=None, **{k: 100.0 * df[k] for k in labels}).groupby("selector")
    table = pd.DataFrame({"seeds": groups.size().map(str)} | {v: summarize(groups, k).cell for k, v in labels.items()})
    table = table.reindex(sorted(table.index, key=method_rank)).rename_axis("method").reset_index()
    budgets = "/".join(str(b) for b in sorted({r["budget"] for r in runs}))
    ci_text = "mean ± 95% CI half-width (t-interval over seeds); no training (selection_only)"
    if not share:
        caption = f"Selection study on {runs[0].get('data')}: mean success rate of the N={budgets} selected prompts"
        return render(f"{caption}; {ci_text}", table, "selection")
    pool = pool_share(runs, share)
    ref = f" (the pool's own share: {100 * pool[0]:.0f}%, {pool[1]})" if pool else ""
    caption = (
        f"Selection study, regime {runs[0].get('regime')} on {runs[0].get('data')}: {SHARE_LABELS[share]} share of "
        f"the N={budgets} selected prompts{ref}, their mean success rate, and the AUC of each selector's ranking for "
        f"good vs bad items; {ci_text}"
    )
    return render(caption, table, f"selection_{share}")
