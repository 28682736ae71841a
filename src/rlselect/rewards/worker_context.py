"""A spawn context whose processes do not re-run the parent's `__main__`.

A spawned child normally re-imports the parent's main script (as `__mp_main__`) before it starts, so that
functions defined there can be unpickled. The verifier's workers run only `rlselect.rewards._mv`, yet a
user's script without an `if __name__ == "__main__":` guard would be run again, whole, in each of them
(loading models, sampling rollouts), and while they were busy with it the parent's requests timed out and
scored 0.0. `NO_MAIN_SPAWN` starts processes that import only what their target needs.

`multiprocessing.spawn.get_preparation_data` (public in that module's `__all__`) is wrapped once: for a
process started through this context, the main-module entries are dropped; every other process is unchanged.
"""

from __future__ import annotations

import threading
from multiprocessing import spawn
from multiprocessing.context import SpawnContext, SpawnProcess

_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")
_STARTING = threading.local()  # set while this thread starts one of our processes
_original_preparation_data = spawn.get_preparation_data


def _preparation_data(name):
    data = _original_preparation_data(name)
    if getattr(_STARTING, "no_main", False):
        for key in _MAIN_KEYS:
            data.pop(key, None)
    return data


spawn.get_preparation_data = _preparation_data


class NoMainSpawnProcess(SpawnProcess):
    @staticmethod
    def _Popen(process_obj):
        _STARTING.no_main = True
        try:
            return SpawnProcess._Popen(process_obj)
        finally:
            _STARTING.no_main = False


class NoMainSpawnContext(SpawnContext):
    Process = NoMainSpawnProcess


NO_MAIN_SPAWN = NoMainSpawnContext()
