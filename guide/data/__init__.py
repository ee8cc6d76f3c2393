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

from guide.data.cocostuff import COCOSTUFF_CLASSES, COCOStuff
from guide.data.cocostuff import LAYOUT as COCO_LAYOUT
from guide.data.scenes import CLASSES, PALETTE, SPLIT_LENGTHS, SPLITS, VOID, SceneDataset
from guide.data.voc import LAYOUT as VOC_LAYOUT
from guide.data.voc import VOC_CLASSES, VOCSegmentation

__all__ = [
    "CLASSES", "PALETTE", "VOID", "SPLITS", "SPLIT_LENGTHS", "SceneDataset", "VOCSegmentation", "COCOStuff",
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
