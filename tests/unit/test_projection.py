"""The streamed JL projection: exactness of the block algebra, seeds, ranking fidelity, memory."""

from __future__ import annotations

import random
import threading
import time

import pytest
import torch
from scipy.stats import spearmanr

from rlselect.grads import JLProjection, param_layout, policy_gradients, validation_gradient
from rlselect.models.tiny import build_tiny
from rlselect.selectors.gradalign import gradalign_scores

pytestmark = pytest.mark.usefixtures("one_thread")


def rollouts(tok, n, G, seed):
    """n chat prompts, G completions each, binary rewards with advantage r - mean(r)."""
    rng = random.Random(seed)
    prompts, comps, advs = [], [], []
    for _ in range(n):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        q = rng.choice(["What is {}+{}?", "Compute {} times {}.", "Sam had {} coins and got {}. Total?"])
        prompts.append(
            tok.apply_chat_template(
                [{"role": "user", "content": q.format(a, b)}], tokenize=False, add_generation_prompt=True
            )
        )
        comps.append(
            [
                f"{rng.choice(['Adding', 'So', 'We get'])} {rng.randint(0, 200)}" + " ." * rng.randint(0, 10)
                for _ in range(G)
            ]
        )
        r = [float(rng.random() < 0.5) for _ in range(G)]
        advs.append([x - sum(r) / G for x in r])
    return prompts, comps, advs


@pytest.mark.parametrize("kind", ["rademacher", "gaussian"])
def test_blocks_equal_explicit_gamma(kind):
    J = JLProjection(48, seed=5, kind=kind, block_elems=1000)  # 20 rows per block: many blocks
    g = torch.randn(3, 1234, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    gamma = J.gamma("w", 1234).double()
    assert gamma.shape == (1234, 48)
    if kind == "rademacher":
        assert set(torch.unique(gamma * 48**0.5).round().tolist()) == {-1.0, 1.0}
    phi = J.project_flat("w", g)
    # float32 accumulation of 1234 terms of size ~1: errors of a few 1e-6 relative to |phi| ~ 10
    assert torch.allclose(phi.double(), g @ gamma, rtol=1e-5, atol=1e-4)
    assert torch.allclose(J.project_flat("w", g[1]), phi[1], rtol=1e-5, atol=1e-4)  # a single vector
    assert not torch.allclose(J.project_flat("v", g), phi)  # another parameter, another Gamma


def test_inner_products_preserved_and_cache_capped():
    torch.manual_seed(0)
    a, b = torch.randn(20000), torch.randn(20000)
    b = 0.6 * a + 0.8 * b
    J = JLProjection(2048, seed=1, cache_bytes=40 << 20)
    pa, pb = J.project_flat("p", a), J.project_flat("p", b)
    scale = (a.norm() * b.norm()).item()
    assert abs(torch.dot(pa, pb).item() - torch.dot(a, b).item()) < 5 / 2048**0.5 * scale
    assert abs(pa.norm().item() / a.norm().item() - 1) < 0.1
    assert 0 < J._cached_bytes <= 40 << 20
    assert torch.equal(JLProjection(2048, seed=1).project_flat("p", a), pa)  # cache changes nothing


@pytest.fixture(scope="module")
def pool():
    model, tok = build_tiny(seed=0)
    return model, tok, rollouts(tok, 32, 4, seed=0), rollouts(tok, 8, 4, seed=1)


def test_projected_gradalign_ranks_like_exact(pool):
    """Test: with projection to 1024 dims on the tiny model, the Spearman correlation between
    GradAlign cosine scores from projected and from exact features is >= 0.95."""
    model, tok, (P, C, A), (vP, vC, vA) = pool
    J = JLProjection(1024, seed=0)
    exact = policy_gradients(model, tok, P, C, A)
    g_v = validation_gradient(model, tok, vP, vC, vA)
    proj = policy_gradients(model, tok, P, C, A, projection=J)
    proj_v = J.project_concat(g_v, param_layout(model, "all"))
    # the streamed features are the projection of the exact ones (same Gamma)
    ref = J.project_concat(exact, param_layout(model, "all"))
    assert torch.allclose(proj, ref, rtol=1e-3, atol=1e-4 * ref.abs().max().item())
    s_exact = gradalign_scores(exact, g_v)
    s_proj = gradalign_scores(proj, proj_v)
    nz = exact.norm(dim=1) > 0
    assert nz.sum() >= 20
    rho = spearmanr(s_exact.numpy(), s_proj.numpy()).statistic
    assert rho >= 0.95, rho
    assert torch.all(s_proj[~nz] == 0)


def test_seed_determinism(pool):
    """Same seed => identical features; different seed => different."""
    model, tok, (P, C, A), _ = pool
    kw = dict(params=[f"layers.{model.config.num_hidden_layers - 1}.mlp"])
    a = policy_gradients(model, tok, P[:6], C[:6], A[:6], projection=JLProjection(256, seed=7), **kw)
    b = policy_gradients(model, tok, P[:6], C[:6], A[:6], projection=JLProjection(256, seed=7), **kw)
    c = policy_gradients(model, tok, P[:6], C[:6], A[:6], projection=JLProjection(256, seed=8), **kw)
    assert torch.equal(a, b)
    nz = a.norm(dim=1) > 0
    assert nz.any() and not torch.allclose(a[nz], c[nz])


class PeakRSS:
    """Samples this process's resident set size in a thread; .peak - .base = growth (bytes)."""

    def __init__(self, every=0.002):
        import psutil

        self.proc, self.every = psutil.Process(), every

    def __enter__(self):
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.every)

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def growth(self):
        return self.peak - self.base


def _peak_growth(model, tok, dim, n=2):
    P, C, A = rollouts(tok, n, 2, seed=3)
    A = [[1.0, -1.0]] * n
    policy_gradients(
        model, tok, P, C, A, params=[f"layers.{model.config.num_hidden_layers - 1}.mlp"], projection=JLProjection(64)
    )  # warm-up: allocator, kernels
    with PeakRSS() as m:
        phi = policy_gradients(model, tok, P, C, A, projection=JLProjection(dim, seed=0))
    assert phi.shape == (n, dim) and torch.isfinite(phi).all() and (phi.norm(dim=1) > 0).all()
    return m.growth


def test_projection_memory_bounded_tiny(pool):
    """P x d x 4 bytes = 1.3 GB for the tiny model at d = 1024; the streamed projection's peak
    memory growth stays at the block size scale."""
    model, tok, *_ = pool
    P = sum(p.numel() for p in model.parameters())
    growth = _peak_growth(model, tok, 1024)
    assert P * 1024 * 4 > 1e9
    assert growth < 250e6, f"peak RSS growth {growth / 1e6:.0f} MB"


@pytest.mark.slow
def test_projection_memory_independent_of_P_times_d():
    """Projection memory is independent of P x d: a 4M-parameter model projected to d = 2048
    (P x d x 4 bytes = 32 GB, more than this machine's RAM) grows the RSS by < 300 MB."""
    import psutil

    cfg = dict(
        hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2
    )
    model, tok = build_tiny(seed=0, config=cfg)
    P = sum(p.numel() for p in model.parameters())
    assert psutil.virtual_memory().total < P * 2048 * 4
    growth = _peak_growth(model, tok, 2048)
    assert growth < 300e6, f"peak RSS growth {growth / 1e6:.0f} MB"


def test_buffered_projection_equals_projecting_each_batch(pool):
    """The projection buffer (one pass over Gamma for many prompts) changes no feature: no buffer,
    a buffer smaller than one batch's gradients (flushes mid-batch) and the default all agree
    with projecting the exact features."""
    model, tok, (P, C, A), _ = pool
    proj = JLProjection(256, seed=2)
    exact = policy_gradients(model, tok, P, C, A, batch_size=8)
    want = proj.project_concat(exact, param_layout(model, "all"))
    for buffer_mb in (0, 0.5, 128):
        phi = policy_gradients(model, tok, P, C, A, projection=proj, batch_size=8, projection_buffer_mb=buffer_mb)
        assert torch.allclose(phi, want, rtol=1e-4, atol=1e-5 * want.abs().max().item()), buffer_mb
    val = validation_gradient(model, tok, P[:8], C[:8], A[:8], projection=proj, projection_buffer_mb=0.5)
    val0 = validation_gradient(model, tok, P[:8], C[:8], A[:8], projection=proj, projection_buffer_mb=0)
    assert torch.allclose(val, val0, rtol=1e-4, atol=1e-6)
