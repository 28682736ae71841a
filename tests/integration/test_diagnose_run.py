"""`python -m rlselect.diagnose` end to end on tiny settings: rollouts, exact gradients, the files."""

from __future__ import annotations

import json

import rlselect
from tiny_config import TINY


def test_diagnose_writes_the_premise_numbers_of_a_noisy_pool(shared_cache_dir, tmp_path):
    from rlselect.diagnose import compose_config, run_diagnose, write

    out = tmp_path / "testbed"
    cfg = compose_config(
        [
            "experiment=demo_noisy",
            *TINY,
            f"cache_dir={shared_cache_dir}",
            f"results_dir={tmp_path}",
            "diagnose.testbed=tiny_noisy",
            "diagnose.G=4",
            f"diagnose.out_dir={out}",
        ]
    )
    result = run_diagnose(cfg, command="python -m rlselect.diagnose experiment=demo_noisy")
    js, md = write(result, out)
    on_disk = json.loads(js.read_text())
    assert on_disk["testbed"] == "tiny_noisy" and on_disk["G"] == 4 and on_disk["n_pool"] == 16
    assert on_disk["ground_truth"] and on_disk["n_clean"] + on_disk["n_corrupted"] == 16  # half coin-flip
    assert on_disk["n_val"] == 16 and on_disk["feature_dim"] == on_disk["params"]  # exact, unprojected
    assert set(on_disk["criteria"]) == {"cos_clean_clean >= 0.05", "oracle_auc >= 0.8"}
    assert on_disk["code"] == rlselect.code_commit()
    assert "# Testbed `tiny_noisy`" in md.read_text() and on_disk["command"] in md.read_text()
