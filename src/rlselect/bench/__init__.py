"""`make bench` (`python -m rlselect.bench [--quick]`): what selection costs, measured.

One module per benchmark in BENCHMARKS (gradient features, rollout generation, selection overhead vs GRPO training,
scaling with model size), each with its peak memory; core.py: timer, memory, machine, models, floor. Writes
`<out>/<name>.json` and the summary `<out>/README.md`; `--quick` shrinks everything to seconds (tests).

The suite (SIZES, run_all) is in suite.py: importing this package imports no library, so that
`python -m rlselect.bench` quiets them (rlselect.console) before they load.
"""

BENCHMARKS = ("gradients", "rollouts", "selection", "scaling")
MODEL_SIZES = ("tiny", "0.5b")  # 0.5b: a random model of Qwen2.5-0.5B's shape
