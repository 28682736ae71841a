"""Hooks the rlselect task YAMLs name with `!function utils.<name>`.

lm-eval imports this file by path; everything lives in the rlselect package so that the
evaluation, the training reward and the selection rollouts share one data loader and one verifier.
"""

from rlselect.eval.benchmarks import custom_dataset, doc_to_text  # noqa: F401
from rlselect.eval.metrics import all_samples, process_results  # noqa: F401
