"""Segmentation architectures Guide Me can guide: a plain dict of torchvision builders.

Weights are never downloaded here: every builder is called with ``weights=None`` and
``weights_backbone=None``; trained weights come from a model folder (guide/hub.py).
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


def build_segmenter(arch: str, num_classes: int, aux_loss: bool = False) -> nn.Module:
    """A randomly initialised torchvision segmenter with ``num_classes`` outputs."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    kwargs: dict = {"weights": None, "weights_backbone": None, "num_classes": num_classes}
    if not arch.startswith("lraspp"):
        kwargs["aux_loss"] = aux_loss
    return ARCHITECTURES[arch](**kwargs)
