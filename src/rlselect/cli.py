"""Hydra entry point: `rlselect [group=option ...] [key=value ...]` (or `python -m rlselect`).

rlselect selector=random budget=128 seed=1
rlselect -m selector=random,full seed=0,1,2        # a sweep (multirun)
rlselect experiment=demo                           # a preset study
rlselect experiment=demo verbose=true              # every library's own logs too
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf


def _conf_dir() -> str:
    """The package's conf/ (a link to the repository's top-level conf/; a wheel's own copy), or
    RLSELECT_CONF_DIR (a config tree of your own)."""
    # resolved: in an editable install, the repository's conf/ itself (where a user edits the files)
    conf = Path(os.environ.get("RLSELECT_CONF_DIR") or (Path(__file__).resolve().parent / "conf").resolve())
    if not (conf / "config.yaml").is_file():
        raise FileNotFoundError(
            f"no Hydra configs at {conf}: install with `pip install -e .` or `pip install .` from the "
            "repository, or set RLSELECT_CONF_DIR to a conf/ folder"
        )
    return str(conf)


CONF_DIR = _conf_dir()
# `${tag:${variant}}` in run-dir names: "" for no variant, "-<name>" for an ablation.
OmegaConf.register_new_resolver("tag", lambda v: f"-{v}" if v else "", replace=True)
# `b${run_budget:...}` in run-dir names: selector=full trains on the whole pool, so its directory is
# named by the pool (data.pool_size, or "all"), not by the unused `budget`.
OmegaConf.register_new_resolver(
    "run_budget", lambda selector, budget, pool: (pool or "all") if selector == "full" else budget, replace=True
)


def compose(overrides, hydra_node: bool = False) -> DictConfig:
    """The config a run with these overrides would get, composed without running anything."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return hydra_compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra_node)


@hydra.main(config_path=CONF_DIR, config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    from rlselect import console

    console.configure(verbose=bool(cfg.get("verbose", False)))
    from hydra.types import RunMode

    from rlselect.pipeline import is_finished, record_failure, run
    from rlselect.run_config import RunInProgress, is_refusal
    from rlselect.sweep import log_summary, note_outcome

    hydra_cfg = HydraConfig.get()
    run_dir, sweep_dir = hydra_cfg.runtime.output_dir, hydra_cfg.sweep.dir
    found_finished = is_finished(cfg, run_dir)
    try:
        record = run(cfg, run_dir)
    except KeyboardInterrupt:  # Ctrl-C: a line, not the traceback of wherever the run was
        if console.VERBOSE:
            raise
        name = Path(run_dir).name
        logging.getLogger("rlselect").warning(
            "interrupted: run %s stopped; its cached stages and checkpoints are kept, and the same command resumes it",
            name,
        )
        if hydra_cfg.mode == RunMode.MULTIRUN:
            note_outcome(sweep_dir, run_dir, "interrupted", "Ctrl-C")
            log_summary(sweep_dir, str(cfg.study), str(cfg.results_dir))
        raise SystemExit(130) from None
    except Exception as exc:
        if hydra_cfg.mode != RunMode.MULTIRUN:
            if is_refusal(exc) and not console.VERBOSE:  # a configuration error: its message says it all
                logging.getLogger("rlselect").error("error: %s", exc)
                raise SystemExit(2) from None
            raise
        if isinstance(exc, RunInProgress):  # not a failure, and its directory is another process's
            logging.getLogger("rlselect").warning("skipped: %s", exc)
            note_outcome(sweep_dir, run_dir, "skipped", "another process is computing it")
            return None
        failure = record_failure(cfg, run_dir, exc)  # one failed run must not stop a sweep
        note_outcome(sweep_dir, run_dir, "failed", failure["error"][:300])
        return None
    if "metrics" not in record:  # a non-main process of a multi-process launch records nothing
        return None
    if hydra_cfg.mode == RunMode.MULTIRUN:
        note_outcome(sweep_dir, run_dir, "already finished" if found_finished else "finished")
    accs = [m["accuracy"] for m in record["metrics"].values() if m.get("accuracy") is not None]
    return sum(accs) / len(accs) if accs else None  # the objective for Hydra sweepers


if __name__ == "__main__":
    main()
