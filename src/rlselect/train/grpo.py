"""GRPO training with TRL's GRPOTrainer, configured from the Hydra `trainer` group.

`trainer.args` is passed to `trl.GRPOConfig` as is (any GRPOConfig field works from the command
line, e.g. `trainer.args.beta=0.04`); rlselect adds only what TRL has no notion of: the budget
mode that turns a selection size into a number of steps, and resuming from the last checkpoint.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rlselect import console
from rlselect.distributed import world

log = logging.getLogger(__name__)
TRAIN_COLUMNS = ("prompt", "answer", "id", "meta")  # what the reward functions read of a record
BUDGET_MODES = ("equal_steps", "equal_epochs")  # trainer.budget_mode


class TrainProgress(TrainerCallback):
    """GRPO steps as one progress bar (steps, ETA, last mean reward), then one summary line."""

    def __init__(self, label: str):
        self.label, self.bar, self.reward = label, None, None

    def on_train_begin(self, args, state, control, **kwargs):
        self.bar = console.progress(state.max_steps, f"train {self.label}", unit="step")
        console.found_done(self.bar, state.global_step)  # steps a resumed run already took

    def on_step_end(self, args, state, control, **kwargs):
        self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "reward" in logs:
            self.reward = logs["reward"]
            self.bar.set_postfix(reward=f"{self.reward:.3f}", refresh=False)  # shown with the next step

    def on_train_end(self, args, state, control, **kwargs):
        self.bar.close()
        reward = f", last reward {self.reward:.3f}" if self.reward is not None else ""
        log.info("trained %s: %d GRPO steps%s", self.label, state.global_step, reward)


class TrainingClock(TrainerCallback):
    """Training seconds, earlier attempts included: each checkpoint records the seconds that led to it
    (ELAPSED), and a run resumed from it starts its clock there, so a run killed (or preempted) and
    resumed is charged its whole training, not its last attempt's."""

    ELAPSED = "rlselect_elapsed.json"

    def __init__(self, resumed_from: str | None):
        from rlselect.cache import read_json

        elapsed = Path(resumed_from or "") / self.ELAPSED
        self.before = float(read_json(elapsed)["seconds"]) if resumed_from and elapsed.exists() else 0.0
        self.t0 = time.time()

    def seconds(self) -> float:
        return round(self.before + time.time() - self.t0, 2)

    def on_save(self, args, state, control, **kwargs):
        from rlselect.cache import atomic_write_json

        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and checkpoint.is_dir():
            atomic_write_json(checkpoint / self.ELAPSED, {"seconds": self.seconds()})


def steps_for_budget(n_prompts: int, args: dict, budget_mode: str, max_steps: int, epochs: float) -> int:
    """equal_steps: the same number of optimizer steps for every budget (reviewers' comparison);
    equal_epochs: `epochs` passes over the selected prompts (the papers' protocol). A step takes
    per_device_train_batch_size x gradient_accumulation_steps completions from every process."""
    if budget_mode == "equal_steps":
        return int(max_steps)
    if budget_mode == "equal_epochs":
        completions_per_step = args.get("per_device_train_batch_size", 8) * args.get("gradient_accumulation_steps", 1)
        completions_per_step *= world()[1]  # every process of a multi-process launch adds its batch
        prompts_per_step = completions_per_step / args.get("num_generations", 8)
        return max(1, math.ceil(epochs * n_prompts / prompts_per_step))
    raise ValueError(f"trainer.budget_mode={budget_mode!r}; available: {', '.join(BUDGET_MODES)}")


def last_complete_checkpoint(trainer_dir: Path) -> str | None:
    """The newest checkpoint that was fully written: a kill during a save leaves a folder without
    trainer_state.json (the Trainer writes it last), which must not be resumed from."""
    if not trainer_dir.exists():
        return None
    done = [p for p in trainer_dir.glob("checkpoint-*") if (p / "trainer_state.json").exists()]
    return str(max(done, key=lambda p: int(p.name.split("-")[-1]))) if done else None


def to_train_dataset(records: list[dict]):
    import datasets

    return datasets.Dataset.from_list([{k: r[k] for k in TRAIN_COLUMNS} for r in records])


def check_grpo_args(args: dict) -> None:
    """Unknown trainer.args keys, and values that do not fit a numeric or bool field, named before any
    stage (GRPOConfig refuses an unknown key only when training starts, after the rollouts and the
    selection; `learning_rate=abc` it takes, and the optimizer fails on it)."""
    import dataclasses
    import typing

    from trl import GRPOConfig

    from rlselect.value_types import expected_type

    if unknown := sorted(set(args) - {f.name for f in dataclasses.fields(GRPOConfig)}):
        raise ValueError(
            f"trainer.args: unknown field(s) {', '.join(unknown)} (see trl.GRPOConfig for the valid fields)"
        )
    hints = typing.get_type_hints(GRPOConfig)
    for key, value in args.items():
        if str in (typing.get_args(hints[key]) or (hints[key],)):  # TRL's str fields take more (scale_rewards=True)
            continue
        if (want := expected_type(hints[key], value)) is not None:
            raise ValueError(f"trainer.args.{key}={value!r}: trl.GRPOConfig takes {want}")


def build_grpo_config(args: dict, out_dir: Path, max_steps: int, seed: int, report_to: str):
    from trl import GRPOConfig

    kwargs = dict(args)
    kwargs.update(output_dir=str(out_dir), max_steps=max_steps, seed=seed, data_seed=seed, report_to=report_to)
    try:
        return GRPOConfig(**kwargs)
    except TypeError as exc:  # an unknown key in trainer.args
        raise ValueError(f"trainer.args: {exc} (see trl.GRPOConfig for the valid fields)") from exc


def train_grpo(
    model_path: str,
    records: list[dict],
    cfg: dict[str, Any],
    out_dir: str | Path,
    *,
    seed: int,
    report_to: str = "none",
    callbacks=None,
    train_dataset=None,
    on_trainer_built=None,
    label: str | None = None,
) -> dict:
    """Train from `model_path` on `records`; returns {'checkpoint', 'steps', 'seconds', 'log_history'}.
    `label` names the training in the console (default: the run directory's name).

    Resumes from the newest checkpoint in `out_dir` after a kill; a finished run is not redone.
    """
    from trl import GRPOTrainer

    from rlselect.cache import atomic_write_json, read_json
    from rlselect.models import load_model
    from rlselect.models.stop_tokens import stop_token_ids
    from rlselect.rewards import get_reward

    out_dir = Path(out_dir)
    final = out_dir / "final"
    if (final / "train_summary.json").exists():
        log.info("training already finished in %s (no work)", final)
        return {**read_json(final / "train_summary.json"), "reused": True}

    args = dict(cfg.get("args") or {})
    steps = steps_for_budget(
        len(records), args, cfg.get("budget_mode", "equal_steps"), cfg.get("max_steps", 100), cfg.get("epochs", 1.0)
    )
    grpo_args = build_grpo_config(args, out_dir / "trainer", steps, seed, report_to)
    model, tok = load_model(model_path)  # fp32 master weights; the Trainer places and casts them
    # Stop at EOS and at the chat template's end of turn (TRL reads generation_config.eos_token_id;
    # vLLM takes the stops from the sampling parameters).
    stops = stop_token_ids(tok)
    model.generation_config.eos_token_id = stops
    if grpo_args.use_vllm:
        grpo_args.generation_kwargs = {"stop_token_ids": stops, **(grpo_args.generation_kwargs or {})}
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[get_reward(r, seed) if isinstance(r, str) else r for r in cfg.get("rewards", ["math"])],
        args=grpo_args,
        train_dataset=train_dataset if train_dataset is not None else to_train_dataset(records),
        processing_class=tok,
        callbacks=callbacks,
    )
    if on_trainer_built is not None:  # the rounds schedule fills each step's batch itself
        on_trainer_built(trainer)
    if not console.VERBOSE:  # one bar with the reward instead of TRL's raw log dicts
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        label = label or (out_dir.parent.name if out_dir.name == "train" else out_dir.name)
        trainer.add_callback(TrainProgress(label))
    resume = last_complete_checkpoint(out_dir / "trainer")
    if resume:
        log.info("resuming training from %s", resume)
    clock = TrainingClock(resume)
    trainer.add_callback(clock)
    trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(str(final))  # collective under ZeRO-3 / FSDP: every process calls it
    summary = {
        "checkpoint": str(final),
        "steps": steps,
        "seconds": clock.seconds(),  # earlier attempts' included
        "resumed_seconds": clock.before,  # what the checkpoint resumed from took
        "log_history": trainer.state.log_history,
    }
    if trainer.is_world_process_zero():
        tok.save_pretrained(str(final))
        atomic_write_json(final / "train_summary.json", summary)
    return summary
