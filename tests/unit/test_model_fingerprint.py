"""The module fingerprint in the feature store's key: exact, and independent of torch's thread count."""

import copy

import pytest
import torch

from rlselect.cache import model_fingerprint


def _model(dtype=torch.float32):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2048, 2048), torch.nn.Linear(2048, 1024)).to(dtype)


def test_same_weights_same_fingerprint_at_any_thread_count():
    # The old fingerprint (float64 sums of each parameter) differed between 1 and 2 threads on this
    # very model, so a feature cache written by a 2-thread run refused the same run with 1 thread.
    model, before = _model(), torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = model_fingerprint(model)
        torch.set_num_threads(2)
        two = model_fingerprint(model)
    finally:
        torch.set_num_threads(before)
    assert one == two == model_fingerprint(copy.deepcopy(model))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_one_ulp_changes_the_fingerprint(dtype):
    model = _model(dtype)
    before = model_fingerprint(model)
    with torch.no_grad():
        w = model[1].weight
        w[3, 5] = torch.nextafter(w[3, 5], torch.tensor(float("inf"), dtype=dtype))
    assert model_fingerprint(model) != before


def test_names_and_frozen_flags_count():
    model = _model()
    before = model_fingerprint(model)
    model[0].weight.requires_grad_(False)
    assert model_fingerprint(model) != before
