"""The app's event handlers: UI values <-> the tab's :class:`Conversation` (guide/dialogue/conversation.py).
Layout and wiring: guide/ui/layout.py; the many-images panel: guide/ui/annotate.py."""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from guide.core.backprop import BackpropSettings
from guide.core.export import ExportFolders, write_export
from guide.core.guided import GuidedModel, ModelLoadError
from guide.core.settings import Settings
from guide.dialogue.conversation import NO_IMAGE, Conversation, Reply, UserError, read_as_note, text_guide_ready
from guide.dialogue.suggest import Suggestion
from guide.models.domain import example_images
from guide.models.hub import describe_model, load_model
from guide.serving.pagevalues import load_image, parse_points, readable_text, strokes_to_points
from guide.serving.pool import ConversationPool, ModelShelf, blank_tab, is_tab
from guide.serving.render import EditorBackgrounds, legend, render_layer
from guide.ui.annotate import AnnotatePanel
from guide.ui.editor import SketchEditor
from guide.ui.teach import TeachPanel
from guide.ui.tools import steps_time_line, suggestion_line, time_line
from guide.ui.uploads import Refused

MAX_UPLOAD = "20mb"  # per uploaded file (Gradio refuses larger ones before the app sees them)
EXPORT_TTL = 15 * 60  # seconds an export stays downloadable
CHOOSE_MODEL = "Choose one of the models in the list."
OPACITY = 0.55  # the overlay's opacity at start (the slider's value; the canvas a new image starts with)


def legend_html(classes: list[str], palette: np.ndarray, labels: np.ndarray | None) -> str:
    items = "".join(
        f'<span class="gm-item{"" if it.share else " gm-absent"}"><span class="gm-swatch" style="background:rgb{it.rgb}"></span>'
        f"{_html(it.name)}<small>{f' {100 * it.share:.0f}%' if it.share else ''}</small></span>"
        for it in legend(classes, palette, labels)
    )
    return f'<div class="gm-legend">{items}</div>'


def _html(s: str) -> str:
    return html.escape(s, quote=False)


def brush_colours(palette: np.ndarray) -> list[str]:
    return [f"rgb({r}, {g}, {b})" for r, g, b in palette.tolist()]


class GuideApp:
    """UI values <-> the tab's :class:`Conversation`. Events return (tab, overlay, chat, legend, status[, extra]).

    Models: ``shelf`` holds the loaded ones (a bounded LRU, guide/serving/pool.py); a tab's state
    names its model (``tab["model"]``, None: ``model``, the default, held as ``spec``).
    The many-images panel annotates with the default model."""

    def __init__(self, model: GuidedModel, backprop: BackpropSettings | None = None, out: str | None = None,
                 allow_other_model: bool = False, shelf: ModelShelf | None = None, spec: str | None = None,
                 settings: Settings | None = None) -> None:
        self.default = spec or model.source or "default"
        # settings (guide/core/settings.py): how every tab's session behaves, whole (python app.py --settings FILE.json)
        self.shelf = shelf or ModelShelf(load_model, backprop, examples=example_images, settings=settings)
        self.pool = self.shelf.pool(self.default) if self.default in self.shelf.loaded() else self.shelf.add(self.default, model)
        self.model, self.classes, self.palette = model, self.pool.classes, self.pool.palette  # the default's
        self.annotate = AnnotatePanel(self, out, allow_other_model, MAX_UPLOAD)  # many images (guide/ui/annotate.py)
        self.teach = TeachPanel(self)  # "Teach this model words" (guide/ui/teach.py, job in guide/training/teach.py)
        # inside Gradio's file cache, so the page fetches each export at its random folder's URL (no hashed copy)
        self.exports = ExportFolders(parent=Path(gr.utils.get_upload_folder()) / "guideme-exports", ttl=EXPORT_TTL)
        self.backgrounds = EditorBackgrounds()
        self.has_text_guide = text_guide_ready(model)
        self.galleries: list[tuple[str, ...]] = []  # example lists shown, one gr.Column each (build_demo)
        self.choices: list[str] = [self.default]  # the model specs the selector offers (build_demo)

    def pool_of(self, tab: dict) -> ConversationPool:
        return self.shelf.pool(tab.get("model") or self.default)

    def info_markdown(self, pool: ConversationPool | None = None) -> str:
        model = (pool or self.pool).model
        text = "text guide ✓" if text_guide_ready(model) else "no text guide (painting and questions still work)"
        return f"Model: **{_html(model.config.name or 'unnamed')}** from {_html(model.source)} · {model.num_classes} classes · {text} · {model.device}"

    def show(self, conv: Conversation, show_changes: bool, status: str, tab: dict | None = None,
              pool: ConversationPool | None = None):
        pool = pool or self.pool
        labels = conv.labels()
        changed = conv.changed() if show_changes else None
        lut = self.annotate.lut if pool is self.pool else pool.palette  # the default model's "unsure" colour too
        overlay = render_layer(labels, lut, tuple(conv.pending) if conv.pending else None, changed)  # the page lays it over the photo
        return tab or pool.tab(conv), overlay, list(conv.transcript), legend_html(pool.classes, pool.palette, labels), status

    def run(self, tab: Any, show_changes: bool, act: Callable[[Conversation], Reply]):
        """``act`` on the tab's conversation -> (outputs, ok); a failed act leaves the tab as it was."""
        tab = tab if is_tab(tab) else blank_tab()
        try:
            pool = self.pool_of(tab)
            with pool.open(tab) as conv:
                return self.show(conv, show_changes, act(conv).text, pool=pool), True
        except UserError as e:
            message = str(e)
        except Exception as e:  # never a dead tab: report and keep the old state
            message = f"Something went wrong ({type(e).__name__}: {str(e)[:200]}); your conversation is unchanged."
        gr.Warning(message)
        return (tab, gr.skip(), gr.skip(), gr.skip(), message), False

    def canvas(self, conv: Conversation, pool: ConversationPool, opacity: Any = OPACITY,
               suggestion: Suggestion | None = None) -> dict[str, Any]:
        """The editor's value as one canvas: the photo with the shown label map's class colours over it
        at ``opacity`` (the slider's value), the question's crosshair and a ring where the suggested next
        action points (``suggestion``, else ``conv.suggest()``); no strokes. The strokes a person paints
        on it are read as before (its layers, guide/serving/pagevalues.py)."""
        lut = self.annotate.lut if pool is self.pool else pool.palette
        suggestion = suggestion or conv.suggest()
        ring = suggestion.point if suggestion.action == "relabel" else None
        layer = render_layer(conv.labels(), lut, tuple(conv.pending) if conv.pending else None, ring=ring)
        alpha = float(opacity) if isinstance(opacity, (int, float)) and not isinstance(opacity, bool) and np.isfinite(opacity) else OPACITY
        bg = self.backgrounds.canvas(conv.image, layer, alpha)
        return {"background": bg, "layers": [], "composite": bg}

    def after_turn(self, tab: Any, opacity: Any, shown: Any = "", place: Any = None, force: bool = False, refilled: bool = False):
        """What the page runs after every turn -> (editor, canvas shown, time line, suggestion, strip,
        progress): the one canvas (sent only when its picture changed, or ``force``: strokes applied;
        ``refilled``: the event drew it at the starting opacity), the time spent against the same fixes
        by hand (guide/dialogue/cost.py), the suggested next action (guide/dialogue/suggest.py), and the data set strip
        (each image's status and time spent: guide/annotation/annotator.py)."""
        tab = tab if is_tab(tab) else blank_tab()
        strip, progress = self.annotate.strip_now(tab, place)
        if tab["image"] is None:
            return gr.skip(), shown, time_line(0.0), "", strip, progress
        pool = self.pool_of(tab)
        try:
            with pool.open(tab) as conv:
                hint = conv.suggest()
                value = self.canvas(conv, pool, opacity, hint)
                shown = self.canvas(conv, pool, OPACITY, hint)["background"] if refilled else shown
        except UserError:  # (a tab the server no longer holds: the turn itself said so)
            return gr.skip(), shown, steps_time_line(tab["steps"]), "", strip, progress
        editor = value if force or value["background"] != shown else gr.skip()
        return editor, value["background"], steps_time_line(tab["steps"]), suggestion_line(hint), strip, progress

    def after_image(self, tab: Any, opacity: Any, shown: Any = "", place: Any = None):
        """:meth:`after_turn` after a new image, a move or a model: the editor got the canvas at the starting opacity."""
        return self.after_turn(tab, opacity, shown, place, refilled=True)

    def after_strokes(self, tab: Any, opacity: Any, shown: Any = "", place: Any = None, applied: bool = False):
        """:meth:`after_turn` after Guide or Set by hand: strokes applied leave a fresh canvas."""
        return self.after_turn(tab, opacity, shown, place, force=bool(applied))

    def editor_value(self, image: np.ndarray | None) -> dict[str, Any]:
        return self.pictures(image)[0]

    def pictures(self, image: np.ndarray | None, conv: Conversation | None = None,
                 pool: ConversationPool | None = None) -> tuple[dict[str, Any], str | None]:
        """A new image's (editor, photo under the overlay): with ``conv``, the editor is the one canvas
        at the starting opacity (:meth:`canvas`); else the same cached PNG for both."""
        bg = None if image is None else self.backgrounds.path(image)  # a cached PNG: no encoding per Guide
        if conv is not None:
            return self.canvas(conv, pool or self.pool, OPACITY), bg
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
        pool = self.pool_of(tab)
        with pool.start(image, "pasted" if isinstance(path, bytes) else Path(str(path)).stem, note) as conv:
            return (*self.show(conv, show_changes, "Image loaded.", pool=pool), *self.pictures(conv.image, conv, pool))

    def guide_sketch(self, layers: list | str | None, tab: Any, show_changes: bool = False):
        """Strokes on the editor -> labelled pixels -> guide by backprop; last output: applied."""

        def act(conv: Conversation) -> Reply:
            if isinstance(layers, str):  # BAD_SKETCH, or a Refused file's message
                raise UserError(layers)
            points, ignored = strokes_to_points(layers, conv.image.shape[:2], self.pool_of(tab).palette)
            note = f" ({ignored} stroke pixels in non-class colours were ignored.)" if ignored else ""
            return conv.guide_points(points, how="painted", note=note)

        outputs, ok = self.run(tab, show_changes, act)
        return (*outputs, ok)

    def clear_strokes(self, tab: Any, applied: bool = True):
        """The editor with its strokes removed (after a successful Guide or Set by hand; chained
        after the turn, which knows whether its strokes were applied)."""
        if not applied or not is_tab(tab) or tab["image"] is None:
            return gr.skip()
        return self.editor_value(tab["image"])

    def guide_points(self, points_json: str, tab: Any, show_changes: bool = False):
        """API: ``[[row, col, class], ...]`` (class index or name) in image pixels."""
        def act(conv: Conversation) -> Reply:
            names: list[str] = []  # the class names as given: a typo read as a class is said in the reply
            points = parse_points(points_json, conv.classes, conv.image.shape[:2], names=names)
            return conv.guide_points(points, note=read_as_note(names, conv.classes))

        return self.run(tab, show_changes, act)[0]

    def chat(self, message: str, tab: Any, show_changes: bool = False):
        """A hint in words, or the answer to a pending question; clears the textbox once read."""
        outputs, ok = self.run(tab, show_changes, lambda conv: conv.say(readable_text(message)))
        return (*outputs, "" if ok else gr.skip())

    def ask(self, tab: Any, show_changes: bool = False):
        return self.run(tab, show_changes, lambda conv: conv.ask())[0]

    def answer(self, class_name: str | None, tab: Any, show_changes: bool = False):
        said = str(class_name) if isinstance(class_name, (int, float)) else class_name  # a class index from a script
        return self.run(tab, show_changes, lambda conv: conv.answer(readable_text(said, "answer")))[0]

    def undo(self, tab: Any, show_changes: bool = False):
        return self.run(tab, show_changes, lambda conv: conv.undo())[0]

    def reset(self, tab: Any, show_changes: bool = False):
        return self.run(tab, show_changes, lambda conv: conv.reset())[0]

    def view(self, tab: Any, show_changes: bool = False, whole: bool = False):
        """Re-render (the what-changed toggle): no new state, nothing recomputed; the
        transcript and legend are resent only when ``whole`` (a tab that changed model)."""
        tab = tab if is_tab(tab) else blank_tab()
        try:
            pool = self.pool_of(tab)
            with pool.open(tab) as conv:
                n = len(conv.steps)
                shown = self.show(conv, show_changes, f"{n} turn{'s' if n != 1 else ''} so far.", tab=tab, pool=pool)
                return shown if whole else (shown[0], shown[1], gr.skip(), gr.skip(), shown[4])  # unchanged: not resent
        except UserError as e:
            return tab, gr.skip(), gr.skip(), gr.skip(), str(e)

    def export(self, tab: Any) -> list[str] | None:
        """Label map as a palette PNG (pixel = class index) + JSON (classes, palette, turns, COCO RLE)."""
        try:
            pool = self.pool_of(tab) if is_tab(tab) else self.pool
            with pool.open(tab) as conv:
                labels, turns, name, actions = conv.labels(), conv.summary(), conv.name, conv.actions()
        except UserError as e:
            gr.Warning(str(e))
            return None
        model = {"name": pool.model.config.name, "source": pool.model.source}
        return [str(p) for p in write_export(self.exports.new(), name, labels, pool.classes, pool.palette.tolist(), turns, model, actions)]

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
        pool = self.pool_of(tab)
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
        pool = self.pool_of(tab) if is_tab(tab) else self.pool
        names, colours = self._brushes(pool)
        editor = SketchEditor(value=self._refill_editor(tab, pool),
                              brush=gr.Brush(colors=colours, default_color=colours[0], color_mode="fixed", default_size=6))
        shown = tuple(pool.examples)
        return (self.info_markdown(pool), gr.Dropdown(choices=names, value=names[0]), gr.Dropdown(choices=pool.classes, value=None),
                editor, *[gr.Column(visible=g == shown) for g in self.galleries])

    def _refill_editor(self, tab: Any, pool: ConversationPool) -> dict[str, Any]:
        """The editor for the tab's image: the canvas (no image: empty)."""
        if not is_tab(tab) or tab["image"] is None:
            return self.editor_value(None)
        with pool.open(tab) as conv:
            return self.pictures(conv.image, conv, pool)[0]

    def brush(self, name: str, tab: Any):
        names, colours = self._brushes(self.pool_of(tab) if is_tab(tab) else self.pool)
        k = names.index(name) if name in names else 0
        return SketchEditor(brush=gr.Brush(colors=colours, default_color=colours[k], color_mode="fixed", default_size=6))

