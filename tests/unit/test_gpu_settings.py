"""Every preset's vLLM uses carry an explicit GPU memory share, and its GPU stages run isolated on CUDA."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from rlselect.cli import CONF_DIR
from rlselect.isolation import should_isolate

PRESETS = sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
def test_every_vllm_use_has_an_explicit_memory_share(preset):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"experiment={preset}"])
    if cfg.rollouts.backend == "vllm":
        assert 0 < cfg.rollouts.vllm.gpu_memory_utilization <= 0.95
    if cfg.trainer.args.get("use_vllm"):
        assert 0 < cfg.trainer.args.vllm_gpu_memory_utilization <= 0.95
    if str(cfg.eval.device).startswith("cuda"):
        assert 0 < cfg.eval.gpu_memory_utilization <= 0.95
    assert cfg.isolate_stages == "auto"


def test_isolation_setting():
    import torch

    assert should_isolate("auto") == torch.cuda.is_available()
    assert should_isolate(True) and not should_isolate(False)
    with pytest.raises(ValueError, match="isolate_stages='sometimes'"):
        should_isolate("sometimes")


def test_rollouts_are_charged_to_the_selectors_that_read_them():
    from rlselect.selection import uses_rollouts
    from rlselect.selectors import get_selector

    charged = {"random", "full", "ifd", "limr", "accuracy_band", "gradalign", "grad_norm", "learnalign"}
    got = {n for n in charged if uses_rollouts(get_selector(n), {})}
    assert got == {"accuracy_band", "gradalign", "grad_norm", "learnalign"}
    assert uses_rollouts(get_selector("token_length"), {"source": "rollouts"})
    assert not uses_rollouts(get_selector("token_length"), {"source": "reference"})
