"""Hostile completions against the verifier.

Acceptance: at least 40 hostile completions, each scored within 2 s, none raises, none creates a
file or a process, and a large batch scored from a thread pool finishes.

The verifier keeps a small pebble pool of worker processes for math-verify (see
`rlselect.rewards.verifier`); they are started before the checks (fixture `verifier_ready`) and
are the only child processes allowed (`verifier_pids()`). Everything else (a shell started by an
injected `os.system`, say) would show up as a new descendant of this process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import psutil
import pytest

from rlselect.rewards import math_reward, verifier_pids, warmup

TIME_LIMIT_S = 2.0
MARKER = f"/tmp/rlselect_pwned_{uuid.uuid4().hex}"
PWNED = "/tmp/pwned"

MB = 1 << 20

# (name, completion, gold, expected score)
HOSTILE: list[tuple[str, str, str, float]] = [
    # huge numbers
    ("100k-digit boxed number", "\\boxed{" + "9" * 100_000 + "}", "9", 0.0),
    ("100k-digit number after 'The answer is'", "The answer is " + "9" * 100_000, "9", 0.0),
    ("100k-digit number after ####", "#### " + "1" * 100_000, "1", 0.0),
    ("300-digit boxed number", "\\boxed{" + "7" * 300 + "}", "7", 0.0),
    ("10^{100000}", "\\boxed{10^{100000}}", "1", 0.0),
    ("1e100000", "\\boxed{1e100000}", "1", 0.0),
    ("(2^{100000})^{100000}", "\\boxed{(2^{100000})^{100000}}", "2", 0.0),
    # power towers
    ("power tower 9^9^9^9^9", "\\boxed{9^{9^{9^{9^{9}}}}}", "1", 0.0),
    ("power tower 9^9^9", "\\boxed{9^{9^{9}}}", "1", 0.0),
    ("python power chain", "\\boxed{2**2**2**2**2**2}", "65536", 0.0),
    ("bare caret chain", "\\boxed{2^2^2^2^2^2}", "4", 0.0),
    ("symbolic tower", "\\boxed{e^{e^{e^{e^{e}}}}}", "1", 0.0),
    ("negative huge exponent", "\\boxed{2^{-10^{7}}}", "0", 0.0),
    # factorials, binomials, Gamma, sums and products with huge bounds
    ("factorial of 10^10", "\\boxed{(10^{10})!}", "1", 0.0),
    ("factorial without brackets", "\\boxed{10^{10}!}", "1", 0.0),
    ("factorial of a 20-digit number", "\\boxed{99999999999999999999!}", "1", 0.0),
    ("huge binomial", "\\boxed{\\binom{10^{12}}{5 \\cdot 10^{11}}}", "1", 0.0),
    ("huge Gamma", "\\boxed{\\Gamma(10^{10})}", "1", 0.0),
    ("product up to 10^9", "\\boxed{\\prod_{n=1}^{10^{9}} n}", "1", 0.0),
    ("sum of n^n up to 10^5", "\\boxed{\\sum_{n=1}^{100000} n^{n}}", "1", 0.0),
    ("(x+1)^{100000}", "\\boxed{(x+1)^{100000}}", "1", 0.0),
    ("gcd of huge powers", "\\boxed{\\gcd(2^{99999}-1, 3^{99999}-7)}", "5", 0.0),
    # nesting and malformed structure
    ("10k nested braces", "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}", "1", 0.0),
    ("100 nested braces", "\\boxed{" + "{" * 100 + "1" + "}" * 100 + "}", "1", 0.0),
    ("5k nested parentheses", "\\boxed{" + "(" * 5_000 + "1" + ")" * 5_000 + "}", "1", 0.0),
    ("30 nested parentheses", "\\boxed{" + "(" * 30 + "1" + ")" * 30 + "}", "1", 0.0),
    ("50 nested fractions", "\\boxed{" + "\\frac{1}{" * 50 + "2" + "}" * 50 + "}", "1", 0.0),
    ("unclosed boxed", "The answer is \\boxed{42", "7", 0.0),
    ("unclosed boxed and a megabyte", "\\boxed{" + "x" * MB, "1", 0.0),
    ("100k unclosed boxes", "\\boxed{" * 100_000, "1", 0.0),
    ("closing braces flood", "}" * MB + "\\boxed{}", "1", 0.0),
    # sheer size
    ("megabyte of letters", "a" * MB, "1", 0.0),
    ("megabyte of 'The answer is'", "The answer is " * (MB // 14), "1", 0.0),
    ("100k boxes", "\\boxed{x}" * 100_000, "1", 0.0),
    ("megabyte line after 'answer:'", "answer: " + "x" * MB, "1", 0.0),
    ("400-char text", "\\boxed{\\text{" + "a" * 400 + "}}", "1", 0.0),
    # control characters and unicode
    ("NUL bytes and controls", "\\boxed{\x00\x01\x02\x1b[31m\x7f}", "0", 0.0),
    ("unicode garbage", "\\boxed{\u202e\ufeff\U0001d518\U0001d52b\u0301\u0300\ud800}", "1", 0.0),
    ("zalgo", "\\boxed{" + "x\u0336\u0337\u0338" * 50 + "}", "1", 0.0),
    ("emoji", "\\boxed{\U0001f4a9 + \U0001f525}", "2", 0.0),
    # code injection
    ("os.system via __import__", f"\\boxed{{__import__('os').system('touch {PWNED}; touch {MARKER}')}}", "0", 0.0),
    ("eval", f"\\boxed{{eval(\"__import__('os').system('touch {MARKER}')\")}}", "0", 0.0),
    ("exec", f'\\boxed{{exec(\'open("{MARKER}", "w")\')}}', "0", 0.0),
    ("lambda", "\\boxed{(lambda: 1)()}", "1", 0.0),
    ("sympy Symbol class", "\\boxed{Symbol('x').__class__}", "1", 0.0),
    ("sympify", "\\boxed{sympify('1')}", "1", 0.0),
    ("getattr", "\\boxed{getattr(1, 'real')}", "1", 0.0),
    ("subprocess", f"\\boxed{{subprocess.run(['touch', '{MARKER}'])}}", "0", 0.0),
    ("mathrm os.system", f"\\boxed{{\\mathrm{{os.system('touch {MARKER}')}}}}", "0", 0.0),
    ("#### code", f"#### __import__('os').system('touch {MARKER}')", "0", 0.0),
    # TeX primitives
    ("\\input", "\\boxed{\\input{/etc/passwd}}", "1", 0.0),
    ("\\include", "\\boxed{\\include{/etc/shadow}}", "1", 0.0),
    ("\\def loop", "\\boxed{\\def\\x{\\x}\\x}", "1", 0.0),
    ("\\newcommand", "\\boxed{\\newcommand{\\a}{\\a}\\a}", "1", 0.0),
    ("\\write18", f"\\boxed{{\\immediate\\write18{{touch {MARKER}}}}}", "1", 0.0),
    ("\\catcode", "\\boxed{\\catcode`\\{=12 1}", "1", 0.0),
    ("\\csname", "\\boxed{\\csname relax\\endcsname}", "1", 0.0),
    # hostile, yet the right answer is there: must score 1.0
    ("megabyte of noise, then the answer", "\x00" * 1000 + "z" * MB + "\\boxed{\\frac{1}{2}}\x1b[0m", "0.5", 1.0),
    ("NUL inside the answer", "\\boxed{1\x002}", "12", 1.0),
    ("brace flood before the answer", "{" * 50_000 + " so \\boxed{7}", "7", 1.0),
    ("unclosed box after the answer", "\\boxed{18} then \\boxed{" + "9" * 10_000, "18", 1.0),
    ("code earlier, answer last", "\\boxed{__import__('os')} no wait: \\boxed{3}", "3", 1.0),
    ("power tower equal to the gold string", "\\boxed{9^{9^{9}}}", "9^{9^{9}}", 1.0),
    ("a megabyte of rambling after the box", "\\boxed{42}. " + "blah " * 200_000, "42", 1.0),
]

LEGIT = [  # for the thread-pool batch: (completion, gold, expected)
    ("\\boxed{\\frac{1}{2}}", "0.5", 1.0),
    ("#### 1,234", "1234", 1.0),
    ("The answer is 18.", "18", 1.0),
    ("\\boxed{(3, \\pi/2)}", "\\left( 3, \\frac{\\pi}{2} \\right)", 1.0),
    ("\\boxed{\\frac{\\sqrt3}{2}}", "\\frac{\\sqrt{3}}{2}", 1.0),
    ("\\boxed{1+x^2}", "x^2+1", 1.0),
    ("\\boxed{7}", "8", 0.0),
    ("\\boxed{x^2-1}", "x^2+1", 0.0),
]


def _descendants() -> set[int]:
    try:
        return {p.pid for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        return set()


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A fresh, empty current directory; yields a check that nothing appeared anywhere."""
    assert warmup()  # workers ready, whatever an earlier test did to the pool
    monkeypatch.chdir(tmp_path)
    pwned_before = os.path.exists(PWNED)
    before = _descendants() - set(verifier_pids())

    def check():
        assert list(tmp_path.iterdir()) == [], "a file appeared in the current directory"
        assert not os.path.exists(MARKER), f"{MARKER} was created"
        if not pwned_before:
            assert not os.path.exists(PWNED), f"{PWNED} was created"
        extra = _descendants() - set(verifier_pids()) - before
        assert not extra, f"unexpected child processes: {[psutil.Process(p).cmdline() for p in extra]}"
        for pid in verifier_pids():  # the verifier's workers start nothing themselves
            assert psutil.Process(pid).children(recursive=True) == []

    return check


def test_there_are_enough_hostile_cases():
    assert len(HOSTILE) >= 40
    assert sum(expected == 1.0 for *_, expected in HOSTILE) >= 1
    assert len({name for name, *_ in HOSTILE}) == len(HOSTILE)


def test_each_hostile_completion_scores_fast_and_correctly(sandbox):
    slow, wrong = [], []
    for name, completion, gold, expected in HOSTILE:
        t0 = time.perf_counter()
        score = math_reward(completion, gold)  # must not raise
        elapsed = time.perf_counter() - t0
        if elapsed > TIME_LIMIT_S:
            slow.append(f"{name}: {elapsed:.2f} s")
        if score != expected:
            wrong.append(f"{name}: {score} != {expected}")
    assert not slow, slow
    assert not wrong, wrong
    sandbox()


def test_hostile_batch_from_a_thread_pool(sandbox):
    items = [(c, g, e) for _, c, g, e in HOSTILE] + LEGIT * 4
    items = (items * (200 // len(items) + 1))[:200]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        scores = list(pool.map(lambda it: math_reward(it[0], it[1]), items))
    elapsed = time.perf_counter() - t0
    assert elapsed < 60, f"200 completions from 8 threads took {elapsed:.1f} s"
    assert scores == [e for _, _, e in items]
    sandbox()


def _score_in_subprocess(args):
    completion, gold = args
    from rlselect.rewards import math_reward as reward

    return reward(completion, gold)


def test_scoring_from_worker_processes(sandbox):
    hostile = {name: (c, g) for name, c, g, _ in HOSTILE}
    items = [(c, g) for c, g, _ in LEGIT[:6]]
    items += [hostile["power tower 9^9^9^9^9"], hostile["os.system via __import__"], hostile["sum of n^n up to 10^5"]]
    expected = [e for _, _, e in LEGIT[:6]] + [0.0, 0.0, 0.0]
    with ProcessPoolExecutor(2) as pool:
        scores = list(pool.map(_score_in_subprocess, items, timeout=120))
    assert scores == expected
    time.sleep(0.2)  # the pool's processes (and their own verifier workers) are gone
    sandbox()


def _score_and_send(conn, completion, gold):
    conn.send(math_reward(completion, gold))


def test_scoring_from_a_daemon_process(sandbox):
    """DataLoader workers are daemonic processes, which multiprocessing allows no children: the verifier's workers
    start there all the same, and are stopped when the process ends (else its exit would wait for them)."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_score_and_send, args=(send, "\\boxed{1+x^2}", "x^2+1"), daemon=True)
    proc.start()
    assert recv.poll(120) and recv.recv() == 1.0
    proc.join(60)
    assert proc.exitcode == 0
    sandbox()


RAW_FORK = """
import os, sys, time
from rlselect.rewards import math_reward, verifier_pids, warmup
assert warmup()
pids = verifier_pids()
if os.fork() == 0:  # the child scores with workers of its own, then exits normally (atexit handlers run)
    sys.exit(0 if math_reward("\\\\boxed{1+x^2}", "x^2+1") == 1.0 else 3)
assert os.wait()[1] == 0, "the child failed"
time.sleep(0.5)  # pebble notices a dead worker within 0.1 s
assert verifier_pids() == pids, "the child's exit stopped the parent's workers"
assert math_reward("\\\\boxed{2+x^2}", "x^2+2") == 1.0
"""


def test_an_os_fork_child_scores_and_leaves_the_parents_workers_alone():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", RAW_FORK], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr, out.stderr[-3000:]


def test_a_request_past_its_deadline_kills_its_worker(monkeypatch):
    """The hard deadline. A worker that has not answered KILL_GRACE after the request's deadline is killed; the
    call scores 0.0 and is not cached, and a new worker takes the old one's place. Here the sanitizer is bypassed
    and timeout=0 arms no alarm in the worker, so 9^(9^9) would run for minutes, as one long C call would."""
    from rlselect.rewards import verifier

    assert warmup()
    monkeypatch.setattr(verifier, "reject_reason", lambda text: None)
    pids = verifier_pids()
    cached = verifier._verify_cached.cache_info().currsize
    t0 = time.perf_counter()
    score = math_reward("\\boxed{9^{9^{9}}}", "1", timeout=0)
    elapsed = time.perf_counter() - t0
    assert score == 0.0
    # Killed at 0.3 s (+ pebble's 0.1 s tick); the bound is several times that, for a loaded machine.
    assert elapsed < verifier.KILL_GRACE + 2.0, f"took {elapsed:.2f} s"
    assert verifier._verify_cached.cache_info().currsize == cached
    killed = set(pids) - set(verifier_pids())
    assert len(killed) == 1 and not any(psutil.pid_exists(pid) for pid in killed)  # killed and reaped
    assert math_reward("\\boxed{1+x^2}", "x^2+1", timeout=1.1) == 1.0
    for _ in range(100):  # pebble starts the replacement on its next 0.1 s tick
        if len(set(verifier_pids()) - set(pids)) == 1:
            break
        time.sleep(0.1)
    assert len(verifier_pids()) == len(pids) and len(set(verifier_pids()) - set(pids)) == 1


def test_a_wedged_pool_is_replaced(monkeypatch, caplog):
    """Workers that take no request at all (here: all stopped) cannot hold a call up either: it scores 0.0 once
    QUEUE_TIMEOUT has passed (with a warning: a verdict lost, not a wrong answer), those workers are killed and
    the next call starts a new pool."""
    from rlselect.rewards import verifier

    assert warmup()
    monkeypatch.setattr(verifier, "QUEUE_TIMEOUT", 1.0)
    pids = verifier_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.perf_counter()
        score = math_reward("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}", timeout=0.5)
        elapsed = time.perf_counter() - t0
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert score == 0.0
    assert any("no worker answered" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    assert elapsed < 1.0 + 0.5 + verifier.KILL_GRACE + 2.0, f"took {elapsed:.2f} s"
    assert warmup() and verifier_pids() and not set(pids) & set(verifier_pids())
    assert math_reward("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}", timeout=0.9) == 1.0
    assert not any(psutil.pid_exists(pid) for pid in pids)  # killed and reaped
