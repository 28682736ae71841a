"""The math-verify call itself: parse both answers as LaTeX, compare, within a deadline.

Imports only the standard library and math-verify, so that the worker process (`_worker.py`)
can load it without importing the `rlselect` package. The deadline is a SIGALRM interval timer
(`setitimer`, sub-second) that raises a BaseException subclass, so that math-verify's and
sympy's `except Exception` clauses cannot swallow it; it is only armed in the main thread
(signals cannot be used elsewhere), and math-verify's own signal timeouts are always disabled
(`parsing_timeout=None`, `timeout_seconds=None`) because they would clobber ours.
"""

from __future__ import annotations

import logging
import signal
import threading

# math-verify warns once that its own timeout is disabled (we bound time ourselves) and logs
# every unparsable string; neither is useful here.
logging.getLogger("math_verify").setLevel(logging.CRITICAL)
logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)

from math_verify import LatexExtractionConfig, parse, verify  # noqa: E402

_CONFIG = [LatexExtractionConfig(boxed_match_priority=0)]


class Deadline(BaseException):
    """Raised from the SIGALRM handler when the time for one comparison is over."""


def _on_alarm(signum, frame):
    raise Deadline()


def _compare(pred: str, gold: str) -> bool:
    gold_parsed = parse("\\boxed{" + gold + "}", extraction_config=_CONFIG, parsing_timeout=None)
    if not gold_parsed:
        return False
    pred_parsed = parse("\\boxed{" + pred + "}", extraction_config=_CONFIG, parsing_timeout=None)
    if not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))


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
    except RecursionError:
        return "E"
    except MemoryError:
        return "E"
    except Exception:
        return "E"
    finally:
        if use_timer and old_handler is not None:
            signal.signal(signal.SIGALRM, old_handler)
