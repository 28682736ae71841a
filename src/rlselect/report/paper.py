"""The papers' numbers (METHODS.md section 7) as data, keyed by our selector names.

A `PaperTable` holds one published table and the setting it was measured in (model, data pool,
benchmark, budget); `applies(run)` says whether a run of ours shares that setting, so the paper's
number is shown beside ours only where the comparison means something. Accuracies are in %.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ANY = None  # the column key of a number that holds at any budget (base model, full data)


@dataclass(frozen=True)
class PaperTable:
    source: str  # which paper and table
    model: str  # the model's hub name
    data: str  # our name of the selection pool
    benchmarks: tuple[str, ...]  # benchmarks the table reports
    rows: dict[str, dict[Any, Any]]  # method -> column (budget or benchmark) -> number
    budget: int | None = None  # the table's single budget (None: the budget is a column)
    note: str = ""
    fixed_methods: tuple[str, ...] = field(default=("base", "full"))  # methods whose budget is not N

    def applies(self, run: dict, method: str, benchmark: str | None = None) -> bool:
        """True when `run` (one of ours) was made in this table's setting."""
        if benchmark is not None and benchmark not in self.benchmarks and benchmark != "avg":
            return False
        if run.get("regime", "none") not in (None, "none"):
            return False
        if run.get("data") != self.data or not same_model(run.get("model"), self.model):
            return False
        if self.budget is not None and method.split(":")[0] not in self.fixed_methods:
            return run.get("budget") == self.budget
        return True

    def value(self, method: str, column: Any = ANY) -> Any:
        row = self.rows.get(method, {})
        return row.get(column, row.get(ANY))


def same_model(ours: str | None, theirs: str) -> bool:
    """Hub names compared without the organisation and case: 'Qwen/Qwen2.5-7B' == 'qwen2.5-7b'."""
    if not ours:
        return True
    return ours.lower().rstrip("/").split("/")[-1] == theirs.lower().split("/")[-1]


_VARIANT_ALIASES = {
    "no_warmup": {"nowarmup", "wowarmup", "withoutwarmup", "warmupoff", "nowarm"},
    "no_v": {"nov", "wov", "withoutv", "novariance", "wovariance", "withoutvariance"},
}


def method_key(selector: str, variant: str | None = None) -> str:
    """'learnalign', 'learnalign:no_warmup', 'learnalign:no_v', ... (aliases of a variant folded)."""
    if not variant:
        return selector
    flat = re.sub(r"[^a-z0-9]", "", str(variant).lower())
    for canonical, aliases in _VARIANT_ALIASES.items():
        if flat in aliases:
            return f"{selector}:{canonical}"
    return f"{selector}:{variant}"


LEARNALIGN_GSM8K = PaperTable(
    source="LearnAlign, GSM8K table (Qwen2.5-1.5B-Instruct, pool GSM8K train)",
    model="Qwen/Qwen2.5-1.5B-Instruct",
    data="gsm8k",
    benchmarks=("gsm8k",),
    rows={
        "base": {ANY: 55.7},
        "full": {ANY: 77.0},
        "random": {100: 73.1, 500: 75.1, 1000: 75.6, 2000: 75.5},
        "ifd": {100: 72.0, 500: 76.0, 1000: 75.6, 2000: 75.4},
        "token_length": {100: 72.3, 500: 74.4, 1000: 76.2, 2000: 75.6},
        "limr": {100: 74.2, 500: 76.2, 1000: 76.1, 2000: 76.7},
        "learnalign": {100: 74.8, 500: 76.4, 1000: 77.5, 2000: 78.3},
    },
)

LEARNALIGN_DAPO = PaperTable(
    source="LearnAlign, DAPO table (Qwen2.5-7B, pool DAPO-Math-17K, N = 1000)",
    model="Qwen/Qwen2.5-7B",
    data="dapo_math_17k",
    benchmarks=("gsm8k", "math500", "amc23", "aime24", "crux"),
    budget=1000,
    note="the paper's avg is over GSM8K, MATH500, AMC23, AIME24 and CRUX",
    rows={
        "base": {"gsm8k": 26.4, "math500": 67.2, "amc23": 18.1, "aime24": 16.7, "crux": 25.1, "avg": 30.7},
        "full": {"gsm8k": 89.8, "math500": 76.4, "amc23": 47.0, "aime24": 30.0, "crux": 51.1, "avg": 58.9},
        "random": {"gsm8k": 81.1, "math500": 65.0, "amc23": 30.1, "aime24": 23.3, "crux": 40.8, "avg": 48.1},
        "limr": {"gsm8k": 84.2, "math500": 61.6, "amc23": 27.1, "aime24": 16.7, "crux": 39.9, "avg": 45.9},
        "learnalign": {"gsm8k": 88.3, "math500": 70.4, "amc23": 35.4, "aime24": 30.0, "crux": 44.0, "avg": 54.6},
    },
)

LEARNALIGN_ABLATION = PaperTable(
    source="LearnAlign ablation (GSM8K, Qwen2.5-1.5B-Instruct)",
    model="Qwen/Qwen2.5-1.5B-Instruct",
    data="gsm8k",
    benchmarks=("gsm8k",),
    rows={
        "learnalign": {1000: 77.5, 2000: 78.3},
        "learnalign:no_warmup": {1000: 76.6, 2000: 76.6},
        "learnalign:no_v": {1000: 75.6, 2000: 76.7},
        "learnalign_hidden": {1000: 75.7, 2000: 76.6},  # "feature similarity"
    },
)

# GradAlign reports the noisy-reward regime only qualitatively: share of corrupted prompts (%) among
# the selected ones at 50% corruption (text, not a number).
GRADALIGN_NOISY_SHARE = {"acc_greedy": ">80", "gradalign": "18-30"}
GRADALIGN_NOISY_FRACTION = 0.5

ABLATION_LABELS = {
    "learnalign": "LearnAlign (full method)",
    "learnalign:no_warmup": "w/o warm-up",
    "learnalign:no_v": "w/o V",
    "learnalign_hidden": "feature similarity",
}
