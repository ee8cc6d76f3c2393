"""Split a torchvision segmenter into head h and tail t at a named layer (paper §3).

``tail(head(x))`` equals ``model(x)["out"]``; the guide acts on the activation the
head returns. Paths that leave the backbone elsewhere (LRASPP's low-level branch,
auxiliary heads) are carried along in ``Features.skips`` unchanged when they branch
off before the split, and see the guided activation when they branch off after it.

Layer names are the backbone's own module names with ResNet layers expanded to
their blocks: ``conv1 ... layer3.0 ... layer4.2`` (``layer4`` = its last block) and
``features.0 ... features.16`` for MobileNetV3. The paper's names are aliases:
res4a = ``layer3.0``, res5a = ``layer4.0``, res5c = ``layer4``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.segmentation.lraspp import LRASPP

PAPER_ALIASES = {"res3a": "layer2.0", "res4a": "layer3.0", "res5a": "layer4.0", "res5c": "layer4"}


@dataclass
class Features:
    """What the head hands to the tail.

    guided: BxCxhxw activation at the split layer (what the guiding block modifies).
    skips: activations of other paths already computed by the head (e.g. ``"low"``).
    input_size: (H, W) of the network input, for the final upsampling.
    """

    guided: Tensor
    skips: dict[str, Tensor] = field(default_factory=dict)
    input_size: tuple[int, int] = (0, 0)


@dataclass
class Stage:
    name: str
    module: nn.Module
    returns: str | None  # backbone output key produced by this stage, if any


def backbone_stages(model: nn.Module) -> list[Stage]:
    """The backbone of a torchvision segmenter as a flat list of stages, in order."""
    backbone = model.backbone
    is_mobilenet = "0" in backbone  # MobileNetV3 backbones are built on ``features``
    stages: list[Stage] = []
    for name, module in backbone.items():
        key = backbone.return_layers.get(name)
        if isinstance(module, nn.Sequential) and name.startswith("layer"):
            blocks = list(module.children())
            for i, block in enumerate(blocks):
                stages.append(Stage(f"{name}.{i}", block, key if i == len(blocks) - 1 else None))
        else:
            stages.append(Stage(f"features.{name}" if is_mobilenet else name, module, key))
    return stages


def layer_names(model: nn.Module) -> list[str]:
    """Valid split layer names for ``model`` (see module docstring)."""
    return [s.name for s in backbone_stages(model)]


def default_layer(model: nn.Module) -> str:
    """The spatially smallest encoding: the backbone's last stage, as the paper advises."""
    return backbone_stages(model)[-1].name


def _resolve(stages: list[Stage], layer: str) -> int:
    layer = PAPER_ALIASES.get(layer, layer)
    names = [s.name for s in stages]
    if layer in names:
        return names.index(layer)
    prefixed = [i for i, n in enumerate(names) if n.startswith(layer + ".")]
    if prefixed:  # "layer4" means the output of layer4's last block
        return prefixed[-1]
    raise ValueError(f"unknown split layer {layer!r}; choose one of {names} or {sorted(PAPER_ALIASES)}")


class SplitSegmenter(nn.Module):
    """A torchvision segmenter cut at ``layer`` into ``head`` and ``tail``."""

    def __init__(self, model: nn.Module, layer: str | None = None) -> None:
        super().__init__()
        self.model = model
        self.stages = backbone_stages(model)
        self.layer = layer or default_layer(model)
        self.index = _resolve(self.stages, self.layer)

    def head(self, x: Tensor) -> Features:
        """Run the network up to and including the split layer. x: Bx3xHxW (normalised)."""
        input_size = (int(x.shape[-2]), int(x.shape[-1]))
        skips: dict[str, Tensor] = {}
        for stage in self.stages[: self.index + 1]:
            x = stage.module(x)
            if stage.returns is not None and stage is not self.stages[self.index]:
                skips[stage.returns] = x
        return Features(guided=x, skips=skips, input_size=input_size)

    def tail(self, features: Features, guided: Tensor | None = None) -> Tensor:
        """Run the rest of the network from (a possibly guided) activation; returns BxKxHxW logits."""
        x = features.guided if guided is None else guided
        outs = dict(features.skips)
        split = self.stages[self.index]
        if split.returns is not None:
            outs[split.returns] = x
        for stage in self.stages[self.index + 1 :]:
            x = stage.module(x)
            if stage.returns is not None:
                outs[stage.returns] = x
        if isinstance(self.model, LRASPP):
            logits = self.model.classifier(outs)
        else:
            logits = self.model.classifier(outs["out"])
        return F.interpolate(logits, size=features.input_size, mode="bilinear", align_corners=False)

    def forward(self, x: Tensor) -> Tensor:
        """Unguided prediction, identical to ``model(x)["out"]``: BxKxHxW logits."""
        return self.tail(self.head(x))

    @torch.no_grad()
    def feature_shape(self, input_size: tuple[int, int]) -> tuple[int, int, int]:
        """(C, h, w) of the guided activation for an input of (H, W)."""
        param = next(self.model.parameters())
        guided = self.head(torch.zeros(1, 3, *input_size, device=param.device)).guided
        return int(guided.shape[1]), int(guided.shape[2]), int(guided.shape[3])
