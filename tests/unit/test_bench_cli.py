"""`python -m rlselect.bench`: where each kind of run writes, so that a quick check or another device
never overwrites the committed reference numbers in results/bench."""

from __future__ import annotations

import pytest

from rlselect.bench import __main__ as cli
from rlselect.bench import default_out


def test_default_folders_keep_the_reference_apart():
    assert default_out(quick=False) == "results/bench"
    assert default_out(quick=True) == "runs/bench-quick"  # runs/ is not tracked
    assert default_out(quick=True, device="cuda") == "runs/bench-quick"
    assert default_out(quick=False, device="cuda") == "results/bench/cuda-tiny"
    assert default_out(quick=False, model_size="0.5b") == "results/bench/cpu-0.5b"


@pytest.mark.parametrize(
    ("argv", "out"),
    [
        ([], "results/bench"),
        (["--quick"], "runs/bench-quick"),
        (["--device", "cuda", "--model-size", "0.5b"], "results/bench/cuda-0.5b"),
        (["--quick", "--out", "/tmp/mine"], "/tmp/mine"),  # --out wins
    ],
)
def test_the_command_line_writes_where_default_out_says(monkeypatch, capsys, argv, out):
    import rlselect.bench.suite as suite
    from rlselect import console

    calls = []
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # the folder names, on any machine
    monkeypatch.setattr(suite, "run_all", lambda out_dir, s, only, threads, command: calls.append((out_dir, command)))
    monkeypatch.setattr(console, "setup_entry_point", lambda verbose: None)  # leave this process's logging alone
    assert cli.main(argv) == 0
    assert calls == [(out, " ".join(["python", "-m", "rlselect.bench", *argv]))]
    assert f"-> {out}/" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--only", "grads,rollouts"], "--only: unknown benchmark(s) grads; available: gradients, rollouts"),
        (["--threads", "0"], "--threads 0: choose 1 or more"),
        (["--device", "gpu"], "--device gpu: choose cpu, cuda or cuda:<index>"),
        (["--device", "cuda"], "--device cuda: this machine has no CUDA device"),
    ],
)
def test_a_bad_option_is_argparse_s_error_line_before_anything_runs(monkeypatch, capsys, argv, message):
    import rlselect.bench.suite as suite

    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr(suite, "run_all", lambda *a, **k: pytest.fail("the benchmarks started"))
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and f"error: {message}" in err and "Traceback" not in err
