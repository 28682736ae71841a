"""Reading raw rows from a local file or the dataset hub, and turning them into records with errors
that name the file, line or row, and the row's id."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlselect.data.schema import DataError, validate_records

SUFFIXES = (".jsonl", ".json", ".parquet")


def resolve_local_file(path: str | Path, split: str) -> Path:
    """`path` is a .jsonl/.json/.parquet file, or a folder holding `<split>.jsonl`."""
    p = Path(path).expanduser()
    if p.is_dir():
        if found := [p / f"{split}{ext}" for ext in SUFFIXES if (p / f"{split}{ext}").exists()]:
            return found[0]
        # eval.data_dir takes the folder above the datasets' folders; data.path takes one dataset's own
        inside = sorted(
            d.name for d in p.iterdir() if d.is_dir() and any((d / f"{split}{e}").exists() for e in SUFFIXES)
        )
        message = f"{p}: no {split}.jsonl, {split}.json or {split}.parquet in this folder"
        if inside:
            message += (
                f" (its subfolders {', '.join(inside)} hold one: give the dataset's own folder, e.g. {p / inside[0]})"
            )
        raise DataError(message)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    return p


def read_rows(path: str | Path | None, split: str, hub_id: str, config: str | None = None) -> tuple[list[dict], str]:
    """Rows of the local file or folder `path`, else of the hub dataset, plus a label naming them for
    error messages; offline machines get a message saying how to pass a local file."""
    if not path:
        import datasets

        label = f"hub dataset {hub_id}" + (f" ({config})" if config else "") + f" split {split}"
        try:
            return datasets.load_dataset(hub_id, config, split=split).to_list(), label
        except Exception as exc:  # network, auth, missing split: all mean "give me a local path"
            raise DataError(
                f"{label}: could not be loaded ({type(exc).__name__}: {str(exc)[:200]}). "
                "Offline? Pass a local file: rlselect.data.load(name, split, path=...) "
                "or data.path=... on the command line."
            ) from exc
    f = resolve_local_file(path, split)
    try:
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(f).to_pylist(), str(f)
        text = f.read_text(encoding="utf-8-sig")  # -sig: a leading BOM (Windows editors) is dropped
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{f}: cannot read ({exc})") from exc
    if f.suffix == ".json" and text.lstrip().startswith("["):
        try:
            return json.loads(text), str(f)
        except json.JSONDecodeError as exc:
            raise DataError(f"{f}: invalid JSON ({exc})") from exc
    rows = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(f"{f}, line {line_number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(rows[-1], dict):
            raise DataError(f"{f}, line {line_number}: expected a JSON object")
    return rows, str(f)


def field(row: dict, key: str, *alternatives: str) -> Any:
    """row[key] (or the first alternative present and not null); else a DataError."""
    for k in (key, *alternatives):
        if row.get(k) is not None:
            return row[k]
    raise DataError(f"missing field {key!r}")


def convert_rows(rows: list[dict], origin: str, convert: Callable[[dict, int], dict | None]) -> list[dict]:
    """Validated records `convert(row, index)` (None: skip the row). A DataError raised for a row is
    re-raised naming `origin` (the file or hub split), the row (counted from 1) and its own id."""
    records = []
    for i, row in enumerate(rows):
        try:
            record = convert(row, i)
        except DataError as exc:
            rid = row.get("id", row.get("unique_id"))
            where = f"{origin}, row {i + 1}"  # counted from 1: a JSON-lines file's line number
            raise DataError(where + (f" (id {rid!r})" if rid is not None else "") + f": {exc}") from exc
        if record is not None:
            records.append(record)
    return validate_records(records, origin)
