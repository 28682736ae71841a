"""Cheap checks of a composed run config, before any stage.

Each key is read where it is used, often hours into a run at paper scale: a typo in a backend name,
a count or the eval group would otherwise surface only after the rollouts, LearnAlign's warm-up or
GRPO training. `check_config` reads them all up front, with the allowed values each module declares.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

# Counts that must be positive integers wherever they are set (null: the module's default, or all).
POSITIVE = (
    "data.pool_size",
    "data.val_size",
    "rollouts.G",
    "rollouts.max_new_tokens",
    "rollouts.batch_size",
    "rollouts.shard_size",
    "features.batch_size",
    "features.shard_size",
    "features.val_G",
    "features.projection.dim",
    "trainer.max_steps",
    "selector.warmup.size",
    "selector.warmup.steps",
    "schedule.chunk_size",
    "schedule.steps_per_round",
    "schedule.rounds",
    "schedule.k_r",
    "schedule.k_v",
)
# Numbers that must lie in (low, high], or [low, high] where marked closed. The HF sampler would run with a
# top_p above 1 or a negative temperature (as no truncation, or greedy); vLLM refuses both.
RANGES = {
    "schedule.keep_fraction": (0.0, 1.0, "open"),
    "trainer.epochs": (0.0, float("inf"), "open"),
    "rollouts.top_p": (0.0, 1.0, "open"),
    "rollouts.temperature": (0.0, float("inf"), "closed"),
}


def config_int(cfg: DictConfig, key: str, low: int, high: int | None = None) -> int:
    """cfg.<key> as an int in [low, high], or an error naming the key (`budget=abc` on the command
    line reaches the config as a string; a negative seed would fail only after the rollouts)."""
    value = OmegaConf.select(cfg, key)
    try:
        n = int(str(value))  # str() first: 64.5 and True are refused, not truncated
    except ValueError:
        raise ValueError(f"{key}={value!r} is not an integer") from None
    if n < low or (high is not None and n > high):
        bounds = f"{low} <= {key}" + (f" <= {high}" if high is not None else "")
        raise ValueError(f"{key}={n} is out of range; choose {bounds}")
    return n


def choices() -> dict[str, tuple[str, ...]]:
    """Each enumerated key and its allowed values, as the module that reads it declares them."""
    from rlselect.grads.projection import PROJECTION_KINDS
    from rlselect.grads.rollout_batch import TOKEN_AGGS
    from rlselect.rollouts.stage import BACKENDS
    from rlselect.selection import FEATURE_MODES, GRAD_ROLLOUTS
    from rlselect.train.grpo import BUDGET_MODES

    return {
        "schedule.name": ("static", "rounds"),
        "rollouts.backend": BACKENDS,
        "features.mode": FEATURE_MODES,
        "features.token_agg": TOKEN_AGGS,
        "features.projection.kind": PROJECTION_KINDS,
        "features.rollouts_for_grad": GRAD_ROLLOUTS,
        "trainer.budget_mode": BUDGET_MODES,
    }


def check_config(cfg: DictConfig, this_machine: bool = True) -> tuple[int, int]:
    """(seed, budget) after checking the counts, the enumerated keys and dtypes, features.mode against
    features.projection.dim, trainer.args' names and values (unless selection_only) and the eval group,
    and, with `this_machine`, that the GPU settings find CUDA and that an offline machine has every
    evaluated benchmark's folder (the plan printer checks the config alone)."""
    from rlselect.eval.benchmarks import check_reachable
    from rlselect.eval.runner import check_eval_config
    from rlselect.models import check_dtype
    from rlselect.selection import feature_mode
    from rlselect.train.grpo import check_grpo_args

    seed, budget = config_int(cfg, "seed", 0, 2**32 - 1), config_int(cfg, "budget", 0)  # numpy's seed range
    for key in POSITIVE:
        if OmegaConf.select(cfg, key) is not None:
            config_int(cfg, key, 1)
    for key, (low, high, kind) in RANGES.items():
        if (value := OmegaConf.select(cfg, key)) is not None and not (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and (low < value or (kind == "closed" and value == low))
            and value <= high
        ):
            raise ValueError(f"{key}={value!r}; choose a number in {'(['[kind == 'closed']}{low}, {high}]")
    for key, allowed in choices().items():
        if (value := OmegaConf.select(cfg, key)) is not None and value not in allowed:
            raise ValueError(f"{key}={value!r}; available: {', '.join(allowed)}")
    variant = str(cfg.get("variant") or "")
    if "/" in variant or "\\" in variant or any(c.isspace() for c in variant):  # it names run directories
        raise ValueError(f"variant={variant!r}: a variant names run directories; no slashes or spaces (e.g. lr1e-5)")
    feature_mode(OmegaConf.to_container(cfg.features, resolve=True))
    for key in ("model.dtype", "eval.dtype"):  # read when the first model loads, or by lm-eval after training
        if (value := OmegaConf.select(cfg, key)) is not None:
            check_dtype(value, key)
    if cfg.get("selection_only", False) and OmegaConf.select(cfg, "schedule.name") == "rounds":
        raise ValueError(
            "selection_only=true stops after a selection made before training; schedule=rounds selects "
            "during training (use schedule=static for a selection study)"
        )
    if OmegaConf.select(cfg, "selector.name") == "full" and OmegaConf.select(cfg, "schedule.name") == "rounds":
        raise ValueError(
            "selector=full with schedule=rounds would keep the first keep_fraction of each chunk, a random "
            "subset: use schedule=static for GRPO on the whole pool, or selector=random for the rounds' random baseline"
        )
    eval_groups = []
    if not cfg.get("selection_only", False):
        check_grpo_args(OmegaConf.to_container(cfg.trainer.args, resolve=True))
        eval_groups = check_eval_config(cfg.eval)
    if this_machine:
        check_accelerator(cfg)
        for names, group in eval_groups:  # offline, the hub fallback would fail after training
            for name in names:
                check_reachable(name, group.data_dir, group.split)
    return seed, budget


def cuda_settings(cfg: DictConfig) -> list[str]:
    """The settings of this config that need a CUDA device or vLLM (the paper presets'), as key=value."""
    training = not cfg.get("selection_only", False)
    found = [
        f"{key}={value}"
        for key in ("model.device", "eval.device")
        if str(value := OmegaConf.select(cfg, key)).startswith("cuda") and (training or key == "model.device")
    ]
    if OmegaConf.select(cfg, "rollouts.backend") == "vllm":
        found.append("rollouts.backend=vllm")
    args = cfg.trainer.get("args") or {}
    if training and not args.get("use_cpu", False):
        found += [f"trainer.args.{key}=true" for key in ("bf16", "fp16", "use_vllm") if args.get(key)]
    return found


def check_accelerator(cfg: DictConfig) -> None:
    """GPU settings on a machine without CUDA fail here, not in the stage that reads them (the
    evaluation's device after training, the trainer's bf16 after the rollouts)."""
    import importlib.util

    import torch

    needs = cuda_settings(cfg)
    if needs and not torch.cuda.is_available():
        raise ValueError(
            f"{', '.join(needs)}: these settings need a CUDA device and this machine has none "
            "(torch.cuda.is_available() is False). On CPU: model.device=auto, eval.device=cpu, rollouts.backend=hf, "
            "trainer=grpo_cpu (or experiment=demo for the embedded pipeline)"
        )
    if any("vllm" in n for n in needs) and importlib.util.find_spec("vllm") is None:
        raise ValueError(
            f"{', '.join(n for n in needs if 'vllm' in n)}: vLLM is not installed (pip install -e '.[gpu]')"
        )
