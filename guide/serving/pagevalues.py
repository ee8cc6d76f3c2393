"""What a UI hands over -> what a :class:`guide.dialogue.conversation.Conversation` takes.

* :func:`load_image`: an uploaded file -> HxWx3 uint8 RGB, refusing decompression
  bombs before decoding and downscaling to ``MAX_SIDE``.
* :func:`strokes_to_points`: painted sketch layers (RGBA; files or arrays) -> labelled
  pixels ``(row, col, class)``, by nearest class colour; size-capped before decoding,
  vectorised (no per-pixel Python).
* :func:`parse_points`: JSON ``[[row, col, class], ...]`` -> labelled pixels.

Every refusal is a :class:`~guide.dialogue.conversation.UserError` with a message for the person.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from guide.core.classnames import resolve_class
from guide.dialogue.conversation import NO_IMAGE, UserError, quote

MAX_SIDE = 1024  # longer image side after downscaling
MAX_INPUT_PIXELS = 50_000_000  # refuse larger uploads without decoding them
MAX_LAYER_PIXELS = 2048 * 2048  # a sketch layer is the editor's canvas (<= 1024 px a side); refuse far larger ones
MAX_LAYERS = 8  # sketch layers one request may send (the page's editor sends one)
MAX_SKETCH_PIXELS = 2 * MAX_LAYER_PIXELS  # layer pixels of one request, all layers together
MAX_SKETCH_COLOURS = 4096  # distinct colours in one layer's painted pixels (a brush sketch has a handful)
MAX_POINTS = 400  # labelled pixels per sketch or JSON call (evenly subsampled per class)
MAX_POINTS_TEXT = 100_000  # characters of JSON points
MAX_POINTS_IN = 10_000  # points read from one JSON call (then subsampled)
Image.MAX_IMAGE_PIXELS = MAX_INPUT_PIXELS  # PIL refuses (DecompressionBombError) beyond 2x this

TOO_MANY_LAYERS = f"A sketch may have at most {MAX_LAYERS} layers; merge them and press Guide again."
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


def read_layer(layer: str | os.PathLike | io.BytesIO | np.ndarray, max_pixels: int = MAX_LAYER_PIXELS) -> np.ndarray | None:
    """A sketch layer as HxWx4 uint8 RGBA; None for a layer without transparency (it cannot
    say which pixels were painted). Files are size-checked (at most ``max_pixels``) before decoding."""
    too_big = "That sketch layer is {w}x{h} pixels; the most is " + f"{min(max_pixels, MAX_LAYER_PIXELS) / 1e6:.1f} MP."
    if isinstance(layer, np.ndarray):
        if layer.ndim != 3 or layer.shape[2] != 4:
            return None
        if layer.shape[0] * layer.shape[1] > min(max_pixels, MAX_LAYER_PIXELS):
            raise UserError(too_big.format(w=layer.shape[1], h=layer.shape[0]))
        return np.asarray(layer, dtype=np.uint8)
    try:
        with _open_capped(layer, min(max_pixels, MAX_LAYER_PIXELS), too_big) as im:
            return np.asarray(im.convert("RGBA"), dtype=np.uint8) if _has_alpha(im) else None
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, TypeError):
        raise UserError(BAD_SKETCH) from None


def nearest_class(rgb: np.ndarray, palette: np.ndarray, max_distance: float) -> np.ndarray:
    """Nx3 uint8 colours -> N int16 class indices (nearest palette colour), -1 where the nearest
    is further than ``max_distance``. Computed once per distinct colour (a brush sketch has a
    few; more than ``MAX_SKETCH_COLOURS`` is not a sketch and is refused), so the cost is O(N)
    in pixels plus O(colours x classes): a random-colour layer costs no more than a brush one."""
    packed = (rgb[:, 0].astype(np.int32) << 16) | (rgb[:, 1].astype(np.int32) << 8) | rgb[:, 2]
    seen = np.zeros(1 << 24, bool)  # 16 MB: every 24-bit colour, no sort
    seen[packed] = True
    colours = np.flatnonzero(seen)
    del seen
    if len(colours) > MAX_SKETCH_COLOURS:
        raise UserError(f"That sketch has {len(colours):,} different colours; paint with the brush (one colour per class).")
    c = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], 1).astype(np.int64)
    pal = np.asarray(palette, dtype=np.int64).reshape(-1, 3)
    dist = ((c[:, None, :] - pal[None]) ** 2).sum(-1)  # colours x classes, <= 4096 x K
    nearest = dist.argmin(1)
    per_colour = np.where(dist[np.arange(len(c)), nearest] <= max_distance**2, nearest, -1).astype(np.int16)
    lut = np.full(1 << 24, -1, np.int16)  # 32 MB, once per sketch
    lut[colours] = per_colour
    return lut[packed]


def painted_map(
    layers: Sequence[str | os.PathLike | io.BytesIO | np.ndarray | None] | None,
    image_size: tuple[int, int],
    palette: np.ndarray,
    max_distance: float = 60.0,
) -> tuple[np.ndarray, int]:
    """Painted layers (RGBA, any size up to MAX_LAYER_PIXELS) -> the class painted at each image
    pixel (HxW int16, -1 where nothing is) and the number of stroke pixels ignored.

    A pixel is painted when its alpha is over half; its colour maps to the nearest palette
    colour (class), and colours further than ``max_distance`` from every class are ignored.
    Later layers win where they overlap (and, in a layer larger than the image, the later
    pixel in row-major order).

    Bounded per request: at most ``MAX_LAYERS`` layers and ``MAX_SKETCH_PIXELS`` layer pixels
    in all, each layer measured before it is decoded; memory is one image-sized label map plus
    one layer's arrays at a time (nothing per colour or per layer at full size is kept).
    """
    H, W = image_size
    if layers is not None and len(layers) > MAX_LAYERS:
        raise UserError(TOO_MANY_LAYERS)
    pal = np.asarray(palette, dtype=np.int64).reshape(-1, 3)
    label = np.full(H * W, -1, np.int16)
    ignored, budget = 0, MAX_SKETCH_PIXELS
    for layer in layers or []:
        if budget <= 0:
            raise UserError(f"That sketch has more than {MAX_SKETCH_PIXELS / 1e6:.1f} MP of layers in all.")
        rgba = read_layer(layer, budget) if layer is not None else None
        if rgba is None:
            continue
        h, w = rgba.shape[:2]
        budget -= h * w
        painted = np.flatnonzero(rgba[..., 3].reshape(-1) > 127)
        if painted.size == 0:
            continue
        cls = nearest_class(rgba.reshape(-1, 4)[painted, :3], pal, max_distance)
        del rgba
        ok = cls >= 0
        ignored += int(painted.size - np.count_nonzero(ok))
        painted, cls = painted[ok], cls[ok]
        ys, xs = np.divmod(painted, w)
        flat = np.minimum(H - 1, ys * H // h) * W + np.minimum(W - 1, xs * W // w)
        if h > H or w > W:  # several layer pixels per image pixel: the last one (row-major) wins
            keep = len(flat) - 1 - np.unique(flat[::-1], return_index=True)[1]
            flat, cls = flat[keep], cls[keep]
        label[flat] = cls
    return label.reshape(H, W), ignored


def strokes_to_points(
    layers: Sequence[str | os.PathLike | io.BytesIO | np.ndarray | None] | None,
    image_size: tuple[int, int],
    palette: np.ndarray,
    max_points: int = MAX_POINTS,
    max_distance: float = 60.0,
) -> tuple[list[tuple[int, int, int]], int]:
    """Painted layers -> ``(row, col, class)`` in image coordinates (see :func:`painted_map`),
    and the number of stroke pixels ignored. At most ``max_points`` points, evenly subsampled
    within each class (see :func:`subsample`)."""
    label, ignored = painted_map(layers, image_size, palette, max_distance)
    ys, xs = np.nonzero(label >= 0)
    if ys.size == 0:
        return [], ignored
    return subsample(np.stack([ys, xs, label[ys, xs]], 1), max_points), ignored


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


def parse_points(text: str | list | None, classes: Sequence[str], image_size: tuple[int, int],
                 names: list[str] | None = None) -> list[tuple[int, int, int]]:
    """JSON ``[[row, col, class], ...]`` (class: index or name) -> points; UserError on bad input.
    ``names``, when given, gets each class name as given (once), so the reply can say which were
    typos read as a class (``guide.dialogue.conversation.read_as_note``)."""
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
    except ValueError:  # e.g. an integer of more than 4,300 digits
        raise UserError("Points hold a number too large to read; expected [[y, x, class], ...] in image pixels.") from None
    if not isinstance(data, list) or not data:
        raise UserError("Points must be a non-empty list of [y, x, class].")
    if len(data) > MAX_POINTS_IN:
        raise UserError(f"That is {len(data):,} points; the most is {MAX_POINTS_IN:,} per call.")
    H, W = image_size
    points = []
    given: set[str] = set()
    for item in data:
        if not isinstance(item, list) or len(item) != 3:
            raise UserError(f"Each point must be [y, x, class]; got {_short_json(item)}.")
        y, x, c = item
        if not all(is_coordinate(v) for v in (y, x)):
            raise UserError(f"Point coordinates must be numbers; got {_short_json(item)}.")
        label = class_index(c, classes)
        if names is not None and isinstance(c, str) and c not in given:
            given.add(c)
            names.append(c)
        if label is None:
            raise UserError(f"Unknown class {quote(str(c) if isinstance(c, (str, int, float)) else _short_json(c))}. Classes: {', '.join(classes)}.")
        if 0 <= y < H and 0 <= x < W:
            points.append((int(y), int(x), label))
    if not points:
        raise UserError(f"No point lies inside the {W}x{H} image (points are [row, column, class]).")
    return subsample(points, MAX_POINTS)


def is_coordinate(v: Any) -> bool:
    """A usable pixel coordinate: a finite number of sane size (huge ints and NaN are not; a
    large float is, as far outside the image as it says)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return abs(v) < 2**31 if isinstance(v, int) else math.isfinite(v)


def readable_text(text: Any, what: str = "message") -> str:
    """``text`` as typed, or UserError when it cannot be shown or stored: not a string, or a
    lone UTF-16 surrogate (a broken emoji from a script; it would make the chat unsendable)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise UserError(f"That {what} is not text.")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise UserError(f"That {what} has a broken character (a lone UTF-16 surrogate); please type it again.")
    return text


def _short_json(value: Any) -> str:
    try:
        return json.dumps(value)[:60]
    except (TypeError, ValueError, RecursionError):
        return "something else"


def class_index(value: Any, classes: Sequence[str]) -> int | None:
    """A class given as an index or a name (see guide.core.classnames.resolve_class)."""
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
    from guide.core.labels import VOID
    from guide.dialogue.conversation import UNTOUCHED

    H, W = image_size
    pal = np.asarray(palette, dtype=np.int64).reshape(-1, 3)
    if void_colour is not None:
        pal = np.concatenate([pal, np.asarray(void_colour, dtype=np.int64).reshape(1, 3)])
    painted, ignored = painted_map(layers, image_size, pal)
    edits = np.full((H, W), UNTOUCHED, np.int16)
    hit = painted >= 0
    edits[hit] = painted[hit]
    if void_colour is not None:
        edits[painted == len(pal) - 1] = VOID
    return edits, ignored
