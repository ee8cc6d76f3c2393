"""What a UI hands over -> what a :class:`guide.conversation.Conversation` takes.

* :func:`load_image`: an uploaded file -> HxWx3 uint8 RGB, refusing decompression
  bombs before decoding and downscaling to ``MAX_SIDE``.
* :func:`strokes_to_points`: painted sketch layers (RGBA; files or arrays) -> labelled
  pixels ``(row, col, class)``, by nearest class colour; size-capped before decoding,
  vectorised (no per-pixel Python).
* :func:`parse_points`: JSON ``[[row, col, class], ...]`` -> labelled pixels.

Every refusal is a :class:`~guide.conversation.UserError` with a message for the person.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .classnames import resolve_class
from .conversation import NO_IMAGE, UserError, quote

MAX_SIDE = 1024  # longer image side after downscaling
MAX_INPUT_PIXELS = 50_000_000  # refuse larger uploads without decoding them
MAX_LAYER_PIXELS = 2048 * 2048  # a sketch layer is the editor's canvas (<= 1024 px a side); refuse far larger ones
MAX_POINTS = 400  # labelled pixels per sketch or JSON call (evenly subsampled per class)
MAX_POINTS_TEXT = 100_000  # characters of JSON points
MAX_POINTS_IN = 10_000  # points read from one JSON call (then subsampled)
Image.MAX_IMAGE_PIXELS = MAX_INPUT_PIXELS  # PIL refuses (DecompressionBombError) beyond 2x this

BAD_SKETCH = "That sketch could not be read. Paint in the editor (or send PNG layers with transparency), then press Guide."


@contextlib.contextmanager
def _open_capped(path: str | os.PathLike, max_pixels: int, too_big: str) -> Iterator[Image.Image]:
    """``Image.open`` that refuses more than ``max_pixels`` before decoding (UserError: ``too_big``
    formatted with w, h and mp, the megapixels) and turns PIL's decompression-bomb warning into its error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise UserError(too_big.format(w=w, h=h, mp=w * h / 1e6))
            yield im


def load_image(path: str | os.PathLike | None) -> tuple[np.ndarray, str]:
    """Decode an upload to HxWx3 uint8 RGB, downscaled to MAX_SIDE; returns (image, note)."""
    if not path:
        raise UserError(NO_IMAGE)
    try:
        too_big = "That image is {w}x{h} = " + "{mp:.0f} MP; the limit is " + f"{MAX_INPUT_PIXELS / 1e6:.0f} MP."
        with _open_capped(path, MAX_INPUT_PIXELS, too_big) as im:
            w, h = im.size
            im.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale
            im = ImageOps.exif_transpose(im)
            if _has_alpha(im):
                im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im.convert("RGBA"))
            im = im.convert("RGB")
            note = ""
            if max(im.size) > MAX_SIDE:
                im.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
                note = f" (downscaled from {w}x{h})"
            return np.asarray(im, dtype=np.uint8).copy(), note
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"That image is too large to open safely (limit {MAX_INPUT_PIXELS / 1e6:.0f} MP).") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as e:
        raise UserError(f"Could not read that file as an image ({type(e).__name__}). Try a PNG or JPEG.") from None


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode in ("P", "L", "RGB") and "transparency" in im.info)


def read_layer(layer: str | os.PathLike | np.ndarray) -> np.ndarray | None:
    """A sketch layer as HxWx4 uint8 RGBA; None for a layer without transparency (it cannot
    say which pixels were painted). Files are size-checked before decoding."""
    if isinstance(layer, np.ndarray):
        if layer.ndim != 3 or layer.shape[2] != 4:
            return None
        if layer.shape[0] * layer.shape[1] > MAX_LAYER_PIXELS:
            raise UserError(f"That sketch layer is {layer.shape[1]}x{layer.shape[0]} pixels; the most is {MAX_LAYER_PIXELS / 1e6:.1f} MP.")
        return np.asarray(layer, dtype=np.uint8)
    try:
        too_big = "That sketch layer is {w}x{h} pixels; the most is " + f"{MAX_LAYER_PIXELS / 1e6:.1f} MP."
        with _open_capped(layer, MAX_LAYER_PIXELS, too_big) as im:
            return np.asarray(im.convert("RGBA"), dtype=np.uint8) if _has_alpha(im) else None
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, TypeError):
        raise UserError(BAD_SKETCH) from None


def strokes_to_points(
    layers: Sequence[str | os.PathLike | np.ndarray | None] | None,
    image_size: tuple[int, int],
    palette: np.ndarray,
    max_points: int = MAX_POINTS,
    max_distance: float = 60.0,
) -> tuple[list[tuple[int, int, int]], int]:
    """Painted layers (RGBA, any size up to MAX_LAYER_PIXELS) -> ``(row, col, class)`` in
    image coordinates, and the number of stroke pixels ignored.

    A pixel is painted when its alpha is over half; its colour maps to the nearest palette
    colour (class), and colours further than ``max_distance`` from every class are ignored.
    Later layers win where they overlap. At most ``max_points`` points, evenly subsampled
    within each class (see :func:`subsample`).
    """
    H, W = image_size
    pal = np.asarray(palette, dtype=np.int64)
    flat, labs, ignored = [], [], 0
    for layer in layers or []:
        rgba = read_layer(layer) if layer is not None else None
        if rgba is None:
            continue
        ys, xs = np.nonzero(rgba[..., 3] > 127)
        if ys.size == 0:
            continue
        # Nearest class colour, computed once per distinct colour (strokes have few).
        packed = rgba[ys, xs, :3].astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
        colours, inverse = np.unique(packed, return_inverse=True)
        rgb = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], 1)
        dist = ((rgb[:, None, :] - pal[None]) ** 2).sum(-1)
        nearest = dist.argmin(1)
        ok_colour = dist[np.arange(len(colours)), nearest] <= max_distance**2
        ok = ok_colour[inverse]
        ignored += int((~ok).sum())
        h, w = rgba.shape[:2]
        iy = np.minimum(H - 1, ys[ok] * H // h)
        ix = np.minimum(W - 1, xs[ok] * W // w)
        flat.append(iy * W + ix)
        labs.append(nearest[inverse][ok])
    if not flat:
        return [], ignored
    flat_all, labs_all = np.concatenate(flat)[::-1], np.concatenate(labs)[::-1]  # reversed: the last layer's pixel comes first
    keys, first = np.unique(flat_all, return_index=True)
    points = np.stack([keys // W, keys % W, labs_all[first]], 1)
    return subsample(points, max_points), ignored


def subsample(points: Sequence[Sequence[int]] | np.ndarray, max_points: int) -> list[tuple[int, int, int]]:
    """At most ``max_points`` of ``(row, col, class)`` points, evenly strided within each class
    in (row, col) order so every class keeps some (deterministic)."""
    pts = np.asarray(points, dtype=np.int64).reshape(-1, 3)
    if len(pts) <= max_points:
        return [tuple(int(v) for v in p) for p in pts]
    pts = pts[np.lexsort((pts[:, 2], pts[:, 1], pts[:, 0]))]
    classes, first = np.unique(pts[:, 2], return_index=True)
    share = max(1, max_points // len(classes))
    out = []
    for k in classes[np.argsort(first)]:  # classes in order of their first point
        mine = pts[pts[:, 2] == k]
        idx = np.unique(np.linspace(0, len(mine) - 1, min(share, len(mine))).round().astype(int))
        out.append(mine[idx])
    return [tuple(int(v) for v in p) for p in np.concatenate(out)[:max_points]]


def parse_points(text: str | list | None, classes: Sequence[str], image_size: tuple[int, int]) -> list[tuple[int, int, int]]:
    """JSON ``[[row, col, class], ...]`` (class: index or name) -> points; UserError on bad input."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise UserError('No points given: send JSON like [[40, 30, "coat"], [120, 80, "sand"]].')
    if isinstance(text, str) and len(text) > MAX_POINTS_TEXT:
        raise UserError(f"That is {len(text):,} characters of points; the most is {MAX_POINTS_TEXT:,} (up to {MAX_POINTS_IN:,} points).")
    try:
        data = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as e:
        raise UserError(f"Points are not valid JSON ({e.msg}); expected [[y, x, class], ...].") from None
    except RecursionError:
        raise UserError("Points are nested too deeply; expected [[y, x, class], ...].") from None
    if not isinstance(data, list) or not data:
        raise UserError("Points must be a non-empty list of [y, x, class].")
    if len(data) > MAX_POINTS_IN:
        raise UserError(f"That is {len(data):,} points; the most is {MAX_POINTS_IN:,} per call.")
    H, W = image_size
    points = []
    for item in data:
        if not isinstance(item, list) or len(item) != 3:
            raise UserError(f"Each point must be [y, x, class]; got {_short_json(item)}.")
        y, x, c = item
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in (y, x)):
            raise UserError(f"Point coordinates must be numbers; got {_short_json(item)}.")
        label = class_index(c, classes)
        if label is None:
            raise UserError(f"Unknown class {quote(str(c) if isinstance(c, (str, int, float)) else _short_json(c))}. Classes: {', '.join(classes)}.")
        if 0 <= y < H and 0 <= x < W:
            points.append((int(y), int(x), label))
    if not points:
        raise UserError(f"No point lies inside the {W}x{H} image (points are [row, column, class]).")
    return subsample(points, MAX_POINTS)


def _short_json(value: Any) -> str:
    try:
        return json.dumps(value)[:60]
    except (TypeError, ValueError, RecursionError):
        return "something else"


def class_index(value: Any, classes: Sequence[str]) -> int | None:
    """A class given as an index or a name (see guide.classnames.resolve_class)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer()):
        return int(value) if 0 <= int(value) < len(classes) else None
    if isinstance(value, str):
        return resolve_class(value, classes)
    return None


def strokes_to_edits(
    layers: Sequence[str | os.PathLike | np.ndarray | None] | None,
    image_size: tuple[int, int],
    palette: np.ndarray,
    void_colour: Sequence[int] | None = None,
) -> tuple[np.ndarray, int]:
    """Painted layers -> hand edits for :meth:`Conversation.paint`: HxW int16, the class of
    every painted image pixel (``VOID`` where painted in ``void_colour``, "unsure"),
    ``UNTOUCHED`` elsewhere; and the number of stroke pixels ignored. Every painted pixel
    counts (no subsampling: this sets labels, it is not a hint)."""
    from .conversation import UNTOUCHED
    from .labels import VOID

    H, W = image_size
    pal = np.asarray(palette, dtype=np.int64).reshape(-1, 3)
    if void_colour is not None:
        pal = np.concatenate([pal, np.asarray(void_colour, dtype=np.int64).reshape(1, 3)])
    points, ignored = strokes_to_points(layers, image_size, pal, max_points=H * W)
    edits = np.full((H, W), UNTOUCHED, np.int16)
    if points:
        p = np.asarray(points, dtype=np.int64)
        label = np.where((void_colour is not None) & (p[:, 2] == len(pal) - 1), VOID, p[:, 2])
        edits[p[:, 0], p[:, 1]] = label
    return edits, ignored
