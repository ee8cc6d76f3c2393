"""The app's "annotate many images" panel: handlers, layout, events and keyboard
shortcuts, apart from the main page (guide/ui/layout.py) so it wires in a few lines. UI only: what it means lives in
guide/annotation/annotator.py (many images, one conversation each), guide/annotation/dataset.py (the VOC + COCO
folder) and guide/annotation/intake.py (checking a batch of files or zips).

Wiring in guide/ui/layout.py (``app`` is guide/ui/handlers.py's ``GuideApp``: it provides ``model``, ``pool``,
``palette``, ``pool_of``, ``show``, ``run`` and ``pictures``)::

    panel = AnnotatePanel(app, out, allow_other_model)   # GuideApp.__init__: self.annotate
    render_layer(..., panel.lut, ...)                    # GuideApp.show: "unsure" pixels drawn
    brush colours / choices: panel.brush_colours(), panel.brush_choices()
    panel.layout()                                       # in the Blocks, where the panel goes
    panel.wire(page)                                     # page: guide/ui/page.py's Page

Durable work: the panel keeps what a tab must not lose in a
:class:`~guide.annotation.store.Store` (``GUIDE_STORE``, else guide/annotation/store.py's default folder):

* the tab's data set (guide/annotation/annotator.py: until abandoned for 24 h);
* a key in the browser (``gr.BrowserState``, unguessable) naming the tab's last session,
  so a reload or a second tab of the same browser gets its work back (``/restore``);
* tab states Gradio pushes out of memory when more than ``state_session_capacity``
  sessions are open: :class:`DurableStateHolder` spills them to the store and brings them
  back at the tab's next event, instead of dropping them.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import gradio.routes
import numpy as np
from gradio.state_holder import SessionState, StateHolder

from guide.annotation.annotator import ABANDON_AFTER, MARKS_HELP, Annotator, blank_place
from guide.annotation.dataset import DatasetError
from guide.annotation.store import LocalStore, Store, default_root
from guide.annotation.tabstore import dump_tab, load_tab
from guide.core.labels import VOID
from guide.dialogue.conversation import Conversation, Reply, UserError
from guide.serving.pagevalues import strokes_to_edits
from guide.serving.pool import blank_tab, is_tab
from guide.ui.page import Page
from guide.ui.uploads import uploads_only

UNSURE = "unsure (void)"  # the brush that marks pixels as no class (255 in the saved PNG)
#: Keyboard shortcuts (when no text box has the focus): key -> (button elem_id, what it does).
SHORTCUTS = {"g": ("gm-guide", "guide"), "h": ("gm-paint", "set by hand"), "u": ("gm-undo", "undo"),
             "a": ("gm-ask", "ask me"), "s": ("gm-save-next", "save & next"), "n": ("gm-next", "next"),
             "p": ("gm-prev", "previous")}
KEYS_HELP = ("Keys (when not typing): " + " · ".join(f"<kbd>{k.upper()}</kbd> {what}" for k, (_, what) in SHORTCUTS.items())
             + " · <kbd>1</kbd>–<kbd>9</kbd> answer the question with class 1–9 of the brush list.")


SHORTCUTS_JS = "\n".join(line for line in (Path(__file__).resolve().parent / "static" / "shortcuts.js").read_text(encoding="utf-8").splitlines()
                         if not line.startswith("//"))  # a function of (keys, classes), its comment left out
BROWSER_KEY = re.compile(r"^[A-Za-z0-9_-]{32}$")  # secrets.token_urlsafe(24)
OPEN_LANE = "open_images"  # opens queue apart from the other events (a 1,000-image open never holds a turn up)
OPEN_CONCURRENCY = 2  # opens at once


class TabSpill:
    """A Blocks' tab and place states <-> the store, by Gradio session (``session/<hash>``)."""

    def __init__(self, store: Store, tab: gr.State, place: gr.State, intern: Callable) -> None:
        self.store, self.tab, self.place, self.intern = store, tab, place, intern

    def save(self, session_id: str, session: SessionState) -> None:
        tab, place = session.state_data.get(self.tab._id), session.state_data.get(self.place._id)
        if is_tab(tab) or isinstance(place, dict):
            try:
                self.store.put(f"session/{session_id}", {"tab": dump_tab(self.store, tab), "place": place if isinstance(place, dict) else None})
            except (OSError, TypeError, ValueError):  # a state that cannot be written is dropped, as Gradio would
                pass

    def read(self, session_id: str) -> tuple[Any, Any] | None:
        data = self.store.get(f"session/{session_id}")
        if not isinstance(data, dict):
            return None
        return load_tab(self.store, data.get("tab"), self.intern), data.get("place")

    def load(self, session_id: str, session: SessionState) -> bool:
        """Put a spilled session's states back into ``session`` (a new one); False if none."""
        got = self.read(session_id)
        if got is None:
            return False
        now = datetime.datetime.now()
        for comp, value in zip((self.tab, self.place), got):
            if value is not None:
                session.state_data[comp._id] = value
                session._state_ttl[comp._id] = (comp.time_to_live, now)
        self.store.delete(f"session/{session_id}")
        return True

    def peek(self, holder: StateHolder | None, session_id: str) -> tuple[Any, Any] | None:
        """(tab, place) of another session, live or spilled, without touching it."""
        live = holder.session_data.get(session_id) if holder is not None else None
        if live is not None:
            return live.state_data.get(self.tab._id), live.state_data.get(self.place._id)
        return self.read(session_id)


class DurableStateHolder(StateHolder):
    """Gradio's per-session state holder, except that a session pushed out by capacity is
    spilled to the Blocks' :class:`TabSpill` (``blocks.guide_spill``, when set) and restored
    when that session's next event arrives, so a tab never loses its conversation to other
    tabs. Blocks without a spill behave exactly as with Gradio's own holder."""

    def update(self, session_id: str) -> None:
        evicted = []
        with self.lock:
            if session_id in self.session_data:
                self.session_data.move_to_end(session_id)
            while len(self.session_data) > self.capacity:
                gone, session = self.session_data.popitem(last=False)
                self.time_last_used.pop(gone, None)
                evicted.append((gone, session))
        spill = getattr(getattr(self, "blocks", None), "guide_spill", None)
        for gone, session in evicted:
            if spill is not None:
                spill.save(gone, session)

    def __getitem__(self, session_id: str) -> SessionState:
        spill = getattr(getattr(self, "blocks", None), "guide_spill", None)
        if spill is not None and session_id not in self.session_data:
            session = SessionState(self.blocks)
            if spill.load(session_id, session):
                with self.lock:
                    self.session_data.setdefault(session_id, session)
        return super().__getitem__(session_id)


# Each launch makes its App's holder from this name (gradio/routes.py): ours, with the spill above.
gradio.routes.StateHolder = DurableStateHolder  # type: ignore[misc]


def unsure_colour(palette: np.ndarray) -> tuple[int, int, int]:
    """The brush colour for "unsure" (void): of a few candidates, the one furthest from every
    class colour, so a Guide press never reads it as a class."""
    candidates = np.array([[224, 224, 192], [255, 255, 255], [0, 0, 0], [255, 0, 255], [128, 128, 128], [0, 255, 255]])
    dist = ((candidates[:, None, :] - np.asarray(palette, dtype=int)[None]) ** 2).sum(-1).min(1)
    return tuple(int(v) for v in candidates[dist.argmax()])


def shortcuts_js(classes: list[str]) -> str:
    """Browser code for :data:`SHORTCUTS` (static/shortcuts.js): a key presses its button; a digit
    answers the pending question with that class (typed into the chat box and sent)."""
    keys = {k: elem for k, (elem, _) in SHORTCUTS.items()}
    return f"() => ({SHORTCUTS_JS.strip()})({json.dumps(keys)}, {json.dumps(classes[:9])})"


class AnnotatePanel:
    """Handlers and components of the many-images panel for one ``GuideApp``."""

    def __init__(self, app: Any, out: str | None = None, allow_other_model: bool = False, max_upload: str = "",
                 store: Store | None = None) -> None:
        self.app = app
        self.store = store or LocalStore(default_root())
        self.annotator = Annotator(app.model, app.pool, out, allow_other_model, store=self.store)
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
            if isinstance(layers, str):  # BAD_SKETCH, or a Refused file's message
                raise UserError(layers)
            return conv.paint(strokes_to_edits(layers, conv.image.shape[:2], self.app.palette, self.unsure)[0])

        outputs, ok = self.app.run(tab, show_changes, act)
        return (*outputs, ok)

    def _annotate(self, act: Callable[[], tuple], show_changes: bool, moved: bool = True, request: gr.Request | None = None):
        """Run a data set ``act`` -> (tab, place, message); outputs: the app's common five, the
        place, the editor and the photo (when the image changed), the thumbnail strip and the progress."""
        try:
            tab, place, message = act()
        except (UserError, DatasetError) as e:
            gr.Warning(str(e))
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), str(e), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        self._remember(place, request)
        items, current, progress = self.annotator.strip(place, tab)
        strip = gr.Gallery(value=items, selected_index=current)
        if not is_tab(tab) or tab["image"] is None:
            return (tab if is_tab(tab) else blank_tab()), gr.skip(), gr.skip(), gr.skip(), message, place, gr.skip(), gr.skip(), strip, progress
        pool = self.app.pool_of(tab)
        with pool.open(tab) as conv:
            shown = self.app.show(conv, show_changes, message, tab, pool=pool)
            pictures = self.app.pictures(tab["image"], conv, pool) if moved else (gr.skip(), gr.skip())
        return (*shown, place, *pictures, strip, progress)

    def _remember(self, place: Any, request: gr.Request | None) -> None:
        """The tab's place, by session: a reload (same browser key) finds its data set from it."""
        session = getattr(request, "session_hash", None)
        if session and isinstance(place, dict) and (place.get("dataset") or (self.out is not None and place.get("current"))):
            self.store.put(f"place/{session}", place)

    def open_images(self, files: list[str] | None, tab: Any, place: Any, show_changes: bool = False,
                    request: gr.Request = None, progress: gr.Progress = gr.Progress()):
        """Image files or zips -> the data set (a data set zip resumes); shows the first image not saved."""
        def told(done: int, total: int) -> None:
            if done % max(1, total // 50) == 0:  # about 50 updates an open: each is a message to the page
                progress((done, total), desc="Opening images", unit="images")

        def act() -> tuple:
            if isinstance(files, str):  # a Refused file (guide/ui/uploads.py): only this page's uploads are opened
                raise UserError(files)
            return self.annotator.open_images(files, tab, place, told)

        return self._annotate(act, show_changes, request=request)

    def resume(self, tab: Any, place: Any, show_changes: bool = False):
        """A new tab on a server's data set (--out) opens where the work stopped."""
        return self._annotate(lambda: self.annotator.resume(tab, place), show_changes)

    def save(self, tab: Any, place: Any, show_changes: bool = False, request: gr.Request = None):
        return self._annotate(lambda: self.annotator.save(tab, place), show_changes, moved=False, request=request)

    def save_and_next(self, tab: Any, place: Any, show_changes: bool = False, request: gr.Request = None):
        return self._annotate(lambda: self.annotator.save_and_next(tab, place), show_changes, request=request)

    def next_image(self, tab: Any, place: Any, show_changes: bool = False, request: gr.Request = None):
        return self._annotate(lambda: self.annotator.step(tab, place, +1), show_changes, request=request)

    def previous(self, tab: Any, place: Any, show_changes: bool = False, request: gr.Request = None):
        return self._annotate(lambda: self.annotator.step(tab, place, -1), show_changes, request=request)

    def go_to(self, image_id: str, tab: Any, place: Any, show_changes: bool = False, request: gr.Request = None):
        """API: open the data set image ``image_id``."""
        return self._annotate(lambda: self.annotator.go(tab, place, str(image_id or "")), show_changes, request=request)

    def pick(self, tab: Any, place: Any, show_changes: bool, evt: gr.SelectData, request: gr.Request = None):
        """A click on the thumbnail strip."""
        index = getattr(evt, "index", None)
        if isinstance(index, (list, tuple)) and index:  # a gallery may send [index]
            index = index[0]

        def act() -> tuple:
            if not isinstance(index, int) or isinstance(index, bool):
                raise UserError("Click a thumbnail on the strip to open that image.")
            return self.annotator.go_index(tab, place, index)

        return self._annotate(act, show_changes, request=request)

    def strip_now(self, tab: Any, place: Any):
        """The strip and progress as they are now (after a hand fix: a saved image shows ✓✎ at once)."""
        items, current, progress = self.annotator.strip(place, tab)
        if not items:
            return gr.skip(), gr.skip()
        return gr.Gallery(value=items, selected_index=current), progress

    def download_dataset(self, tab: Any, place: Any) -> str | None:
        """The data set as one zip (its path). (The file box is never an event's input: the page
        would send the zip's path back, which only an upload may be: guide/ui/uploads.py.)"""
        try:
            return self.annotator.download(tab, place)
        except (UserError, DatasetError) as e:
            gr.Warning(str(e))
            return None

    def push_dataset(self, repo: str, tab: Any, place: Any, token: gr.OAuthToken | None = None) -> str:
        """The data set to a dataset repo of the signed-in person's (guide/annotation/hubpush.py) -> a message."""
        try:
            return self.annotator.push(tab, place, str(repo or ""), token)
        except (UserError, DatasetError) as e:
            gr.Warning(str(e))
            return str(e)

    def restore(self, key: Any, tab: Any, place: Any, show_changes: bool = False, request: gr.Request = None):
        """A page opens (or ``/restore`` is called) with the browser's key: the key (a new one
        when it has none) first, then, when the key's last session had work, that work: its
        data set at the image it showed, with that image's conversation, or its single image."""
        session = getattr(request, "session_hash", None)
        known = isinstance(key, str) and BROWSER_KEY.match(key) is not None
        key = key if known else secrets.token_urlsafe(24)
        record = self.store.get(f"browser/{key}") if known else None
        self.store.put(f"browser/{key}", {"session": session})
        old = record.get("session") if isinstance(record, dict) else None
        # Nothing to bring back: with --out, a new tab opens where the server's data set stopped.
        def nothing():
            return (key, *(self.resume(tab, place, show_changes) if self.out is not None else [gr.skip()] * 10))

        if not old or old == session:
            return nothing()
        found = self.spill.peek(getattr(self._demo, "state_holder", None), old) if self.spill is not None else None
        old_tab, old_place = found if found is not None else (None, None)
        if not isinstance(old_place, dict) or not old_place.get("dataset"):
            old_place = self.store.get(f"place/{old}") or old_place
        if isinstance(old_place, dict) and (old_place.get("dataset") or (self.out is not None and old_place.get("current"))):
            def act():
                if self.annotator._showing(old_tab, {**blank_place(), **old_place}):
                    ds = self.annotator.dataset(old_place)
                    current = old_place["current"]
                    return old_tab, old_place, (f"Welcome back: your data set and this image's conversation are as you left them. "
                                                f"Image {ds.index(current) + 1} of {len(ds)}: {current}. {ds.progress_text()}.")
                target = old_place.get("current")
                if not target:
                    ds = self.annotator.dataset(old_place)
                    if not len(ds):
                        return blank_tab(), old_place, "Welcome back: your data set has no images yet."
                    target = self.annotator._first_open(ds)
                tab2, place2, said = self.annotator.go(None, old_place, target)
                return tab2, place2, f"Welcome back: your data set is as you left it. {said}"

            return (key, *self._annotate(act, show_changes, request=request))
        if is_tab(old_tab) and old_tab["image"] is not None:
            return (key, *self._annotate(lambda: (old_tab, blank_place(), "Welcome back: your conversation is as you left it."),
                                         show_changes, request=request))
        return nothing()

    # ------------------------------------------------------------ layout and events

    def layout(self) -> None:
        """The panel's components (call inside the Blocks, where the panel goes)."""
        with gr.Accordion("Annotate many images into a data set (PascalVOC + COCO)", open=self.out is not None, elem_id="gm-annotate"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=220):
                    self.batch = uploads_only(gr.File(label="Images to annotate (image files or a zip)", file_count="multiple", type="filepath",
                                         height=130, elem_id="gm-batch"))
                    upload = f" Uploads: {self.max_upload} per file;" if self.max_upload else ""
                    gr.Markdown(f"<small>{self.annotator.limits}{upload} for more, run "
                                "<code>python app.py --images DIR --out DATASET</code>.</small>")
                    if self.out is not None:
                        gr.Markdown("<small>⚠ This server annotates into one shared folder (<code>--out</code>): every tab, "
                                    "yours and anyone else's who opens this page, sees and changes the same images and labels.</small>",
                                    elem_id="gm-shared-out")
                    else:
                        gr.Markdown(f"<small>Your data set stays on this server {ABANDON_AFTER // 3600} h after your last action "
                                    "(reload the page to get back to it); download it, or push it to your Hugging Face account, "
                                    "to keep it. Opening a data set zip you downloaded resumes it.</small>", elem_id="gm-keep-note")
                    self.download_btn = gr.Button("Download the data set (zip)", size="sm", elem_id="gm-download")
                    self.dataset_file = gr.File(label="Data set (zip)", interactive=False, visible=False, elem_id="gm-dataset-file")
                    with gr.Accordion("Push to the Hugging Face Hub", open=False, elem_id="gm-hub"):
                        if os.environ.get("SPACE_ID") and os.environ.get("OAUTH_CLIENT_ID"):  # a Space with hf_oauth: true
                            gr.LoginButton(size="sm")
                        self.repo = gr.Textbox(value="guide-me-dataset", label="Dataset repo (name, or owner/name)", max_lines=1)
                        self.push_btn = gr.Button("Push the data set to my account", size="sm", elem_id="gm-push")
                        self.push_status = gr.Markdown("", elem_id="gm-push-status")
                with gr.Column(scale=5):
                    self.strip = gr.Gallery(label=f"Images (click one to open it) · {MARKS_HELP} · “· 12 s”: time spent so far", columns=10, rows=1, height=170,
                                            fit_columns=False, allow_preview=False, object_fit="contain", elem_id="gm-strip")
                    with gr.Row(equal_height=True):
                        self.progress = gr.Markdown("", elem_id="gm-progress")
                        self.prev_btn = gr.Button("◀ Previous", min_width=90, elem_id="gm-prev")
                        self.save_btn = gr.Button("Save", min_width=70, elem_id="gm-save")
                        self.save_next_btn = gr.Button("Save & next ▶", variant="primary", min_width=110, elem_id="gm-save-next")
                        self.next_btn = gr.Button("Next ▶", min_width=80, elem_id="gm-next")
                    gr.Markdown(f"<small>{KEYS_HELP}</small>", elem_id="gm-keys")

    def wire(self, page: Page) -> None:
        """The panel's events (after :meth:`layout`), each with an ``api_name``, and the shortcuts;
        ``page.editor`` and ``page.photo`` (under the overlay) are set when the image changes; ``page.shown``:
        where the events show their progress (guide/ui/layout.py: never on the editor or the chat);
        ``page.take_strokes(button)``: the button's click copies the editor's strokes into ``page.strokes``,
        the paint event's input."""
        demo, state, outs, editor, photo, view_in = page.demo, page.state, page.outs, page.editor, page.photo, page.view_in
        gpu, shown, strokes = page.gpu, page.shown, page.strokes
        applied = gr.State(False)
        place = gr.State(blank_place(), time_to_live=page.tab_ttl)
        painted = page.take_strokes(page.paint_btn).then(gpu(self.paint_sketch), [strokes, state, *view_in], [*outs, applied], api_name="paint",
                                                         trigger_mode="once", **shown)
        page.stroke_turns.append((painted, applied))  # then the canvas without the strokes, and the strip's mark at once (layout.wire_after)
        # API events of their own (hidden buttons): the editor holding the bare photo again, the strip as it is now
        gr.Button(visible=False).click(self.app.clear_strokes, [state, applied], [editor], api_name="clear_paint", show_progress="hidden", **shown)
        gr.Button(visible=False).click(self.strip_now, [state, place], [self.strip, self.progress], api_name="strip_now", show_progress="hidden",
                                       concurrency_limit=None, **shown)
        self.place = place  # the tab's data set, also read by the teach panel (guide/ui/teach.py)
        moved = [*outs, place, editor, photo, self.strip, self.progress]
        with_place = [state, place, *view_in]
        self._demo = demo
        self.spill = TabSpill(self.store, state, place, self.app.pool.intern)
        demo.guide_spill = self.spill  # type: ignore[attr-defined]  # DurableStateHolder spills this Blocks' sessions here
        # Opens run in a lane of their own: a long one (1,000 images) never holds up turns and saves of other tabs.
        # Each move refills the editor with the bare photo, then the canvas follows (layout.wire_after).
        page.refills.append(self.batch.upload(gpu(self.open_images), [self.batch, *with_place], moved, api_name="open_images",
                                              concurrency_id=OPEN_LANE, concurrency_limit=OPEN_CONCURRENCY, **shown))
        page.turns.append(self.save_btn.click(gpu(self.save), with_place, moved, api_name="save", trigger_mode="once", **shown))
        page.refills.extend([
            self.save_next_btn.click(gpu(self.save_and_next), with_place, moved, api_name="save_next", trigger_mode="once", **shown),
            self.next_btn.click(gpu(self.next_image), with_place, moved, api_name="next", trigger_mode="once", **shown),
            self.prev_btn.click(gpu(self.previous), with_place, moved, api_name="previous", trigger_mode="once", **shown),
            self.strip.select(gpu(self.pick), with_place, moved, api_name="pick", **shown),
        ])
        image_id = gr.Textbox(visible=False)  # API-only: open an image by its id
        page.refills.append(image_id.submit(gpu(self.go_to), [image_id, *with_place], moved, api_name="go_to", **shown))
        # shown once there is a data set (from the tab's place: the file box itself is never an input, see download_dataset)
        self.download_btn.click(self.download_dataset, [state, place], [self.dataset_file], api_name="download_dataset").then(
            lambda where: gr.File(visible=bool(self.out is not None or (isinstance(where, dict) and where.get("dataset")))),
            [place], [self.dataset_file], api_name=False, show_progress="hidden"
        )
        self.push_btn.click(self.push_dataset, [self.repo, state, place], [self.push_status], api_name="push_dataset")
        if self.out is not None:  # API: a new tab on the server's data set, where the work stopped (the page: /restore)
            resume = gr.Button(visible=False)
            page.refills.append(resume.click(gpu(self.resume), with_place, moved, api_name="resume", **shown))
        # A reload (or a second tab of this browser) gets its work back; with --out, else where the work stopped.
        secret = self.store.get("browser-secret") or secrets.token_urlsafe(24)
        self.store.put("browser-secret", secret)  # the same across restarts: the browser's key stays readable
        key = gr.BrowserState(None, storage_key="guideme-work", secret=secret)
        page.refills.append(demo.load(gpu(self.restore), [key, *with_place], [key, *moved], api_name="restore", **shown))
        demo.load(None, js=shortcuts_js(list(self.app.classes)))
