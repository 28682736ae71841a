"""LIMR (Li et al. 2025): prompts whose reward trajectory over full-data training follows the
pool's mean learning curve.

    s_i = 1 - sum_k (r_ik - rbar_k)^2 / sum_k (1 - rbar_k)^2

r_ik: prompt i's mean reward in epoch k; rbar_k: the pool's mean reward in epoch k. The
trajectories come from the `reward_trajectories` stage (GRPO on the full pool for
`selector.limr_epochs` epochs).
"""

from rlselect.selectors.base import SelectionInputs, rank_by, register_selector


def limr_scores(trajectories: list[list[float | None]]) -> list[float]:
    n_epochs = max((len(t) for t in trajectories), default=0)
    rbar: list[float] = []
    for k in range(n_epochs):
        vals = [v for t in trajectories if k < len(t) and (v := t[k]) is not None]
        rbar.append(sum(vals) / len(vals) if vals else 0.0)
    denom = sum((1 - r) ** 2 for r in rbar) or 1e-12
    scores = []
    for t in trajectories:
        # an epoch in which the prompt was not sampled counts as following the mean curve
        filled = [v if k < len(t) and (v := t[k]) is not None else rbar[k] for k in range(n_epochs)]
        scores.append(1.0 - sum((f - r) ** 2 for f, r in zip(filled, rbar)) / denom)
    return scores


@register_selector("limr", needs=("reward_trajectories",))
def select_limr(inputs: SelectionInputs, budget: int, seed: int):
    """Reward trajectory over full-data GRPO epochs closest to the mean learning curve."""
    traj = inputs.extra["reward_trajectories"]
    return rank_by(inputs.ids, limr_scores([traj[i] for i in inputs.ids]), seed)
