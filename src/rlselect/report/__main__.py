"""`python -m rlselect.report study=<name>`: tables from results/<study>/runs.jsonl."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlselect.cache import atomic_write_bytes
from rlselect.report.demo_table import base_vs_trained
from rlselect.report.records import load_runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlselect.report")
    parser.add_argument("assignments", nargs="*", help="study=<name> results_dir=<dir>")
    ns = parser.parse_args(argv)
    opts = {"study": "demo", "results_dir": "results"}
    for a in ns.assignments:
        key, _, value = a.partition("=")
        if key not in opts or not value:
            parser.error(f"unknown or empty option {a!r}; use study=<name> results_dir=<dir>")
        opts[key] = value
    study_dir = Path(opts["results_dir"]) / opts["study"]
    runs = load_runs(study_dir / "runs.jsonl")
    benchmarks = sorted({b for r in runs for b in r.get("metrics", {})})
    out = [f"# {opts['study']}: {len(runs)} runs\n"]
    for b in benchmarks:
        _, md = base_vs_trained(runs, b)
        out.append(md)
    text = "\n".join(out)
    print(text)
    atomic_write_bytes(study_dir / "table.md", text.encode())
    print(f"saved {study_dir / 'table.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
