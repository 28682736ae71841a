"""The smoke run's evaluation keeps a preset's benchmarks that need no download."""

from rlselect.smoke import eval_override


def test_generated_benchmarks_are_kept_and_missing_ones_fall_back_to_arith(tmp_path):
    # digits is generated in code like arith: a digits preset (e.g. eval.family=mix) must not be
    # evaluated on arith, which has no `mix` family (the smoke run of testbed_imbalance failed so)
    digits = {"runs": [{"benchmarks": ["digits"], "protocol": "greedy"}]}
    assert eval_override(digits, None) == "eval.runs=[{benchmarks:[digits],protocol:greedy}]"
    hub_only = {"runs": [{"benchmarks": ["gsm8k", "math500"], "protocol": "pass_at_k", "k": 8}]}
    assert eval_override(hub_only, None) == "eval.runs=[{benchmarks:[arith],protocol:greedy}]"
    (tmp_path / "math500").mkdir()
    assert eval_override(hub_only, tmp_path) == "eval.runs=[{benchmarks:[math500],protocol:pass_at_k,k:2}]"
