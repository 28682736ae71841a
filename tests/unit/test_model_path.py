"""`resolve_model_path` for checkpoints given by name or path: a local folder, a hub id passed on to
transformers, and a missing folder named by its config key instead of a hub-id error."""

from __future__ import annotations

import pytest

from rlselect.models import resolve_model_path


def test_local_folder_and_hub_id(tmp_path, hub_online):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model_path({"name": str(tmp_path)}, tmp_path) == str(tmp_path)
    assert resolve_model_path({"name": "x", "path": str(tmp_path)}, tmp_path) == str(tmp_path)  # path wins
    hub = "Qwen/Qwen2.5-1.5B-Instruct"
    assert resolve_model_path({"name": hub}, tmp_path) == hub  # not a folder here: left to the hub


def test_offline_a_hub_id_must_be_in_the_local_hub_cache(tmp_path, monkeypatch):
    """Offline, a hub id that was never downloaded failed with transformers' traceback in the first stage
    that loaded it; it is refused with the run's other config errors. One in the hub cache is used."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    hub = "Qwen/Qwen2.5-1.5B-Instruct"
    with pytest.raises(FileNotFoundError, match=f"model.name='{hub}': not in the local hub cache, and the hub is off"):
        resolve_model_path({"name": hub}, tmp_path)
    repo = tmp_path / "hub" / "models--Qwen--Qwen2.5-1.5B-Instruct"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    assert resolve_model_path({"name": hub}, tmp_path) == hub
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")  # transformers still reaches the hub
    assert resolve_model_path({"name": "Qwen/Qwen2.5-7B"}, tmp_path) == "Qwen/Qwen2.5-7B"


@pytest.mark.parametrize("missing", ["/no/such/ckpt", "./ckpt", "~/no-such-rlselect-ckpt", "a/b/c"])
def test_a_missing_folder_names_its_key(tmp_path, missing):
    with pytest.raises(FileNotFoundError, match=f"model.path='{missing}': no such checkpoint folder"):
        resolve_model_path({"name": "qwen", "path": missing}, tmp_path)


def test_model_path_wins_over_the_embedded_models(tmp_path):
    """model=tiny model.path=<a run's trained policy> starts from that checkpoint (the path was ignored,
    and the embedded model warm-started instead)."""
    (tmp_path / "config.json").write_text("{}")
    for name in ("tiny", "random"):
        assert resolve_model_path({"name": name, "path": str(tmp_path), "warm_start": {}}, tmp_path) == str(tmp_path)


def test_a_folder_without_config_json_is_no_checkpoint(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"model.path='.*empty': not a checkpoint folder \(no config.json"):
        resolve_model_path({"name": "tiny", "path": str(tmp_path / "empty")}, tmp_path)
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    assert resolve_model_path({"name": "qwen", "path": str(tmp_path / "adapter")}, tmp_path).endswith("adapter")
