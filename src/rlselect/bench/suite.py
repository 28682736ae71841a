"""The benchmark suite: which benchmarks there are, their sizes, and `run_all`, which runs them."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch

from rlselect.bench import BENCHMARKS, core
from rlselect.bench.core import Setup
from rlselect.bench.gradients import bench_gradients
from rlselect.bench.rollouts import bench_rollouts
from rlselect.bench.scaling import bench_scaling
from rlselect.bench.selection import bench_selection
from rlselect.bench.summary import summary_markdown
from rlselect.cache import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

SIZES = {
    "tiny": Setup(),
    "quick": Setup(prompts=4, G=2, max_new_tokens=8, min_run_time=0.0, quick=True),
    # The JL projection regenerates Gamma (P x d entries) on the CPU at every use: at P = 494M that
    # is 5e11 entries a call, so the 0.5B path measures exact features only.
    "0.5b": Setup(prompts=16, max_new_tokens=64, dims=(None,), model="0.5b"),
}


def run_all(out_dir, s: Setup = SIZES["tiny"], only=BENCHMARKS, threads=None, source_cache=None, command="make bench"):
    """Run the benchmarks in `only`, write `<out_dir>/<name>.json`, then `<out_dir>/README.md` from every
    benchmark's JSON in out_dir (this run's and earlier ones', each section with its own command);
    threads: torch intra-op threads for the run (restored after; default: torch's, all cores)."""
    if unknown := set(only) - set(BENCHMARKS):
        raise ValueError(f"unknown benchmark(s) {sorted(unknown)}; available: {', '.join(BENCHMARKS)}")
    results: dict[str, dict] = {}

    def record(name: str, bench, *args) -> None:
        log.info("benchmark: %s", name)
        results[name] = {"command": command, **core.machine(s.device), **bench(*args), **core.footer()}
        atomic_write_json(Path(out_dir) / f"{name}.json", results[name])

    before, cache = torch.get_num_threads(), source_cache or os.environ.get("RLSELECT_CACHE", ".cache/rlselect")
    torch.set_num_threads(threads or before)
    try:
        if {"gradients", "rollouts"} & set(only):
            model, tok, desc = core.bench_model(s)
            for name, bench in (("gradients", bench_gradients), ("rollouts", bench_rollouts)):
                if name in only:
                    record(name, bench, model, tok, desc, s)
            del model
        if "selection" in only and (s.model, s.device) != ("tiny", "cpu"):
            log.warning("'selection' runs the tiny CPU demo only: skipped for %s on %s", s.model, s.device)
        elif "selection" in only:
            record("selection", bench_selection, s.quick, cache)
        if "scaling" in only:
            record("scaling", bench_scaling, s, out_dir)
    finally:
        torch.set_num_threads(before)
    if results:
        saved = {n: json.loads(p.read_text()) for n in BENCHMARKS if (p := Path(out_dir) / f"{n}.json").exists()}
        atomic_write_bytes(Path(out_dir) / "README.md", summary_markdown(saved).encode())
    return results
