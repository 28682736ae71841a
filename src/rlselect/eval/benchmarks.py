"""The evaluation benchmarks: names, lm-eval task names, and where their problems come from.

Every benchmark is read through `rlselect.data.load_records`, so evaluation sees the same
canonical records (id, question, answer, prompt, ...) as training and selection. The task YAMLs in
`tasks/` point lm-eval's `custom_dataset` hook at `custom_dataset` below.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TASKS_DIR = Path(__file__).parent / "tasks"
TEMPLATE = TASKS_DIR / "_rlselect_math_template"

# benchmark name (= rlselect.data loader name) -> lm-eval task name (tasks/rlselect_<name>.yaml)
BENCHMARKS = {name: f"rlselect_{name}" for name in ("arith", "digits", "gsm8k", "math500", "aime24", "aime25", "amc23")}
# Generated in code: takes a seed (eval.arith_seed), never a data folder.
GENERATED = {"arith", "digits"}


def is_benchmark(name: str) -> bool:
    """A shipped benchmark, or any dataset registered in rlselect.data (evaluated with the shipped
    task template, see `task_paths`)."""
    from rlselect.data import LOADERS

    return name in BENCHMARKS or name in LOADERS


def task_name(benchmark: str) -> str:
    """The lm-eval task of a benchmark (ValueError listing the known ones)."""
    from rlselect.data import LOADERS

    if not is_benchmark(benchmark):
        known = sorted({*BENCHMARKS, *LOADERS})
        raise ValueError(f"unknown benchmark {benchmark!r}; available: {', '.join(known)} (or register a dataset)")
    return f"rlselect_{benchmark}"


def task_paths(benchmarks, scratch: str | Path) -> list[str]:
    """Folders for lm-eval's TaskManager(include_path=...): the shipped tasks, plus `scratch` with
    a task YAML for every registered dataset that has none shipped (the shipped template, pointed
    at that dataset), so that a dataset added in one file is also a benchmark."""
    own = [name for name in dict.fromkeys(benchmarks) if name not in BENCHMARKS]
    for name in own:
        task = f"include: {json.dumps(str(TEMPLATE))}\ntask: {task_name(name)}\ndataset_kwargs:\n  benchmark: {name}\n"
        Path(scratch, f"{task_name(name)}.yaml").write_text(task)
    return [str(TASKS_DIR), *([str(scratch)] if own else [])]


def task_yaml(benchmark: str) -> str:
    """Where a benchmark's task is defined (recorded with its results)."""
    if benchmark in BENCHMARKS:
        return str(TASKS_DIR / f"{BENCHMARKS[benchmark]}.yaml")
    return f"{TEMPLATE} (dataset_kwargs.benchmark={benchmark})"


def data_path(benchmark: str, data_dir: str | Path | None) -> Path | None:
    """<data_dir>/<benchmark> when it exists; None means the dataset hub (or code, for arith)."""
    if benchmark in GENERATED or data_dir in (None, ""):
        return None
    p = Path(data_dir).expanduser() / benchmark
    if not p.exists():
        log.warning("%s: no folder %s; falling back to the dataset hub", benchmark, p)
        return None
    return p


def check_reachable(benchmark: str, data_dir, split: str = "test") -> None:
    """Offline, a benchmark read from files needs its folder under data_dir: without it the hub
    fallback fails, and only when the evaluation starts (after training, in a run)."""
    from rlselect import OFFLINE_VARS, hub_offline

    if benchmark in GENERATED or not hub_offline():
        return
    folder = f"{Path(str(data_dir)).expanduser() / benchmark}" if data_dir not in (None, "") else None
    if folder is None or not Path(folder).is_dir():
        where = f"there is no folder {folder}" if folder else "no data_dir is set"
        message = (
            f"eval: {benchmark}: {where} and the dataset hub is offline ({' / '.join(OFFLINE_VARS)}); "
            f"point eval.data_dir (--data-dir) at a folder holding {benchmark}/{split}.jsonl"
        )
        if folder and (parent := Path(folder).parent).joinpath(f"{split}.jsonl").exists():  # the dataset's own folder
            message += f" ({parent} holds {split}.jsonl itself: give the folder above it, {parent.parent})"
        raise ValueError(message)


def describe_source(benchmark: str, split: str, data_dir=None, arith_seed: int = 0, family: str | None = None) -> str:
    """A short, human-readable label of where the problems come from (recorded in results)."""
    src = f"hub:{benchmark}:{split}"
    if benchmark in GENERATED:
        src = f"{benchmark}:{split} (generated in code, seed {arith_seed})"
    elif (p := data_path(benchmark, data_dir)) is not None:
        from rlselect.data.io import resolve_local_file

        try:
            src = str(resolve_local_file(p, split).resolve())
        except Exception:  # noqa: BLE001 - the loader raises the real error with a clear message
            src = str(p)
    return f"{src} [family {family}]" if family else src


def load_benchmark(benchmark: str, split: str = "test", data_dir=None, arith_seed: int = 0, family=None) -> list[dict]:
    """Canonical records of one benchmark split (local folder, hub, or generated); `family` keeps
    only the records whose meta.family matches (GradAlign's imbalance regime tests the target
    family alone)."""
    from rlselect.data import load_records

    task_name(benchmark)  # validates the name
    kw = {"seed": int(arith_seed)} if benchmark in GENERATED else {"path": data_path(benchmark, data_dir)}
    records = load_records(benchmark, split, **kw)
    if family:
        kept = [r for r in records if r["meta"].get("family") == family]
        if not kept:
            found = sorted({str(r["meta"].get("family")) for r in records})
            raise ValueError(f"eval family={family!r}: no {benchmark}:{split} problem has it; families: {found}")
        records = kept
    return records


def records_digest(records: list[dict]) -> str:
    """sha256 over (id, question, answer) of the evaluated problems: identifies the data exactly."""
    lines = (json.dumps([r["id"], r["question"], r["answer"]], ensure_ascii=False) + "\n" for r in records)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


# ---------------------------------------------------------------- lm-eval hooks (tasks/utils.py)


def custom_dataset(benchmark: str, data_dir=None, eval_split="test", arith_seed=0, family=None, **_unused: Any):
    """lm-eval `custom_dataset` hook: the benchmark's records as DatasetDict {"test": Dataset}; the
    arguments are the task metadata (TaskManager(metadata=...) or `lm_eval --metadata '{...}'`)."""
    import datasets

    records = load_benchmark(benchmark, eval_split, data_dir=data_dir, arith_seed=arith_seed, family=family)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(records)})


def doc_to_text(doc: dict) -> str:
    """The user turn of the record's chat prompt (problem + boxed-answer instruction), which lm-eval
    wraps in the model's chat template (apply_chat_template=True)."""
    if (roles := [m.get("role") for m in doc.get("prompt") or []]) != ["user"]:
        raise ValueError(f"record {doc.get('id')!r}: expected a prompt with exactly one user turn, got {roles}")
    return doc["prompt"][0]["content"]


def eval_test_items(eval_cfg: Any) -> tuple[list[dict], list[str]]:
    """(records, unloaded): the problems of every benchmark an eval config evaluates on, read only
    where they are available without the network, and a line per benchmark that could not be read.

    eval_cfg: a conf/eval group (dict or OmegaConf node) read as `rlselect.eval.run_config` reads it
    (`runs`; `split`, `data_dir`, `arith_seed` shared or a run's own). Generated benchmarks come from
    code; the others from <data_dir>/<benchmark>/<split>.jsonl|.json|.parquet, never from the dataset
    hub. The whole split is returned, whatever `limit` or `family` restrict an evaluation to.
    """
    from omegaconf import OmegaConf

    from rlselect.data import load_records

    cfg = OmegaConf.to_container(eval_cfg, resolve=True) if OmegaConf.is_config(eval_cfg) else dict(eval_cfg or {})
    records, unloaded, seen = [], [], set()
    for run in cfg.get("runs") or []:
        settings = {**cfg, **dict(run)}
        split, data_dir = str(settings.get("split") or "test"), settings.get("data_dir")
        names = run.get("benchmarks") or []
        for name in names.split(",") if isinstance(names, str) else names:
            name = str(name).strip()
            where = (name, split, int(settings.get("arith_seed") or 0) if name in GENERATED else str(data_dir))
            if not name or where in seen:
                continue
            seen.add(where)
            folder = Path(str(data_dir)).expanduser() / name
            if not is_benchmark(name):
                unloaded.append(f"{name}: unknown benchmark")
            elif name not in GENERATED and not data_dir:
                unloaded.append(f"{name}:{split}: eval.data_dir is null (the dataset hub is not queried)")
            elif name not in GENERATED and not folder.is_dir():
                unloaded.append(f"{name}:{split}: no folder {folder}")
            else:
                kw = {"seed": where[2]} if name in GENERATED else {"path": folder}
                try:
                    records += load_records(name, split, **kw)
                except (ValueError, OSError) as exc:  # DataError is a ValueError
                    unloaded.append(f"{name}:{split}: {exc}")
    return records, unloaded
