"""Shared pytest setup: markers, and a warm verifier worker for tests that need math-verify."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def verifier_ready():
    """Start the verifier's worker process once per test session (its import takes ~1.5 s)."""
    from rlselect.rewards import warmup

    assert warmup(), "the verifier worker process did not start"
    return True


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory):
    """One stage cache per test session: tests composing the same model config share its warm start."""
    return tmp_path_factory.mktemp("rlselect_cache")


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for small-tensor workloads: on a 2-core machine OpenMP's spinning
    threads slow them several-fold; restored afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _seeded_rngs():
    """Every test starts from the same global RNG state, whatever ran before it."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def hub_online(monkeypatch):
    """As on a connected GPU machine: `make test` sets HF_HUB_OFFLINE, under which an eval config that
    reads a benchmark or a model from the hub is refused (rlselect.hub_offline)."""
    from rlselect import OFFLINE_VARS

    for var in OFFLINE_VARS:
        monkeypatch.delenv(var, raising=False)
