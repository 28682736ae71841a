"""`math_reward`: is a completion's final answer mathematically equal to the gold answer?

Three layers, cheapest first:

1. extraction (`extract.extract_answer`): the last `\\boxed{}` (or `#### x`, "The answer is x"),
   bounded string work whatever the completion's size;
2. fast paths, in this process: equal after harmless normalisation (spaces, `\\left`, `\\dfrac`,
   ...) -> 1.0; both plain numbers (integers, decimals, `a/b`, `\\frac{a}{b}`, "1,234") ->
   compared as exact fractions (decimals rounded to 6 places, as math-verify does). GSM8K-style
   rewards never go further; a call costs microseconds;
3. math-verify (LaTeX -> sympy, `_mv.verify_answers`) for the rest, after `sanitize.reject_reason`
   has turned away power towers, huge factorials, TeX definitions and code (score 0.0).

Layer 3 runs in a small pool of persistent worker processes (`_worker.py`, started on first use,
at most `RLSELECT_VERIFY_WORKERS`, default min(4, cpu count)) and never in the calling process:
math-verify's own timeouts use SIGALRM, which works only in a main thread, and sympy can spend
hours in one C-level big-integer operation that no signal interrupts. Each request has a deadline
(`timeout`, default `RLSELECT_VERIFY_TIMEOUT` = 1.2 s, enforced inside the worker with a
sub-second alarm); a worker that has not answered 0.3 s after that is killed and replaced, and the
call scores 0.0. So `math_reward` is bounded in time from any thread or process, never raises and
never evaluates model text. Worker pids: `verifier_pids()`. Set `RLSELECT_VERIFY_MODE=inline` to
run math-verify in the calling process instead (bounded by an alarm in the main thread only); the
pool falls back to that by itself when worker processes cannot be started.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from functools import lru_cache

from rlselect.rewards.extract import (
    MAX_ANSWER_CHARS,
    _clean,
    extract_answer,
    last_boxed,
    normalise,
    numbers_equal,
    parse_number,
    strip_control,
)
from rlselect.rewards.sanitize import reject_reason

log = logging.getLogger(__name__)

def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


DEFAULT_TIMEOUT = _env_float("RLSELECT_VERIFY_TIMEOUT", 1.2)
KILL_GRACE = 0.3  # seconds past the worker's own deadline before it is killed
STARTUP_TIMEOUT = 60.0  # a fresh worker imports sympy + math-verify and warms up (~2 s idle)
ACQUIRE_TIMEOUT = 60.0  # waiting for a free worker when every worker is busy
WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker.py")


class _NoVerdict(Exception):
    """The worker did not answer in time (or is gone): score 0.0 and do not cache."""


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", WORKER_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd="/",
            close_fds=True,
            start_new_session=True,  # no Ctrl-C from the terminal; it exits when stdin closes
            bufsize=0,
        )
        self.fd_in = self.proc.stdin.fileno()
        self.fd_out = self.proc.stdout.fileno()
        self.poller = select.poll()
        self.poller.register(self.fd_out, select.POLLIN)
        self.buf = b""
        self.ready = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _line(self, deadline: float) -> str | None:
        """The next line from the worker, or None on deadline or end of file."""
        while b"\n" not in self.buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not self.poller.poll(max(1, int(remaining * 1000))):
                continue
            chunk = os.read(self.fd_out, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("ascii", "replace").strip()

    def wait_ready(self) -> bool:
        if not self.ready:
            self.ready = self._line(time.monotonic() + STARTUP_TIMEOUT) == "ready"
        return self.ready

    def request(self, pred: str, gold: str, timeout: float) -> str | None:
        msg = json.dumps({"p": pred, "g": gold, "t": timeout}).encode("utf-8") + b"\n"
        try:
            os.write(self.fd_in, msg)
        except OSError:
            return None
        return self._line(time.monotonic() + timeout + KILL_GRACE)

    def close(self, kill: bool) -> None:
        try:
            if kill:
                self.proc.kill()
            else:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=2.0)
        except Exception:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except Exception:
                pass


class _Pool:
    """Up to `size` workers shared by all threads of this process."""

    def __init__(self, size: int) -> None:
        self.pid = os.getpid()
        self.size = max(1, size)
        self.idle: list[_Worker] = []
        self.all: set[_Worker] = set()
        self.cond = threading.Condition()
        self.kills = 0
        self.start_failures = 0
        self.broken = False  # workers cannot be started here: use inline mode

    def _spawn(self) -> _Worker:
        w = _Worker()
        self.all.add(w)
        return w

    def acquire(self) -> _Worker | None:
        deadline = time.monotonic() + ACQUIRE_TIMEOUT
        with self.cond:
            while True:
                if self.idle:
                    return self.idle.pop()
                if len(self.all) < self.size:
                    return self._spawn()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)

    def release(self, w: _Worker, healthy: bool) -> None:
        if healthy:
            with self.cond:
                self.idle.append(w)
                self.cond.notify()
            return
        w.close(kill=True)
        with self.cond:
            self.all.discard(w)
            self.kills += 1
            if not w.ready:
                self.start_failures += 1
                if self.start_failures >= 2:
                    self.broken = True
            elif not self.broken and len(self.all) < self.size:
                # Start the replacement now so that its import overlaps with the caller's work.
                try:
                    self.idle.append(self._spawn())
                except OSError:
                    pass
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            workers = list(self.all)
            self.all.clear()
            self.idle.clear()
        for w in workers:
            w.close(kill=False)


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()
_INLINE_WARNED = False


def _pool() -> _Pool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            size = int(_env_float("RLSELECT_VERIFY_WORKERS", min(4, os.cpu_count() or 1)))
            _POOL = _Pool(size)
        return _POOL


def _after_fork_in_child() -> None:
    """A forked child (e.g. a ProcessPoolExecutor worker) starts its own pool; it must not use
    or keep open the parent's pipes, and the parent's locks may be held by a thread that does
    not exist here."""
    global _POOL, _POOL_LOCK
    old, _POOL, _POOL_LOCK = _POOL, None, threading.Lock()
    if old is not None:
        for w in list(old.all):
            for fd in (w.fd_in, w.fd_out):
                try:
                    os.close(fd)
                except OSError:
                    pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def shutdown() -> None:
    """Stop this process's verifier workers (they also exit by themselves when it ends)."""
    global _POOL
    pool, _POOL = _POOL, None
    if pool is not None and pool.pid == os.getpid():
        pool.close()


def verifier_pids() -> list[int]:
    """Process ids of this process's verifier workers (for tests and debugging)."""
    pool = _POOL
    if pool is None or pool.pid != os.getpid():
        return []
    with pool.cond:
        return [w.pid for w in pool.all]


def warmup() -> bool:
    """Start one worker and wait until it is ready (so that the first real call is fast)."""
    if os.environ.get("RLSELECT_VERIFY_MODE", "process") == "inline":
        from rlselect.rewards import _mv  # noqa: F401

        return True
    pool = _pool()
    if pool.broken:
        return False
    w = pool.acquire()
    if w is None:
        return False
    ok = False
    try:
        ok = w.wait_ready()
    finally:
        pool.release(w, ok)
    return ok


def _inline(pred: str, gold: str, timeout: float) -> str:
    global _INLINE_WARNED
    from rlselect.rewards import _mv

    if threading.current_thread() is not threading.main_thread() and not _INLINE_WARNED:
        _INLINE_WARNED = True
        log.warning("math-verify runs inline in a worker thread: no time bound on its calls")
    return _mv.verify_answers(pred, gold, timeout)


def _run_math_verify(pred: str, gold: str, timeout: float) -> str:
    if os.environ.get("RLSELECT_VERIFY_MODE", "process") == "inline":
        return _inline(pred, gold, timeout)
    pool = _pool()
    if pool.broken:
        return _inline(pred, gold, timeout)
    try:
        w = pool.acquire()
    except OSError:  # cannot start processes here
        pool.broken = True
        return _inline(pred, gold, timeout)
    if w is None:
        raise _NoVerdict("every verifier worker stayed busy")
    res = None
    try:
        if w.wait_ready():
            res = w.request(pred, gold, timeout)
    finally:
        pool.release(w, res is not None)
    if res is None:
        if pool.broken:
            return _inline(pred, gold, timeout)
        raise _NoVerdict("worker deadline")
    return res


@lru_cache(maxsize=1 << 16)
def _verify_cached(pred: str, gold: str, timeout: float) -> bool:
    res = _run_math_verify(pred, gold, timeout)
    if res == "T":
        raise _NoVerdict("math-verify deadline")
    return res == "1"


def clean_gold(gold) -> str | None:
    """The gold answer as a clean string (a stray `\\boxed{}` or `$...$` around it is removed)."""
    if gold is None or isinstance(gold, bool):
        return None
    if isinstance(gold, float) and gold.is_integer():
        gold = int(gold)
    text = strip_control(str(gold))
    if "\\boxed" in text or "\\fbox" in text:
        text = last_boxed(text) or ""
    return _clean(text)


def answers_match(pred: str, gold: str, timeout: float | None = None, *, fast: bool = True) -> bool:
    """Are two extracted answers equivalent? Fast paths first, then math-verify in a worker.

    `fast=False` skips the string and number fast paths (to test math-verify's own verdict).
    """
    if not pred or not gold or len(pred) > MAX_ANSWER_CHARS or len(gold) > MAX_ANSWER_CHARS:
        return False
    p, g = normalise(pred), normalise(gold)
    if not p or not g:
        return False
    if fast and p == g:
        return True
    pn, gn = parse_number(p), parse_number(g)
    if fast and pn is not None and gn is not None:
        return numbers_equal(pn, gn)
    if reject_reason(pred) or reject_reason(gold):
        return False
    t = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    try:
        return _verify_cached(pred, gold, t)
    except _NoVerdict:
        return False


def math_reward(completion: str, gold: str, *, timeout: float | None = None) -> float:
    """1.0 when the completion's final answer (`extract_answer`) equals `gold` mathematically,
    else 0.0 (also for no answer, unparsable or hostile input, and deadline overruns).

    Never raises, never evaluates the text, and returns within about `timeout` + 0.5 s
    (default 1.5 s) of math-verify work from any thread or process (module docstring).
    """
    try:
        if not isinstance(completion, str):
            return 0.0
        pred = extract_answer(completion)
        g = clean_gold(gold)
        if pred is None or g is None:
            return 0.0
        return 1.0 if answers_match(pred, g, timeout) else 0.0
    except Exception:  # the contract: a reward, never an exception
        log.debug("math_reward failed", exc_info=True)
        return 0.0


def batch_math_reward(completions: list[str], golds: list[str], *, timeout: float | None = None) -> list[float]:
    """`math_reward` over aligned lists (plain-number pairs cost microseconds each)."""
    if len(completions) != len(golds):
        raise ValueError(f"{len(completions)} completions but {len(golds)} gold answers")
    return [math_reward(c, g, timeout=timeout) for c, g in zip(completions, golds)]
