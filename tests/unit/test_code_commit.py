"""Run records and evaluation results name the rlselect commit that made them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import rlselect

PACKAGE = Path(rlselect.__file__).resolve().parent


def test_the_checkouts_commit_as_git_describes_it():
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(PACKAGE), "rev-parse"]).returncode:
        pytest.skip("not running from a git checkout")
    expected = subprocess.run(
        ["git", "-C", str(PACKAGE), "describe", "--always", "--dirty", "--abbrev=12"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert rlselect.code_commit() == expected and len(expected.split("-")[0]) >= 12


def test_none_and_silent_outside_a_checkout_or_inside_someone_elses(tmp_path, capfd):
    copy = tmp_path / "rlselect"
    copy.mkdir()
    (copy / "__init__.py").write_text("")
    assert rlselect.code_commit(str(copy)) is None  # no repository at all
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert rlselect.code_commit(str(copy)) is None  # a repository that does not track the package
    assert capfd.readouterr().err == ""
