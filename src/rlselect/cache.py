"""Content-addressed stage artifacts: keys from everything a stage depends on, atomic writes.

A stage's artifact lives at `<root>/<stage>/<key>/`; the key is a hash of the stage's inputs
(model, data, stage config, seed), so a finished stage is found and skipped, and a changed input
gives a new key instead of silently reusing stale work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

log = logging.getLogger(__name__)


def _canonical(obj: Any) -> Any:
    """Plain JSON view of configs (OmegaConf, tuples, sets; keys as strings; dumps sorts them)."""
    if isinstance(obj, (DictConfig, ListConfig)):
        obj = OmegaConf.to_container(obj, resolve=True)
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, set):
        return sorted(_canonical(v) for v in obj)
    return obj  # a Path (and anything else) is written by json.dumps(default=str)


def stage_key(*parts: Any, length: int = 16) -> str:
    blob = json.dumps(_canonical(list(parts)), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def model_fingerprint(model) -> Any:
    """Identity of a model for cache keys. A path: hub id, or a local folder's weight/config file
    names, sizes and mtimes (cheap). A module: sha256 of each parameter's name, shape, dtype and
    exact bytes. Not a float sum: its reduction order, hence its last bits, changes with torch's
    thread count, and a cache written with 2 threads would refuse a rerun with 1."""
    if isinstance(model, (str, Path)):
        p = Path(model)
        if not p.is_dir():
            return {"hub": str(model)}
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in {".json", ".safetensors", ".bin"})
        return {"path": str(p.resolve()), "files": [(f.name, f.stat().st_size, int(f.stat().st_mtime)) for f in files]}
    import torch

    h = hashlib.sha256()
    with torch.no_grad():
        for name, t in model.named_parameters():
            h.update(f"{name}|{tuple(t.shape)}|{t.dtype}|{t.requires_grad}\n".encode())
            h.update(t.detach().reshape(-1).view(torch.uint8).cpu().numpy())
    return h.hexdigest()[:16]


def records_key(records: list[dict]) -> str:
    """Digest of everything a stage's output depends on in its records: ids, prompts, gold answers
    and meta (a data regime keeps the ids but changes rewards, questions or answers)."""
    return stage_key([[r["id"], r["prompt"], r["answer"], r.get("meta")] for r in records], length=24)


@contextlib.contextmanager
def stage_lock(artifact: str | Path, what: str) -> Iterator[None]:
    """Held while this process computes the shared artifact `artifact` (a stage's folder or file).

    The runs of a sweep that start together (Slurm array jobs, a parallel launcher) share one cache: the
    first to get here computes the artifact, the others wait for it (one log line), then find it and skip
    the work, instead of each computing it again and racing on its temp files. An flock, freed by the
    kernel when its holder dies, so a killed run never blocks the next. On a filesystem without flock
    (some Lustre mounts) filelock 4 falls back to its own lease-based soft lock; filelock 3 raises
    NotImplementedError there, and then this warns and runs unlocked.
    """
    from filelock import FileLock, Timeout

    path = Path(artifact)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(f"{path}.lock")
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log.info("waiting for another process computing %s (%s)", what, path)
            lock.acquire()
    except NotImplementedError:
        log.warning("no file locks on this filesystem: %s is computed without waiting for other runs", what)
        yield
        return
    try:
        yield
    finally:
        lock.release()


def build_once(done: str | Path, build: Callable[[], Any], what: str) -> bool:
    """Run `build` (which writes `done` last) unless `done` exists, once across concurrent processes
    (`stage_lock` on `done`'s folder). Whether this call built it."""
    done = Path(done)
    if done.exists():
        return False
    with stage_lock(done.parent, what):
        if done.exists():  # another run of the sweep built it while this one waited
            return False
        build()
        return True


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic on POSIX: readers see the old file or the new, never half
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    _atomic(Path(path), lambda fh: fh.write(data))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, sort_keys=False, default=str).encode())


def atomic_torch_save(path: str | Path, obj: Any) -> None:
    import torch

    _atomic(Path(path), lambda fh: torch.save(obj, fh))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def _jsonl_lock(path: Path):
    """Appends from the jobs of a sweep take turns: O_APPEND alone does not keep lines whole over NFS, where
    jobs on several nodes write the same records file."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(f"{path}.lock")


def _append_line(path: Path, obj: Any) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(obj, default=str) + "\n")


def append_jsonl(path: str | Path, obj: Any) -> None:
    """One line per call, written whole whatever other processes append at the same time."""
    path = Path(path)
    with _jsonl_lock(path):
        _append_line(path, obj)


RUN_RECORD_KEY = ("selector", "schedule", "budget", "seed", "data", "variant")


def record_size(record: dict) -> Any:
    """A run's size: the budget of a static selection; what each round keeps (`selection.n`) in rounds. That
    schedule never reads `budget` (it only names the run directory), so rounds runs made with budget=16 and
    budget=64 are one setting run twice, not two settings, nor 2n seeds of one."""
    if record.get("schedule") == "rounds" and (kept := (record.get("selection") or {}).get("n")) is not None:
        return kept
    return record.get("budget")


def run_record_key(record: dict) -> tuple:
    """What identifies a run among a study's records (the report keeps the latest record per key)."""
    return tuple(
        json.dumps(record_size(record) if k == "budget" else record.get(k), sort_keys=True) for k in RUN_RECORD_KEY
    )


def read_jsonl_objects(path: str | Path) -> list[dict]:
    """The JSON objects of a JSONL file appended by many processes; a line cut short by a killed job,
    or one that is no object, is skipped (the report's `load_runs` names such lines instead)."""
    path, rows = Path(path), []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        with contextlib.suppress(json.JSONDecodeError):
            if isinstance(row := json.loads(line), dict):
                rows.append(row)
    return rows


def append_jsonl_once(path: str | Path, record: dict) -> bool:
    """Append `record` unless a record with the same `run_record_key` is already in `path` (unreadable
    lines are skipped here; the report names them). Whether it appended."""
    path, key = Path(path), run_record_key(record)
    with _jsonl_lock(path):  # the check and the append as one step
        if any(run_record_key(row) == key for row in read_jsonl_objects(path)):
            return False
        _append_line(path, record)
        return True


def save_checkpoint(model, tokenizer, out: Path, meta: dict) -> Path:
    """Save a model + tokenizer to `out` atomically (temp folder + rename), then `done.json`
    with `meta`: a folder without done.json is a half-written attempt and is redone."""
    import shutil

    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)  # a half-written earlier attempt
    tmp.rename(out)
    atomic_write_json(out / "done.json", meta)
    return out
