"""TextGuide: shapes for several feature sizes and variants, identity at init, config round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from guide.core.block import GuidingBlock, GuidingResBlock
from guide.text.encoder import TextGuide, build_text_guide, encode_texts


class ToyVectors(dict):
    """A 50-d word-vector stand-in (a dict with vector_size, like KeyedVectors)."""

    vector_size = 50


def toy_vectors() -> ToyVectors:
    rng = np.random.default_rng(0)
    words = "find the coat on top left there is no grass remove sky in middle".split()
    return ToyVectors({w: rng.standard_normal(50).astype(np.float32) for w in words})


def test_encode_texts_pads_and_reports() -> None:
    vec = toy_vectors()
    emb, lengths, tokens = encode_texts(["find the coat on the top left", "no sky", "blorp", ""], vec)
    assert emb.shape == (4, 7, 50) and emb.dtype == torch.float32
    assert lengths.tolist() == [7, 2, 0, 0]
    assert tokens[2].ignored == ["blorp"]
    np.testing.assert_array_equal(emb[1, 1].numpy(), vec["sky"])
    assert emb[1, 2:].abs().sum() == 0 and emb[2:].abs().sum() == 0
    emb, lengths, _ = encode_texts(["", "zzz"], vec)
    assert emb.shape == (2, 1, 50) and lengths.tolist() == [0, 0]


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("variant", ["guide", "film"])
@pytest.mark.parametrize("size", [(5, 5), (10, 10), (7, 12)])
def test_shapes_and_identity_at_init(residual: bool, variant: str, size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    tg = TextGuide(channels=32, alpha_size=10, beta_size=10, hidden=16, variant=variant, residual=residual)
    assert isinstance(tg.block, GuidingResBlock if residual else GuidingBlock)
    emb, lengths, _ = encode_texts(["find the coat on the top left", "no sky", ""], toy_vectors())
    params = tg(emb, lengths)
    c = 256 if residual else 32
    assert params.alpha.shape == (3, 10) and params.beta.shape == (3, 10)
    assert params.gamma_s.shape == (3, c) and params.gamma_b.shape == (3, c)
    assert all(t.abs().max() == 0 for t in params.tensors())  # identity at init
    feats = torch.randn(3, 32, *size)
    out = tg.block(feats, params)
    assert out.shape == feats.shape
    torch.testing.assert_close(out, feats)
    torch.testing.assert_close(tg.guide(feats, emb, lengths), feats)


def test_params_change_after_training_and_empty_text_stays_identity() -> None:
    torch.manual_seed(0)
    tg = TextGuide(channels=8, alpha_size=4, beta_size=4, hidden=16)
    with torch.no_grad():
        tg.out.weight.normal_(std=0.1)
        tg.out.bias.normal_(std=0.1)
    emb, lengths, _ = encode_texts(["find the coat", "", "qqq"], toy_vectors())
    p = tg(emb, lengths)
    assert p.gamma_s[0].abs().sum() > 0
    # an unreadable hint does not go through the GRU: the state is blanked, leaving
    # only the output bias (the same for every empty hint)
    torch.testing.assert_close(p.gamma_s[1], p.gamma_s[2])
    torch.testing.assert_close(p.gamma_s[1], tg.out.bias[8:16])


def test_film_variant_has_no_spatial_terms() -> None:
    tg = TextGuide(channels=8, alpha_size=6, beta_size=5, hidden=16, variant="film")
    assert tg.out.out_features == 16
    tg_guide = TextGuide(channels=8, alpha_size=6, beta_size=5, hidden=16)
    assert tg_guide.out.out_features == 6 + 5 + 16


def test_config_round_trip_and_state_dict() -> None:
    tg = TextGuide(channels=24, alpha_size=8, beta_size=9, hidden=32, variant="guide", residual=True, ops=["find"])
    cfg = json.loads(json.dumps(tg.config()))
    assert cfg == {
        "channels": 24, "alpha_size": 8, "beta_size": 9, "hidden": 32, "variant": "guide",
        "residual": True, "ops": ["find"], "embed_dim": 50, "res_width": 256,
    }
    clone = build_text_guide(cfg)
    clone.load_state_dict(tg.state_dict())  # same parameter names and shapes
    assert clone.config() == tg.config()
    # no embedding matrix inside: word vectors stay outside the module
    assert not any(isinstance(m, torch.nn.Embedding) for m in tg.modules())


def test_gradients_reach_the_gru_after_first_update() -> None:
    torch.manual_seed(0)
    tg = TextGuide(channels=8, alpha_size=4, beta_size=4, hidden=16)
    emb, lengths, _ = encode_texts(["find the coat"], toy_vectors())
    feats = torch.randn(1, 8, 4, 4)
    opt = torch.optim.Adam(tg.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        tg.guide(feats, emb, lengths).pow(2).mean().backward()
        opt.step()
    assert tg.gru.weight_ih_l0.grad is not None and tg.gru.weight_ih_l0.grad.abs().sum() > 0
