"""Per-example policy-gradient features for data selection (docs/methods.md section 1).

    g_i = grad_theta (1/G) sum_j A_ij agg_t log pi_theta(o_ijt | q_i, o_ij<t)   (ascent direction)

policy_gradients      batched per-example gradients (hooks, one backward per batch of prompts)
policy_gradients_loop the plain one-backward-per-prompt reference
validation_gradient   g_V = mean over validation prompts of g_i (GradAlign)
gradalign_scores_streaming / learnalign_scores_streaming   exact scores, O(P) memory, no stored g_i
make_projector        'countsketch' (sparse JL, O(P), on the device) or the dense JLProjection reference
store.compute_features / store.load_features: sharded, resumable feature files
"""

from rlselect.grads.params import add_lora, param_layout, select_parameters
from rlselect.grads.policy import policy_gradients, policy_gradients_loop, validation_gradient
from rlselect.grads.projection import CountSketch, JLProjection, make_projector
from rlselect.grads.store import compute_features, load_features
from rlselect.grads.streaming import gradalign_scores_streaming, learnalign_scores_streaming

__all__ = [
    "CountSketch",
    "JLProjection",
    "make_projector",
    "add_lora",
    "compute_features",
    "gradalign_scores_streaming",
    "learnalign_scores_streaming",
    "load_features",
    "param_layout",
    "policy_gradients",
    "policy_gradients_loop",
    "select_parameters",
    "validation_gradient",
]
