"""`python -m rlselect.bench [--quick] [--out DIR] [--only ...] [--device cuda --model-size 0.5b] [--threads N] [-v]`.

Quiet by default (a line per benchmark, then the summary); -v for every library's logs and bars."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from rlselect.bench import BENCHMARKS, MODEL_SIZES, default_out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rlselect.bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, seconds (tests, smoke checks)")
    ap.add_argument(
        "--out",
        help="where the JSON files and README.md go (default: results/bench; runs/bench-quick with --quick; "
        "results/bench/<device>-<model-size> for another device or size)",
    )
    ap.add_argument("--only", default=BENCHMARKS, type=lambda t: t.split(","), help="subset of " + ",".join(BENCHMARKS))
    ap.add_argument("--device", default="cpu", help="cpu | cuda (cuda: gradients, rollouts, scaling)")
    ap.add_argument("--model-size", default="tiny", choices=MODEL_SIZES, help="0.5b: random Qwen2.5-0.5B shape")
    ap.add_argument("--threads", type=int, help="torch threads (default: all cores); 1 is steadier on a shared machine")
    ap.add_argument("-v", "--verbose", action="store_true", help="every library's own logs and progress bars")
    a = ap.parse_args(argv)
    if unknown := sorted(set(a.only) - set(BENCHMARKS)):  # argparse's own error line, before anything loads
        ap.error(f"--only: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(BENCHMARKS)}")
    if a.threads is not None and a.threads < 1:
        ap.error(f"--threads {a.threads}: choose 1 or more")
    if a.device != "cpu" and not a.device.startswith("cuda"):
        ap.error(f"--device {a.device}: choose cpu, cuda or cuda:<index>")
    if a.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            ap.error(f"--device {a.device}: this machine has no CUDA device (torch.cuda.is_available() is False)")
    from rlselect import console

    console.setup_entry_point(verbose=a.verbose)  # quiet unless -v, before the libraries load
    from rlselect.bench.suite import SIZES, run_all  # torch, transformers, lm-eval: after configure

    s = replace(SIZES["quick" if a.quick else a.model_size], model=a.model_size, device=a.device)
    out = a.out or default_out(a.quick, a.device, a.model_size)
    t0, command = time.time(), shlex.join(["python", "-m", "rlselect.bench", *(sys.argv[1:] if argv is None else argv)])
    results = run_all(out, s, a.only, a.threads, command=command)
    print(Path(out, "README.md").read_text() if results else "nothing run")
    print(f"benchmarks done in {time.time() - t0:.0f} s -> {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
