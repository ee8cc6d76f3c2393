"""Guide Me (CVPR 2018) as a Gradio app: correct a frozen segmentation network by
painting, chatting, or answering the questions it asks.

    python app.py                       # embedded default model, local only, offline
    python app.py --share               # public link (where the network allows)
    python app.py --model owner/name@rev --host 0.0.0.0 --port 7860

Every event has an ``api_name``, so a script can drive a whole conversation::

    from gradio_client import Client, handle_file
    c = Client("http://127.0.0.1:7860/")
    c.predict(handle_file("examples/scene_00.png"), api_name="/set_image")
    c.predict('[[40, 30, "coat"], [120, 80, "sand"]]', api_name="/guide_points")
    c.predict("there is a coat on the top left", api_name="/chat")
    c.predict(api_name="/ask"); c.predict("sky", api_name="/answer")
    c.predict(api_name="/undo")
    label_png, info_json = c.predict(api_name="/export")

Design: the app is a thin layer. Per browser tab, a ``gr.State`` holds plain data
(the image as numpy, ``GuideSession.get_state()``, the chat, a pending question).
One model is loaded per process; head features are cached per image (bounded
LRU keyed by an image hash) inside a ``GuideSession`` that is re-pointed at each
tab's state under a lock, so turns skip the head and tabs never share state.

Input limits: images above ``MAX_INPUT_PIXELS`` (50 MP) are refused before
decoding (decompression bombs); others are downscaled to ``MAX_SIDE`` (1024 px)
on the longer side. Text hints are capped at ``MAX_TEXT`` (500) characters;
a sketch is subsampled to at most ``MAX_POINTS`` (400) labelled pixels.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import re
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError  # noqa: E402

from guide.backprop import BackpropSettings  # noqa: E402
from guide.hub import load_model
from guide.model import GuidedModel, ModelLoadError  # noqa: E402
from guide.session import GuideSession, SessionOrderError, empty_state  # noqa: E402

try:  # ZeroGPU Spaces: inference functions borrow a GPU; elsewhere a no-op.
    import spaces  # type: ignore

    gpu = spaces.GPU
except ImportError:  # pragma: no cover - depends on the host

    def gpu(fn: Callable) -> Callable:
        return fn


ROOT = Path(__file__).resolve().parent
MAX_SIDE = 1024  # longer image side after downscaling
MAX_INPUT_PIXELS = 50_000_000  # refuse larger uploads without decoding them
MAX_TEXT = 500  # characters per chat message
MAX_POINTS = 400  # labelled pixels per sketch
MAX_CHAT = 200  # messages kept per conversation
DISPLAY_SIDE = 512  # small images are shown upscaled to this longer side
CACHE_SIZE = 16  # images whose head features stay cached
Image.MAX_IMAGE_PIXELS = MAX_INPUT_PIXELS  # PIL refuses (DecompressionBombError) beyond 2x this

NO_IMAGE = "Pick an example scene or upload an image first."
NO_TEXT_GUIDE = (
    "This model has no text guide yet, so I can't read hints. "
    "Paint on the image and press Guide, or press Ask me and answer my question."
)


class UserError(Exception):
    """A problem with what the user did; the message is shown to them as is."""


def raw_upload(component: gr.Image) -> gr.Image:
    """Make ``component`` hand the handler the uploaded file's path without opening it,
    so corrupt files and decompression bombs reach :func:`load_image`'s checks instead
    of failing inside Gradio. (An instance override: subclassing a component makes
    Gradio write a .pyi stub next to this file.)"""
    original = component.preprocess

    def preprocess(payload):
        if payload is None:
            return None
        if payload.url and payload.url.startswith("data:"):
            return original(payload)
        return payload.path

    component.preprocess = preprocess  # type: ignore[method-assign]
    return component


# --------------------------------------------------------------------------- images


def load_image(path: str | os.PathLike | None) -> tuple[np.ndarray, str]:
    """Decode an upload to HxWx3 uint8 RGB, downscaled to MAX_SIDE; returns (image, note)."""
    if not path:
        raise UserError(NO_IMAGE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_INPUT_PIXELS:
                    raise UserError(f"That image is {w}x{h} = {w * h / 1e6:.0f} MP; the limit is {MAX_INPUT_PIXELS / 1e6:.0f} MP.")
                im.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale
                im = ImageOps.exif_transpose(im)
                if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                    im = im.convert("RGBA")
                    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
                    im = Image.alpha_composite(white, im)
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


def image_key(image: np.ndarray) -> str:
    return hashlib.sha1(image.tobytes() + str(image.shape).encode()).hexdigest()


def display_size(h: int, w: int) -> tuple[int, int]:
    """(h, w) images are shown at: small images upscaled so the longer side is DISPLAY_SIDE."""
    s = max(1.0, DISPLAY_SIDE / max(h, w))
    return round(h * s), round(w * s)


def upscale(image: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
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
    (image coords), and, when ``changed`` (HxW bool) is given, everything else dimmed."""
    H, W = labels.shape
    size = display_size(H, W)
    img = upscale(image, size).astype(np.float32)
    lab = upscale(labels, size, nearest=True)
    colour = palette[lab].astype(np.float32)
    a = float(np.clip(opacity, 0.0, 1.0))
    out = img * (1 - a) + colour * a
    if changed is not None:
        ch = upscale(changed.astype(np.uint8) * 255, size, nearest=True) > 0
        out[~ch] = out[~ch] * 0.35 + 40
        out[ch] = colour[ch] * 0.85 + 38
    pil = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    if marker is not None:
        sy, sx = size[0] / H, size[1] / W
        y, x = (marker[0] + 0.5) * sy, (marker[1] + 0.5) * sx
        r = max(8, min(size) // 22)
        d = ImageDraw.Draw(pil)
        for width, fill in ((5, (0, 0, 0)), (2, (255, 255, 255))):
            d.ellipse([x - r, y - r, x + r, y + r], outline=fill, width=width)
            d.line([x - 2.2 * r, y, x - 0.5 * r, y], fill=fill, width=width)
            d.line([x + 0.5 * r, y, x + 2.2 * r, y], fill=fill, width=width)
            d.line([x, y - 2.2 * r, x, y - 0.5 * r], fill=fill, width=width)
            d.line([x, y + 0.5 * r, x, y + 2.2 * r], fill=fill, width=width)
    return np.asarray(pil)


def legend_html(classes: list[str], palette: np.ndarray, labels: np.ndarray | None) -> str:
    """Class colours and names; classes in the prediction first, with their share."""
    counts = np.bincount(labels.ravel(), minlength=len(classes)) if labels is not None else np.zeros(len(classes))
    total = max(1, int(counts.sum()))
    order = sorted(range(len(classes)), key=lambda k: (-counts[k], k))
    items = []
    for k in order:
        r, g, b = (int(v) for v in palette[k])
        share = f" {100 * counts[k] / total:.0f}%" if counts[k] else ""
        cls = "gm-item" if counts[k] else "gm-item gm-absent"
        items.append(
            f'<span class="{cls}"><span class="gm-swatch" style="background:rgb({r},{g},{b})"></span>'
            f"{_html(classes[k])}<small>{share}</small></span>"
        )
    return '<div class="gm-legend">' + "".join(items) + "</div>"


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rgb_css(c: Any) -> str:
    return f"rgb({int(c[0])}, {int(c[1])}, {int(c[2])})"


# --------------------------------------------------------------------------- sketches


def strokes_to_points(
    layers: list[np.ndarray] | None,
    image_size: tuple[int, int],
    palette: np.ndarray,
    max_points: int = MAX_POINTS,
    max_distance: float = 60.0,
) -> tuple[list[tuple[int, int, int]], int]:
    """Painted layers (RGBA, any size) -> ``(y, x, label)`` in image coordinates.

    Each stroke pixel's colour is mapped to the nearest palette colour (class);
    colours further than ``max_distance`` from every class are ignored (returned
    count). At most ``max_points`` points, subsampled evenly within each class
    so every painted class keeps some.
    """
    H, W = image_size
    labelled: dict[tuple[int, int], int] = {}
    ignored = 0
    pal = palette.astype(np.float32)
    for layer in layers or []:
        if layer is None:
            continue
        layer = np.asarray(layer)
        if layer.ndim != 3 or layer.shape[2] != 4:
            continue
        ys, xs = np.nonzero(layer[..., 3] > 127)
        if ys.size == 0:
            continue
        rgb = layer[ys, xs, :3].astype(np.float32)
        dist = ((rgb[:, None, :] - pal[None]) ** 2).sum(-1)
        label = dist.argmin(1)
        ok = dist[np.arange(len(label)), label] <= max_distance**2
        ignored += int((~ok).sum())
        h, w = layer.shape[:2]
        iy = np.minimum(H - 1, (ys * H / h).astype(int))
        ix = np.minimum(W - 1, (xs * W / w).astype(int))
        for y, x, lab in zip(iy[ok].tolist(), ix[ok].tolist(), label[ok].tolist()):
            labelled[(y, x)] = lab  # later layers win
    points = [(y, x, lab) for (y, x), lab in labelled.items()]
    return subsample(points, max_points), ignored


def subsample(points: list[tuple[int, int, int]], max_points: int) -> list[tuple[int, int, int]]:
    """At most ``max_points`` points, evenly strided within each class (deterministic)."""
    if len(points) <= max_points:
        return points
    by_class: dict[int, list[tuple[int, int, int]]] = {}
    for p in sorted(points):
        by_class.setdefault(p[2], []).append(p)
    share = max(1, max_points // len(by_class))
    out: list[tuple[int, int, int]] = []
    for pts in by_class.values():
        idx = np.linspace(0, len(pts) - 1, min(share, len(pts))).round().astype(int)
        out.extend(pts[i] for i in sorted(set(idx.tolist())))
    return out[:max_points]


def parse_points(text: str | list | None, classes: list[str], image_size: tuple[int, int]) -> list[tuple[int, int, int]]:
    """JSON ``[[y, x, class], ...]`` (class: index or name) -> points; UserError on bad input."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise UserError('No points given: send JSON like [[40, 30, "coat"], [120, 80, "sand"]].')
    try:
        data = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as e:
        raise UserError(f"Points are not valid JSON ({e.msg}); expected [[y, x, class], ...].") from None
    if not isinstance(data, list) or not data:
        raise UserError("Points must be a non-empty list of [y, x, class].")
    H, W = image_size
    points = []
    for item in data[:10_000]:
        if not isinstance(item, (list, tuple)) or len(item) != 3:
            raise UserError(f"Each point must be [y, x, class]; got {json.dumps(item)[:60]}.")
        y, x, c = item
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (y, x)):
            raise UserError(f"Point coordinates must be numbers; got {json.dumps(item)[:60]}.")
        label = class_index(c, classes)
        if label is None:
            raise UserError(f"Unknown class {c!r}. Classes: {', '.join(classes)}.")
        if 0 <= y < H and 0 <= x < W:
            points.append((int(y), int(x), label))
    if not points:
        raise UserError(f"No point lies inside the {W}x{H} image (points are [row, column, class]).")
    return subsample(points, MAX_POINTS)


def class_index(value: Any, classes: list[str]) -> int | None:
    """A class given as an index or a name (case-insensitive, close matches accepted)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer()):
        return int(value) if 0 <= int(value) < len(classes) else None
    if isinstance(value, str):
        return match_class(value, classes)
    return None


_FILLER = re.compile(r"^(?:(?:it|this|that)(?:'s| is)|i think(?: it's| it is)?|there(?:'s| is)|maybe|probably)?\s*(?:an?|the|some)?\s+", re.I)


def match_class(text: str, classes: list[str]) -> int | None:
    """Class index for an answer like "Coat", "a coat", "it's an ankle boot", "tshirt"."""
    t = " ".join(str(text).lower().replace("_", " ").split()).strip(" .!?,;:\"'")
    t = _FILLER.sub("", " " + t if not t.startswith(("it", "this", "that", "i ", "there", "maybe", "probably")) else t).strip()
    if not t or len(t) > 40:
        return None
    names = [c.lower() for c in classes]
    squash = [n.replace("-", "").replace(" ", "") for n in names]
    for cand in (t, t.rstrip("s")):
        if cand in names:
            return names.index(cand)
        c2 = cand.replace("-", "").replace(" ", "")
        if c2 in squash:
            return squash.index(c2)
    close = difflib.get_close_matches(t, names, n=1, cutoff=0.8)
    return names.index(close[0]) if close else None


# --------------------------------------------------------------------------- sessions


class SessionCache:
    """Bounded LRU: image hash -> GuideSession holding that image's head features.

    A cached session is only ever used under its lock and after ``set_state`` with
    the calling tab's state, so tabs sharing an image never see each other's turns.
    """

    def __init__(self, model: GuidedModel, backprop: BackpropSettings, size: int = CACHE_SIZE) -> None:
        self.model, self.backprop, self.size = model, backprop, size
        self._entries: OrderedDict[str, tuple[GuideSession, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def session(self, image: np.ndarray, key: str, state: dict[str, Any]) -> Iterator[GuideSession]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            else:
                entry = (GuideSession(self.model, self.backprop), threading.Lock())
                self._entries[key] = entry
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        session, lock = entry
        with lock:
            if not session.has_image:
                session.set_image(image)  # runs the head once per cached image
            session.set_state(state)
            yield session


def new_state() -> dict[str, Any]:
    """A browser tab's state: plain data only."""
    return {"image": None, "key": None, "name": "image", "session": empty_state(), "pending": None, "chat": []}


class GuideApp:
    """UI values <-> GuideSession. Every public method returns the common outputs."""

    def __init__(self, model: GuidedModel, backprop: BackpropSettings | None = None) -> None:
        self.model = model
        self.classes = list(model.classes)
        self.palette = np.array(model.config.palette[: model.num_classes], dtype=np.uint8)
        self.cache = SessionCache(model, backprop or BackpropSettings())

    # ------------------------------------------------------------ helpers

    @property
    def has_text_guide(self) -> bool:
        if self.model.text_guide is None:
            return False
        try:
            import guide.text.understand  # noqa: F401
        except ImportError:
            return False
        return True

    def info_markdown(self) -> str:
        text = "text guide ✓" if self.has_text_guide else "no text guide (painting and questions still work)"
        return f"Model: **{_html(self.model.config.name or 'unnamed')}** from {_html(self.model.source)} · {self.model.num_classes} classes · {text} · {self.model.device}"

    def _say(self, state: dict[str, Any], role: str, content: str) -> None:
        state["chat"].append({"role": role, "content": content})
        del state["chat"][:-MAX_CHAT]

    def _view(self, state: dict[str, Any], session: GuideSession | None, opacity: float, show_changes: bool):
        """(overlay, legend) for the state; ``session`` already set to the state."""
        if state["image"] is None or session is None:
            return None, legend_html(self.classes, self.palette, None)
        labels = session.predict()
        changed = None
        turns = state["session"]["turns"]
        if show_changes and turns:
            prev = dict(state["session"], turns=turns[:-1])
            session.set_state(prev)
            changed = labels != session.predict()
            session.set_state(state["session"])
        marker = tuple(state["pending"]) if state["pending"] else None
        overlay = render_overlay(state["image"], labels, self.palette, opacity, marker, changed)
        return overlay, legend_html(self.classes, self.palette, labels)

    def _outputs(self, state, session, opacity, show_changes, notice=""):
        """(state, overlay, chat, legend, status): what every event returns first."""
        overlay, legend = self._view(state, session, opacity, show_changes)
        turns = len(state["session"]["turns"])
        status = notice or (f"{turns} turn{'s' if turns != 1 else ''} so far." if state["image"] is not None else NO_IMAGE)
        return state, overlay, list(state["chat"]), legend, status

    def _fail(self, state, message: str, opacity: float, show_changes: bool, chat: bool = False):
        """Show ``message`` (toast + status, optionally in the chat); keep everything else."""
        gr.Warning(message)
        if chat:
            self._say(state, "assistant", message)
        if state["image"] is None:
            return self._outputs(state, None, opacity, show_changes, notice=message)
        with self.cache.session(state["image"], state["key"], state["session"]) as s:
            return self._outputs(state, s, opacity, show_changes, notice=message)

    def _run(self, state: dict[str, Any] | None, opacity: float, show_changes: bool, turn: Callable, chat_errors: bool = True):
        """Run ``turn(session, state) -> reply`` on the tab's state; errors become messages.

        Returns (outputs, ok): a failed turn leaves the conversation as it was."""
        state = state if isinstance(state, dict) and "chat" in state else new_state()
        if state["image"] is None:
            return self._fail(state, NO_IMAGE, opacity, show_changes), False
        try:
            with self.cache.session(state["image"], state["key"], state["session"]) as s:
                before = s.get_state()
                try:
                    reply = turn(s, state)
                except (UserError, ValueError, SessionOrderError) as e:
                    s.set_state(before)  # a failed turn leaves no trace
                    message = str(e) if not isinstance(e, SessionOrderError) else NO_TEXT_GUIDE
                    gr.Warning(message)
                    if chat_errors:
                        self._say(state, "assistant", message)
                    return self._outputs(state, s, opacity, show_changes, notice=message), False
                state["session"] = s.get_state()
                return self._outputs(state, s, opacity, show_changes, notice=reply or ""), True
        except Exception as e:  # never a dead session: report and keep the old state
            message = f"Something went wrong ({type(e).__name__}: {str(e)[:200]}); your conversation is unchanged."
            gr.Warning(message)
            return (state, gr.skip(), list(state["chat"]), gr.skip(), message), False

    def describe_changes(self, gained: dict[str, int]) -> str:
        changes = sorted(gained.items(), key=lambda kv: -abs(kv[1]))[:4]
        if not changes:
            return "The prediction did not change."
        return "Changed " + ", ".join(f"{n} {d:+,d} px" for n, d in changes) + "."

    def editor_value(self, image: np.ndarray | None) -> dict[str, Any]:
        if image is None:
            return {"background": None, "layers": [], "composite": None}
        bg = upscale(image, display_size(*image.shape[:2]))
        return {"background": bg, "layers": [], "composite": bg}

    # ------------------------------------------------------------ events

    def set_image(self, path: str | None, state: dict[str, Any] | None, opacity: float = 0.55, show_changes: bool = False):
        """A new image starts a new conversation."""
        state = state if isinstance(state, dict) and "chat" in state else new_state()
        if not path:  # the upload was cleared: keep the conversation
            return state, gr.skip(), list(state["chat"]), gr.skip(), "", gr.skip()
        try:
            image, note = load_image(path)
        except UserError as e:
            return (*self._fail(state, str(e), opacity, show_changes), gr.skip())
        fresh = new_state()
        fresh.update(image=image, key=image_key(image), name=Path(str(path)).stem[:60] or "image")
        with self.cache.session(image, fresh["key"], fresh["session"]) as s:
            labels = s.predict()
            counts = np.bincount(labels.ravel(), minlength=len(self.classes))
            top = [f"{self.classes[k]} {100 * counts[k] / labels.size:.0f}%" for k in np.argsort(-counts)[:4] if counts[k]]
            self._say(
                fresh,
                "assistant",
                f"New image, {image.shape[1]}x{image.shape[0]}{note}. I see {', '.join(top)}. "
                "Correct me: paint class colours and press **Guide**, tell me in words, or press **Ask me**.",
            )
            return (*self._outputs(fresh, s, opacity, show_changes, notice="Image loaded."), self.editor_value(image))

    def _apply_points(self, s: GuideSession, state: dict[str, Any], points: list[tuple[int, int, int]], what: str) -> str:
        result = s.add_clicks(points)
        reply = f"{result.reply} {self.describe_changes(result.gained)}"
        self._say(state, "user", what)
        self._say(state, "assistant", reply)
        return reply

    def guide_sketch(self, editor: dict[str, Any] | None, state, opacity: float = 0.55, show_changes: bool = False):
        """Strokes on the editor -> labelled pixels -> guide by backprop."""
        layers = (editor or {}).get("layers") if isinstance(editor, dict) else None

        def turn(s: GuideSession, st):
            points, ignored = strokes_to_points(layers, s.image_size, self.palette)
            if not points:
                raise UserError("Nothing painted yet: pick a class colour in the brush and paint over the part the network got wrong, then press Guide.")
            turns = st["session"]["turns"]
            if turns and turns[-1]["kind"] == "pixels" and turns[-1]["points"] == [list(p) for p in points]:
                raise UserError("Those strokes were already applied. Paint new ones, or press Undo.")
            names = sorted({self.classes[p[2]] for p in points})
            reply = self._apply_points(s, st, points, f"(painted) {', '.join(names)} ({len(points)} px)")
            return reply + (f" ({ignored} stroke pixels in non-class colours were ignored.)" if ignored else "")

        outputs, ok = self._run(state, opacity, show_changes, turn)
        return (*outputs, ok)  # ok: the strokes were applied (clear_strokes then clears them)

    def clear_strokes(self, state, applied: bool = True):
        """The editor with its strokes removed (after a successful Guide).

        A separate event: an ImageEditor that is both input and output of one event
        stays stuck in "processing" in Gradio 6's frontend."""
        if not applied or not isinstance(state, dict) or state.get("image") is None:
            return gr.skip()
        return self.editor_value(state["image"])

    def guide_points(self, points_json: str, state, opacity: float = 0.55, show_changes: bool = False):
        """API: ``[[y, x, class], ...]`` (class index or name) in image pixels."""

        def turn(s: GuideSession, st):
            points = parse_points(points_json, self.classes, s.image_size)
            names = sorted({self.classes[p[2]] for p in points})
            return self._apply_points(s, st, points, f"(marked) {', '.join(names)} ({len(points)} px)")

        return self._run(state, opacity, show_changes, turn)[0]

    def chat(self, message: str, state, opacity: float = 0.55, show_changes: bool = False):
        """A text hint, or the answer to a pending question when it names a class."""
        message = " ".join(str(message or "").split())

        def turn(s: GuideSession, st):
            if not message:
                raise UserError("Type a hint first, e.g. “there is a coat on the top left”.")
            if len(message) > MAX_TEXT:
                raise UserError(f"That message is {len(message)} characters; please keep hints under {MAX_TEXT}.")
            if st["pending"]:
                label = match_class(message, self.classes)
                if label is not None:
                    return self._answer(s, st, label, message)
                if len(message.split()) <= 2:
                    self._say(st, "user", message)
                    raise UserError(f"I don't know a class called “{message}”. Classes: {', '.join(self.classes)}.")
            self._say(st, "user", message)
            if not self.has_text_guide:
                self._say(st, "assistant", NO_TEXT_GUIDE)
                return NO_TEXT_GUIDE
            result = s.add_text(message)
            self._say(st, "assistant", result.reply)
            return result.reply

        outputs, ok = self._run(state, opacity, show_changes, turn)
        return (*outputs, "" if ok else gr.skip())  # clears the textbox once read

    def ask(self, state, opacity: float = 0.55, show_changes: bool = False):
        """The network asks about its least certain pixel (paper §4.1)."""

        def turn(s: GuideSession, st):
            try:
                y, x = s.ask()
            except ValueError:
                raise UserError("I have asked about every pixel already; I'm out of questions.") from None
            st["pending"] = [int(y), int(x)]
            probs = s.probabilities()[:, y, x]
            top = np.argsort(-probs)[:2]
            guess = " or ".join(f"**{self.classes[k]}** ({100 * probs[k]:.0f}%)" for k in top)
            q = f"What is here, at the crosshair (row {y}, column {x})? I'm torn between {guess}. Type a class name or pick one below."
            self._say(st, "assistant", q)
            return q

        return self._run(state, opacity, show_changes, turn)[0]

    def _answer(self, s: GuideSession, st: dict[str, Any], label: int, said: str) -> str:
        y, x = st["pending"]
        result = s.add_clicks([(y, x, label)])
        st["pending"] = None
        self._say(st, "user", said)
        reply = f"Thanks: that's {self.classes[label]}. {self.describe_changes(result.gained)}"
        self._say(st, "assistant", reply)
        return reply

    def answer(self, class_name: str | None, state, opacity: float = 0.55, show_changes: bool = False):
        """Answer the pending question with a class (name or index)."""

        def turn(s: GuideSession, st):
            if not st["pending"]:
                raise UserError("I haven't asked anything yet: press Ask me first.")
            label = class_index(class_name, self.classes) if class_name not in (None, "") else None
            if label is None:
                raise UserError(f"Unknown class “{class_name}”. Classes: {', '.join(self.classes)}.")
            return self._answer(s, st, label, f"It's {self.classes[label]}.")

        return self._run(state, opacity, show_changes, turn)[0]

    def undo(self, state, opacity: float = 0.55, show_changes: bool = False):
        def turn(s: GuideSession, st):
            if st["pending"]:
                st["pending"] = None
                msg = "Question withdrawn."
            elif s.undo():
                msg = f"Undone: back to {len(s.turns)} turn{'s' if len(s.turns) != 1 else ''}."
            else:
                raise UserError("Nothing to undo.")
            self._say(st, "assistant", f"↩ {msg}")
            return msg

        return self._run(state, opacity, show_changes, turn, chat_errors=False)[0]

    def reset(self, state, opacity: float = 0.55, show_changes: bool = False):
        def turn(s: GuideSession, st):
            s.reset()
            st["pending"] = None
            msg = "Back to the network's own prediction."
            self._say(st, "assistant", msg)
            return msg

        return self._run(state, opacity, show_changes, turn, chat_errors=False)[0]

    def view(self, state, opacity: float = 0.55, show_changes: bool = False):
        """Re-render (opacity / what-changed toggles)."""
        return self._run(state, opacity, show_changes, lambda s, st: "", chat_errors=False)[0]

    def export(self, state) -> list[str] | None:
        """Label map as a palette PNG (pixel = class index) + JSON (classes, palette, RLE)."""
        state = state if isinstance(state, dict) and "chat" in state else new_state()
        if state["image"] is None:
            gr.Warning(NO_IMAGE)
            return None
        with self.cache.session(state["image"], state["key"], state["session"]) as s:
            labels = s.predict()
        folder = Path(tempfile.mkdtemp(prefix="guideme-"))
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", state["name"]) or "image"
        png = folder / f"{stem}_labels.png"
        im = Image.fromarray(labels, mode="P")
        flat = [0] * 768
        for k, c in enumerate(self.palette.tolist()):
            flat[3 * k : 3 * k + 3] = c
        im.putpalette(flat)
        im.save(png)
        info = {
            "image": state["name"],
            "size": [int(labels.shape[0]), int(labels.shape[1])],
            "classes": self.classes,
            "palette": self.palette.tolist(),
            "model": {"name": self.model.config.name, "source": self.model.source},
            "turns": [
                {"kind": t["kind"], **({"text": t["text"]} if t["kind"] == "text" else {"points": len(t["points"])})}
                for t in state["session"]["turns"]
            ],
            "segmentation": {
                self.classes[k]: {"pixels": int((labels == k).sum()), "rle": rle_encode(labels == k)}
                for k in np.unique(labels).tolist()
            },
        }
        js = folder / f"{stem}_labels.json"
        js.write_text(json.dumps(info) + "\n")
        return [str(png), str(js)]


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """COCO-style uncompressed RLE: column-major run lengths, starting with a run of 0s."""
    flat = np.asarray(mask, dtype=np.uint8).ravel(order="F")
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]]))
    counts = runs.tolist() if flat[0] == 0 else [0, *runs.tolist()]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def rle_decode(rle: dict[str, Any]) -> np.ndarray:
    h, w = rle["size"]
    vals = np.zeros(sum(rle["counts"]), dtype=bool)
    pos = 0
    for i, n in enumerate(rle["counts"]):
        vals[pos : pos + n] = i % 2 == 1
        pos += n
    return vals.reshape((h, w), order="F")


# --------------------------------------------------------------------------- examples


def example_paths(n: int = 12) -> list[str]:
    """Example scenes: examples/scene_XX.png, else written from the scenes test split."""
    found = sorted(str(p) for p in (ROOT / "examples").glob("scene_[0-9][0-9].png"))
    if found:
        return found[:n]
    folder = ROOT / ".cache" / "examples"
    paths = [folder / f"scene_{i:02d}.png" for i in range(n)]
    if not all(p.is_file() for p in paths):
        try:
            from guide.data import SceneDataset

            folder.mkdir(parents=True, exist_ok=True)
            ds = SceneDataset("test")
            for i, p in enumerate(paths):
                Image.fromarray(ds[i][0]).save(p)
        except Exception:  # the scenes need skimage + Fashion-MNIST; the app works without examples
            return []
    return [str(p) for p in paths]


# --------------------------------------------------------------------------- UI

CSS = """
.gm-legend {display:flex; flex-wrap:wrap; gap:4px 10px; font-size:0.9em; line-height:1.6}
.gm-item {display:inline-flex; align-items:center; gap:5px; white-space:nowrap}
.gm-item small {opacity:0.7}
.gm-absent {opacity:0.45}
.gm-swatch {display:inline-block; width:14px; height:14px; border-radius:3px; border:1px solid rgba(0,0,0,0.35)}
#gm-title h1 {margin-bottom:0}
#gm-status {min-height:1.5em; font-size:0.9em}
"""


def theme() -> gr.themes.Base:
    system = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"]
    return gr.themes.Soft(primary_hue="teal", font=system, font_mono=["ui-monospace", "monospace"])


def launch_kwargs() -> dict[str, Any]:
    """Arguments for ``demo.launch`` (Gradio 6 takes theme and css there)."""
    return {"theme": theme(), "css": CSS}


def build_demo(model: GuidedModel, backprop: BackpropSettings | None = None, examples: list[str] | None = None) -> gr.Blocks:
    """The Blocks app for ``model`` (loaded once, shared by all tabs)."""
    app = GuideApp(model, backprop)
    classes = app.classes
    colours = [rgb_css(c) for c in app.palette]
    examples = example_paths() if examples is None else examples

    with gr.Blocks(title="Guide Me", delete_cache=(3600, 7200)) as demo:
        state = gr.State(new_state())
        gr.Markdown(
            "# Guide Me: talk to a segmentation network\n"
            "Pick or upload an image, then correct the network: **paint** class colours on the image and press **Guide**, "
            "**type** a hint like *“there is a coat on the top left”*, or press **Ask me** and answer its question. "
            "The network stays frozen; your hints steer its features "
            "([Rupprecht et al., CVPR 2018](https://arxiv.org/abs/1803.11544)).",
            elem_id="gm-title",
        )
        gr.Markdown(app.info_markdown())
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=200):
                upload = raw_upload(gr.Image(label="1 · Your image", type="filepath", sources=["upload", "clipboard"], height=220))
            with gr.Column(scale=4):
                if examples:
                    gr.Examples(examples=[[p] for p in examples], inputs=[upload], label="…or pick an example scene", examples_per_page=12)
        with gr.Row(equal_height=False):
            with gr.Column(scale=6):
                with gr.Row(equal_height=False):
                    with gr.Column(min_width=240):
                        overlay = gr.Image(label="What the network sees", interactive=False, format="png", height=400, elem_id="gm-overlay", buttons=["download", "fullscreen"])
                        opacity = gr.Slider(0.0, 1.0, value=0.55, step=0.05, label="Overlay opacity")
                        show_changes = gr.Checkbox(False, label="Highlight what the last turn changed")
                    with gr.Column(min_width=240):
                        editor = gr.ImageEditor(
                            label="2 · Paint",
                            type="numpy",
                            image_mode="RGBA",
                            sources=[],
                            transforms=[],
                            layers=False,
                            format="png",
                            height=400,
                            brush=gr.Brush(colors=colours, default_color=colours[0], color_mode="fixed", default_size=6),
                            elem_id="gm-editor",
                        )
                        brush_class = gr.Dropdown(classes, value=classes[0], label="Brush class (or pick a colour in the editor)")
                        guide_btn = gr.Button("Guide with my strokes", variant="primary", elem_id="gm-guide")
                legend = gr.HTML(legend_html(classes, app.palette, None), label="Classes")
                with gr.Row():
                    undo_btn = gr.Button("↩ Undo", min_width=80, elem_id="gm-undo")
                    reset_btn = gr.Button("Reset", min_width=80, elem_id="gm-reset")
            with gr.Column(scale=5):
                chatbot = gr.Chatbot(label="3 · Conversation", height=440, elem_id="gm-chat")
                with gr.Row():
                    msg = gr.Textbox(placeholder="there is a coat on the top left", show_label=False, max_length=MAX_TEXT * 2, scale=4, submit_btn=True, elem_id="gm-msg")
                with gr.Row():
                    ask_btn = gr.Button("Ask me a question", variant="secondary", scale=1, min_width=100, elem_id="gm-ask")
                    answer_class = gr.Dropdown(classes, value=None, label="Answer with a class", allow_custom_value=True, scale=2)
                    answer_btn = gr.Button("Answer", scale=1, min_width=80)
                status = gr.Markdown(NO_IMAGE, elem_id="gm-status")
                with gr.Accordion("Export", open=False):
                    export_btn = gr.Button("Export label map (PNG + JSON)")
                    files = gr.File(label="Label map (palette PNG, pixel = class index) and classes/RLE JSON", file_count="multiple", interactive=False)

        view_in = [opacity, show_changes]
        outs = [state, overlay, chatbot, legend, status]
        fast = dict(show_progress="minimal")
        upload.change(gpu(app.set_image), [upload, state, *view_in], [*outs, editor], api_name="set_image")
        applied = gr.State(False)
        guide_btn.click(gpu(app.guide_sketch), [editor, state, *view_in], [*outs, applied], api_name="guide", trigger_mode="once").then(
            app.clear_strokes, [state, applied], [editor], api_name="clear_strokes", show_progress="hidden"
        )
        # API-only: labelled points as JSON (no button; the hidden textbox carries the argument).
        points = gr.Textbox(visible=False)
        points.submit(gpu(app.guide_points), [points, state, *view_in], outs, api_name="guide_points")
        msg.submit(gpu(app.chat), [msg, state, *view_in], [*outs, msg], api_name="chat", trigger_mode="once")
        ask_btn.click(gpu(app.ask), [state, *view_in], outs, api_name="ask", trigger_mode="once")
        answer_btn.click(gpu(app.answer), [answer_class, state, *view_in], outs, api_name="answer", trigger_mode="once")
        undo_btn.click(gpu(app.undo), [state, *view_in], outs, api_name="undo", trigger_mode="once")
        reset_btn.click(gpu(app.reset), [state, *view_in], outs, api_name="reset", trigger_mode="once")
        opacity.release(gpu(app.view), [state, *view_in], outs, api_name="view", **fast)
        show_changes.change(gpu(app.view), [state, *view_in], outs, api_name="toggle_changes", **fast)
        export_btn.click(gpu(app.export), [state], [files], api_name="export")

        def set_brush(name: str):
            k = classes.index(name) if name in classes else 0
            return gr.ImageEditor(brush=gr.Brush(colors=colours, default_color=colours[k], color_mode="fixed", default_size=6))

        brush_class.change(set_brush, [brush_class], [editor], api_name="brush_class", **fast)
    demo.guide_app = app  # type: ignore[attr-defined]  # for tests and scripts
    return demo


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Guide Me: correct a segmentation network by painting, chatting and answering its questions.")
    p.add_argument("--model", default=None, help="model folder, checkpoints/ name, or Hub owner/name@rev (default: the embedded model)")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="address to listen on (0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 0)) or None, help="port (default: first free from 7860)")
    p.add_argument("--share", action="store_true", help="also create a public gradio.live link (needs internet)")
    p.add_argument("--concurrency", type=int, default=None, help="events run at once (default: 4 on GPU, 1 on CPU)")
    p.add_argument("--queue-size", type=int, default=64, help="most events waiting in the queue")
    args = p.parse_args(argv)
    try:
        model = load_model(args.model)
    except ModelLoadError as e:
        raise SystemExit(f"Could not load the model: {e}\nGive one with --model (a model folder, a checkpoints/ name, or owner/name@rev).") from None
    print(f"Loaded model {model.config.name or '?'} from {model.source} on {model.device}; text guide: {'yes' if model.text_guide is not None else 'no'}")
    demo = build_demo(model)
    concurrency = args.concurrency or (4 if model.device.type == "cuda" else 1)
    demo.queue(default_concurrency_limit=concurrency, max_size=args.queue_size)
    try:
        demo.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=False, quiet=True,
                    prevent_thread_lock=True, **launch_kwargs())
    except OSError as e:  # the port is taken, or the address cannot be bound
        raise SystemExit(f"Could not start the server on {args.host}:{args.port or '7860+'}: {e}\n"
                         "Pick another port with --port (or stop what is using it).") from None
    print(f"Guide Me is running on {demo.local_url}  (Ctrl+C stops it)")
    if demo.share_url:
        print(f"Public link: {demo.share_url}")
    elif args.share:
        print("No public link could be made (no internet here?); the local URL above works.")
    else:
        print("Add --share for a public link.")
    demo.block_thread()


if __name__ == "__main__":
    main()
