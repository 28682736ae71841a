"""python -m rlselect.bench [--quick] [--out results/bench] [--only gradients,rollouts,selection]
                          [--device cuda --model-size 0.5b] [--dims off,1024] [--prompts N]
                          [--repeats N] [--threads N]"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time

from rlselect.bench import BENCHMARKS, parse_dims, run_all
from rlselect.bench.models import MODEL_SIZES


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rlselect.bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, seconds (tests, smoke checks)")
    ap.add_argument("--out", default="results/bench", help="where the JSON files and README.md go")
    ap.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset of " + ",".join(BENCHMARKS))
    ap.add_argument("--device", default="cpu", help="cpu | cuda (cuda: gradients and rollouts only)")
    ap.add_argument("--model-size", default="tiny", choices=MODEL_SIZES,
                    help="tiny (embedded model) | 0.5b (random Qwen2 of Qwen2.5-0.5B's shape, bf16 on cuda)")
    ap.add_argument("--repeats", type=int, default=None, help="best of N (default 3; 2 with --quick)")
    ap.add_argument("--dims", default=None, help="projection settings, e.g. off,1024 (default: off,1024; "
                                                 "off for 0.5b)")
    ap.add_argument("--prompts", type=int, default=None, help="prompts in the gradient and rollout benchmarks")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: torch's, all cores); 1 is steadier on a shared machine")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            ap.error("--device cuda but no CUDA device is available")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if args.threads is None and load > 0.5 * cores:
        logging.warning("load average %.1f on %d cores: wall times will be disturbed; --threads 1 is steadier "
                        "on a shared machine (the load is recorded in the results)", load, cores)
    given = sys.argv[1:] if argv is None else argv
    command = f"python -m rlselect.bench {shlex.join(given)}".strip()
    t0 = time.time()
    results = run_all(args.out, quick=args.quick, device=args.device, model_size=args.model_size,
                      only=[s for s in args.only.split(",") if s], repeats=args.repeats, threads=args.threads,
                      dims=parse_dims(args.dims) if args.dims else None, prompts=args.prompts,
                      command=command)
    print(open(f"{args.out}/README.md").read() if results else "nothing run")
    print(f"benchmarks done in {time.time() - t0:.0f} s -> {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
