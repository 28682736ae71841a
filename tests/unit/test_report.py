"""Tables and figures from hand-made run records: means, 95% CI half-widths, the paper column, cost, files."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from rlselect.report import build, figures, paper, tables
from rlselect.report.__main__ import main
from rlselect.report.build import load_runs
from rlselect.report.tables import base_vs_trained

PNG = b"\x89PNG\r\n\x1a\n"
QWEN15 = "Qwen/Qwen2.5-1.5B-Instruct"

# GSM8K accuracies (fractions) per (selector, budget) for seeds 0, 1, 2.
GSM8K_ACC = {
    ("random", 100): [0.70, 0.72, 0.75],
    ("random", 500): [0.74, 0.75, 0.77],
    ("learnalign", 100): [0.74, 0.75, 0.73],
    ("learnalign", 500): [0.76, 0.78, 0.77],
    ("learnalign", 1000): [0.78, 0.77, 0.79],
    ("full", 7473): [0.80, 0.79, 0.81],
}
BASE_ACC = 0.55


def record(
    selector,
    budget,
    seed,
    acc,
    *,
    study="fx",
    variant=None,
    data="gsm8k",
    model=QWEN15,
    regime="none",
    schedule="static",
    selection=None,
    base=BASE_ACC,
    benches=("gsm8k",),
    run_dir=None,
    seconds=None,
    rollouts=1000,
):
    def metric(a):
        return {
            "accuracy": a,
            "stderr": 0.01,
            "protocol": "greedy",
            "k": None,
            "n_problems": 1319,
            "limit": None,
        }

    accs = acc if isinstance(acc, dict) else dict.fromkeys(benches, acc)
    bases = base if isinstance(base, dict) else dict.fromkeys(accs, base)
    return {
        "study": study,
        "selector": selector,
        "schedule": schedule,
        "budget": budget,
        "seed": seed,
        "variant": variant,
        "model": model,
        "data": data,
        "regime": regime,
        "metrics": {b: metric(a) for b, a in accs.items()},
        "base_metrics": {b: metric(a) for b, a in bases.items()},
        "selection": selection or {"n": budget, "mean_success_rate": 0.5},
        "cost": {
            "seconds": seconds
            or {
                "model": 1.0,
                "rollouts": 10.0,
                "selection": 2.0,
                "train": 30.0,
                "eval_base": 5.0,
                "eval_trained": 5.0,
                "total": 53.0,
            },
            "rollouts_generated": rollouts,
            "train_steps": 10,
        },
        "run_dir": run_dir,
    }


def write_runs(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def unpad(md):
    """Table lines without to_markdown's padding, '| a | b |', to match cells by their text."""
    return "\n".join(
        "| " + " | ".join(c.strip() for c in line.strip()[1:-1].split("|")) + " |" if line.startswith("|") else line
        for line in md.splitlines()
    )


# t(0.975, n - 1), the two-sided 95% quantiles, by hand (tables of Student's t) for the seed counts used here
T975 = {2: 12.706204736174707, 3: 4.302652729911275, 4: 3.182446305284263, 5: 2.7764451051977987}


def pm(fracs):
    """'mean ± h' in %, h = t(0.975, n - 1) * s / sqrt(n): the half-width of the 95% t-interval over seeds."""
    vals = [100 * a for a in fracs]
    half = T975[len(vals)] * statistics.stdev(vals) / math.sqrt(len(vals))
    return f"{statistics.fmean(vals):.1f} ± {half:.1f}"


@pytest.fixture
def gsm8k_study(tmp_path):
    """Budget sweep + ablation in LearnAlign's GSM8K setting; one stale record superseded."""
    recs = [record("random", 100, 0, 0.10)]  # stale: the later record of the same key wins
    for (sel, budget), accs in GSM8K_ACC.items():
        for seed, a in enumerate(accs):
            run_dir = tmp_path / "runs" / f"{sel}-b{budget}-s{seed}"
            summary = run_dir / "train" / "final" / "train_summary.json"
            summary.parent.mkdir(parents=True)
            summary.write_text(
                json.dumps(
                    {
                        "log_history": [{"step": s, "reward": 0.1 * s + seed / 10} for s in range(1, 6)]
                        + [{"train_runtime": 1.0}]
                    }
                )
            )
            recs.append(
                record(
                    sel,
                    budget,
                    seed,
                    a,
                    run_dir=str(run_dir),
                    seconds={"rollouts": 10.0 + seed, "selection": 2.0 * (budget > 100), "train": 30.0},
                    rollouts=1000 + 100 * seed,
                )
            )
    for seed, a in enumerate([0.76, 0.77, 0.75]):
        recs.append(record("learnalign", 1000, seed, a, variant="no_warmup"))
        recs.append(record("learnalign", 1000, seed, a - 0.01, variant="w/o V"))
        recs.append(record("learnalign_hidden", 1000, seed, a - 0.02))
    write_runs(tmp_path / "results" / "fx" / "runs.jsonl", recs)
    return tmp_path / "results" / "fx"


@pytest.fixture
def noisy_study(tmp_path):
    """GradAlign's noisy-reward regime: static runs with corrupted_share, rounds runs with per-round shares."""
    recs = []
    shares = {"random": [0.50, 0.48, 0.52], "acc_greedy": [0.85, 0.82, 0.88], "gradalign": [0.20, 0.25, 0.30]}
    for sel, ss in shares.items():
        for seed, s in enumerate(ss):
            recs.append(
                record(
                    sel,
                    64,
                    seed,
                    0.4 + s / 10,
                    study="noisy",
                    data="dapo_math_17k",
                    regime="noisy_reward",
                    selection={"n": 64, "mean_success_rate": 0.5, "corrupted_share": s},
                )
            )
            rounds = [
                {
                    "round": t,
                    "n": 8,
                    "mean_success_rate": 0.5,
                    "corrupted_share": s + 0.01 * t,
                    "seconds": 1.5,
                    "rollouts_generated": 64,
                }
                for t in range(3)
            ]
            recs.append(
                record(
                    sel,
                    8,
                    seed,
                    0.45,
                    study="noisy",
                    data="dapo_math_17k",
                    regime="noisy_reward",
                    schedule="rounds",
                    selection={"n": 8, "rounds": rounds, "corrupted_share": s + 0.01},
                )
            )
    write_runs(tmp_path / "results" / "noisy" / "runs.jsonl", recs)
    return tmp_path / "results" / "noisy", shares


def test_load_runs_latest_record_wins(gsm8k_study):
    runs = load_runs(gsm8k_study / "runs.jsonl")
    r = [x for x in runs if x["selector"] == "random" and x["budget"] == 100 and x["seed"] == 0]
    assert len(r) == 1 and r[0]["metrics"]["gsm8k"]["accuracy"] == 0.70
    assert len(runs) == 18 + 9  # the variants are distinct keys


def test_budget_table_means_stds_paper_and_cost(gsm8k_study):
    runs = load_runs(gsm8k_study / "runs.jsonl")
    md, tex = tables.budget_table(runs, "gsm8k")
    md = unpad(md)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in md.splitlines() if line.startswith("| ")}
    assert "| method | seeds | N=100 | N=500 | N=1000 | rollouts |" in md
    assert f"{pm(GSM8K_ACC[('random', 100)])} (paper 73.1)" in rows["random"]
    assert f"{pm(GSM8K_ACC[('random', 500)])} (paper 75.1)" in rows["random"]
    assert f"{pm(GSM8K_ACC[('learnalign', 1000)])} (paper 77.5)" in rows["learnalign"]
    assert f"{pm(GSM8K_ACC[('full', 7473)])} (paper 77.0)" in rows["full (N=7473)"]
    assert "55.0 ± 0.0 (paper 55.7)" in rows["base (no RL)"]
    assert "no_warmup" not in md  # variant runs only appear in the ablation table
    assert rows["learnalign_hidden"].count("—") == 2 and "paper" not in rows["learnalign_hidden"]
    # cost: completions generated for selection, mean over the row's runs (seconds vary: not in tables)
    assert rows["random"].endswith("| 1100 |") and " s |" not in md
    assert "| 3 |" in rows["random"] and "| — |" in rows["random"]  # random has no N=1000 runs
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"$\pm$" in tex
    assert r"73.1" in tex


def test_paper_column_only_in_the_papers_setting(gsm8k_study):
    runs = [dict(r, model="tiny", data="arith") for r in load_runs(gsm8k_study / "runs.jsonl")]
    md, _ = tables.budget_table(
        [
            dict(r, metrics={"arith": r["metrics"]["gsm8k"]}, base_metrics={"arith": r["base_metrics"]["gsm8k"]})
            for r in runs
        ],
        "arith",
    )
    assert "paper" not in md.split("**")[2]  # the caption may name it; no cell does
    assert paper.LEARNALIGN_GSM8K.applies({"model": "qwen2.5-1.5b-instruct", "data": "gsm8k"}, "random")
    assert not paper.LEARNALIGN_GSM8K.applies({"model": QWEN15, "data": "gsm8k", "regime": "noisy_reward"}, "random")


def test_ablation_table(gsm8k_study):
    runs = load_runs(gsm8k_study / "runs.jsonl")
    md, tex = tables.ablation_table(runs, "gsm8k")
    md = unpad(md)
    assert "| variant | seeds | N=1000 |" in md
    assert f"{pm([0.76, 0.77, 0.75])} (paper 76.6)" in md  # w/o warm-up
    assert f"{pm([0.75, 0.76, 0.74])} (paper 75.6)" in md  # w/o V ("w/o V" folds to no_v)
    assert f"{pm([0.74, 0.75, 0.73])} (paper 75.7)" in md  # feature similarity
    assert f"{pm(GSM8K_ACC[('learnalign', 1000)])} (paper 77.5)" in md
    assert r"learnalign\_hidden" in tex and r"learnalign:no\_warmup" in tex and "learnalign_hidden" not in tex


def test_benchmark_table_dapo_setting(tmp_path):
    accs = {
        "random": [{"gsm8k": 0.80, "math500": 0.60}, {"gsm8k": 0.82, "math500": 0.64}],
        "learnalign": [{"gsm8k": 0.88, "math500": 0.70}, {"gsm8k": 0.86, "math500": 0.70}],
    }
    runs = [
        record(sel, 1000, seed, a, data="dapo_math_17k", model="Qwen/Qwen2.5-7B", base={"gsm8k": 0.26, "math500": 0.67})
        for sel, seeds in accs.items()
        for seed, a in enumerate(seeds)
    ]
    md, tex = tables.benchmark_table(runs)
    md = unpad(md)
    assert "| method | seeds | gsm8k (greedy) | math500 (greedy) | avg | rollouts |" in md
    row = next(line for line in md.splitlines() if line.startswith("| random"))
    assert f"{pm([0.80, 0.82])} (paper 81.1)" in row and f"{pm([0.60, 0.64])} (paper 65.0)" in row
    assert f"{pm([0.70, 0.73])} (paper 48.1) | 1000 |" in row  # avg of each seed's benchmarks; cost
    assert "26.0 ± 0.0 (paper 26.4)" in md and "CRUX" in md  # the caption names the paper's avg set
    other_budget = [dict(r, budget=500) for r in runs]
    assert "(paper 81.1)" not in tables.benchmark_table(other_budget)[0]
    assert r"\midrule" in tex


def test_noisy_table(noisy_study):
    study_dir, shares = noisy_study
    runs = load_runs(study_dir / "runs.jsonl")
    md, tex = tables.noisy_table(runs, "gsm8k")
    md = unpad(md)
    row = next(line for line in md.splitlines() if line.startswith("| acc_greedy (static)"))
    assert f"{pm(shares['acc_greedy'])} (paper >80)" in row
    assert pm([0.4 + s / 10 for s in shares["acc_greedy"]]) in row
    grad = next(line for line in md.splitlines() if line.startswith("| gradalign (rounds)"))
    assert f"{pm([s + 0.01 for s in shares['gradalign']])} (paper 18-30)" in grad
    assert r"acc\_greedy" in tex and r"$>$80" in tex


def test_build_study_writes_tables_and_pngs(gsm8k_study, noisy_study):
    files = build.build_study(gsm8k_study)
    names = {f.name for f in files}
    assert {"tables.md", "tables.tex", "accuracy_vs_budget_gsm8k.png", "reward_curves.png"} <= names
    md = (gsm8k_study / "tables.md").read_text()
    assert "N=500" in md and "Ablation" in md
    assert (gsm8k_study / "tables.tex").read_text().count(r"\toprule") == 2
    for f in files:
        assert f.exists()
        if f.suffix == ".png":
            assert f.read_bytes()[:8] == PNG
    study_dir, _ = noisy_study
    names = {f.name for f in build.build_study(study_dir)}
    assert {"corrupted_share_per_round.png", "corrupted_share_bars.png"} <= names
    assert "reward_curves.png" not in names  # no run_dir with a train summary
    noisy_md = (study_dir / "tables.md").read_text()
    assert "corrupted share" in noisy_md and "by method and budget" not in noisy_md  # rounds size is no budget


def test_a_study_with_mixed_evaluations_says_so_in_its_captions_and_warns_once(gsm8k_study, caplog):
    runs = load_runs(gsm8k_study / "runs.jsonl")
    runs[0]["metrics"]["gsm8k"]["limit"] = 20  # one run reevaluated with eval.limit=20
    write_runs(gsm8k_study / "runs.jsonl", runs)
    with caplog.at_level("WARNING", logger="rlselect.report"):
        build.build_study(gsm8k_study)
    warned = [r.getMessage() for r in caplog.records if "evaluated in different ways" in r.getMessage()]
    assert len(warned) == 1 and "gsm8k" in warned[0] and "first 20 (1 evaluations)" in warned[0]
    assert "MIXED: " in (gsm8k_study / "tables.md").read_text()


def test_a_rounds_run_is_charged_its_rounds_rollouts_only():
    rounds = [{"round": t, "n": 8, "rollouts_generated": 512} for t in range(3)]
    old = record("gradalign", 8, 0, 0.5, schedule="rounds", selection={"n": 8, "rounds": rounds}, rollouts=2048)
    static = record("learnalign", 64, 0, 0.5, rollouts=2048 + 256)  # pool rollouts and LearnAlign's warm-up
    # the old record's 2048 are a base pass over the pool that its rounds never read
    assert tables.frame([old, static]).rollouts.tolist() == [3 * 512, 2048 + 256]


def test_a_rounds_row_shows_what_each_round_keeps_not_the_unread_budget():
    """testbed_noisy's rounds rows said budget 64 (the run directory's b64) and its verdicts "rounds N=64", where
    each round kept 16 of a 64-prompt chunk; the rounds schedule never reads `budget`."""
    rounds = [{"round": t, "n": 16} for t in range(3)]
    runs = [record("gradalign", 64, s, 0.5, schedule="rounds", selection={"n": 16, "rounds": rounds}) for s in (0, 1)]
    runs += [record("gradalign", 64, s, 0.5) for s in (0, 1)]
    table, md = base_vs_trained(runs, "gsm8k")
    assert list(zip(table.schedule, table.budget)) == [("rounds", "16 per round"), ("static", 64)]
    assert "| gradalign  | rounds     | 16 per round |" in md


def test_rounds_runs_that_differ_only_in_the_unread_budget_count_once_per_seed(tmp_path, caplog):
    """`-m schedule=static,rounds budget=32,64`: each seed's two rounds runs are one setting run twice (every round
    keeps 16 either way). Counted as two seeds they gave '10 seeds' and a narrower interval for 5 seeds' data."""
    recs = []
    for seed, acc in enumerate([0.40, 0.45, 0.50, 0.55, 0.60]):
        for sel, shift in (("gradalign", 0.0), ("random", -0.1)):
            for budget in (32, 64):  # the rounds schedule never reads it
                rounds = [{"round": t, "n": 16, "corrupted_share": 0.3 + shift} for t in range(3)]
                selection = {"n": 16, "rounds": rounds, "corrupted_share": 0.3 + shift}
                run_dir = f"/x/runs/nz/{sel}-rounds-b{budget}-s{seed}"
                kw = dict(study="nz", regime="noisy_reward", schedule="rounds", selection=selection, run_dir=run_dir)
                recs.append(record(sel, budget, seed, acc + shift, **kw))
    path = write_runs(tmp_path / "nz" / "runs.jsonl", recs)
    with caplog.at_level("WARNING", logger="rlselect.report"):
        runs = load_runs(path)
    assert len(runs) == 10 and {r["budget"] for r in runs} == {16}
    assert "gradalign-rounds-b32-s0 and gradalign-rounds-b64-s0 are one setting run twice" in caplog.text
    table, md = base_vs_trained(runs, "gsm8k")
    assert list(table.seeds) == [5, 5]
    five = pm([0.40, 0.45, 0.50, 0.55, 0.60])
    assert f"| gradalign | rounds | 16 per round | 5 | 55.0 ± 0.0 | {five} |" in unpad(md)


def test_a_run_recorded_again_from_another_clone_replaces_its_record_without_a_warning(tmp_path, caplog):
    """A fresh clone's `make demo` appends to the committed runs.jsonl, whose run_dirs name the committer's
    machine: the report warned "full-static-b512-s0 and full-static-b512-s0 are one setting run twice"."""
    committed = [record("random", 64, s, 0.55, run_dir=f"/tmp/freshE/runs/demo/random-static-b64-s{s}") for s in (0, 1)]
    rerun = [
        record("random", 64, s, 0.38, run_dir=f"/home/u/rlselect/runs/demo/random-static-b64-s{s}") for s in (0, 1)
    ]
    path = write_runs(tmp_path / "demo" / "runs.jsonl", committed + rerun)
    with caplog.at_level("WARNING", logger="rlselect.report"):
        runs = load_runs(path)
    assert "run twice" not in caplog.text
    assert sorted(r["run_dir"] for r in runs) == sorted(r["run_dir"] for r in rerun)


def test_a_failure_recorded_in_another_clone_is_dropped_once_the_run_finishes_here(gsm8k_study):
    """failures.jsonl from the committer's clone names its own paths; the same run finished in this clone
    replaces the failure, as a record of it does (build.run_name)."""
    finished = load_runs(gsm8k_study / "runs.jsonl")[0]["run_dir"]
    elsewhere = {"run_dir": f"/elsewhere/clone/runs/fx/{Path(finished).name}", "error": "RuntimeError: OOM"}
    (gsm8k_study / "failures.jsonl").write_text(json.dumps(elsewhere) + "\n")
    assert build.missing_runs(gsm8k_study, load_runs(gsm8k_study / "runs.jsonl")) == []


def test_failed_runs_not_rerun_since_are_named_above_the_tables(gsm8k_study, caplog):
    runs = load_runs(gsm8k_study / "runs.jsonl")
    failed = [
        {"run_dir": "/x/runs/fx/learnalign-static-b500-s3", "error": "RuntimeError: CUDA out of memory.\nTried ..."},
        {"run_dir": runs[0]["run_dir"], "error": "ValueError: an earlier failure this run's record replaced"},
    ]
    (gsm8k_study / "failures.jsonl").write_text("".join(json.dumps(f) + "\n" for f in failed) + '{"run_dir": "cut')
    with caplog.at_level("WARNING", logger="rlselect.report"):
        build.build_study(gsm8k_study)
    note = "**1 run(s) failed and are not in these tables** (tracebacks in failures.jsonl; a rerun that finishes, "
    note += (
        "or deleting their lines there, drops this note): learnalign-static-b500-s3 (RuntimeError: CUDA out of memory.)"
    )
    assert note in (gsm8k_study / "tables.md").read_text() and note in (gsm8k_study / "table.md").read_text()
    assert "% 1 run(s) failed and are not in these tables" in (gsm8k_study / "tables.tex").read_text()
    assert any("1 run(s) failed" in r.getMessage() for r in caplog.records)
    (gsm8k_study / "failures.jsonl").unlink()
    build.build_study(gsm8k_study)
    assert "failed" not in (gsm8k_study / "tables.md").read_text()


def test_figures_skip_missing_summaries(tmp_path):
    runs = [record("random", 64, 0, 0.5, run_dir=str(tmp_path / "nowhere")), record("random", 64, 1, 0.5)]
    assert figures.reward_history(runs[0]) == []
    out = figures.reward_curves(runs, tmp_path / "r.png")
    assert out.read_bytes()[:8] == PNG


def test_cli_main_on_fixture_dir(gsm8k_study, noisy_study, capsys):
    results = gsm8k_study.parent
    assert main(["study=fx", f"results_dir={results}"]) == 0
    printed = capsys.readouterr().out
    assert "GRPO-trained" in printed  # the base-vs-trained table is still printed
    assert (gsm8k_study / "table.md").exists() and (gsm8k_study / "tables.tex").exists()
    (gsm8k_study / "tables.md").unlink()
    assert main(["all", f"results_dir={results}"]) == 0
    assert (gsm8k_study / "tables.md").exists() and (results / "noisy" / "tables.tex").exists()
    with pytest.raises(SystemExit):
        main(["bogus=1"])
    capsys.readouterr()
    with pytest.raises(SystemExit):  # a study without records: one line naming the ones that have them
        main(["study=fxx", f"results_dir={results}"])
    err = capsys.readouterr().err
    assert f"no run records in {results / 'fxx'}/runs.jsonl; studies with records under" in err and "fx" in err
    with pytest.raises(SystemExit):
        main(["all", f"results_dir={results / 'empty'}"])
    assert capsys.readouterr().err.rstrip().endswith(f"studies with records under {results / 'empty'}/: none")


@pytest.mark.parametrize(
    ("line", "why"), [('{"selector": "rand', "invalid JSON"), ("[1]", "a run record is a JSON object, not list")]
)
def test_a_damaged_runs_file_is_one_error_line_naming_its_line_and_the_other_studies_are_built(
    gsm8k_study, noisy_study, capsys, line, why
):
    results = gsm8k_study.parent
    with (gsm8k_study / "runs.jsonl").open("a") as f:
        f.write(line + "\n")
    n = len((gsm8k_study / "runs.jsonl").read_text().splitlines())
    assert main(["all", f"results_dir={results}"]) == 2
    err = capsys.readouterr().err
    assert f"error: {gsm8k_study / 'runs.jsonl'}, line {n}: {why}" in err and "Traceback" not in err
    assert (results / "noisy" / "tables.md").exists() and not (gsm8k_study / "tables.md").exists()


def test_low_utility_study_gets_its_share_table_and_bars(tmp_path):
    recs = [
        record(
            sel,
            64,
            seed,
            0.3,
            study="lu",
            data="arith",
            regime="low_utility",
            selection={"n": 64, "mean_success_rate": 0.4, "low_utility_share": share},
        )
        for sel, share in (("random", 0.5), ("gradalign", 0.2))
        for seed in range(3)
    ]
    write_runs(tmp_path / "results" / "lu" / "runs.jsonl", recs)
    names = {f.name for f in build.build_study(tmp_path / "results" / "lu")}
    assert "low_utility_share_bars.png" in names
    md = (tmp_path / "results" / "lu" / "tables.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| gradalign"))
    assert pm([0.2] * 3) in row and "low-utility share" in md


def test_regime_table_names_the_tested_family_and_the_regime_setting(tmp_path):
    recs = []
    for sel in ("random", "gradalign"):
        for seed in range(2):
            r = record(
                sel,
                32,
                seed,
                0.35,
                study="imb",
                data="arith",
                regime="imbalance",
                benches=("arith",),
                selection={"n": 32, "mean_success_rate": 0.3, "on_target_share": 0.2},
            )
            r["metrics"]["arith"]["family"] = "two_step"
            r["regime_params"] = {"target_family": "two_step", "target_share": 0.1}
            recs.append(r)
    write_runs(tmp_path / "results" / "imb" / "runs.jsonl", recs)
    md, _ = tables.noisy_table(load_runs(tmp_path / "results" / "imb" / "runs.jsonl"), "arith")
    assert "arith [two_step] accuracy (%)" in md
    assert "target_family two_step" in md and "on the two_step problems only" in md


def test_single_seed_cells_say_n_1_and_demo_table():
    runs = [record("random", 100, 0, 0.70), record("random", 500, 0, 0.74), record("random", 500, 1, 0.76)]
    md, tex = tables.budget_table(runs, "gsm8k")
    row = next(line for line in unpad(md).splitlines() if line.startswith("| random"))
    assert f"| 1-2 | 70.0 (n = 1) (paper 73.1) | {pm([0.74, 0.76])} (paper 75.1) |" in row
    assert "55.0 ± 0.0 (paper 55.7)" in md  # the base row has two seeds
    assert r"\caption{gsm8k test accuracy (\%, greedy)" in tex and "(cached stages count \\textasciitilde{}0)" in tex
    table, text = base_vs_trained(runs, "gsm8k")
    assert list(table.seeds) == [1, 2] and list(table.budget) == [100, 500]
    assert list(table["GRPO steps"]) == ["10", "10"]
    runs[2]["cost"]["train_steps"] = 12  # seed 1 trained longer (schedule.rounds changed within a study, say)
    assert list(base_vs_trained(runs, "gsm8k")[0]["GRPO steps"]) == ["10", "10-12"]  # was "12" for both seeds
    assert "15.0 (n = 1)" in text and pm([0.74 - 0.55, 0.76 - 0.55]) in text and "GRPO-trained" in text
    assert text.startswith("gsm8k test accuracy (%), greedy, mean")
    for r in runs:  # a cut benchmark (eval.limit) says so, as the other tables do
        r["metrics"]["gsm8k"]["limit"] = r["base_metrics"]["gsm8k"]["limit"] = 20
    assert base_vs_trained(runs, "gsm8k")[1].startswith("gsm8k test accuracy (%), greedy, first 20, mean")
    # one run reevaluated on the whole split: its numbers are not comparable, and the caption says so
    runs[0]["metrics"]["gsm8k"]["limit"] = runs[0]["base_metrics"]["gsm8k"]["limit"] = None
    assert tables.protocol(runs, "gsm8k") == "MIXED: greedy (2 evaluations); greedy, first 20 (4 evaluations)"


def test_cells_give_the_95_ci_half_width_n3_and_n5():
    """h = t(0.975, n - 1) * s / sqrt(n), by hand: n = 3 [70, 72, 75] -> 4.3027 * 2.5166 / 1.7321 = 6.25;
    n = 5 [10, 12, 14, 16, 18] -> 2.7764 * 3.1623 / 2.2361 = 3.93."""
    runs = [record("random", 100, s, a) for s, a in enumerate([0.70, 0.72, 0.75])]
    runs += [record("random", 500, s, a) for s, a in enumerate([0.10, 0.12, 0.14, 0.16, 0.18])]
    md, tex = tables.budget_table(runs, "gsm8k")
    row = next(line for line in unpad(md).splitlines() if line.startswith("| random"))
    assert "| 3-5 | 72.3 ± 6.3 (paper 73.1) | 14.0 ± 3.9 (paper 75.1) |" in row
    assert pm([0.70, 0.72, 0.75]) == "72.3 ± 6.3" and pm([0.10, 0.12, 0.14, 0.16, 0.18]) == "14.0 ± 3.9"
    assert "mean ± 95% CI half-width (t-interval over seeds)" in md
    assert r"mean $\pm$ 95\% CI half-width (t-interval over seeds)" in tex and "std" not in md + tex
    assert "mean ± 95% CI half-width (t-interval over seeds)" in base_vs_trained(runs, "gsm8k")[1]
    stats = tables.summarize(tables.frame(runs).assign(ref=None).groupby("budget"))
    assert list(stats.half) == pytest.approx([6.2517, 3.9265], abs=1e-3)


def test_a_row_whose_seeds_ran_with_different_settings_is_named(tmp_path, caplog):
    """Seed 2 run after the preset's learning rate changed lands in seed 0 and 1's row: the note says so.
    Keys that follow the seed (data.regime_seed) and budget or eval keys are not differences."""
    study = tmp_path / "fx"
    study.mkdir()
    runs = []
    for selector, lrs in (("random", [3e-5, 3e-5, 1e-5]), ("learnalign", [3e-5] * 3)):
        for seed, lr in enumerate(lrs):
            run_dir = tmp_path / "runs" / f"{selector}-static-b100-s{seed}"
            run_dir.mkdir(parents=True)
            config = {"seed": seed, "budget": 100, "data": {"regime_seed": seed}, "eval": {"limit": seed or None}}
            config["trainer"] = {"args": {"learning_rate": lr}}
            (run_dir / "run_config.json").write_text(json.dumps(config))
            runs.append(record(selector, 100, seed, 0.7, run_dir=str(run_dir)))
    runs.append(record("random", 100, 3, 0.7, run_dir=str(tmp_path / "elsewhere")))  # no run_config.json here
    (study / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    with caplog.at_level("WARNING", logger="rlselect.report"):
        build.build_study(study)
    line = "random-static-b100: its 3 runs differ in trainer.args.learning_rate: 3e-05 vs 1e-05"
    assert f"- {line}\n" in (study / "tables.md").read_text() and line in (study / "table.md").read_text()
    assert f"% different settings in one row: {line}\n" in (study / "tables.tex").read_text()
    assert "learnalign-static" not in (study / "tables.md").read_text().split("##")[0]
    assert any(line in r.getMessage() for r in caplog.records)
    config = json.loads((tmp_path / "runs" / "random-static-b100-s2" / "run_config.json").read_text())
    config["trainer"]["args"]["learning_rate"] = 3e-5
    (tmp_path / "runs" / "random-static-b100-s2" / "run_config.json").write_text(json.dumps(config))
    build.build_study(study)
    assert "different settings" not in (study / "tables.md").read_text()


def test_rounds_that_fell_back_to_random_selection_are_named(tmp_path, caplog):
    """A GradAlign rounds run whose policy gave no validation signal in some rounds selected those at random:
    its row is partly random selection, and the tables say which rounds."""
    study = tmp_path / "fx"
    study.mkdir()
    rounds = [{"round": t, "n": 8, "rollouts_generated": 64} for t in range(4)]
    rounds[2]["diag_fallback"] = rounds[3]["diag_fallback"] = "random: no validation signal at this policy"
    runs = [
        record("gradalign", 8, 0, 0.6, schedule="rounds", selection={"n": 8, "rounds": rounds}, run_dir="/x/ga-s0"),
        record("gradalign", 8, 1, 0.6, schedule="rounds", selection={"n": 8, "rounds": rounds[:2]}, run_dir="/x/ga-s1"),
    ]
    (study / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    with caplog.at_level("WARNING", logger="rlselect.report"):
        build.build_study(study)
    line = "ga-s0: 2 of 4 rounds kept a random part of their chunk (rounds [2, 3])"
    assert f"- {line}\n" in (study / "tables.md").read_text() and "ga-s1" not in (study / "tables.md").read_text()
    assert f"% random rounds: {line}\n" in (study / "tables.tex").read_text()
    assert any(line in r.getMessage() for r in caplog.records)
