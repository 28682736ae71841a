"""Evaluation through lm-evaluation-harness with the project's own task YAMLs (tasks/): `evaluate`
and friends (eval/runner.py, with examples), `python -m rlselect.eval` (eval/__main__.py).

Zero-shot chat prompt (problem + boxed-answer instruction, the record's user turn), scored by
`rlselect.rewards.math_reward`. `greedy` = pass@1 with do_sample false; `avg@k` = k samples per
problem, accuracy = mean over problems of the per-problem mean, stderr across problems.
Importing this package is cheap: lm-eval is imported when `evaluate` runs.
"""

from rlselect.eval.benchmarks import BENCHMARKS, TASKS_DIR, load_benchmark, task_name
from rlselect.eval.metrics import process_results, score_completions
from rlselect.eval.runner import Protocol, Settings, build_lm, evaluate, evaluate_suite, parse_protocol, run_config

__all__ = ["BENCHMARKS", "TASKS_DIR", "Protocol", "Settings", "build_lm", "evaluate", "evaluate_suite"]
__all__ += ["load_benchmark", "parse_protocol", "process_results", "run_config", "score_completions", "task_name"]
