"""Quiet console by default: library deprecation warnings and INFO chatter filtered; verbose keeps them."""

from __future__ import annotations

import io
import logging
import sys
import warnings
from types import SimpleNamespace

import pytest

from rlselect import console


def test_quiet_filters_deprecations_and_library_info():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        console.configure(verbose=False)
        warnings.warn("old API", FutureWarning, stacklevel=1)
        warnings.warn("something real", RuntimeWarning, stacklevel=1)
    assert [type(w.message) for w in caught] == [RuntimeWarning]
    assert logging.getLogger("transformers").level == logging.ERROR
    assert logging.getLogger("rlselect").level == logging.INFO
    assert not console.VERBOSE


def test_verbose_keeps_everything():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        console.configure(verbose=True)
        warnings.warn("old API", FutureWarning, stacklevel=1)
    assert [type(w.message) for w in caught] == [FutureWarning]
    assert logging.getLogger("rlselect").level == logging.DEBUG
    assert console.VERBOSE
    console.configure(verbose=False)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only(monkeypatch):
    console.configure(verbose=False)
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    bar = console.progress(5, "rollouts", unit="prompt")
    bar.update(3)
    bar.refresh()  # tqdm redraws at most every 0.1 s on its own
    bar.close()
    assert bar.n == 3 and "rollouts" in sys.stderr.getvalue() and "3/5" in sys.stderr.getvalue()
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a log file: no bar drawn there
    bar = console.progress(5, "rollouts")
    bar.update(5)
    bar.close()
    assert sys.stderr.getvalue() == ""


def _fake_clock(monkeypatch) -> list[float]:
    """tqdm's clock, moved by hand (no sleeping, no timing), and no monitor thread redrawing on its own."""
    import tqdm.std

    now = [1000.0]
    monkeypatch.setattr(tqdm.std, "time", lambda: now[0])
    monkeypatch.setattr(tqdm.std.tqdm, "monitor_interval", 0)
    return now


@pytest.fixture
def log_file_clock(monkeypatch, caplog) -> list[float]:
    """stderr is a log file (a Slurm job, `make demo > log`), the console quiet, progress lines captured; the
    fake clock to move."""
    now = _fake_clock(monkeypatch)
    # console's own view of sys (pytest swaps sys.stderr back between a fixture and its test)
    monkeypatch.setattr(console, "sys", SimpleNamespace(stderr=io.StringIO()))
    console.configure(verbose=False)
    caplog.set_level(logging.INFO, logger="rlselect.progress")
    return now


def test_without_a_terminal_a_long_stage_logs_its_progress_a_minute_in_then_every_five_minutes(
    log_file_clock, caplog, capsys
):
    now = log_file_clock
    bar = console.progress(1000, "rollouts (G=8)", unit="prompt")

    def shard_done(seconds: float) -> list[str]:
        now[0] += seconds
        bar.update(100)
        return caplog.messages

    assert shard_done(59) == []  # a stage shorter than a minute prints nothing
    bar.set_postfix(reward="0.250", refresh=False)
    assert shard_done(2) == ["rollouts (G=8): 200/1000 prompts (20%), 01:01 elapsed, about 04:04 left, reward=0.250"]
    assert len(shard_done(299)) == 1  # then one line per 5 minutes
    assert shard_done(1)[-1].startswith("rollouts (G=8): 400/1000 prompts (40%), 06:01 elapsed, about ")
    assert len(caplog.messages) == 2
    bar.close()
    assert len(caplog.messages) == 2 and capsys.readouterr().err == ""


def test_work_a_resumed_stage_finds_done_counts_but_not_into_the_eta(log_file_clock, caplog):
    now = log_file_clock
    with console.progress(1000, "rollouts (G=8)", unit="prompt") as bar:
        console.found_done(bar, 500)  # cached shards, read in no time
        now[0] += 61
        bar.update(100)  # one shard computed in 61 s: 400 more take about 4 minutes, not 20 s
    assert caplog.messages == ["rollouts (G=8): 600/1000 prompts (60%), 01:01 elapsed, about 04:04 left"]


def test_progress_lines_of_nested_stages_are_plain_text(log_file_clock, caplog):
    now = log_file_clock
    with console.progress(2, "gradient features", unit="prompt") as outer:
        with console.progress(1, "policy gradients", unit="prompt") as inner:
            now[0] += 61
            inner.update(1)
        outer.update(1)
    assert [m.split(":")[0] for m in caplog.messages] == ["policy gradients", "gradient features"]
    assert not any("\x1b" in m or "\n" in m for m in caplog.messages)


def test_verbose_on_a_terminal_logs_progress_lines_between_the_libraries_logs(monkeypatch, caplog):
    now = _fake_clock(monkeypatch)
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    console.configure(verbose=True)
    caplog.set_level(logging.INFO, logger="rlselect.progress")
    try:
        with console.progress(None, "train demo", unit="step") as bar:
            now[0] += 61
            bar.update(7)
    finally:
        console.configure(verbose=False)
    assert caplog.messages == ["train demo: 7 steps, 01:01 elapsed"] and sys.stderr.getvalue() == ""


def test_quiet_silences_library_bars_but_not_ours():
    """lm-eval's request and generation bars (plain `tqdm(...)`) are off in quiet mode, checked in a fresh
    process where the entry point configures the console before any library imports tqdm."""
    import subprocess

    code = (
        "import io, sys\n"
        "from rlselect import console\n"
        "console.configure(verbose=False)\n"
        "from tqdm import tqdm\n"
        "class T(io.StringIO):\n"
        "    def isatty(self): return True\n"
        "sys.stderr = T()\n"
        "print(tqdm(range(3)).disable, console.progress(3, 'x').disable)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]


def test_lm_eval_request_bars_are_switched_off_per_instance():
    """lm-eval's generate_until passes disable= to tqdm itself: the runner binds disable_tqdm=True on the LM."""
    from lm_eval.models.huggingface import HFLM

    from rlselect.eval.runner import quiet_request_bars

    class Recorder(HFLM):
        def __init__(self):  # no model: only the methods' signatures matter here
            pass

        def generate_until(self, requests, disable_tqdm: bool = False):
            return disable_tqdm

    lm = Recorder()
    assert lm.generate_until([]) is False
    quiet_request_bars(lm)
    assert lm.generate_until([]) is True


def test_model_name_says_whose_checkpoint_a_final_folder_is(tmp_path):
    from rlselect.console import model_name

    assert model_name(tmp_path / "runs/demo/random-static-b64-s0/train/final") == "random-static-b64-s0 (trained)"
    assert model_name(tmp_path / ".cache/warmup/c8a3b8a38499b649/final") == "LearnAlign's warm-up policy"
    assert model_name(".cache/rlselect/models/tiny-sft-68402eec99e65bac") == "tiny-sft-68402eec99e65bac"
    assert model_name("Qwen/Qwen2.5-1.5B-Instruct") == "Qwen2.5-1.5B-Instruct"
    assert model_name(tmp_path / "elsewhere/final") == str(tmp_path / "elsewhere/final")


def test_grpo_progress_logs_no_line_per_reward_and_keeps_resumed_steps_out_of_the_eta(log_file_clock, caplog):
    from rlselect.train.grpo import TrainProgress

    now = log_file_clock
    callback, state = TrainProgress("demo"), SimpleNamespace(max_steps=100, global_step=40)  # resumed at step 40
    callback.on_train_begin(None, state, None)
    for _ in range(10):
        callback.on_log(None, state, None, logs={"reward": 0.5})  # TRL logs every step
    assert caplog.messages == []
    now[0] += 61
    state.global_step = 50
    callback.on_step_end(None, state, None)
    assert caplog.messages == ["train demo: 50/100 steps (50%), 01:01 elapsed, about 05:05 left, reward=0.500"]
    callback.bar.close()
