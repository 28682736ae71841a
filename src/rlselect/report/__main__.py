"""`python -m rlselect.report study=<name> [results_dir=<dir>]`: a study's tables and figures.

Prints the base-vs-trained table (saved as results/<study>/table.md), then builds the paper-layout
tables (tables.md, tables.tex) and figures (*.png) beside it. `study=all` (or just `all`) does
this for every study folder under results_dir that holds a runs.jsonl.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlselect.cache import atomic_write_bytes
from rlselect.report.build import build_study
from rlselect.report.demo_table import base_vs_trained
from rlselect.report.records import load_runs
from rlselect.report.tables import benchmarks_of


def report_study(study_dir: Path) -> list[Path]:
    """Print and save the base-vs-trained table, then build the study's tables and figures."""
    runs = load_runs(study_dir / "runs.jsonl")
    out = [f"# {study_dir.name}: {len(runs)} runs\n"]
    for b in benchmarks_of(runs):
        _, md = base_vs_trained(runs, b)
        out.append(md)
    text = "\n".join(out)
    print(text)
    atomic_write_bytes(study_dir / "table.md", text.encode())
    files = [study_dir / "table.md"] + build_study(study_dir)
    for f in files:
        print(f"saved {f}", file=sys.stderr)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlselect.report")
    parser.add_argument("assignments", nargs="*", help="study=<name>|all results_dir=<dir>")
    ns = parser.parse_args(argv)
    opts = {"study": "demo", "results_dir": "results"}
    for a in ns.assignments:
        if a == "all":
            opts["study"] = "all"
            continue
        key, _, value = a.partition("=")
        if key not in opts or not value:
            parser.error(f"unknown or empty option {a!r}; use study=<name>|all results_dir=<dir>")
        opts[key] = value
    results = Path(opts["results_dir"])
    if opts["study"] == "all":
        dirs = sorted(p.parent for p in results.glob("*/runs.jsonl"))
        if not dirs:
            parser.error(f"no study with a runs.jsonl under {results}/")
    else:
        dirs = [results / opts["study"]]
    for d in dirs:
        report_study(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
