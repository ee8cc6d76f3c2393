"""A guided model: the frozen segmenter split for guiding, its guiding block, and
optionally a text guide, with the config that rebuilds it (``config.json`` of a model folder).

Images are HxWx3 uint8 RGB, (row, col) coordinates; the network sees them resized so
that one side is ``config.input_size`` (the longer side, or the shorter one with
``resize="shorter"``) and normalised with ``config.mean/std``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor, nn

from guide.core.block import GuidingBlock
from guide.core.split import SplitSegmenter

CONFIG_NAME = "config.json"
RESIZE_MODES = ("longer", "shorter")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class ModelLoadError(RuntimeError):
    """A model folder could not be found or read; the message names the file and the fix."""


@dataclass
class ModelConfig:
    """Everything needed to rebuild and use a guided segmenter (stored as config.json)."""

    arch: str
    classes: list[str]
    palette: list[list[int]]
    input_size: int  # image side fed to the network, in pixels (which side: ``resize``)
    split_layer: str
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    # Which image side becomes input_size: "longer" (the embedded model, trained on square
    # scenes) or "shorter" (torchvision's segmentation weights: resize(520) on the shorter
    # side). With "shorter", max_side (if set) caps the longer side, so a panorama does not
    # become a huge input; the shorter side then shrinks below input_size.
    resize: str = "longer"
    max_side: int | None = None
    # What the network was trained on, in words ("synthetic scenes", "photos (COCO with VOC
    # labels)"); guide/models/domain.py tells a person when their image is outside it.
    domain: str = ""
    # Guiding block used by backprop: variant and lengths of alpha (rows) / beta (columns).
    guide: dict[str, Any] = field(default_factory=lambda: {"variant": "guide", "alpha_size": 10, "beta_size": 10})
    text_guide: dict[str, Any] | None = None
    # How a session on this model behaves when the app or script says nothing else (guide/core/settings.py
    # Settings.to_dict(), fields left out keep their defaults): a model author's tuned defaults.
    # Order: a session's own settings (python app.py --settings FILE.json) > these > Settings().
    settings: dict[str, Any] | None = None
    name: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any], where: str = CONFIG_NAME) -> ModelConfig:
        required = ("arch", "classes", "palette", "input_size", "split_layer")
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelLoadError(f"{where} lacks {missing}; a model config needs {list(required)}")
        known = {k: v for k, v in data.items() if k in ModelConfig.__dataclass_fields__}
        config = ModelConfig(**known)
        if config.resize not in RESIZE_MODES:
            raise ModelLoadError(f"{where}: resize is {config.resize!r}; choose one of {list(RESIZE_MODES)}")
        if config.settings is not None:
            from guide.core.settings import Settings

            try:
                Settings.from_dict(config.settings)
            except (TypeError, ValueError) as e:
                raise ModelLoadError(f"{where}: settings: {e}") from None
        if len(config.palette) < config.num_classes:
            raise ModelLoadError(f"{where}: palette has {len(config.palette)} colours for {config.num_classes} classes")
        return config


def image_to_network(ys: Any, xs: Any, image_size: tuple[int, int], net_size: tuple[int, int]) -> tuple[Any, Any]:
    """Image pixels (rows ``ys``, columns ``xs``: ints or int arrays, broadcast) of an HxW image
    (``image_size``) -> the network pixels (h x w, ``net_size``) they fall in, clipped to it. Integer
    arithmetic: exact at any size, the same for one click and for a whole map."""
    (H, W), (h, w) = image_size, net_size
    return np.clip(np.asarray(ys) * h // H, 0, h - 1), np.clip(np.asarray(xs) * w // W, 0, w - 1)


IMAGE_KINDS = "an HxWx3 uint8 array, a PIL image or an image path"


def rgb_image(image: Any, who: str = "set_image") -> np.ndarray:
    """``image`` as the HxWx3 uint8 RGB array a session takes: such an array as it is, a PIL image
    or an image file (``str`` / ``pathlib.Path``, opened with PIL) converted to RGB. Anything else
    raises TypeError (not an image) or ValueError (an array of another shape or type, a file PIL
    cannot read), naming what ``who`` takes; a missing file raises FileNotFoundError."""
    if isinstance(image, (str, os.PathLike)):
        try:
            with Image.open(image) as im:
                return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
        except UnidentifiedImageError:
            raise ValueError(f"{who}: {os.fspath(image)!r} is not an image file PIL can read; {who} takes {IMAGE_KINDS}") from None
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    if not isinstance(image, np.ndarray) and hasattr(image, "__array__"):  # e.g. a CPU tensor
        image = np.asarray(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{who} takes {IMAGE_KINDS}, not {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{who} takes {IMAGE_KINDS}; got a {image.dtype} array of shape {image.shape}")
    return image


def network_size(config: ModelConfig, height: int, width: int) -> tuple[int, int]:
    """(h, w) fed to the network for an HxW image.

    "longer": the longer side becomes ``input_size``. "shorter": the shorter side does,
    with torchvision's rounding (``transforms.Resize(input_size, max_size=max_side)``,
    what its segmentation weights were evaluated with), so predictions match theirs.
    """
    size = int(config.input_size)
    if config.resize == "longer":
        scale = size / max(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))
    short, long = min(height, width), max(height, width)
    new_short, new_long = size, int(size * long / short)
    if config.max_side is not None and new_long > config.max_side:
        new_short, new_long = int(config.max_side * new_short / new_long), int(config.max_side)
    new_short = max(1, new_short)
    return (new_long, new_short) if height > width else (new_short, new_long)


def default_device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class GuidedModel:
    """A frozen segmenter split for guiding, its guiding block, and optionally a text guide."""

    def __init__(
        self,
        config: ModelConfig,
        net: nn.Module,
        text_guide: nn.Module | None = None,
        device: torch.device | str | None = None,
        source: str = "",
        folder: Path | None = None,
    ) -> None:
        self.config = config
        self.device = torch.device(device) if device is not None else default_device()
        self.source = source
        self.folder = folder
        net.eval().requires_grad_(False)  # frozen: guiding never changes network weights
        self.segmenter = SplitSegmenter(net, config.split_layer).to(self.device)
        # Only the channel count is needed: a small probe keeps loading cheap (a ResNet-101
        # head at 520 px takes seconds on a CPU).
        probe = min(int(config.input_size), 32)
        channels, _, _ = self.segmenter.feature_shape((probe, probe))
        g = config.guide
        self.block = GuidingBlock(channels, int(g["alpha_size"]), int(g["beta_size"]), g.get("variant", "guide"))
        self.text_guide = text_guide.to(self.device).eval().requires_grad_(False) if text_guide is not None else None
        self._mean = torch.tensor(config.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(config.std, device=self.device).view(1, 3, 1, 1)

    @property
    def classes(self) -> list[str]:
        return self.config.classes

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def network_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) fed to the network for an HxW image (see ``ModelConfig.resize``)."""
        return network_size(self.config, height, width)

    def preprocess(self, image: np.ndarray) -> Tensor:
        """HxWx3 uint8 RGB image -> 1x3xhxw normalised tensor on the model's device."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} array of shape {image.shape}")
        h, w = self.network_size(image.shape[0], image.shape[1])
        if (h, w) != image.shape[:2]:
            image = np.asarray(Image.fromarray(image).resize((w, h), Image.BILINEAR))
        return self.normalize(torch.from_numpy(np.array(image, dtype=np.uint8))[None])

    def normalize(self, images: Tensor) -> Tensor:
        """BxHxWx3 uint8 tensor -> Bx3xHxW float tensor, normalised, on the model's device."""
        x = images.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        return (x - self._mean) / self._std
