"""Perplexity of each item's reference solution under a model: the `ppl_top` and `ifd` stage.

Per record: ppl_cond = PPL(solution | chat-templated prompt), ppl_uncond = PPL(solution alone),
ifd = ppl_cond / ppl_uncond (instruction-following difficulty, Li et al. 2024), ref_tokens = the
solution's token count; PPL = exp(mean token NLL). Conventions (they change numbers; docs/methods.md 4):
- The reference text is `meta["solution"]` when non-empty, else the final answer.
- Prompt (`apply_chat_template(..., add_generation_prompt=True)`) and solution are tokenized
  separately with `add_special_tokens=False` and concatenated (no EOS after the solution).
- Unconditional: BOS (when the tokenizer has one) + solution; without BOS the first token has no
  context and is not scored (as the original IFD code, which scores the answer with `labels=input_ids`).
- No scored token (empty solution, or one token without BOS): PPL 1.0 (so ifd = 1.0 when both
  sides are empty). The mean NLL is capped at MAX_MEAN_NLL before exp, so perplexities stay finite.

Batches are left-padded with explicit position ids (every row sees what it would see alone); only the
logits of the last K positions are materialised (`logits_to_keep`): little memory for large vocabularies.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from rlselect.cache import atomic_write_json, build_once, model_fingerprint, read_json, stage_key

log = logging.getLogger(__name__)

MAX_MEAN_NLL = 50.0  # exp(50) ~ 5e21: a cap, not a realistic value


def reference_text(record: dict) -> str:
    """The reference solution: meta["solution"] if non-empty, else the final answer."""
    sol = (record.get("meta") or {}).get("solution") or ""
    return sol if sol.strip() else str(record.get("answer", ""))


def _perplexities(model, seqs: list[tuple[list[int], list[int]]], batch_size: int, pad_id: int) -> list[float]:
    """PPL of the target tokens of each (context_ids, target_ids) pair that have a token before them
    in the sequence (1.0 when there is none)."""
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    n_scored = [min(len(t), len(c) + len(t) - 1) for c, t in seqs]
    ppl = [1.0] * len(seqs)
    # Batch sequences of similar length together (less padding); results are order-independent.
    order = sorted((i for i in range(len(seqs)) if n_scored[i] > 0), key=lambda i: len(seqs[i][0]) + len(seqs[i][1]))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        full = [seqs[i][0] + seqs[i][1] for i in idx]
        T, K = max(map(len, full)), max(n_scored[i] for i in idx) + 1  # K: positions whose logits we need
        # Left padding (every sequence ends at column T-1); labels of the last K-1 columns, -100 = unscored.
        ids = torch.tensor([[pad_id] * (T - len(s)) + s for s in full], device=device)
        mask = torch.tensor([[0] * (T - len(s)) + [1] * len(s) for s in full], device=device)
        labels = torch.tensor(
            [[-100] * (K - 1 - n_scored[i]) + s[-n_scored[i] :] for i, s in zip(idx, full)], device=device
        )
        kw = dict(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(1) - 1).clamp(min=0), use_cache=False)
        with torch.inference_mode():
            try:
                logits = model(**kw, logits_to_keep=K).logits
            except TypeError:  # a model without `logits_to_keep`: full logits, same numbers
                logits = model(**kw).logits
        # Column T-K+j predicts column T-K+j+1; cross_entropy ignores the -100 labels.
        nll = F.cross_entropy(logits[:, -K:-1].float().transpose(1, 2), labels, reduction="none").sum(1)
        for i, total in zip(idx, nll.tolist()):
            mean = total / n_scored[i]  # capped, so perplexities stay finite
            ppl[i] = math.exp(min(mean, MAX_MEAN_NLL) if math.isfinite(mean) else MAX_MEAN_NLL)
    return ppl


def perplexities(model, tokenizer, records: list[dict], *, batch_size: int = 16) -> list[dict]:
    """Per record {id, ppl_cond, ppl_uncond, ifd, ref_tokens}, in record order."""
    from rlselect.rollouts.generate import render_prompts

    bos = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
    pad_id = next((t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id) if t is not None), 0)
    p_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in render_prompts(tokenizer, records)]
    s_ids = [tokenizer(reference_text(r), add_special_tokens=False)["input_ids"] for r in records]
    was_training = model.training
    model.eval()
    try:
        cond = _perplexities(model, list(zip(p_ids, s_ids)), batch_size, pad_id)
        uncond = _perplexities(model, [(bos, s) for s in s_ids], batch_size, pad_id)
    finally:
        model.train(was_training)
    return [
        {"id": r["id"], "ppl_cond": c, "ppl_uncond": u, "ifd": c / u, "ref_tokens": len(s)}
        for r, c, u, s in zip(records, cond, uncond, s_ids)
    ]


def perplexity_stage(
    model_path: str | Path,
    records: list[dict],
    cache_root: str | Path,
    *,
    model=None,
    tokenizer=None,
    batch_size=16,
    load: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """id -> {ppl_cond, ppl_uncond, ifd, ref_tokens, id}, cached at <cache_root>/ppl/<key>/ppl.json.

    The key covers the model (fingerprint), the ids, prompts and reference texts; batch size does
    not enter (batched and unbatched results agree to float precision).
    """
    items = [(r["id"], r["prompt"], reference_text(r)) for r in records]
    load = dict(load or {})
    key = stage_key("ppl-v1", model_fingerprint(model_path), items, load.get("dtype", "float32"))
    path = Path(cache_root) / "ppl" / key / "ppl.json"

    def compute() -> None:
        from rlselect.models import load_model

        m, tok = (model, tokenizer) if model is not None else load_model(model_path, **load)
        t0 = time.time()
        rows = perplexities(m, tok, records, batch_size=batch_size)
        atomic_write_json(path, rows)
        log.info("ppl: %d items in %.1f s -> %s", len(rows), time.time() - t0, path.parent)

    if not build_once(path, compute, "the reference perplexities"):
        log.info("ppl: cached in %s (no work)", path.parent)
    return {row["id"]: row for row in read_json(path)}
