"""`python -m rlselect.plan experiment=<preset> [overrides]`: the resolved plan of a study, without
running it (runs, model, data, budgets, steps), and `--check-gpu` to stop early where the paper
settings cannot run."""

from __future__ import annotations

import argparse
import copy
import itertools
import sys
from collections.abc import Iterator, Sequence

from omegaconf import DictConfig, OmegaConf

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


def run_configs(root: DictConfig, overrides: Sequence[str]) -> Iterator[tuple[dict[str, str], DictConfig]]:
    """Each run of the sweep with the config it gets (without the hydra node); `root` is the
    composition of the command line's fixed overrides, with its hydra node.

    Hydra composes the config groups a run chooses, then sets the run's plain values (`seed=1`,
    `budget=100`) on the result with OmegaConf.update. Runs that differ only in plain values share
    one composition here, and each gets a copy with its values set the same way: a copy costs about
    4 ms, a composition about 150 ms, and a paper sweep has 60 runs over a handful of selectors.
    Anything else (a group, `+key`, `~key`, a list or dict value, one key nested in another) is
    composed in full, and so is a run whose values do not apply, for Hydra's own error."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    fixed = fixed_overrides(overrides)
    groups = set(root.hydra.runtime.choices)
    parser = OverridesParser.create()
    fixed_keys = [o.key_or_group for o in parser.parse_overrides(fixed)]  # bare keys: `++a.b` -> a.b
    composed: dict[tuple[str, ...], DictConfig] = {}
    for run in sweep_runs(root, overrides):
        texts = [f"{k}={v}" for k, v in run.items()]
        parsed = parser.parse_overrides(texts)
        keys = [*fixed_keys, *(o.key_or_group for o in parsed)]
        plain = {o.key_or_group: o.value() for o in parsed if _is_plain_value(o, groups, keys)}
        chosen = tuple(text for text, o in zip(texts, parsed) if o.key_or_group not in plain)
        if chosen not in composed:
            composed[chosen] = compose([*fixed, *chosen])
        cfg = copy.deepcopy(composed[chosen])
        try:
            for key, value in plain.items():
                OmegaConf.update(cfg, key, value, merge=True)
        except Exception:  # a value that does not apply: Hydra's own error for it
            cfg = compose([*fixed, *texts])
        yield run, cfg


def _is_plain_value(override, groups: set[str], keys: list[str]) -> bool:
    """Whether Hydra would apply this override as one OmegaConf.update after composing, on a key
    that no other override of the run nests in or under (so the order of updates cannot matter)."""
    key = override.key_or_group
    return (
        override.package is None
        and not (override.is_delete() or override.is_add() or override.is_force_add())
        and key not in groups
        and isinstance(override.value(), (str, int, float, bool, type(None)))
        and not any(k != key and (k.startswith(f"{key}.") or key.startswith(f"{k}.")) for k in keys)
    )


def describe(overrides: list[str]) -> str:
    fixed = fixed_overrides(overrides)
    cfg = compose(fixed, hydra_node=True)
    runs = list(run_configs(cfg, overrides))
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
    for run, sub in runs:
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
    root = compose(fixed_overrides(overrides), hydra_node=True)
    return [p for run, cfg in run_configs(root, overrides) if (p := _config_problem(cfg, run))]


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
