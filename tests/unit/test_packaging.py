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
