"""Baseline selectors (token_length, ppl_top, ifd, grad_norm) and the perplexity stage."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
import yaml

from rlselect.selectors import grad_norm, token_length  # noqa: F401  (register)
from rlselect.selectors.base import SelectionInputs, get_selector
from rlselect.stats import perplexity as ppl_stage
from rlselect.stats.perplexity import perplexities, perplexity_stage, reference_text

CONF = Path(__file__).resolve().parents[2] / "conf" / "selector"
SMALL = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny forwards are much faster on one thread on a busy machine; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def records():
    from rlselect.data import load_records

    recs = [dict(r) for r in load_records("arith", "train")[:8]]
    # An item without a reference solution falls back to the final answer.
    recs[0] = {**recs[0], "meta": {**recs[0]["meta"], "solution": ""}}
    return recs


@pytest.fixture(scope="module")
def tiny():
    from rlselect.models.tiny import build_tiny

    return build_tiny(seed=0, config=SMALL)


@pytest.fixture(scope="module")
def batched(tiny, records):
    model, tok = tiny
    return perplexities(model, tok, records, batch_size=16)


# ---------------------------------------------------------------- the perplexity stage


def test_reference_text(records):
    assert reference_text(records[0]) == records[0]["answer"]
    assert reference_text(records[1]) == records[1]["meta"]["solution"]


def test_perplexities_finite_and_consistent(batched, records, tiny):
    _, tok = tiny
    assert [r["id"] for r in batched] == [r["id"] for r in records]
    for row, rec in zip(batched, records):
        assert math.isfinite(row["ppl_cond"]) and row["ppl_cond"] > 1
        assert math.isfinite(row["ppl_uncond"]) and row["ppl_uncond"] > 1
        assert row["ifd"] == pytest.approx(row["ppl_cond"] / row["ppl_uncond"], rel=1e-12)
        assert row["ref_tokens"] == len(tok(reference_text(rec), add_special_tokens=False)["input_ids"])


def test_batched_equals_unbatched(batched, tiny, records):
    model, tok = tiny
    single = perplexities(model, tok, records, batch_size=1)
    for a, b in zip(batched, single):
        for key in ("ppl_cond", "ppl_uncond", "ifd"):
            assert a[key] == pytest.approx(b[key], rel=1e-4), (a["id"], key)


def test_matches_plain_lm_loss(batched, tiny, records):
    """ppl_cond = exp(HF's own masked LM loss on prompt + solution); ppl_uncond with BOS prepended."""
    model, tok = tiny
    rec = records[2]
    p = tok(
        tok.apply_chat_template(rec["prompt"], tokenize=False, add_generation_prompt=True), add_special_tokens=False
    )["input_ids"]
    s = tok(reference_text(rec), add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        cond = model(input_ids=torch.tensor([p + s]), labels=torch.tensor([[-100] * len(p) + s])).loss
        unc = model(input_ids=torch.tensor([[tok.bos_token_id] + s]), labels=torch.tensor([[-100] + s])).loss
    assert batched[2]["ppl_cond"] == pytest.approx(math.exp(cond.item()), rel=1e-4)
    assert batched[2]["ppl_uncond"] == pytest.approx(math.exp(unc.item()), rel=1e-4)


def test_empty_solution_is_one(tiny, records):
    """An item with nothing to score reports ppl 1.0 (not nan) and ifd 1.0."""
    model, tok = tiny
    empty = {**records[1], "answer": "", "meta": {**records[1]["meta"], "solution": ""}}
    (row,) = perplexities(model, tok, [empty])
    assert row == {"id": empty["id"], "ppl_cond": 1.0, "ppl_uncond": 1.0, "ifd": 1.0, "ref_tokens": 0}


def test_unconditional_without_bos(tiny, records):
    """No BOS token: the first solution token has no context and is not counted (as HF's LM loss)."""
    import copy

    model, tok = tiny
    tok = copy.deepcopy(tok)
    tok.bos_token = None
    assert tok.bos_token_id is None
    rec = records[2]
    (row,) = perplexities(model, tok, [rec])
    s = tok(reference_text(rec), add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        unc = model(input_ids=torch.tensor([s]), labels=torch.tensor([s])).loss
    assert row["ppl_uncond"] == pytest.approx(math.exp(unc.item()), rel=1e-4)
    one_token = {**rec, "meta": {**rec["meta"], "solution": "7"}}
    (row,) = perplexities(model, tok, [one_token])
    assert row["ppl_uncond"] == 1.0 and row["ref_tokens"] == 1 and row["ppl_cond"] > 1


def test_stage_caches(tmp_path, tiny, records, batched, monkeypatch):
    model, tok = tiny
    first = perplexity_stage("tiny-test-model", records, tmp_path, model=model, tokenizer=tok)
    files = list(tmp_path.glob("ppl/*/ppl.json"))
    assert len(files) == 1
    assert set(first) == {r["id"] for r in records}
    assert first[records[3]["id"]]["ppl_cond"] == pytest.approx(batched[3]["ppl_cond"], rel=1e-4)

    def boom(*a, **k):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(ppl_stage, "perplexities", boom)
    again = perplexity_stage("tiny-test-model", records, tmp_path)  # no model: must not load one
    assert again == first
    # A different reference text is a different key (and would recompute).
    changed = [{**records[0], "meta": {**records[0]["meta"], "solution": "other"}}] + records[1:]
    with pytest.raises(AssertionError, match="recomputed"):
        perplexity_stage("tiny-test-model", changed, tmp_path, model=model, tokenizer=tok)


# ---------------------------------------------------------------- the selectors


def _recs(n):
    return [
        {"id": f"q{i}", "question": "q", "answer": str(i), "prompt": [], "source": "t", "meta": {"solution": ""}}
        for i in range(n)
    ]


def _is_perm(out, inputs):
    return sorted(out) == sorted(inputs.ids) and len(out) == len(inputs.ids)


def test_token_length_reference_from_records():
    recs = _recs(4)
    for r, sol in zip(recs, ["aa", "aaaa", "", "a"]):
        r["meta"] = {"solution": sol}  # q2 falls back to its answer "2" (1 char)
    inputs = SelectionInputs(records=recs)
    out = get_selector("token_length")(inputs, 2, 0)
    assert out[:2] == ["q1", "q0"] and _is_perm(out, inputs)
    assert set(out[2:]) == {"q2", "q3"}


def test_token_length_prefers_ref_tokens_and_rollouts():
    recs = _recs(3)
    stats = {
        "q0": {"ref_tokens": 5, "mean_len": 1.0},
        "q1": {"ref_tokens": 9, "mean_len": 30.0},
        "q2": {"ref_tokens": 1, "mean_len": 50.0},
    }
    inputs = SelectionInputs(records=recs, stats=stats)
    assert get_selector("token_length")(inputs, 3, 0) == ["q1", "q0", "q2"]
    assert get_selector("token_length")(inputs, 3, 0, source="rollouts") == ["q2", "q1", "q0"]
    with pytest.raises(ValueError):
        get_selector("token_length")(inputs, 3, 0, source="bogus")


@pytest.mark.parametrize("name,key", [("ppl_top", "ppl_cond"), ("ifd", "ifd")])
def test_ppl_selectors(name, key):
    recs = _recs(4)
    vals = [1.5, 9.0, 3.0, 0.2]
    inputs = SelectionInputs(records=recs, stats={f"q{i}": {key: v} for i, v in enumerate(vals)})
    assert get_selector(name)(inputs, 2, 0) == ["q1", "q2", "q0", "q3"]
    assert get_selector(name).needs == frozenset({"ppl"})
    with pytest.raises(KeyError):
        get_selector(name)(SelectionInputs(records=recs), 2, 0)


def test_grad_norm_orders_by_row_norm():
    recs = _recs(4)
    feats = torch.tensor([[3.0, 4.0], [0.0, 1.0], [6.0, 8.0], [-2.0, 0.0]])  # norms 5, 1, 10, 2
    inputs = SelectionInputs(records=recs, features=feats)
    assert get_selector("grad_norm")(inputs, 2, 0) == ["q2", "q0", "q3", "q1"]
    assert get_selector("grad_norm").needs == frozenset({"features"})
    with pytest.raises(ValueError):
        get_selector("grad_norm")(SelectionInputs(records=recs, features=feats[:3]), 2, 0)


def _tied_inputs(name, n=12):
    recs = _recs(n)
    if name == "grad_norm":
        return SelectionInputs(records=recs, features=torch.ones(n, 3))
    if name == "token_length":
        return SelectionInputs(records=recs, stats={f"q{i}": {"ref_tokens": 7} for i in range(n)})
    key = {"ppl_top": "ppl_cond", "ifd": "ifd"}[name]
    return SelectionInputs(records=recs, stats={f"q{i}": {key: 2.0} for i in range(n)})


@pytest.mark.parametrize("name", ["token_length", "ppl_top", "ifd", "grad_norm"])
def test_ties_broken_by_seed(name):
    inputs = _tied_inputs(name)
    sel = get_selector(name)
    a, b, c = sel(inputs, 4, 1), sel(inputs, 4, 1), sel(inputs, 4, 2)
    assert _is_perm(a, inputs)
    assert a == b  # deterministic for a seed
    assert a != c  # a different seed reorders ties
    assert a != inputs.ids  # ties are not broken by pool position


@pytest.mark.parametrize("name", ["token_length", "ppl_top", "ifd", "grad_norm"])
def test_yaml_names_selector(name):
    cfg = yaml.safe_load((CONF / f"{name}.yaml").read_text())
    assert cfg["name"] == name
    assert isinstance(cfg.get("params") or {}, dict)
    get_selector(cfg["name"])(_tied_inputs(name), 2, 0, **(cfg.get("params") or {}))


@pytest.mark.parametrize(
    "name, params, message",
    [
        (
            "learnalign",
            {"use_variance": "flase"},
            "selector.params.use_variance='flase': selector learnalign takes a bool",
        ),
        ("learnalign", {"normalize": 0}, "selector.params.normalize=0: selector learnalign takes a bool"),
        (
            "gradalign",
            {"mode": "cosin"},
            "selector.params.mode='cosin': selector gradalign takes one of 'cosine', 'dot'",
        ),
        ("token_length", {"source": "rollout"}, "takes one of 'reference', 'rollouts'"),
        ("accuracy_band", {"lo": "abc"}, "selector.params.lo='abc': selector accuracy_band takes a float"),
        ("accuracy_band", {"hi": True}, "selector.params.hi=True: selector accuracy_band takes a float"),
        ("random", {"lo": 0.2}, "selector.params.lo: selector random takes no params"),
    ],
)
def test_params_that_do_not_fit_the_selector_are_refused(name, params, message):
    """The selector runs after the rollouts and gradients: its params are checked before them."""
    with pytest.raises(ValueError, match=re.escape(message)):
        get_selector(name).check_params(params)


def test_params_that_fit_the_selector_pass():
    get_selector("learnalign").check_params({"use_variance": False, "normalize": True})
    get_selector("gradalign").check_params({"mode": "dot"})
    get_selector("accuracy_band").check_params({"lo": 0, "hi": 0.9})  # an int is a float here
    get_selector("token_length").check_params({"source": "rollouts"})
