"""Reading raw rows from a local file or the dataset hub, with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlselect.data.schema import DataError


def resolve_local_file(path: str | Path, split: str) -> Path:
    """`path` is a .jsonl/.json/.parquet file, or a folder holding `<split>.jsonl`."""
    p = Path(path).expanduser()
    if p.is_dir():
        for ext in (".jsonl", ".json", ".parquet"):
            candidate = p / f"{split}{ext}"
            if candidate.exists():
                return candidate
        raise DataError(f"{p}: no {split}.jsonl, {split}.json or {split}.parquet in this folder")
    if not p.exists():
        raise DataError(f"{p}: no such file")
    return p


def read_local_rows(path: str | Path, split: str) -> tuple[list[dict[str, Any]], str]:
    """Rows of a local file, plus a label naming it for error messages."""
    f = resolve_local_file(path, split)
    try:
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(f).to_pylist(), str(f)
        text = f.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{f}: cannot read ({exc})") from exc
    if f.suffix == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{f}: invalid JSON ({exc})") from exc
        return rows, str(f)
    rows = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{f}, line {line_number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise DataError(f"{f}, line {line_number}: expected a JSON object")
        rows.append(row)
    return rows, str(f)


def read_hub_rows(hub_id: str, split: str, config: str | None = None) -> tuple[list[dict], str]:
    """Rows from the dataset hub; offline machines get a message saying how to pass a local file."""
    import datasets

    label = f"hub dataset {hub_id}" + (f" ({config})" if config else "") + f" split {split}"
    try:
        ds = datasets.load_dataset(hub_id, config, split=split)
    except Exception as exc:  # network, auth, missing split: all mean "give me a local path"
        raise DataError(
            f"{label}: could not be loaded ({type(exc).__name__}: {str(exc)[:200]}). "
            "Offline? Pass a local file: rlselect.data.load(name, split, path=...) "
            "or data.path=... on the command line."
        ) from exc
    return [dict(r) for r in ds], label


def read_rows(path: str | Path | None, split: str, hub_id: str, config: str | None = None):
    return read_local_rows(path, split) if path else read_hub_rows(hub_id, split, config)


def field(row: dict, key: str, origin: str, index: int, *alternatives: str) -> Any:
    """row[key] (or the first alternative present); a missing key is an error naming file and row."""
    for k in (key, *alternatives):
        if k in row and row[k] is not None:
            return row[k]
    rid = row.get("id", row.get("unique_id", index))
    raise DataError(f"{origin}, row {index} (id {rid!r}): missing field {key!r}")
