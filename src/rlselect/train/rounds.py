"""The `rounds` schedule (GradAlign): re-select from a fresh chunk with the current policy every
S steps, inside ONE GRPOTrainer, so the optimizer state and LR schedule carry over.

Which prompts a step trains on is decided when TRL consumes the step's batch, not when the
DataLoader fetches it: the DataLoader (which prefetches one batch ahead) only yields numbered
placeholder slots, and `RoundSchedule.attach` wraps the trainer's generation call so that, at
global step k, round t = k // S is selected first (if it is new) and the slots are filled with
step k's prompts. Within a round the kept set is passed over epoch by epoch, each epoch a seeded
permutation, and no prompt appears twice in one step (unless the kept set is smaller than a step).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rlselect.cache import atomic_write_bytes, atomic_write_json, read_json
from rlselect.train.grpo import TRAIN_COLUMNS

log = logging.getLogger(__name__)
PLACEHOLDER_PROMPT = [{"role": "user", "content": ""}]


def chunks(ids: list[str], size: int, seed: int) -> Callable[[int], list[str]]:
    """The pool shuffled once with the seed and cut into chunks; wraps around when exhausted."""
    order = list(ids)
    random.Random(f"rounds-{seed}").shuffle(order)
    n_chunks = max(1, len(order) // size)
    return lambda t: order[(t % n_chunks) * size : (t % n_chunks + 1) * size]


def epoch_batches(ids: list[str], n_batches: int, per_batch: int, rng: random.Random) -> list[list[str]]:
    """`n_batches` batches of `per_batch` ids, drawn epoch by epoch without replacement (each epoch
    a fresh permutation); an id already in a batch is deferred to the next one."""
    queue: list[str] = []
    out = []
    for _ in range(n_batches):
        batch: list[str] = []
        while len(batch) < min(per_batch, len(ids)):
            j = next((j for j, x in enumerate(queue) if x not in batch), None)
            if j is None:
                queue += rng.sample(ids, len(ids))
                continue
            batch.append(queue.pop(j))
        out.append([batch[i % len(batch)] for i in range(per_batch)])
    return out


@dataclass
class RoundSchedule:
    """Round selections (`select_round(model, round, chunk_ids) -> (kept_ids, summary)`, saved in
    `rounds_dir` so a resumed run reuses them) and each step's prompts within a round."""

    by_id: dict[str, dict]
    chunk: Callable[[int], list[str]]
    select_round: Callable
    steps_per_round: int
    prompts_per_step: int
    rounds_dir: Path
    seed: int
    log_fn: Callable[[dict], None] = lambda d: None
    _batches: dict[int, list[list[str]]] = field(default_factory=dict, init=False, repr=False)

    def round_ids(self, t: int, model) -> list[str]:
        path = self.rounds_dir / f"round_{t:04d}.json"
        if path.exists():
            return read_json(path)["ids"]
        t0 = time.time()
        kept, summary = self.select_round(model, t, self.chunk(t))
        if not kept:
            raise ValueError(f"round {t} selected no items")
        rec = {"round": t, "ids": kept, **summary, "seconds": round(time.time() - t0, 2)}
        atomic_write_json(path, rec)
        info = {k: v for k, v in rec.items() if k not in ("ids", "round") and isinstance(v, (int, float))}
        shown = {k: round(v, 3) for k, v in info.items() if k not in ("n", "seconds")}
        log.info("round %d: kept %d of %d prompts %s (%.0f s)", t, len(kept), len(self.chunk(t)), shown, rec["seconds"])
        self.log_fn({f"round/{k}": v for k, v in info.items()})
        return kept

    def step_ids(self, step: int, model) -> list[str]:
        """The prompts of optimizer step `step` (0-based)."""
        t = step // self.steps_per_round
        if t not in self._batches:
            rng = random.Random(f"round-batches-{self.seed}-{t}")
            ids = self.round_ids(t, model)
            self._batches = {t: epoch_batches(ids, self.steps_per_round, self.prompts_per_step, rng)}
        return self._batches[t][step - t * self.steps_per_round]

    def fill(self, inputs: list[dict], ids: list[str]) -> list[dict]:
        """Slots (each repeated once per completion) -> records, in order of first appearance."""
        slots = list(dict.fromkeys(x["slot"] for x in inputs))
        if len(slots) > len(ids):
            raise RuntimeError(f"a step holds {len(slots)} prompts but the schedule planned {len(ids)}")
        rec_of = {s: self.by_id[i] for s, i in zip(slots, ids)}
        return [{**x, **{k: rec_of[x["slot"]][k] for k in TRAIN_COLUMNS}} for x in inputs]

    @staticmethod
    def forget_steps_after(steps_log: Path, step: int) -> None:
        """Keep the log's lines of steps 1..step (those the resumed checkpoint trained; a line cut
        short by the kill goes too)."""

        def trained(line: str) -> bool:
            try:
                return json.loads(line)["step"] <= step
            except (ValueError, KeyError, TypeError):
                return False

        if steps_log.exists():
            lines = steps_log.read_text().splitlines(keepends=True)
            kept = [line for line in lines if trained(line)]
            if len(kept) < len(lines):
                atomic_write_bytes(steps_log, "".join(kept).encode())

    def attach(self, trainer) -> None:
        """Fill each training batch with its step's prompts just before TRL generates for it."""
        generate = trainer._generate_and_score_completions
        steps_log = self.rounds_dir / "steps.jsonl"
        started = [False]  # this process's first step: where a resumed run picks up

        def generate_for_step(inputs):
            if trainer.model.training:
                step = trainer.state.global_step
                if not started[0]:  # a resumed run retrains from its checkpoint: its later steps are logged again
                    started[0] = True
                    self.forget_steps_after(steps_log, step)
                ids = self.step_ids(step, trainer.model)
                inputs = self.fill(inputs, ids)
                with open(steps_log, "a") as fh:
                    fh.write(json.dumps({"step": step + 1, "round": step // self.steps_per_round, "ids": ids}) + "\n")
            return generate(inputs)

        trainer._generate_and_score_completions = generate_for_step


def slot_dataset(length: int):
    """`length` numbered slots with a placeholder prompt; `RoundSchedule.fill` gives them records."""
    import datasets

    return datasets.Dataset.from_dict({"slot": list(range(length)), "prompt": [PLACEHOLDER_PROMPT] * length})
