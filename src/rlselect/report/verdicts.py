"""Verdicts on the papers' claims, computed from run records (never typed by hand).

One function per claim (CLAIMS); each takes one study's records (and the folder of premise diagnostics,
results/testbed) and returns {claim, verdict, evidence, n_seeds}, verdict one of VERDICTS. Each compares selectors by
the 95% Welch interval (`ci.welch`) of the difference of their means over seeds, in %:

- learnalign_beats_random: accuracy on the main benchmark (`main_benchmark`), learnalign - random above 0, in plain
  static runs of a clean pool (regime none) at the smallest budget of both below the pool size (the budget of the
  study's `full` runs; any budget without them).
- gradalign_avoids_corrupted: noisy_reward runs' `selection.corrupted_share` (rounds runs: the mean over rounds),
  gradalign - acc_greedy and gradalign - random below 0.
- gradalign_finds_target: imbalance runs' `selection.on_target_share`, gradalign - random above 0.
- low_utility_avoided: low_utility runs' `selection.low_utility_share`, gradalign - random (and learnalign - random
  where learnalign ran) below 0.
- gradalign_trains_better_under_noise: noisy_reward runs' accuracy on the main benchmark after training,
  gradalign - acc_greedy and gradalign - random above 0.

Each claim is checked in every setting (data, model, schedule, budget) whose records hold all the selectors it
compares (variant runs are left out) and reproduced when it holds in each; the evidence gives mean ± 95% CI
half-width over seeds per selector (`ci.half_width`) and each difference's interval. Fewer than two seeds on a side
give no interval, hence no "reproduced".

The premise: GradAlign and LearnAlign rank prompts by how their policy gradients align, which means something only
where prompts' gradients share directions; `python -m rlselect.diagnose` measures that per testbed (a run's `data`)
and writes results/testbed/<testbed>.json with its `criteria` (cos_clean_clean >= 0.05, oracle_auc >= 0.8). No
records -> "no data"; the claim holds -> "reproduced" (with a note when the premise fails); else "premise fails" when
a criterion is not met, "not reproduced" otherwise (criteria met, or no diagnostics). The evidence says which
criteria failed ("premise fails (results/testbed/arith.json: cos_clean_clean 0.0052 < 0.05, oracle_auc 0.5644 < 0.8)")
and when the diagnostics were measured in another regime or with another model than the runs'.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rlselect.report import ci
from rlselect.report.tables import POOL_SHARE, benchmarks_of, fmt_cell, plain_runs, pool_share, size_label

VERDICTS = ("reproduced", "not reproduced", "premise fails", "no data")
Check = tuple[str, bool, str, int]  # (setting label, the claim holds there, evidence, fewest seeds compared)


def _per_setting(runs: list[dict], check: Callable[[list[dict]], tuple[bool, str, int] | None]) -> list[Check]:
    """`check` on the runs of each setting (data, model, schedule, budget), labelled 'static N=64' (or 'rounds (16 per
    round)') with the data and model where the settings differ in them; settings where it gives None are left out."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r.get("data"), r.get("model"), r["schedule"], r["budget"]), []).append(r)
    checks: list[Check] = []
    for key in sorted(groups, key=lambda k: (*map(str, k[:3]), k[3])):
        if out := check(groups[key]):
            extra = [str(v) for i, v in enumerate(key[:2]) if len({k[i] for k in groups}) > 1]
            size = f"N={key[3]}" if key[2] != "rounds" else f"({size_label(key[2], key[3], groups[key])})"
            checks.append((" ".join([*extra, key[2], size]), *out))
    return checks


def _cell(values: list[float]) -> str:
    mean, std = ci.mean_std(values)
    return fmt_cell(mean, ci.half_width(std, len(values)), len(values), None)


def _compare(
    runs: list[dict], ours: list[str], other: list[str], get, what: str, above: bool, pool: str = ""
) -> tuple[bool, str, int] | None:
    """Each of `ours` against each of `other` on `get(run)` in % (runs without it left out): holds when every
    difference interval lies above 0 (`above`) or below. None when a selector has no values."""
    vals = {
        s: [100.0 * v for r in runs if r["selector"] == s and (v := get(r)) is not None]
        for s in dict.fromkeys([*ours, *other])
    }
    if not all(vals.values()):
        return None
    cells = ", ".join(f"{s} {_cell(v)}" for s, v in vals.items())
    parts, holds = [f"{what} {cells}{pool}"], True
    for a in ours:
        for b in other:
            iv = ci.welch(vals[a], vals[b])
            holds &= iv.above_zero if above else iv.below_zero
            parts.append(f"{a} - {b}: {iv.text()}")
    return holds, "; ".join(parts), min(len(v) for v in vals.values())


def premise(runs: list[dict], testbed_dir: str | Path | None) -> tuple[bool | None, str]:
    """(True when a criterion of the runs' testbed is not met, None without diagnostics, the text for the evidence)."""
    if testbed_dir is None:
        return None, ""
    testbed_dir = Path(testbed_dir)
    fails, texts = None, []
    for data in sorted({str(r.get("data")) for r in runs}):
        shown = Path(testbed_dir.parent.name, testbed_dir.name, f"{data}.json").as_posix()
        path = testbed_dir / f"{data}.json"
        if not path.exists():
            texts.append(f"premise not measured (no {shown})")
            continue
        result = json.loads(path.read_text())
        failed = []
        for name, met in (result.get("criteria") or {}).items():
            if met is False:
                key, _, threshold = name.partition(" >= ")
                value = result.get(key)
                failed.append(f"{key} {value:.4f} < {threshold}" if isinstance(value, (int, float)) else name)
        other = [
            f"{k} {result[k]}"
            for k in ("regime", "model")
            if result.get(k) is not None and {str(r.get(k)) for r in runs} != {str(result[k])}
        ]
        where = f" (measured with {', '.join(other)})" if other else ""
        if failed:
            fails = True
            texts.append(f"premise fails ({shown}: {', '.join(failed)}){where}")
        else:
            fails = fails or (False if result.get("criteria") else None)
            texts.append(f"premise met ({shown}){where}" if result.get("criteria") else f"no criteria in {shown}")
    return fails, "; ".join(texts)


def _verdict(claim: str, runs: list[dict], checks: list[Check], testbed_dir, missing: str) -> dict:
    if not checks:
        return {"claim": claim, "verdict": "no data", "evidence": missing, "n_seeds": 0}
    holds = all(c[1] for c in checks)
    fails, premise_text = premise(runs, testbed_dir)
    verdict = "reproduced" if holds else "premise fails" if fails else "not reproduced"
    evidence = " — ".join(f"{label}: {text}" for label, _, text, _ in checks)
    if premise_text:
        evidence += f" — {'note: ' if holds and fails else ''}{premise_text}"
    return {"claim": claim, "verdict": verdict, "evidence": evidence, "n_seeds": min(c[3] for c in checks)}


def _share_claim(
    claim: str, runs: list[dict], testbed_dir, share: str, ours: list[str], other: list[str], above: bool
) -> dict:
    regime = POOL_SHARE[share][0]
    runs = [r for r in plain_runs(runs) if r.get("regime") == regime]
    pool = pool_share(runs, share)
    pool_text = f" (pool's own share {100 * pool[0]:.0f} = {pool[1]})" if pool else ""
    what = f"{share.removesuffix('_share').replace('_', '-')} share (%):"

    def check(rs: list[dict]):  # the first of `ours` is required, the others optional
        mine = [s for s in ours if s == ours[0] or s in {r["selector"] for r in rs}]
        return _compare(rs, mine, other, lambda r: (r.get("selection") or {}).get(share), what, above, pool_text)

    missing = f"no {regime} runs with {', '.join([ours[0], *other])} and a {share}" if runs else f"no {regime} runs"
    return _verdict(claim, runs, _per_setting(runs, check), testbed_dir, missing)


def main_benchmark(runs: list[dict]) -> str | None:
    """The benchmark named like the runs' data (gsm8k for a GSM8K pool), else the first in BENCHMARK_ORDER."""
    benches = benchmarks_of(runs)  # in BENCHMARK_ORDER
    named = [b for b in benches if b in {r.get("data") for r in runs}]
    return (named or benches or [None])[0]


def _accuracy(bench: str) -> Callable[[dict], float | None]:
    return lambda r: (r["metrics"].get(bench) or {}).get("accuracy")


def learnalign_beats_random(runs: list[dict], testbed_dir: str | Path | None = None) -> dict:
    claim = "LearnAlign beats random at small budgets"
    clean = [r for r in plain_runs(runs) if r.get("regime") in (None, "none")]
    pools = list(dict.fromkeys((r.get("data"), r.get("model")) for r in clean))
    checks: list[Check] = []
    for data, model in pools:
        rs = [r for r in clean if (r.get("data"), r.get("model")) == (data, model)]
        bench = main_benchmark(rs)
        pool = max((r["budget"] for r in rs if r["selector"] == "full"), default=None)
        static = [r for r in rs if r["schedule"] == "static" and (pool is None or r["budget"] < pool)]
        common = {r["budget"] for r in static if r["selector"] == "learnalign"}
        common &= {r["budget"] for r in static if r["selector"] == "random"}
        if not common or bench is None:
            continue
        budget = min(common)
        at = [r for r in static if r["budget"] == budget]
        if out := _compare(at, ["learnalign"], ["random"], _accuracy(bench), f"{bench} accuracy (%):", above=True):
            label = f"{data} {model} " if len(pools) > 1 else ""
            label += f"static N={budget}, the smallest budget" + (f" (pool {pool})" if pool else "")
            checks.append((label, *out))
    missing = "no clean-pool static runs of learnalign and random at a common budget below the pool size"
    return _verdict(claim, clean, checks, testbed_dir, missing)


def gradalign_avoids_corrupted(runs: list[dict], testbed_dir: str | Path | None = None) -> dict:
    claim = "GradAlign keeps the corrupted share far below acc_greedy's and random's"
    return _share_claim(claim, runs, testbed_dir, "corrupted_share", ["gradalign"], ["acc_greedy", "random"], False)


def gradalign_finds_target(runs: list[dict], testbed_dir: str | Path | None = None) -> dict:
    claim = "GradAlign finds the target family"
    return _share_claim(claim, runs, testbed_dir, "on_target_share", ["gradalign"], ["random"], True)


def low_utility_avoided(runs: list[dict], testbed_dir: str | Path | None = None) -> dict:
    claim = "Low-utility items avoided"
    return _share_claim(claim, runs, testbed_dir, "low_utility_share", ["gradalign", "learnalign"], ["random"], False)


def gradalign_trains_better_under_noise(runs: list[dict], testbed_dir: str | Path | None = None) -> dict:
    claim = "Under noisy rewards GradAlign's selection trains a more accurate policy than acc_greedy's and random's"
    runs = [r for r in plain_runs(runs) if r.get("regime") == "noisy_reward" and r.get("metrics")]

    def check(rs: list[dict]):
        if (bench := main_benchmark(rs)) is None:
            return None
        return _compare(rs, ["gradalign"], ["acc_greedy", "random"], _accuracy(bench), f"{bench} accuracy (%):", True)

    missing = "no noisy_reward runs with gradalign, acc_greedy, random and an accuracy after training"
    return _verdict(claim, runs, _per_setting(runs, check), testbed_dir, missing)


CLAIMS = (
    learnalign_beats_random,
    gradalign_avoids_corrupted,
    gradalign_finds_target,
    low_utility_avoided,
    gradalign_trains_better_under_noise,
)


def verdicts(runs: list[dict], testbed_dir: str | Path | None = None) -> list[dict]:
    """Every claim's verdict on one study's runs."""
    return [claim(runs, testbed_dir) for claim in CLAIMS]


def verdict_line(v: dict, study: str | None = None) -> str:
    tag = f" [{study}]" if study else ""
    seeds = f" (n = {v['n_seeds']} seed{'s' * (v['n_seeds'] != 1)})" if v["n_seeds"] else ""
    return f"- **{v['claim']}**{tag}: {v['verdict']}{seeds}. {v['evidence']}"


def verdicts_markdown(runs: list[dict], testbed_dir: str | Path | None = None, all_claims: bool = False) -> str:
    """One line per claim the runs test (every claim with `all_claims`), per study when the runs span several (their
    `study` field), e.g. for the README: verdicts_markdown(runs of every study, "results/testbed")."""
    by_study: dict[str | None, list[dict]] = {}
    for r in runs:
        by_study.setdefault(r.get("study"), []).append(r)
    lines = []
    for study, rs in by_study.items():
        for v in verdicts(rs, testbed_dir):
            if all_claims or v["verdict"] != "no data":
                lines.append(verdict_line(v, study if len(by_study) > 1 else None))
    return "\n".join(lines or ["- No claim of the papers is tested by these runs."]) + "\n"


RULE = (
    "Computed from runs.jsonl by `rlselect.report.verdicts`: reproduced when the 95% Welch t-interval over seeds "
    "of the difference of means lies on the claimed side of 0 in every setting tested; cells are mean ± 95% CI "
    'half-width (t-interval over seeds), in %. "premise fails": not reproduced and the testbed\'s premise '
    "diagnostics (results/testbed/<data>.json, `python -m rlselect.diagnose`) miss a criterion; a reproduced claim "
    "stays reproduced, with a note."
)


def claims_section(runs: list[dict], testbed_dir: str | Path | None = None) -> str:
    """The "Claims" section of a study's tables.md."""
    return f"## Claims\n\n{RULE}\n\n{verdicts_markdown(runs, testbed_dir)}"
