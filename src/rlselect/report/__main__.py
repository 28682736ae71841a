"""`python -m rlselect.report study=<name> [results_dir=<dir>]`: a study's tables and figures.

Builds the base-vs-trained table (results/<study>/table.md, also printed), the paper-layout tables
(tables.md, tables.tex; tables.md ends with the verdicts on the papers' claims, also printed) and figures
(*.png) beside it. `study=all` (or just `all`) does this for every study folder under results_dir that
holds a runs.jsonl. Only the runs' records are read (never W&B).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlselect.report.build import build_study


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rlselect.report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("assignments", nargs="*", help="study=<name>|all results_dir=<dir>")
    opts = {"study": "demo", "results_dir": "results"}
    for a in parser.parse_args(argv).assignments:
        key, _, value = ("study=all" if a == "all" else a).partition("=")
        if key not in opts or not value:
            parser.error(f"unknown or empty option {a!r}; use study=<name>|all results_dir=<dir>")
        opts[key] = value
    results = Path(opts["results_dir"])
    studies = sorted(p.parent for p in results.glob("*/runs.jsonl"))
    dirs = studies if opts["study"] == "all" else [results / opts["study"]]
    if not studies or not all(d in studies for d in dirs):
        names = ", ".join(d.name for d in studies) or "none"
        missing = f"{dirs[0]}/runs.jsonl" if dirs else f"a runs.jsonl under {results}/"
        parser.error(f"no run records in {missing}; studies with records under {results}/: {names}")
    refused = 0
    for d in dirs:
        try:
            files = build_study(d)
        except ValueError as exc:  # a damaged runs.jsonl names its line; the other studies are still built
            print(f"error: {exc}", file=sys.stderr)
            refused += 1
            continue
        print(files[0].read_text())  # the base-vs-trained table
        claims = files[1].read_text()  # tables.md, whose last section holds the claims' verdicts
        print(claims[claims.rfind("## Claims") :])
        print("\n".join(f"saved {f}" for f in files), file=sys.stderr)
    return 2 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
