"""Premise diagnostics (`rlselect.diagnose`) on synthetic gradients with a known structure."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from rlselect.diagnose import auc, criteria, hydra_overrides, premise_diagnostics, to_markdown, unit_gram

D = 256


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def shared_pool(n_clean=40, n_corr=40, noise=0.3, seed=0):
    """Clean rows = a shared unit direction u plus small isotropic noise (random positive scales);
    corrupted rows = isotropic noise. Returns (features, labels, u)."""
    g = gen(seed)
    u = F.normalize(torch.randn(D, generator=g), dim=0)
    clean = u + noise * torch.randn(n_clean, D, generator=g) / D**0.5
    clean = clean * (0.5 + torch.rand(n_clean, 1, generator=g))  # the scale must not matter
    corr = torch.randn(n_corr, D, generator=g)
    return torch.cat([clean, corr]), [True] * n_clean + [False] * n_corr, u


def reference(features, labels, val=None):
    """Brute force with explicit loops over pairs / leave-one-out means (the definition)."""
    keep = [i for i in range(len(features)) if features[i].norm() > 0]
    u = {i: F.normalize(features[i].double(), dim=0) for i in keep}
    clean = [i for i in keep if labels[i] is True]
    corr = [i for i in keep if labels[i] is False]

    def mean_cos(a, b=None):
        pairs = itertools.permutations(a, 2) if b is None else itertools.product(a, b)
        vals = [float(u[i] @ u[j]) for i, j in pairs]
        return sum(vals) / len(vals)

    def loo(i, pool_ids, vecs):
        ref = sum(vecs[j] for j in pool_ids if j != i)
        return float(F.cosine_similarity(vecs[i], ref, dim=0))

    score = {i: loo(i, clean, u) for i in keep}
    wins = [(score[a] > score[b]) + 0.5 * (score[a] == score[b]) for a in clean for b in corr]
    out = {
        "cos_clean_clean": mean_cos(clean),
        "cos_corrupted_corrupted": mean_cos(corr),
        "cos_clean_corrupted": mean_cos(clean, corr),
        "oracle_auc": sum(wins) / len(wins),
    }
    if val is not None:
        v = {k: F.normalize(val[k].double(), dim=0) for k in range(len(val)) if val[k].norm() > 0}
        out["val_coherence"] = sum(loo(k, list(v), v) for k in v) / len(v)
    return out


def test_matches_the_brute_force_definition():
    x, labels, u = shared_pool(n_clean=7, n_corr=6, noise=2.0, seed=3)
    x[2] = 0  # a zero-gradient clean prompt and a zero-gradient corrupted one
    x[9] = 0
    val = u + torch.randn(5, D, generator=gen(9)) / D**0.5
    got = premise_diagnostics(x, labels, val)
    want = reference(x, labels, val)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-6), key


def test_shared_direction_is_coherent_and_separates_clean_from_corrupted():
    x, labels, u = shared_pool()
    val = u + 0.3 * torch.randn(16, D, generator=gen(1)) / D**0.5
    d = premise_diagnostics(x, labels, val)
    assert d["cos_clean_clean"] > 0.8
    assert abs(d["cos_corrupted_corrupted"]) < 0.02 and abs(d["cos_clean_corrupted"]) < 0.02
    assert d["oracle_auc"] == pytest.approx(1.0) and d["val_auc"] == pytest.approx(1.0)
    assert d["val_coherence"] > 0.8 and d["cos_clean_val"] > 0.8 and abs(d["cos_corrupted_val"]) < 0.05
    assert all(criteria(d).values())


def test_no_shared_direction_gives_chance_auc_and_zero_cosines():
    """Isotropic noise in both classes: cosines ~ 0, and the leave-one-out oracle is at chance (a
    clean prompt counted in its own reference would score high and push the AUC towards 1)."""
    x = torch.randn(200, D, generator=gen(2))
    labels = [True] * 100 + [False] * 100
    d = premise_diagnostics(x, labels, torch.randn(20, D, generator=gen(4)))
    assert abs(d["cos_clean_clean"]) < 0.01 and abs(d["cos_clean_corrupted"]) < 0.01
    assert d["oracle_auc"] == pytest.approx(0.5, abs=0.15)
    assert d["val_auc"] == pytest.approx(0.5, abs=0.15) and abs(d["val_coherence"]) < 0.05
    assert not any(criteria(d).values())


def test_zero_gradient_rows_are_left_out_of_cosines_and_energy():
    x, labels, _ = shared_pool(n_clean=20, n_corr=20, seed=5)
    base = premise_diagnostics(x, labels)
    padded = torch.cat([x, torch.zeros(6, D)])
    p = [0.5] * 40 + [0.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    d = premise_diagnostics(padded, labels + [True] * 3 + [False] * 3, p=p)
    assert d["n_pool"] == 46 and d["n_nonzero"] == 40 and d["zero_grad"] == pytest.approx(6 / 46)
    for key in ("cos_all", "cos_clean_clean", "cos_corrupted_corrupted", "cos_clean_corrupted", "oracle_auc"):
        assert d[key] == pytest.approx(base[key], abs=1e-12), key
    assert d["top10_energy"] == pytest.approx(base["top10_energy"], abs=1e-12)
    assert d["zero_var"] == pytest.approx(6 / 46)
    assert d["zero_var_clean"] == pytest.approx(3 / 23) and d["zero_var_corrupted"] == pytest.approx(3 / 23)
    # kept at score 0, as a selector ranks them: below the clean prompts, tied with nothing
    assert d["oracle_auc_all"] < d["oracle_auc"] == pytest.approx(1.0)


def test_energy_of_a_rank_three_matrix_is_all_in_the_top_components():
    g = gen(6)
    x = torch.randn(50, 3, generator=g) @ torch.randn(3, D, generator=g)
    d = premise_diagnostics(x)
    assert d["top10_energy"] == pytest.approx(1.0, abs=1e-9)
    assert d["top10_energy_centered"] == pytest.approx(1.0, abs=1e-9)
    iso = premise_diagnostics(torch.randn(200, D, generator=g))
    assert iso["top10_energy"] < 0.2  # ~10 / 200 directions' worth for isotropic rows
    one = premise_diagnostics(torch.randn(1, D, generator=g).repeat(30, 1) * torch.arange(1, 31)[:, None])
    assert one["top10_energy"] == pytest.approx(1.0) and one["cos_all"] == pytest.approx(1.0)


def test_without_ground_truth_only_the_overall_numbers():
    x = torch.randn(30, D, generator=gen(7))
    d = premise_diagnostics(x, None, p=[0.0] * 10 + [0.5] * 20)
    assert d["ground_truth"] is False and d["zero_var"] == pytest.approx(1 / 3)
    assert d["cos_all"] is not None and d["top10_energy"] is not None
    for key in ("zero_var_clean", "cos_clean_clean", "cos_clean_corrupted", "oracle_auc", "val_auc"):
        assert d[key] is None, key
    assert set(criteria(d).values()) == {None}


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        premise_diagnostics(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match="labels"):
        premise_diagnostics(torch.ones(3, 2), [True, False])
    with pytest.raises(ValueError, match="width"):
        unit_gram(torch.ones(3, 2), torch.ones(2, 3))


def test_gram_in_blocks_equals_the_direct_one():
    x = torch.randn(12, 1000, generator=gen(8))
    k, nz = unit_gram(x, block_bytes=8 * 12 * 7)  # 7 columns per block
    direct = F.normalize(x.double(), dim=1)
    assert nz.all() and torch.allclose(k, direct @ direct.T, atol=1e-12)


def test_auc_counts_ties_as_half():
    assert auc(torch.tensor([2.0, 3.0]), torch.tensor([1.0, 0.0])) == 1.0
    assert auc(torch.tensor([1.0]), torch.tensor([1.0, 2.0])) == 0.25
    assert auc(torch.tensor([]), torch.tensor([1.0])) is None


def test_markdown_states_the_criteria_and_the_command():
    x, labels, _ = shared_pool(seed=10)
    d = premise_diagnostics(x, labels)
    d["criteria"] = criteria(d)
    d.update(
        testbed="t",
        data="arith",
        regime="noisy_reward",
        regime_params={},
        model="tiny",
        G=8,
        val_G=None,
        mean_p=0.5,
        params=123,
        features={"params": "all", "token_agg": "seq_mean", "projection": None},
        command="python -m rlselect.diagnose experiment=demo_noisy",
    )
    md = to_markdown(d)
    assert "| cos_clean_clean >= 0.05 |" in md and "| met |" in md and "not met" not in md
    assert "python -m rlselect.diagnose experiment=demo_noisy" in md and "Produced by:" in md
    assert "Produced by (rlselect 0123abcd4567):" in to_markdown({**d, "code": "0123abcd4567"})


def test_diagnose_keys_need_no_plus():
    assert hydra_overrides(["experiment=demo_noisy", "diagnose.G=32", "++x=1"]) == [
        "experiment=demo_noisy",
        "++diagnose.G=32",
        "++x=1",
    ]


def test_the_noisy_preset_composes_with_diagnose_defaults():
    from rlselect.diagnose import compose_config, settings

    cfg = compose_config(["experiment=demo_noisy", "hydra.mode=RUN", "diagnose.testbed=arith"])
    assert cfg.data.regime == "noisy_reward" and cfg.data.pool_size == 256
    s = settings(cfg)
    assert (s["testbed"], s["G"], s["val_G"], s["projection_dim"]) == ("arith", 8, 8, None)
    assert s["out_dir"] == "results/testbed"
    assert settings(compose_config(["diagnose.G=32"]))["testbed"] == "arith"  # default: data.name


def test_a_direction_with_cancelling_signs_shows_in_abs_cos_and_energy_only():
    u = torch.randn(D, generator=gen(11))
    x = torch.cat([u.repeat(10, 1), -u.repeat(10, 1)])
    d = premise_diagnostics(x)
    assert d["cos_all"] == pytest.approx(-1 / 19) and d["abs_cos_all"] == pytest.approx(1.0)
    assert d["top10_energy"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "override, message",
    [
        ("diagnose.G=0", "diagnose.G=0 is out of range"),  # it used to mean the default, 8
        ("diagnose.G=abc", "diagnose.G='abc' is not an integer"),
        ("diagnose.projection_dim=0", "diagnose.projection_dim=0 is out of range"),
        ("diagnose.top_k=-1", "diagnose.top_k=-1 is out of range"),
        ("diagnose.Gg=3", "diagnose.Gg is not a diagnose key; available: testbed, G"),
        ("diagnose.testbed=../x", "choose a name without '/'"),
        ("rollouts.backend=vlm", "rollouts.backend='vlm'; available: hf, vllm"),
        ("experiment=nonexistent", "Could not find 'experiment/nonexistent'"),
        ("model.path=/", "model.path='/': not a checkpoint folder"),
    ],
)
def test_a_bad_setting_is_one_error_line_before_any_model_loads(override, message, capsys, monkeypatch, tmp_path):
    import rlselect.diagnose as diagnose

    def must_not_run(*args, **kwargs):
        raise AssertionError("the diagnostics started")

    monkeypatch.setattr(diagnose, "run_diagnose", must_not_run)
    assert diagnose.main(["experiment=demo_noisy", f"results_dir={tmp_path}", override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written
