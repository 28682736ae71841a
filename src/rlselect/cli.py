"""Hydra entry point: `python -m rlselect.cli [group=option ...] [key=value ...]`.

    python -m rlselect.cli selector=random budget=128 seed=1
    python -m rlselect.cli -m selector=random,full seed=0,1,2        # a sweep (multirun)
    python -m rlselect.cli experiment=demo                           # a preset study
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

CONF_DIR = str(Path(__file__).resolve().parents[2] / "conf")
# `${tag:${variant}}` in run-dir names: "" for no variant, "-<name>" for an ablation.
OmegaConf.register_new_resolver("tag", lambda v: f"-{v}" if v else "", replace=True)


@hydra.main(config_path=CONF_DIR, config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    from rlselect.pipeline import run

    logging.getLogger("rlselect").setLevel(logging.INFO)
    record = run(cfg, HydraConfig.get().runtime.output_dir)
    accs = [m["accuracy"] for m in record["metrics"].values() if m.get("accuracy") is not None]
    return sum(accs) / len(accs) if accs else None  # the objective for Hydra sweepers


if __name__ == "__main__":
    main()
