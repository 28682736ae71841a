"""`python -m rlselect.bench [--quick] [--out DIR] [--only ...] [--device cuda --model-size 0.5b]`."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from pathlib import Path

from rlselect.bench import BENCHMARKS, run_all
from rlselect.bench.core import MODEL_SIZES


def parse_dims(text: str) -> tuple[int | None, ...]:
    """'off,1024' -> (None, 1024)."""
    return tuple(None if d.strip().lower() in ("off", "none", "0") else int(d) for d in text.split(",") if d.strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rlselect.bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, seconds (tests, smoke checks)")
    ap.add_argument("--out", default="results/bench", help="where the JSON files and README.md go")
    ap.add_argument(
        "--only",
        default=BENCHMARKS,
        type=lambda t: [s for s in t.split(",") if s],
        help="comma-separated subset of " + ",".join(BENCHMARKS),
    )
    ap.add_argument("--device", default="cpu", help="cpu | cuda (cuda: gradients and rollouts only)")
    ap.add_argument(
        "--model-size",
        default="tiny",
        choices=MODEL_SIZES,
        help="tiny (embedded model) | 0.5b (random Qwen2 of Qwen2.5-0.5B's shape, bf16 on cuda)",
    )
    ap.add_argument(
        "--min-run-time",
        type=float,
        default=None,
        help="seconds of timed calls per path after one warm-up (default 5; 0 with --quick: one call)",
    )
    ap.add_argument(
        "--dims",
        default=None,
        type=parse_dims,
        help="projection settings, e.g. off,1024 (default: off,1024; off for 0.5b)",
    )
    ap.add_argument("--prompts", type=int, default=None, help="prompts in the gradient and rollout benchmarks")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's, all cores); 1 is steadier on a shared machine",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = f"python -m rlselect.bench {shlex.join(sys.argv[1:] if argv is None else argv)}".strip()
    t0 = time.time()
    results = run_all(args.out, command=command, **{k: v for k, v in vars(args).items() if k != "out"})
    print(Path(args.out, "README.md").read_text() if results else "nothing run")
    print(f"benchmarks done in {time.time() - t0:.0f} s -> {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
