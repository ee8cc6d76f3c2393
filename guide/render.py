"""Pictures of a conversation: the overlay (class colours over the image), the crosshair
of a pending question, the "what changed" highlight, and the legend's data.

Images are HxWx3 uint8 RGB, label maps HxW class indices, coordinates (row, col).
Small images are shown upscaled so the longer side is ``DISPLAY_SIDE`` pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

DISPLAY_SIDE = 512


def display_size(h: int, w: int) -> tuple[int, int]:
    """(h, w) an image of that size is shown at: upscaled until the longer side is DISPLAY_SIDE."""
    s = max(1.0, DISPLAY_SIDE / max(h, w))
    return round(h * s), round(w * s)


def resize(image: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """``image`` (HxW or HxWx3 uint8) at ``size`` = (h, w); bilinear, or nearest for labels."""
    if image.shape[:2] == size:
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.NEAREST if nearest else Image.BILINEAR))


def render_overlay(
    image: np.ndarray,
    labels: np.ndarray,
    palette: np.ndarray,
    opacity: float = 0.55,
    marker: tuple[int, int] | None = None,
    changed: np.ndarray | None = None,
) -> np.ndarray:
    """The image with class colours blended in (at display size), a crosshair at ``marker``
    (image (row, col)), and, when ``changed`` (HxW bool) is given, everything else dimmed."""
    H, W = labels.shape
    size = display_size(H, W)
    colour = np.asarray(palette, dtype=np.uint8)[resize(labels, size, nearest=True)].astype(np.float32)
    a = float(np.clip(opacity, 0.0, 1.0))
    out = resize(image, size).astype(np.float32) * (1 - a) + colour * a
    if changed is not None:
        ch = resize(changed.astype(np.uint8) * 255, size, nearest=True) > 0
        out[~ch] = out[~ch] * 0.35 + 40
        out[ch] = colour[ch] * 0.85 + 38
    pil = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    if marker is not None:
        draw_crosshair(pil, ((marker[0] + 0.5) * size[0] / H, (marker[1] + 0.5) * size[1] / W))
    return np.asarray(pil)


def draw_crosshair(pil: Image.Image, at: tuple[float, float]) -> None:
    """A ringed crosshair centred at ``at`` = (row, col) in ``pil``'s pixels, black under white."""
    y, x = at
    r = max(8, min(pil.size) // 22)
    d = ImageDraw.Draw(pil)
    for width, fill in ((5, (0, 0, 0)), (2, (255, 255, 255))):
        d.ellipse([x - r, y - r, x + r, y + r], outline=fill, width=width)
        d.line([x - 2.2 * r, y, x - 0.5 * r, y], fill=fill, width=width)
        d.line([x + 0.5 * r, y, x + 2.2 * r, y], fill=fill, width=width)
        d.line([x, y - 2.2 * r, x, y - 0.5 * r], fill=fill, width=width)
        d.line([x, y + 0.5 * r, x, y + 2.2 * r], fill=fill, width=width)


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
