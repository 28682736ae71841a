"""Shared pytest setup: markers, and a warm verifier worker for tests that need math-verify."""

from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (make test-all)")
    config.addinivalue_line("markers", "gpu: needs a CUDA device")


@pytest.fixture(scope="session")
def verifier_ready():
    """Start the verifier's worker process once per test session (its import takes ~1.5 s)."""
    from rlselect.rewards import warmup

    assert warmup(), "the verifier worker process did not start"
    return True
