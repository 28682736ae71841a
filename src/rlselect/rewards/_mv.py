"""What runs in the verifier's worker processes: their set-up (`init`) and the math-verify call (`verify_answers`).

math-verify and sympy are imported on first use, so that the parent process can import this module to name these
functions to its pebble pool without paying for them. The deadline is a SIGALRM interval timer (`setitimer`,
sub-second) that raises a BaseException subclass, so that math-verify's and sympy's `except Exception` clauses cannot
swallow it; it is only armed in the main thread (signals cannot be used elsewhere), and math-verify's own signal
timeouts are always disabled (`parsing_timeout=None`, `timeout_seconds=None`) because they would clobber ours.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from functools import cache

# Typical answer shapes: a cold tuple-with-pi comparison takes ~0.8 s, a warm one ~0.1 s.
_WARMUP = [
    ("(3, \\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("[-2, 7]", "x \\in [-2,7]"),
    ("\\frac{\\sqrt3}{2}", "\\dfrac{\\sqrt{3}}{2}"),
    ("1+x^2", "x^2+1"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
]


class Deadline(BaseException):
    """Raised from the SIGALRM handler when the time for one comparison is over."""


def _on_alarm(signum, frame):
    raise Deadline()


@cache
def _math_verify():
    # math-verify warns once that its own timeout is disabled and logs every unparsable string: not useful here.
    for name in ("math_verify", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    from math_verify import LatexExtractionConfig, parse, verify

    return [LatexExtractionConfig(boxed_match_priority=0)], parse, verify


def _compare(pred: str, gold: str) -> bool:
    config, parse, verify = _math_verify()
    gold_parsed = parse("\\boxed{" + gold + "}", extraction_config=config, parsing_timeout=None)
    pred_parsed = gold_parsed and parse("\\boxed{" + pred + "}", extraction_config=config, parsing_timeout=None)
    return bool(pred_parsed and verify(gold_parsed, pred_parsed, timeout_seconds=None))


def verify_answers(pred: str, gold: str, timeout: float | None) -> str:
    """'1' (equivalent), '0' (not), 'T' (deadline hit) or 'E' (an error).

    `pred` and `gold` are already-extracted, already-sanitised answers (not whole completions).
    With `timeout` set and in the main thread, the comparison is interrupted after `timeout`
    seconds (Python-level work only: one long C call finishes first, which is why the caller
    runs this in a worker process it can kill).
    """
    use_timer = bool(timeout) and threading.current_thread() is threading.main_thread()
    old_handler = None
    try:
        if use_timer:
            old_handler = signal.signal(signal.SIGALRM, _on_alarm)
            # Re-fire every 50 ms in case some library code swallows the first one.
            signal.setitimer(signal.ITIMER_REAL, float(timeout), 0.05)
        try:
            return "1" if _compare(pred, gold) else "0"
        finally:
            if use_timer:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except Deadline:
        return "T"
    except Exception:  # MemoryError and RecursionError included
        return "E"
    finally:
        if use_timer and old_handler is not None:
            signal.signal(signal.SIGALRM, old_handler)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def init() -> None:
    """pebble's worker initializer: exit with the parent, import and warm math-verify, then resource limits."""
    # pebble stops a worker past its deadline with SIGTERM: let the kernel end it at once, even inside a C call.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    for pred, gold in _WARMUP:  # the first real requests should not be the slow ones
        verify_answers(pred, gold, 5.0)
    try:  # no file can be written; runaway big-integer arithmetic hits MemoryError
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        with open("/proc/self/statm") as f:
            limit = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE") + (3 << 30)
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard == resource.RLIM_INFINITY or hard > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except Exception:  # not Linux, or limits not permitted: the parent's kill still bounds time
        pass
