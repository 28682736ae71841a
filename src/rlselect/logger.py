"""Weights & Biases logging that never blocks a run: offline without an API key or network,
disabled with `logger=none`. TRL's W&B callback reuses the run started here. Online, a run resumed in
the same run directory continues the same W&B run."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class NullLogger:
    report_to = "none"

    def log(self, data: dict) -> None:
        pass

    def finish(self, summary: dict | None = None) -> None:
        pass


class WandbLogger:
    report_to = "wandb"

    def __init__(self, run):
        self.run = run

    def log(self, data: dict) -> None:
        self.run.log(data)

    def finish(self, summary: dict | None = None) -> None:
        for k, v in (summary or {}).items():
            self.run.summary[k] = v
        self.run.finish()


def wandb_mode(requested: str = "auto") -> str:
    """'online' only when asked for or when an API key is present; otherwise 'offline'."""
    if requested in ("online", "offline", "disabled"):
        return requested
    has_key = bool(os.environ.get("WANDB_API_KEY"))
    return "online" if has_key and os.environ.get("WANDB_MODE") != "offline" else "offline"


def start_logger(cfg: dict, run_dir: Path, config: dict[str, Any], name: str):
    if cfg.get("name", "none") == "none":
        return NullLogger()
    import wandb

    mode = wandb_mode(cfg.get("mode", "auto"))
    os.environ["WANDB_MODE"] = mode  # TRL's callback and any child process see the same mode
    os.environ.setdefault("WANDB_SILENT", "true")
    kwargs = dict(
        project=cfg.get("project", "rlselect"),
        entity=cfg.get("entity"),
        name=name,
        group=cfg.get("group"),
        job_type=cfg.get("job_type"),
        config=config,
        dir=str(run_dir),
        reinit="finish_previous",
    )
    # A key on a machine without a route to W&B (a cluster's compute nodes) waits this long, once per
    # process, then goes offline; W&B's own default is 90 s.
    settings = wandb.Settings(init_timeout=float(cfg.get("init_timeout") or 30))
    resume = resume_kwargs(run_dir) if mode == "online" else {}
    try:
        run = wandb.init(mode=mode, settings=settings, **kwargs, **resume)
    except Exception as exc:  # a network hiccup must not kill a training run
        first_line = (str(exc).splitlines() or [""])[0]  # W&B's messages run to several lines
        log.warning("wandb.init failed (%s: %s); continuing offline", type(exc).__name__, first_line)
        mode = os.environ["WANDB_MODE"] = "offline"
        run = wandb.init(mode=mode, **kwargs)
    if run.resumed:
        log.info("W&B run %s resumed: this attempt's logs continue it", run.id)
    log.info("W&B run %s in %s mode (logs in %s)", run.name, mode, run_dir / "wandb")
    return WandbLogger(run)


def resume_kwargs(run_dir: Path) -> dict[str, Any]:
    """The W&B run id this run directory keeps (`wandb/run_id`), made on its first online start: a run killed
    and started again continues one W&B run instead of leaving a crashed one beside a new one. Online only:
    `wandb sync` of two offline folders with one id keeps the second's history, not both (wandb#3841)."""
    path = Path(run_dir) / "wandb" / "run_id"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(6))  # W&B ids: letters and digits
    return {"id": path.read_text().strip(), "resume": "allow"}
