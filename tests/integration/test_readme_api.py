"""README's "From Python (a notebook)" block runs as written, offline, on the embedded model."""

from __future__ import annotations

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_python_block(heading: str) -> str:
    section = README.read_text().split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block under {heading!r} in README.md"
    return match.group(1)


def test_readme_python_api_block_scores_a_pool(tmp_path, monkeypatch, shared_cache_dir, capsys):
    # The block's `.cache/rlselect` is relative to the working directory: point it at this session's cache.
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "rlselect").symlink_to(shared_cache_dir, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(readme_python_block("### From Python (a notebook)"), str(README), "exec"), ns)

    pool, rows, g, g_val = ns["pool"], ns["rows"], ns["g"], ns["g_val"]
    assert g.shape == (32, 256) and g_val.shape == (256,)
    assert [row["id"] for row in rows] == [rec["id"] for rec in pool]
    p = torch.tensor([row["p"] for row in rows])
    assert ((p > 0) & (p < 1)).any(), "the warm-started model should solve some prompts some of the time"
    # LearnAlign weighs g_i by p(1-p): prompts always or never solved score exactly 0
    learnalign = ns["learnalign"]
    assert torch.all(learnalign[(p == 0) | (p == 1)] == 0)
    for scores in (ns["gradalign"], ns["exact"]):  # cosines with g_V
        assert scores.shape == (32,) and torch.all(scores.abs() <= 1 + 1e-5)
    printed = capsys.readouterr().out
    assert "LearnAlign's top 4: ['arith-train-" in printed and "GradAlign's top 4:  ['arith-train-" in printed
