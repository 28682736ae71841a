"""Run records, benchmarks and diagnostics name the rlselect commit that made them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import rlselect

PACKAGE = Path(rlselect.__file__).resolve().parent
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def test_this_checkouts_head():
    if subprocess.run(["git", "-C", str(PACKAGE), "rev-parse"], capture_output=True).returncode:
        pytest.skip("not running from a git checkout")
    assert rlselect.code_commit().split("-")[0] == git(PACKAGE, "rev-parse", "--short=12", "HEAD")


def test_dirty_means_changed_code_or_config_not_results(tmp_path):
    package = tmp_path / "src" / "rlselect"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text("seed: 0\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "runs.jsonl").write_text("{}\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "c")
    head = git(tmp_path, "rev-parse", "--short=12", "HEAD")
    assert rlselect.code_commit(str(package)) == head
    (tmp_path / "results" / "runs.jsonl").write_text("{}\n{}\n")  # a run appended its record
    (tmp_path / "runs").mkdir()
    assert rlselect.code_commit(str(package)) == head
    (package / "my_selector.py").write_text("")  # a new, uncommitted selector
    assert rlselect.code_commit(str(package)) == head + "-dirty"
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "d")
    (tmp_path / "conf" / "config.yaml").write_text("seed: 1\n")
    assert rlselect.code_commit(str(package)) == git(tmp_path, "rev-parse", "--short=12", "HEAD") + "-dirty"


def test_none_and_silent_outside_a_checkout_or_inside_someone_elses(tmp_path, capfd):
    copy = tmp_path / "rlselect"
    copy.mkdir()
    (copy / "__init__.py").write_text("")
    assert rlselect.code_commit(str(copy)) is None  # no repository at all
    git(tmp_path, "init", "-q")
    assert rlselect.code_commit(str(copy)) is None  # a repository that does not track the package
    assert capfd.readouterr().err == ""
