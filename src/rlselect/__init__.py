"""rlselect: data selection for reinforcement learning with verifiable rewards (RLVR).

Stages: data -> rollouts -> features -> scores -> selection -> GRPO training -> evaluation -> report.
Sub-packages are imported lazily so that `import rlselect` stays cheap.
"""

__version__ = "0.1.0"

OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def hub_offline(datasets: bool = True) -> bool:
    """HF_HUB_OFFLINE is set (1/true/yes/on), or HF_DATASETS_OFFLINE too when `datasets` (the
    `datasets` library honours both, transformers the first): only local files and the hub cache."""
    import os

    names = OFFLINE_VARS if datasets else OFFLINE_VARS[:1]
    return any(os.environ.get(k, "").strip().upper() in ("1", "TRUE", "YES", "ON") for k in names)


def code_commit(path: str | None = None) -> str | None:
    """The git commit of the checkout this package runs from (12 hex digits), with "-dirty" when its
    src/ or conf/ has uncommitted changes or new files (results/ and runs/ do not count: runs write
    there); None where the package is not a tracked file of a git checkout (a wheel install, no
    git). Quiet: git's own messages never reach the console. `path`: the package folder (tests)."""
    import subprocess
    from pathlib import Path

    here = Path(path or __file__).resolve()
    folder = here if here.is_dir() else here.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    if git("ls-files", "--error-unmatch", "__init__.py") is None:  # not tracked here: someone else's repo
        return None
    head = git("rev-parse", "--short=12", "HEAD")
    if not head:
        return None
    return head + ("-dirty" if git("status", "--porcelain", "--", ":/src", ":/conf") else "")


def compute_platform() -> str:
    """What ran the arithmetic: the CUDA device's name, or the CPU kernel set torch dispatches to (e.g.
    'cpu AVX2'), and torch's version. Float results differ across these: the demo's tiny model, trained by
    the same code from the same seed, scored 55.0% on one CPU host and 38.0% on another. A process that has
    not touched CUDA (stages in child processes) asks nvidia-smi: naming the device through torch would
    create a CUDA context here that holds GPU memory for the rest of the sweep."""
    import os
    import subprocess

    import torch

    if not torch.cuda.is_available():
        device = f"cpu {torch.backends.cpu.get_cpu_capability()}"
    elif torch.cuda.is_initialized():
        device = torch.cuda.get_device_name()
    else:
        first = (os.environ.get("CUDA_VISIBLE_DEVICES") or "0").split(",")[0].strip()
        try:
            query = ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader", f"--id={first}"]
            done = subprocess.run(query, capture_output=True, text=True, timeout=30)
            device = done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else "cuda"
        except (OSError, subprocess.SubprocessError):
            device = "cuda"
    return f"{device}, torch {torch.__version__}"
