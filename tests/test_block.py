import pytest
import torch

from guide.core.block import GuideParams, GuidingBlock, GuidingResBlock, apply_guide, resize_1d


def test_zero_parameters_are_identity():
    a = torch.randn(2, 8, 5, 7)
    for variant in ("guide", "film"):
        out = apply_guide(a, GuideParams.zeros(8, 3, 4, batch=2), variant)
        assert torch.equal(out, a)


def test_res_block_identity_at_zero_parameters():
    torch.manual_seed(0)
    block = GuidingResBlock(8, 3, 3, width=16)
    a = torch.randn(1, 8, 6, 6)
    assert torch.allclose(block(a, block.zero_params()), a, atol=1e-6)
    assert block.zero_params().gamma_s.shape == (1, 16)


def test_equation_2_elementwise():
    a = torch.randn(1, 3, 4, 5)
    p = GuideParams(torch.randn(1, 4), torch.randn(1, 5), torch.randn(1, 3), torch.randn(1, 3))
    out = apply_guide(a, p)
    h, w, c = 2, 3, 1
    expected = (1 + p.alpha[0, h] + p.beta[0, w] + p.gamma_s[0, c]) * a[0, c, h, w] + p.gamma_b[0, c]
    assert torch.allclose(out[0, c, h, w], expected)


def test_alpha_beta_interpolated_to_feature_size():
    v = torch.tensor([[0.0, 1.0]])
    assert torch.allclose(resize_1d(v, 5), torch.tensor([[0.0, 0.25, 0.5, 0.75, 1.0]]))
    a = torch.ones(1, 2, 9, 11)
    p = GuideParams(torch.tensor([[0.0, 1.0]]), torch.zeros(1, 3), torch.zeros(1, 2), torch.zeros(1, 2))
    out = apply_guide(a, p)
    assert out.shape == a.shape
    assert torch.allclose(out[0, 0, :, 0], 1 + torch.linspace(0, 1, 9))  # alpha varies along rows only
    assert torch.allclose(out[0, 0, 4, :], torch.full((11,), 1.5))


def test_film_ignores_alpha_beta():
    a = torch.randn(1, 2, 3, 3)
    p = GuideParams(torch.ones(1, 3), torch.ones(1, 3), torch.zeros(1, 2), torch.zeros(1, 2))
    assert torch.equal(apply_guide(a, p, "film"), a)
    assert not torch.equal(apply_guide(a, p, "guide"), a)


def test_channel_mismatch_and_unknown_variant_are_clear():
    with pytest.raises(ValueError, match="channels"):
        apply_guide(torch.randn(1, 4, 2, 2), GuideParams.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="variant"):
        GuidingBlock(4, 2, 2, variant="nope")


def test_params_roundtrip_plain_data():
    p = GuideParams(torch.randn(1, 2), torch.randn(1, 3), torch.randn(1, 4), torch.randn(1, 4))
    q = GuideParams.from_lists(p.to_lists())
    assert all(torch.allclose(x, y) for x, y in zip(p.tensors(), q.tensors()))
