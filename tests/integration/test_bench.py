"""`python -m rlselect.bench --quick`: the files, their keys, and every ratio equal to its definition.

No timing thresholds: a shared CI machine says nothing reliable about speed. The selection
benchmark reuses the session's warm start (the same `model.warm_start` as tiny_config.TINY).
"""

from __future__ import annotations

import json
import statistics

import pytest

import rlselect

SETTINGS = ("projection_off", "projection_1024")
MEMORY = {"peak_rss_mb", "rss_delta_mb"}


@pytest.fixture(scope="module")
def bench(tmp_path_factory, shared_cache_dir):
    from rlselect.bench.suite import SIZES, run_all

    out = tmp_path_factory.mktemp("bench")
    only = ("gradients", "rollouts", "selection")  # scaling: its own test below
    return out, run_all(out, SIZES["quick"], only, threads=1, source_cache=shared_cache_dir)


def _load(out, name):
    return json.loads((out / f"{name}.json").read_text())


def test_every_benchmark_writes_its_json_and_the_summary(bench):
    out, results = bench
    assert sorted(results) == ["gradients", "rollouts", "selection"]
    for name in results:
        data = _load(out, name)
        assert data["machine"]["cpu_count"] >= 1 and data["machine"]["cpu"]
        assert data["machine"]["torch_threads"] == 1  # --threads reached the timer
        assert data["torch"] and len(data["loadavg_start"]) == 3 and len(data["loadavg_end"]) == 3
        assert data["code"] == rlselect.code_commit()  # the commit measured
        assert data["memory_method"] and data["ru_maxrss_mb"] > 0
        assert data["command"] == "make bench"  # run_all's default; the CLI passes its own command line
    readme = (out / "README.md").read_text()
    for heading in ("Gradient features", "Rollout generation", "Selection overhead", "Memory"):
        assert heading in readme
    assert readme.count("Command: `make bench`; code ") == 3  # each section says which run wrote it


def test_time_call_runs_a_warm_up_then_the_timed_calls():
    from rlselect.bench.core import time_call

    calls = []
    t, value = time_call(lambda: calls.append(1) or len(calls), min_run_time=0.0)
    assert len(calls) == 2 and value == 2  # one warm-up, one timed call (min_run_time 0)
    assert t["s"] == statistics.median(t["times_s"]) > 0 and t["cpu_s"] >= 0
    assert set(t["memory"]) >= MEMORY


def test_gradient_ratios_equal_their_definitions(bench):
    g = _load(bench[0], "gradients")
    assert g["setup"]["prompts"] == 4 and g["setup"]["G"] == 2 and g["setup"]["tokens"] > 0
    for key in SETTINGS:
        row = g[key]
        for path in ("batched", "loop", "floor"):
            assert row[f"{path}_s"] == pytest.approx(statistics.median(row["times_s"][path])) and row[f"{path}_s"] > 0
            assert row[f"{path}_tokens_per_s"] == pytest.approx(g["setup"]["tokens"] / row[f"{path}_s"])
            assert set(row["memory"][path]) >= MEMORY
        assert row["speedup_vs_loop"] == pytest.approx(row["loop_s"] / row["batched_s"])
        assert row["ratio_to_floor"] == pytest.approx(row["batched_s"] / row["floor_s"])
        assert row["speedup_vs_loop_cpu"] == pytest.approx(row["loop_cpu_s"] / row["batched_cpu_s"])
        assert row["ratio_to_floor_cpu"] == pytest.approx(row["batched_cpu_s"] / row["floor_cpu_s"])
        assert row["batched_vs_loop"]["max_rel_diff"] < 1e-3  # both paths computed the same features
    assert g["projection_off"]["floor_s"] == g["projection_1024"]["floor_s"]  # one shared floor
    assert g["projection_off"]["dim"] is None and g["projection_1024"]["dim"] == 1024


def test_rollout_throughput_is_counted_from_the_completions(bench):
    r = _load(bench[0], "rollouts")["rollouts"]
    assert r["completions"] == 4 * 2 and r["seconds"] == pytest.approx(statistics.median(r["times_s"]))
    assert r["completions_per_s"] == pytest.approx(r["completions"] / r["seconds"])
    assert r["tokens_per_s"] == pytest.approx(r["generated_tokens"] / r["seconds"])


def test_selection_overhead_is_read_from_the_runs_cost_record(bench):
    s = _load(bench[0], "selection")
    assert s["setup"]["pool"] == 16 and s["setup"]["budget"] == 4
    for name in ("learnalign", "gradalign"):
        x = s[name]
        sec = x["cost"]["seconds"]
        assert (x["rollouts_s"], x["selection_s"], x["train_s"]) == (sec["rollouts"], sec["selection"], sec["train"])
        assert sec["model"] < 1.0  # the warm start was copied in, outside the clock
        assert x["selection_s"] > 0 and x["train_s"] > 0 and x["train_steps"] == 1 and x["selected"] == 4
        assert x["total_s"] == pytest.approx(sec["rollouts"] + sec["selection"])
        assert x["ratio_to_train"] == pytest.approx(x["total_s"] / x["train_s"])
        assert set(x["memory"]) >= MEMORY
    # learnalign rolls the pool out twice (base and warm-up policy), gradalign once (plus validation).
    assert s["learnalign"]["rollouts_generated"] == 2 * 16 * 8 and s["gradalign"]["rollouts_generated"] == 16 * 8


def test_quick_scaling_has_one_row_per_size_method_and_dim(tmp_path, bench):
    from rlselect.bench.scaling import QUICK_SIZES, _paths
    from rlselect.bench.suite import SIZES, run_all

    earlier = {n: (bench[0] / f"{n}.json").read_text() for n in ("gradients", "rollouts", "selection")}
    for name, text in earlier.items():  # a folder that already holds the other benchmarks' results
        (tmp_path / f"{name}.json").write_text(text)
    run_all(tmp_path, SIZES["quick"], ("scaling",), threads=1, command="--only scaling")  # 2 tiny sizes, d = 64
    sc = _load(tmp_path, "scaling")
    methods = ["gradalign_streaming", "learnalign_streaming", "projected_countsketch", "dense_jl"]
    expected = [(size, m, None if m.endswith("streaming") else 64) for size in QUICK_SIZES for m in methods]
    assert [(r["size"], r["method"], r["dim"]) for r in sc["rows"]] == expected
    for r in sc["rows"]:
        assert set(r) >= {"params", "method", "dim", "seconds", "floor_s", "ratio_to_floor", "peak_rss_mb"}
        assert r["seconds"] > 0 and r["peak_rss_mb"] > 0
        # path and floor alternate; the ratio is the median over the (>= 3) pairs
        assert len(r["ratios"]) >= 3 and r["ratio_to_floor"] == pytest.approx(statistics.median(r["ratios"]))
        assert r["floor_s"] > 0
    assert len({r["params"] for r in sc["rows"]}) == 2 and set(sc["slopes"]) >= {"floor", "dense_jl_64"}
    readme = (tmp_path / "README.md").read_text()
    assert "Scaling with model size" in readme and "Command: `--only scaling`" in readme
    # --only scaling replaced its own section and kept the earlier ones, each with its own provenance
    assert all((tmp_path / f"{n}.json").read_text() == text for n, text in earlier.items())
    for heading in ("Gradient features", "Rollout generation", "Selection overhead"):
        assert heading in readme
    assert readme.count("Command: `make bench`") == 3
    assert (tmp_path / "scaling.png").stat().st_size > 0
    paths = {m: fn for m, _, fn in _paths(None, None, [["p"]] * 3, (64,), params=10**9)}  # P * d > DENSE_MAX
    assert paths["dense_jl"] is None and paths["projected_countsketch"] is not None
