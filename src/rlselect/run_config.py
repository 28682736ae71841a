"""One configuration per run directory.

A run directory is named by selector, schedule, budget and seed only (conf/config.yaml), and a
finished or half-finished run there is reused. Without a check, a run that changes anything else
(a learning rate, the pool, the benchmarks) would pick up the earlier run's result or checkpoints
and report them as its own. Each run therefore stores its resolved configuration in the directory
and a later run with another configuration stops at once, naming the keys that differ (a run not
finished yet may change its `eval.*` keys alone: its training stands, its evaluation is redone).

And one process per run directory: `run_lock` is held while a run computes, so a second process on the
same directory (a sweep relaunched while its first launch still runs, a requeued Slurm job next to its old
self) stops at once instead of training into the same checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlselect.cache import atomic_write_json, read_json

FILE = "run_config.json"
LOCK, OWNER = "run.lock", "run_owner.json"
# Where the run writes, how loudly, and how much memory or how many threads a stage may take, not what
# it computes: these may change between a run and its resume (e.g. a lower vLLM share after an OOM).
IGNORED = (
    "force",
    "reevaluate",
    "verbose",
    "isolate_stages",
    "results_dir",
    "cache_dir",
    "logger",
    "rollouts.batch_size",  # completions depend on (seed, prompt id) alone, not on batching
    "rollouts.shard_size",
    "rollouts.vllm.gpu_memory_utilization",
    "features.batch_size",
    "features.shard_size",
    "features.max_tokens_per_batch",
    "features.projection.buffer_mb",
    "trainer.args.gradient_checkpointing",
    "trainer.args.vllm_gpu_memory_utilization",
    "eval.batch_size",
    "eval.gpu_memory_utilization",
    "eval.num_threads",
)

# What an unfinished run may change and go on: its evaluation, and whether it stops after the selection.
CONTINUABLE = ("eval", "selection_only")


def run_identity(cfg: DictConfig) -> dict[str, Any]:
    """The resolved configuration that decides a run's result (less IGNORED), as it reads back from JSON."""
    plain = json.loads(json.dumps(OmegaConf.to_container(cfg, resolve=True), default=str))
    for key in IGNORED:
        *parents, leaf = key.split(".")
        node = plain
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return plain


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """{'a.b.': value} for every leaf of a nested dict (keys end with a dot; an empty dict is a leaf)."""
    if not isinstance(d, dict):
        return {prefix: d}
    return {k: v for key, sub in d.items() for k, v in flatten(sub, f"{prefix}{key}.").items()} if d else {prefix: {}}


def differences(old: dict, new: dict, most: int = 5) -> list[str]:
    """'key: old -> new' for each dotted key whose value differs (the first `most`, then a count)."""
    a, b = flatten(old), flatten(new)
    diff = [
        f"{k.rstrip('.')}: {a.get(k, '(unset)')!r} -> {b.get(k, '(unset)')!r}"
        for k in sorted(a.keys() | b.keys())
        if a.get(k) != b.get(k)
    ]
    return diff[:most] + ([f"and {len(diff) - most} more"] if len(diff) > most else [])


def check_run_dir(run_dir: Path, identity: dict, finished: bool = False) -> list[str]:
    """Raise if run_dir holds a run of another configuration (a directory without the file, from an
    older rlselect, is accepted as it is). A run not `finished` yet may change its `eval.*` keys and
    `selection_only` alone (say, a data folder its evaluation could not read, or a selection study carried
    on to training): its selection and training stand, and the differences are returned for the caller
    to redo what follows them."""
    path = Path(run_dir) / FILE
    if not path.exists():
        return []
    stored = read_json(path)
    if stored == identity:
        return []
    if not finished and _fixed(stored) == _fixed(identity):
        return differences(*({k: d.get(k) for k in CONTINUABLE} for d in (stored, identity)))
    raise RunDirConflict(
        f"{run_dir} holds a run of another configuration ({'; '.join(differences(stored, identity))}). "
        "A run directory is named by selector, schedule, budget and seed only: set variant=<label> or "
        "study=<name> to keep both runs, or force=true to replace that one."
    )


def _fixed(identity: dict) -> dict:
    return {k: v for k, v in identity.items() if k not in CONTINUABLE}


def claim_run_dir(run_dir: Path, identity: dict) -> None:
    atomic_write_json(Path(run_dir) / FILE, identity)


def refuse(exc: Exception) -> None:
    """Mark `exc` as a refusal: an error in the run's configuration or inputs, found before any work
    (the CLI prints its message alone, without a traceback, unless verbose=true)."""
    exc.rlselect_refused = True  # type: ignore[attr-defined]


def is_refusal(exc: BaseException) -> bool:
    return bool(getattr(exc, "rlselect_refused", False))


class RunDirConflict(ValueError):
    """A run directory already holds a run of another configuration."""

    rlselect_refused = True


class RunInProgress(RuntimeError):
    """Another process is computing the run in this directory now."""

    rlselect_refused = True


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Held for a run's whole computation (an flock: it goes with its holder's process); raises
    RunInProgress at once, naming the holder, when another process holds it."""
    from filelock import FileLock, Timeout

    lock, owner = FileLock(str(Path(run_dir) / LOCK)), Path(run_dir) / OWNER
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = read_json(owner) if owner.exists() else {}
        who = ", ".join(f"{k} {v}" for k, v in holder.items()) or "holder unknown"
        raise RunInProgress(
            f"{run_dir} is being computed by another process ({who}): let it finish (a rerun then finds the "
            "result), or give this run another variant=<label>"
        ) from None
    except NotImplementedError:  # filelock 3 on a filesystem without flock: run unguarded, as before
        yield
        return
    try:
        atomic_write_json(
            owner, {"pid": os.getpid(), "host": platform.node(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        )
        yield
    finally:
        lock.release()
