"""W&B logging never blocks a run: offline without an API key, offline after a failed online start."""

from __future__ import annotations

import logging

import pytest

from rlselect.logger import NullLogger, WandbLogger, start_logger, wandb_mode


@pytest.fixture
def clean_wandb_env(monkeypatch, tmp_path):
    for key in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch


def test_mode_is_online_only_with_a_key(clean_wandb_env):
    assert wandb_mode() == "offline"
    clean_wandb_env.setenv("WANDB_API_KEY", "k" * 40)
    assert wandb_mode() == "online"
    clean_wandb_env.setenv("WANDB_MODE", "offline")
    assert wandb_mode() == "offline" and wandb_mode("disabled") == "disabled"


def test_logger_none_is_a_null_logger(tmp_path):
    assert isinstance(start_logger({"name": "none"}, tmp_path, {}, "x"), NullLogger)


def test_without_a_key_the_run_logs_offline_into_its_run_dir(clean_wandb_env, tmp_path):
    logger = start_logger({"name": "wandb"}, tmp_path / "run", {"seed": 0}, "r0")
    assert isinstance(logger, WandbLogger) and logger.run.settings.mode == "offline"
    logger.log({"train/loss": 1.0})
    logger.finish(summary={"result": {"acc": 0.5}})
    (offline,) = (tmp_path / "run" / "wandb").glob("offline-run-*")
    assert list(offline.glob("*.wandb"))  # the history W&B syncs later (`wandb sync`)


def test_a_key_without_a_route_to_wandb_goes_offline_within_the_timeout(clean_wandb_env, tmp_path, caplog):
    clean_wandb_env.setenv("WANDB_API_KEY", "k" * 40)
    clean_wandb_env.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    import wandb

    calls = []
    real_init = wandb.init
    clean_wandb_env.setattr(wandb, "init", lambda **kw: calls.append(kw) or real_init(**kw))
    with caplog.at_level(logging.INFO, logger="rlselect"):
        logger = start_logger({"name": "wandb", "init_timeout": 1}, tmp_path / "run", {}, "r1")
    assert calls[0]["mode"] == "online" and calls[0]["settings"].init_timeout == 1  # not W&B's 90 s
    assert calls[1]["mode"] == "offline" and logger.run.settings.mode == "offline"
    assert any("continuing offline" in r.message for r in caplog.records)
    assert any("in offline mode" in r.message for r in caplog.records)  # it said "online" before
    logger.finish()


def test_an_error_without_a_message_still_falls_back_offline(clean_wandb_env, tmp_path, caplog):
    import wandb

    real_init = wandb.init

    def failing_online(**kw):
        if kw["mode"] == "online":
            raise RuntimeError()  # str() is empty
        return real_init(**kw)

    clean_wandb_env.setenv("WANDB_API_KEY", "k" * 40)
    clean_wandb_env.setattr(wandb, "init", failing_online)
    with caplog.at_level(logging.WARNING, logger="rlselect"):
        logger = start_logger({"name": "wandb"}, tmp_path / "run", {}, "r2")
    assert logger.run.settings.mode == "offline" and "RuntimeError" in caplog.text
    logger.finish()


def test_a_studys_runs_share_a_wandb_group_and_name_their_selector(clean_wandb_env, tmp_path):
    from rlselect.cli import compose

    cfg = compose(["experiment=demo", "selector=random", "logger=wandb"])
    assert cfg.logger.group == "demo" and cfg.logger.job_type == "random"
    logger = start_logger(dict(cfg.logger), tmp_path / "run", {"seed": 0}, "random-static-b64-s0")
    assert logger.run.group == "demo" and logger.run.job_type == "random"
    logger.finish()


def test_online_a_run_started_again_in_its_run_dir_continues_its_wandb_run(clean_wandb_env, tmp_path):
    """A run killed and started again left a crashed W&B run beside a new one; online, it now passes the id its
    run directory keeps, with resume="allow". Offline runs keep separate ids: `wandb sync` would drop one's history."""
    import wandb

    calls = []
    clean_wandb_env.setenv("WANDB_API_KEY", "k" * 40)
    clean_wandb_env.setattr(wandb, "init", lambda **kw: calls.append(kw) or _FakeRun(kw))
    for _ in range(2):
        start_logger({"name": "wandb"}, tmp_path / "run", {}, "r3")
    start_logger({"name": "wandb"}, tmp_path / "other", {}, "r3")
    ids = [kw.get("id") for kw in calls]
    assert ids[0] and ids[0] == ids[1] != ids[2] and {kw["resume"] for kw in calls} == {"allow"}
    assert (tmp_path / "run" / "wandb" / "run_id").read_text() == ids[0]
    clean_wandb_env.setenv("WANDB_MODE", "offline")
    start_logger({"name": "wandb"}, tmp_path / "run", {}, "r3")
    assert "id" not in calls[-1] and "resume" not in calls[-1]


def test_force_starts_a_new_wandb_run(tmp_path):
    from rlselect.pipeline import clear_run_dir

    (tmp_path / "wandb").mkdir()
    (tmp_path / "wandb" / "run_id").write_text("abc")
    (tmp_path / "wandb" / "offline-run-1").mkdir()  # earlier logs stay
    clear_run_dir(tmp_path)
    assert not (tmp_path / "wandb" / "run_id").exists() and (tmp_path / "wandb" / "offline-run-1").exists()


class _FakeRun:
    def __init__(self, kwargs):
        self.id, self.name, self.resumed = kwargs.get("id") or "offline1", kwargs["name"], False
