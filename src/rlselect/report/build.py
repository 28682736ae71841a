"""Build a study's tables (table.md, tables.md, tables.tex) and figures (*.png) from its runs.jsonl only.

What applies is read off the records: a budget table and accuracy-vs-budget figure when there is more than one
budget, a benchmark table when there is more than one benchmark (or nothing else to show), an ablation table when
variants (or learnalign_hidden) exist, a share table and figures (per round, static bars) for the noisy_reward,
imbalance and low_utility regimes, reward curves when the runs' train summaries hold rewards. tables.md ends with
a "Claims" section: the papers' claims that the runs test, each with its verdict computed from the records
(`verdicts`), against the premise diagnostics in <results_dir>/testbed/<data>.json.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

from rlselect.cache import RUN_RECORD_KEY, atomic_write_bytes, read_jsonl_objects, record_size, run_record_key
from rlselect.report import figures, tables, verdicts

log = logging.getLogger(__name__)

REGIME_SHARE = {regime: share for share, (regime, *_) in tables.POOL_SHARE.items()}  # 'imbalance': 'on_target_share'


def run_name(rec: dict) -> str:
    """Which run a record or failure is of: its run directory's name, not the whole path, so that the same run
    recorded in another clone or folder (a fresh clone's `make demo` appends to the committed records, whose
    paths name the committer's machine) is the same run."""
    return Path(str(rec.get("run_dir") or "")).name


def load_runs(path: str | Path) -> list[dict]:
    """All records, the latest one winning for each (selector, schedule, budget, seed, data, variant); a rounds
    record's budget is read as what each round keeps (`cache.record_size`)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no run records yet (run the study first)")
    latest: dict[tuple, dict] = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}, line {n}: invalid JSON ({exc.msg})") from exc
        if not isinstance(rec, dict):
            raise ValueError(f"{path}, line {n}: a run record is a JSON object, not {type(rec).__name__}")
        key = run_record_key(rec)
        # A run recorded again simply replaces; two runs with one key are worth a warning.
        names = [run_name(r) for r in (latest.get(key, rec), rec)]
        if names[0] != names[1]:
            log.warning(
                "%s and %s are one setting run twice (%s): the tables count the later one",
                *names,
                "the rounds schedule does not read budget"
                if rec.get("schedule") == "rounds"
                else "same " + ", ".join(RUN_RECORD_KEY),
            )
        latest[key] = {**rec, "budget": record_size(rec)}
    return list(latest.values())


def missing_runs(study_dir: Path, runs: list[dict]) -> list[dict]:
    """The study's failed runs (failures.jsonl) that no record in runs.jsonl has replaced since: the last
    failure of each run directory."""
    done = {run_name(r) for r in runs}
    failed = {run_name(f): f for f in read_jsonl_objects(study_dir / "failures.jsonl")}
    return [f for name, f in failed.items() if name not in done]


def missing_note(failed: list[dict]) -> str:
    """A line for the tables' head: which runs failed, so that a table short of a seed says why."""
    if not failed:
        return ""
    first_lines = [(str(f.get("error") or "?").splitlines() or ["?"])[0][:100] for f in failed]
    names = ", ".join(f"{run_name(f)} ({e})" for f, e in zip(failed, first_lines))
    return (
        f"\n**{len(failed)} run(s) failed and are not in these tables** (tracebacks in failures.jsonl; a rerun "
        f"that finishes, or deleting their lines there, drops this note): {names}\n"
    )


def mixed_settings(runs: list[dict]) -> list[str]:
    """A line per table row (a method's runs over seeds) whose runs were made with different settings, read
    from their run directories' run_config.json where present: a seed run later, after a preset's learning
    rate changed, lands in the same row, and its mean then mixes two configurations. Keys that follow the
    seed (data.regime_seed: ${seed}) and the evaluation (its own MIXED check) are left out."""
    from rlselect.run_config import FILE, flatten

    rows: dict[tuple, list[tuple[dict, dict]]] = {}
    for r in runs:
        if r.get("run_dir") and (path := Path(str(r["run_dir"])) / FILE).is_file():
            with contextlib.suppress(OSError, ValueError):  # a damaged file: nothing to compare
                key = tuple(json.dumps(r.get(k), sort_keys=True) for k in RUN_RECORD_KEY if k != "seed")
                rows.setdefault(key, []).append((r, flatten(json.loads(path.read_text()))))
    lines = []
    for members in rows.values():
        found = {}
        for k in sorted(set().union(*(flat for _, flat in members))):
            values = [flat.get(k, "(unset)") for _, flat in members]
            if k.startswith(("eval.", "budget.")) or all(v == r.get("seed") for v, (r, _) in zip(values, members)):
                continue
            if len(distinct := {json.dumps(v, sort_keys=True, default=str): v for v in values}) > 1:
                found[k.rstrip(".")] = " vs ".join(map(str, distinct.values()))
        if found:
            r = members[0][0]
            shown = "; ".join(f"{k}: {v}" for k, v in list(found.items())[:3]) + ("; ..." if len(found) > 3 else "")
            name = f"{r['selector']}-{r['schedule']}-b{r['budget']}" + (
                f" ({r['variant']})" if r.get("variant") else ""
            )
            lines.append(f"{name}: its {len(members)} runs differ in {shown}")
    return lines


def fallback_rounds(runs: list[dict]) -> list[str]:
    """A line per rounds run whose rounds fell back to a random part of their chunk (no validation signal
    at that round's policy, train/schedule.py): such a run is partly random selection, not its selector's."""
    lines = []
    for r in runs:
        rounds = (r.get("selection") or {}).get("rounds") or []
        if fell := [x.get("round", i) for i, x in enumerate(rounds) if x.get("diag_fallback")]:
            name = Path(str(r.get("run_dir") or r["selector"])).name
            lines.append(
                f"{name}: {len(fell)} of {len(rounds)} rounds kept a random part of their chunk (rounds {fell})"
            )
    return lines


def build_study(study_dir: str | Path) -> list[Path]:
    """Write the base-vs-trained table.md, tables.md, tables.tex and the figures that apply into `study_dir`."""
    study_dir = Path(study_dir)
    runs = load_runs(study_dir / "runs.jsonl")
    name, benches, sweep = study_dir.name, tables.benchmarks_of(runs), len(tables.budgets_of(runs)) > 1
    for b in benches:  # the captions say MIXED too; the console hears it once
        if (how := tables.protocol(runs, b)).startswith("MIXED"):
            log.warning("%s: %s was evaluated in different ways across the runs (%s)", name, b, how)
    built: list[tuple[str, str]] = []
    shares = sorted({REGIME_SHARE[r["regime"]] for r in runs if r.get("regime") in REGIME_SHARE})
    if not benches:  # a selection study (selection_only runs): what was selected, nothing trained
        built = [tables.selection_table(runs, share) for share in shares] or [tables.selection_table(runs, None)]
    built += [tables.budget_table(runs, b) for b in benches if sweep]
    built += [tables.noisy_table(runs, b, share) for share in shares for b in benches]
    if any(r.get("variant") or r["selector"] == "learnalign_hidden" for r in runs):
        built += [tables.ablation_table(runs, b) for b in benches]
    if len(benches) > 1 or (benches and not built):
        built.insert(0, tables.benchmark_table(runs))
    if failed := missing_runs(study_dir, runs):
        log.warning("%s: %d run(s) failed and are not in the tables (see %s)", name, len(failed), "failures.jsonl")
    head, testbed = f"# {name}: {len(runs)} runs\n" + missing_note(failed), study_dir.parent / "testbed"
    notes = [  # (heading, tag in the warning and tables.tex, lines): what a row's numbers do not say
        (
            "**Rows whose runs were made with different settings** (run_config.json)",
            "different settings in one row",
            mixed_settings(runs),
        ),
        (
            "**Rounds that selected at random** (no validation signal at that policy)",
            "random rounds",
            fallback_rounds(runs),
        ),
    ]
    for heading, tag, lines in notes:
        if lines:
            log.warning("%s: %s: %s", name, tag, " | ".join(lines))
            head += f"\n{heading}:\n\n" + "".join(f"- {line}\n" for line in lines)
    texts = {
        # the study's main table: base vs trained, or for a selection study what each selector picked
        "table.md": "\n".join(
            [head] + ([tables.base_vs_trained(runs, b)[1] for b in benches] or [m for m, _ in built])
        ),
        "tables.md": head + "\n" + "\n".join(m for m, _ in built) + "\n" + verdicts.claims_section(runs, testbed),
        "tables.tex": f"% {name}: {len(runs)} runs; generated by `python -m rlselect.report study={name}`\n"
        + (f"% {len(failed)} run(s) failed and are not in these tables (failures.jsonl)\n" if failed else "")
        + "".join(f"% {tag}: {line}\n" for _, tag, lines in notes for line in lines)
        + "% needs \\usepackage{booktabs}\n\n"
        + "\n".join(t for _, t in built),
    }
    files = [study_dir / f for f in texts]
    for f, text in zip(files, texts.values()):
        atomic_write_bytes(f, text.encode())
    files += [figures.accuracy_vs_budget(runs, b, study_dir / f"accuracy_vs_budget_{b}.png") for b in benches if sweep]
    if any(figures.reward_history(r) for r in runs):
        files.append(figures.reward_curves(runs, study_dir / "reward_curves.png"))
    plain = [(r, r.get("selection", {})) for r in tables.plain_runs(runs)]
    for share in shares:
        if any(rd.get(share) is not None for _, s in plain for rd in s.get("rounds") or []):
            files.append(figures.corrupted_share_per_round(runs, study_dir / f"{share}_per_round.png", share))
        if any(s.get(share) is not None and r["schedule"] == "static" for r, s in plain):
            files.append(figures.corrupted_share_bars(runs, study_dir / f"{share}_bars.png", share))
    return files
