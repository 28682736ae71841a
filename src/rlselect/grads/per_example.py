"""Per-example (per-segment) parameter gradients from ONE backward pass, via module hooks.

Every item along dim 0 of a module's input (a sequence in the backbone, a token in the lm_head
call) belongs to a segment (a prompt). A forward hook saves the module input x; a hook on its
output receives dJ/dy during the backward; the segment's gradient is then, for segment s,

    nn.Linear:    dW_s = sum_{rows r in s} dy_r^T x_r,   db_s = sum_{r in s} dy_r
    nn.Embedding: dE_s[v] = sum_{positions of s with id v} dy       (padding_idx row stays 0)
    elementwise-affine modules (norms, y = w * f(x) + b, checked once per class with random w, b):
                  dw_s = sum_{rows r in s} dy_r * f(x_r),   db_s = sum_{r in s} dy_r
    any other module with selected parameters of its own: per item
                  vjp of torch.func.functional_call(module, params, x_b) with dy_b, summed per
                  segment (torch.func.vmap over items).

Because J = sum_s J_s and no item of segment s influences another segment's output, these are
exactly grad J_s. A parameter used by several modules (tied embedding + lm_head) accumulates
every use; once its last use is done, `on_grad(name, grads [n_seg, *shape])` is called and the
buffer is freed, so at most one batch's gradients of the parameters still in flight are held.
The backward itself is run w.r.t. the input embeddings only (torch.autograd.grad), so the
ordinary summed weight gradients are never computed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import torch
from torch import nn


def _segment_matmul(go: torch.Tensor, x: torch.Tensor, seg: torch.Tensor, nseg: int) -> torch.Tensor:
    """[nseg, out, in]: sum over rows r of segment s of outer(go_r, x_r); rows sorted by segment."""
    sizes = torch.bincount(seg, minlength=nseg).tolist()
    if len(set(sizes)) == 1:
        return torch.bmm(go.view(nseg, sizes[0], -1).transpose(1, 2), x.view(nseg, sizes[0], -1))
    out = go.new_empty(nseg, go.shape[1], x.shape[1])
    for s, (go_s, x_s) in enumerate(zip(go.split(sizes), x.split(sizes))):
        torch.mm(go_s.T, x_s, out=out[s])  # an empty segment: zeros
    return out


def _segment_sum(t: torch.Tensor, seg: torch.Tensor, nseg: int) -> torch.Tensor:
    """[nseg, *t.shape[1:]]: sum of the rows of each segment; rows sorted by segment."""
    sizes = torch.bincount(seg, minlength=nseg).tolist()
    if len(set(sizes)) == 1:
        return t.view(nseg, sizes[0], *t.shape[1:]).sum(1)
    return torch.stack([part.sum(0) for part in t.split(sizes)])


def _row_segments(seg: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Segment id of each of the n_rows rows of a flattened input (each item spans equally many)."""
    return seg.repeat_interleave(n_rows // seg.shape[0])


def _unit_params(params: dict) -> dict[str, torch.Tensor]:
    """weight = 1, bias = 0: an elementwise-affine module then computes f(x) alone."""
    return {n: torch.ones_like(p) if n == "weight" else torch.zeros_like(p) for n, p in params.items() if p is not None}


def linear_grads(module: nn.Linear, x, go, seg, nseg) -> dict[str, torch.Tensor]:
    """Per-segment grads of an nn.Linear's weight and bias (see module docstring)."""
    X = x.reshape(-1, x.shape[-1]).float()
    GO = go.reshape(-1, go.shape[-1]).float()
    seg_rows = _row_segments(seg, X.shape[0])
    out = {"weight": _segment_matmul(GO, X, seg_rows, nseg)}
    if module.bias is not None:
        out["bias"] = _segment_sum(GO, seg_rows, nseg)
    return out


def embedding_grads(module: nn.Embedding, ids, go, seg, nseg) -> dict[str, torch.Tensor]:
    """Per-segment grads of an nn.Embedding's weight: index-add of dy into the looked-up rows."""
    V, H = module.weight.shape
    seg_rows = _row_segments(seg, ids.numel())
    flat_ids = ids.reshape(-1)
    GO = go.reshape(-1, H).float()
    if module.padding_idx is not None:
        GO = GO * (flat_ids != module.padding_idx).unsqueeze(1).to(GO.dtype)
    out = GO.new_zeros(nseg * V, H).index_add_(0, seg_rows * V + flat_ids, GO)
    return {"weight": out.view(nseg, V, H)}


_AFFINE_TYPES: dict[type, bool] = {}


def _is_elementwise_affine(module: nn.Module, x: torch.Tensor) -> bool:
    """Whether module(x; weight, bias) == weight * f(x) + bias for per-feature weight/bias (norm
    layers: RMSNorm, LayerNorm), checked once per class with random weight and bias."""
    t = type(module)
    if t not in _AFFINE_TYPES:
        names = set(module._parameters)
        w = module._parameters.get("weight")
        ok = names <= {"weight", "bias"} and w is not None and w.dim() == 1 and x.shape[-1] == w.shape[0]
        if ok:
            x1 = x[:1]
            gen = torch.Generator().manual_seed(0)  # local: leaves the global RNG alone
            pr = {n: torch.randn(p.shape, generator=gen).to(p) for n, p in module._parameters.items() if p is not None}
            f = torch.func.functional_call(module, _unit_params(pr), (x1,))
            want = f * pr["weight"] + pr.get("bias", 0)
            got = torch.func.functional_call(module, pr, (x1,))
            ok = got.shape == want.shape and torch.allclose(got, want, rtol=1e-4, atol=1e-5)
        _AFFINE_TYPES[t] = bool(ok)
    return _AFFINE_TYPES[t]


def affine_grads(module: nn.Module, names: list[str], x, go, seg, nseg) -> dict[str, torch.Tensor]:
    """Per-segment grads of an elementwise-affine module: dw_s = sum_{s} dy * f(x), db_s = sum_{s} dy."""
    H = x.shape[-1]
    GO = go.reshape(-1, H).float()
    seg_rows = _row_segments(seg, GO.shape[0])
    out = {}
    if "weight" in names:
        f = torch.func.functional_call(module, _unit_params(module._parameters), (x,)).reshape(-1, H).float()
        out["weight"] = _segment_sum(GO * f, seg_rows, nseg)
    if "bias" in names:
        out["bias"] = _segment_sum(GO, seg_rows, nseg)
    return out


def generic_grads(module: nn.Module, names: list[str], x, go, seg, nseg) -> dict[str, torch.Tensor]:
    """Per-segment grads of a module's own parameters for any batch-independent single-input
    module: vmap over items of the vjp of functional_call, then a segment sum."""
    params = {n: getattr(module, n).detach() for n in names}

    def one(xb, gb):
        def f(pp):
            return torch.func.functional_call(module, pp, (xb.unsqueeze(0),)).squeeze(0)

        vjp = torch.func.vjp(f, params)[1]
        return vjp(gb)[0]

    with torch.enable_grad():
        per_item = torch.func.vmap(one)(x, go)
    return {n: _segment_sum(g.float(), seg, nseg) for n, g in per_item.items()}


class PerExampleGrads:
    """Installs the hooks on `model` for the selected (name, parameter) pairs (context manager).

    Before each forward region set `seg` (LongTensor, one segment id per dim-0 item of the
    inputs that region's modules see, sorted) and `nseg`. Modules not of an exactly supported
    type go through `generic_grads`, which needs forward(x) with a single tensor argument.
    """

    def __init__(
        self,
        model: nn.Module,
        selected,
        on_grad: Callable[[str, torch.Tensor], None] | None,
        skip: tuple[nn.Module, ...] = (),
    ):
        self.model = model
        self.name_of = {id(p): n for n, p in selected}
        self.on_grad = on_grad
        self.skip = skip
        self.seg: torch.Tensor | None = None
        self.nseg = 0
        self.acc: dict[int, torch.Tensor] = {}
        self.pending: Counter[int] = Counter()  # id(parameter) -> uses still to come in this batch
        self.handles: list = []
        self._recomputing = False
        self.begin_batch()

    def begin_batch(self):
        """Reset the per-batch state: the first hooked module's (non-detached) input, and how
        many output hooks were registered / have fired."""
        self.first_input: torch.Tensor | None = None
        self.registered = 0
        self.fired = 0

    def own_params(self, module: nn.Module) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in module._parameters.items() if p is not None and id(p) in self.name_of]

    def __enter__(self):
        for module in self.model.modules():
            if module in self.skip or not self.own_params(module):
                continue
            self.handles.append(module.register_forward_hook(self._forward_hook))
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles.clear()
        return False

    # -- forward: save the input, hook the output --------------------------------------------
    def _forward_hook(self, module, args, output):
        if self._recomputing or not isinstance(output, torch.Tensor) or not output.requires_grad:
            return None
        if type(module) is not nn.Linear and type(module) is not nn.Embedding and len(args) != 1:
            raise NotImplementedError(
                f"per-example gradients of {type(module).__name__} need forward(x) with one "
                "tensor argument: exclude its parameters via `params`"
            )
        x = args[0].detach()
        seg, nseg = self.seg, self.nseg
        if seg is None or x.shape[0] != seg.shape[0]:
            raise RuntimeError(
                f"{type(module).__name__}: input dim 0 ({x.shape[0]}) does not match "
                f"the segment ids ({None if seg is None else seg.shape[0]})"
            )
        self.expect_use(module)
        if self.first_input is None and args[0].requires_grad:
            self.first_input = args[0]
        self.registered += 1
        done = [False]

        def hook(go):
            if done[0]:  # idempotent: a second backward pass must not count a use twice
                return
            done[0] = True
            self.fired += 1
            self.use(module, x, go.detach(), seg, nseg)

        output.register_hook(hook)
        return None

    def expect_use(self, module):
        """Announce a use that `use()` will be called for by hand (before the backward runs, so
        that a parameter shared with hooked modules is flushed once, after all its uses)."""
        self.pending.update(id(p) for _, p in self.own_params(module))

    # -- backward: one use of the module's parameters -----------------------------------------
    def use(self, module, x, go, seg, nseg):
        """Record one use of `module` (input x, output grad go); called from hooks or by hand
        (the input embedding, whose lookup runs outside the differentiated graph)."""
        own = self.own_params(module)
        with torch.no_grad():
            if type(module) is nn.Linear:
                grads = linear_grads(module, x, go, seg, nseg)
            elif type(module) is nn.Embedding:
                grads = embedding_grads(module, x, go, seg, nseg)
            else:
                self._recomputing = True
                try:
                    fn = affine_grads if _is_elementwise_affine(module, x) else generic_grads
                    grads = fn(module, [n for n, _ in own], x, go, seg, nseg)
                finally:
                    self._recomputing = False
            for n, p in own:
                pid = id(p)
                self.acc[pid] = grads[n] if pid not in self.acc else self.acc[pid].add_(grads[n])
                self.pending[pid] -= 1
                if self.pending[pid] <= 0:
                    self._flush(pid)

    def _flush(self, pid):
        self.pending.pop(pid, None)
        g = self.acc.pop(pid)
        assert self.on_grad is not None, "set on_grad before the backward pass"
        self.on_grad(self.name_of[pid], g)

    def finish_batch(self):
        """Flush parameters whose hooks never fired (their output did not reach J: grad 0)."""
        for pid in list(self.acc):
            self._flush(pid)
        self.pending.clear()
