"""`make bench` (`python -m rlselect.bench [--quick]`): what selection costs, measured.

  gradients   per-prompt gradient features: batched path vs per-prompt loop vs the floor of one
              plain batched forward+backward, projection off and to 1024 dims  (gradients.py)
  rollouts    generation throughput, completions/s and tokens/s                (rollouts.py)
  selection   rollouts + features + scoring of learnalign and one gradalign round on the demo
              pool, against the demo's GRPO training                            (selection.py)

each with its peak memory; every benchmark writes `<out>/<name>.json` and `run_all` writes the
Markdown summary `<out>/README.md`. `--quick` shrinks everything to seconds (tests).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from rlselect.cache import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

BENCHMARKS = ("gradients", "rollouts", "selection")

# name -> settings; "quick" is for tests and smoke checks, "0.5b" for a GPU.
SIZES: dict[str, dict[str, Any]] = {
    "full": dict(prompts=32, G=8, max_new_tokens=32, repeats=3, dims=(None, 1024)),
    "quick": dict(prompts=4, G=2, max_new_tokens=8, repeats=2, dims=(None, 1024)),
    # The JL projection regenerates Gamma (P x d entries) on the CPU at every use: at P = 494M that
    # is 5e11 entries a call, so the 0.5B path measures exact features unless --dims asks for more.
    "0.5b": dict(prompts=16, G=8, max_new_tokens=64, repeats=3, dims=(None,)),
}


def parse_dims(text: str) -> tuple[int | None, ...]:
    """'off,1024' -> (None, 1024)."""
    return tuple(None if d.strip().lower() in ("off", "none", "0") else int(d) for d in text.split(",") if d.strip())


def run_all(out_dir: str | Path = "results/bench", *, quick: bool = False, device: str = "cpu",
            model_size: str = "tiny", only: Sequence[str] = BENCHMARKS, repeats: int | None = None,
            source_cache: str | Path | None = None, selection_overrides: list[str] | None = None,
            selector_overrides: dict[str, list[str]] | None = None,
            demo_runs: str | Path | None = "results/demo/runs.jsonl", threads: int | None = None,
            dims: Sequence[int | None] | None = None, prompts: int | None = None,
            command: str = "make bench") -> dict[str, dict]:
    """Run the benchmarks in `only`, write `<out_dir>/<name>.json` and `<out_dir>/README.md`.
    threads: torch intra-op threads for the run (restored after; default: torch's, all cores)."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        return _run_all(out_dir, quick=quick, device=device, model_size=model_size, only=only, repeats=repeats,
                        source_cache=source_cache, selection_overrides=selection_overrides,
                        selector_overrides=selector_overrides, demo_runs=demo_runs, dims=dims, prompts=prompts,
                        command=command)
    finally:
        torch.set_num_threads(before)


def _run_all(out_dir, *, quick, device, model_size, only, repeats, source_cache, selection_overrides,
             selector_overrides, demo_runs, dims, prompts, command) -> dict[str, dict]:
    import os

    from rlselect.bench.summary import summary_markdown

    unknown = set(only) - set(BENCHMARKS)
    if unknown:
        raise ValueError(f"unknown benchmark(s) {sorted(unknown)}; available: {', '.join(BENCHMARKS)}")
    out_dir = Path(out_dir)
    size = dict(SIZES["quick" if quick else ("0.5b" if model_size == "0.5b" else "full")])
    if dims is not None:
        size["dims"] = tuple(dims)
    if prompts is not None:
        size["prompts"] = int(prompts)
    reps = int(repeats or size["repeats"])
    results: dict[str, dict] = {}

    if {"gradients", "rollouts"} & set(only):
        from rlselect.bench.models import bench_model

        model, tok, desc = bench_model(model_size, device, quick=quick)
        if "gradients" in only:
            from rlselect.bench.gradients import bench_gradients

            log.info("benchmark: gradient features")
            results["gradients"] = bench_gradients(
                model, tok, n_prompts=size["prompts"], G=size["G"], max_new_tokens=size["max_new_tokens"],
                dims=size["dims"], repeats=reps, device=device, check=model_size == "tiny", model_desc=desc)
            atomic_write_json(out_dir / "gradients.json", results["gradients"])
        if "rollouts" in only:
            from rlselect.bench.rollouts import bench_rollouts

            log.info("benchmark: rollout generation")
            results["rollouts"] = bench_rollouts(
                model, tok, n_prompts=size["prompts"], G=size["G"], max_new_tokens=size["max_new_tokens"],
                repeats=reps, device=device, model_desc=desc)
            atomic_write_json(out_dir / "rollouts.json", results["rollouts"])
        del model

    if "selection" in only:
        if model_size != "tiny" or device != "cpu":
            log.warning("benchmark 'selection' runs the CPU demo (tiny model) only: skipped for %s on %s",
                        model_size, device)
        else:
            from rlselect.bench.selection import QUICK, QUICK_SELECTOR, bench_selection

            log.info("benchmark: selection overhead on the demo pool")
            results["selection"] = bench_selection(
                overrides=selection_overrides if selection_overrides is not None else (QUICK if quick else []),
                selector_overrides=selector_overrides if selector_overrides is not None
                else (QUICK_SELECTOR if quick else {}),
                source_cache=source_cache or os.environ.get("RLSELECT_CACHE", ".cache/rlselect"),
                demo_runs=demo_runs)
            atomic_write_json(out_dir / "selection.json", results["selection"])

    if results:
        atomic_write_bytes(out_dir / "README.md", summary_markdown(results, command).encode())
    return results
