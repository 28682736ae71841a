"""Exact GradAlign and LearnAlign scores without storing any per-prompt gradient (docs/methods.md
section 8): O(P) memory however many prompts are scored, no projection, everything on the
model's device.

The per-example hooks (per_example.py) hand over each parameter's per-prompt gradients one
parameter and one backward batch at a time; the sinks below reduce them at once to per-prompt
scalars (an inner product with a fixed vector, a squared norm) or to one summed gradient, and
drop them. So

    GradAlign:  g_V (one pass over the validation rollouts, kept per parameter on the device),
                then one pass over the candidates for <g_i, g_V> and ||g_i||^2;
    LearnAlign: pass 1 ||g_i|| from the hooks and, once a batch's norms are known, one more
                backward on the same graph for that batch's share of m = (1/n) sum_j w_j g_j with
                w_j = V_j / ||g_j||; pass 2 <g_i, m>; score_i = w_i <g_i, m>.

Each pass costs one forward+backward of the scored tokens plus O(batch x largest parameter)
memory for the hooks' per-prompt gradients of the parameter in flight.
"""

from __future__ import annotations

import functools

import torch

from rlselect.grads.policy import _run_batched
from rlselect.grads.rollout_batch import build_groups
from rlselect.selectors.base import NoValidationSignal
from rlselect.selectors.gradalign import MODES


class _DotSink:
    """Per-prompt <g_i, target> and ||g_i||^2, accumulated parameter by parameter."""

    def __init__(self, n: int, target: dict[str, torch.Tensor] | None = None):
        self.target = target
        self.dots = torch.zeros(n, dtype=torch.float64)
        self.sq = torch.zeros(n, dtype=torch.float64)

    def add(self, rows: torch.Tensor, name: str, g: torch.Tensor):
        g = g.reshape(len(rows), -1).float()
        sq = torch.linalg.vector_norm(g, dim=1).double().square()  # no [batch, numel] temporary
        self.sq.index_add_(0, rows, sq.cpu())
        if self.target is not None and name in self.target:  # absent: that parameter's g_V is 0
            self.dots.index_add_(0, rows, (g @ self.target[name]).double().cpu())

    @property
    def out(self):
        return self


class _SumSink:
    """The summed gradient over every prompt, per parameter, kept on the parameter's device."""

    def __init__(self):
        self.out: dict[str, torch.Tensor] = {}

    def add(self, rows: torch.Tensor, name: str, g: torch.Tensor):
        g = g.reshape(len(rows), -1).float().sum(0)
        self.out[name] = g if name not in self.out else self.out[name].add_(g)


def _norm(v: dict[str, torch.Tensor]) -> float:
    return float(sum(t.double().square().sum() for t in v.values()) ** 0.5)


def gradalign_scores_streaming(
    model,
    tokenizer,
    prompts,
    completions,
    advantages,
    val_prompts,
    val_completions,
    val_advantages,
    *,
    params="all",
    token_agg: str = "seq_mean",
    mode: str = "cosine",
    batch_size: int = 16,
    append_eos: bool = False,
    max_tokens_per_batch: int | None = None,
) -> torch.Tensor:
    """[n] float32: GradAlign's s_i against g_V = (1/n_val) sum_i g_i over the validation rollouts,
    equal to `gradalign_scores(policy_gradients(...), validation_gradient(...), mode)` on exact
    features. Zero-gradient prompts score exactly 0; a zero g_V raises ValueError."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    run = functools.partial(
        _run_batched, model, tokenizer, params=params, batch_size=batch_size, max_tokens=max_tokens_per_batch
    )
    scale = 1.0 / max(len(val_prompts), 1)
    vgroups = build_groups(tokenizer, val_prompts, val_completions, val_advantages, token_agg, append_eos, scale=scale)
    g_v = run(vgroups, _SumSink(), one_segment=True)
    vn = _norm(g_v)
    if not vn > 0:
        raise NoValidationSignal(
            "validation set has no learnable items: all validation groups have equal rewards (zero validation gradient)"
        )
    groups = build_groups(tokenizer, prompts, completions, advantages, token_agg, append_eos)
    stats = run(groups, _DotSink(len(prompts), g_v))
    s = stats.dots / vn
    if mode == "cosine":
        norms = stats.sq.sqrt()
        s = torch.where(norms > 0, s / norms.clamp_min(1e-300), torch.zeros_like(s))
    return s.float()


def learnalign_scores_streaming(
    model,
    tokenizer,
    prompts,
    completions,
    advantages,
    success_rates,
    *,
    params="all",
    token_agg: str = "seq_mean",
    use_variance: bool = True,
    normalize: bool = True,
    batch_size: int = 16,
    append_eos: bool = False,
    max_tokens_per_batch: int | None = None,
) -> torch.Tensor:
    """[n] float32: LearnAlign's score_i = w_i <g_i, (1/n) sum_j w_j g_j>, w_i = V_i / ||g_i||
    (ablations as in `learnalign_scores`), equal to `learnalign_scores(policy_gradients(...), p)`
    on exact features, in two passes over the pool (the first with one more backward per batch,
    on its own graph, for m)."""
    n = len(prompts)
    p = torch.as_tensor(success_rates, dtype=torch.float64).reshape(-1)
    if p.shape[0] != n:
        raise ValueError(f"{n} prompts but {p.shape[0]} success rates")
    if not bool(((p >= 0) & (p <= 1)).all()):
        raise ValueError("success rates must lie in [0, 1]")
    run = functools.partial(
        _run_batched, model, tokenizer, params=params, batch_size=batch_size, max_tokens=max_tokens_per_batch
    )
    groups = build_groups(tokenizer, prompts, completions, advantages, token_agg, append_eos)
    v = p * (1 - p) if use_variance else torch.ones(n, dtype=torch.float64)
    norms = _DotSink(n)
    m: dict[str, torch.Tensor] = {}

    def weights(rows: torch.Tensor) -> torch.Tensor:
        """w_j = V_j / ||g_j|| (0 for a zero gradient; V_j alone when not normalising)."""
        nrm = norms.sq[rows].sqrt()
        return v[rows] * (torch.where(nrm > 0, 1.0 / nrm.clamp_min(1e-300), torch.zeros_like(nrm)) if normalize else 1)

    def add_to_m(rows: torch.Tensor, reweighted) -> None:
        """Once a batch's norms are complete: m += (1/n) sum_{j in batch} w_j g_j (same graph)."""
        w_rows = weights(rows)
        if bool((w_rows != 0).any()):
            for name, g in ((k, t.reshape(-1)) for k, t in reweighted(w_rows / n).items()):
                m[name] = g if name not in m else m[name].add_(g)

    # pass 1: ||g_i|| from the per-example hooks and, on the same graph, m (one extra backward)
    run(groups, norms, then=add_to_m)
    if not m:
        return torch.zeros(n)
    dots = run(groups, _DotSink(n, m)).dots  # pass 2: <g_i, m>
    return (weights(torch.arange(n)) * dots).float()
