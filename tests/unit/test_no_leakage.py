"""No validation or test item in any training pool, by content (rlselect.data.leakage).

For every preset in conf/experiment/ (the directory is enumerated), the composed data config runs
through `load_pool` with the test items of the preset's eval config, on local data: GSM8K and the
benchmarks from ../shared/data, DAPO-Math-17K and WebInstruct as small synthetic files (no local
copy exists) that hold disguised copies (case, whitespace, TeX spacing, dollar signs) of
validation and test problems. No pool item may then share a content key with a validation or test
item, and no validation item with a test item. Presets that need ../shared/data skip without it.
"""

from __future__ import annotations

import json
import logging
import sys
import types
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from rlselect.cli import CONF_DIR
from rlselect.data import load_records
from rlselect.data.leakage import content_key, content_keys, remove_overlap
from rlselect.eval.benchmarks import GENERATED, eval_test_items
from rlselect.pipeline import load_pool

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
EXPERIMENTS = sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))
GENERATED_DATA = {"arith", "digits"}  # pools generated in code: no path to substitute


_ARITH: dict[str, dict] = {}


@pytest.fixture(autouse=True)
def _generate_arith_once(monkeypatch):
    """arith's splits are generated once per (kwargs) for this module (0.5 s a time, many times)."""
    from rlselect.data import arith

    real = arith.generate_arith

    def cached(**kwargs):
        key = repr(sorted(kwargs.items()))
        if key not in _ARITH:
            _ARITH[key] = real(**kwargs)
        return _ARITH[key]

    monkeypatch.setattr(arith, "generate_arith", cached)


def _rec(question: str, rid: str, source: str = "s") -> dict:
    return {"id": rid, "question": question, "source": source}


# ---------------------------------------------------------------- content_key


@pytest.mark.parametrize(
    "a, b",
    [
        ("What is 2+3?", "  what IS\n\t2 + 3 ?  "),
        ("Find $x$ if $x^2 = 4$.", "Find x if x^2=4."),
        ("Compute $\\frac{1}{2}$.", "Compute $$\\dfrac{1}{2}$$."),
        ("Compute $\\frac{1}{2}$.", "Compute \\(\\tfrac {1} {2}\\)."),
        ("Let $a\\,b = 3$ m.", "Let $a b=3\\;$m."),
        ("Let $a\\!b$ be it.", "let $ab$ be it."),
        ("Is $3\\quad 4$ it?", "Is 3 4 it?"),
        ("Is $\\left( x \\right)$ it?", "Is (x) it?"),
        ("He pays \\$5.", "He pays $5."),
        ("Ｆｕｌｌ width 1", "full width 1"),  # NFKC
        ("Stra\u00dfe 3", "STRASSE 3"),  # casefold
    ],
)
def test_content_key_ignores_cosmetic_differences(a, b):
    assert content_key(a) == content_key(b) and content_key(a)
    assert content_key({"question": a}) == content_key(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("What is 2+3?", "What is 2+4?"),
        ("a b", "ab"),  # a space between two words is kept
        ("What is 2+3?", "What is 2+3"),  # punctuation itself is kept
        ("$x \\leftarrow y$", "$x y$"),  # \leftarrow is no sizing prefix
        ("$\\quadrilateral$", "$rilateral$"),  # only the \quad command is spacing
        ("$a \\\\, b$", "$a\\\\ b$"),  # an escaped backslash: the comma stays
    ],
)
def test_content_key_keeps_real_differences(a, b):
    assert content_key(a) != content_key(b)


def test_empty_keys_never_match():
    assert content_key("$ $ \\,") == ""
    assert remove_overlap([_rec("$$", "a")], ["$ $"]) == [_rec("$$", "a")]


# ---------------------------------------------------------------- remove_overlap


def test_remove_overlap_drops_planted_duplicates_keeps_the_rest_in_order(caplog):
    pool = [
        _rec("Ann has 3 pens. How many?", "p0", "gsm8k"),
        _rec("  ann HAS 3  pens .  how many ? ", "p1", "dapo"),  # the test item, respaced
        _rec("Bob has 4 cups. How many?", "p2", "gsm8k"),
        _rec("Find $x$: $x+1=2$.", "p3", "dapo"),  # the validation item without its dollars
        _rec("Cal has 5 eggs. How many?", "p4", "gsm8k"),
    ]
    test = [_rec("Ann has 3 pens. How many?", "t0", "math500")]
    val = [_rec("Find x: x + 1 = 2.", "v0", "dapo")]
    with caplog.at_level(logging.INFO, logger="rlselect"):
        kept = remove_overlap(pool, test, val, what="pool")
    assert [r["id"] for r in kept] == ["p2", "p4"]
    assert kept[0] is pool[2]  # the records themselves, unchanged
    line = caplog.records[-1].getMessage()
    assert "pool: removed 3 of 5" in line and "dapo 2, gsm8k 1" in line and "math500 2" in line


def test_remove_overlap_takes_texts_and_keeps_everything_without_held_out_items():
    pool = [_rec("x = 1?", "a"), _rec("y = 2?", "b")]
    assert remove_overlap(pool, ["X=1?"]) == [pool[1]]
    assert remove_overlap(pool) == pool and remove_overlap(pool, [], None) == pool
    assert remove_overlap([], ["x"]) == []


# ---------------------------------------------------------------- eval_test_items


@pytest.fixture
def no_hub(monkeypatch):
    """Any attempt to reach the dataset hub fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"the dataset hub was queried: {args}")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=refuse))


def test_eval_test_items_reads_local_files_only_and_names_what_it_could_not(tmp_path, no_hub):
    bench = tmp_path / "gsm8k"
    bench.mkdir()
    (bench / "test.jsonl").write_text(json.dumps({"question": "Q1?", "answer": "x\n#### 1"}) + "\n")
    runs = [{"benchmarks": ["gsm8k", "math500"], "protocol": "greedy"}, {"benchmarks": ["arith", "nope"]}]
    records, unloaded = eval_test_items({"runs": runs, "data_dir": str(tmp_path), "split": "test", "arith_seed": 0})
    assert [r["question"] for r in records if r["source"] == "gsm8k"] == ["Q1?"]
    assert sum(r["source"] == "arith" for r in records) == 300  # arith's whole test split (generated)
    assert [u.split(":")[0] for u in unloaded] == ["math500", "nope"]
    assert "no folder" in unloaded[0] and "unknown benchmark" in unloaded[1]
    records, unloaded = eval_test_items({"runs": runs[:1], "data_dir": None})
    assert records == [] and all("data_dir is null" in u for u in unloaded) and len(unloaded) == 2


def test_load_pool_removes_validation_and_test_items_before_cutting(tmp_path):
    rows = [{"question": f"What is {i} + 1?", "answer": f"{i}+1={i + 1}\n#### {i + 1}"} for i in range(20)]
    rows[3]["question"] = "WHAT  is 17 + 1 ?"  # = the validation item 17 (train rows 15+)
    rows[5]["question"] = "what is 100 + 1?"  # = a test item
    folder = tmp_path / "gsm8k"
    folder.mkdir()
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = {
        "name": "mixture",
        "kwargs": {
            "components": [
                {
                    "name": "gsm8k",
                    "path": str(folder),
                    "splits": {"validation": "train"},
                    "slices": {"train": [0, 15], "validation": [15, None]},
                }
            ]
        },
        "pool_split": "train",
        "pool_size": 10,
        "val_split": "validation",
        "val_size": 4,
        "regime": "none",
    }
    test = [_rec("What is 100+1?", "t", "gsm8k"), _rec("What is 16 + 1?", "t2", "gsm8k")]
    pool, val = load_pool(data, seed=0, held_out=test)
    assert [r["question"] for r in val] == [f"What is {i} + 1?" for i in (15, 17, 18, 19)]  # 16 is a test item
    assert len(pool) == 10 and [r["id"] for r in pool] == [f"gsm8k-train-{i}" for i in (0, 1, 2, 4, *range(6, 12))]
    assert load_pool(data, seed=0)[0][3]["id"] == "gsm8k-train-4"  # no test items: the validation copy still goes


# ---------------------------------------------------------------- every preset


def _disguise(text: str, k: int) -> str:
    """A copy of a problem as another dataset might spell it."""
    if k % 2 == 0:
        return "  " + text.upper().replace(" ", " \n\t ") + " \\, "
    return text.replace("$", "").replace("\\frac", "\\dfrac").replace(", ", " ,  ") + "  "


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _shared_rows(rel: str, n: int, start: int = 0) -> list[dict]:
    lines = (SHARED / rel).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[start : start + n]]


@pytest.fixture(scope="module")
def local_sources(tmp_path_factory):
    """dataset name -> a local path in its loader's format, with disguised copies of held-out problems."""
    if not SHARED.is_dir():
        return None
    root = tmp_path_factory.mktemp("leakage_data")
    test_items = [r["question"] for r in _shared_rows("gsm8k/test.jsonl", 3)]
    test_items += [r["problem"] for rel in ("math500", "amc23", "aime24") for r in _shared_rows(f"{rel}/test.jsonl", 2)]
    gsm8k_val = [r["question"] for r in _shared_rows("gsm8k/train.jsonl", 3, start=7010)]  # held-out slice 7000+
    dapo = [
        {"prompt": f"Find the remainder when ${i}^{{{i + 2}}}$ is divided by $7$.", "solution": "1", "id": i}
        for i in range(150)
    ]
    dapo_val = [r["prompt"] for r in dapo[:3]]  # the held-out slice [0, 64] of the presets
    planted = [_disguise(t, k) for k, t in enumerate(test_items + gsm8k_val + dapo_val)]
    for original, copy in zip(test_items + gsm8k_val + dapo_val, planted):
        assert content_key(copy) == content_key(original) and copy != original
    leaks = [{"prompt": q, "solution": "1", "id": f"leak-{k}"} for k, q in enumerate(planted)]
    web = [
        {
            "id": f"w{i}",
            "question": f"A car covers {i + 3} km in {i + 1} h. Its speed?",
            "answer": "2",
            "category": "Physics",
        }
        for i in range(100)
    ]
    web_leaks = [{"id": f"leak-{k}", "question": q, "answer": "1", "category": "Math"} for k, q in enumerate(planted)]
    gsm8k_leaks = [{"question": q, "answer": "x\n#### 1"} for q in planted[:3]]  # the GSM8K test copies
    gsm8k_train = gsm8k_leaks + [json.loads(line) for line in (SHARED / "gsm8k/train.jsonl").read_text().splitlines()]
    return {
        "gsm8k": _write_jsonl(root / "gsm8k" / "train.jsonl", gsm8k_train).parent,
        "dapo_math_17k": _write_jsonl(root / "dapo" / "train.jsonl", dapo[:100] + leaks + dapo[100:]),
        "webinstruct": _write_jsonl(root / "webinstruct" / "train.jsonl", web[:50] + web_leaks + web[50:]),
        **{name: SHARED / name for name in ("math500", "aime24", "amc23")},
    }


def _localise(spec: dict, sources: dict | None) -> None:
    """Point a data config (or a mixture component) that would read the hub at a local file."""
    if spec["name"] == "mixture":
        for comp in spec["kwargs"]["components"]:
            _localise(comp, sources)
    elif spec["name"] not in GENERATED_DATA and not spec.get("path"):
        if sources is None:
            pytest.skip(f"shared data not found: {SHARED} (needed for {spec['name']})")
        assert spec["name"] in sources, f"no local substitute for dataset {spec['name']!r}: add one to this test"
        spec["path"] = str(sources[spec["name"]])


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_no_preset_pool_holds_a_validation_or_test_problem(name, local_sources, no_hub):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"experiment={name}"])
    data = OmegaConf.to_container(cfg.data, resolve=True)
    eval_cfg = OmegaConf.to_container(cfg.eval, resolve=True)
    _localise(data, local_sources)
    benchmarks = {b for run in eval_cfg["runs"] for b in run["benchmarks"]}
    if not eval_cfg.get("data_dir") and benchmarks - GENERATED:
        if local_sources is None:
            pytest.skip(f"shared data not found: {SHARED} (needed for {sorted(benchmarks - GENERATED)})")
        eval_cfg["data_dir"] = str(SHARED)

    held_out, unloaded = eval_test_items(eval_cfg)
    absent = {b for b in benchmarks - GENERATED if not (Path(eval_cfg["data_dir"]) / b).is_dir()}
    assert {u.split(":")[0] for u in unloaded} == absent  # e.g. aime25, which ../shared/data lacks
    pool, val = load_pool(data, seed=0, held_out=held_out)

    pool_keys, test_keys, val_keys = content_keys(pool), content_keys(held_out), content_keys(val)
    assert pool and test_keys
    assert not pool_keys & test_keys, "a test problem is in the pool"
    assert not pool_keys & val_keys, "a validation problem is in the pool"
    assert not val_keys & test_keys, "a test problem is in the validation set"
    if data.get("pool_size"):
        assert len(pool) == data["pool_size"]  # cut after the removal: the configured size
    if data.get("val_split"):
        assert len(val) == data["val_size"]
    if data["name"] not in GENERATED_DATA:  # not vacuous: disguised copies were in the pool as loaded, and went
        kw = data.get("kwargs") or {}
        raw = load_records(data["name"], data.get("pool_split", "train"), data.get("path"), **kw)
        assert content_keys(raw) & (test_keys | val_keys)


def test_validate_passes_the_evaluated_test_problems_to_load_pool(monkeypatch, caplog, hub_online):
    from rlselect import pipeline

    seen = {}

    def fake_load_pool(data_cfg, seed, held_out=None):
        seen["held_out"] = held_out
        return [_rec("Q?", f"p{i}") for i in range(4)], []

    monkeypatch.setattr(pipeline, "load_pool", fake_load_pool)
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["selector=full", "logger=none"])
        pipeline.validate(cfg)
        assert {r["source"] for r in seen["held_out"]} == {"arith"} and len(seen["held_out"]) == 300
        cfg = compose(config_name="config", overrides=["selector=full", "eval=gsm8k_greedy", "eval.device=cpu"])
    with caplog.at_level(logging.WARNING, logger="rlselect"):
        pipeline.validate(cfg)
    assert seen["held_out"] == []
    assert "not checked against gsm8k:test: eval.data_dir is null" in caplog.text


def test_a_validation_set_emptied_by_the_leakage_check_is_named(monkeypatch):
    """data.val_split set, every item a test problem: the error says so, not 'set data.val_split'."""
    from rlselect import pipeline

    monkeypatch.setattr(pipeline, "load_pool", lambda data_cfg, seed, held_out=None: ([_rec("Q?", "p0")], []))
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["selector=gradalign", "budget=1", "logger=none"])
    assert cfg.data.val_split  # arith's preset has one
    with pytest.raises(ValueError, match=f"data.val_split={cfg.data.val_split} has no item left after the leakage"):
        pipeline.validate(cfg)
    cfg.data.val_split = None
    with pytest.raises(ValueError, match="needs a validation set: set data.val_split") as refused:
        pipeline.validate(cfg)
    assert "data.val_split=train data.val_size=64" in str(refused.value)  # GSM8K has no validation split


@pytest.mark.skipif(not (SHARED / "gsm8k").is_dir(), reason="../shared/data/gsm8k is absent")
def test_the_suggested_validation_set_for_gsm8k_is_held_out_of_its_pool():
    """What the missing-validation-set error suggests (data.val_split=train data.val_size=N) gives
    a validation set of train items that the pool leaves out."""
    data_cfg = {"name": "gsm8k", "path": str(SHARED / "gsm8k"), "pool_split": "train", "pool_size": 40}
    pool, val = load_pool({**data_cfg, "val_split": "train", "val_size": 8}, seed=0)
    alone, _ = load_pool(data_cfg, seed=0)
    assert [r["id"] for r in val] == [r["id"] for r in alone[:8]]
    assert [r["id"] for r in pool] == [r["id"] for r in load_pool({**data_cfg, "pool_size": 48}, seed=0)[0][8:]]
