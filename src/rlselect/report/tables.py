"""Paper-layout tables from run records; each builder returns (markdown, latex).

Cells are "mean ± std" over seeds in % (sample std; a single seed shows the mean alone), with the
paper's number beside ours, "(paper 75.1)", where the run's setting matches a published table
(see `paper.PaperTable.applies`). Variant (ablation) runs appear only in the ablation table.
"""

from __future__ import annotations

from collections import defaultdict

from rlselect.report import paper
from rlselect.report.records import mean_std

METHOD_ORDER = ["base", "full", "random", "ifd", "token_length", "limr", "learnalign", "learnalign_hidden",
                "accuracy_band", "acc_greedy", "pass_filter", "ppl_top", "grad_norm", "gradalign_align", "gradalign"]
BENCHMARK_ORDER = ["gsm8k", "math500", "amc23", "aime24", "aime25", "crux", "arith"]
DASH = "—"


# ----------------------------------------------------------------------------- record access

def accuracy(run: dict, benchmark: str, base: bool = False) -> float | None:
    """Accuracy in % of the trained (or, with base=True, the base) model; None when absent."""
    m = run.get("base_metrics" if base else "metrics", {}).get(benchmark)
    return None if m is None or m.get("accuracy") is None else 100.0 * m["accuracy"]


def selection_seconds(run: dict) -> float:
    """Rollouts + selection (incl. warm-up) + per-round selection seconds of one run."""
    sec = run.get("cost", {}).get("seconds", {})
    rounds = run.get("selection", {}).get("rounds") or []
    return float(sec.get("rollouts", 0.0) or 0.0) + float(sec.get("selection", 0.0) or 0.0) + \
        sum(float(r.get("seconds", 0.0) or 0.0) for r in rounds)


def rollouts_generated(run: dict) -> int:
    rounds = run.get("selection", {}).get("rounds") or []
    return int(run.get("cost", {}).get("rollouts_generated", 0) or 0) + \
        sum(int(r.get("rollouts_generated", 0) or 0) for r in rounds)


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


def base_values(runs: list[dict], benchmark: str) -> list[float]:
    """The base model's accuracy, one value per seed (the base evaluation is shared by a sweep)."""
    by_seed = {}
    for r in runs:
        v = accuracy(r, benchmark, base=True)
        if v is not None:
            by_seed.setdefault(r.get("seed"), v)
    return list(by_seed.values())


# ----------------------------------------------------------------------------- formatting

def fmt_cell(values: list[float], ref=None, digits: int = 1) -> str:
    """'75.1 ± 0.4 (paper 75.1)'; one value shows the mean alone; no value gives a dash."""
    if not values:
        return DASH
    m, s = mean_std(values)
    text = f"{m:.{digits}f}" if len(values) == 1 else f"{m:.{digits}f} ± {s:.{digits}f}"
    if ref is not None:
        text += f" (paper {ref:.1f})" if isinstance(ref, (int, float)) else f" (paper {ref})"
    return text



def budget_cells(rs: list[dict], budgets: list[int], benchmark: str, pt, method: str) -> tuple[list[str], list[int]]:
    """One 'mean ± std [paper]' cell per budget for one method's runs, and the seed count of each."""
    cells, counts = [], []
    for b in budgets:
        at = [r for r in rs if r["budget"] == b]
        vals = [accuracy(r, benchmark) for r in at]
        pv = pt.value(method, b) if at and pt.applies(at[0], method, benchmark) else None
        cells.append(fmt_cell(vals, pv))
        counts.append(len(vals))
    return cells, counts

def fmt_seconds(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def seeds_cell(counts: list[int]) -> str:
    counts = [c for c in counts if c]
    if not counts:
        return DASH
    lo, hi = min(counts), max(counts)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def cost_cells(runs: list[dict]) -> list[str]:
    """[mean selection seconds, mean rollouts generated] over `runs`."""
    cost_s = mean_std([selection_seconds(r) for r in runs])[0]
    n_roll = mean_std([rollouts_generated(r) for r in runs])[0]
    return [fmt_seconds(cost_s), f"{n_roll:.0f}"]


def tex_escape(text: str) -> str:
    out = []
    for ch in str(text):
        if ch in "&%$#_{}":
            out.append("\\" + ch)
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        elif ch in "~^":
            out.append({"~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}[ch])
        elif ch == "±":
            out.append(r"$\pm$")
        elif ch == DASH:
            out.append("--")
        elif ch == ">":
            out.append(r"$>$")
        else:
            out.append(ch)
    return "".join(out)


def render(caption: str, header: list[str], rows: list[list[str]], label: str) -> tuple[str, str]:
    """(markdown, booktabs latex) of one table."""
    md = [f"**{caption}**", "", "| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    tex = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{tex_escape(caption)}}}",
        rf"\label{{tab:{label}}}",
        r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
        r"\toprule",
        " & ".join(tex_escape(h) for h in header) + r" \\",
        r"\midrule",
    ]
    tex += [" & ".join(tex_escape(c) for c in row) + r" \\" for row in rows]
    tex += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(md) + "\n", "\n".join(tex) + "\n"


def _budget_key(run: dict, multi_budget: bool) -> int | None:
    """The budget that tells rows apart: only for static, non-full runs in a multi-budget study."""
    return run["budget"] if multi_budget and run["selector"] != "full" and run["schedule"] == "static" else None


def _method_label(selector: str, schedule: str, multi_schedule: bool) -> str:
    return f"{selector} ({schedule})" if multi_schedule else selector


# ----------------------------------------------------------------------------- tables

def budget_table(runs: list[dict], benchmark: str) -> tuple[str, str]:
    """Method x budget (LearnAlign's GSM8K layout) with base and full-data rows and the selection cost.

    Static selections only (rounds runs appear in the benchmark and regime tables).
    """
    runs = [r for r in plain_runs(runs) if benchmark in r.get("metrics", {}) and r["schedule"] == "static"]
    budgets = budgets_of(runs)
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in runs:
        groups[r["selector"]].append(r)
    ref, pt = (runs[0] if runs else {}), paper.LEARNALIGN_GSM8K
    ncols = max(1, len(budgets))
    header = ["method", "seeds"] + [f"N={b}" for b in budgets or ["all"]] + ["selection s", "rollouts"]
    rows = []

    base = base_values(runs, benchmark)
    if base:
        pv = pt.value("base") if pt.applies(ref, "base", benchmark) else None
        rows.append(["base (no RL)", seeds_cell([len(base)]), fmt_cell(base, pv)] + [DASH] * (ncols - 1) + [DASH, DASH])

    for selector, rs in sorted(groups.items(), key=lambda kv: method_rank(kv[0])):
        label = selector
        if selector == "full":
            vals = [accuracy(r, benchmark) for r in rs]
            pv = pt.value("full") if pt.applies(rs[0], "full", benchmark) else None
            cells = [fmt_cell(vals, pv)] + [DASH] * (ncols - 1)
            label = f"{label} (N={rs[0]['budget']})"
            counts = [len(vals)]
        else:
            cells, counts = budget_cells(rs, budgets, benchmark, pt, selector)
        rows.append([label, seeds_cell(counts)] + cells + cost_cells(rs))

    caption = (f"{benchmark} test accuracy (%, {protocol(runs, benchmark)}) by method and budget N: mean ± std "
               f"over seeds; paper = the published number in the same setting; selection s and rollouts: mean "
               f"per run of rollout + selection seconds (cached stages count ~0) and completions generated")
    return render(caption, header, rows, f"budget-{benchmark}")


def benchmark_table(runs: list[dict]) -> tuple[str, str]:
    """Method x benchmark with an average column (LearnAlign's DAPO layout)."""
    runs = plain_runs(runs)
    benches = benchmarks_of(runs)
    multi_budget = len(budgets_of(runs)) > 1
    multi_schedule = len({r["schedule"] for r in runs}) > 1
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in runs:
        groups[(r["selector"], r["schedule"], _budget_key(r, multi_budget))].append(r)
    pt = paper.LEARNALIGN_DAPO
    ref = runs[0] if runs else {}
    header = ["method", "seeds"] + [f"{b} ({protocol(runs, b)})" for b in benches] + \
        (["avg"] if len(benches) > 1 else []) + ["selection s", "rollouts"]

    def row_cells(method: str, per_bench: dict[str, list[float]], avgs: list[float], run: dict) -> list[str]:
        out = []
        for b in benches:
            pv = pt.value(method, b) if run and pt.applies(run, method, b) else None
            out.append(fmt_cell(per_bench.get(b, []), pv))
        if len(benches) > 1:
            pv = pt.value(method, "avg") if run and pt.applies(run, method, "avg") else None
            out.append(fmt_cell(avgs, pv))
        return out

    rows = []
    base = {b: base_values(runs, b) for b in benches}
    if any(base.values()):
        by_seed: dict = defaultdict(dict)
        for r in runs:
            for b in benches:
                v = accuracy(r, b, base=True)
                if v is not None:
                    by_seed[r.get("seed")].setdefault(b, v)
        avgs = [sum(d.values()) / len(d) for d in by_seed.values() if len(d) == len(benches)]
        rows.append(["base (no RL)", seeds_cell([len(by_seed)])] + row_cells("base", base, avgs, ref) + [DASH, DASH])
    for (selector, schedule, budget), rs in sorted(groups.items(),
                                                   key=lambda kv: (method_rank(kv[0][0]), kv[0][1], kv[0][2] or 0)):
        label = _method_label(selector, schedule, multi_schedule)
        label += f" N={budget}" if budget is not None else (f" (N={rs[0]['budget']})" if selector == "full" else "")
        per_bench = {b: [v for r in rs if (v := accuracy(r, b)) is not None] for b in benches}
        avgs = [sum(accuracy(r, b) for b in benches) / len(benches) for r in rs
                if all(accuracy(r, b) is not None for b in benches)]
        rows.append([label, seeds_cell([len(rs)])] + row_cells(selector, per_bench, avgs, rs[0]) + cost_cells(rs))
    caption = ("Test accuracy (%) by method and benchmark, mean ± std over seeds; avg = per-seed mean over the "
               "columns; selection s and rollouts: mean per run of rollout + selection seconds and completions "
               "generated")
    if any("(paper" in c for row in rows for c in row):
        caption += f"; paper = {pt.source} ({pt.note})"
    return render(caption, header, rows, "benchmarks")


def ablation_rows(runs: list[dict]) -> list[dict]:
    """The ablation family: selectors run with a variant, their plain runs, and learnalign_hidden."""
    family = {r["selector"] for r in runs if r.get("variant")}
    if any(r["selector"] == "learnalign_hidden" for r in runs):
        family |= {"learnalign_hidden", "learnalign"}
    return [r for r in runs if r["selector"] in family]


def ablation_table(runs: list[dict], benchmark: str) -> tuple[str, str]:
    """Rows by variant (LearnAlign's ablation: w/o warm-up, w/o V, feature similarity), cols = budgets."""
    runs = [r for r in ablation_rows(runs) if benchmark in r.get("metrics", {})]
    variant_budgets = {r["budget"] for r in runs if paper.method_key(r["selector"], r.get("variant")) != "learnalign"}
    budgets = sorted(variant_budgets or {r["budget"] for r in runs})
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in runs:
        groups[paper.method_key(r["selector"], r.get("variant"))].append(r)
    pt = paper.LEARNALIGN_ABLATION
    keys = sorted(groups, key=lambda k: (list(paper.ABLATION_LABELS).index(k) if k in paper.ABLATION_LABELS else 99, k))
    header = ["variant", "seeds"] + [f"N={b}" for b in budgets]
    rows = []
    for k in keys:
        rs = groups[k]
        label = f"{paper.ABLATION_LABELS[k]} [{k}]" if k in paper.ABLATION_LABELS else k
        cells, counts = budget_cells(rs, budgets, benchmark, pt, k)
        rows.append([label, seeds_cell(counts)] + cells)
    caption = (f"Ablation: {benchmark} test accuracy (%, {protocol(runs, benchmark)}) by variant and budget N, "
               f"mean ± std over seeds; paper = {pt.source}")
    return render(caption, header, rows, f"ablation-{benchmark}")


def share_label(share: str) -> str:
    """'corrupted_share' -> 'corrupted', 'low_utility_share' -> 'low-utility' (tables, figures)."""
    return share.removesuffix("_share").replace("_", "-")


def noisy_table(runs: list[dict], benchmark: str, share: str = "corrupted_share") -> tuple[str, str]:
    """Per method: share of the selected set that is corrupted (or on target) and final accuracy.

    For the rounds schedule the share is the run's mean over rounds.
    """
    runs = [r for r in plain_runs(runs) if benchmark in r.get("metrics", {})]
    multi_schedule = len({r["schedule"] for r in runs}) > 1
    multi_budget = len(budgets_of(runs)) > 1
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in runs:
        groups[(r["selector"], r["schedule"], _budget_key(r, multi_budget))].append(r)
    what = share_label(share)
    families = {r["metrics"][benchmark].get("family") for r in runs} - {None}
    tested = f"{benchmark} [{', '.join(sorted(families))}]" if families else benchmark
    header = ["method", "seeds", f"{what} share of selected (%)", f"{tested} accuracy (%)"]
    rows = []
    base = base_values(runs, benchmark)
    if base:
        rows.append(["base (no RL)", seeds_cell([len(base)]), DASH, fmt_cell(base)])
    for (selector, schedule, budget), rs in sorted(groups.items(),
                                                   key=lambda kv: (method_rank(kv[0][0]), kv[0][1], kv[0][2] or 0)):
        label = _method_label(selector, schedule, multi_schedule) + (f" N={budget}" if budget is not None else "")
        shares = [100.0 * r["selection"][share] for r in rs if r.get("selection", {}).get(share) is not None]
        noisy = share == "corrupted_share" and rs[0].get("regime") == "noisy_reward"
        ref = paper.GRADALIGN_NOISY_SHARE.get(selector) if noisy else None
        accs = [accuracy(r, benchmark) for r in rs]
        rows.append([label, seeds_cell([len(rs)]), fmt_cell(shares, ref), fmt_cell(accs)])
    regime = runs[0].get("regime", "?") if runs else "?"
    params = runs[0].get("regime_params") if runs else None
    setting = f" ({', '.join(f'{k} {v}' for k, v in sorted(params.items()))})" if params else ""
    only = f" on the {', '.join(sorted(families))} problems only" if families else ""
    caption = (f"Regime {regime}{setting}: {what} share of the selected prompts (rounds: mean over rounds) and "
               f"final {benchmark} test accuracy{only} ({protocol(runs, benchmark)}), mean ± std over seeds")
    if share == "corrupted_share" and regime == "noisy_reward":
        caption += (f"; paper = GradAlign's qualitative report at {paper.GRADALIGN_NOISY_FRACTION:.0%} corrupted "
                    f"rewards (its models, not ours)")
    return render(caption, header, rows, f"{regime}-{benchmark}")
