"""Which parameters a policy-gradient feature covers, in a fixed order, and a LoRA helper.

The feature vector is the concatenation of the selected parameters' gradients, flattened, in
`model.named_parameters()` order (canonical names: a tied weight appears once, under its first
name, and its gradient includes every use of it, e.g. both the input embedding and the lm_head).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch

DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _aliases(model: torch.nn.Module) -> dict[int, list[str]]:
    """id(parameter) -> every name it is reachable under (tied weights have several)."""
    out: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        out.setdefault(id(p), []).append(name)
    return out


def _matches(pattern: str, name: str) -> bool:
    if pattern.startswith("re:"):
        return re.search(pattern[3:], name) is not None
    return pattern in name


def select_parameters(
    model: torch.nn.Module, params: str | Sequence[str] = "all"
) -> list[tuple[str, torch.nn.Parameter]]:
    """The (canonical name, parameter) pairs a feature covers, in named_parameters() order.

    params:
      'all'   every trainable parameter (requires_grad=True);
      'lora'  the trainable LoRA adapter weights of a peft model (names containing 'lora_');
      a string or list of strings: trainable parameters any of whose names (aliases included)
              contains one of them as a substring, or matches it as a regex when written 're:...'
              (e.g. ['layers.3.', 'lm_head'] also selects an embedding tied to lm_head).
    """
    aliases = _aliases(model)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if params == "all":
        chosen = trainable
    elif params == "lora":
        chosen = [(n, p) for n, p in trainable if any("lora_" in a for a in aliases[id(p)])]
        if not chosen:
            raise ValueError(
                "params='lora' but the model has no trainable LoRA weights: use attach_scoring_lora() or add_lora()"
            )
    else:
        pats = [params] if isinstance(params, str) else list(params)
        chosen = [(n, p) for n, p in trainable if any(_matches(pt, a) for pt in pats for a in aliases[id(p)])]
        if not chosen:
            raise ValueError(f"no trainable parameter matches {pats!r}")
    return chosen


def param_layout(model: torch.nn.Module, params: str | Sequence[str] = "all") -> list[tuple[str, int]]:
    """(name, numel) of each selected parameter, in feature order: where each slice of g_i lives."""
    return [(n, p.numel()) for n, p in select_parameters(model, params)]


def add_lora(
    model: torch.nn.Module,
    r: int = 8,
    alpha: int | None = None,
    target_modules: Sequence[str] = DEFAULT_LORA_TARGETS,
    dropout: float = 0.0,
    init_lora_weights: Any = True,
):
    """Wrap `model` in a peft LoRA model (rank r, scaling alpha/r, default alpha = 2r).

    Only the adapters stay trainable, so params='lora' (or 'all') selects them. peft's default
    init sets B = 0, which makes every gradient w.r.t. A exactly zero at the start: score with
    trained (warm-started) adapters, or pass init_lora_weights=False for random A and B.
    """
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(
        r=r,
        lora_alpha=alpha if alpha is not None else 2 * r,
        target_modules=list(target_modules),
        lora_dropout=dropout,
        bias="none",
        init_lora_weights=init_lora_weights,
    )
    return get_peft_model(model, cfg)


def has_lora(model: torch.nn.Module) -> bool:
    return any("lora_" in name for name, _ in model.named_parameters())


def attach_scoring_lora(
    model: torch.nn.Module,
    r: int = 8,
    alpha: int | None = None,
    target_modules: Sequence[str] = DEFAULT_LORA_TARGETS,
    init: Any = "orthogonal",
    seed: int = 0,
):
    """`model` with LoRA adapters for params='lora' features (kept as is when it already has some).

    init 'orthogonal' (peft): A and B both nonzero with B A = 0, so the policy being scored is
    unchanged and both factors receive gradients; the adapters' random draw is seeded by `seed`.
    """
    if has_lora(model):
        return model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return add_lora(model, r=r, alpha=alpha, target_modules=target_modules, init_lora_weights=init)
