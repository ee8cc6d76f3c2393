"""The app's "annotate many images" panel (issue 13): handlers, layout, events and keyboard
shortcuts, apart from app.py so it wires in a few lines. UI only: what it means lives in
guide/annotate.py (many images, one conversation each), guide/dataset.py (the VOC + COCO
folder) and guide/batch.py (checking a batch of files or zips).

Wiring in app.py (``app`` is the ``GuideApp``: it provides ``model``, ``pool``, ``palette``,
``_show``, ``_run`` and ``pictures``)::

    panel = AnnotatePanel(app, out, allow_other_model)   # GuideApp.__init__: self.annotate
    render_layer(..., panel.lut, ...)                    # GuideApp._show: "unsure" pixels drawn
    brush colours / choices: panel.brush_colours(), panel.brush_choices()
    panel.layout()                                       # in the Blocks, where the panel goes
    panel.wire(demo, state, outs, editor, photo, view_in, paint_btn, tab_ttl, gpu, shown, strokes, take_strokes)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import gradio as gr
import numpy as np

from guide.annotate import MARKS_HELP, Annotator, blank_place
from guide.conversation import Conversation, Reply, UserError
from guide.dataset import DatasetError
from guide.labels import VOID
from guide.pool import is_tab
from guide.uivalues import BAD_SKETCH, strokes_to_edits

UNSURE = "unsure (void)"  # the brush that marks pixels as no class (255 in the saved PNG)
#: Keyboard shortcuts (when no text box has the focus): key -> (button elem_id, what it does).
SHORTCUTS = {"g": ("gm-guide", "guide"), "h": ("gm-paint", "set by hand"), "u": ("gm-undo", "undo"),
             "a": ("gm-ask", "ask me"), "s": ("gm-save-next", "save & next"), "n": ("gm-next", "next"),
             "p": ("gm-prev", "previous")}
KEYS_HELP = ("Keys (when not typing): " + " · ".join(f"<kbd>{k.upper()}</kbd> {what}" for k, (_, what) in SHORTCUTS.items())
             + " · <kbd>1</kbd>–<kbd>9</kbd> answer the question with class 1–9 of the brush list.")


def unsure_colour(palette: np.ndarray) -> tuple[int, int, int]:
    """The brush colour for "unsure" (void): of a few candidates, the one furthest from every
    class colour, so a Guide press never reads it as a class."""
    candidates = np.array([[224, 224, 192], [255, 255, 255], [0, 0, 0], [255, 0, 255], [128, 128, 128], [0, 255, 255]])
    dist = ((candidates[:, None, :] - np.asarray(palette, dtype=int)[None]) ** 2).sum(-1).min(1)
    return tuple(int(v) for v in candidates[dist.argmax()])


def shortcuts_js(classes: list[str]) -> str:
    """Browser code for :data:`SHORTCUTS`: a key presses its button; a digit answers the
    pending question with that class (typed into the chat box and sent)."""
    keys = {k: elem for k, (elem, _) in SHORTCUTS.items()}
    return f"""() => {{
  const keys = {json.dumps(keys)}, classes = {json.dumps(classes[:9])};
  document.addEventListener("keydown", (e) => {{
    const t = e.target, tag = (t && t.tagName || "").toLowerCase();
    if (e.ctrlKey || e.metaKey || e.altKey || tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable)) return;
    const k = e.key.toLowerCase();
    if (keys[k]) {{
      const b = document.getElementById(keys[k]);
      if (b) {{ e.preventDefault(); b.click(); }}
    }} else if (/^[1-9]$/.test(k) && classes[+k - 1]) {{
      const box = document.querySelector("#gm-msg textarea"), send = document.querySelector("#gm-msg button");
      if (!box || !send) return;
      e.preventDefault();
      box.value = classes[+k - 1];
      box.dispatchEvent(new Event("input", {{bubbles: true}}));
      setTimeout(() => send.click(), 50);
    }}
  }});
}}"""


class AnnotatePanel:
    """Handlers and components of the many-images panel for one ``GuideApp``."""

    def __init__(self, app: Any, out: str | None = None, allow_other_model: bool = False, max_upload: str = "") -> None:
        self.app = app
        self.annotator = Annotator(app.model, app.pool, out, allow_other_model)
        self.out, self.max_upload = out, max_upload
        self.unsure = unsure_colour(app.palette)
        self.lut = np.zeros((256, 3), np.uint8)  # label -> display colour, "unsure" (VOID) included
        self.lut[: len(app.palette)], self.lut[VOID] = app.palette, self.unsure

    def brush_choices(self) -> list[str]:
        return [*self.app.classes, UNSURE]

    def brush_colours(self) -> list[str]:
        return [f"rgb({r}, {g}, {b})" for r, g, b in [*np.asarray(self.app.palette).tolist(), self.unsure]]

    # ------------------------------------------------------------ handlers

    def paint_sketch(self, layers: list | str | None, tab: Any, show_changes: bool = False):
        """Strokes on the editor -> labels set by hand over the prediction (a hand fix, not a hint)."""

        def act(conv: Conversation) -> Reply:
            if isinstance(layers, str):
                raise UserError(BAD_SKETCH)
            return conv.paint(strokes_to_edits(layers, conv.image.shape[:2], self.app.palette, self.unsure)[0])

        outputs, ok = self.app._run(tab, show_changes, act)
        return (*outputs, ok)

    def _annotate(self, act: Callable[[], tuple], show_changes: bool, moved: bool = True):
        """Run a data set ``act`` -> (tab, place, message); outputs: the app's common five, the
        place, the editor and the photo (when the image changed), the thumbnail strip and the progress."""
        try:
            tab, place, message = act()
        except (UserError, DatasetError) as e:
            gr.Warning(str(e))
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), str(e), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        items, current, progress = self.annotator.strip(place)
        strip = gr.Gallery(value=items, selected_index=current)
        if not is_tab(tab) or tab["image"] is None:
            return tab, gr.skip(), gr.skip(), gr.skip(), message, place, gr.skip(), gr.skip(), strip, progress
        with self.app.pool.open(tab) as conv:
            shown = self.app._show(conv, show_changes, message, tab)
        pictures = self.app.pictures(tab["image"]) if moved else (gr.skip(), gr.skip())
        return (*shown, place, *pictures, strip, progress)

    def open_images(self, files: list[str] | None, tab: Any, place: Any, show_changes: bool = False):
        """Image files or zips -> the data set; shows the first image not saved."""
        return self._annotate(lambda: self.annotator.open_images(files, tab, place), show_changes)

    def resume(self, tab: Any, place: Any, show_changes: bool = False):
        """A new tab on a server's data set (--out) opens where the work stopped."""
        return self._annotate(lambda: self.annotator.resume(tab, place), show_changes)

    def save(self, tab: Any, place: Any, show_changes: bool = False):
        return self._annotate(lambda: self.annotator.save(tab, place), show_changes, moved=False)

    def save_and_next(self, tab: Any, place: Any, show_changes: bool = False):
        return self._annotate(lambda: self.annotator.save_and_next(tab, place), show_changes)

    def next_image(self, tab: Any, place: Any, show_changes: bool = False):
        return self._annotate(lambda: self.annotator.step(tab, place, +1), show_changes)

    def previous(self, tab: Any, place: Any, show_changes: bool = False):
        return self._annotate(lambda: self.annotator.step(tab, place, -1), show_changes)

    def go_to(self, image_id: str, tab: Any, place: Any, show_changes: bool = False):
        """API: open the data set image ``image_id``."""
        return self._annotate(lambda: self.annotator.go(tab, place, str(image_id or "")), show_changes)

    def pick(self, tab: Any, place: Any, show_changes: bool, evt: gr.SelectData):
        """A click on the thumbnail strip."""
        return self._annotate(lambda: self.annotator.go_index(tab, place, int(evt.index)), show_changes)

    def download_dataset(self, tab: Any, place: Any) -> str | None:
        """The data set as one zip (its path)."""
        try:
            return self.annotator.download(tab, place)
        except (UserError, DatasetError) as e:
            gr.Warning(str(e))
            return None

    # ------------------------------------------------------------ layout and events

    def layout(self) -> None:
        """The panel's components (call inside the Blocks, where the panel goes)."""
        with gr.Accordion("Annotate many images into a data set (PascalVOC + COCO)", open=self.out is not None, elem_id="gm-annotate"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=220):
                    self.batch = gr.File(label="Images to annotate (image files or a zip)", file_count="multiple", type="filepath",
                                         height=130, elem_id="gm-batch")
                    upload = f" Uploads: {self.max_upload} per file;" if self.max_upload else ""
                    gr.Markdown(f"<small>{self.annotator.limits}{upload} for more, run "
                                "<code>python app.py --images DIR --out DATASET</code>.</small>")
                    self.download_btn = gr.Button("Download the data set (zip)", size="sm", elem_id="gm-download")
                    self.dataset_file = gr.File(label="Data set (zip)", interactive=False, visible=False, elem_id="gm-dataset-file")
                with gr.Column(scale=5):
                    self.strip = gr.Gallery(label=f"Images (click one to open it) · {MARKS_HELP}", columns=10, rows=1, height=170,
                                            fit_columns=False, allow_preview=False, object_fit="contain", elem_id="gm-strip")
                    with gr.Row(equal_height=True):
                        self.progress = gr.Markdown("", elem_id="gm-progress")
                        self.prev_btn = gr.Button("◀ Previous", min_width=90, elem_id="gm-prev")
                        self.save_btn = gr.Button("Save", min_width=70, elem_id="gm-save")
                        self.save_next_btn = gr.Button("Save & next ▶", variant="primary", min_width=110, elem_id="gm-save-next")
                        self.next_btn = gr.Button("Next ▶", min_width=80, elem_id="gm-next")
                    gr.Markdown(f"<small>{KEYS_HELP}</small>", elem_id="gm-keys")

    def wire(self, demo: gr.Blocks, state: gr.State, outs: list, editor: Any, photo: Any, view_in: list, paint_btn: gr.Button,
             tab_ttl: float, gpu: Callable[[Callable], Callable], shown: dict, strokes: Any, take_strokes: Callable[[gr.Button], Any]) -> None:
        """The panel's events (after :meth:`layout`), each with an ``api_name``, and the shortcuts;
        ``editor`` and ``photo`` (under the overlay) are set when the image changes; ``shown``: where
        the events show their progress (app.py: never on the editor or the chat); ``take_strokes(button)``:
        the button's click copies the editor's strokes into ``strokes``, the paint event's input."""
        applied = gr.State(False)
        take_strokes(paint_btn).then(gpu(self.paint_sketch), [strokes, state, *view_in], [*outs, applied], api_name="paint", trigger_mode="once", **shown).then(
            self.app.clear_strokes, [state, applied], [editor], api_name="clear_paint", show_progress="hidden", **shown
        )
        place = gr.State(blank_place(), time_to_live=tab_ttl)
        self.place = place  # the tab's data set, also read by the teach panel (guide/ui/teach.py)
        moved = [*outs, place, editor, photo, self.strip, self.progress]
        with_place = [state, place, *view_in]
        self.batch.upload(gpu(self.open_images), [self.batch, *with_place], moved, api_name="open_images", **shown)
        self.save_btn.click(gpu(self.save), with_place, moved, api_name="save", trigger_mode="once", **shown)
        self.save_next_btn.click(gpu(self.save_and_next), with_place, moved, api_name="save_next", trigger_mode="once", **shown)
        self.next_btn.click(gpu(self.next_image), with_place, moved, api_name="next", trigger_mode="once", **shown)
        self.prev_btn.click(gpu(self.previous), with_place, moved, api_name="previous", trigger_mode="once", **shown)
        self.strip.select(gpu(self.pick), with_place, moved, api_name="pick", **shown)
        image_id = gr.Textbox(visible=False)  # API-only: open an image by its id
        image_id.submit(gpu(self.go_to), [image_id, *with_place], moved, api_name="go_to", **shown)
        self.download_btn.click(self.download_dataset, [state, place], [self.dataset_file], api_name="download_dataset").then(
            lambda path: gr.File(visible=path is not None), [self.dataset_file], [self.dataset_file], api_name=False, show_progress="hidden"
        )
        if self.out is not None:
            demo.load(gpu(self.resume), with_place, moved, api_name="resume", **shown)
        demo.load(None, js=shortcuts_js(list(self.app.classes)))
