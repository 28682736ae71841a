"""Perplexity of each item's reference solution under a model: the `ppl_top` and `ifd` stage.

Per record:
    ppl_cond    PPL(solution | chat-templated prompt)   (exp of the mean token NLL of the solution)
    ppl_uncond  PPL(solution alone)
    ifd         ppl_cond / ppl_uncond   (instruction-following difficulty, Li et al. 2024)
    ref_tokens  number of tokens of the solution

Conventions (documented because they change numbers):
- The reference text is `meta["solution"]` when non-empty, else the final answer.
- The prompt is `apply_chat_template(prompt, add_generation_prompt=True)`; prompt and solution are
  tokenized separately with `add_special_tokens=False` and concatenated (no EOS after the solution).
- Unconditional: the solution is conditioned on nothing. If the tokenizer has a BOS token it is
  prepended and every solution token is scored; otherwise the first token has no context and is not
  counted (as in the original IFD code, which scores the answer alone with `labels=input_ids`).
- A solution with no scored token (empty, or one token without BOS) has an undefined (nan)
  perplexity; it is reported as 1.0 (so ifd = 1.0 when both sides are empty).
- The mean NLL is capped at MAX_MEAN_NLL before exp, so perplexities stay finite.

Batching: sequences are left-padded with explicit position ids, so every row sees exactly what it
would see alone, and only the logits of the last K positions (K = longest solution in the batch
+ 1) are materialised (`logits_to_keep`), which keeps memory small for large vocabularies.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from rlselect.cache import atomic_write_json, read_json, stage_key

log = logging.getLogger(__name__)

MAX_MEAN_NLL = 50.0  # exp(50) ~ 5e21: a cap, not a realistic value


def reference_text(record: dict) -> str:
    """The reference solution: meta["solution"] if non-empty, else the final answer."""
    sol = (record.get("meta") or {}).get("solution") or ""
    return sol if sol.strip() else str(record.get("answer", ""))


def _ppl(nll_sum: float, n: int) -> float:
    if n <= 0 or not math.isfinite(nll_sum):
        return 1.0 if n <= 0 else math.exp(MAX_MEAN_NLL)
    return math.exp(min(nll_sum / n, MAX_MEAN_NLL))


def _sequence_nll(model, seqs: list[tuple[list[int], list[int]]], batch_size: int, pad_id: int):
    """Sum of NLL over target tokens and their count, per (context_ids, target_ids) pair.

    A target token is scored when it has at least one token before it in the sequence.
    """
    import torch

    device = next(model.parameters()).device
    sums = [0.0] * len(seqs)
    counts = [0] * len(seqs)
    # Batch sequences of similar length together (less padding); results are order-independent.
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i][0]) + len(seqs[i][1]))
    for start in range(0, len(order), batch_size):
        idx = [i for i in order[start : start + batch_size] if len(seqs[i][1]) > 0]
        if not idx:
            continue
        full = [seqs[i][0] + seqs[i][1] for i in idx]
        T = max(len(s) for s in full)
        K = min(max(len(seqs[i][1]) for i in idx) + 1, T)  # positions whose logits we need
        ids = torch.full((len(idx), T), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), T), dtype=torch.long)
        for row, s in enumerate(full):  # left padding: every sequence ends at column T-1
            ids[row, T - len(s) :] = torch.tensor(s, dtype=torch.long)
            mask[row, T - len(s) :] = 1
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        ids, mask, pos = ids.to(device), mask.to(device), pos.to(device)
        with torch.inference_mode():
            try:
                out = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=K, use_cache=False)
            except TypeError:  # a model without `logits_to_keep`: full logits, same numbers
                out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False)
        logits = out.logits[:, -K:, :].float()  # [B, K, V]: predictions for columns T-K+1..T
        logits = logits[:, :-1, :]  # the last column predicts beyond the sequence
        targets = ids[:, T - K + 1 :]  # [B, K-1]
        logp = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        # Score the last n_target tokens of each row that have a predecessor inside the sequence.
        n_tgt = torch.tensor([min(len(seqs[i][1]), len(full[r]) - 1) for r, i in enumerate(idx)], device=device)
        col = torch.arange(K - 1, device=device).unsqueeze(0)
        score = col >= (K - 1 - n_tgt).unsqueeze(1)
        nll = -(logp * score).sum(1)
        for r, i in enumerate(idx):
            sums[i] = float(nll[r])
            counts[i] = int(n_tgt[r])
    return sums, counts


def perplexities(model, tokenizer, records: list[dict], *, batch_size: int = 16) -> list[dict]:
    """Per record {id, ppl_cond, ppl_uncond, ifd, ref_tokens}, in record order."""
    was_training = model.training
    model.eval()
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    cond, uncond, n_ref = [], [], []
    for rec in records:
        prompt = tokenizer.apply_chat_template(rec["prompt"], tokenize=False, add_generation_prompt=True)
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        s_ids = tokenizer(reference_text(rec), add_special_tokens=False)["input_ids"]
        cond.append((p_ids, s_ids))
        uncond.append((bos, s_ids))
        n_ref.append(len(s_ids))
    try:
        c_sum, c_n = _sequence_nll(model, cond, batch_size, pad_id)
        u_sum, u_n = _sequence_nll(model, uncond, batch_size, pad_id)
    finally:
        model.train(was_training)
    rows = []
    for k, rec in enumerate(records):
        pc, pu = _ppl(c_sum[k], c_n[k]), _ppl(u_sum[k], u_n[k])
        rows.append({"id": rec["id"], "ppl_cond": pc, "ppl_uncond": pu, "ifd": pc / pu, "ref_tokens": n_ref[k]})
    return rows


def perplexity_stage(
    model_path: str | Path,
    records: list[dict],
    cache_root: str | Path,
    *,
    model=None,
    tokenizer=None,
    batch_size: int = 16,
) -> dict[str, dict[str, Any]]:
    """id -> {ppl_cond, ppl_uncond, ifd, ref_tokens, id}, cached at <cache_root>/ppl/<key>/ppl.json.

    The key covers the model (fingerprint), the ids, prompts and reference texts; batch size does
    not enter (batched and unbatched results agree to float precision).
    """
    from rlselect.cache import model_fingerprint

    items = [(r["id"], r["prompt"], reference_text(r)) for r in records]
    key = stage_key("ppl-v1", model_fingerprint(model_path), items)
    path = Path(cache_root) / "ppl" / key / "ppl.json"
    if path.exists():
        log.info("ppl: cached in %s (no work)", path.parent)
        rows = read_json(path)
    else:
        if model is None:
            from rlselect.models import load_model

            model, tokenizer = load_model(model_path)
        t0 = time.time()
        rows = perplexities(model, tokenizer, records, batch_size=batch_size)
        atomic_write_json(path, rows)
        log.info("ppl: %d items in %.1f s -> %s", len(rows), time.time() - t0, path.parent)
    return {row["id"]: row for row in rows}
