"""`make bench` (`python -m rlselect.bench [--quick]`): what selection costs, measured.

gradients.py: per-prompt gradient features, batched vs per-prompt loop vs the floor of one plain
forward+backward, with and without projection; rollouts.py: generation throughput; selection.py:
selection overhead vs GRPO training per selector, from the pipeline's own cost record; each with
its peak memory (core.py: timer, memory, machine, models, floor). Writes `<out>/<name>.json` and
the summary `<out>/README.md`; `--quick` shrinks everything to seconds (tests).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlselect.cache import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

BENCHMARKS = ("gradients", "rollouts", "selection")

# name -> settings; min_run_time: seconds of timed calls per path after one warm-up (0: one call).
SIZES: dict[str, dict[str, Any]] = {
    "full": dict(prompts=32, G=8, max_new_tokens=32, min_run_time=5.0, dims=(None, 1024)),
    "quick": dict(prompts=4, G=2, max_new_tokens=8, min_run_time=0.0, dims=(None, 1024)),
    # The JL projection regenerates Gamma (P x d entries) on the CPU at every use: at P = 494M that
    # is 5e11 entries a call, so the 0.5B path measures exact features unless --dims asks for more.
    "0.5b": dict(prompts=16, G=8, max_new_tokens=64, min_run_time=5.0, dims=(None,)),
}


def run_all(
    out_dir: str | Path = "results/bench",
    *,
    quick: bool = False,
    device: str = "cpu",
    model_size: str = "tiny",
    only: Sequence[str] = BENCHMARKS,
    min_run_time: float | None = None,
    source_cache: str | Path | None = None,
    threads: int | None = None,
    dims: Sequence[int | None] | None = None,
    prompts: int | None = None,
    command: str = "make bench",
) -> dict[str, dict]:
    """Run the benchmarks in `only`, write `<out_dir>/<name>.json` and `<out_dir>/README.md`.
    threads: torch intra-op threads for the run (restored after; default: torch's, all cores)."""
    import torch

    from rlselect.bench import core
    from rlselect.bench.summary import summary_markdown

    unknown = set(only) - set(BENCHMARKS)
    if unknown:
        raise ValueError(f"unknown benchmark(s) {sorted(unknown)}; available: {', '.join(BENCHMARKS)}")
    out_dir = Path(out_dir)
    size = dict(SIZES["quick" if quick else ("0.5b" if model_size == "0.5b" else "full")])
    size.update(
        {
            k: v
            for k, v in dict(dims=dims and tuple(dims), prompts=prompts, min_run_time=min_run_time).items()
            if v is not None
        }
    )
    results: dict[str, dict] = {}

    def record(name: str, bench: Callable[[], dict]) -> None:
        log.info("benchmark: %s", name)
        head = core.header(device)
        results[name] = {**head, **bench(), **core.footer()}
        atomic_write_json(out_dir / f"{name}.json", results[name])

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads or before))
    try:
        if {"gradients", "rollouts"} & set(only):
            from rlselect.bench.gradients import bench_gradients
            from rlselect.bench.rollouts import bench_rollouts

            model, tok, desc = core.bench_model(model_size, device, quick=quick)
            kw = dict(
                n_prompts=size["prompts"],
                G=size["G"],
                max_new_tokens=size["max_new_tokens"],
                min_run_time=size["min_run_time"],
                device=device,
                model_desc=desc,
            )
            if "gradients" in only:
                record(
                    "gradients",
                    lambda: bench_gradients(model, tok, dims=size["dims"], check=model_size == "tiny", **kw),
                )
            if "rollouts" in only:
                record("rollouts", lambda: bench_rollouts(model, tok, **kw))
            del model
        if "selection" in only and (model_size, device) != ("tiny", "cpu"):
            log.warning(
                "benchmark 'selection' runs the CPU demo (tiny model) only: skipped for %s on %s", model_size, device
            )
        elif "selection" in only:
            from rlselect.bench.selection import bench_selection

            cache = source_cache or os.environ.get("RLSELECT_CACHE", ".cache/rlselect")
            record("selection", lambda: bench_selection(quick=quick, source_cache=cache))
    finally:
        torch.set_num_threads(before)
    if results:
        atomic_write_bytes(out_dir / "README.md", summary_markdown(results, command).encode())
    return results
