"""The verifier: one definition of a correct answer for training rewards, rollouts and evaluation.

    extract_answer(text)            last \\boxed{} (or '#### x', 'The answer is x'), else None
    math_reward(completion, gold)   1.0 / 0.0 via math-verify; never raises, time-bounded
    batch_math_reward(cs, golds)    the same over aligned lists
    MathReward(seed) / trl_math_reward(prompts, completions, answer, **kw)   TRL reward function
                                    (meta.corrupted rows get a coin drawn per (seed, prompt, rollout))
    REWARDS / get_reward(name)      the registry used by configs (`reward: math`)

How time is bounded (math-verify in killable worker processes) is described in `verifier`.
"""

from rlselect.rewards.extract import extract_answer
from rlselect.rewards.functions import REWARDS, MathReward, coin_flip, completion_text, get_reward, trl_math_reward
from rlselect.rewards.verifier import (
    answers_match,
    batch_math_reward,
    math_reward,
    shutdown,
    verifier_pids,
    warmup,
)

__all__ = [
    "extract_answer",
    "math_reward",
    "batch_math_reward",
    "answers_match",
    "MathReward",
    "trl_math_reward",
    "completion_text",
    "coin_flip",
    "REWARDS",
    "get_reward",
    "warmup",
    "verifier_pids",
    "shutdown",
]
