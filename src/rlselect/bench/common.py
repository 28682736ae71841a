"""Shared pieces of the benchmarks: the machine, peak memory, interleaved best-of timing."""

from __future__ import annotations

import os
import platform
import resource
import threading
import time
from typing import Any, Callable

MEMORY_METHOD = (
    "Peak resident memory (RSS) of the benchmark process, sampled every 10 ms by a background "
    "thread (psutil): before each call the garbage is collected and freed heap pages are handed "
    "back to the OS (glibc malloc_trim); peak_rss_mb is the highest sample during the call, "
    "rss_delta_mb that peak minus the RSS just before it (what the call itself added); the worst "
    "of the repeats. Child processes (the verifier worker) are not counted. ru_maxrss_mb is the "
    "process's lifetime high-water mark (getrusage) at the end of each benchmark. On CUDA, "
    "gpu_peak_mb/gpu_delta_mb come from torch.cuda.max_memory_allocated."
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info(device: str = "cpu") -> dict[str, Any]:
    """What the numbers were measured on (goes into every JSON as `machine`)."""
    import torch

    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "device": device,
    }
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
    return info


def header(device: str = "cpu") -> dict[str, Any]:
    """The common head of every benchmark JSON: machine, versions, load at the start."""
    import torch
    import transformers

    return {
        "machine": machine_info(device),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "loadavg_start": loadavg(),
    }


def finish(result: dict) -> dict:
    result["loadavg_end"] = loadavg()
    result["ru_maxrss_mb"] = ru_maxrss_mb()
    result["memory_method"] = MEMORY_METHOD
    return result


def ru_maxrss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def release_free_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc malloc_trim), so that the
    RSS before a call is not inflated by what earlier calls freed (best effort)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Context manager: the peak RSS of this process during the block (see MEMORY_METHOD)."""

    def __init__(self, device: str = "cpu", interval: float = 0.01):
        self.device, self.interval = device, interval
        self.start = self.peak = 0
        self.gpu_start = self.gpu_peak = None

    def _rss(self) -> int:
        if self._proc is not None:
            return self._proc.memory_info().rss
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # fallback: high-water

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = self._rss()
            if rss > self.peak:
                self.peak = rss

    def __enter__(self):
        try:
            import psutil

            self._proc = psutil.Process()
        except ImportError:  # pragma: no cover - psutil comes with accelerate
            self._proc = None
        release_free_memory()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.gpu_start = torch.cuda.memory_allocated()
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
            self.gpu_peak = torch.cuda.max_memory_allocated()
        return False

    def as_dict(self) -> dict[str, float]:
        mb = 2**20
        out = {"peak_rss_mb": round(self.peak / mb, 1), "rss_delta_mb": round((self.peak - self.start) / mb, 1)}
        if self.gpu_peak is not None:
            out["gpu_peak_mb"] = round(self.gpu_peak / mb, 1)
            out["gpu_delta_mb"] = round((self.gpu_peak - self.gpu_start) / mb, 1)
        return out


def worst_memory(samples: list[dict[str, float]]) -> dict[str, float]:
    """Element-wise maximum over the repeats' memory records."""
    out: dict[str, float] = {}
    for s in samples:
        for k, v in s.items():
            out[k] = max(out.get(k, v), v)
    return out


def measure(fn: Callable[[], Any], device: str = "cpu") -> tuple[float, float, dict, Any]:
    """(wall seconds, process CPU seconds, memory record, return value) of one call."""
    sync(device)
    with PeakMemory(device) as mem:
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        sync(device)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall, cpu, mem.as_dict(), value


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int, device: str = "cpu",
                keep: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Run every function once per repeat, in an order rotated each repeat (so no path always
    runs first or right after the same neighbour); returns per name the wall and CPU seconds of
    every repeat, the best of them, the worst memory record and (names in `keep`) the last
    return value under 'value'."""
    names = list(fns)
    res: dict[str, dict[str, Any]] = {n: {"wall": [], "cpu": [], "mem": []} for n in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            wall, cpu, mem, value = measure(fns[name], device)
            res[name]["wall"].append(round(wall, 6))
            res[name]["cpu"].append(round(cpu, 6))
            res[name]["mem"].append(mem)
            if name in keep:
                res[name]["value"] = value
            del value
    for name in names:
        res[name]["best_wall"] = min(res[name]["wall"])
        res[name]["best_cpu"] = min(res[name]["cpu"])
        res[name]["memory"] = worst_memory(res[name].pop("mem"))
    return res
