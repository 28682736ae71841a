"""What a run prints: quiet by default, `verbose=true` for every library's own logs.

Quiet means: known library deprecation warnings filtered, library INFO chatter (transformers,
datasets, lm-eval, TRL) turned down to warnings, TRL's raw log dicts replaced by one progress bar
for training, and one line or bar per pipeline stage from `rlselect`'s own logger.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from pathlib import Path

VERBOSE = False
LIBRARY_LOGGERS = (
    "transformers",
    "datasets",
    "lm_eval",
    "lm-eval",
    "trl",
    "accelerate",
    "peft",
    "httpx",
    "urllib3",
    "filelock",
    "wandb",
    "torch",
    "sqlitedict",
    "absl",
)


def configure(verbose: bool = False) -> None:
    """Called once at the entry point, before the libraries are imported by the pipeline."""
    global VERBOSE
    VERBOSE = bool(verbose)
    logging.getLogger("rlselect").setLevel(logging.DEBUG if verbose else logging.INFO)
    if verbose:
        return
    for category in (FutureWarning, DeprecationWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    # Warnings the libraries raise as UserWarning for settings we choose on purpose (CPU runs).
    for message in (
        ".*pin_memory.*",
        ".*generation flags are not valid.*",
        ".*torch_dtype.*",
        ".*does not have many workers.*",
        ".*TypedStorage is deprecated.*",
    ):
        warnings.filterwarnings("ignore", message=message)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DATASETS_VERBOSITY", "error")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    # Library bars (lm-eval's request building) write to stderr even when it is no terminal; tqdm reads
    # TQDM_* as defaults for arguments a call does not pass (ours pass `disable`, and so does lm-eval's
    # generate_until: eval/runner.py's quiet_request_bars switches that one off).
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("WANDB_SILENT", "true")
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # transformers' own bars (loading / writing weights), and the line its W&B integration prints
    # on import in offline mode: imported here, once, with stdout captured.
    with contextlib.redirect_stdout(io.StringIO()):
        import transformers.integrations.integration_utils  # noqa: F401
        from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()


def model_name(path) -> str:
    """A checkpoint as the console names it: a run's trained policy by its run (`<run>/train/final`),
    LearnAlign's warm-up policy as such, any other model by its folder's name."""
    p = Path(str(path))
    if p.name != "final":
        return p.name
    if p.parent.name == "train":
        return f"{p.parent.parent.name} (trained)"
    if p.parent.parent.name == "warmup":
        return "LearnAlign's warm-up policy"
    return str(p)


def setup_entry_point(verbose: bool = False) -> None:
    """What a `python -m rlselect.<tool>` entry point calls first: `configure`, then log lines on
    stderr, `[time] message` from rlselect's loggers (verbose: every library's INFO lines too, with
    their logger's name). The Hydra app (cli.py) gets its handlers from Hydra instead."""
    configure(verbose)
    fmt = "[%(asctime)s] %(levelname)s %(name)s: %(message)s" if verbose else "[%(asctime)s] %(message)s"
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format=fmt, datefmt="%H:%M:%S")


# Where no bar can be drawn (a log file, a Slurm job, verbose mode), a long stage logs a progress line
# instead: the first after this many seconds (short stages print none), then one every PROGRESS_LOG_EVERY.
PROGRESS_LOG_AFTER = 60.0
PROGRESS_LOG_EVERY = 300.0


class _LogLines:
    """A file for tqdm that turns each redraw into one `rlselect.progress` log line; after the first, the
    bar redraws every PROGRESS_LOG_EVERY seconds."""

    bar = None

    def write(self, text: str) -> None:
        if text := text.strip("\r\n "):
            logging.getLogger("rlselect.progress").info(text)
            self.bar.mininterval = PROGRESS_LOG_EVERY

    def flush(self) -> None:
        pass


def progress(total: int | None, desc: str, unit: str = "it"):
    """A tqdm bar for one stage (counts, rate, ETA) on stderr when it is a terminal (and not in verbose mode);
    otherwise the same counts and ETA as a log line PROGRESS_LOG_AFTER seconds in, then every PROGRESS_LOG_EVERY.
    Callers pass `set_postfix(..., refresh=False)`: a refresh would log a line at once."""
    from tqdm.auto import tqdm

    if sys.stderr.isatty() and not VERBOSE:
        return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, disable=False)
    lines = _LogLines()
    done = "{n_fmt}/{total_fmt} " + unit + "s ({percentage:.0f}%)" if total else "{n_fmt} " + unit + "s"
    lines.bar = tqdm(
        total=total,
        desc=desc,
        leave=False,
        file=lines,
        bar_format="{desc}: "
        + done
        + ", {elapsed} elapsed"
        + (", about {remaining} left" if total else "")
        + "{postfix}",
        delay=PROGRESS_LOG_AFTER,
        mininterval=PROGRESS_LOG_AFTER,
        position=0,  # else tqdm stacks bars open at once (features around gradients) with cursor-up codes
        disable=False,  # passed, so that TQDM_DISABLE (configure) does not reach our own bars
        miniters=1,  # every update checks the clock (tqdm's adaptive count would skip lines when a stage slows)
    )
    return lines.bar


def found_done(bar, n: int) -> None:
    """Count `n` items a resumed stage found done (cached shards) without letting them into the rate and ETA."""
    bar.n += n
    bar.initial += n
    bar.last_print_n += n
