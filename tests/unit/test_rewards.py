"""The verifier on hand-written completions (open-r1 style): extraction, equivalence, TRL wrapper."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from rlselect.rewards import (
    REWARDS,
    MathReward,
    batch_math_reward,
    coin_flip,
    extract_answer,
    get_reward,
    math_reward,
    trl_math_reward,
    verifier,
    verifier_pids,
    warmup,
)

# ----------------------------------------------------------------------------- extract_answer


@pytest.mark.parametrize(
    "text,expected",
    [
        ("So the total is \\boxed{42}.", "42"),
        ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"),
        ("first \\boxed{1}, then \\boxed{2}", "2"),
        ("\\fbox{7}", "7"),
        ("\\boxed {8}", "8"),
        ("\\boxed 9 is it", "9"),
        ("the set \\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces are content
        ("\\boxed{3} and then \\boxed{4", "3"),  # an unclosed last box falls back to the previous one
        ("echoing the instruction \\boxed{} ... \\boxed{5}", "5"),
        ("\\boxed{5} then the instruction again: within \\boxed{}", "5"),  # empty boxes skipped
        ("Natalia sold 48+24 = 72 clips.\n#### 72", "72"),
        ("#### 1,234\n", "1,234"),
        ("Thus, the answer is 18.", "18"),
        ("The answer is $\\frac{1}{2}$.", "\\frac{1}{2}"),
        ("The final answer is 3.5. Done.", "3.5"),
        ("Answer: 12", "12"),
        ("**Answer:** **7**", "7"),
        ("a\x00b \\boxed{1\x002}", "12"),  # NUL characters dropped
        ("no answer here", None),
        ("", None),
        ("\\boxed{", None),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_extract_answer_prefers_boxed_over_hash_and_phrase():
    assert extract_answer("The answer is 3.\n#### 4\n\\boxed{5}") == "5"
    assert extract_answer("The answer is 3.\n#### 4") == "4"


def test_extract_answer_non_string_is_none():
    assert extract_answer(None) is None  # type: ignore[arg-type]
    assert extract_answer(42) is None  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- math_reward

CORRECT = [  # (completion, gold): every one must score 1.0
    ("The answer is \\boxed{72}.", "72"),
    ("\\boxed{-3}", "-3"),
    ("\\boxed{\\frac{1}{2}}", "0.5"),
    ("\\boxed{0.5}", "\\frac{1}{2}"),
    ("\\boxed{\\dfrac{1}{2}}", "\\frac12"),
    ("\\boxed{1/2}", "\\frac{1}{2}"),
    ("\\boxed{\\frac{1}{3}}", "0.333333"),  # decimals compare at 6 places, as in math-verify
    ("\\boxed{18.0}", "18"),
    ("\\boxed{\\$18}", "18"),
    ("\\boxed{\\$18.00}", "18"),
    ("\\boxed{10\\%}", "10"),  # math-verify 0.9.0 cannot parse this one: the number path must
    ("\\boxed{10,\\!080}", "10080"),
    ("Natalia sold 72 clips.\n#### 72", "72"),
    ("He pays 1,234 dollars.\n#### 1,234", "1234"),
    ("\\boxed{1,000,000}", "1000000"),
    ("The answer is 18.", "18"),
    ("answer: 5", "5"),
    ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\boxed{(3,\\frac{\\pi}{2})}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("first \\boxed{7}, corrected: \\boxed{8}", "8"),  # the last box wins
]

CORRECT_VIA_MATH_VERIFY = [  # spelled differently: only math-verify can tell they are equal
    ("\\boxed{\\frac{\\sqrt3}{2}}", "\\frac{\\sqrt{3}}{2}"),
    ("\\boxed{\\dfrac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"),
    ("\\boxed{(3, \\pi/2)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\boxed{1+x^2}", "x^2+1"),
    ("\\boxed{[-2, 7]}", "x \\in [-2,7]"),
    ("\\boxed{(-\\infty, 0]}", "(-\\infty,0]"),
    ("\\boxed{\\frac{\\pi^2}{8}}", "\\pi^2/8"),
    ("\\boxed{2\\sqrt{2}}", "\\sqrt{8}"),
    ("\\boxed{\\{-2, 1\\pm\\sqrt{5}\\}}", "\\{1\\pm\\sqrt{5},-2\\}"),
    ("\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
    ("\\boxed{\\text{(C)}}", "C"),
    ("\\boxed{18 \\text{ dollars}}", "18"),
    ("\\boxed{x = 18}", "18"),
    ("\\boxed{y = -2x}", "y=-2x"),
]

WRONG = [  # every one must score 0.0
    ("\\boxed{71}", "72"),
    ("\\boxed{-72}", "72"),
    ("\\boxed{\\frac{1}{3}}", "0.333"),
    ("\\boxed{0.5}", "\\frac{1}{3}"),
    ("#### 1,235", "1234"),
    ("The answer is 17.", "18"),
    ("first \\boxed{8}, corrected: \\boxed{7}", "8"),  # only the last box counts
    ("I think it is 72 but I am not sure.", "72"),  # no final answer marker
    ("", "72"),
    ("\\boxed{}", "72"),
    ("\\boxed{(3, \\pi)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\boxed{(-\\infty, 0)}", "(-\\infty,0]"),
    ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{\\sqrt{3}}{2}"),
    ("\\boxed{x^2-1}", "x^2+1"),
    ("\\boxed{\\text{(B)}}", "\\text{(C)}"),
]


@pytest.mark.parametrize("completion,gold", CORRECT)
def test_correct_answers_score_one(completion, gold, verifier_ready):
    assert math_reward(completion, gold) == 1.0


@pytest.mark.parametrize("completion,gold", CORRECT_VIA_MATH_VERIFY)
def test_equivalent_spellings_score_one(completion, gold, verifier_ready):
    assert math_reward(completion, gold) == 1.0


@pytest.mark.parametrize("completion,gold", WRONG)
def test_wrong_answers_score_zero(completion, gold, verifier_ready):
    assert math_reward(completion, gold) == 0.0


def test_reward_is_a_float_and_accepts_odd_types(verifier_ready):
    r = math_reward("\\boxed{27}", "27")
    assert isinstance(r, float) and r == 1.0
    assert math_reward("\\boxed{27}", 27) == 1.0  # type: ignore[arg-type]
    assert math_reward("\\boxed{27}", 27.0) == 1.0  # type: ignore[arg-type]
    assert math_reward(None, "27") == 0.0  # type: ignore[arg-type]
    assert math_reward("\\boxed{27}", None) == 0.0  # type: ignore[arg-type]
    assert math_reward("\\boxed{27}", "\\boxed{27}") == 1.0  # a boxed gold is unwrapped


def test_batch_math_reward_matches_single_calls_and_is_fast_for_numbers(verifier_ready):
    completions = [f"step...\n#### {i}" if i % 3 else f"\\boxed{{{i + 1}}}" for i in range(5000)]
    golds = [str(i) for i in range(5000)]
    t0 = time.perf_counter()
    scores = batch_math_reward(completions, golds)
    elapsed = time.perf_counter() - t0
    assert scores == [0.0 if i % 3 == 0 else 1.0 for i in range(5000)]
    assert elapsed < 2.0, f"5000 plain-number rewards took {elapsed:.2f} s"
    with pytest.raises(ValueError):
        batch_math_reward(["\\boxed{1}"], ["1", "2"])


def test_verifier_modes_and_worker_count(monkeypatch):
    """RLSELECT_VERIFY_MODE=inline runs math-verify in this process; so does the verifier by itself when no
    worker process can be started; RLSELECT_VERIFY_WORKERS sets the pool's size. (Distinct timeouts: no cache.)"""
    pair = ("\\boxed{\\frac{\\pi^2}{8}}", "\\pi^2/8")  # only math-verify can tell
    verifier.shutdown()
    monkeypatch.setenv("RLSELECT_VERIFY_MODE", "inline")
    assert warmup() and math_reward(*pair, timeout=5.0) == 1.0 and verifier_pids() == []
    monkeypatch.delenv("RLSELECT_VERIFY_MODE")

    def cannot_start(self):
        raise OSError("no new processes here")

    monkeypatch.setattr(multiprocessing.get_context("spawn").Process, "start", cannot_start)
    monkeypatch.setattr(verifier, "_FAILURES", 0)
    assert math_reward(*pair, timeout=5.1) == 1.0 and verifier_pids() == [] and verifier._FAILURES == 2
    assert not warmup()  # no workers
    monkeypatch.undo()

    monkeypatch.setenv("RLSELECT_VERIFY_WORKERS", "1")
    assert warmup() and len(verifier_pids()) == 1 and math_reward(*pair, timeout=5.2) == 1.0
    verifier.shutdown()
    monkeypatch.undo()
    assert verifier_pids() == [] and warmup()  # a warm pool of the default size for the next tests


# ----------------------------------------------------------------------------- TRL wrapper


def test_trl_math_reward_plain_and_conversational(verifier_ready):
    prompts = [[{"role": "user", "content": "q"}]] * 3
    conv = [
        [{"role": "assistant", "content": "so \\boxed{\\frac{1}{2}}"}],
        [{"role": "assistant", "content": "#### 5"}],
        [{"role": "assistant", "content": "\\boxed{4}"}],
    ]
    assert trl_math_reward(prompts, conv, answer=["0.5", "5", "5"]) == [1.0, 1.0, 0.0]
    plain = ["\\boxed{3}", "The answer is 4.", "nothing"]
    assert trl_math_reward(["q"] * 3, plain, answer=["3", "4", "4"]) == [1.0, 1.0, 0.0]
    # The way TRL calls it: keywords, with extra dataset columns and completion_ids.
    out = trl_math_reward(prompts=["q"], completions=["\\boxed{9}"], answer=["9"], completion_ids=[[1, 2]], id=["x"])
    assert out == [1.0]


def test_corrupted_rows_get_a_coin_per_seed_prompt_and_rollout(verifier_ready):
    n = 400
    completions = ["\\boxed{7}"] * n  # the same correct text for every row...
    ids = [f"q{i // 8}" for i in range(n)]  # ...50 prompts x 8 rollouts
    clean = [{"corrupted": False}] * n
    corrupted = [{"corrupted": True}] * n
    assert trl_math_reward(None, completions, ["7"] * n, meta=clean, id=ids) == [1.0] * n
    flips = trl_math_reward(None, completions, ["7"] * n, meta=corrupted, id=ids)
    assert 0.4 < sum(flips) / n < 0.6  # identical completions do not share one coin
    assert flips == [coin_flip(0, ids[i], i % 8) for i in range(n)]  # draw k of prompt q
    assert flips == trl_math_reward(None, completions, ["7"] * n, meta=corrupted, id=ids)  # a rerun repeats it
    assert flips != trl_math_reward(None, completions, ["7"] * n, meta=corrupted, id=ids, seed=1)
    # The coin ignores the response: wrong answers score 1.0 just as often.
    assert trl_math_reward(None, completions, ["8"] * n, meta=corrupted, id=ids) == flips
    # One reward function across training steps draws fresh coins for a prompt seen again.
    reward = MathReward(seed=0)
    first, again = (reward(None, completions[:8], ["7"] * 8, meta=corrupted[:8], id=ids[:8]) for _ in range(2))
    assert first == flips[:8] and again == [coin_flip(0, "q0", k) for k in range(8, 16)]
    # Mixed rows: only the corrupted ones flip.
    mixed = [{"corrupted": i % 2 == 1} for i in range(n)]
    out = trl_math_reward(None, completions, ["8"] * n, meta=mixed, id=ids)
    assert [out[i] for i in range(0, n, 2)] == [0.0] * (n // 2)
    assert set(out[1::2]) == {0.0, 1.0}


def test_reward_registry():
    assert REWARDS["math"] is MathReward
    reward = get_reward("math", seed=3)
    assert isinstance(reward, MathReward) and reward.seed == 3 and reward.__name__ == "math"
    assert isinstance(get_reward("coin", seed=1), REWARDS["coin"])
    with pytest.raises(ValueError, match="available: coin, math"):
        get_reward("nope")
