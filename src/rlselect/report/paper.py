"""The papers' numbers (docs/methods.md section 7) as data, keyed by our selector names.

A `PaperTable` holds one published table and the setting it was measured in (model, data pool,
benchmarks, budget); `applies(run)` says whether a run of ours shares that setting, so the paper's
number is shown beside ours only where the comparison means something. Accuracies are in %.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

VARIANT_ALIASES = {
    "no_warmup": {"nowarmup", "wowarmup", "withoutwarmup", "warmupoff", "nowarm"},
    "no_v": {"nov", "wov", "withoutv", "novariance", "wovariance", "withoutvariance"},
}


def numbers(text: str) -> dict[str, dict[str, float]]:
    """method -> column -> number from a header of column keys (budgets or benchmarks; `any`: at any budget)
    and one row per method, '-' where the paper has no number."""
    head, *rows = (line.split() for line in text.strip().splitlines())
    return {m: {c: float(v) for c, v in zip(head[1:], vals) if v != "-"} for m, *vals in rows}


@dataclass(frozen=True)
class PaperTable:
    source: str  # which paper and table
    model: str  # the model's hub name
    data: str  # our name of the selection pool
    benchmarks: tuple[str, ...]  # benchmarks the table reports
    rows: dict[str, dict[str, float]]  # method -> column (budget or benchmark, as text) -> number
    budget: int | None = None  # the table's single budget (None: the budget is a column; base, full: any budget)

    def applies(self, run: dict, method: str, benchmark: str | None = None) -> bool:
        """True when `run` (one of ours) was made in this table's setting."""
        return (
            (benchmark is None or benchmark in (*self.benchmarks, "avg"))
            and run.get("regime", "none") in (None, "none")
            and run.get("data") == self.data
            and same_model(run.get("model"), self.model)
            and (self.budget is None or method.split(":")[0] in ("base", "full") or run.get("budget") == self.budget)
        )

    def value(self, method: str, column) -> float | None:
        """The number of `method` in `column` (a budget or benchmark), else its any-budget number."""
        row = self.rows.get(method, {})
        return row.get(str(column), row.get("any"))


def same_model(ours: str | None, theirs: str) -> bool:
    """Hub names compared without the organisation and case: 'Qwen/Qwen2.5-7B' == 'qwen2.5-7b'."""
    return not ours or ours.lower().rstrip("/").split("/")[-1] == theirs.lower().split("/")[-1]


def method_key(selector: str, variant: str | None = None) -> str:
    """'learnalign', 'learnalign:no_warmup', 'learnalign:no_v', ... (aliases of a variant folded)."""
    if not variant:
        return selector
    flat = re.sub(r"[^a-z0-9]", "", str(variant).lower())
    return f"{selector}:{next((key for key, aliases in VARIANT_ALIASES.items() if flat in aliases), variant)}"


LEARNALIGN_GSM8K = PaperTable(
    source="LearnAlign, GSM8K table (Qwen2.5-1.5B-Instruct, pool GSM8K train)",
    model="Qwen/Qwen2.5-1.5B-Instruct",
    data="gsm8k",
    benchmarks=("gsm8k",),
    rows=numbers("""
        method        100   500  1000  2000   any
        base            -     -     -     -  55.7
        full            -     -     -     -  77.0
        random       73.1  75.1  75.6  75.5     -
        ifd          72.0  76.0  75.6  75.4     -
        token_length 72.3  74.4  76.2  75.6     -
        limr         74.2  76.2  76.1  76.7     -
        learnalign   74.8  76.4  77.5  78.3     -
    """),
)

LEARNALIGN_DAPO = PaperTable(
    source="LearnAlign, DAPO table (Qwen2.5-7B, pool DAPO-Math-17K, N = 1000) (the paper's avg is over GSM8K, "
    "MATH500, AMC23, AIME24 and CRUX)",
    model="Qwen/Qwen2.5-7B",
    data="dapo_math_17k",
    benchmarks=("gsm8k", "math500", "amc23", "aime24", "crux"),
    budget=1000,
    rows=numbers("""
        method       gsm8k math500 amc23 aime24  crux   avg
        base          26.4    67.2  18.1   16.7  25.1  30.7
        full          89.8    76.4  47.0   30.0  51.1  58.9
        random        81.1    65.0  30.1   23.3  40.8  48.1
        limr          84.2    61.6  27.1   16.7  39.9  45.9
        learnalign    88.3    70.4  35.4   30.0  44.0  54.6
    """),
)

LEARNALIGN_ABLATION = replace(  # the GSM8K table's setting
    LEARNALIGN_GSM8K,
    source="LearnAlign ablation (GSM8K, Qwen2.5-1.5B-Instruct)",
    rows=numbers("""
        method                1000  2000
        learnalign            77.5  78.3
        learnalign:no_warmup  76.6  76.6
        learnalign:no_v       75.6  76.7
        learnalign_hidden     75.7  76.6
    """),
)
ABLATION_LABELS = dict(
    zip(LEARNALIGN_ABLATION.rows, ["LearnAlign (full method)", "w/o warm-up", "w/o V", "feature similarity"])
)

# GradAlign reports the noisy-reward regime only qualitatively: share of corrupted prompts (%) among
# the selected ones at 50% corruption (text, not a number).
GRADALIGN_NOISY_SHARE = {"acc_greedy": ">80", "gradalign": "18-30"}
GRADALIGN_NOISY_SOURCE = "GradAlign's qualitative report at 50% corrupted rewards (its models, not ours)"
