"""The verifier's worker process: runs math-verify in its own main thread, one request a line.

Started by `rlselect.rewards.verifier` as `python -I <this file>` (isolated mode: no PYTHON*
variables, no current directory on sys.path). Protocol on stdin/stdout, one line each:

    -> "ready"                                  once math-verify is imported
    <- {"p": pred, "g": gold, "t": seconds}     a JSON request
    -> "1" | "0" | "T" | "E"                    equivalent / not / deadline hit / error

Defences: a SIGALRM deadline per request (in `_mv`), address-space and file-size limits (no
file can be written; runaway big-integer arithmetic hits MemoryError), and a watchdog thread
that exits when the parent process is gone. The parent kills this process when a request
overruns its hard deadline (one long C call that no signal interrupts) and starts another.
"""

import json
import os
import sys
import threading
import time


_WARMUP = [
    ("(3, \\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("[-2, 7]", "x \\in [-2,7]"),
    ("\\frac{\\sqrt3}{2}", "\\dfrac{\\sqrt{3}}{2}"),
    ("1+x^2", "x^2+1"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
]


def _limit_resources() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        with open("/proc/self/statm") as f:
            vm_bytes = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = vm_bytes + (3 << 30)
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except Exception:  # not Linux, or limits not permitted: the parent's kill still bounds time
        pass


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    parent = os.getppid()
    try:  # Ctrl-C is for the parent; this process ends when the parent closes its stdin
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except Exception:
        pass
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    import _mv  # noqa: E402  (math-verify, sympy: the slow import, ~1.5 s)

    # Warm sympy's caches on typical answer shapes so that the first real requests are not the
    # slow ones (a cold tuple-with-pi comparison takes ~0.8 s, a warm one ~0.1 s).
    for pred, gold in _WARMUP:
        _mv.verify_answers(pred, gold, 5.0)
    _limit_resources()
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            res = _mv.verify_answers(str(req["p"]), str(req["g"]), float(req.get("t") or 0) or None)
        except BaseException:  # a late deadline signal included: answer, keep serving
            res = "E"
        out.write(res.encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
