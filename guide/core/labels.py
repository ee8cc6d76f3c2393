"""Label maps: the void index, palettes and palette PNGs (one home for each).

A label map is an HxW uint8 array of class indices (row, col); ``VOID`` marks pixels
that carry no class (ambiguous borders, "unsure"), ignored by losses and metrics.
A palette is a list of (r, g, b) per class index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

VOID = 255


def voc_palette(n: int = 256) -> list[tuple[int, int, int]]:
    """The standard VOC colour map (bit-interleaved class index); entry 255 is (224, 224, 192)."""
    out = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out.append((r, g, b))
    return out


def palette_image(labels: np.ndarray, palette: Sequence[Sequence[int]], void: Sequence[int] = (0, 0, 0)) -> Image.Image:
    """HxW uint8 class indices -> palette-mode ("P") PIL image: pixel value = class index,
    colours from ``palette``, ``VOID`` drawn as ``void``. What VOC's SegmentationClass holds."""
    im = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="P")
    flat = [0] * 768
    for k, rgb in enumerate(list(palette)[:VOID]):
        flat[3 * k : 3 * k + 3] = [int(v) for v in rgb]
    flat[3 * VOID : 3 * VOID + 3] = [int(v) for v in void]
    im.putpalette(flat)
    return im


def colorize(labels: np.ndarray, palette: Sequence[Sequence[int]], void: Sequence[int] = (0, 0, 0)) -> np.ndarray:
    """HxW class indices -> HxWx3 uint8 RGB (``VOID`` as ``void``)."""
    lut = np.zeros((256, 3), np.uint8)
    lut[: len(palette)] = np.asarray(palette, dtype=np.uint8)[:VOID]
    lut[VOID] = void
    return lut[np.asarray(labels, dtype=np.uint8)]
