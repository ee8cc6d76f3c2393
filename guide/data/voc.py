"""PASCAL VOC 2012 semantic segmentation reader (for users who bring the data set).

Expected layout (``root`` may be the ``VOC2012`` folder itself, or a folder holding
``VOC2012`` or ``VOCdevkit/VOC2012``)::

    root/JPEGImages/<id>.jpg
    root/SegmentationClass/<id>.png        palette PNGs: pixel index = class, 255 = void
    root/ImageSets/Segmentation/<split>.txt  one <id> per line (train / val / trainval)
    root/labelmap.txt                      optional: the class list, ``name:r,g,b::`` per line

``dataset[i] -> (image H x W x 3 uint8 RGB, label H x W uint8)`` at the native
resolution. Label values index :data:`VOC_CLASSES`, or the classes of
``labelmap.txt`` when the folder has one (a data set annotated in the app,
:mod:`guide.annotation.dataset`); 255 is void (object borders and difficult regions).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from guide.core.labels import VOID, voc_palette

#: The 21 VOC classes. The three run-together official names ("diningtable",
#: "pottedplant", "tvmonitor") are spelt as phrases so every word is in the GloVe
#: vocabulary used by text hints.
VOC_CLASSES: list[str] = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train", "tv monitor",
]

LAYOUT = ("JPEGImages/<id>.jpg, SegmentationClass/<id>.png (palette PNG, 255 = void), "
          "ImageSets/Segmentation/<split>.txt")


VOC_PALETTE: list[tuple[int, int, int]] = voc_palette(len(VOC_CLASSES))


LABELMAP = "labelmap.txt"
_LABELMAP_HEADER = "# label:color_rgb:parts:actions"


def write_labelmap(classes: list[str], palette: list[tuple[int, int, int]] | list[list[int]]) -> str:
    """The class list as ``labelmap.txt`` text: line k+1 is class k as ``name:r,g,b::``
    (the layout CVAT and Datumaro use for VOC data sets)."""
    lines = [_LABELMAP_HEADER]
    for name, rgb in zip(classes, palette):
        if ":" in name or "\n" in name:
            raise ValueError(f"class name {name!r} cannot go in {LABELMAP} (no ':' or newlines)")
        lines.append(f"{name}:{','.join(str(int(v)) for v in rgb[:3])}::")
    return "\n".join(lines) + "\n"


def read_labelmap(path: str) -> tuple[list[str], list[tuple[int, int, int]]]:
    """``labelmap.txt`` -> (class names, palette), in line order (comment lines skipped)."""
    classes, palette = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, _, rest = line.partition(":")
            try:
                rgb = tuple(int(v) for v in rest.split(":")[0].split(","))
            except ValueError:
                rgb = ()
            if not name or len(rgb) != 3:
                raise ValueError(f"{path}:{n}: expected name:r,g,b:: (got {line[:60]!r})")
            classes.append(name)
            palette.append(rgb)
    return classes, palette  # type: ignore[return-value]


def _find_root(root: str) -> str:
    for cand in (root, os.path.join(root, "VOC2012"), os.path.join(root, "VOCdevkit", "VOC2012")):
        if os.path.isdir(os.path.join(cand, "JPEGImages")) and os.path.isdir(os.path.join(cand, "SegmentationClass")):
            return cand
    raise FileNotFoundError(f"{root!r} does not look like PASCAL VOC 2012: expected {LAYOUT} "
                            "(in root, root/VOC2012 or root/VOCdevkit/VOC2012)")


def read_label_png(path: str, palette: list[tuple[int, int, int]] | None = None) -> np.ndarray:
    """Read a label PNG as H x W uint8 class indices.

    Palette ("P") and grey ("L") PNGs hold the indices directly. RGB PNGs (colour
    rendered label maps) are mapped back through ``palette``; unknown colours -> 255.
    """
    im = Image.open(path)
    if im.mode in ("P", "L"):
        return np.array(im, dtype=np.uint8)
    if im.mode in ("I", "I;16"):
        a = np.array(im)
        return np.where((a >= 0) & (a < 256), a, VOID).astype(np.uint8)
    rgb = np.asarray(im.convert("RGB"), dtype=np.int64)
    if palette is None:
        raise ValueError(f"{path}: RGB label map but no palette to decode it")
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    out = np.full(code.shape, VOID, np.uint8)
    for idx, (r, g, b) in enumerate(palette):
        out[code == ((r << 16) | (g << 8) | b)] = idx
    return out


def split_lists(root: str) -> list[str]:
    """The split names ``root`` (a VOC folder as :class:`VOCSegmentation` finds it) has lists for:
    ``ImageSets/Segmentation/<split>.txt``, sorted (an app-written data set: train, trainval, val)."""
    folder = os.path.join(_find_root(root), "ImageSets", "Segmentation")
    if not os.path.isdir(folder):
        return []
    return sorted(n[: -len(".txt")] for n in os.listdir(folder) if n.endswith(".txt") and not n.startswith("."))


class VOCSegmentation:
    """PASCAL VOC 2012 segmentation split: ``dataset[i] -> (H x W x 3 uint8, H x W uint8)``."""

    classes: list[str] = VOC_CLASSES
    palette: list[tuple[int, int, int]] = VOC_PALETTE
    void: int = VOID

    def __init__(self, root: str, split: str = "val") -> None:
        self.root = _find_root(root)
        self.split = split
        list_path = os.path.join(self.root, "ImageSets", "Segmentation", f"{split}.txt")
        if not os.path.isfile(list_path):
            there = split_lists(self.root)
            if there:  # name the lists the folder does have, and how to pick one
                raise FileNotFoundError(f"VOC split list {list_path} not found; this data set has the split lists "
                                        f"{', '.join(there)}: pick one with --split (e.g. --split {there[0]})")
            raise FileNotFoundError(f"VOC split list {list_path} not found: expected {LAYOUT}")
        with open(list_path) as f:
            self.ids: list[str] = [line.split()[0] for line in f if line.strip()]
        labelmap = os.path.join(self.root, LABELMAP)
        if os.path.isfile(labelmap):  # this folder names its own classes (instance attributes)
            self.classes, self.palette = read_labelmap(labelmap)

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"VOCSegmentation(root={self.root!r}, split={self.split!r}, n={len(self)})"

    def image_path(self, i: int) -> str:
        return os.path.join(self.root, "JPEGImages", f"{self.ids[i]}.jpg")

    def label_path(self, i: int) -> str:
        return os.path.join(self.root, "SegmentationClass", f"{self.ids[i]}.png")

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {self!r}")
        image = np.asarray(Image.open(self.image_path(i)).convert("RGB"), dtype=np.uint8)
        label = read_label_png(self.label_path(i), self.palette)
        if label.shape != image.shape[:2]:
            raise ValueError(f"{self.ids[i]}: label {label.shape} and image {image.shape[:2]} sizes differ")
        return image, label
