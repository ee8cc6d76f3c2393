"""Guide Me (CVPR 2018) as a Gradio app: correct a frozen segmentation network by
painting, chatting, or answering the questions it asks.

    python app.py                       # embedded default model, local only, offline
    python app.py --share               # public link (where the network allows)
    python app.py --model owner/name@rev --host 0.0.0.0 --port 7860
    GUIDE_MODEL=torchvision:lraspp_mobilenet_v3_large python app.py        # a real-photo model
    GUIDE_MODELS=scenes-lraspp,torchvision:deeplabv3_mobilenet_v3_large python app.py   # a model selector
    python app.py --images DIR --out DATASET   # annotate many images into a VOC + COCO data set

Every event has an ``api_name``, so a script can drive a whole conversation::

    from gradio_client import Client, handle_file
    c = Client("http://127.0.0.1:7860/")
    c.predict(handle_file("examples/scene_00.png"), api_name="/set_image")
    c.predict('[[40, 30, "coat"], [120, 80, "sand"]]', api_name="/guide_points")
    c.predict("there is a coat on the top left", api_name="/chat")
    c.predict(api_name="/ask"); c.predict("sky", api_name="/answer")
    c.predict(api_name="/undo")
    label_png, info_json = c.predict(api_name="/export")

and a whole data set: ``/open_images`` (files or zips), ``/paint`` (set labels by hand),
``/save``, ``/save_next``, ``/next``, ``/previous``, ``/go_to``, ``/download_dataset``.

This file is UI only: layout, handlers of a few lines, launch. What a conversation
means lives in guide/conversation.py (one tab's dialogue), guide/pool.py (many tabs
over one model), guide/uivalues.py (uploads, sketches, JSON points), guide/render.py
(overlay, legend), guide/export.py (label PNG + JSON), guide/annotate.py (many images,
one conversation each), guide/dataset.py (the VOC + COCO folder) and guide/batch.py
(checking a batch of files or zips).

Limits: uploads over ``MAX_UPLOAD`` are refused by the server, images over 50 MP before
decoding, sketch layers over 4 MP before decoding; at most ``MAX_TABS`` tab states are
kept, each for ``TAB_TTL`` seconds after its last change (see README, "Limits").
"""

from __future__ import annotations

import argparse
import io
from abc import ABCMeta
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402


from guide.backprop import BackpropSettings  # noqa: E402
from guide.conversation import MAX_TEXT, NO_IMAGE, Conversation, Reply, UserError, text_guide_ready  # noqa: E402
from guide.dataset import DatasetError  # noqa: E402
from guide.export import ExportFolders, write_export  # noqa: E402
from guide.domain import example_images, scene_examples  # noqa: E402
from guide.gradio_cache import write_cache_files_atomically  # noqa: E402
from guide.hub import describe_model, load_model  # noqa: E402
from guide.model import GuidedModel, ModelLoadError  # noqa: E402
from guide.pool import MAX_MODELS, ConversationPool, ModelShelf, blank_tab, is_tab  # noqa: E402
from guide.render import EditorBackgrounds, legend, render_layer  # noqa: E402
from guide.ui.guard import BodyLimit, guard_events, patient_startup_probe  # noqa: E402
from guide.ui.uploads import Refused, accept, freeze_examples, uploads_only  # noqa: E402
from guide.uivalues import BAD_SKETCH, MAX_LAYERS, TOO_MANY_LAYERS, load_image, parse_points, readable_text, strokes_to_points  # noqa: E402

from annotate_ui import AnnotatePanel  # noqa: E402
from guide.ui.teach import TeachPanel  # noqa: E402

# Two tabs returning the same picture share one cached file; Gradio rewrites it in place while it
# may be downloading (cut-short /answer overlays under load): docs/gradio-cache-race.md.
write_cache_files_atomically()

try:  # ZeroGPU Spaces: inference functions borrow a GPU; elsewhere a no-op.
    import spaces  # type: ignore

    gpu = spaces.GPU
    ZEROGPU = True
except ImportError:  # pragma: no cover - depends on the host
    ZEROGPU = False

    def gpu(fn: Callable) -> Callable:
        return fn


ROOT = Path(__file__).resolve().parent
MAX_UPLOAD = "20mb"  # per uploaded file (Gradio refuses larger ones before the app sees them)
MAX_TABS = 100  # tab states kept (oldest dropped first): each <= one image (3 MB) + MAX_TURNS turns (~6.5 MB)
TAB_TTL = 2 * 3600  # seconds a tab's state lives after its last change
MAX_BLOB = 16 * 2**20  # bytes per sketch layer the editor uploads
MAX_BLOB_SETS = 32  # sketches waiting to be read, per editor
MAX_BLOB_BYTES = 64 * 2**20  # bytes of sketch layers waiting to be read, per editor (oldest dropped first)
BLOB_TTL = 120.0  # seconds a sketch's uploaded layers wait for the event that reads them
# Models fed at most this side (the embedded ones) make a text turn, Ask me or Undo cost a few ms:
# those events then skip the queue (README, "Speed": the no-queue floor is ~40 ms under the queued one).
# Their messages then reach the page through the status line and the chat only (no toast).
LIGHT_SIDE = 256
EXPORT_TTL = 15 * 60  # seconds an export stays downloadable
CHOOSE_MODEL = "Choose one of the models in the list."


class _Lenient:
    """A Gradio data model that turns any payload it cannot parse into ``BAD_SKETCH``."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __getattr__(self, name: str) -> Any:  # schema, from_json, ...: the real model's
        return getattr(self.model, name)

    def model_validate(self, value: Any, **kwargs: Any) -> Any:
        try:
            return self.model.model_validate(value, **kwargs)
        except Exception:  # pydantic errors, recursion: any payload that is not a sketch
            return BAD_SKETCH


def _sketch_preprocess(self: gr.ImageEditor, payload: Any) -> list | str | None:
    """The layers unopened (file paths, or the PNG bytes the browser sent), or BAD_SKETCH."""
    if payload is None:
        return None
    if not isinstance(payload, self.data_model.model):
        return BAD_SKETCH
    if payload.id is not None:
        blobs = self.blob_storage.pop(payload.id, None)
        _blob_times(self).pop(payload.id, None)
        layers = [b for b in (blobs.layers if blobs else []) if b]
        return [io.BytesIO(b) for b in layers[:MAX_LAYERS]] if len(layers) <= MAX_LAYERS else Refused(TOO_MANY_LAYERS)
    if len(payload.layers) > MAX_LAYERS:  # refused before any layer is read
        return Refused(TOO_MANY_LAYERS)
    layers = [accept(layer, self) for layer in payload.layers]  # uploads only (guide/ui/uploads.py)
    refused = next((layer for layer in layers if isinstance(layer, Refused)), None)
    return refused if refused is not None else [io.BytesIO(v) if isinstance(v, bytes) else v for v in layers]


def _blob_times(editor: Any) -> dict[str, float]:
    """When each sketch waiting on ``editor`` (by blob id) last received a part (time.monotonic)."""
    return editor.__dict__.setdefault("_gm_blob_times", {})


def _sketch_accept_blobs(self: gr.ImageEditor, data: Any) -> Any:
    """The browser's layer uploads, bounded in index, size, age and bytes waiting. Only layers
    are kept (the background and composite are the server's own picture: never read back)."""
    index = data.data.get("index")
    if (index not in (None, "null") and not (str(index).isdigit() and int(index) < MAX_LAYERS)) or any(len(f[1]) > MAX_BLOB for f in data.files):
        raise gr.Error(BAD_SKETCH)
    if data.data.get("type") != "layer":
        return None
    times, now, blob_id = _blob_times(self), time.monotonic(), str(data.data.get("id"))
    for old in [k for k in self.blob_storage if now - times.get(k, 0.0) > BLOB_TTL and k != blob_id]:
        self.blob_storage.pop(old, None)
        times.pop(old, None)
    size = sum(len(f[1]) for f in data.files)
    waiting = {k: sum(len(b) for b in v.layers if b) for k, v in self.blob_storage.items()}
    if waiting.get(blob_id, 0) + size > MAX_BLOB_BYTES:
        raise gr.Error(BAD_SKETCH)
    for old in sorted((k for k in waiting if k != blob_id), key=lambda k: times.get(k, 0.0)):  # oldest first
        if len(self.blob_storage) < MAX_BLOB_SETS and sum(waiting.values()) + size <= MAX_BLOB_BYTES:
            break
        self.blob_storage.pop(old, None)
        times.pop(old, None)
        waiting.pop(old)
    times[blob_id] = now
    return gr.ImageEditor.accept_blobs(self, data)


_sketch_accept_blobs.__name__ = "accept_blobs"  # the frontend calls it by this name
_sketch_accept_blobs._is_server_fn = True  # type: ignore[attr-defined]
# An ImageEditor that hands the handler its layers unopened, so guide.uivalues checks their
# size before decoding and a malformed payload gets a message, not a traceback. A subclass
# (not an instance override) because Gradio rebuilds a component from its class when an
# event updates it (the brush colour); made without Gradio's metaclass hook, which would
# write a .pyi stub next to this file; ``is_template`` keeps the ImageEditor frontend.
SketchEditor = ABCMeta.__new__(
    type(gr.ImageEditor), "SketchEditor", (gr.ImageEditor,),
    {"__module__": __name__, "is_template": True, "data_model": _Lenient(gr.ImageEditor.data_model),
     "preprocess": _sketch_preprocess, "accept_blobs": _sketch_accept_blobs},
)


def legend_html(classes: list[str], palette: np.ndarray, labels: np.ndarray | None) -> str:
    items = "".join(
        f'<span class="gm-item{"" if it.share else " gm-absent"}"><span class="gm-swatch" style="background:rgb{it.rgb}"></span>'
        f"{_html(it.name)}<small>{f' {100 * it.share:.0f}%' if it.share else ''}</small></span>"
        for it in legend(classes, palette, labels)
    )
    return f'<div class="gm-legend">{items}</div>'


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def brush_colours(palette: np.ndarray) -> list[str]:
    return [f"rgb({r}, {g}, {b})" for r, g, b in palette.tolist()]


class GuideApp:
    """UI values <-> the tab's :class:`Conversation`. Events return (tab, overlay, chat, legend, status[, extra]).

    Models: ``shelf`` holds the loaded ones (a bounded LRU, guide/pool.py); a tab's state
    names its model (``tab["model"]``, None: ``model``, the default, held as ``spec``).
    The many-images panel annotates with the default model."""

    def __init__(self, model: GuidedModel, backprop: BackpropSettings | None = None, out: str | None = None,
                 allow_other_model: bool = False, shelf: ModelShelf | None = None, spec: str | None = None) -> None:
        self.default = spec or model.source or "default"
        self.shelf = shelf or ModelShelf(load_model, backprop, examples=example_images)
        self.pool = self.shelf.pool(self.default) if self.default in self.shelf.loaded() else self.shelf.add(self.default, model)
        self.model, self.classes, self.palette = model, self.pool.classes, self.pool.palette  # the default's
        self.annotate = AnnotatePanel(self, out, allow_other_model, MAX_UPLOAD)  # many images (annotate_ui.py)
        self.teach = TeachPanel(self)  # "Teach this model words" (guide/ui/teach.py, job in guide/teach.py)
        # inside Gradio's file cache, so the page fetches each export at its random folder's URL (no hashed copy)
        self.exports = ExportFolders(parent=Path(gr.utils.get_upload_folder()) / "guideme-exports", ttl=EXPORT_TTL)
        self.backgrounds = EditorBackgrounds()
        self.has_text_guide = text_guide_ready(model)
        self.galleries: list[tuple[str, ...]] = []  # example lists shown, one gr.Column each (build_demo)
        self.choices: list[str] = [self.default]  # the model specs the selector offers (build_demo)

    def _pool(self, tab: dict) -> ConversationPool:
        return self.shelf.pool(tab.get("model") or self.default)

    def info_markdown(self, pool: ConversationPool | None = None) -> str:
        model = (pool or self.pool).model
        text = "text guide ✓" if text_guide_ready(model) else "no text guide (painting and questions still work)"
        return f"Model: **{_html(model.config.name or 'unnamed')}** from {_html(model.source)} · {model.num_classes} classes · {text} · {model.device}"

    def _show(self, conv: Conversation, show_changes: bool, status: str, tab: dict | None = None,
              pool: ConversationPool | None = None):
        pool = pool or self.pool
        labels = conv.labels()
        changed = conv.changed() if show_changes else None
        lut = self.annotate.lut if pool is self.pool else pool.palette  # the default model's "unsure" colour too
        overlay = render_layer(labels, lut, tuple(conv.pending) if conv.pending else None, changed)  # the page lays it over the photo
        return tab or pool.tab(conv), overlay, list(conv.transcript), legend_html(pool.classes, pool.palette, labels), status

    def _run(self, tab: Any, show_changes: bool, act: Callable[[Conversation], Reply]):
        """``act`` on the tab's conversation -> (outputs, ok); a failed act leaves the tab as it was."""
        tab = tab if is_tab(tab) else blank_tab()
        try:
            pool = self._pool(tab)
            with pool.open(tab) as conv:
                return self._show(conv, show_changes, act(conv).text, pool=pool), True
        except UserError as e:
            message = str(e)
        except Exception as e:  # never a dead tab: report and keep the old state
            message = f"Something went wrong ({type(e).__name__}: {str(e)[:200]}); your conversation is unchanged."
        gr.Warning(message)
        return (tab, gr.skip(), gr.skip(), gr.skip(), message), False

    def editor_value(self, image: np.ndarray | None) -> dict[str, Any]:
        return self.pictures(image)[0]

    def pictures(self, image: np.ndarray | None) -> tuple[dict[str, Any], str | None]:
        """A new image's (editor, photo under the overlay): the same cached PNG for both."""
        bg = None if image is None else self.backgrounds.path(image)  # a cached PNG: no encoding per Guide
        return {"background": bg, "layers": [], "composite": bg}, bg

    # ------------------------------------------------------------ events

    def set_image(self, path: str | None, tab: Any, show_changes: bool = False):
        """A new image starts a new conversation (an emptied upload keeps the old one)."""
        tab = tab if is_tab(tab) else blank_tab()
        if not path:
            return tab, gr.skip(), gr.skip(), gr.skip(), "", gr.skip(), gr.skip()
        try:
            if isinstance(path, Refused):  # not this page's upload (guide/ui/uploads.py)
                raise UserError(path)
            image, note = load_image(io.BytesIO(path) if isinstance(path, bytes) else path)
        except UserError as e:
            gr.Warning(str(e))
            return tab, gr.skip(), gr.skip(), gr.skip(), str(e), gr.skip(), gr.skip()
        pool = self._pool(tab)
        with pool.start(image, "pasted" if isinstance(path, bytes) else Path(str(path)).stem, note) as conv:
            return (*self._show(conv, show_changes, "Image loaded.", pool=pool), *self.pictures(conv.image))

    def guide_sketch(self, layers: list | str | None, tab: Any, show_changes: bool = False):
        """Strokes on the editor -> labelled pixels -> guide by backprop; last output: applied."""

        def act(conv: Conversation) -> Reply:
            if isinstance(layers, str):  # BAD_SKETCH, or a Refused file's message
                raise UserError(layers)
            points, ignored = strokes_to_points(layers, conv.image.shape[:2], self._pool(tab).palette)
            note = f" ({ignored} stroke pixels in non-class colours were ignored.)" if ignored else ""
            return conv.guide_points(points, how="painted", note=note)

        outputs, ok = self._run(tab, show_changes, act)
        return (*outputs, ok)

    def clear_strokes(self, tab: Any, applied: bool = True):
        """The editor with its strokes removed (after a successful Guide or Set by hand; chained
        after the turn, which knows whether its strokes were applied)."""
        if not applied or not is_tab(tab) or tab["image"] is None:
            return gr.skip()
        return self.editor_value(tab["image"])

    def guide_points(self, points_json: str, tab: Any, show_changes: bool = False):
        """API: ``[[row, col, class], ...]`` (class index or name) in image pixels."""
        act = lambda conv: conv.guide_points(parse_points(points_json, conv.classes, conv.image.shape[:2]))  # noqa: E731
        return self._run(tab, show_changes, act)[0]

    def chat(self, message: str, tab: Any, show_changes: bool = False):
        """A hint in words, or the answer to a pending question; clears the textbox once read."""
        outputs, ok = self._run(tab, show_changes, lambda conv: conv.say(readable_text(message)))
        return (*outputs, "" if ok else gr.skip())

    def ask(self, tab: Any, show_changes: bool = False):
        return self._run(tab, show_changes, lambda conv: conv.ask())[0]

    def answer(self, class_name: str | None, tab: Any, show_changes: bool = False):
        said = str(class_name) if isinstance(class_name, (int, float)) else class_name  # a class index from a script
        return self._run(tab, show_changes, lambda conv: conv.answer(readable_text(said, "answer")))[0]

    def undo(self, tab: Any, show_changes: bool = False):
        return self._run(tab, show_changes, lambda conv: conv.undo())[0]

    def reset(self, tab: Any, show_changes: bool = False):
        return self._run(tab, show_changes, lambda conv: conv.reset())[0]

    def view(self, tab: Any, show_changes: bool = False, whole: bool = False):
        """Re-render (the what-changed toggle): no new state, nothing recomputed; the
        transcript and legend are resent only when ``whole`` (a tab that changed model)."""
        tab = tab if is_tab(tab) else blank_tab()
        try:
            pool = self._pool(tab)
            with pool.open(tab) as conv:
                n = len(conv.steps)
                shown = self._show(conv, show_changes, f"{n} turn{'s' if n != 1 else ''} so far.", tab=tab, pool=pool)
                return shown if whole else (shown[0], shown[1], gr.skip(), gr.skip(), shown[4])  # unchanged: not resent
        except UserError as e:
            return tab, gr.skip(), gr.skip(), gr.skip(), str(e)

    def export(self, tab: Any) -> list[str] | None:
        """Label map as a palette PNG (pixel = class index) + JSON (classes, palette, turns, COCO RLE)."""
        try:
            pool = self._pool(tab) if is_tab(tab) else self.pool
            with pool.open(tab) as conv:
                labels, turns, name = conv.labels(), conv.summary(), conv.name
        except UserError as e:
            gr.Warning(str(e))
            return None
        model = {"name": pool.model.config.name, "source": pool.model.source}
        return [str(p) for p in write_export(self.exports.new(), name, labels, pool.classes, pool.palette.tolist(), turns, model)]

    # ------------------------------------------------------------ the model selector

    def load_choice(self, spec: str, tab: Any, progress: gr.Progress = gr.Progress()):
        """Load the chosen model here, in the main process (never in a GPU worker) -> (selector, status, ok)."""
        current = (tab.get("model") if is_tab(tab) else None) or self.default
        if not isinstance(spec, str) or spec not in self.choices:  # only the models this server offers
            gr.Warning(CHOOSE_MODEL)
            return current, CHOOSE_MODEL, False
        progress(0, desc=f"Loading {spec} …")
        try:
            self.shelf.pool(spec)
        except ModelLoadError as e:
            gr.Warning(f"Could not load {spec}: {e}")
            return current, f"Could not load {_html(spec)}; still on {_html(current)}.", False
        return gr.skip(), f"Model {_html(spec)} ready.", True

    def switch_model(self, spec: str, tab: Any, show_changes: bool = False, ok: bool = True):
        """This tab moves to ``spec``'s model: a fresh conversation about its image, said in the chat."""
        tab = tab if is_tab(tab) else blank_tab()
        if not ok or not spec or spec == (tab["model"] or self.default):
            return tab, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            tab = self.shelf.switch(tab, spec, f"Switched to **{_html(describe_model(spec))}**: a fresh conversation with this model.")
        except ModelLoadError as e:
            gr.Warning(f"Could not load {spec}: {e}")
            return tab, gr.skip(), gr.skip(), gr.skip(), f"Could not load {_html(spec)}."
        pool = self._pool(tab)
        if tab["image"] is None:
            return tab, None, list(tab["transcript"]), legend_html(pool.classes, pool.palette, None), NO_IMAGE
        return self.view(tab, show_changes, whole=True)

    def _brushes(self, pool: ConversationPool) -> tuple[list[str], list[str]]:
        """(brush names, colours): the default model's include the panel's "unsure" brush."""
        if pool is self.pool:
            return self.annotate.brush_choices(), self.annotate.brush_colours()
        return pool.classes, brush_colours(pool.palette)

    def model_widgets(self, tab: Any):
        """What follows the tab's model: info, brush and answer classes, editor brush, examples shown."""
        pool = self._pool(tab) if is_tab(tab) else self.pool
        names, colours = self._brushes(pool)
        editor = SketchEditor(value=self.editor_value(tab["image"] if is_tab(tab) else None),
                              brush=gr.Brush(colors=colours, default_color=colours[0], color_mode="fixed", default_size=6))
        shown = tuple(pool.examples)
        return (self.info_markdown(pool), gr.Dropdown(choices=names, value=names[0]), gr.Dropdown(choices=pool.classes, value=None),
                editor, *[gr.Column(visible=g == shown) for g in self.galleries])

    def brush(self, name: str, tab: Any):
        names, colours = self._brushes(self._pool(tab) if is_tab(tab) else self.pool)
        k = names.index(name) if name in names else 0
        return SketchEditor(brush=gr.Brush(colors=colours, default_color=colours[k], color_mode="fixed", default_size=6))


def example_paths(n: int = 12) -> list[str]:
    """Example scenes: examples/scene_XX.png, else written from the scenes test split."""
    return [str(p) for p in scene_examples(n)]


VIEW_LABEL = "What the network sees"
OPACITY = 0.55  # the overlay's opacity at start
# The overlay's opacity, in the page: an SVG filter on the colour layer scales its alphas below 255 (the
# colours, guide/render.py COLOUR_ALPHA = 254, and the "what changed" dimming) by the slider's value and
# keeps 255 (the crosshair) opaque; moving the slider rewrites the filter's table, nothing else.
OPACITY_SVG = ('<svg width="0" height="0" aria-hidden="true"><filter id="gm-alpha" color-interpolation-filters="sRGB">'
               '<feComponentTransfer><feFuncA id="gm-alpha-fn" type="table" tableValues="0 1"/></feComponentTransfer></filter></svg>')
OPACITY_SET = ("window.gmOpacity = (a) => document.getElementById('gm-alpha-fn').setAttribute('tableValues',"
               " Array.from({length: 256}, (_, k) => k === 255 ? 1 : Math.min(1, a * k / 254)).join(' '));"
               f" window.gmOpacity({OPACITY});")
OPACITY_JS = "(a) => { window.gmOpacity(a); }"
CSS = """
.gm-legend {display:flex; flex-wrap:wrap; gap:4px 10px; font-size:0.9em; line-height:1.6}
.gm-item {display:inline-flex; align-items:center; gap:5px; white-space:nowrap}
.gm-item small {opacity:0.7}
.gm-absent {opacity:0.45}
.gm-swatch {display:inline-block; width:14px; height:14px; border-radius:3px; border:1px solid rgba(0,0,0,0.35)}
#gm-title h1 {margin-bottom:0}
#gm-status {min-height:1.5em; font-size:0.9em}
.gm-hidden {display:none !important}
#gm-overlay img, #gm-photo img {width:100%; height:100%; object-fit:contain}  /* drawn at the image's size (guide/render.py), scaled here */
/* the class colours over the photo, at the opacity slider's value (OPACITY_SVG): same label and height, so the same box */
#gm-view {position:relative; gap:0; padding:0}
#gm-overlay {position:absolute; inset:0; background:transparent !important; border-color:transparent !important; box-shadow:none !important}
#gm-overlay .image-container, #gm-overlay .image-frame, #gm-overlay button {background:transparent !important}
#gm-overlay img {filter:url(#gm-alpha)}
#gm-defs {position:absolute; width:0; height:0; overflow:hidden}
"""


def theme() -> gr.themes.Base:
    system = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"]
    return gr.themes.Soft(primary_hue="teal", font=system, font_mono=["ui-monospace", "monospace"])


def launch_kwargs(max_tabs: int = MAX_TABS) -> dict[str, Any]:
    """Arguments for ``demo.launch``: theme and css (Gradio 6 takes them there), the
    server's bounds (upload size, tab states kept, request bodies: guide/ui/guard.py), and no run history: Gradio's page would
    otherwise record every event's inputs and outputs (the whole chat each time) in the
    browser's localStorage, re-reading and re-writing that record at every event, which
    made each event slower as a session went on (a do-nothing event ~40 -> ~115 ms over 30
    rounds; README, "Speed"), and would keep people's photos and hints in their browser."""
    from starlette.middleware import Middleware

    return {"theme": theme(), "css": CSS, "max_file_size": MAX_UPLOAD, "state_session_capacity": max_tabs,
            "run_history": False, "app_kwargs": {"middleware": [Middleware(BodyLimit)]}}


def build_demo(model: GuidedModel, backprop: BackpropSettings | None = None, examples: list[str] | None = None,
               tab_ttl: float = TAB_TTL, out: str | None = None, allow_other_model: bool = False, shelf: ModelShelf | None = None,
               spec: str | None = None, choices: list[str] | None = None) -> gr.Blocks:
    """The Blocks app for ``model`` (loaded once, shared by all tabs); a tab's state lives
    ``tab_ttl`` seconds after its last change; ``out``: the data set folder every tab
    annotates into (without it, each tab's images go to a data set of its own, to download).
    ``choices`` (model specs, held by ``shelf``; ``spec`` names ``model``) fill a model
    selector when there are two or more; ``examples`` replaces the default model's own
    examples (guide/domain.py)."""
    app = GuideApp(model, backprop, out, allow_other_model, shelf, spec)
    classes = app.classes
    colours, brushes = app.annotate.brush_colours(), app.annotate.brush_choices()
    if examples is not None:
        app.pool.examples = [str(p) for p in examples]
    choices = list(dict.fromkeys([app.default, *(choices or [])]))
    app.choices = choices
    app.galleries = list(dict.fromkeys([tuple(app.pool.examples), *(tuple(app.shelf.example_files(c)) for c in choices)]))

    with gr.Blocks(title="Guide Me", delete_cache=(3600, 7200)) as demo:
        state = gr.State(blank_tab(), time_to_live=tab_ttl)
        gr.Markdown(
            "# Guide Me: talk to a segmentation network\n"
            "Pick or upload an image, then correct the network: **paint** class colours on the image and press **Guide**, "
            "**type** a hint like *“there is a coat on the top left”*, or press **Ask me** and answer its question. "
            "The network stays frozen; your hints steer its features "
            "([Rupprecht et al., CVPR 2018](https://arxiv.org/abs/1803.11544)).",
            elem_id="gm-title",
        )
        with gr.Row(equal_height=False):
            info = gr.Markdown(app.info_markdown())
            selector = gr.Dropdown([(describe_model(c), c) for c in choices], value=app.default, label="Model", visible=len(choices) > 1,
                                   elem_id="gm-model", scale=0, min_width=360)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=200):
                upload = uploads_only(gr.Image(label="1 · Your image", type="filepath", sources=["upload", "clipboard"], height=220))
            with gr.Column(scale=4):
                galleries = []  # one per example list; the tab's model decides which one shows
                for paths in app.galleries:
                    with gr.Column(visible=paths == tuple(app.pool.examples)) as gallery:
                        if paths:
                            gr.Examples(examples=[[p] for p in paths], inputs=[upload], label="…or pick an example", examples_per_page=12)
                    galleries.append(gallery)
        app.annotate.layout()
        app.teach.layout()
        with gr.Row(equal_height=False):
            with gr.Column(scale=6):
                with gr.Row(equal_height=False):
                    with gr.Column(min_width=240):
                        # The photo (set when the image changes) under the class colours (every turn), which the
                        # page draws at the slider's opacity: moving the slider sends nothing to the server.
                        with gr.Column(elem_id="gm-view"):
                            photo = gr.Image(label=VIEW_LABEL, interactive=False, height=400, elem_id="gm-photo", buttons=[])
                            overlay = gr.Image(label=VIEW_LABEL, interactive=False, format="png", height=400, elem_id="gm-overlay", buttons=[])  # (Export: the label map)
                            gr.HTML(OPACITY_SVG, elem_id="gm-defs", js_on_load=OPACITY_SET)
                        opacity = gr.Slider(0.0, 1.0, value=OPACITY, step=0.05, label="Overlay opacity", elem_id="gm-opacity")
                        show_changes = gr.Checkbox(False, label="Highlight what the last turn changed")
                    with gr.Column(min_width=240):
                        editor = SketchEditor(
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
                        brush_class = gr.Dropdown(brushes, value=classes[0], label="Brush class (or pick a colour in the editor)", allow_custom_value=True)
                        with gr.Row():
                            guide_btn = gr.Button("Guide with my strokes", variant="primary", elem_id="gm-guide")
                            paint_btn = gr.Button("Set by hand", min_width=90, elem_id="gm-paint")
                legend = gr.HTML(legend_html(classes, app.palette, None), label="Classes")
                with gr.Row():
                    undo_btn = gr.Button("↩ Undo", min_width=80, elem_id="gm-undo")
                    reset_btn = gr.Button("Reset", min_width=80, elem_id="gm-reset")
            with gr.Column(scale=5):
                chatbot = gr.Chatbot(label="3 · Conversation", height=440, elem_id="gm-chat")
                with gr.Row():
                    msg = gr.Textbox(placeholder="there is a coat on the top left", show_label=False, max_length=MAX_TEXT, scale=4, submit_btn=True, elem_id="gm-msg")
                with gr.Row():
                    ask_btn = gr.Button("Ask me a question", variant="secondary", scale=1, min_width=100, elem_id="gm-ask")
                    answer_class = gr.Dropdown(classes, value=None, label="Answer with a class", allow_custom_value=True, scale=2)
                    answer_btn = gr.Button("Answer", scale=1, min_width=80)
                status = gr.Markdown(NO_IMAGE, elem_id="gm-status")
                ping_btn = gr.Button("ping", elem_id="gm-ping", elem_classes="gm-hidden")  # the latency floors (experiments/browser_bench.py)
                ping_direct = gr.Button("ping", elem_id="gm-ping-direct", elem_classes="gm-hidden")
                with gr.Accordion("Export", open=False):
                    export_btn = gr.Button("Export label map (PNG + JSON)")
                    files = gr.File(label="Label map (palette PNG, pixel = class index) and classes/RLE JSON", file_count="multiple", interactive=False)

        view_in = [show_changes]
        outs = [state, overlay, chatbot, legend, status]
        # No event shows its progress on the editor or the chat (turns: on the overlay; the others on
        # small outputs of their own): at each later event's start and end Gradio's page reads back the
        # value of every component that was ever an event's progress target (by default its outputs),
        # and reading the editor fetches and re-uploads its background, composite and layers (14-19
        # requests a do-nothing click), reading the chat copies the whole conversation
        # (experiments/page_probe.py; README, "Speed"). tests/test_app.py checks the wiring.
        shown = dict(show_progress_on=[overlay])
        fast = dict(show_progress="minimal")  # the pings: progress on their one output, the status line
        quiet = dict(show_progress="hidden", **shown)
        # A turn shows its progress as a small timer on the overlay only, over the old picture: the default
        # (a grey cover and a timer on each of the five outputs) is page work that delays the stream the
        # result comes on (experiments/browser_trace.py).
        turn = dict(trigger_mode="once", show_progress="minimal", **shown)
        # On a light model (and never on ZeroGPU, whose GPU functions want the queue) text turns, Ask me
        # and Undo skip the queue too: one POST instead of a queue join and an event stream. A heavy
        # model's tail pass (a 520 px ResNet: ~1 s on CPU) stays in the queue, within its concurrency.
        light = not ZEROGPU and len(choices) == 1 and model.config.input_size <= LIGHT_SIDE
        quick = {**turn, "queue": False} if light else turn
        # Re-renders run no network (cached labels; under the pool's per-image lock) and change no state,
        # so they skip the queue: one POST, no queue join and event stream (queue=False; not a GPU function).
        free = dict(show_progress="minimal", queue=False, **shown)
        upload.change(gpu(app.set_image), [upload, state, *view_in], [*outs, editor, photo], api_name="set_image", **shown)
        applied = gr.State(False)
        # The strokes reach the server through a hidden twin of the editor, copied in the page (no server call):
        # the editor is never a backend event's input, which would also make it one Gradio's page reads at
        # every later event's start and end (see shown). The twin must stay hidden (visible=False): a hidden
        # component has no reader in the page, so it costs nothing to read back.
        strokes = SketchEditor(visible=False, type="numpy", image_mode="RGBA", format="png", label="strokes")

        def take_strokes(button: gr.Button):
            return button.click(None, [editor], [strokes], js="(v) => v", queue=False, api_name=False, show_progress="hidden",
                                trigger_mode="once")

        take_strokes(guide_btn).then(gpu(app.guide_sketch), [strokes, state, *view_in], [*outs, applied], api_name="guide", **turn).then(
            app.clear_strokes, [state, applied], [editor], api_name="clear_strokes", concurrency_limit=None, **quiet
        )
        # API-only: labelled points as JSON (no button; the hidden textbox carries the argument).
        points = gr.Textbox(visible=False)
        points.submit(gpu(app.guide_points), [points, state, *view_in], outs, api_name="guide_points", **shown)
        msg.submit(gpu(app.chat), [msg, state, *view_in], [*outs, msg], api_name="chat", **quick)
        ask_btn.click(gpu(app.ask), [state, *view_in], outs, api_name="ask", **quick)
        answer_btn.click(gpu(app.answer), [answer_class, state, *view_in], outs, api_name="answer", **turn)
        undo_btn.click(gpu(app.undo), [state, *view_in], outs, api_name="undo", **quick)
        reset_btn.click(gpu(app.reset), [state, *view_in], outs, api_name="reset", **turn)
        opacity.input(None, [opacity], None, js=OPACITY_JS, api_name=False)  # in the page only
        show_changes.change(app.view, [state, *view_in], outs, api_name="view", **free)  # cheap: no gpu, no queue
        export_btn.click(app.export, [state], [files], api_name="export")
        brush_class.change(app.brush, [brush_class, state], [editor], api_name="brush_class", **quiet)
        pings = iter(range(1, 2**62))  # the floors: an event that computes nothing, only the status line changes,
        ping = lambda: f"ping {next(pings)}"  # noqa: E731
        ping_btn.click(ping, None, [status], api_name="ping", **fast)  # through the queue
        ping_direct.click(ping, None, [status], api_name="ping_direct", **fast, queue=False)  # and without it

        # The model selector: load in this process (ZeroGPU: never inside a GPU worker), then a
        # fresh conversation on it (gpu: runs the head), then the widgets that follow the model.
        loaded = gr.State(False)
        selector.input(app.load_choice, [selector, state], [selector, status, loaded], api_name="load_model", show_progress="full").then(
            gpu(app.switch_model), [selector, state, *view_in, loaded], outs, api_name="switch_model", **shown
        ).then(app.model_widgets, [state], [info, brush_class, answer_class, editor, *galleries], api_name="model_widgets", **quiet)
        app.annotate.wire(demo, state, outs, editor, photo, view_in, paint_btn, tab_ttl, gpu, shown, strokes, take_strokes)
        app.teach.wire(demo)
    freeze_examples(upload)  # the example images count as this page's uploads (guide/ui/uploads.py)
    demo.guide_app = app  # type: ignore[attr-defined]  # for tests and scripts
    return guard_events(demo)  # a payload Gradio cannot read: a message, not a traceback (guide/ui/guard.py)


def model_specs(model: str | None, models: str | None) -> list[str]:
    """The default model's spec first, then the selector's (a comma list), each once."""
    from guide import DEFAULT_MODEL

    extra = [m.strip() for m in (models or "").split(",") if m.strip()]
    return list(dict.fromkeys([model or DEFAULT_MODEL, *extra]))


def demo_from_args(argv: list[str] | None = None) -> tuple[gr.Blocks, argparse.Namespace]:
    """Parse the command line (and GUIDE_MODEL / GUIDE_MODELS), load the models, build the app.
    Every model named is loaded once here, so a bad one stops the start with a message."""
    p = argparse.ArgumentParser(description="Guide Me: correct a segmentation network by painting, chatting and answering its questions.")
    p.add_argument("--model", default=os.environ.get("GUIDE_MODEL") or None,
                   help="default model: a model folder, checkpoints/ name, Hub owner/name@rev, or torchvision:ARCH (env GUIDE_MODEL; default: the embedded model)")
    p.add_argument("--models", default=os.environ.get("GUIDE_MODELS", ""),
                   help="comma list of model specs a model selector offers besides the default (env GUIDE_MODELS)")
    p.add_argument("--max-models", type=int, default=MAX_MODELS, help=f"models kept loaded at once (default {MAX_MODELS}; others reload when chosen)")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="address to listen on (0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 0)) or None, help="port (default: first free from 7860)")
    p.add_argument("--share", action="store_true", help="also create a public gradio.live link (needs internet)")
    p.add_argument("--concurrency", type=int, default=None, help="events run at once (default: 4 on GPU, 1 on CPU)")
    p.add_argument("--queue-size", type=int, default=64, help="most events waiting in the queue")
    p.add_argument("--out", default=None, help="annotate into this data set folder (PascalVOC + COCO; made if new, continued if not)")
    p.add_argument("--images", nargs="+", default=None, help="image files, folders or zips to add to --out before starting")
    p.add_argument("--allow-other-model", action="store_true", help="continue an --out data set made by another model (same classes)")
    args = p.parse_args(argv)
    if args.images and not args.out:
        p.error("--images needs --out DATASET (the folder the labels are saved in)")
    if args.max_models < 1:
        raise SystemExit("--max-models must be at least 1.")
    specs = model_specs(args.model, args.models)
    shelf = ModelShelf(load_model, size=args.max_models, examples=example_images)
    for spec in specs:
        try:
            shelf.add(spec, load_model(spec))
        except ModelLoadError as e:
            where = "--model / GUIDE_MODEL" if spec == specs[0] else "--models / GUIDE_MODELS"
            raise SystemExit(f"Could not load the model {spec!r} (from {where}): {e}\n"
                             "Give models as a model folder, a checkpoints/ name, owner/name@rev, or torchvision:ARCH.") from None
        default = shelf.pool(specs[0])  # kept the most recently used (reloaded if --max-models 1)
    try:
        demo = build_demo(default.model, out=args.out, allow_other_model=args.allow_other_model, shelf=shelf, spec=specs[0], choices=specs)
    except DatasetError as e:  # another model's data set, or a folder that is not one
        raise SystemExit(f"Could not open the data set: {e}") from None
    return demo, args


def main(argv: list[str] | None = None) -> None:
    demo, args = demo_from_args(argv)
    model = demo.guide_app.model  # type: ignore[attr-defined]
    print(f"Loaded model {model.config.name or '?'} from {model.source} on {model.device}; text guide: {'yes' if model.text_guide is not None else 'no'}")
    if args.out:
        ds = demo.guide_app.annotate.annotator.out  # type: ignore[attr-defined]
        if args.images:
            report = ds.open_paths(args.images)  # a data set folder or zip among them (this app's, or VOC) resumes
            print(report.summary(), *report.messages, sep="\n  ")
        print(f"Data set {ds.root}: {ds.progress_text()}")
    if any(text_guide_ready(m) for m in demo.guide_app.shelf.models()):  # type: ignore[attr-defined]
        # the GloVe vectors load once (~0.5 s): now, not at the first hint someone types
        from guide.text.vectors import load_vectors

        try:
            load_vectors()
        except Exception as e:  # noqa: BLE001 - the first hint tries again and says what failed
            print(f"Could not load the GloVe vectors yet ({type(e).__name__}: {e}); the first text hint will try again.")
    # CPU: 1 event at a time (experiments/load.py, 8 users on 2 cores: turn p95 0.6 s at 1, 1.1-1.3 s at 2 or 4)
    concurrency = args.concurrency or (4 if model.device.type == "cuda" else 1)
    demo.queue(default_concurrency_limit=concurrency, max_size=args.queue_size)
    patient_startup_probe()  # a restart on a busy machine still comes up (guide/ui/guard.py)
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
