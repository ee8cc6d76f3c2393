"""Pictures of a conversation: the overlay (a layer of class colours the page lays over the
image at the opacity slider's value), the crosshair of a pending question, the "what changed"
highlight, and the legend's data.

Images are HxWx3 uint8 RGB, label maps HxW class indices, coordinates (row, col).
The sketch editor shows small images upscaled so the longer side is ``DISPLAY_SIDE`` pixels
(finer strokes); the overlay is drawn at the image's own resolution (at most ``DISPLAY_SIDE``)
and the browser scales it: a 160 px overlay is a tenth of the pixels of a 512 px one to
colour, PNG-encode (Gradio's default zlib level: ~18 ms against ~105 ms) and send (~40 KB
against ~270 KB), and looks the same on screen. Exports use the label map, never the overlay.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from guide.core.digest import array_digest

DISPLAY_SIDE = 512


def display_size(h: int, w: int) -> tuple[int, int]:
    """(h, w) an image of that size is shown at: upscaled until the longer side is DISPLAY_SIDE."""
    s = max(1.0, DISPLAY_SIDE / max(h, w))
    return round(h * s), round(w * s)


def overlay_size(h: int, w: int) -> tuple[int, int]:
    """(h, w) the overlay of an image of that size is drawn at: the image's own, or
    downscaled until the longer side is DISPLAY_SIDE (never upscaled: the browser does that)."""
    s = min(1.0, DISPLAY_SIDE / max(h, w))
    return max(1, round(h * s)), max(1, round(w * s))


def resize(image: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """``image`` (HxW or HxWx3 uint8) at ``size`` = (h, w); bilinear, or nearest for labels."""
    if image.shape[:2] == size:
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.NEAREST if nearest else Image.BILINEAR))


class EditorBackgrounds:
    """The sketch editor's background (the image at :func:`display_size`) as a PNG file, written
    once per image and reused: the editor is refilled after every Guide, and encoding a 512 px
    PNG twice (background and composite) took ~270 ms of server time each time; a file path
    costs Gradio a hash and, the first time, a copy. Also the one canvas (:meth:`canvas`: the image
    with the class colours over it, which the editor shows after every turn). Bounded: the ``size``
    most recent pictures, in a temporary folder removed with this object."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.folder = Path(tempfile.mkdtemp(prefix="guide-editor-"))
        self._paths: OrderedDict[str, Path] = OrderedDict()
        self._lock = threading.Lock()
        weakref.finalize(self, shutil.rmtree, self.folder, True)

    def path(self, image: np.ndarray) -> str:
        """A PNG of ``image`` (HxWx3 uint8) at display size."""
        key = array_digest(image)
        return self._png(key, lambda: resize(image, display_size(*image.shape[:2])))

    def canvas(self, image: np.ndarray, layer: np.ndarray, opacity: float) -> str:
        """A PNG of the one canvas a person paints on: ``image`` (HxWx3 uint8) with the class
        colours of ``layer`` (:func:`render_layer`) over it at ``opacity`` (:func:`composite`), at
        display size (the size the editor's strokes are drawn at). The same picture gives the same
        path, so a caller can tell whether the canvas changed."""
        opacity = round(float(np.clip(opacity, 0.0, 1.0)), 3)
        key = array_digest(image, layer, extra=str(opacity))

        def draw() -> np.ndarray:
            size = display_size(*image.shape[:2])
            big = np.asarray(Image.fromarray(layer, "RGBA").resize((size[1], size[0]), Image.NEAREST))
            return composite(resize(image, size), big, opacity)

        return self._png(f"canvas-{key}", draw)

    def _png(self, key: str, draw) -> str:
        """The PNG for ``key``, written from ``draw()`` (HxWx3 uint8) the first time."""
        with self._lock:
            found = self._paths.get(key)
            if found is not None and found.is_file():
                self._paths.move_to_end(key)
                return str(found)
        path = self.folder / f"{key}.png"
        # a staging name of its own: two tabs opening the same image at once must not write one file
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{key}.", suffix=".png")
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(draw()).save(f, "PNG", compress_level=1)
        os.replace(tmp, path)
        with self._lock:
            self._paths[key] = path
            self._paths.move_to_end(key)
            while len(self._paths) > self.size:
                _, old = self._paths.popitem(last=False)
                old.unlink(missing_ok=True)
        return str(path)


DIM = (62, 62, 62, 166)  # a grey at alpha 0.65: image * 0.35 + 40 where the highlight dims
# Alpha of the class colours: one short of opaque, so the page's opacity filter (guide/ui/static/opacity.js) can scale
# every alpha below 255 by the slider's value and keep 255, the crosshair, opaque at any opacity.
COLOUR_ALPHA = 254


def render_layer(
    labels: np.ndarray,
    palette: np.ndarray,
    marker: tuple[int, int] | None = None,
    changed: np.ndarray | None = None,
    ring: tuple[int, int] | None = None,
) -> np.ndarray:
    """The class colours of ``labels`` (HxW) as an RGBA layer (at :func:`overlay_size`) to lay over
    the image: the colours (alpha ``COLOUR_ALPHA``), an opaque crosshair at ``marker`` (image (row,
    col)), and, when ``changed`` (HxW bool) is given, everything else a translucent grey that dims the
    image under it; an opaque ring at ``ring`` (image (row, col): the suggested next action's place).

    The page shows it over the image, its alphas below 255 scaled by the opacity slider's value (no
    server call when the slider moves); :func:`composite` is the same blend in numpy.
    """
    H, W = labels.shape
    size = overlay_size(H, W)
    colour = np.asarray(palette, dtype=np.uint8)[resize(labels, size, nearest=True)]
    out = np.concatenate([colour, np.full((*size, 1), COLOUR_ALPHA, np.uint8)], axis=-1)
    if changed is not None:
        ch = resize(changed.astype(np.uint8) * 255, size, nearest=True) > 0
        out[~ch] = DIM  # image * 0.35 + 40 at full opacity
        out[ch, :3] = np.clip(colour[ch].astype(np.float32) * 0.85 + 38, 0, 255).astype(np.uint8)
    pil = Image.fromarray(out, "RGBA")
    if marker is not None:
        draw_crosshair(pil, ((marker[0] + 0.5) * size[0] / H, (marker[1] + 0.5) * size[1] / W))
    if ring is not None:
        draw_ring(pil, ((ring[0] + 0.5) * size[0] / H, (ring[1] + 0.5) * size[1] / W))
    return np.asarray(pil)


def composite(image: np.ndarray, layer: np.ndarray, opacity: float = 0.55) -> np.ndarray:
    """What the page shows: ``layer`` (hxwx4, :func:`render_layer`) at ``opacity`` over ``image``
    (HxWx3 uint8, resized to the layer's size) -> hxwx3 uint8. Alphas below 255 are scaled by
    ``opacity`` (the colours read as exactly ``opacity``), 255 (the crosshair) stays opaque."""
    base = resize(image, layer.shape[:2]).astype(np.float32)
    alpha = layer[..., 3:].astype(np.float32)
    a = np.where(alpha == 255, 1.0, float(np.clip(opacity, 0.0, 1.0)) * alpha / COLOUR_ALPHA)
    return np.clip(base * (1 - a) + layer[..., :3].astype(np.float32) * a + 0.5, 0, 255).astype(np.uint8)


def draw_crosshair(pil: Image.Image, at: tuple[float, float]) -> None:
    """A ringed crosshair centred at ``at`` = (row, col) in ``pil``'s pixels (RGB or RGBA), black under white."""
    y, x = at
    side = min(pil.size)
    r = max(8, side // 22)
    d = ImageDraw.Draw(pil)  # line widths in proportion: 5 and 2 px at 512, 2 and 1 at 160
    for width, fill in ((max(2, round(side / 100)), (0, 0, 0, 255)), (max(1, round(side / 250)), (255, 255, 255, 255))):
        d.ellipse([x - r, y - r, x + r, y + r], outline=fill, width=width)
        d.line([x - 2.2 * r, y, x - 0.5 * r, y], fill=fill, width=width)
        d.line([x + 0.5 * r, y, x + 2.2 * r, y], fill=fill, width=width)
        d.line([x, y - 2.2 * r, x, y - 0.5 * r], fill=fill, width=width)
        d.line([x, y + 0.5 * r, x, y + 2.2 * r], fill=fill, width=width)


def draw_ring(pil: Image.Image, at: tuple[float, float]) -> None:
    """An opaque yellow ring (black under it) centred at ``at`` = (row, col) in ``pil``'s pixels: where the
    suggested next action points (guide/dialogue/suggest.py), told apart from a question's white crosshair."""
    y, x = at
    side = min(pil.size)
    r = max(6, side // 30)
    d = ImageDraw.Draw(pil)
    for width, fill in ((max(2, round(side / 120)), (0, 0, 0, 255)), (max(1, round(side / 300)), (255, 215, 0, 255))):
        d.ellipse([x - r, y - r, x + r, y + r], outline=fill, width=width)


@dataclass(frozen=True)
class LegendItem:
    name: str
    rgb: tuple[int, int, int]
    share: float  # fraction of the label map; 0 when the class is absent


def legend(classes: list[str], palette: np.ndarray, labels: np.ndarray | None) -> list[LegendItem]:
    """Every class with its colour; the classes in ``labels`` first, largest share first."""
    counts = np.bincount(labels.ravel(), minlength=len(classes)) if labels is not None else np.zeros(len(classes))
    total = max(1, int(counts.sum()))
    order = sorted(range(len(classes)), key=lambda k: (-counts[k], k))
    return [LegendItem(classes[k], tuple(int(v) for v in palette[k]), float(counts[k] / total)) for k in order]
