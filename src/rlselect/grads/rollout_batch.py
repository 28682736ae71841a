"""Tokenised rollout groups and their per-token weights in the policy-gradient objective.

For prompt i with completions o_i1..o_iG (lengths L_ij) and advantages A_ij, the objective is

    J_i = sum_j sum_t w_ij * log pi(o_ijt | q_i, o_ij<t)

with the per-token weight w_ij fixed by the token aggregation:
    seq_mean:   w_ij = A_ij / (G * L_ij)      (1/G sum_j A_ij * mean_t logp; GRPO's default)
    sum:        w_ij = A_ij / G               (1/G sum_j A_ij * sum_t logp)
    token_mean: w_ij = A_ij / sum_k L_ik      (sum over the group's tokens / its token count)
G counts every completion given, empty ones included; an empty completion (L_ij = 0) has no
token and contributes nothing. g_i = grad_theta J_i (the ascent direction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TOKEN_AGGS = ("seq_mean", "token_mean", "sum")


@dataclass
class Group:
    """One prompt's non-empty rollouts: full ids, first completion position, per-token weight."""

    index: int
    seqs: list[list[int]]
    start: int  # len(prompt ids): position of the first completion token in every sequence
    weights: list[float]

    @property
    def max_len(self) -> int:
        return max(len(s) for s in self.seqs)

    @property
    def n_tokens(self) -> int:
        return sum(len(s) for s in self.seqs)


def token_weights(advantages: Sequence[float], lengths: Sequence[int], token_agg: str) -> list[float]:
    """w_ij for one group (see the module docstring); 0 for empty completions."""
    if token_agg not in TOKEN_AGGS:
        raise ValueError(f"features.token_agg={token_agg!r}; available: {', '.join(TOKEN_AGGS)}")
    G, total = len(advantages), sum(lengths)
    out = []
    for a, n in zip(advantages, lengths):
        denominator = {"seq_mean": G * n, "sum": G, "token_mean": total}[token_agg]
        out.append(float(a) / denominator if n else 0.0)
    return out


def build_groups(
    tokenizer,
    prompts: Sequence[str],
    completions: Sequence[Sequence[str]],
    advantages: Sequence[Sequence[float]],
    token_agg: str = "seq_mean",
    append_eos: bool = False,
    scale: float = 1.0,
) -> list[Group | None]:
    """One Group per prompt, or None where the group has no learning signal (all A_ij = 0, or
    no completion token): its gradient is exactly zero and is never computed."""
    if not (len(prompts) == len(completions) == len(advantages)):
        raise ValueError("prompts, completions and advantages must have the same length")
    eos = tokenizer.eos_token_id
    out: list[Group | None] = []
    for i, (p, comps, advs) in enumerate(zip(prompts, completions, advantages)):
        if len(comps) != len(advs):
            raise ValueError(f"prompt {i}: {len(comps)} completions but {len(advs)} advantages")
        pids = tokenizer(p, add_special_tokens=False)["input_ids"]
        if not pids:
            raise ValueError(f"prompt {i} is empty: the first completion token has no context")
        cids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in comps]
        if append_eos:
            cids = [c + [eos] for c in cids]
        w = token_weights(advs, [len(c) for c in cids], token_agg)
        keep = [(c, wj * scale) for c, wj in zip(cids, w) if c and wj != 0.0]
        if not keep:
            out.append(None)
            continue
        out.append(Group(i, [pids + c for c, _ in keep], len(pids), [wj for _, wj in keep]))
    return out
