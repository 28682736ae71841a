"""The GPU install files and the wheel bundle for a bare CUDA machine (no network: pins, parsing and
size accounting only; `make gpu-wheels` does the downloading)."""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from rlselect import gpu_wheels as gw

REPO = Path(__file__).resolve().parents[2]
PINS = gw.parse_requirements((REPO / "requirements.txt").read_text())


def test_parse_requirements_reads_exact_pins_and_skips_the_rest():
    text = "\n".join(
        [
            "# a comment",
            "",
            "torch==2.13.0",
            "math-verify[antlr4_9_3]==0.9.0   # extras dropped",
            "Latex2Sympy2_Extended==1.11.0",
            'foo==1.0; python_version < "3.12"',
            "-r other.txt",
            "--extra-index-url https://example.invalid/simple",
        ]
    )
    assert gw.parse_requirements(text) == {
        "torch": "2.13.0",
        "math-verify": "0.9.0",
        "latex2sympy2-extended": "1.11.0",
        "foo": "1.0",
    }
    with pytest.raises(ValueError, match="not an exact pin"):
        gw.parse_requirements("trl>=1.16\n")


def test_bundle_is_pinned_to_requirements_txt():
    bundle = {gw.canonical(p.name): v for p, v in gw.pinned_bundle(PINS)}
    for name in ["trl", "hydra-core", "omegaconf", "math-verify", "latex2sympy2-extended", "lm-eval", "pebble"]:
        assert bundle[name] == PINS[name], name
    assert bundle["antlr4-python3-runtime"] == "4.9.3" == PINS["antlr4-python3-runtime"]
    assert bundle["datasets"] == PINS["datasets"]
    # what the image already has is not carried again
    for name in ["torch", "transformers", "accelerate", "peft", "numpy", "pandas", "tabulate", "wandb"]:
        assert name not in bundle, name


def test_a_package_without_any_pin_is_an_error():
    pins = dict(PINS)
    del pins["trl"]
    with pytest.raises(ValueError, match="trl has no pin"):
        gw.pinned_bundle(pins)


def test_transitive_pins_are_what_requirements_txt_installs_and_datasets_accepts():
    datasets_reqs = {
        gw.canonical(r.name): r for r in map(Requirement, metadata.requires("datasets") or []) if r.marker is None
    }
    for name, version in gw.TRANSITIVE_PINS.items():
        assert metadata.version(name) == version, f"{name}: .venv has {metadata.version(name)}"
        assert datasets_reqs[gw.canonical(name)].specifier.contains(version), name


def test_bundled_and_excluded_do_not_overlap():
    excluded = {gw.canonical(n.split("(")[0].strip()) for names in gw.EXCLUDED for n in names.split(",")}
    assert not excluded & {gw.canonical(p.name) for p in gw.BUNDLE}
    assert {"vllm", "wandb", "evaluate", "sqlitedict"} <= excluded


def test_size_accounting_and_budget(tmp_path):
    sizes = {"a-1.0-py3-none-any.whl": 1000, "b-2.0-py312-none-any.whl": 2500}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"\0" * size)
    total = gw.total_size(tmp_path.glob("*.whl"))
    assert total == 3500
    gw.check_budget(total, budget=3500)  # at the limit: fine
    with pytest.raises(SystemExit, match="over the"):
        gw.check_budget(total, budget=3499)
    assert gw.BUDGET_BYTES == 64 * 2**20
    assert gw.mib(3 * 2**20) == "3.00 MiB"


def test_only_pure_wheels_pass():
    assert gw.is_pure(Path("trl-1.16.0-py3-none-any.whl"))
    assert gw.is_pure(Path("multiprocess-0.70.19-py312-none-any.whl"))
    assert not gw.is_pure(Path("pyarrow-24.0.0-cp312-cp312-manylinux_2_28_x86_64.whl"))


def test_list_needs_no_network(capsys):
    assert gw.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "trl==1.16.0" in out and "lm-eval==0.4.13" in out and "excluded:" in out


# requirements-gpu.txt and the `gpu` extra


def _gpu_pins() -> dict[str, str]:
    return gw.parse_requirements((REPO / "requirements-gpu.txt").read_text())


def test_requirements_gpu_is_requirements_txt_plus_vllm_and_deepspeed():
    gpu = _gpu_pins()
    assert set(gpu) - set(PINS) == {"vllm", "deepspeed"}
    assert set(PINS) <= set(gpu)
    changed = {name for name in PINS if gpu[name] != PINS[name]}
    assert changed == {"numpy"}  # mistral-common (vLLM) needs numpy<2.4 on Python <= 3.12
    assert Version(gpu["numpy"]) < Version("2.4")


def test_vllm_pin_is_inside_trls_supported_range_and_matches_the_extra():
    from trl.import_utils import is_vllm_available

    source = inspect.getsource(is_vllm_available)
    low, high = re.search(
        r'Version\("([\d.]+)"\)\s*<=\s*_vllm_base_version\s*<=\s*Version\("([\d.]+)"\)', source
    ).groups()
    gpu = _gpu_pins()
    assert Version(low) <= Version(gpu["vllm"]) <= Version(high)
    assert Version(gpu["torch"]) <= Version("2.14.1")
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gpu"]
    pins = gw.parse_requirements("\n".join(extra))
    assert {k: gpu[k] for k in pins} == pins and {"vllm", "torch", "deepspeed"} <= set(pins)
