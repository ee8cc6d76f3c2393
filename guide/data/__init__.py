"""Data sets: the embedded scenes benchmark and readers for real data sets.

Every data set here is a sequence: ``len(ds)`` and ``ds[i] -> (image H x W x 3
uint8 RGB, label H x W uint8)`` with 255 = void, plus ``classes`` (names),
``palette`` (RGB per class) and ``void`` attributes.

``get_dataset(name, split, root=None, size=160)``:

* ``"scenes"``: the built-in benchmark (:mod:`guide.data.scenes`), splits
  ``seg-train``, ``guide-train``, ``val``, ``test``; ``size`` is the scene side;
  ``root`` is unused.
* ``"voc"``: PASCAL VOC 2012 under ``root`` (:mod:`guide.data.voc`), native size.
* ``"cocostuff"``: COCO-Stuff 10k / 164k under ``root`` (:mod:`guide.data.cocostuff`), native size.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
from PIL import Image

from guide.data.cocostuff import COCOSTUFF_CLASSES, COCOStuff
from guide.data.cocostuff import LAYOUT as COCO_LAYOUT
from guide.data.scenes import CLASSES, PALETTE, SPLIT_LENGTHS, SPLITS, VOID, SceneDataset
from guide.data.voc import LAYOUT as VOC_LAYOUT
from guide.data.voc import VOC_CLASSES, VOCSegmentation

__all__ = [
    "fit_square", "crop_to_input", "CLASSES", "PALETTE", "VOID", "SPLITS", "SPLIT_LENGTHS", "SceneDataset", "VOCSegmentation", "COCOStuff",
    "VOC_CLASSES", "COCOSTUFF_CLASSES", "DATASETS", "get_dataset",
]


def _scenes(split: str, root: str | None, size: int) -> SceneDataset:
    return SceneDataset(split, size=size)


def _need_root(name: str, root: str | None, layout: str) -> str:
    if not root:
        raise FileNotFoundError(f"data set {name!r} needs root=<folder holding {layout}>")
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{name} root {root!r} is not a folder; expected {layout}")
    return root


def _voc(split: str, root: str | None, size: int) -> VOCSegmentation:
    return VOCSegmentation(_need_root("voc", root, VOC_LAYOUT), split)


def _cocostuff(split: str, root: str | None, size: int) -> COCOStuff:
    return COCOStuff(_need_root("cocostuff", root, COCO_LAYOUT), split)


#: name -> factory(split, root, size)
DATASETS: dict[str, Callable[[str, str | None, int], Any]] = {
    "scenes": _scenes,
    "voc": _voc,
    "cocostuff": _cocostuff,
}


def fit_square(image: np.ndarray, label: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """An (image HxWx3, label HxW) pair at ``size`` x ``size`` for a training batch: the longer
    side scaled to ``size`` (bilinear image, nearest label), as the networks see images at use,
    then padded at the bottom / right (black image, ``VOID`` label: no loss there). Pairs
    already at that size pass unchanged, so data sets of mixed sizes (VOC, an annotated
    folder) batch like the square scenes."""
    h, w = label.shape
    if (h, w) == (size, size):
        return image, label
    s = size / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    img = np.zeros((size, size, 3), np.uint8)
    lab = np.full((size, size), VOID, np.uint8)
    img[:nh, :nw] = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
    lab[:nh, :nw] = np.asarray(Image.fromarray(label).resize((nw, nh), Image.NEAREST))
    return img, lab


def crop_to_input(image: np.ndarray, label: np.ndarray, network_hw: tuple[int, int], size: int,
                  rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """An (image HxWx3, label HxW) pair as a ``size`` x ``size`` training input at the scale the
    network sees it at use: resized to ``network_hw`` (``GuidedModel.network_size``: bilinear
    image, nearest label), then a ``size`` x ``size`` window at a random offset (``rng``; the
    top left without one) where a side is longer, padded at the bottom / right (black image,
    ``VOID`` label: no loss there) where it is shorter.

    Why a crop and not :func:`fit_square`: torchvision's segmenters see a photo with its
    *shorter* side at 520 px, so squeezing the longer side to 520 would train the text guide
    on objects smaller than any it will be asked about. For a model that scales the longer
    side (the embedded one) this is :func:`fit_square` (the window covers the whole image).
    Memory stays bounded at ``size`` x ``size`` per image whatever the data set's sizes.
    """
    nh, nw = network_hw
    if label.shape != (nh, nw):
        image = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
        label = np.asarray(Image.fromarray(label).resize((nw, nh), Image.NEAREST))
    y = int(rng.integers(nh - size + 1)) if rng is not None and nh > size else 0
    x = int(rng.integers(nw - size + 1)) if rng is not None and nw > size else 0
    image, label = image[y : y + size, x : x + size], label[y : y + size, x : x + size]
    if label.shape == (size, size):
        return image, label
    h, w = label.shape
    img = np.zeros((size, size, 3), np.uint8)
    lab = np.full((size, size), VOID, np.uint8)
    img[:h, :w], lab[:h, :w] = image, label
    return img, lab


def get_dataset(name: str, split: str, root: str | None = None, size: int = 160) -> Any:
    """Open data set ``name`` ("scenes" | "voc" | "cocostuff") at ``split``.

    Raises ValueError for an unknown name (listing the choices) and
    FileNotFoundError naming the expected layout when ``root`` is wrong.
    """
    try:
        factory = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}") from None
    return factory(split, root, size)
