"""Seeded Johnson-Lindenstrauss projection phi = Gamma^T g, streamed block by block.

Gamma is a P x d matrix with i.i.d. entries +-1/sqrt(d) (kind='rademacher') or N(0, 1/d)
(kind='gaussian'), so E[<phi_a, phi_b>] = <g_a, g_b>. It is never materialised: the rows that
multiply parameter `name` are cut into blocks of `rows_per_block = block_elems // d` rows, and
block k is regenerated on demand from a random stream seeded by (seed, crc32(name), k, kind, d).
Same (seed, dim, kind, block_elems) and parameter names => same Gamma => same features, whether
a gradient is projected in one piece, parameter by parameter, or a batch at a time.

Memory: one block (block_elems floats, 16 MiB by default) plus an optional cache of generated
blocks capped at `cache_bytes` (default 0: regenerate every time), i.e. independent of P x d.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import torch

KINDS = {"rademacher": 1, "gaussian": 2}
PROJECTION_KINDS = ("countsketch", *KINDS)  # features.projection.kind: make_projector's choices


class Projector:
    """What `policy_gradients(..., projection=...)` needs: phi = R^T g, parameter by parameter.
    Subclasses implement _project(name, g [n, numel] float32) -> [n, dim]."""

    def __init__(self, dim: int, seed: int, kind: str, block_elems: int):
        if dim <= 0 or seed < 0:
            raise ValueError("dim must be > 0 and seed >= 0")
        self.dim, self.seed, self.kind, self.block_elems = int(dim), int(seed), kind, int(block_elems)

    def config(self) -> dict:
        """Everything that determines R (for cache keys)."""
        return {"dim": self.dim, "seed": self.seed, "kind": self.kind, "block_elems": self.block_elems}

    def _project(self, name: str, g: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def project_flat(self, name: str, g: torch.Tensor) -> torch.Tensor:
        """R_name^T g for the flattened gradient(s) of one parameter: g [numel] or [n, numel]
        -> [d] or [n, d] (float32, on g's device)."""
        out = self._project(name, torch.atleast_2d(g).float())
        return out[0] if g.dim() == 1 else out

    def project_named(self, named: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """[d]: sum over parameters of R_name^T grad_name (one gradient, shaped like its parameter)."""
        total = None
        for name, t in named.items():
            phi = self.project_flat(name, t.reshape(-1))
            total = phi if total is None else total.add_(phi)
        if total is None:
            raise ValueError("nothing to project")
        return total

    def project_concat(self, flat: torch.Tensor, layout: Sequence[tuple[str, int]]) -> torch.Tensor:
        """Project exact concatenated gradients ([P] or [n, P], layout = [(name, numel), ...] as
        from grads.param_layout) chunk by chunk: equals the streamed features."""
        f2 = torch.atleast_2d(flat)
        if sum(n for _, n in layout) != f2.shape[1]:
            raise ValueError("layout does not match the gradient length")
        out = torch.zeros(f2.shape[0], self.dim, device=f2.device)
        off = 0
        for name, numel in layout:
            out += self.project_flat(name, f2[:, off : off + numel])
            off += numel
        return out[0] if flat.dim() == 1 else out


class JLProjection(Projector):
    """phi = Gamma^T g with a streamed, seeded Gamma (see module docstring)."""

    def __init__(
        self, dim: int, seed: int = 0, kind: str = "rademacher", block_elems: int = 1 << 22, cache_bytes: int = 0
    ):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
        super().__init__(dim, seed, kind, block_elems)
        self.cache_bytes = int(cache_bytes)
        self.rows_per_block = max(1, self.block_elems // self.dim)
        self.scale = 1.0 / math.sqrt(self.dim)
        self._cache: dict[tuple[str, int], torch.Tensor] = {}
        self._cached_bytes = 0

    def __repr__(self) -> str:
        return f"JLProjection(dim={self.dim}, seed={self.seed}, kind={self.kind!r})"

    # -- Gamma ---------------------------------------------------------------------------------
    def _raw_block(self, name: str, k: int, rows: int) -> torch.Tensor:
        """Unscaled block k of parameter `name`: bits in {0,1} (rademacher) or N(0,1), [rows, d]."""
        ss = np.random.SeedSequence((self.seed, zlib.crc32(name.encode()), k, KINDS[self.kind], self.dim))
        n = rows * self.dim
        if self.kind == "rademacher":  # PCG64 random bytes, one bit per entry
            raw = np.frombuffer(np.random.Generator(np.random.PCG64(ss)).bytes((n + 7) // 8), dtype=np.uint8)
            # numpy's uint8 -> float32 cast: ~7x faster here than torch's .to() on a fresh tensor,
            # which page-faults its new 16 MiB buffer on every block
            arr = torch.from_numpy(np.unpackbits(raw, count=n).astype(np.float32))
        else:  # torch's CPU normal sampler (about 2x faster than numpy's), seeded from the same key
            gen = torch.Generator().manual_seed(int(ss.generate_state(1, np.uint64)[0]))
            arr = torch.randn(n, generator=gen)
        return arr.view(rows, self.dim)

    def _block(self, name: str, k: int, rows: int, device) -> torch.Tensor:
        b = self._cache.get((name, k))
        if b is None:
            b = self._raw_block(name, k, rows)
            if self._cached_bytes + b.numel() * 4 <= self.cache_bytes:
                self._cache[(name, k)] = b
                self._cached_bytes += b.numel() * 4
        return b.to(device, non_blocking=True)

    def gamma(self, name: str, numel: int) -> torch.Tensor:
        """The full [numel, d] slice of Gamma for one parameter (tests and small cases only)."""
        rows = [
            self._block(name, k, min(self.rows_per_block, numel - s), "cpu")
            for k, s in enumerate(range(0, numel, self.rows_per_block))
        ]
        g = torch.cat(rows)
        return (2 * g - 1) * self.scale if self.kind == "rademacher" else g * self.scale

    def _project(self, name: str, g2: torch.Tensor) -> torch.Tensor:
        n, numel = g2.shape
        out = torch.zeros(n, self.dim, dtype=torch.float32, device=g2.device)
        R = self.rows_per_block
        for k, s in enumerate(range(0, numel, R)):
            gb = g2[:, s : s + R]
            blk = self._block(name, k, gb.shape[1], g2.device)
            if self.kind == "rademacher":  # Gamma = s (2B - 1):  g^T Gamma = 2s g^T B - s sum(g)
                out.addmm_(gb, blk, alpha=2.0 * self.scale)
            else:
                out.addmm_(gb, blk, alpha=self.scale)
        if self.kind == "rademacher":
            out.sub_(g2.double().sum(1, keepdim=True).mul_(self.scale).float())
        return out


class CountSketch(Projector):
    """Sparse JL (CountSketch): phi[h(p)] += s(p) g[p] with a seeded hash h into `dim` buckets and
    signs s = +-1, drawn block by block on the gradient's own device from (seed, parameter name,
    block). O(P) work and O(block) extra memory per gradient, never P x d; E<phi_a, phi_b> =
    <g_a, g_b> (each pair of coordinates collides with probability 1/d, with a random sign)."""

    def __init__(self, dim: int, seed: int = 0, block_elems: int = 1 << 24):
        super().__init__(dim, seed, "countsketch", block_elems)

    def __repr__(self) -> str:
        return f"CountSketch(dim={self.dim}, seed={self.seed})"

    def _hash(self, name: str, k: int, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator(device=device)
        gen.manual_seed(int(np.random.SeedSequence((self.seed, zlib.crc32(name.encode()), k)).generate_state(1)[0]))
        bucket = torch.randint(0, self.dim, (n,), generator=gen, device=device)
        sign = torch.randint(0, 2, (n,), generator=gen, device=device, dtype=torch.int8).float().mul_(2).sub_(1)
        return bucket, sign

    def _project(self, name: str, g2: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(g2.shape[0], self.dim, device=g2.device)
        for k, s in enumerate(range(0, g2.shape[1], self.block_elems)):
            gb = g2[:, s : s + self.block_elems]
            bucket, sign = self._hash(name, k, gb.shape[1], g2.device)
            out.index_add_(1, bucket, gb * sign)
        return out


def make_projector(kind: str, dim: int, seed: int = 0) -> Projector:
    """A projector `policy_gradients(..., projection=...)` accepts: 'countsketch' (sparse, O(P),
    the default at scale) or the dense streamed JL reference 'rademacher' / 'gaussian'."""
    if kind == "countsketch":
        return CountSketch(dim, seed)
    if kind not in KINDS:
        raise ValueError(f"features.projection.kind={kind!r}; available: {', '.join(PROJECTION_KINDS)}")
    return JLProjection(dim, seed, kind=kind)
