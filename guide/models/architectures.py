"""Segmentation architectures Guide Me can guide: a plain dict of torchvision builders.

Weights are never downloaded here: every builder is called with ``weights=None`` and
``weights_backbone=None``; trained weights come from a model folder (guide/models/hub.py) or
torch's hub cache (guide/models/pretrained.py).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torchvision.models import segmentation as tv

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "fcn_resnet50": tv.fcn_resnet50,
    "fcn_resnet101": tv.fcn_resnet101,
    "deeplabv3_resnet50": tv.deeplabv3_resnet50,
    "deeplabv3_resnet101": tv.deeplabv3_resnet101,
    "deeplabv3_mobilenet_v3_large": tv.deeplabv3_mobilenet_v3_large,
    "lraspp_mobilenet_v3_large": tv.lraspp_mobilenet_v3_large,
}


def has_aux(arch: str) -> bool:
    """Whether ``arch`` can carry an auxiliary classifier (FCN and DeepLabV3; LRASPP cannot)."""
    return not arch.startswith("lraspp")


def build_segmenter(arch: str, num_classes: int, aux_loss: bool = False) -> nn.Module:
    """A randomly initialised torchvision segmenter with ``num_classes`` outputs."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    kwargs: dict = {"weights": None, "weights_backbone": None, "num_classes": num_classes}
    if has_aux(arch):
        kwargs["aux_loss"] = aux_loss
    return ARCHITECTURES[arch](**kwargs)


def drop_aux(net: nn.Module) -> nn.Module:
    """Remove the auxiliary classifier (a training-time loss only) and stop the backbone
    returning its input, so ``net`` has exactly the layout ``build_segmenter(aux_loss=False)``
    builds and keeps no extra activation per image. ``net(x)["out"]`` is unchanged."""
    if getattr(net, "aux_classifier", None) is not None:
        net.aux_classifier = None
        net.backbone.return_layers = {k: v for k, v in net.backbone.return_layers.items() if v != "aux"}
    return net
