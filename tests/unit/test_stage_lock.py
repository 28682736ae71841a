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
