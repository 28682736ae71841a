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

from rlselect.cache import atomic_write_bytes, run_record_key
from rlselect.report import figures, tables, verdicts

log = logging.getLogger(__name__)

REGIME_SHARE = {regime: share for share, (regime, *_) in tables.POOL_SHARE.items()}  # 'imbalance': 'on_target_share'


def load_runs(path: str | Path) -> list[dict]:
    """All records, the latest one winning for each (selector, schedule, budget, seed, data, variant)."""
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
        latest[run_record_key(rec)] = rec
    return list(latest.values())


def missing_runs(study_dir: Path, runs: list[dict]) -> list[dict]:
    """The study's failed runs (failures.jsonl) that no record in runs.jsonl has replaced since: the last
    failure of each run directory."""
    path, done = study_dir / "failures.jsonl", {r.get("run_dir") for r in runs}
    failed: dict[str, dict] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        with contextlib.suppress(json.JSONDecodeError):  # a line cut short by a killed job
            if isinstance(entry := json.loads(line), dict) and entry.get("run_dir") not in done:
                failed[str(entry.get("run_dir"))] = entry
    return list(failed.values())


def missing_note(failed: list[dict]) -> str:
    """A line for the tables' head: which runs failed, so that a table short of a seed says why."""
    if not failed:
        return ""
    first_lines = [(str(f.get("error") or "?").splitlines() or ["?"])[0][:100] for f in failed]
    names = ", ".join(f"{Path(str(f.get('run_dir'))).name} ({e})" for f, e in zip(failed, first_lines))
    return (
        f"\n**{len(failed)} run(s) failed and are not in these tables** (tracebacks in failures.jsonl; a rerun "
        f"that finishes, or deleting their lines there, drops this note): {names}\n"
    )


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
        built = [tables.selection_table(runs, share) for share in shares]
    built += [tables.budget_table(runs, b) for b in benches if sweep]
    built += [tables.noisy_table(runs, b, share) for share in shares for b in benches]
    if any(r.get("variant") or r["selector"] == "learnalign_hidden" for r in runs):
        built += [tables.ablation_table(runs, b) for b in benches]
    if len(benches) > 1 or (benches and not built):
        built.insert(0, tables.benchmark_table(runs))
    if failed := missing_runs(study_dir, runs):
        log.warning("%s: %d run(s) failed and are not in the tables (see %s)", name, len(failed), "failures.jsonl")
    head, testbed = f"# {name}: {len(runs)} runs\n" + missing_note(failed), study_dir.parent / "testbed"
    texts = {
        "table.md": "\n".join([head] + [tables.base_vs_trained(runs, b)[1] for b in benches]),
        "tables.md": head + "\n" + "\n".join(m for m, _ in built) + "\n" + verdicts.claims_section(runs, testbed),
        "tables.tex": f"% {name}: {len(runs)} runs; generated by `python -m rlselect.report study={name}`\n"
        + (f"% {len(failed)} run(s) failed and are not in these tables (failures.jsonl)\n" if failed else "")
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
