"""One configuration per run directory.

A run directory is named by selector, schedule, budget and seed only (conf/config.yaml), and a
finished or half-finished run there is reused. Without a check, a run that changes anything else
(a learning rate, the pool, the benchmarks) would pick up the earlier run's result or checkpoints
and report them as its own. Each run therefore stores its resolved configuration in the directory
and a later run with another configuration stops at once, naming the keys that differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlselect.cache import atomic_write_json, read_json

FILE = "run_config.json"
# Where the run writes and how loudly, not what it computes: these may change between a run and its resume.
IGNORED = ("force", "verbose", "isolate_stages", "results_dir", "cache_dir", "logger")


def run_identity(cfg: DictConfig) -> dict[str, Any]:
    """The resolved configuration that decides a run's result, as it reads back from JSON."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(plain, dict)
    return json.loads(json.dumps({k: v for k, v in plain.items() if k not in IGNORED}, default=str))


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    return {k: v for key, sub in d.items() for k, v in _flat(sub, f"{prefix}{key}.").items()} if d else {prefix: {}}


def differences(old: dict, new: dict, most: int = 5) -> list[str]:
    """'key: old -> new' for each dotted key whose value differs (the first `most`, then a count)."""
    a, b = _flat(old), _flat(new)
    diff = [
        f"{k.rstrip('.')}: {a.get(k, '(unset)')!r} -> {b.get(k, '(unset)')!r}"
        for k in sorted(a.keys() | b.keys())
        if a.get(k) != b.get(k)
    ]
    return diff[:most] + ([f"and {len(diff) - most} more"] if len(diff) > most else [])


def check_run_dir(run_dir: Path, identity: dict) -> None:
    """Raise if run_dir holds a run of another configuration (a directory without the file, from an
    older rlselect, is accepted as it is)."""
    path = Path(run_dir) / FILE
    if not path.exists():
        return
    stored = read_json(path)
    if stored != identity:
        raise RunDirConflict(
            f"{run_dir} holds a run of another configuration ({'; '.join(differences(stored, identity))}). "
            "A run directory is named by selector, schedule, budget and seed only: set variant=<label> or "
            "study=<name> to keep both runs, or force=true to replace that one."
        )


def claim_run_dir(run_dir: Path, identity: dict) -> None:
    atomic_write_json(Path(run_dir) / FILE, identity)


class RunDirConflict(ValueError):
    """A run directory already holds a run of another configuration."""
