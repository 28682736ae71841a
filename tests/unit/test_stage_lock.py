"""Concurrent runs of a sweep compute a shared stage once (cache.stage_lock / build_once)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from rlselect.cache import build_once, stage_lock

BUILD_ONCE = textwrap.dedent(
    """
    import logging, sys
    from pathlib import Path
    from rlselect.cache import build_once
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    done, counter = Path(sys.argv[1]), Path(sys.argv[2])
    built = build_once(done, lambda: (counter.write_text("built"), done.write_text("{}")), "the test artifact")
    print("built", built, flush=True)
    """
)


def _read_until(stream, text: str) -> list[str]:
    lines = []
    for line in stream:  # ends at EOF: the child exited without printing `text`
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never printed; got {lines}")


def test_a_run_that_finds_the_stage_being_computed_waits_and_then_reuses_it(tmp_path):
    done, counter = tmp_path / "stage" / "done.json", tmp_path / "built.txt"
    with stage_lock(done.parent, "the test artifact"):  # another run of the sweep is computing it
        child = subprocess.Popen(
            [sys.executable, "-c", BUILD_ONCE, str(done), str(counter)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _read_until(child.stderr, "waiting for another process computing the test artifact")
        done.parent.mkdir(parents=True, exist_ok=True)
        done.write_text("{}")  # ... and finishes it
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out.split() == ["built", "False"] and not counter.exists()  # found it: no second computation


def test_a_killed_holder_does_not_block_the_next_run(tmp_path):
    done = tmp_path / "stage" / "done.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom rlselect.cache import stage_lock\n"
            "with stage_lock(sys.argv[1], 'x'):\n    print('locked', flush=True)\n    time.sleep(600)\n",
            str(done.parent),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    _read_until(holder.stdout, "locked")
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    done.parent.mkdir()
    assert build_once(done, lambda: done.write_text("{}"), "the test artifact") is True
    assert build_once(done, lambda: done.write_text("again"), "the test artifact") is False
    assert done.read_text() == "{}"


def test_record_appends_hold_the_records_files_lock(tmp_path, monkeypatch):
    """Jobs on several nodes append to one runs.jsonl over NFS, where O_APPEND alone does not keep lines
    whole; append_jsonl_once's check and append must be one step (else a run is recorded twice)."""
    from filelock import FileLock, Timeout

    from rlselect import cache

    path = tmp_path / "study" / "runs.jsonl"
    held = []

    def append_while_checking(p, obj):
        attempt = FileLock(f"{p}.lock")  # another file descriptor: another process's attempt, in effect
        try:
            attempt.acquire(timeout=0)
            attempt.release()
            held.append(False)
        except Timeout:
            held.append(True)
        real_append(p, obj)

    real_append = cache._append_line
    monkeypatch.setattr(cache, "_append_line", append_while_checking)
    record = {"selector": "random", "schedule": "static", "budget": 4, "seed": 0, "data": "arith", "variant": None}
    cache.append_jsonl(path, {"a": 1})
    assert cache.append_jsonl_once(path, record) and not cache.append_jsonl_once(path, record)
    assert held == [True, True] and len(path.read_text().splitlines()) == 2
