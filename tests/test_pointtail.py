"""The point tail (guide/core/pointtail.py) against the dense tail it replaces during click steps.

Random torchvision architectures of each family with calibrated BatchNorm (activations of
order one, as a trained network's), small inputs, several classes, hints on the image's
borders and corners: the guiding parameters after every backprop step are the dense path's.
"""

import pytest
import torch
from conftest import DEVICE, calibrate_batchnorm

from guide.core.backprop import BackpropSettings, guide_by_backprop
from guide.core.block import GuideParams, GuidingBlock
from guide.core.pointtail import click_forward, dense_point_forward, point_tail
from guide.core.split import SplitSegmenter
from guide.models.architectures import build_segmenter

K = 5
# The dense reference must run in full float32: on a GPU cuDNN would otherwise use TF32 for its
# convolutions (about 1e-3 relative error), which the gathered point tail does not.
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
# arch -> input (H, W): big enough that DeepLabV3's rate-12 taps land inside the map
FAMILIES = {
    "lraspp_mobilenet_v3_large": (72, 90),
    "fcn_resnet50": (64, 80),
    "deeplabv3_mobilenet_v3_large": (200, 232),
    "deeplabv3_resnet50": (104, 112),
}


def _setup(arch: str, seed: int = 0):
    torch.manual_seed(seed)
    net = build_segmenter(arch, K)
    calibrate_batchnorm(net, 64)
    net.requires_grad_(False)
    seg = SplitSegmenter(net).to(DEVICE)
    H, W = FAMILIES[arch]
    with torch.no_grad():
        feats = seg.head(torch.randn(1, 3, H, W).to(DEVICE))
    C = feats.guided.shape[1]
    block = GuidingBlock(C, 4, 5)
    # corners, edges, the middle; several classes
    ys = torch.tensor([0, H - 1, 0, H - 1, 1, H // 2, H // 3, H - 2], device=DEVICE)
    xs = torch.tensor([0, W - 1, W - 1, 0, W // 2, 1, W - 2, W // 2], device=DEVICE)
    labels = torch.tensor([0, 1, 2, 3, 4, 1, 2, 0], device=DEVICE)
    return seg, block, feats, ys, xs, labels


def _trajectory(forward, init: GuideParams, labels, steps: int) -> list[list[torch.Tensor]]:
    """Parameters at every step of a fixed-length SGD run (margin too high to stop early)."""
    seen: list[list[torch.Tensor]] = []

    def recording(p: GuideParams):
        seen.append([t.detach().clone() for t in p.tensors()])
        return forward(p)

    settings = BackpropSettings(max_steps=steps, margin=1e9, lr=0.05)
    result = guide_by_backprop(recording, init, labels, settings)
    assert result.steps == steps and not result.satisfied
    return seen + [list(result.params.tensors())]


@pytest.mark.parametrize("arch", list(FAMILIES))
def test_point_tail_gives_the_dense_parameters_after_every_step(arch):
    seg, block, feats, ys, xs, labels = _setup(arch)
    base = feats.guided
    fast = point_tail(seg, block, feats, base, ys, xs, max_fraction=1.0)
    assert fast is not None, arch
    dense = dense_point_forward(seg, block, feats, base, ys, xs)
    torch.manual_seed(1)
    C = base.shape[1]
    init = GuideParams(*(0.1 * torch.randn(1, n).to(DEVICE) for n in (4, 5, C, C)))  # a warm start, not zeros
    with torch.no_grad():
        a, b = fast(init), dense(init)
    assert a.shape == (len(ys), K)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max())), float((a - b).abs().max())
    steps = 4
    fast_run, dense_run = _trajectory(fast, init, labels, steps), _trajectory(dense, init, labels, steps)
    assert len(fast_run) == len(dense_run) == steps + 2  # every step's params and the result
    moved = max(float((d[0] - init.alpha).abs().max()) for d in dense_run[1:])
    assert moved > 1e-3  # the run really changes the parameters
    for i, (pf, pd) in enumerate(zip(fast_run, dense_run)):
        for name, f, d in zip(("alpha", "beta", "gamma_s", "gamma_b"), pf, pd):
            assert torch.allclose(f, d, rtol=1e-4, atol=1e-5), (arch, i, name, float((f - d).abs().max()))


def test_text_offset_and_stacked_base_are_honoured():
    """"delta" text turns add a logit offset; "stack" changes the base activation."""
    seg, block, feats, ys, xs, labels = _setup("lraspp_mobilenet_v3_large")
    H, W = FAMILIES["lraspp_mobilenet_v3_large"]
    torch.manual_seed(2)
    offset = torch.randn(1, K, H, W).to(DEVICE)
    base = feats.guided * (1 + 0.2 * torch.rand_like(feats.guided))
    fast, is_fast = click_forward(seg, block, feats, base, ys, xs, offset, max_fraction=1.0)
    dense, is_dense = click_forward(seg, block, feats, base, ys, xs, offset, fast=False)
    assert is_fast and not is_dense
    p = block.zero_params(device=DEVICE)
    p.gamma_s += 0.3
    with torch.no_grad():
        a, b = fast(p), dense(p)
        plain = dense_point_forward(seg, block, feats, base, ys, xs)(p)
    assert torch.allclose(a, b, atol=1e-5) and not torch.allclose(a, plain, atol=1e-2)


def test_uncovered_cases_fall_back_to_dense():
    seg, block, feats, ys, xs, labels = _setup("lraspp_mobilenet_v3_large")
    assert point_tail(seg, block, feats, feats.guided, ys, xs, max_fraction=0.0) is None  # too many positions
    early = SplitSegmenter(seg.model, "features.13")
    with torch.no_grad():
        f = early.head(torch.randn(1, 3, 72, 90).to(DEVICE))
    b = GuidingBlock(f.guided.shape[1], 4, 5)
    assert point_tail(early, b, f, f.guided, ys, xs) is None
    forward, is_fast = click_forward(early, b, f, f.guided, ys, xs)
    assert not is_fast and forward(b.zero_params(device=DEVICE)).shape == (len(ys), K)


def test_session_fast_and_dense_clicks_agree(tiny_model, image):
    from guide.dialogue.session import GuideSession

    sessions = [GuideSession(tiny_model, fast_clicks=fast) for fast in (True, False)]
    for s in sessions:
        s.set_image(image)
    probs = sessions[0].probabilities()
    clicks = [(0, 0, int(probs[:, 0, 0].argsort()[-2])), (47, 63, int(probs[:, 47, 63].argsort()[-2]))]
    results = [s.add_clicks(clicks) for s in sessions]
    assert results[0].steps == results[1].steps > 0
    pa, pb = (s.turns[-1]["click_params"] for s in sessions)
    for k in pa:
        assert torch.allclose(torch.tensor(pa[k]), torch.tensor(pb[k]), atol=1e-5), k


@pytest.mark.parametrize("variant", ["guide", "film"])
def test_fused_lraspp_step_equals_the_generic_plan_and_dense(variant):
    """LRASPP's point tail runs as one autograd node with a written-out backward
    (FusedLrasppTail): same logits and gradients as the generic plan and the dense tail."""
    from guide.core.pointtail import FusedLrasppTail, PointTail

    seg, block, feats, ys, xs, labels = _setup("lraspp_mobilenet_v3_large")
    block = GuidingBlock(block.channels, 4, 5, variant=variant)
    fused = point_tail(seg, block, feats, feats.guided, ys, xs, max_fraction=1.0)
    generic = point_tail(seg, block, feats, feats.guided, ys, xs, max_fraction=1.0, fused=False)
    dense = dense_point_forward(seg, block, feats, feats.guided, ys, xs)
    assert isinstance(fused, FusedLrasppTail) and isinstance(generic, PointTail)
    torch.manual_seed(3)
    C = feats.guided.shape[1]
    init = GuideParams(*(0.1 * torch.randn(1, n).to(DEVICE) for n in (4, 5, C, C)))
    grads = []
    for forward in (fused, generic, dense):
        p = GuideParams(*(t.clone().requires_grad_(True) for t in init.tensors()))
        torch.nn.functional.cross_entropy(forward(p), labels).backward()
        grads.append([t.grad for t in p.tensors()])
    for name, f, g, d in zip(("alpha", "beta", "gamma_s", "gamma_b"), *grads):
        if variant == "film" and name in ("alpha", "beta"):
            assert f is None and g is None and d is None  # FiLM ignores rows and columns
            continue
        scale = float(d.abs().max())
        assert scale > 0
        assert torch.allclose(f, g, atol=1e-5 * scale) and torch.allclose(f, d, atol=1e-4 * scale), name
    steps = 4
    fused_run, dense_run = _trajectory(fused, init, labels, steps), _trajectory(dense, init, labels, steps)
    for pf, pd in zip(fused_run, dense_run):
        for f, d in zip(pf, pd):
            assert torch.allclose(f, d, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("variant", ["guide", "film"])
def test_fused_lraspp_sgd_without_autograd_equals_dense(variant):
    """guide_by_backprop runs SGD on FusedLrasppTail's written-out gradient (no autograd): the
    same parameters as SGD through autograd on the dense tail, with a text turn's logit offset."""
    from guide.core.pointtail import FusedLrasppTail

    seg, block, feats, ys, xs, labels = _setup("lraspp_mobilenet_v3_large")
    block = GuidingBlock(block.channels, 4, 5, variant=variant)
    H, W = FAMILIES["lraspp_mobilenet_v3_large"]
    torch.manual_seed(4)
    offset = torch.randn(1, K, H, W).to(DEVICE)
    fused, is_fast = click_forward(seg, block, feats, feats.guided, ys, xs, offset, max_fraction=1.0)
    dense, _ = click_forward(seg, block, feats, feats.guided, ys, xs, offset, fast=False)
    assert is_fast and isinstance(fused, FusedLrasppTail) and hasattr(fused, "value_and_grad")
    C = feats.guided.shape[1]
    init = GuideParams(*(0.1 * torch.randn(1, n).to(DEVICE) for n in (4, 5, C, C)))
    settings = BackpropSettings(max_steps=6, margin=1e9, lr=0.05)
    a = guide_by_backprop(fused, init, labels, settings)
    b = guide_by_backprop(dense, init, labels, settings)
    assert a.steps == b.steps == 6 and not a.satisfied
    assert float((a.params.gamma_b - init.gamma_b).abs().max()) > 1e-3  # it really moved
    for name, f, d in zip(("alpha", "beta", "gamma_s", "gamma_b"), a.params.tensors(), b.params.tensors()):
        assert torch.allclose(f, d, rtol=1e-4, atol=1e-5), (name, float((f - d).abs().max()))
    stop = BackpropSettings(max_steps=60, margin=0.5)  # and it stops where the dense run stops
    assert guide_by_backprop(fused, init, labels, stop).steps == guide_by_backprop(dense, init, labels, stop).steps


def test_conv_matrices_are_made_once_per_model_and_follow_a_weight_change():
    """The reshaped, batch-norm-folded weights are cached per conv: a second plan reuses them;
    an in-place change of a weight (a new tensor version) makes new ones, so results stay right."""
    seg, block, feats, ys, xs, labels = _setup("deeplabv3_mobilenet_v3_large")
    p = block.zero_params(device=DEVICE)
    p.gamma_s += 0.2
    first, again = (point_tail(seg, block, feats, feats.guided, ys, xs, max_fraction=1.0) for _ in range(2))
    steps = lambda tail: [m for _, m, _ in tail.layer.steps[0][2].branches[1].steps]  # noqa: E731 - ASPP's first 3x3 branch
    assert steps(first)[0][0] is steps(again)[0][0]
    conv = seg.model.classifier[0].convs[1][0]
    with torch.no_grad():
        conv.weight.mul_(1.5)
        changed = point_tail(seg, block, feats, feats.guided, ys, xs, max_fraction=1.0)
        dense = dense_point_forward(seg, block, feats, feats.guided, ys, xs)(p)
        assert steps(changed)[0][0] is not steps(first)[0][0]
        assert torch.allclose(changed(p), dense, atol=1e-4) and not torch.allclose(first(p), dense, atol=1e-3)


def test_a_hint_whose_taps_stay_inside_the_map_needs_no_padding_row():
    """A hint in the middle: no tap of the dilated conv falls outside, so no zero row is added,
    and the point tail still equals the dense one."""
    seg, block, _, _, _, _ = _setup("deeplabv3_mobilenet_v3_large")
    H = W = 520  # a 33x33 map: ASPP's rate-12 taps around the middle all fall inside
    with torch.no_grad():
        feats = seg.head(torch.randn(1, 3, H, W).to(DEVICE))
    ys, xs = torch.tensor([H // 2], device=DEVICE), torch.tensor([W // 2], device=DEVICE)
    tail = point_tail(seg, block, feats, feats.guided, ys, xs, max_fraction=1.0)
    convs = [extra for _, _, extra in tail.layer.steps[0][2].branches[1].steps if isinstance(extra, tuple)]
    assert convs and not any(padded for _, padded in convs)
    p = block.zero_params(device=DEVICE)
    p.gamma_s += 0.2
    p.alpha -= 0.1
    with torch.no_grad():
        assert torch.allclose(tail(p), dense_point_forward(seg, block, feats, feats.guided, ys, xs)(p), atol=1e-4)

