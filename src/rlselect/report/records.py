"""Reading run records (results/<study>/runs.jsonl): the report stage reads nothing else."""

from __future__ import annotations

import json
import statistics
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
        key = (rec.get("selector"), rec.get("schedule"), rec.get("budget"), rec.get("seed"), rec.get("data"),
               json.dumps(rec.get("variant")))
        latest[key] = rec
    return list(latest.values())


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt_pm(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    m, s = mean_std([v * scale for v in values])
    return f"{m:.{digits}f} ± {s:.{digits}f}"
