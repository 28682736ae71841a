"""`python -m rlselect.plan experiment=<preset> [overrides]`: the resolved plan of a study, without
running it (runs, model, data, budgets, steps), and `--check-gpu` to stop early where the paper
settings cannot run."""

from __future__ import annotations

import argparse
import itertools
import sys

from omegaconf import OmegaConf

from rlselect.cli import compose


def sweep_runs(cfg) -> list[dict[str, str]]:
    """The cartesian product of `hydra.sweeper.params` (one dict of overrides per run)."""
    params = OmegaConf.to_container(cfg.hydra.sweeper.params, resolve=False) if cfg.hydra.sweeper.get("params") else {}
    keys = list(params)
    values = [str(params[k]).split(",") for k in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)] or [{}]


def describe(overrides: list[str]) -> str:
    cfg = compose(overrides, hydra_node=True)
    runs = sweep_runs(cfg)
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
    for run in runs:
        sub = compose([*overrides, *(f"{k}={v}" for k, v in run.items())], hydra_node=True)
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
    return "\n".join(lines)


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
    parser = argparse.ArgumentParser(prog="python -m rlselect.plan")
    parser.add_argument("--check-gpu", action="store_true", help="exit non-zero with an explanation without CUDA")
    parser.add_argument("overrides", nargs="*")
    ns = parser.parse_args(argv)
    if ns.check_gpu:
        cfg = compose(ns.overrides, hydra_node=True)
        return check_gpu(cfg.model.name)
    print(describe(ns.overrides))
    return 0


if __name__ == "__main__":
    sys.exit(main())
