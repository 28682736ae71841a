"""LIMR's input: each prompt's reward trajectory over epochs of GRPO on the full pool.

A recording reward function (the project's verifier plus bookkeeping) notes every (epoch, id,
reward) the trainer produces; the stage returns each id's mean reward per epoch, cached.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from transformers import TrainerCallback

from rlselect.cache import atomic_write_json, build_once, model_fingerprint, read_json, records_key, stage_key


class RewardRecorder(TrainerCallback):
    """A TRL reward function that records rewards per (epoch, prompt id); also a callback that
    tracks the epoch."""

    __name__ = "math"  # TRL names reward columns after the function

    def __init__(self, seed: int = 0):
        from rlselect.rewards import MathReward

        self.reward = MathReward(seed)
        self.epoch = 0
        self.sums: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def __call__(self, prompts, completions, answer, id, **kwargs):
        rewards = self.reward(prompts, completions, answer, id=id, **kwargs)
        for rid, r in zip(id, rewards):
            self.sums[self.epoch][rid].append(r)
        return rewards

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.epoch = int(math.floor(state.epoch or 0))

    def trajectories(self, ids: list[str]) -> dict[str, list[float | None]]:
        epochs = sorted(self.sums)
        return {rid: [sum(v) / len(v) if (v := self.sums[e].get(rid)) else None for e in epochs] for rid in ids}


def reward_trajectory_stage(
    model_path: str, pool: list[dict], trainer_cfg: dict, epochs: int, cache_dir: Path, seed: int = 0
) -> dict[str, list[float | None]]:
    from rlselect.train.grpo import steps_for_budget, train_grpo

    cfg = {**trainer_cfg, "budget_mode": "equal_epochs", "epochs": epochs}
    key = stage_key("limr-v3", model_fingerprint(model_path), records_key(pool), cfg, seed)
    out = Path(cache_dir) / "reward_trajectories" / key
    done = out / "trajectories.json"

    def record() -> None:
        recorder = RewardRecorder(seed)
        args = dict(cfg.get("args") or {})
        args["shuffle_dataset"] = True
        steps_for_budget(len(pool), args, "equal_epochs", 0, epochs)  # validates the config early
        run_cfg = {**cfg, "args": args, "rewards": [recorder]}
        train_grpo(model_path, pool, run_cfg, out / "train", seed=seed, callbacks=[recorder], label="LIMR's epochs")
        atomic_write_json(done, recorder.trajectories([r["id"] for r in pool]))

    build_once(done, record, "LIMR's reward trajectories")
    return read_json(done)
