"""Reading run records (results/<study>/runs.jsonl): the report stage reads nothing else."""

from __future__ import annotations

import json
from pathlib import Path


def load_runs(path: str | Path) -> list[dict]:
    """All records, the latest one winning for each (selector, schedule, budget, seed, data)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no run records yet (run the study first)")
    latest: dict[tuple, dict] = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}, line {n}: invalid JSON ({exc.msg})") from exc
        key = (
            rec.get("selector"),
            rec.get("schedule"),
            rec.get("budget"),
            rec.get("seed"),
            rec.get("data"),
            json.dumps(rec.get("variant")),
        )
        latest[key] = rec
    return list(latest.values())
