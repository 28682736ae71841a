"""Per-prompt policy-gradient features g_i (docs/methods.md section 1), batched and reference loop.

    g_i = grad_theta J_i,   J_i = sum_j sum_t w_ij log pi_theta(o_ijt | q_i, o_ij<t)

with w_ij from the token aggregation (rollout_batch.py). On-policy, so the importance ratio is 1
and nothing is clipped. The model runs in eval mode (no dropout).

Batched path: several prompts' rollouts go through ONE forward (right-padded: real tokens keep the
positions and causal attention of the unpadded sequence) and ONE backward of sum_i J_i w.r.t. the
input embeddings; module hooks (per_example.py) turn the saved inputs and output-grads into each
prompt's parameter gradients. Logits are computed only at positions that predict completion tokens.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from rlselect import console
from rlselect.grads.params import param_layout, select_parameters
from rlselect.grads.per_example import PerExampleGrads
from rlselect.grads.projection import Projector
from rlselect.grads.rollout_batch import Group, build_groups


class _ExactSink:
    """Writes each parameter's per-prompt gradients into its slice of the [n, P] output."""

    def __init__(self, n: int, layout):
        offsets = itertools.accumulate((numel for _, numel in layout), initial=0)
        self.slices = {name: (off, numel) for (name, numel), off in zip(layout, offsets)}
        self.out = torch.zeros(n, sum(numel for _, numel in layout))

    def add(self, rows: torch.Tensor, name: str, g: torch.Tensor):
        off, numel = self.slices[name]
        g = g.reshape(len(rows), numel).float().cpu()
        for k, r in enumerate(rows.tolist()):  # a row loop: index_add_ on a strided slice is slow
            self.out[r, off : off + numel] += g[k]


DEFAULT_PROJECTION_BUFFER_MB = 128  # per-prompt gradients held before one projection pass (see _ProjSink)


class _ProjSink:
    """Projects per-prompt gradients, buffered: each parameter's rows wait (on their device) until
    `buffer_bytes` of gradients are held, then every parameter's rows are projected in one pass
    over its Gamma blocks. Generating and reading Gamma (P x d numbers) is the projection's cost,
    so one pass for many prompts beats one pass per backward batch; memory stays bounded by the
    buffer, independent of P x d. buffer_bytes=0 projects each batch at once."""

    def __init__(self, n: int, projection: Projector, buffer_bytes: int = 0):
        self.proj, self.buffer_bytes = projection, int(buffer_bytes)
        self._out = torch.zeros(n, projection.dim)
        self._pending: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self._held = 0

    def add(self, rows: torch.Tensor, name: str, g: torch.Tensor):
        g = g.reshape(len(rows), -1).detach()
        self._pending.setdefault(name, []).append((rows, g))
        self._held += g.numel() * g.element_size()
        if self._held >= self.buffer_bytes:  # held memory: at most the buffer plus one gradient
            self.flush()

    def flush(self):
        for name, parts in self._pending.items():
            rows = torch.cat([r for r, _ in parts])
            grads = parts[0][1] if len(parts) == 1 else torch.cat([g for _, g in parts])
            self._out.index_add_(0, rows, self.proj.project_flat(name, grads).cpu())
        self._pending, self._held = {}, 0

    @property
    def out(self) -> torch.Tensor:
        self.flush()
        return self._out


def model_parts(model):
    """(causal LM, input embedding, backbone, lm_head) of a HF causal LM or a peft model of one;
    assumes logits = lm_head(backbone(inputs_embeds).last_hidden_state)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(base.config, "final_logit_softcapping", None):
        raise NotImplementedError("logit soft-capping is not supported")
    backbone = getattr(base, base.base_model_prefix)
    return base, base.get_input_embeddings(), backbone, base.get_output_embeddings()


def pack(groups: Sequence[Group], seg_of_group: Sequence[int], pad_id: int, device):
    """Right-padded ids [B, T], segment id per row [B], and for every completion token: flat
    index (b*T + t) of the position predicting it, its id, its weight w, its segment."""
    seqs = [(s, g.start, seg, w) for g, seg in zip(groups, seg_of_group) for s, w in zip(g.seqs, g.weights)]
    T = max(len(s) for s, *_ in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for b, (s, *_) in enumerate(seqs):
        ids[b, : len(s)] = torch.tensor(s)
    flat = [b * T + t - 1 for b, (s, start, *_) in enumerate(seqs) for t in range(start, len(s))]
    tgt = [tok for s, start, *_ in seqs for tok in s[start:]]
    n_completion = torch.tensor([len(s) - start for s, start, *_ in seqs])
    seg_rows = torch.tensor([seg for *_, seg, _ in seqs], dtype=torch.long)
    wts = torch.tensor([w for *_, w in seqs], dtype=torch.float32).repeat_interleave(n_completion)
    tseg = seg_rows.repeat_interleave(n_completion)
    as_long = functools.partial(torch.tensor, dtype=torch.long, device=device)
    return ids.to(device), seg_rows.to(device), as_long(flat), as_long(tgt), wts.to(device), tseg.to(device)


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def _backward_batch(ctx: PerExampleGrads, parts, chunk, segs, nseg, pad_id, then=None):
    """One forward of `chunk`'s rollouts and one backward of sum_i J_i; the hooks deliver the
    per-segment gradients. A function of its own so that the graph is freed on return.

    then(reweighted): called after the hooks are done, with the graph kept; reweighted(c) returns
    the ordinary summed gradient of sum_s c_s J_s (c: [nseg]) per selected parameter, one more
    backward and no forward (LearnAlign's fused pass)."""
    _, embed, backbone, head = parts
    ids, seg_rows, flat, tgt, w, tseg = pack(chunk, segs, pad_id, embed.weight.device)
    ctx.begin_batch()
    with torch.no_grad():
        emb = embed(ids)
    emb = emb.detach().requires_grad_(True)
    ctx.seg, ctx.nseg = seg_rows, nseg
    h = backbone(inputs_embeds=emb, use_cache=False).last_hidden_state
    hs = h.reshape(-1, h.shape[-1]).index_select(0, flat)  # only positions predicting o_ijt
    ctx.seg = tseg
    logp = F.log_softmax(head(hs).float(), dim=-1).gather(1, tgt[:, None]).squeeze(1)
    J = (logp * w).sum()
    keep = then is not None
    if ctx.own_params(embed):
        ctx.expect_use(embed)
        (g_emb,) = torch.autograd.grad(J, emb, retain_graph=keep)
        ctx.use(embed, ids, g_emb, seg_rows, nseg)
    else:
        # Backward only down to the first hooked module's input (e.g. the last blocks only);
        # if some hooked output was not on that path, a second pass finishes the rest.
        root = ctx.first_input if ctx.first_input is not None else emb
        torch.autograd.grad(J, root, retain_graph=keep or root is not emb)
        if ctx.fired < ctx.registered:
            torch.autograd.grad(J, emb, retain_graph=keep)
    ctx.finish_batch()
    if keep:
        then(functools.partial(_reweighted_grads, ctx, embed, ids, emb, logp * w, tseg))


def _reweighted_grads(ctx: PerExampleGrads, embed, ids, emb, weighted_logp, tseg, c: torch.Tensor):
    """{name: grad of sum_s c_s J_s} for the selected parameters, by ordinary autograd on the kept
    graph (the output hooks have fired already and ignore it); the input embedding's lookup ran
    outside the graph, so its share is added from the gradient w.r.t. the embeddings."""
    named = [(ctx.name_of[id(p)], p) for p in ctx.model.parameters() if id(p) in ctx.name_of]
    J2 = (weighted_logp * c.to(weighted_logp)[tseg]).sum()
    grads = torch.autograd.grad(J2, [p for _, p in named] + [emb], allow_unused=True)
    out = {n: (g if g is not None else torch.zeros_like(p)).float() for (n, p), g in zip(named, grads[:-1])}
    if id(embed.weight) in ctx.name_of:
        name = ctx.name_of[id(embed.weight)]
        flat_ids = ids.reshape(-1)
        g_emb = grads[-1].reshape(-1, grads[-1].shape[-1]).float()
        if embed.padding_idx is not None:  # as the per-example path: padding lookups add nothing
            g_emb = g_emb * (flat_ids != embed.padding_idx).unsqueeze(1).to(g_emb.dtype)
        out[name].index_add_(0, flat_ids, g_emb)
    return out


def token_batches(groups: Sequence[Group], batch_size: int, max_tokens: int | None = None) -> list[list[Group]]:
    """Consecutive chunks of `groups` (sorted longest first) with at most `batch_size` prompts and, when
    max_tokens is set, at most max_tokens padded tokens (rows x longest row): the longest batch, not a
    prompt count, bounds activation memory. A prompt whose rollouts alone exceed it runs on its own."""
    chunks: list[list[Group]] = []
    rows = 0
    for g in groups:
        if chunks and len(chunks[-1]) < batch_size:
            T = max(chunks[-1][0].max_len, g.max_len)
            if max_tokens is None or (rows + len(g.seqs)) * T <= max_tokens:
                chunks[-1].append(g)
                rows += len(g.seqs)
                continue
        chunks.append([g])
        rows = len(g.seqs)
    return chunks


def _run_batched(model, tokenizer, groups, sink, params, batch_size, one_segment=False, max_tokens=None, then=None):
    """Forward/backward the non-None groups in token_batches (at most batch_size prompts, at most
    max_tokens padded tokens each), feeding the sink. one_segment=True sums every prompt into output
    row 0 (the validation gradient). then(rows, reweighted): after each batch (see _backward_batch),
    with the output rows of its segments."""
    parts = model_parts(model)
    selected = select_parameters(model, params)
    active = sorted((g for g in groups if g is not None), key=lambda g: -g.max_len)  # less padding
    was_training = model.training
    model.eval()
    ctx = PerExampleGrads(model, selected, on_grad=None, skip=(parts[1],))
    bar = console.progress(len(active), "validation gradient" if one_segment else "policy gradients", unit="prompt")
    try:
        with ctx, torch.enable_grad(), bar:
            for chunk in token_batches(active, batch_size, max_tokens):
                if one_segment:
                    nseg, segs, rows = 1, [0] * len(chunk), torch.zeros(1, dtype=torch.long)
                else:
                    nseg, segs = len(chunk), list(range(len(chunk)))
                    rows = torch.tensor([g.index for g in chunk], dtype=torch.long)
                ctx.on_grad = functools.partial(sink.add, rows)
                after = None if then is None else functools.partial(then, rows)
                _backward_batch(ctx, parts, chunk, segs, nseg, _pad_id(tokenizer), after)
                bar.update(len(chunk))
    finally:
        model.train(was_training)
    return sink.out


def policy_gradients(
    model,
    tokenizer,
    prompts,
    completions,
    advantages,
    *,
    params="all",
    token_agg="seq_mean",
    projection: Projector | None = None,
    batch_size: int = 16,
    append_eos: bool = False,
    projection_buffer_mb: float = DEFAULT_PROJECTION_BUFFER_MB,
    max_tokens_per_batch: int | None = None,
    mean: bool = False,
) -> torch.Tensor:
    """[n_prompts, dim] float32 CPU: row i = g_i (exact, flattened over the selected parameters
    in named_parameters() order; dim = P) or its projection Gamma^T g_i (dim = projection.dim).

    prompts: templated strings; completions[i] / advantages[i]: the G_i rollouts of prompt i and
    their advantages A_ij. Rows of prompts with no learning signal (all A_ij = 0) are exactly 0.
    batch_size prompts share one forward and one backward (per-example grads via hooks), fewer where
    max_tokens_per_batch caps the batch's padded tokens (token_batches).
    projection_buffer_mb: per-prompt gradients held before one projection pass (see _ProjSink).
    mean=True: a single row, (1/n_prompts) sum_i g_i, summed in the backward (validation_gradient).
    """
    rows = 1 if mean else len(prompts)
    scale = 1.0 / max(len(prompts), 1) if mean else 1.0
    groups = build_groups(tokenizer, prompts, completions, advantages, token_agg, append_eos, scale=scale)
    if projection is None:
        sink: _ExactSink | _ProjSink = _ExactSink(rows, param_layout(model, params))
    else:
        sink = _ProjSink(rows, projection, int(projection_buffer_mb * 2**20))
    return _run_batched(model, tokenizer, groups, sink, params, batch_size, mean, max_tokens_per_batch)


def validation_gradient(model, tokenizer, prompts, completions, advantages, **kwargs) -> torch.Tensor:
    """1-D: g_V = (1/n_val) sum_i g_i, one aggregate policy gradient over all validation rollouts
    (the gradient of the mean over validation prompts of J_i; groups with equal rewards count in
    n_val but add 0). Same keyword arguments (parameters, projection) as policy_gradients. Not
    normalised: the GradAlign scorer normalises it. All-zero if no group has a learning signal."""
    return policy_gradients(model, tokenizer, prompts, completions, advantages, mean=True, **kwargs)[0]


def policy_gradients_loop(
    model,
    tokenizer,
    prompts,
    completions,
    advantages,
    *,
    params="all",
    token_agg="seq_mean",
    projection: Projector | None = None,
    batch_size: int = 16,
    append_eos: bool = False,
) -> torch.Tensor:
    """Reference for policy_gradients: per prompt, one plain forward of its group through the
    full model (right-padded + attention mask) and one torch.autograd.grad of J_i, projected on
    its own. batch_size is accepted for signature compatibility and ignored."""
    del batch_size
    groups = build_groups(tokenizer, prompts, completions, advantages, token_agg, append_eos)
    selected = select_parameters(model, params)
    dim = projection.dim if projection is not None else sum(p.numel() for _, p in selected)
    out = torch.zeros(len(prompts), dim)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for g in groups:
            if g is None:
                continue
            ids, _, flat, tgt, w, _ = pack([g], [0], _pad_id(tokenizer), device)
            lengths = torch.tensor([len(s) for s in g.seqs], device=device)
            mask = (torch.arange(ids.shape[1], device=device) < lengths[:, None]).long()
            with torch.enable_grad():
                logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
                lp = F.log_softmax(logits.reshape(-1, logits.shape[-1]).float()[flat], dim=-1)
                J = (lp.gather(1, tgt[:, None]).squeeze(1) * w).sum()
                grads = torch.autograd.grad(J, [p for _, p in selected], allow_unused=True)
            named = {n: (gr if gr is not None else torch.zeros_like(p)).detach() for (n, p), gr in zip(selected, grads)}
            if projection is not None:
                out[g.index] = projection.project_named(named).cpu()
            else:
                out[g.index] = torch.cat([t.reshape(-1).float().cpu() for t in named.values()])
    finally:
        model.train(was_training)
    return out
