"""The Markdown summary of a benchmark run (results/bench/README.md)."""

from __future__ import annotations

from typing import Any


def _f(x: Any, nd: int = 2) -> str:
    return f"{x:,.{nd}f}" if isinstance(x, float) else f"{x:,}" if isinstance(x, int) else str(x)


def _mem(m: dict) -> str:
    s = f"{m['peak_rss_mb']:,.0f} (+{m['rss_delta_mb']:,.0f})"
    return s + (f"; GPU {m['gpu_peak_mb']:,.0f} (+{m['gpu_delta_mb']:,.0f})" if "gpu_peak_mb" in m else "")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|---" + "|---:" * (len(head) - 1) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def gradients_md(r: dict) -> list[str]:
    s, paths = r["setup"], ("batched", "loop", "floor")
    rows = {k: v for k, v in r.items() if k.startswith("projection_")}
    checks = [
        f"{k} max relative difference {x['batched_vs_loop']['max_rel_diff']:.1e}"
        for k, x in rows.items()
        if "batched_vs_loop" in x
    ]
    return [
        f"## 1. Gradient features ({s['model']} model, {s['params']:,} parameters, {s['dtype']}, {s['prompts']} "
        f"prompts x {s['G']} completions = {s['sequences']} sequences, {s['tokens']:,} tokens of which "
        f"{s['completion_tokens']:,} completion tokens; {s['batch_size']} prompts per batch; median of "
        f"blocked_autorange, >= {s['min_run_time']} s per path after one warm-up call)",
        "",
        *_table(
            [
                "projection",
                "batched s",
                "loop s",
                "floor s",
                "speedup vs loop",
                "ratio to floor",
                *(f"{p} tok/s" for p in paths),
                "CPU s: batched / loop / floor (speedup, ratio)",
                "peak RSS MB (+delta): batched / loop / floor",
            ],
            [
                [
                    "off (exact)" if x["dim"] is None else str(x["dim"]),
                    *(_f(x[f"{p}_s"]) for p in paths),
                    f"{_f(x['speedup_vs_loop'])}x",
                    _f(x["ratio_to_floor"]),
                    *(_f(x[f"{p}_tokens_per_s"], 0) for p in paths),
                    " / ".join(_f(x[f"{p}_cpu_s"]) for p in paths)
                    + f" ({_f(x['speedup_vs_loop_cpu'])}x, {_f(x['ratio_to_floor_cpu'])})",
                    " / ".join(_mem(x["memory"][p]) for p in paths),
                ]
                for x in rows.values()
            ],
        ),
        "",
        *(["Batched and loop features agree: " + "; ".join(checks) + ".", ""] if checks else []),
        "batched = `policy_gradients`, loop = `policy_gradients_loop` (one forward + one backward per prompt), "
        "floor = one plain batched forward + backward of the summed objective over the same tokens and batches "
        "(`bench.core.floor_forward_backward`). speedup vs loop = loop s / batched s; ratio to floor = batched s "
        "/ floor s; CPU s = process CPU seconds, all threads (steadier than wall time on a shared machine). "
        "tok/s counts prompt + completion tokens of every sequence.",
    ]


def rollouts_md(r: dict) -> list[str]:
    s, x = r["setup"], r["rollouts"]
    return [
        f"## 2. Rollout generation ({s['model']} model, {s['backend']}, {s['prompts']} prompts x {s['G']}, "
        f"max {s['max_new_tokens']} new tokens, temperature {s['temperature']}, median of blocked_autorange)",
        "",
        *_table(
            [
                "completions",
                "seconds",
                "completions/s",
                "generated tokens/s",
                "mean completion tokens",
                "peak RSS MB (+delta)",
            ],
            [
                [
                    _f(x["completions"]),
                    _f(x["seconds"]),
                    _f(x["completions_per_s"], 1),
                    _f(x["tokens_per_s"], 0),
                    _f(x["mean_completion_tokens"], 1),
                    _mem(x["memory"]),
                ]
            ],
        ),
    ]


def selection_md(r: dict) -> list[str]:
    s = r["setup"]
    runs = {k: v for k, v in r.items() if isinstance(v, dict) and "ratio_to_train" in v}
    return [
        f"## 3. Selection overhead vs GRPO training (demo: pool {s['pool']}, G = {s['G']}, budget {s['budget']}, "
        f"validation {s['val']} x {s['val_G']}, features {s['projection'] or 'exact'}; each run's own "
        "`cost.seconds`)",
        "",
        *_table(
            [
                "selector",
                "pool rollouts s",
                "selection s",
                "total s",
                "GRPO training s",
                "total / training",
                "completions generated",
                "train steps",
                "peak RSS MB (+delta), whole run",
            ],
            [
                [
                    k,
                    *(
                        _f(x[c])
                        for c in (
                            "rollouts_s",
                            "selection_s",
                            "total_s",
                            "train_s",
                            "ratio_to_train",
                            "rollouts_generated",
                            "train_steps",
                        )
                    ),
                    _mem(x["memory"]),
                ]
                for k, x in runs.items()
            ],
        ),
        "",
        "Excluded from selection cost: " + "; ".join(s["excluded"]) + ".",
    ]


def summary_markdown(results: dict[str, dict], command: str) -> str:
    first = next(iter(results.values()))
    m = first["machine"]
    cmd = "`make bench` (`python -m rlselect.bench`)" if command == "python -m rlselect.bench" else f"`{command}`"
    lines = [
        "# Benchmarks",
        "",
        f"Command: {cmd}. Machine: {m['cpu']}, {m['cpu_count']} cores ({m['torch_threads']} torch threads), "
        f"{m['memory_gb']} GiB RAM{', GPU ' + m['gpu'] if m.get('gpu') else ''}; torch {first['torch']}, "
        f"transformers {first['transformers']}; started {first['started_at']}.",
        "",
        "Load average (1/5/15 min) at the start and end of each benchmark (the machine may be shared): "
        + "; ".join(f"{k} {r['loadavg_start']} -> {r['loadavg_end']}" for k, r in results.items())
        + ".",
        "",
    ]
    for name, md in (("gradients", gradients_md), ("rollouts", rollouts_md), ("selection", selection_md)):
        if name in results:
            lines += md(results[name]) + [""]
    return "\n".join(lines + ["## Memory", "", first["memory_method"], ""])
