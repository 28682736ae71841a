"""The installed package: the `rlselect` console command finds its Hydra configs from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "rlselect"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(BIN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not BIN.exists(), reason="the package is not installed (make install / pip install -e .)")
def test_console_command_outside_the_repository(tmp_path):
    out = run_cli("--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "rlselect: data selection" in out.stdout and "selector: " in out.stdout
    out = run_cli("experiment=demo", "--cfg", "job", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "study: demo" in out.stdout and "name: tiny" in out.stdout
    assert not list(tmp_path.iterdir())  # printing a config writes no run directory


def test_conf_dir_override_is_checked(tmp_path, monkeypatch):
    from rlselect import cli

    monkeypatch.setenv("RLSELECT_CONF_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="RLSELECT_CONF_DIR"):
        cli._conf_dir()
    (tmp_path / "config.yaml").write_text("seed: 0\n")
    assert cli._conf_dir() == str(tmp_path)


def test_a_wheel_install_carries_the_configs(tmp_path):
    """`pip install .` (not editable): the wheel holds conf/, so the CLI composes from anywhere."""
    from rlselect.gpu_wheels import _project_wheel

    _project_wheel(tmp_path / "wheel")
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site)]
        + [str(w) for w in (tmp_path / "wheel").glob("*.whl")],
        check=True,
    )
    repo_conf = Path(__file__).resolve().parents[2] / "conf"
    shipped = sorted(p.relative_to(site / "rlselect" / "conf") for p in (site / "rlselect" / "conf").rglob("*.yaml"))
    assert shipped == sorted(p.relative_to(repo_conf) for p in repo_conf.rglob("*.yaml"))
    env = {k: v for k, v in os.environ.items() if k != "RLSELECT_CONF_DIR"} | {"PYTHONPATH": str(site)}
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    code = "import rlselect.cli as c; print(c.__file__); print(c.CONF_DIR)"
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(site / "rlselect" / "cli.py"), str(site / "rlselect" / "conf")]
    out = subprocess.run(
        [sys.executable, "-m", "rlselect.cli", "experiment=demo", "--cfg", "job"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "study: demo" in out.stdout
