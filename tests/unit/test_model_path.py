"""`resolve_model_path` for checkpoints given by name or path: a local folder, a hub id passed on to
transformers, and a missing folder named by its config key instead of a hub-id error."""

from __future__ import annotations

import pytest

from rlselect.models import resolve_model_path


def test_local_folder_and_hub_id(tmp_path):
    assert resolve_model_path({"name": str(tmp_path)}, tmp_path) == str(tmp_path)
    assert resolve_model_path({"name": "x", "path": str(tmp_path)}, tmp_path) == str(tmp_path)  # path wins
    hub = "Qwen/Qwen2.5-1.5B-Instruct"
    assert resolve_model_path({"name": hub}, tmp_path) == hub  # not a folder here: left to the hub


@pytest.mark.parametrize("missing", ["/no/such/ckpt", "./ckpt", "~/no-such-rlselect-ckpt", "a/b/c"])
def test_a_missing_folder_names_its_key(tmp_path, missing):
    with pytest.raises(FileNotFoundError, match=f"model.path='{missing}': no such checkpoint folder"):
        resolve_model_path({"name": "qwen", "path": missing}, tmp_path)
