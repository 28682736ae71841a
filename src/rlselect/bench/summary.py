"""The Markdown summary of a benchmark run (results/bench/README.md): one table per benchmark, one
column per measured entry, one row per number (its JSON key; 4 significant digits), then its memory."""

from __future__ import annotations

import pandas as pd

SECTIONS = {  # title (str.format of the setup), note
    "gradients": (
        "## 1. Gradient features ({model} model, {params:,} parameters, {dtype}, {prompts} prompts x {G} completions = "
        "{sequences} sequences, {tokens:,} tokens of which {completion_tokens:,} completion tokens; {batch_size} "
        "prompts per batch; median of blocked_autorange, >= {min_run_time} s per path after one warm-up call)",
        "batched = `policy_gradients`, loop = `policy_gradients_loop` (one forward + backward per prompt), floor = "
        "one plain batched forward + backward over the same tokens (`bench.core.floor_forward_backward`). "
        "speedup_vs_loop = loop_s / batched_s, ratio_to_floor = batched_s / floor_s, *_cpu: in process CPU seconds "
        "(all threads; steadier on a shared machine); tokens_per_s: prompt + completion tokens of every sequence.",
    ),
    "rollouts": (
        "## 2. Rollout generation ({model} model, {backend}, {prompts} prompts x {G}, max {max_new_tokens} new "
        "tokens, temperature {temperature}, median of blocked_autorange)",
        "Generated tokens count each completion up to and including its EOS.",
    ),
    "selection": (
        "## 3. Selection overhead vs GRPO training (demo: pool {pool}, G = {G}, budget {budget}, validation {val} x "
        "{val_G}, projection {projection}; each run's own `cost.seconds`)",
        "total_s = rollouts_s (pool rollouts) + selection_s; ratio_to_train = total_s / train_s (GRPO training). "
        "Excluded from selection cost: {excluded}.",
    ),
    "scaling": (
        "## 4. Scaling with model size (random Qwen2 models, vocabulary {vocab_size}, {prompts} prompts x {G} "
        "completions = {sequences} sequences, {tokens:,} tokens; {batch_size} prompts per batch; each path timed "
        "in alternation with the floor after one warm-up call of each)",
        "seconds: the path's median wall seconds; floor_s: one plain forward + backward over the same tokens and "
        "batches, its calls alternated with the path's (at least 3 pairs and {min_run_time} s each); ratio_to_floor: "
        "the median over pairs of path / floor (a slow spell of the shared machine slows both alike); peak_rss_mb: "
        "the path's first call; dense_jl is skipped where P x d > {dense_max:.0e}.\n\n"
        "![ratio to the floor vs parameters](scaling.png)",
    ),
}


def _mem(m: dict) -> str:
    if "peak_rss_mb" not in m:  # one per path
        return " / ".join(f"{k} {_mem(v)}" for k, v in m.items())
    s = f"{m['peak_rss_mb']:,.0f} (+{m['rss_delta_mb']:,.0f})"
    return s + (f"; GPU {m['gpu_peak_mb']:,.0f} (+{m['gpu_delta_mb']:,.0f})" if "gpu_peak_mb" in m else "")


def _fmt(v):
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return f"{v:,}" if isinstance(v, int) else v


def _table(r: dict) -> str:
    """One column per measured entry, one row per number (its JSON key), then the entry's memory."""
    entries = {k: x for k, x in r.items() if isinstance(x, dict) and "memory" in x}
    skip = ("dim", "times_s", "memory", "cost")
    cols = {
        k: {c: v for c, v in x.items() if c not in skip} | {"peak RSS MB (+delta)": _mem(x["memory"])}
        for k, x in entries.items()
    }
    table = pd.DataFrame({k: pd.json_normalize(x).iloc[0] for k, x in cols.items()})
    return table.map(_fmt).to_markdown(stralign="right")


def _rows(r: dict) -> str:
    """One table row per JSON row (the scaling benchmark), then the log-log slopes."""
    cols = ["params", "method", "dim", "seconds", "floor_s", "ratio_to_floor", "peak_rss_mb"]
    table = pd.DataFrame(r["rows"], columns=cols).astype(object)
    table = table.where(table.notna(), "-").map(_fmt).to_markdown(index=False, stralign="right")
    slopes = ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in r["slopes"].items())
    return f"{table}\n\nLog-log slope of seconds vs parameters between the two largest sizes: {slopes}."


def _machine(r: dict) -> str:
    m = r["machine"]
    return (
        f"{m['cpu']}, {m['cpu_count']} cores ({m['torch_threads']} torch threads), {m['memory_gb']} GiB RAM"
        f"{', GPU ' + m['gpu'] if m.get('gpu') else ''}; torch {r['torch']}, transformers {r['transformers']}"
    )


def _provenance(r: dict) -> str:
    """How one benchmark's numbers were made: each JSON may come from another run of the suite."""
    return (
        f"Command: `{r.get('command', 'not recorded')}`; code {r.get('code') or 'not recorded'}; started "
        f"{r['started_at']}; load average (1/5/15 min) {r['loadavg_start']} -> {r['loadavg_end']} (the machine "
        "may be shared)."
    )


def summary_markdown(results: dict[str, dict]) -> str:
    """The README of a benchmark folder: one section per benchmark JSON in `results`, each with the
    command, commit and start of the run that wrote it (the machine too where it differs)."""
    first = next(iter(results.values()))
    parts = ["# Benchmarks", f"Machine: {_machine(first)}."]
    for name in (n for n in SECTIONS if n in results):
        (title, note), r = SECTIONS[name], results[name]
        table = _rows(r) if "rows" in r else _table(r)
        other = f" Machine: {_machine(r)}." if _machine(r) != _machine(first) else ""
        parts += [title.format(**r["setup"]), _provenance(r) + other, table, note.format(**r["setup"])]
    return "\n\n".join([*parts, "## Memory", first["memory_method"]]) + "\n"
