"""`math_reward`: is a completion's final answer mathematically equal to the gold answer?

Three layers, cheapest first:
1. `extract.extract_answer`: the last `\\boxed{}` (or `#### x`, "The answer is x"), bounded string work;
2. fast paths, in this process (microseconds; GSM8K-style rewards never go further): equal after harmless
   normalisation (spaces, `\\left`, `\\dfrac`, ...), or both plain numbers (integers, decimals, `a/b`,
   `\\frac{a}{b}`, "1,234") equal as exact fractions (decimals rounded to 6 places, as math-verify does);
3. math-verify (LaTeX -> sympy, `_mv.verify_answers`) for the rest, after `sanitize.reject_reason`
   has turned away power towers, huge factorials, TeX definitions and code (score 0.0).

Layer 3 runs in a pebble `ProcessPool` of `RLSELECT_VERIFY_WORKERS` (default min(4, cpu count)) fresh
interpreters (spawned without re-running the caller's `__main__`, `worker_context`; set up by `_mv.init`:
rlimits, exit with the parent) started on first use, never in the calling process: math-verify's own
timeouts use SIGALRM, which works only in a main thread, and sympy can spend hours in one C-level big-integer
operation that no signal interrupts. Each request has a deadline
(`timeout`, default `RLSELECT_VERIFY_TIMEOUT` = 1.2 s, enforced inside the worker with a sub-second alarm);
pebble kills a worker that has not answered 0.3 s after that and starts another, and the call scores 0.0
(not cached). A request that no worker takes up within `QUEUE_TIMEOUT` also scores 0.0, and the pool is
replaced. So `math_reward` is bounded in time from any thread or process (forked ones get their own pool),
never raises and never evaluates model text. Worker pids: `verifier_pids()`. Set
`RLSELECT_VERIFY_MODE=inline` to run math-verify in the calling process instead (bounded by an alarm in the
main thread only); the verifier falls back to that by itself when worker processes cannot be started.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache

from pebble import ProcessPool

from rlselect.rewards import _mv, extract
from rlselect.rewards.sanitize import reject_reason
from rlselect.rewards.worker_context import NO_MAIN_SPAWN

log = logging.getLogger(__name__)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


DEFAULT_TIMEOUT = _env_float("RLSELECT_VERIFY_TIMEOUT", 1.2)
KILL_GRACE = 0.3  # seconds past the worker's own deadline before pebble kills it
QUEUE_TIMEOUT = 60.0  # a request no worker takes up in this time: all are busy, or the pool is wedged

_POOL: ProcessPool | None = None
_LOCK = threading.Lock()
_FAILURES = 0  # pools in a row that broke before any verdict: at 2, math-verify runs inline
_INLINE_WARNED = False


class _NoVerdict(Exception):
    """The worker did not answer in time (or is gone): score 0.0 and do not cache."""


def _after_fork_in_child() -> None:
    """A forked child (a DataLoader or ProcessPoolExecutor worker) starts its own pool: the parent's is run
    by threads that do not exist here, and one of them may have held the lock."""
    global _POOL, _LOCK
    _POOL, _LOCK = None, threading.Lock()
    # Nor are the parent's children ours: at exit, pebble and multiprocessing would stop (and join) them.
    multiprocessing.process._children.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _pool() -> ProcessPool | None:
    global _POOL
    with _LOCK:
        if _POOL is None and _FAILURES < 2:
            me = multiprocessing.current_process()
            if me.daemon:  # a DataLoader worker: multiprocessing lets daemons have no children; ours exit with it
                me.daemon = False
            size = max(1, int(_env_float("RLSELECT_VERIFY_WORKERS", min(4, os.cpu_count() or 1))))
            # spawn: fresh interpreters, whatever threads (torch) or state the parent has; they do not re-run
            # the caller's main script (worker_context)
            _POOL = ProcessPool(size, initializer=_mv.init, context=NO_MAIN_SPAWN)
            # multiprocessing waits for a process's children when it ends (a ProcessPoolExecutor worker): stop ours
            multiprocessing.util.Finalize(None, shutdown, exitpriority=10)
        return _POOL


def _drop(pool: ProcessPool, failed: bool) -> None:
    """Forget `pool` (its workers are stopped in the background): the next call starts another."""
    global _POOL, _FAILURES
    with _LOCK:
        if _POOL is pool:
            _POOL, _FAILURES = None, _FAILURES + failed
    pool.stop()
    threading.Thread(target=pool.join, daemon=True).start()


def shutdown() -> None:
    """Stop this process's verifier workers (they also exit by themselves when it ends)."""
    global _POOL
    with _LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.stop()
        pool.join()


def verifier_pids() -> list[int]:
    """Process ids of this process's verifier workers (for tests and debugging)."""
    pool = _POOL  # pebble has no public list of its workers
    return list(pool._pool_manager.worker_manager.workers) if pool is not None else []


def warmup() -> bool:
    """Start the workers and wait until one answers (so that the first real call is fast)."""
    try:
        return _run_math_verify("1", "1", 5.0) == "1" and (_inline_mode() or bool(verifier_pids()))
    except _NoVerdict:
        return False


def _inline_mode() -> bool:
    return os.environ.get("RLSELECT_VERIFY_MODE", "process") == "inline"


def _inline(pred: str, gold: str, timeout: float) -> str:
    global _INLINE_WARNED
    if threading.current_thread() is not threading.main_thread() and not _INLINE_WARNED:
        _INLINE_WARNED = True
        log.warning("math-verify runs inline in a worker thread: no time bound on its calls")
    return _mv.verify_answers(pred, gold, timeout)


def _run_math_verify(pred: str, gold: str, timeout: float) -> str:
    global _FAILURES
    pool = None if _inline_mode() else _pool()
    if pool is None:
        return _inline(pred, gold, timeout)
    try:
        fut = pool.schedule(_mv.verify_answers, (pred, gold, timeout), timeout=timeout + KILL_GRACE)
    except Exception:  # no worker process could be started here, or the pool broke: another, then inline
        _drop(pool, failed=True)
        return _run_math_verify(pred, gold, timeout)
    try:
        res = fut.result(timeout=QUEUE_TIMEOUT + timeout + KILL_GRACE)
    except Exception as exc:  # pebble's deadline kill (TimeoutError), a dead worker, a broken pool, ours
        broken = isinstance(exc, BrokenProcessPool)
        if broken or not (fut.done() or fut.running()):  # broken, or no worker took the request: wedged
            # not a hostile answer's deadline (those are routine): a verdict lost to the pool itself
            log.warning("verifier: no worker answered (%r); this answer scores 0.0 and the pool is replaced", exc)
            _drop(pool, failed=broken)
        fut.cancel()
        raise _NoVerdict(repr(exc)) from None
    _FAILURES = 0
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
    text = extract.strip_control(str(gold))
    if "\\boxed" in text or "\\fbox" in text:
        text = extract.last_boxed(text) or ""
    return extract._clean(text)


def answers_match(pred: str, gold: str, timeout: float | None = None, *, fast: bool = True) -> bool:
    """Are two extracted answers equivalent? Fast paths first, then math-verify in a worker.

    `fast=False` skips the string and number fast paths (to test math-verify's own verdict).
    """
    if not pred or not gold or max(len(pred), len(gold)) > extract.MAX_ANSWER_CHARS:
        return False
    p, g = extract.normalise(pred), extract.normalise(gold)
    if not p or not g:
        return False
    if fast and p == g:
        return True
    pn, gn = extract.parse_number(p), extract.parse_number(g)
    if fast and pn is not None and gn is not None:
        return extract.numbers_equal(pn, gn)
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
        pred = extract.extract_answer(completion)
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
