import torch
from conftest import DEVICE

from guide.core.backprop import BackpropSettings, guide_by_backprop, hints_satisfied
from guide.core.pointtail import dense_point_forward, pick


def _t(*values):
    """A tensor of indices on the model's device."""
    return torch.tensor(values, device=DEVICE)


def _setup(tiny_model, image):
    x = tiny_model.preprocess(image)
    seg, block = tiny_model.segmenter, tiny_model.block
    with torch.no_grad():
        feats = seg.head(x)
        logits = seg.tail(feats)
    return seg, block, feats, logits


def test_hinted_pixel_flips_and_weights_stay_identical(tiny_model, image):
    seg, block, feats, logits = _setup(tiny_model, image)
    before = {k: v.clone() for k, v in seg.state_dict().items()}
    y, x = 10, 20
    label = int(logits[0, :, y, x].argsort()[-2])  # the runner-up class
    ys, xs, labels = _t(y), _t(x), _t(label)
    assert not hints_satisfied(pick(logits, ys, xs), labels)
    forward = dense_point_forward(seg, block, feats, feats.guided, ys, xs)
    for optimizer in ("sgd", "lbfgs"):
        result = guide_by_backprop(
            forward, block.zero_params(device=DEVICE), labels,
            BackpropSettings(optimizer=optimizer),
        )
        assert result.satisfied, optimizer
        with torch.no_grad():
            guided = seg.tail(feats, block(feats.guided, result.params))
        assert int(guided[0, :, y, x].argmax()) == label
    after = seg.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_already_satisfied_hint_changes_nothing(tiny_model, image):
    seg, block, feats, logits = _setup(tiny_model, image)
    label = int(logits[0, :, 5, 5].argmax())
    forward = dense_point_forward(seg, block, feats, feats.guided, _t(5), _t(5))
    result = guide_by_backprop(forward, block.zero_params(device=DEVICE), _t(label), BackpropSettings(margin=0.0))
    assert result.satisfied and result.steps == 0
    assert all(float(t.abs().max()) == 0.0 for t in result.params.tensors())


def test_deterministic(tiny_model, image):
    seg, block, feats, logits = _setup(tiny_model, image)
    label = int(logits[0, :, 30, 30].argsort()[-2])
    forward = dense_point_forward(seg, block, feats, feats.guided, _t(30), _t(30))
    runs = [guide_by_backprop(forward, block.zero_params(device=DEVICE), _t(label)) for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(runs[0].params.tensors(), runs[1].params.tensors()))



