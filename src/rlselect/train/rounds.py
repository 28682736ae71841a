"""The `rounds` schedule (GradAlign): re-select from a fresh chunk with the current policy every
S steps, inside ONE GRPOTrainer, so the optimizer state and LR schedule carry over.

The trainer sees a fixed-length dataset of "slots"; an `on the fly` transform maps slot i to the
record `current[i % len(current)]`. `RoundCallback` rewrites `current` at round boundaries.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

from transformers import TrainerCallback

from rlselect.cache import atomic_write_json, read_json

log = logging.getLogger(__name__)


class PoolView:
    """A `datasets.Dataset` of `length` slots whose records follow the current selection."""

    def __init__(self, records_by_id: dict[str, dict], length: int):
        import datasets

        self.by_id = records_by_id
        self.current: list[str] = []
        self.dataset = datasets.Dataset.from_dict({"slot": list(range(length))})
        self.dataset.set_transform(self._materialise)

    def set(self, ids: list[str]) -> None:
        if not ids:
            raise ValueError("a round selected no items")
        self.current = list(ids)

    def _materialise(self, batch: dict) -> dict:
        if not self.current:
            raise RuntimeError("PoolView used before the first round's selection")
        recs = [self.by_id[self.current[s % len(self.current)]] for s in batch["slot"]]
        return {
            "prompt": [r["prompt"] for r in recs],
            "answer": [r["answer"] for r in recs],
            "id": [r["id"] for r in recs],
            "meta": [r["meta"] for r in recs],
        }


def chunks(ids: list[str], size: int, seed: int):
    """The pool shuffled once with the seed and cut into chunks; wraps around when exhausted."""
    order = list(ids)
    random.Random(f"rounds-{seed}").shuffle(order)
    n_chunks = max(1, len(order) // size)

    def chunk(t: int) -> list[str]:
        k = t % n_chunks
        return order[k * size : (k + 1) * size]

    return chunk


class RoundCallback(TrainerCallback):
    """At step 0 and every `steps_per_round` steps: score the next chunk with the current policy
    (`select_round(model, round, chunk_ids) -> (kept_ids, summary)`), and point the pool at it.

    Each round's selection is saved in `rounds_dir` so a resumed run re-uses it (and a rerun of a
    round gives the same ids)."""

    def __init__(
        self,
        view: PoolView,
        chunk: Callable[[int], list[str]],
        select_round: Callable,
        steps_per_round: int,
        rounds_dir: Path,
        log_fn: Callable[[dict], None] | None = None,
    ):
        self.view, self.chunk, self.select_round = view, chunk, select_round
        self.steps_per_round = steps_per_round
        self.rounds_dir = Path(rounds_dir)
        self.log_fn = log_fn or (lambda d: None)
        self.current_round: int | None = None

    def _round(self, t: int, model) -> None:
        if t == self.current_round:
            return
        path = self.rounds_dir / f"round_{t:04d}.json"
        if path.exists():
            rec = read_json(path)
        else:
            t0 = time.time()
            kept, summary = self.select_round(model, t, self.chunk(t))
            rec = {"round": t, "ids": kept, **summary, "seconds": round(time.time() - t0, 2)}
            atomic_write_json(path, rec)
        self.view.set(rec["ids"])
        self.current_round = t
        log.info(
            "round %d: kept %d, %s", t, len(rec["ids"]), {k: v for k, v in rec.items() if k not in ("ids", "round")}
        )
        self.log_fn({f"round/{k}": v for k, v in rec.items() if isinstance(v, (int, float)) and v is not None})

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._round(state.global_step // self.steps_per_round, model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.steps_per_round == 0 and state.global_step < state.max_steps:
            self._round(state.global_step // self.steps_per_round, model)
