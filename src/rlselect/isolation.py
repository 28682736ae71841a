"""GPU-heavy stages (rollouts, warm-up and training, evaluation) in child processes.

In-process vLLM engines and CUDA caching allocators do not hand memory back when a stage ends, and
TRL's colocated vLLM changes process-wide settings; a stage run in its own (spawned) process returns
everything to the device when it exits. `isolate_stages: auto` (conf/config.yaml) does this when a
CUDA device is present; on CPU the stages run in-process. Results come back pickled, errors with the
child's traceback, and the child's pid is recorded per stage (run records: cost.stage_pids).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

log = logging.getLogger(__name__)


def should_isolate(setting: Any) -> bool:
    """isolate_stages: true | false | auto (= a CUDA device is present)."""
    if setting in (None, "auto"):
        import torch

        return torch.cuda.is_available()
    if isinstance(setting, bool):
        return setting
    raise ValueError(f"isolate_stages={setting!r}; use true, false or auto")


def _child_setup(verbose: bool, level: int, single_process: bool) -> None:
    from rlselect import console

    if single_process:  # a stage the main process runs alone under a multi-process launch
        from rlselect.distributed import single_process_env

        single_process_env()
    logging.basicConfig(level=level, format="[%(asctime)s] %(message)s", datefmt="%H:%M:%S")
    console.configure(verbose=verbose)


def _call(fn, args, kwargs):
    return os.getpid(), fn(*args, **kwargs)


class Stages:
    """Runs stage functions in-process or each in a fresh spawned process; records their pids.

    Under a multi-process launch (distributed.world()[1] > 1) every stage is isolated: `run` stages
    (main process only) see a single-process environment, `run_parallel` stages (GRPO) keep the
    launcher's so that all processes train together."""

    def __init__(self, isolate: bool):
        from rlselect.distributed import world

        self.multi = world()[1] > 1
        self.isolate = isolate or self.multi
        self.pids: dict[str, int] = {}

    def run(self, name: str, fn, *args, **kwargs):
        return self._run(name, fn, args, kwargs, single_process=self.multi)

    def run_parallel(self, name: str, fn, *args, **kwargs):
        return self._run(name, fn, args, kwargs, single_process=False)

    def _run(self, name: str, fn, args, kwargs, single_process: bool):
        if not self.isolate:
            self.pids[name] = os.getpid()
            return fn(*args, **kwargs)
        from rlselect import console

        setup = (console.VERBOSE, logging.getLogger().getEffectiveLevel(), single_process)
        with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_child_setup, initargs=setup) as pool:
            try:
                pid, result = pool.submit(_call, fn, args, kwargs).result()
            except BrokenProcessPool as exc:  # killed (e.g. out of memory) rather than raised
                raise RuntimeError(f"stage {name}: its child process died without a result ({exc})") from exc
        self.pids[name] = pid
        log.debug("stage %s ran in child process %d", name, pid)
        return result
