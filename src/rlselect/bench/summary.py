"""The Markdown summary of a benchmark run (results/bench/README.md)."""

from __future__ import annotations

from typing import Any


def _f(x: Any, nd: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _mem(m: dict | None) -> str:
    if not m:
        return "-"
    s = f"{m['peak_rss_mb']:,.0f} (+{m['rss_delta_mb']:,.0f})"
    if "gpu_peak_mb" in m:
        s += f"; GPU {m['gpu_peak_mb']:,.0f} (+{m['gpu_delta_mb']:,.0f})"
    return s


def _command(command: str) -> str:
    if command == "python -m rlselect.bench":
        return "`make bench` (`python -m rlselect.bench`)"
    return f"`{command}`"


def _machine(r: dict) -> str:
    m = r.get("machine", {})
    s = f"{m.get('cpu', '?')}, {m.get('cpu_count', '?')} cores ({m.get('torch_threads', '?')} torch threads)"
    if m.get("memory_gb"):
        s += f", {m['memory_gb']} GiB RAM"
    if m.get("gpu"):
        s += f", GPU {m['gpu']}"
    return s


def gradients_md(r: dict) -> list[str]:
    s = r["setup"]
    lines = [
        f"## 1. Gradient features ({s['model']} model, {s['params']:,} parameters, {s['dtype']}, "
        f"{s['prompts']} prompts x {s['G']} completions = {s['sequences']} sequences, "
        f"{s['tokens']:,} tokens of which {s['completion_tokens']:,} completion tokens; "
        f"{s['batch_size']} prompts per batch; best of {s['repeats']}, interleaved)",
        "",
        "| projection | batched s | loop s | floor s | speedup vs loop | ratio to floor | "
        "batched tok/s | loop tok/s | floor tok/s | peak RSS MB (+delta): batched / loop / floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    settings = [k for k in r if k.startswith("projection_")]
    for k in settings:
        x = r[k]
        mem = x["memory"]
        lines.append(
            f"| {'off (exact)' if x['dim'] is None else x['dim']} | {_f(x['batched_s'])} | {_f(x['loop_s'])} | "
            f"{_f(x['floor_s'])} | {_f(x['speedup_vs_loop'])}x | {_f(x['ratio_to_floor'])} | "
            f"{_f(x['batched_tokens_per_s'], 0)} | {_f(x['loop_tokens_per_s'], 0)} | "
            f"{_f(x['floor_tokens_per_s'], 0)} | "
            f"{_mem(mem['batched'])} / {_mem(mem['loop'])} / {_mem(mem['floor'])} |")
    lines += ["", "In process CPU seconds (all threads; steadier than wall time on a shared machine):", "",
              "| projection | batched CPU s | loop CPU s | floor CPU s | speedup vs loop | ratio to floor |",
              "|---|---:|---:|---:|---:|---:|"]
    for k in settings:
        x = r[k]
        lines.append(f"| {'off (exact)' if x['dim'] is None else x['dim']} | {_f(x['batched_cpu_s'])} | "
                     f"{_f(x['loop_cpu_s'])} | {_f(x['floor_cpu_s'])} | {_f(x['speedup_vs_loop_cpu'])}x | "
                     f"{_f(x['ratio_to_floor_cpu'])} |")
    checks = [(k, r[k]["batched_vs_loop"]) for k in settings if "batched_vs_loop" in r[k]]
    if checks:
        lines += ["", "Batched and loop features agree: " + "; ".join(
            f"{k} max relative difference {c['max_rel_diff']:.1e}" for k, c in checks) + "."]
    lines += ["", "batched = `policy_gradients`, loop = `policy_gradients_loop` (one forward + one backward "
              "per prompt), floor = one plain batched forward + backward of the summed objective over the "
              "same tokens and batches, logits only at completion positions "
              "(`bench.gradients.floor_forward_backward`). speedup vs loop = loop s / batched s; "
              "ratio to floor = batched s / floor s. The projection is the pipeline's `JLProjection` "
              "(Gamma regenerated from its seed on every use: once per batch in the batched path, once per "
              "prompt in the loop). tok/s counts prompt + completion tokens of every sequence."]
    return lines


def rollouts_md(r: dict) -> list[str]:
    s, x = r["setup"], r["rollouts"]
    return [
        f"## 2. Rollout generation ({s['model']} model, {s['backend']}, {s['prompts']} prompts x {s['G']}, "
        f"max {s['max_new_tokens']} new tokens, temperature {s['temperature']}, best of {s['repeats']})",
        "",
        "| completions | seconds | completions/s | generated tokens/s | mean completion tokens | "
        "peak RSS MB (+delta) |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {x['completions']} | {_f(x['seconds'])} | {_f(x['completions_per_s'], 1)} | {_f(x['tokens_per_s'], 0)} | "
        f"{_f(x['mean_completion_tokens'], 1)} | {_mem(x['memory'])} |",
    ]


STAGE_ORDER = ["rollouts", "warmup_grpo", "rollouts_scoring_policy", "rollouts_validation", "load_model",
               "features", "validation_gradient", "scoring", "other"]


def selection_md(r: dict) -> list[str]:
    s = r["setup"]
    feat = s["features"]
    proj = (feat.get("projection") or {}).get("dim")
    lines = [
        f"## 3. Selection overhead vs GRPO training (demo: pool {s['pool']}, G = {s['G']}, budget {s['budget']}, "
        f"validation {s['val']} x {s['val_G']}, features {'exact' if not proj else f'projected to {proj}'}, "
        f"{feat.get('batch_size')} prompts per backward)",
        "",
        "| selector | rollouts s | selection stages s | total selection s | GRPO training s | selection / training | "
        "peak RSS MB (+delta) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name in ("learnalign", "gradalign"):
        if name not in r:
            continue
        x, o = r[name], r["overhead"][name]
        lines.append(f"| {name} | {_f(r['rollouts']['seconds'])} | {_f(x['selection_s'])} | {_f(x['total_s'])} | "
                     f"{_f(o['train_s'])} | {_f(o['ratio_to_train'])} | {_mem(x['memory'])} |")
    names = {k for n in ("learnalign", "gradalign") if n in r for k in r[n]["stages_s"]}
    stages = [k for k in STAGE_ORDER if k in names] + sorted(names - set(STAGE_ORDER))
    lines += ["", "Stages: seconds, peak RSS MB (+delta):", "",
              "| stage | learnalign s | gradalign s | learnalign memory | gradalign memory |",
              "|---|---:|---:|---|---|"]
    for k in stages:
        la, ga = r.get("learnalign", {}), r.get("gradalign", {})
        lines.append(f"| {k} | {_f(la.get('stages_s', {}).get(k))} | {_f(ga.get('stages_s', {}).get(k))} | "
                     f"{_mem(la.get('stages_memory', {}).get(k))} | {_mem(ga.get('stages_memory', {}).get(k))} |")
    ro = r["rollouts"]
    lines += ["", f"Pool rollouts: {ro['completions']:,} completions in {_f(ro['seconds'])} s "
              f"({_f(ro['completions_per_s'], 1)} completions/s), peak RSS {_mem(ro['memory'])} MB."]
    if "train" in r:
        t = r["train"]
        lines.append(f"GRPO training (timed here): {t['steps']} steps on {t['prompts']} prompts in "
                     f"{_f(t['seconds'])} s, peak RSS {_mem(t['memory'])} MB.")
    if "demo_recorded_train" in r:
        d = r["demo_recorded_train"]
        lines.append(f"The demo's own recorded training time ({d['source']}, {d['runs']} runs): "
                     f"mean {_f(d['mean_s'])} s (min {_f(d['min_s'])}, max {_f(d['max_s'])}).")
    lines.append("Excluded from selection cost: " + "; ".join(s["excluded"]) + ".")
    return lines


def summary_markdown(results: dict[str, dict], command: str) -> str:
    first = next(iter(results.values()))
    loads = [(k, r.get("loadavg_start"), r.get("loadavg_end")) for k, r in results.items()]
    lines = [
        "# Benchmarks",
        "",
        f"Command: {_command(command)}. Machine: {_machine(first)}; torch {first.get('torch')}, "
        f"transformers {first.get('transformers')}; started {first.get('started_at')}.",
        "",
        "Load average (1/5/15 min) at the start and end of each benchmark (the machine may be shared): "
        + "; ".join(f"{k} {a} -> {b}" for k, a, b in loads) + ".",
        "",
    ]
    if "gradients" in results:
        lines += gradients_md(results["gradients"]) + [""]
    if "rollouts" in results:
        lines += rollouts_md(results["rollouts"]) + [""]
    if "selection" in results:
        lines += selection_md(results["selection"]) + [""]
    lines += ["## Memory", "", first.get("memory_method", ""), ""]
    return "\n".join(lines)
