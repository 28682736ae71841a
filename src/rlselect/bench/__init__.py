"""`make bench` (`python -m rlselect.bench [--quick]`): what selection costs, measured.

One module per benchmark in BENCHMARKS (gradient features, rollout generation, selection overhead vs GRPO training,
scaling with model size), each with its peak memory; core.py: timer, memory, machine, models, floor. Writes
`<out>/<name>.json` and the summary `<out>/README.md` of every JSON there, so `--only X` replaces X's
section and keeps the others; `--quick` shrinks everything to seconds (tests, smoke checks).

The suite (SIZES, run_all) is in suite.py: importing this package imports no library, so that
`python -m rlselect.bench` quiets them (rlselect.console) before they load.
"""

BENCHMARKS = ("gradients", "rollouts", "selection", "scaling")
MODEL_SIZES = ("tiny", "0.5b")  # 0.5b: a random model of Qwen2.5-0.5B's shape


def default_out(quick: bool, device: str = "cpu", model_size: str = "tiny") -> str:
    """Where a run writes unless --out says otherwise. results/bench holds the committed reference
    (tiny model, CPU); a quick check goes to runs/ (not tracked) and another device or model size to
    its own folder, so neither overwrites the reference numbers."""
    if quick:
        return "runs/bench-quick"
    return "results/bench" if (device, model_size) == ("cpu", "tiny") else f"results/bench/{device}-{model_size}"
