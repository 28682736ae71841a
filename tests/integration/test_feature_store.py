"""The sharded, resumable feature store, including a real SIGKILL mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import rlselect.grads.store as store
from rlselect.grads import JLProjection
from rlselect.grads.store import compute_features, load_features

# Shared by this process and the child: the same model (seeded) and the same rollouts.
SETUP = textwrap.dedent("""
    import random
    from rlselect.models.tiny import build_tiny
    model, tok = build_tiny(seed=0)
    rng = random.Random(0)
    N, G = 14, 3
    prompts = [tok.apply_chat_template([{"role": "user", "content": f"What is {i}+{i + 1}?"}],
                                       tokenize=False, add_generation_prompt=True) for i in range(N)]
    completions = [["".join(rng.choice("0123456789 =") for _ in range(rng.randint(1, 20)))
                    for _ in range(G)] for _ in range(N)]
    advantages = [[1.0, -0.5, -0.5] if i % 4 else [0.0, 0.0, 0.0] for i in range(N)]
    KW = dict(shard_size=2, params=["lm_head", "norm"], token_agg="seq_mean")
""")

# The child waits after its third shard (and says so in a marker file) until the parent kills it: the kill
# then always lands between shards, however late the parent looks (a race of polling against a sleep did not).
CHILD = SETUP + textwrap.dedent("""
    import pathlib, sys, time
    import rlselect.grads.store as store
    save, saved = store.atomic_torch_save, []
    def save_then_wait(path, obj):
        save(path, obj)
        saved.append(path)
        if len(saved) == 3:
            pathlib.Path(sys.argv[2]).write_text(str(path))
            while True:
                time.sleep(0.05)
    store.atomic_torch_save = save_then_wait
    store.compute_features(model, tok, prompts, completions, advantages, sys.argv[1], **KW)
""")


pytestmark = pytest.mark.usefixtures("one_thread")


def setup_ns():
    ns: dict = {}
    exec(SETUP, ns)
    return ns


def shard_stats(d: Path):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(d.glob("shard_*.pt"))}


def test_killed_extraction_resumes_without_recomputing(tmp_path, monkeypatch):
    """Test: a feature extraction killed after some shards resumes without recomputing them and
    gives the same features."""
    out = tmp_path / "feats"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    paused = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), str(paused)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.time() + 300  # a hang guard, not a speed check
    try:
        while not paused.exists():
            if proc.poll() is not None:
                pytest.fail(f"child exited early: {proc.stderr.read().decode()[-2000:]}")
            assert time.time() < deadline, "the child never reached its third shard"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    before = shard_stats(out)
    ns = setup_ns()
    n_shards = -(-len(ns["prompts"]) // ns["KW"]["shard_size"])
    assert len(before) == 3 < n_shards, "the kill should leave a partial store"
    for name in before:  # whatever the kill interrupted, every shard file on disk is whole
        assert torch.load(out / name)["features"].shape[0] == ns["KW"]["shard_size"]

    calls = []
    real = store.policy_gradients
    monkeypatch.setattr(store, "policy_gradients", lambda *a, **k: calls.append(1) or real(*a, **k))
    args = (ns["model"], ns["tok"], ns["prompts"], ns["completions"], ns["advantages"])
    progress: list[tuple[int, bool]] = []
    resumed = compute_features(*args, out, **ns["KW"], progress=lambda rows, cached: progress.append((rows, cached)))
    assert len(calls) == n_shards - len(before)  # only the missing shards were computed
    # the progress bar hears which shards were found done (kept out of its ETA) and which were computed
    assert progress == [(2, True)] * 3 + [(2, False)] * (n_shards - 3)
    after = shard_stats(out)
    assert all(after[name] == st for name, st in before.items())  # old shards untouched

    fresh = compute_features(*args, tmp_path / "fresh", **ns["KW"])
    assert resumed.shape == fresh.shape == (len(ns["prompts"]), resumed.shape[1])
    assert torch.allclose(resumed, fresh, rtol=1e-5, atol=1e-7)
    assert torch.equal(load_features(out), resumed)
    assert torch.count_nonzero(resumed[0]) == 0  # all-zero advantages


def test_store_meta_resume_and_config_mismatch(tmp_path):
    ns = setup_ns()
    args = (ns["model"], ns["tok"], ns["prompts"][:5], ns["completions"][:5], ns["advantages"][:5])
    J = JLProjection(32, seed=1)
    feats = compute_features(*args, tmp_path, shard_size=2, params=["lm_head"], projection=J)
    meta = store.read_json(tmp_path / "meta.json")
    assert meta["n"] == 5 and meta["dim"] == 32 and meta["num_shards"] == 3 and meta["complete"]
    assert sorted(p.name for p in tmp_path.glob("shard_*.pt")) == [f"shard_0000{i}.pt" for i in range(3)]
    again = compute_features(*args, tmp_path, shard_size=2, params=["lm_head"], projection=J)
    assert torch.equal(again, feats)
    with pytest.raises(ValueError, match="different configuration"):
        compute_features(*args, tmp_path, shard_size=2, params=["lm_head"], projection=JLProjection(32, seed=2))
    (tmp_path / "shard_00001.pt").unlink()
    with pytest.raises(FileNotFoundError, match="incomplete"):
        load_features(tmp_path)
