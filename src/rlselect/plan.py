"""`python -m rlselect.plan experiment=<preset> [overrides]`: the resolved plan of a study, without
running it (runs, model, data, budgets, steps), and `--check-gpu` to stop early where the paper
settings cannot run."""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence

from omegaconf import OmegaConf

from rlselect.cli import compose


def split_overrides(overrides: Sequence[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(fixed, sweeps) of a command line, by key: the overrides every run gets as they are, and the
    command line's own sweeps (`seed=0,1,2` -> ["0", "1", "2"]), which `compose` cannot take."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    fixed, sweeps = {}, {}
    for text, override in zip(overrides, OverridesParser.create().parse_overrides(list(overrides))):
        if override.is_discrete_sweep():
            sweeps[override.get_key_element()] = list(override.sweep_string_iterator())
        else:
            fixed[override.get_key_element()] = text
    return fixed, sweeps


def sweep_runs(cfg, overrides: Sequence[str] = ()) -> list[dict[str, str]]:
    """The runs of a multirun, as Hydra's basic sweeper makes them (one dict of overrides per run):
    the cartesian product of `hydra.sweeper.params`, where a key the command line sets replaces the
    preset's sweep of it (`experiment=demo selector=random`: random only; `seed=0,1,2`: 3 seeds)."""
    swept = {str(k): str(v).split(",") for k, v in (cfg.hydra.sweeper.get("params") or {}).items()}
    fixed, sweeps = split_overrides(overrides)
    swept = {k: v for k, v in swept.items() if k not in fixed} | sweeps
    keys = list(swept)
    return [dict(zip(keys, combo)) for combo in itertools.product(*swept.values())] or [{}]


def fixed_overrides(overrides: Sequence[str]) -> list[str]:
    """The command line without its own sweeps: what every run shares, and what `compose` takes."""
    return list(split_overrides(overrides)[0].values())


def describe(overrides: list[str]) -> str:
    fixed = fixed_overrides(overrides)
    cfg = compose(fixed, hydra_node=True)
    runs = sweep_runs(cfg, overrides)
    lines = [f"study {cfg.study}: {len(runs)} runs"]
    model = cfg.model.get("path") or cfg.model.name
    lines.append(
        f"  model {model} ({cfg.model.get('dtype', 'float32')}); data {cfg.data.name} "
        f"(pool split {cfg.data.pool_split}, size {cfg.data.pool_size or 'all'}, regime {cfg.data.regime})"
    )
    lines.append(
        f"  trainer: budget_mode {cfg.trainer.budget_mode}, lr {cfg.trainer.args.learning_rate}, "
        f"beta {cfg.trainer.args.get('beta')}, G {cfg.trainer.args.num_generations}, "
        f"completions/step {cfg.trainer.args.per_device_train_batch_size * cfg.trainer.args.get('gradient_accumulation_steps', 1)}"
    )
    lines.append(
        f"  eval: {', '.join(b for r in cfg.eval.runs for b in r.benchmarks)} "
        f"({', '.join(r.protocol for r in cfg.eval.runs)})"
    )
    from rlselect.train.grpo import steps_for_budget

    args = OmegaConf.to_container(cfg.trainer.args, resolve=True)
    problems = []
    for run in runs:
        sub = compose([*fixed, *(f"{k}={v}" for k, v in run.items())], hydra_node=True)
        if problem := _config_problem(sub, run):
            problems.append(problem)
            continue
        budget = sub.budget if sub.selector.name != "full" else "pool"
        if sub.schedule.name == "rounds":
            steps = sub.schedule.steps_per_round * sub.schedule.rounds
        else:
            n = sub.budget if isinstance(budget, int) else (sub.data.pool_size or 7473)
            steps = steps_for_budget(int(n), args, sub.trainer.budget_mode, sub.trainer.max_steps, sub.trainer.epochs)
        lines.append(
            f"  - selector={sub.selector.name} schedule={sub.schedule.name} budget={budget} "
            f"seed={sub.seed} steps={steps}"
        )
    lines += [f"config checks: {len(problems)} of {len(runs)} runs would stop before any stage", *problems]
    return "\n".join(lines)


def _config_problem(cfg, run: dict) -> str | None:
    """The run's early config check (config_checks.check_config) as one line, or None when it passes;
    the machine is not checked (a plan is printed anywhere, e.g. on a login node without a GPU)."""
    from rlselect.config_checks import check_config

    try:
        check_config(cfg, this_machine=False)
    except ValueError as exc:
        return f"  ! {' '.join(f'{k}={v}' for k, v in run.items())}: {exc}"
    return None


def config_problems(overrides: list[str]) -> list[str]:
    """One line per run of the sweep that the early config checks would stop."""
    fixed = fixed_overrides(overrides)
    runs = sweep_runs(compose(fixed, hydra_node=True), overrides)
    found = (_config_problem(compose([*fixed, *(f"{k}={v}" for k, v in run.items())]), run) for run in runs)
    return [p for p in found if p]


def check_gpu(model_name: str) -> int:
    try:
        import torch
    except ImportError:
        print("torch is not installed: run `make install`", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print(
            f"No CUDA GPU here: the paper setting ({model_name}, bf16, vLLM) needs one.\n"
            "  - On a GPU machine with the model hub: make reproduce-gsm8k\n"
            "  - To see what it would run: DRY_RUN=1 make reproduce-gsm8k\n"
            "  - The embedded version on this machine (CPU, offline): make demo, or\n"
            "    .venv/bin/python -m rlselect.cli experiment=demo_budget",
            file=sys.stderr,
        )
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlselect.plan", description=__doc__)
    parser.add_argument("--check-gpu", action="store_true", help="exit non-zero with an explanation without CUDA")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. experiment=reproduce_gsm8k seed=0,1")
    ns = parser.parse_args(argv)
    if ns.check_gpu:  # before a sweep starts (or is submitted): its configs first, then the machine
        if problems := config_problems(ns.overrides):
            print("config checks: these runs would stop before any stage:", *problems, sep="\n", file=sys.stderr)
            return 4
        return check_gpu(compose(fixed_overrides(ns.overrides), hydra_node=True).model.name)
    print(describe(ns.overrides))
    return 0


if __name__ == "__main__":
    sys.exit(main())
