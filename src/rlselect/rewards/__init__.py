"""The verifier: one definition of a correct answer for training rewards, rollouts and evaluation.

`math_reward` (1.0 / 0.0 via math-verify in killable worker processes: never raises, time-bounded; see `verifier`),
the TRL reward functions `MathReward` / `trl_math_reward` and the registry configs name (`REWARDS`, `get_reward`).
"""

from rlselect.rewards.extract import extract_answer
from rlselect.rewards.functions import REWARDS, MathReward, coin_flip, completion_text, get_reward, trl_math_reward
from rlselect.rewards.verifier import answers_match, batch_math_reward, math_reward, shutdown, verifier_pids, warmup

__all__ = ["extract_answer", "math_reward", "batch_math_reward", "answers_match", "MathReward", "trl_math_reward"]
__all__ += ["completion_text", "coin_flip", "REWARDS", "get_reward", "warmup", "verifier_pids", "shutdown"]
