"""`python -m rlselect.gpu_wheels --list | --download DIR`: the pure-Python wheels that a bare CUDA
machine needs to run this project's GPU smoke test, without a package index there.

The machine is assumed to hold a CUDA image with Python 3.12 (`--python` for another), torch 2.11,
transformers 5.17, accelerate, peft and the scientific stack already (numpy, scipy, pandas, pyarrow,
xxhash, fsspec, sympy, jinja2, pyyaml, tqdm, tabulate, sacrebleu, scikit-learn, huggingface-hub).
The bundle adds what the pipeline imports at run time and that image lacks, each at the version
pinned in requirements.txt (`--no-deps`, one `pip download` per package), plus the project itself
as a wheel (`pip wheel --no-deps .`). A run there uses logger=none, rollouts.backend=hf and
trainer.args.use_vllm=false: vLLM is not pure Python and is not carried.

The set is the import closure of a tiny end-to-end run (rollouts, GRPO, lm-eval on a
generate_until task), measured here by recording `sys.modules` after `rlselect.pipeline.run`, not
lm-eval's full Requires-Dist: lm-eval's other requirements are imported only by its own task
folders, its vLLM classes, its response cache or its table printer (EXCLUDED says which).

On the machine, from the repository root (the wheels' own Requires-Python is ignored for the
project wheel, which says <3.12; `pip check` then reports any image version a wheel rejects):

    python3 -m pip install -q --no-index --no-deps --no-compile --ignore-requires-python \
        --target /tmp/site .wheels/*.whl
    export PYTHONPATH=/tmp/site
    python3 -m pip check; python3 -m rlselect.cli logger=none ...

The project wheel carries the Hydra configs (conf/), so the run needs no RLSELECT_CONF_DIR.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name as canonical

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements.txt"
BUDGET_BYTES = 64 * 1024 * 1024  # what one device call carries (working tree and carried paths together)
TARGET_PYTHON = "3.12"  # the image's python3; multiprocess ships one wheel per Python version


@dataclass(frozen=True)
class Package:
    name: str
    why: str
    version: str | None = None  # None: the pin in requirements.txt
    sdist_only: bool = False  # PyPI has no wheel: built here with `pip wheel --no-deps`


# Not in requirements.txt (they come in through datasets and lm-eval): the versions that
# `pip install -r requirements.txt` resolves to (installed in .venv; tests/unit/test_gpu_wheels.py).
TRANSITIVE_PINS = {"dill": "0.4.1", "multiprocess": "0.70.19"}

BUNDLE = [
    Package("trl", "GRPOTrainer and GRPOConfig (training)"),
    Package("hydra-core", "the configs and the `rlselect` entry point"),
    Package("omegaconf", "hydra's config objects"),
    Package(
        "antlr4-python3-runtime",
        "hydra's and omegaconf's grammar, math-verify's LaTeX parser (4.9.3: hydra's version)",
        sdist_only=True,
    ),
    Package("math-verify", "the verifier (rewards, rollouts, lm-eval metric)"),
    Package("latex2sympy2_extended", "math-verify's LaTeX to sympy"),
    Package("lm-eval", "evaluation"),
    Package("datasets", "trl's GRPOTrainer, lm-eval's task API, the GRPO training set"),
    Package("dill", "datasets, and lm_eval.caching.cache (imported by lm_eval.api.task)", TRANSITIVE_PINS["dill"]),
    Package("multiprocess", "datasets", TRANSITIVE_PINS["multiprocess"]),
    Package("pebble", "the verifier's process pool with per-call deadlines"),
]

EXCLUDED = {
    "torch, transformers, accelerate, peft, tokenizers, safetensors, huggingface-hub": "in the image",
    "numpy, scipy, pandas, pyarrow, xxhash, fsspec, sympy, jinja2, pyyaml, tqdm, tabulate, matplotlib": "in the image",
    "sacrebleu, scikit-learn, psutil, packaging, requests": "in the image (lm-eval imports sacrebleu at start)",
    "vllm": "not pure Python (CUDA kernels) and pins torch 2.13; the smoke test uses the hf backend",
    "deepspeed": "multi-GPU only (conf/accelerate/zero3.yaml); an sdist whose ops build on first use",
    "wandb (+ pydantic, opentelemetry-*, platformdirs)": "logger=none; accelerate imports it only if installed",
    "hydra-submitit-launcher, submitit": "Slurm sweeps only (hydra/launcher=slurm)",
    "evaluate": "lm-eval imports it only for a metric missing from its registry (lm_eval/api/registry.py:632); "
    "rlselect's tasks use the registered `acc`",
    "rouge-score (+ nltk), word2number": "imported only by lm-eval's own task folders",
    "sqlitedict": "lm-eval's response cache (use_cache), not used; else a TYPE_CHECKING import (lm_eval/api/model.py:15)",
    "pytablewriter (+ DataProperty, mbstrdecoder, typepy, tabledata, tcolorpy, pathvalidate, chardet)": "only in "
    "lm_eval.utils.make_table (lm_eval/utils.py:481), which rlselect does not call",
    "more-itertools": "lm-eval's vLLM model classes only",
}


def parse_requirements(text: str) -> dict[str, str]:
    """{canonical name: version} of every `name[extras]==version` line; comments and options skipped."""
    pins = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*==\s*([^\s;]+)(\s*;.*)?", line)
        if not m:
            raise ValueError(f"requirements: not an exact pin: {raw!r}")
        pins[canonical(m[1])] = m[3]
    return pins


def pinned_bundle(requirements: dict[str, str]) -> list[tuple[Package, str]]:
    """Each package with its version: its own pin, else requirements.txt's (an error when it has none)."""
    out = []
    for pkg in BUNDLE:
        version = pkg.version or requirements.get(canonical(pkg.name))
        if not version:
            raise ValueError(f"{pkg.name} has no pin in requirements.txt and none of its own")
        out.append((pkg, version))
    return out


def total_size(paths) -> int:
    return sum(Path(p).stat().st_size for p in paths)


def mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB"


def check_budget(total: int, budget: int = BUDGET_BYTES) -> None:
    if total > budget:
        raise SystemExit(f"the wheels take {mib(total)}, over the {mib(budget)} budget")


def is_pure(wheel: Path) -> bool:
    """py3-none-any, or one pure wheel per Python version (py312-none-any): no compiled code."""
    parts = wheel.name[: -len(".whl")].split("-")
    return len(parts) >= 5 and parts[-3].startswith("py") and parts[-2:] == ["none", "any"]


def describe(requirements: dict[str, str], python: str = TARGET_PYTHON) -> str:
    lines = [f"bundle for a CUDA image with torch/transformers/accelerate/peft (Python {python}):"]
    for pkg, version in pinned_bundle(requirements):
        lines.append(f"  {pkg.name}=={version}  ({pkg.why})")
    lines.append("  rlselect (this project: pip wheel --no-deps .)")
    lines.append("excluded:")
    lines += [f"  {names}: {why}" for names, why in EXCLUDED.items()]
    return "\n".join(lines)


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    print("$", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)


def _project_wheel(wheel_dir: Path) -> None:
    """`pip wheel --no-deps .` on a copy of the sources, so that setuptools' build/ folder is not
    left in the checkout."""
    with tempfile.TemporaryDirectory(prefix="rlselect-src-") as src:
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, Path(src) / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        shutil.copytree(REPO / "src", Path(src) / "src", ignore=ignore)
        _pip("wheel", "-q", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheel_dir), src)


def download(dest: Path, requirements: dict[str, str], budget: int = BUDGET_BYTES, python: str = TARGET_PYTHON) -> int:
    """Fetch every wheel into a fresh folder, then replace dest's *.whl with them (one version of each).
    Returns the total size in bytes; exits non-zero over the budget or on a wheel that is not pure."""
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=dest))
    try:
        for pkg, version in pinned_bundle(requirements):
            spec = f"{pkg.name}=={version}"
            if pkg.sdist_only:
                _pip("wheel", "-q", "--no-deps", "--wheel-dir", str(tmp), spec)
            else:
                _pip(
                    "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", python,
                    "--implementation", "cp", "--dest", str(tmp), spec,
                )  # fmt: skip
        _project_wheel(tmp)
        wheels = sorted(tmp.glob("*.whl"))
        impure = [w.name for w in wheels if not is_pure(w)]
        if impure:
            raise SystemExit(f"not pure-Python wheels: {impure}")
        if len(wheels) != len(BUNDLE) + 1:
            raise SystemExit(f"expected {len(BUNDLE) + 1} wheels, got {[w.name for w in wheels]}")
        total = total_size(wheels)
        for w in wheels:
            print(f"  {w.stat().st_size / 2**20:7.2f} MiB  {w.name}")
        print(f"total {mib(total)} in {len(wheels)} wheels (budget {mib(budget)})")
        check_budget(total, budget)
        for old in dest.glob("*.whl"):
            old.unlink()
        for w in wheels:
            w.rename(dest / w.name)
        return total
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlselect.gpu_wheels", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--list", action="store_true", help="print the packages, versions and exclusions (no network)")
    mode.add_argument("--download", metavar="DIR", type=Path, help="fetch the wheels into DIR (replaces its *.whl)")
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS, help="the pins (default: requirements.txt)")
    parser.add_argument(
        "--python", default=TARGET_PYTHON, help=f"the target's Python version (default {TARGET_PYTHON})"
    )
    ns = parser.parse_args(argv)
    requirements = parse_requirements(ns.requirements.read_text())
    if ns.list:
        print(describe(requirements, ns.python))
        return 0
    download(ns.download, requirements, python=ns.python)
    print(
        f"install there: python3 -m pip install --no-index --no-deps --ignore-requires-python --target /tmp/site {ns.download}/*.whl"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
