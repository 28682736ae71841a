"""Run records name what computed them (`rlselect.compute_platform`): float results differ across CPU kernel sets
and GPUs, and the demo's numbers did between two CPU hosts."""

from __future__ import annotations

import os
import stat

import pytest
import torch

from rlselect import compute_platform


def test_on_cpu_it_names_the_kernel_set_torch_dispatches_to(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert compute_platform() == f"cpu {torch.backends.cpu.get_cpu_capability()}, torch {torch.__version__}"


@pytest.fixture
def gpu_parent(monkeypatch, tmp_path):
    """A GPU machine's main process whose stages ran in child processes: CUDA is there, no context is."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)

    def no_context(*_a, **_k):
        raise AssertionError("naming the device through torch creates a CUDA context in this process")

    monkeypatch.setattr(torch.cuda, "get_device_name", no_context)
    monkeypatch.setenv("PATH", str(tmp_path))  # only the fake nvidia-smi below, when a test writes one
    return tmp_path


def test_a_process_without_a_cuda_context_asks_nvidia_smi_for_the_first_visible_device(gpu_parent, monkeypatch):
    smi = gpu_parent / "nvidia-smi"
    smi.write_text(f'#!/bin/sh\necho "$@" > {gpu_parent / "args"}\necho "NVIDIA H200"\n')
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert compute_platform() == f"NVIDIA H200, torch {torch.__version__}"
    assert "--id=3" in (gpu_parent / "args").read_text().split()


def test_without_nvidia_smi_it_says_cuda(gpu_parent):
    assert not os.path.exists(gpu_parent / "nvidia-smi")
    assert compute_platform() == f"cuda, torch {torch.__version__}"
