"""`model=random`: the named shapes are Qwen2.5's configs, explicit sizes give the exact parameter count,
the seed fixes the weights, and resolve_model_path builds the checkpoint once and load_model reads it."""

from __future__ import annotations

import pytest
import torch

from rlselect.models import load_model, resolve_model_path
from rlselect.models.random_init import build_random, random_config
from rlselect.models.tokenizer import build_char_tokenizer

SMALL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1)


@pytest.mark.parametrize(
    "shape, sizes, tied",
    [
        ("0.5b", (896, 4864, 24, 14, 2), True),
        ("1.5b", (1536, 8960, 28, 12, 2), True),
        ("7b", (3584, 18944, 28, 28, 4), False),
    ],
)
def test_named_shapes_are_qwen25_configs(shape, sizes, tied):
    tok = build_char_tokenizer()
    c = random_config(tok, shape)
    assert (c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.num_attention_heads) == sizes[:4]
    assert c.num_key_value_heads == sizes[4] and c.tie_word_embeddings is tied and c.vocab_size == 151936
    assert (c.rope_parameters["rope_theta"], c.max_position_embeddings, c.rms_norm_eps) == (1e6, 32768, 1e-6)
    assert max(tok.get_vocab().values()) < c.vocab_size and len(tok) <= c.vocab_size
    assert random_config(tok, shape, num_hidden_layers=2).num_hidden_layers == 2  # explicit sizes override


def test_explicit_shape_has_the_exact_parameter_count_and_covers_the_tokenizer():
    model, tok = build_random(vocab_size=300, **SMALL)
    h, i, layers, kv_dim, v = 32, 64, 2, 16, 300  # kv_dim = kv heads x head_dim (32 / 2)
    attention = (h * h + h) + 2 * (h * kv_dim + kv_dim) + h * h  # q, k, v with biases; o without
    expected = v * h + layers * (attention + 3 * h * i + 2 * h) + h  # tied head; 2 norms a layer + final norm
    assert sum(p.numel() for p in model.parameters()) == expected
    assert max(tok.get_vocab().values()) < model.config.vocab_size
    with pytest.raises(ValueError, match="does not cover"):
        random_config(tok, vocab_size=100)


def test_same_seed_same_weights_and_bfloat16_halves_the_memory():
    a, b, c = (build_random(seed=s, **SMALL)[0].state_dict() for s in (0, 0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a) and not all(torch.equal(a[k], c[k]) for k in a)
    half = build_random(seed=0, dtype="bfloat16", **SMALL)[0]
    assert all(p.dtype == torch.bfloat16 for p in half.parameters())


def test_resolve_model_path_builds_once_and_load_model_reads_it(tmp_path, monkeypatch):
    from rlselect.models import random_init

    cfg = dict(name="random", shape="tiny", dtype="bfloat16", seed=0, vocab_size=None, **SMALL)
    path = resolve_model_path(cfg, tmp_path)
    assert path.startswith(str(tmp_path / "models" / "random-tiny-"))
    monkeypatch.setattr(random_init, "build_random", lambda *a, **k: pytest.fail("rebuilt a cached model"))
    assert resolve_model_path(cfg, tmp_path) == path
    model, tok = load_model(path)
    assert model.config.hidden_size == 32 and len(tok) == model.config.vocab_size == 259
    seeded = build_random(seed=0, dtype="bfloat16", **SMALL)[0].state_dict()
    assert all(torch.equal(t, seeded[k].float()) for k, t in model.state_dict().items())  # saved in bf16
