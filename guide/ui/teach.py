"""The app's "Teach this model words" panel: a button under the many-images panel,
progress polled by a timer while the job runs, a cancel button. UI only: the job itself is
guide/training/teach.py (:class:`~guide.training.teach.Teacher`, no Gradio there).

Wiring in guide/ui/layout.py (``app`` is guide/ui/handlers.py's ``GuideApp``; its many-images panel keeps the tab's data-set
place as ``app.annotate.place`` after wiring)::

    self.teach = TeachPanel(self)          # GuideApp.__init__
    app.teach.layout()                     # in the Blocks, after app.annotate.layout()
    app.teach.wire(demo)                   # after app.annotate.wire(...)

Events (api_name): ``teach_start`` (the tab's data set -> a background job), ``teach_progress``
(also the timer's tick), ``teach_cancel``; each returns the status line first.

Whose job: the server runs one job at a time, and it belongs to the tab that started it, named
by the tab's data set (the unguessable name in its place, guide/annotation/annotator.py: a reload
or a second tab of the same browser gets the same place back, a stranger never does). Only that
tab sees the job's progress and can cancel it; any other tab is told :data:`BUSY` (nothing about
the other tab's data) and its start is refused. With ``--out`` the server has one data set, which
every tab writes (docs/annotating.md: one person or team owns such a server): every tab owns the job.
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from guide.annotation.dataset import DatasetError
from guide.dialogue.conversation import UserError
from guide.training.teach import RUNNING, TEACH_MIN_IMAGES, Teacher, TeachError

#: What a tab sees while another tab's job runs (no details of it: its data set is that tab's own).
BUSY = ("The server is teaching a model words from another tab's data set (one job at a time); "
        "you can teach yours when it ends.")
POLL_S = 2.0  # seconds between progress polls while a job runs (one cheap event per open tab)
#: Where taught model folders go (GUIDE_TEACH_DIR overrides; runs/ is ignored by git).
DEFAULT_FOLDER = os.environ.get("GUIDE_TEACH_DIR", os.path.join("runs", "taught"))


class TeachPanel:
    """Handlers and components of the teach panel for one ``GuideApp``."""

    def __init__(self, app: Any, teacher: Teacher | None = None) -> None:
        self.app = app
        self.teacher = teacher or Teacher(DEFAULT_FOLDER)

    def _dataset(self, place: Any) -> Any:
        try:
            return self.app.annotate.annotator.dataset(place if isinstance(place, dict) else {})
        except (UserError, DatasetError):
            return None

    def _owner(self, place: Any) -> str | None:
        """Who this tab is to the teacher: its data set's name (None: it has none), or, with
        ``--out``, the server's one data set (every tab)."""
        if self.app.annotate.annotator.out is not None:
            return "out"
        name = place.get("dataset") if isinstance(place, dict) else None
        return f"dataset/{name}" if isinstance(name, str) and name else None

    def _mine(self, status: Any, place: Any) -> bool:
        owner = self._owner(place)
        return owner is not None and status.owner == owner

    def _buttons(self, place: Any):
        """(status line, start button, cancel button, timer) for the job's state and the tab's data set."""
        status = self.teacher.status()
        mine = self._mine(status, place)
        if status.state == RUNNING:
            if not mine:  # polled on, so the button comes back when the job ends
                return BUSY, gr.Button(interactive=False), gr.Button(visible=False), gr.Timer(active=True)
            return status.text(), gr.Button(interactive=False), gr.Button(visible=True), gr.Timer(active=True)
        reason = self.teacher.offer(self.app.model, self._dataset(place))
        line = (status.text() or "") if mine else ""  # how another tab's job ended is that tab's
        if reason is not None and not line:
            line = reason
        elif reason is None and not line:
            line = "Enough images saved: press **Teach this model words** to train its text guide in the background."
        return line, gr.Button(interactive=reason is None), gr.Button(visible=False), gr.Timer(active=False)

    # ------------------------------------------------------------ handlers (each returns the status line first)

    def start(self, place: Any):
        try:
            status = self.teacher.status()
            if (status.state == RUNNING or self.teacher.running()) and not self._mine(status, place):
                raise TeachError(BUSY)
            spec = self.app.default if self.app.default != self.app.model.source else None  # None: the model's folder
            self.teacher.start(self.app.model, self._dataset(place), spec, owner=self._owner(place))
        except TeachError as e:
            gr.Warning(str(e))
            return str(e), gr.skip(), gr.skip(), gr.skip()
        return self._buttons(place)

    def progress(self, place: Any):
        return self._buttons(place)

    def cancel(self, place: Any):
        owner = self._owner(place)
        status = self.teacher.cancel(owner) if owner is not None else self.teacher.status()  # another's job runs on
        out = self._buttons(place)
        return (status.text() if status.state == RUNNING and self._mine(status, place) else out[0]), *out[1:]

    # ------------------------------------------------------------ layout and events

    def layout(self) -> None:
        """The panel (inside the Blocks): shown while the default model has no text guide."""
        with gr.Group(visible=self.app.model.text_guide is None, elem_id="gm-teach"):
            self.status = gr.Markdown(f"This model has no text guide yet. Save {TEACH_MIN_IMAGES} annotated images "
                                      "to teach it words from them.", elem_id="gm-teach-status")
            with gr.Row():
                self.start_btn = gr.Button("Teach this model words", interactive=False, elem_id="gm-teach-start")
                self.cancel_btn = gr.Button("Cancel teaching", visible=False, variant="stop", elem_id="gm-teach-cancel")
        self.timer = gr.Timer(POLL_S, active=False)

    def wire(self, demo: gr.Blocks) -> None:
        """The panel's events; the place is the many-images panel's (``app.annotate.place``)."""
        place = self.app.annotate.place
        outs = [self.status, self.start_btn, self.cancel_btn, self.timer]
        quiet = {"show_progress": "hidden"}
        self.start_btn.click(self.start, [place], outs, api_name="teach_start", trigger_mode="once", **quiet)
        self.cancel_btn.click(self.cancel, [place], outs, api_name="teach_cancel", **quiet)
        self.timer.tick(self.progress, [place], outs, api_name="teach_progress", **quiet)
        # a save changes the many-images progress line: the offer may change with it
        self.app.annotate.progress.change(self.progress, [place], outs, api_name=False, **quiet)
        demo.load(self.progress, [place], outs, api_name=False, **quiet)
