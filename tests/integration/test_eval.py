"""Evaluation through lm-evaluation-harness (rlselect.eval), offline on the tiny model.

The random-init tiny model scores ~0; these tests check the pipeline (lm-eval tasks, chat prompt,
verifier, protocols, result files), and use a stubbed generator for known right/wrong answers.
Result files are lm-eval's own (EvaluationTracker): results_<time>.json, with our per-benchmark rows
under "rlselect", and samples_<task>_<time>.jsonl.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from rlselect.eval import BENCHMARKS, TASKS_DIR, evaluate, parse_protocol
from rlselect.eval.metrics import process_results

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
FAST = {"num_threads": 1, "batch_size": 64}  # 1 torch thread: tiny model, small shared CPU

REQUIRED_FIELDS = {
    "benchmark",
    "protocol",
    "k",
    "n_problems",
    "accuracy",
    "stderr",
    "model",
    "lm_eval_version",
    "limit",
    "temperature",
    "top_p",
    "max_gen_toks",
    "evaluator",
    "per_problem",
}


def _need_shared(*names):
    missing = [n for n in names if not (SHARED_DATA / n / "test.jsonl").exists()]
    if missing:
        pytest.skip(f"shared benchmark files not found: {', '.join(str(SHARED_DATA / n) for n in missing)}")


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    from rlselect.models.tiny import build_tiny

    model, tok = build_tiny(seed=0)
    d = tmp_path_factory.mktemp("tiny")
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def tiny_lm(tiny_ckpt):
    """One lm-eval HFLM on the tiny checkpoint, shared by the tests that do not test loading."""
    from rlselect.eval import build_lm

    return build_lm(str(tiny_ckpt), backend="hf", device="cpu", batch_size=64)


def _on_disk(out: Path) -> dict[str, dict]:
    """Our rows, by benchmark, from lm-eval's results_<time>.json files in `out` (newest wins)."""
    rows = {}
    for f in sorted(out.glob("results_*.json")):
        res = json.loads(f.read_text())
        assert res["lm_eval_version"] and set(res["results"]) == {r["task"] for r in res["rlselect"].values()}
        rows.update(res["rlselect"])
    return rows


def _samples(out: Path, bench: str) -> list[dict]:
    """lm-eval's per-problem sample lines: doc, arguments (the prompt), filtered_resps (the k completions)."""
    (f,) = out.glob(f"samples_{BENCHMARKS[bench]}_*.jsonl")
    return [json.loads(x) for x in f.read_text().splitlines()]


def _check_fields(row: dict, out: Path):
    on_disk = _on_disk(out)[row["benchmark"]]
    assert Path(row["results_file"]).parent == out
    assert set(on_disk) >= REQUIRED_FIELDS, REQUIRED_FIELDS - set(on_disk)
    assert on_disk["evaluator"] == "lm-evaluation-harness"
    assert on_disk["n_problems"] == len(on_disk["per_problem"])
    assert all({"id", "score"} <= set(p) for p in on_disk["per_problem"])
    assert on_disk["accuracy"] == pytest.approx(row["accuracy"])
    assert 0.0 <= on_disk["accuracy"] <= 1.0
    return on_disk


# ----------------------------------------------------------------------------- acceptance 1


def test_tiny_model_offline_arith_gsm8k_math500(tiny_ckpt, tmp_path):
    """Offline, the tiny model is evaluated through lm-eval on the arith test split and on the first
    20 problems of ../shared/data/gsm8k/test.jsonl and ../shared/data/math500/test.jsonl; the json
    files hold the fields above."""
    out = tmp_path / "eval"
    (arith,) = evaluate(str(tiny_ckpt), ["arith"], max_gen_toks=32, output_dir=out, **FAST)
    on_disk = _check_fields(arith, out)
    assert on_disk["n_problems"] == 300 and on_disk["limit"] is None  # full split: limit null
    assert on_disk["protocol"] == "greedy" and on_disk["k"] == 1
    assert on_disk["model"] == str(tiny_ckpt)
    first = _samples(out, "arith")[0]
    prompt = first["arguments"]["gen_args_0"]["arg_0"]
    # zero-shot chat prompt: the model's chat template around the record's (single) user turn
    from transformers import AutoTokenizer

    from rlselect.data import load_records

    rec = load_records("arith", "test", seed=0)[0]
    tok = AutoTokenizer.from_pretrained(tiny_ckpt)
    assert first["doc"]["id"] == rec["id"] and len(rec["prompt"]) == 1
    assert prompt == tok.apply_chat_template(rec["prompt"], tokenize=False, add_generation_prompt=True)
    assert prompt.startswith("<|im_start|>user\n" + rec["question"])

    _need_shared("gsm8k", "math500")
    rows = evaluate(
        str(tiny_ckpt),
        ["gsm8k", "math500"],
        limit=20,
        max_gen_toks=32,
        data_dir=SHARED_DATA,
        output_dir=out,
        **FAST,
    )
    for row in rows:
        on_disk = _check_fields(row, out)
        assert on_disk["n_problems"] == 20 and on_disk["limit"] == 20
        assert on_disk["data_source"].endswith(f"{row['benchmark']}/test.jsonl")
    gsm = load_records("gsm8k", "test", path=SHARED_DATA / "gsm8k")[:20]
    assert [p["id"] for p in rows[0]["per_problem"]] == [r["id"] for r in gsm]  # the FIRST 20


# ----------------------------------------------------------------------------- acceptance 2

COMPLETIONS = [  # (completion, gold)
    ("3 + 4 = 7. The answer is \\boxed{7}.", "7"),
    ("3 + 4 = 8. The answer is \\boxed{8}.", "7"),
    ("So the total is \\boxed{1,234} dollars.", "1234"),
    ("The probability is \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("The probability is \\boxed{0.5}", "\\frac{1}{2}"),
    ("The probability is \\boxed{\\frac{1}{3}}", "\\frac{1}{2}"),
    ("\\boxed{\\dfrac{3}{4}}", "3/4"),
    ("First \\boxed{5}, no wait, \\boxed{6}.", "6"),
    ("First \\boxed{6}, no wait, \\boxed{5}.", "6"),
    ("I do not know.", "12"),
    ("", "12"),
    ("#### 42", "42"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\boxed{x^2 + 1}", "x^2+1"),
    ("\\boxed{-3}", "3"),
    ("\\boxed{", "3"),
]


def test_metric_agrees_with_math_reward_item_by_item():
    """Test: for one list of completions, the lm-eval metric and `math_reward` agree on every item."""
    from rlselect.rewards import math_reward

    for completion, gold in COMPLETIONS:
        doc = {"id": "x", "answer": gold}
        want = float(math_reward(completion, gold))
        # lm-eval calls process_results(doc, [filtered]) with the all_samples filter's list ...
        assert process_results(doc, [[completion]])["acc"] == want, (completion, gold)
        # ... and with a plain string under lm-eval's default take_first filter
        assert process_results(doc, [completion])["acc"] == want, (completion, gold)
    # the obvious ones, so the comparison is not vacuous
    assert process_results({"answer": "7"}, [["\\boxed{7}"]])["acc"] == 1.0
    assert process_results({"answer": "7"}, [["\\boxed{8}"]])["acc"] == 0.0
    # several samples: mean and pass@k
    r = process_results({"answer": "7"}, [["\\boxed{7}", "\\boxed{8}", "\\boxed{7}", "no"]])
    assert r == {"acc": 0.5, "pass_at_k": 1.0}


def test_task_yamls_name_the_verifier_and_chat_prompt():
    from lm_eval.tasks._yaml_loader import load_yaml

    for bench, task in BENCHMARKS.items():
        cfg = load_yaml(TASKS_DIR / f"{task}.yaml", resolve_func=True)
        assert cfg["task"] == task and cfg["dataset_kwargs"]["benchmark"] == bench
        assert cfg["process_results"] is process_results
        assert cfg["num_fewshot"] == 0 and cfg["generation_kwargs"]["do_sample"] is False
        until = cfg["generation_kwargs"]["until"]
        assert "<|im_end|>" in until
        for stop in until:  # no stop string can cut a boxed answer
            assert stop not in "The answer is \\boxed{\\frac{1}{2}}.\n\n#### 3 Question: Q:"


def test_generation_stops_at_eos_and_keeps_boxed(tiny_lm):
    from lm_eval.models.utils import handle_stop_sequences, postprocess_generated_text
    from lm_eval.tasks._yaml_loader import load_yaml

    until = load_yaml(TASKS_DIR / "rlselect_arith.yaml", resolve_func=False)["generation_kwargs"]["until"]
    eos = tiny_lm.tok_decode(tiny_lm.eot_token_id, skip_special_tokens=False)
    assert eos == "<|im_end|>"
    stops = handle_stop_sequences(list(until), eos=eos)
    raw = "2+3=5.\n\nThe answer is \\boxed{5}.<|im_end|>\n<|im_start|>user\nmore"
    assert postprocess_generated_text(raw, stops, None) == "2+3=5.\n\nThe answer is \\boxed{5}."


# ----------------------------------------------------------------------------- acceptance 3


def test_avg_at_k_mean_and_stderr_tiny_sampling(tiny_lm, tmp_path):
    """avg@k with k = 4 on arith returns the mean over samples and its standard error (real sampling)."""
    (row,) = evaluate(
        tiny_lm,
        ["arith"],
        protocol="avg@k",
        k=4,
        temperature=1.0,
        top_p=0.95,
        limit=6,
        max_gen_toks=16,
        output_dir=tmp_path,
        **FAST,
    )
    assert row["protocol"] == "avg@4" and row["k"] == 4 and row["n_problems"] == 6
    assert row["do_sample"] is True and row["temperature"] == 1.0 and row["top_p"] == 0.95
    assert row["generation_kwargs"]["do_sample"] is True
    assert all(len(p["scores"]) == 4 for p in row["per_problem"])
    completions = [s["filtered_resps"][0] for s in _samples(tmp_path, "arith")]
    assert all(len(c) == 4 for c in completions)
    assert any(len(set(c)) > 1 for c in completions)  # sampling, not 4 copies of one greedy answer
    all_scores = [s for p in row["per_problem"] for s in p["scores"]]
    assert row["accuracy"] == pytest.approx(sum(all_scores) / len(all_scores))


def _patterned_generate(lm, monkeypatch, correct):
    """Replace generation by answers whose correctness is `correct(doc_index, sample_index)`."""
    seen: dict[int, int] = {}

    def generate_until(requests, disable_tqdm=False):
        out = []
        for req in requests:  # lm-eval passes each request `repeats` times
            r = seen.get(id(req), 0)
            seen[id(req)] = r + 1
            gold = req.doc["answer"]
            ans = gold if correct(req.doc_id, r) else f"{gold}1"
            out.append(f"Let me think. The answer is \\boxed{{{ans}}}.")
        return out

    monkeypatch.setattr(lm, "generate_until", generate_until)


def test_avg_at_k_is_mean_over_samples_with_stderr_across_problems(tiny_lm, monkeypatch, tmp_path):
    """avg@k with k = 4 on arith returns the mean over samples and its standard error (known answers).
    Also: lm-eval's WandbLogger logs the numbers into the W&B run when (and only when) one is active."""
    import types

    import wandb

    logged = []
    run = types.SimpleNamespace(
        step=0,
        summary={},
        config=types.SimpleNamespace(update=lambda *a, **kw: None),
        log=lambda data, **kw: logged.append(data),
        log_artifact=lambda artifact: None,
    )
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path))  # lm-eval's results artifact is staged here
    monkeypatch.setattr(wandb, "run", run)
    _patterned_generate(tiny_lm, monkeypatch, lambda doc, r: (doc + r) % 3 == 0 or doc % 5 == 0)
    (row,) = evaluate(tiny_lm, ["arith"], protocol="avg@4", limit=10, max_gen_toks=16, **FAST)
    per_problem = [p["score"] for p in row["per_problem"]]
    expect = [sum((d + r) % 3 == 0 or d % 5 == 0 for r in range(4)) / 4 for d in range(10)]
    assert per_problem == pytest.approx(expect)
    per_sample = [s for p in row["per_problem"] for s in p["scores"]]
    assert len(per_sample) == 40
    assert row["accuracy"] == pytest.approx(sum(per_sample) / 40)
    mu = sum(expect) / 10
    se = math.sqrt(sum((x - mu) ** 2 for x in expect) / 9) / math.sqrt(10)  # sample std across problems / sqrt(n)
    assert row["accuracy"] == pytest.approx(mu)
    assert row["stderr"] == pytest.approx(se)
    assert row["pass_at_k"] == pytest.approx(sum(x > 0 for x in expect) / 10)
    assert logged[0]["rlselect_arith/acc,all_samples"] == pytest.approx(mu)
    assert logged[0]["rlselect_arith/acc_stderr,all_samples"] == pytest.approx(se)


def test_greedy_is_deterministic_across_two_runs(tiny_lm, tmp_path):
    """greedy is deterministic across two runs (test)."""
    runs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        (row,) = evaluate(tiny_lm, ["arith"], limit=16, max_gen_toks=24, output_dir=out, seed=i, **FAST)
        (samples,) = [f.read_text() for f in out.glob("samples_rlselect_arith_*.jsonl")]
        runs.append((row["per_problem"], samples))
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == runs[1][1]  # identical completions, problem by problem


# ----------------------------------------------------------------------------- always right


def test_a_model_that_always_answers_correctly_scores_one(tiny_lm, monkeypatch, tmp_path):
    from rlselect.data.arith import boxed_completion

    def generate_until(requests, disable_tqdm=False):
        # arith: exactly what the warm start teaches; the others: the gold answer boxed
        return [
            boxed_completion(r.doc["meta"]["solution"].split("\n####")[0], r.doc["answer"])
            if r.doc["source"] == "arith"
            else f"The answer is \\boxed{{{r.doc['answer']}}}."
            for r in requests
        ]

    monkeypatch.setattr(tiny_lm, "generate_until", generate_until)
    benches = ["arith"]
    if all((SHARED_DATA / n / "test.jsonl").exists() for n in ("gsm8k", "math500")):
        benches += ["gsm8k", "math500"]
    rows = evaluate(tiny_lm, benches, limit=20, data_dir=SHARED_DATA, output_dir=tmp_path, **FAST)
    for row in rows:
        assert row["accuracy"] == 1.0, (row["benchmark"], [p for p in row["per_problem"] if p["score"] < 1])
        assert row["stderr"] == 0.0 and row["n_problems"] == 20


def test_in_memory_model_and_tokenizer(tmp_path):
    """The pipeline can pass the policy it holds (model instance + tokenizer) instead of a path."""
    from rlselect.models.tiny import build_tiny

    model, tok = build_tiny(seed=1)
    (row,) = evaluate(
        model, "arith", tokenizer=tok, limit=4, max_gen_toks=8, model_name="policy@step0", output_dir=tmp_path, **FAST
    )
    assert row["n_problems"] == 4 and row["model"] == "policy@step0" and row["backend"] == "hf"
    assert _on_disk(tmp_path)["arith"]["model"] == "policy@step0"


def test_results_record_this_packages_commit_quietly_from_any_folder(tmp_path, monkeypatch, capfd):
    """lm-eval's git_hash is `git describe` of the working directory, and git prints "fatal: not a
    git repository" from elsewhere; the results carry rlselect's own commit and nothing is printed."""
    import rlselect
    from rlselect.models.tiny import build_tiny

    model, tok = build_tiny(seed=1)
    monkeypatch.chdir(tmp_path)  # no git repository here
    evaluate(model, "arith", tokenizer=tok, limit=2, max_gen_toks=4, output_dir=tmp_path / "out", **FAST)
    (results,) = (tmp_path / "out").glob("results_*.json")
    assert json.loads(results.read_text())["git_hash"] == rlselect.code_commit()
    assert "not a git repository" not in capfd.readouterr().err


# ----------------------------------------------------------------------------- CLI, configs


def test_cli_writes_results(tiny_ckpt, tmp_path, capsys, monkeypatch):
    from rlselect import console
    from rlselect.eval.__main__ import main

    calls = []  # console.configure changes process-wide logging: recorded here, tested in a subprocess below
    monkeypatch.setattr(console, "configure", lambda verbose=False: calls.append(verbose))
    out = tmp_path / "cli"
    rc = main(
        [
            "--model",
            str(tiny_ckpt),
            "--benchmarks",
            "arith",
            "--limit",
            "5",
            "--max-gen-toks",
            "16",
            "--output-dir",
            str(out),
            "--num-threads",
            "1",
        ]
    )
    assert rc == 0
    row = _on_disk(out)["arith"]
    assert row["limit"] == 5 and row["n_problems"] == 5 and row["max_gen_toks"] == 16
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["benchmark"] == "arith" and calls == [False]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--benchmarks", "arith,gsm9k"], "error: unknown benchmark 'gsm9k'; available: aime24"),
        (["--protocol", "avg"], "error: unknown protocol 'avg'"),
        (["--model", "/no/such/ckpt"], "error: --model='/no/such/ckpt': no such checkpoint folder"),
        (["--dtype", "bf16"], "error: --dtype='bf16'; use float32, bfloat16, float16 or auto"),  # was: after loading
        (  # offline, it failed after loading the model, with a traceback that suggested data.path
            ["--benchmarks", "arith,math500", "--data-dir", "/no/such/dir"],
            "error: eval: math500: there is no folder /no/such/dir/math500 and the dataset hub is offline",
        ),
    ],
)
def test_cli_refuses_a_typo_in_one_line_before_loading_anything(
    tiny_ckpt, tmp_path, capsys, monkeypatch, args, message
):
    from rlselect import console
    from rlselect.eval import runner
    from rlselect.eval.__main__ import main

    monkeypatch.setattr(console, "configure", lambda verbose=False: None)
    monkeypatch.setattr(runner, "build_lm", lambda *a, **k: pytest.fail("the model was loaded"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["--model", str(tiny_ckpt), "--output-dir", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message)


def test_cli_is_quiet_unless_verbose(tiny_ckpt, tmp_path):
    """One line on stderr before the results (no lm-eval INFO lines, no request bars); -v: all of them."""
    import subprocess
    import sys

    args = [sys.executable, "-m", "rlselect.eval", "--model", str(tiny_ckpt), "--limit", "2", "--max-gen-toks", "4"]
    args += ["--output-dir", str(tmp_path), "--num-threads", "1"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("TQDM_DISABLE", None)
    quiet = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=True)
    loud = subprocess.run([*args, "-v"], capture_output=True, text=True, env=env, timeout=300, check=True)
    assert json.loads(quiet.stdout.splitlines()[-1])["benchmark"] == "arith"
    assert quiet.stderr.strip().splitlines() == [quiet.stderr.strip().splitlines()[0]]
    assert "evaluating" in quiet.stderr and "lm_eval" not in quiet.stderr and "it/s" not in quiet.stderr
    assert "lm_eval" in loud.stderr and "Building contexts" in loud.stderr


def test_eval_configs_parse():
    from omegaconf import OmegaConf

    files = sorted((REPO / "conf" / "eval").glob("*.yaml"))
    assert {"arith.yaml", "paper_math.yaml"} <= {f.name for f in files}
    for f in files:
        cfg = OmegaConf.to_container(OmegaConf.load(f), resolve=True)
        assert cfg["runs"], f
        for run in cfg["runs"]:
            assert set(run["benchmarks"]) <= set(BENCHMARKS), f
            merged = {**cfg, **run}
            parse_protocol(
                merged["protocol"], merged.get("k", 1), merged.get("temperature", 0.7), merged.get("top_p", 0.95)
            )
    paper = OmegaConf.load(REPO / "conf" / "eval" / "paper_math.yaml")
    assert [r["protocol"] for r in paper.runs] == ["greedy", "avg@k"] and paper.runs[1].k == 16


def test_quiet_evaluation_keeps_lm_evals_prints_off_stdout(tiny_ckpt, capfd, monkeypatch, caplog):
    """HFLM print()s its batch-size probe under batch_size=auto (the GPU presets' setting); a quiet run
    keeps it as a debug line."""
    import logging

    from rlselect import console

    monkeypatch.setattr(console, "VERBOSE", False)
    with caplog.at_level(logging.DEBUG, logger="rlselect"):
        evaluate(str(tiny_ckpt), ["arith"], batch_size="auto", limit=2, max_gen_toks=8, device="cpu", backend="hf")
    assert "batch size" not in capfd.readouterr().out
    assert "lm-eval: Passed argument batch_size = auto" in caplog.text


def test_run_config_arith(tiny_ckpt, tmp_path):
    """The Hydra eval group (conf/eval/arith.yaml) drives the same function the pipeline calls."""
    from omegaconf import OmegaConf

    from rlselect.eval import run_config

    cfg = OmegaConf.load(REPO / "conf" / "eval" / "arith.yaml")
    rows = run_config(str(tiny_ckpt), cfg, output_dir=tmp_path, limit=4, max_gen_toks=8)
    assert [(r["benchmark"], r["protocol"], r["n_problems"], r["limit"]) for r in rows] == [("arith", "greedy", 4, 4)]
    assert rows[0]["model"] == str(tiny_ckpt) and set(_on_disk(tmp_path)) == {"arith"}


def test_parse_protocol():
    assert parse_protocol("greedy").k == 1 and not parse_protocol("greedy").do_sample
    p = parse_protocol("avg@k", k=16, temperature=0.7)
    assert (p.name, p.k, p.do_sample, p.temperature, p.top_p) == ("avg@16", 16, True, 0.7, 0.95)
    assert parse_protocol("avg@8").k == 8
    for bad in [{"protocol": "beam"}, {"protocol": "avg@8", "k": 4}, {"protocol": "avg@k", "k": 4, "temperature": 0}]:
        with pytest.raises(ValueError):
            parse_protocol(**bad)
    with pytest.raises(ValueError, match="unknown benchmark"):
        evaluate("unused", ["gsm9k"])


def test_settings_validate_early():
    """One Settings object carries the protocol and generation settings; bad values fail before any model loads."""
    from rlselect.eval import Settings

    s = Settings(protocol="avg@k", k=4, temperature=1.0, limit=3)
    assert (s.proto.name, s.proto.k, s.proto.do_sample) == ("avg@4", 4, True)
    for bad in [{"backend": "tgi"}, {"limit": 0}, {"protocol": "avg@8", "k": 4}]:
        with pytest.raises(ValueError):
            Settings(**bad)
    with pytest.raises(TypeError):  # a misspelt setting (CLI, conf/eval group or keyword) is an error
        evaluate("unused", ["arith"], max_gen_tokens=8)


# ----------------------------------------------------------------------------- a user's own dataset


@pytest.fixture
def user_dataset(tmp_path, monkeypatch):
    """A dataset added as README shows (one registered loader reading <folder>/<split>.jsonl), with no
    task YAML of its own: 5 test problems under <tmp>/data/user_math/test.jsonl."""
    from rlselect.data import LOADERS
    from rlselect.data.io import convert_rows, field, read_rows
    from rlselect.data.schema import make_record

    def load_user_math(split, path=None, **kw):
        def convert(row, i):
            q, a = field(row, "problem"), field(row, "answer")
            return make_record(id=f"user_math-{split}-{i}", question=q, answer=a, source="user_math", family="user")

        return convert_rows(*read_rows(path, split, "me/user_math"), convert)

    monkeypatch.setitem(LOADERS, "user_math", load_user_math)
    folder = tmp_path / "data" / "user_math"
    folder.mkdir(parents=True)
    rows = [{"problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(5)]
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path / "data"


def test_a_registered_dataset_is_a_benchmark(tiny_lm, user_dataset, monkeypatch, tmp_path):
    """A dataset registered in rlselect.data is evaluated on its test split with the shipped task
    template (prompt, verifier, metrics), without a task YAML of its own."""
    from rlselect.eval.benchmarks import TEMPLATE, eval_test_items

    answers = iter(["\\boxed{0}", "\\boxed{2}", "\\boxed{5}", "no answer", "\\boxed{8}"])  # 3 of 5 right
    monkeypatch.setattr(
        tiny_lm, "generate_until", lambda requests, disable_tqdm=False: [next(answers) for _ in requests]
    )
    out = tmp_path / "out"
    (row,) = evaluate(tiny_lm, ["user_math"], data_dir=user_dataset, output_dir=out, **FAST)
    assert row["task"] == "rlselect_user_math" and row["n_problems"] == 5
    assert row["accuracy"] == pytest.approx(0.6)
    assert [p["score"] for p in row["per_problem"]] == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert str(TEMPLATE) in row["task_yaml"]
    assert row["data_source"] == str((user_dataset / "user_math" / "test.jsonl").resolve())
    _check_fields(row, out)
    (samples,) = out.glob("samples_rlselect_user_math_*.jsonl")
    sample = json.loads(samples.read_text().splitlines()[0])
    assert "What is 0 + 0?" in sample["arguments"]["gen_args_0"]["arg_0"]

    # the leakage check reads the same test split
    records, unloaded = eval_test_items({"runs": [{"benchmarks": ["user_math"]}], "data_dir": str(user_dataset)})
    assert unloaded == [] and [r["answer"] for r in records] == ["0", "2", "4", "6", "8"]


def test_an_unknown_benchmark_names_the_registered_datasets():
    with pytest.raises(ValueError, match=r"unknown benchmark 'nope'.*gsm8k.*webinstruct"):
        evaluate("unused", ["nope"])
