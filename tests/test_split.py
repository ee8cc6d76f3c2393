import pytest
import torch

from guide.core.split import SplitSegmenter, default_layer, layer_names
from guide.models.architectures import ARCHITECTURES, build_segmenter

# Every supported architecture at every split point: tail(head(x)) == model(x)["out"].


# The two ResNet-101 models take ~10 s each to build and run at every split point: the slow tier.
BIG = {"fcn_resnet101", "deeplabv3_resnet101"}


@pytest.mark.parametrize("arch", [pytest.param(a, marks=pytest.mark.slow) if a in BIG else a for a in sorted(ARCHITECTURES)])
def test_split_parity_every_layer(arch):
    torch.manual_seed(0)
    model = build_segmenter(arch, 3, aux_loss=not arch.startswith("lraspp")).eval()
    x = torch.randn(1, 3, 40, 32)
    with torch.no_grad():
        ref = model(x)["out"]
        for layer in layer_names(model):
            split = SplitSegmenter(model, layer)
            assert torch.allclose(split.tail(split.head(x)), ref, atol=1e-5), layer


def test_paper_aliases_and_default():
    model = build_segmenter("fcn_resnet50", 3)
    assert SplitSegmenter(model, "res5a").layer == "res5a"
    assert SplitSegmenter(model, "res5a").stages[SplitSegmenter(model, "res5a").index].name == "layer4.0"
    assert SplitSegmenter(model, "res5c").index == SplitSegmenter(model, "layer4.2").index
    assert default_layer(model) == "layer4.2"
    mobile = build_segmenter("lraspp_mobilenet_v3_large", 3)
    assert default_layer(mobile) == "features.16"
    with pytest.raises(ValueError, match="unknown split layer"):
        SplitSegmenter(mobile, "layer9")


def test_guided_activation_changes_output_and_low_branch_flows():
    torch.manual_seed(0)
    model = build_segmenter("lraspp_mobilenet_v3_large", 3).eval()
    split = SplitSegmenter(model)  # features.16: the "low" branch (features.4) is a skip
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        f = split.head(x)
        assert set(f.skips) == {"low"}
        assert not torch.allclose(split.tail(f, f.guided + 1.0), split.tail(f))
    early = SplitSegmenter(model, "features.2")  # before the low branch: it sees the guided path
    with torch.no_grad():
        assert early.head(x).skips == {}


def test_feature_shape():
    model = build_segmenter("lraspp_mobilenet_v3_large", 3)
    assert SplitSegmenter(model).feature_shape((160, 160)) == (960, 10, 10)
