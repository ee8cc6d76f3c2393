"""Teach a model words from the images annotated with it: the app's background training job.

A model without a text guide cannot read typed hints. Every data set annotated in the app
(guide/annotation/dataset.py: images, label maps, the model's own predictions a step away) is exactly
what a text guide trains on, so the app offers **Teach this model words** once a data set
holds :data:`TEACH_MIN_IMAGES` saved images. :class:`Teacher` runs ``train-guide``
(guide/training/text.py) on it in a background thread of the server:

* one job at a time in the whole server process (a second start is refused with a message);
* a job has an ``owner`` (the page passes the tab's data set: guide/ui/teach.py), and
  :meth:`Teacher.cancel` given an owner stops only that owner's job, so on a shared server
  one tab cannot stop another's;
* bounded: at most :data:`TEACH_STEPS` steps of :data:`TEACH_BATCH` images or
  :data:`TEACH_MINUTES` minutes, whichever comes first, on the first
  :data:`TEACH_MAX_IMAGES` images of the data set's ``train.txt``, features cached within
  :data:`TEACH_CACHE_MB` (recomputed per step above it);
* cancellable at every step; progress (phase, step, time left) in :meth:`Teacher.status`;
* a data set that cannot teach (too few saved images, other classes, a broken file) is
  refused or fails with a message; training only reads the data set and builds a new text
  guide beside the model, so nothing is lost either way;
* when it ends, the model folder (segmenter + ``text_guide.safetensors`` + model card) is
  written under the teacher's folder, and the text guide is attached to the live model: the
  tab's model reads typed hints at once, and ``python app.py --model FOLDER`` later finds it.

No Gradio here: the page (guide/ui/teach.py) polls :meth:`Teacher.status`.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from guide.annotation.dataset import AnnotationDataset

TEACH_MIN_IMAGES = 20
"""Saved images a data set needs before the app offers teaching (about 16 of them in its
train list: the data set keeps ~1 in 5 for val). Fewer teach little (docs/teach.md: the curve
on scenes starts at 50) and the val check would rest on three or four images."""
TEACH_STEPS = 1000
TEACH_MINUTES = 30.0
TEACH_BATCH = 8  # images per step: a 520 px step on a CPU takes seconds (docs/teach.md)
# A short run on a few hundred images learns faster at a higher rate than train-guide's default 3e-4 (made for
# thousands of scenes and steps): chosen on the scenes' val split, N = 300 annotated scenes, 1,000 steps of 32
# (experiments/teach_lr_val.sh): one find hint +13.1 mIoU at 1e-3 against +8.1 at 3e-4; remove +4.4 against +4.2.
TEACH_LR = 1e-3
TEACH_MAX_IMAGES = 2000
TEACH_CACHE_MB = 2048.0
TEACH_VAL = 50  # val images of the final check (the card's numbers)

IDLE, RUNNING, DONE, FAILED, CANCELLED = "idle", "running", "done", "failed", "cancelled"

_SERVER_JOB = threading.Lock()  # one teaching job per server process, whichever Teacher holds it


class TeachError(Exception):
    """A request the teacher refuses; the message is for the person."""


@dataclass
class TeachStatus:
    """What the page shows: ``state`` (idle / running / done / failed / cancelled), a
    ``message``, the ``phase`` ("cache", "train", "val"), ``done`` / ``total`` of it, the
    seconds left (``eta_s``, None: unknown) and the model folder written (``out``)."""

    state: str = IDLE
    message: str = ""
    phase: str = ""
    done: int = 0
    total: int = 0
    eta_s: float | None = None
    out: str | None = None
    dataset: str | None = None
    owner: str | None = None  # who started the job (the page's tab identity; None: anyone)
    started: float | None = None
    log: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """One line for the page."""
        if self.state != RUNNING:
            return self.message
        what = {"cache": "reading the images", "train": "training", "val": "checking on the val images"}.get(self.phase, "starting")
        count = f" {self.done}/{self.total}" if self.total and self.phase in ("cache", "train") else ""
        left = f" · about {_minutes(self.eta_s)} left" if self.eta_s is not None else ""
        return f"Teaching this model words: {what}{count}{left}."


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "model"


def saved_counts(dataset: AnnotationDataset) -> tuple[int, int]:
    """(saved images, of them in train.txt) of an annotated data set."""
    lists = Path(dataset.root) / "ImageSets" / "Segmentation"

    def count(name: str) -> int:
        path = lists / f"{name}.txt"
        return len(path.read_text().split()) if path.is_file() else 0

    return count("trainval"), count("train")


class Teacher:
    """Runs one teaching job at a time (see the module docstring).

    ``folder``: where taught model folders go (``<model>-words-<time>``, work state under
    ``.work/``). The budget arguments default to the module's constants; ``threads`` None
    leaves torch's thread count as the server set it.
    """

    def __init__(self, folder: str | Path, min_images: int = TEACH_MIN_IMAGES, steps: int = TEACH_STEPS,
                 minutes: float = TEACH_MINUTES, batch: int = TEACH_BATCH, max_images: int = TEACH_MAX_IMAGES,
                 cache_mb: float = TEACH_CACHE_MB, val: int = TEACH_VAL, hidden: int = 1024,
                 threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.min_images, self.steps, self.minutes, self.batch = min_images, steps, minutes, batch
        self.max_images, self.cache_mb, self.val, self.hidden, self.threads = max_images, cache_mb, val, hidden, threads
        self._status = TeachStatus()
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ asking

    def status(self) -> TeachStatus:
        with self._lock:
            return TeachStatus(**asdict(self._status))

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def offer(self, model: Any, dataset: AnnotationDataset | None) -> str | None:
        """Why teaching cannot start now (a message), or None when it can."""
        if model.text_guide is not None:
            return "This model already reads typed hints (it has a text guide)."
        if dataset is None:
            return f"Open images and save at least {self.min_images} annotated ones to teach this model words."
        saved, train = saved_counts(dataset)
        if saved < self.min_images:
            return (f"Save at least {self.min_images} annotated images to teach this model words "
                    f"({saved} saved so far).")
        if train == 0:
            return "The data set's train list is empty: save more images."
        if list(dataset.classes) != list(model.classes):
            return "This data set was made with other classes than this model's; open images with this model."
        if self.running() or _SERVER_JOB.locked():
            return "A teaching job is already running on this server (one at a time); wait for it or cancel it."
        return None

    # ------------------------------------------------------------ doing

    def start(self, model: Any, dataset: AnnotationDataset | None, spec: str = "", owner: str | None = None) -> TeachStatus:
        """Start teaching ``model`` from ``dataset`` in the background; TeachError (nothing
        started) when :meth:`offer` says no. ``spec``: how the model was named (the card's command);
        ``owner``: who the job belongs to (kept in the status; :meth:`cancel` checks it)."""
        reason = self.offer(model, dataset)
        if reason is not None:
            raise TeachError(reason)
        assert dataset is not None
        if not _SERVER_JOB.acquire(blocking=False):
            raise TeachError("A teaching job is already running on this server (one at a time); wait for it or cancel it.")
        try:
            name = f"{_slug(model.config.name or 'model')}-words-{time.strftime('%Y%m%d-%H%M%S')}"
            out, work = self.folder / name, self.folder / ".work" / name
            self.folder.mkdir(parents=True, exist_ok=True)
            folder = getattr(model, "folder", None)
            argv = ["--model", spec or (str(folder) if folder else str(model.source)), "--data", "voc", "--root", str(dataset.root), "--split", "train",
                    "--out", str(out), "--work-dir", str(work), "--ops", "both", "--steps", str(self.steps), "--lr", str(TEACH_LR),
                    "--time-limit", str(self.minutes), "--batch", str(self.batch), "--scenes", str(self.max_images),
                    "--cache-mb", str(self.cache_mb), "--val", str(self.val), "--hidden", str(self.hidden)]
            if self.threads:
                argv += ["--threads", str(self.threads)]
            from guide.training.text import parse_args

            args = parse_args(argv)
            args.command = "python -m guide train-guide " + shlex.join(argv)
            with self._lock:  # with the status: a cancel that checks the owner never sees the flag of another job
                self._cancel.clear()
                self._status = TeachStatus(RUNNING, "Teaching this model words: starting.", dataset=str(dataset.root),
                                           owner=owner, started=time.time())
            self._thread = threading.Thread(target=self._run, args=(args, model), name="guide-teach", daemon=True)
            self._thread.start()
        except BaseException:
            _SERVER_JOB.release()
            raise
        return self.status()

    def cancel(self, owner: str | None = None) -> TeachStatus:
        """Ask the running job to stop at its next step (the model stays as it was). With an
        ``owner``, only a job of that owner is stopped (checked under the status lock); another's
        runs on, and its status is returned unchanged."""
        if owner is not None:
            with self._lock:
                if self._status.state != RUNNING or self._status.owner != owner:
                    return TeachStatus(**asdict(self._status))
                self._cancel.set()
                self._status.message = "Cancelling …"
            return self.status()
        if not self.running():
            with self._lock:
                if self._status.state == RUNNING:  # cannot happen once the thread ended; kept consistent anyway
                    self._status.state = IDLE
                return TeachStatus(**{**asdict(self._status), "message": self._status.message or "No teaching job is running."})
        self._cancel.set()
        with self._lock:
            self._status.message = "Cancelling …"
        return self.status()

    def wait(self, timeout: float | None = None) -> TeachStatus:
        """Block until the job ends (tests, scripts)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def _progress(self, report: dict[str, Any]) -> None:
        with self._lock:
            self._status.phase, self._status.done, self._status.total = report["phase"], report["done"], report["total"]
            self._status.eta_s = report["eta_s"]

    def _run(self, args: Any, model: Any) -> None:
        from guide.core.guided import ModelLoadError
        from guide.models.hub import load_model
        from guide.training.text import Cancelled, Hooks, train_guide

        try:
            out = train_guide(args, model=model, hooks=Hooks(progress=self._progress, cancel=self._cancel.is_set))
            taught = load_model(out, device=model.device)  # read back: what a later `--model FOLDER` gets
            if taught.text_guide is None:
                raise ModelLoadError(f"{out} was written without its text guide")
            model.config.text_guide = taught.config.text_guide
            model.text_guide = taught.text_guide  # the live model reads words from now on
            log = json.loads((Path(out) / "train_log.json").read_text())
            val = log.get("val")
            gain = (f" On {val['images']} val images one hint moves mIoU {100 * val['miou'][0]:.1f} → "
                    f"{100 * val['miou'][1]:.1f}." if val else "")
            self._finish(DONE, f"Done: this model reads typed hints now ({log['steps']} steps, {log['minutes']:.1f} min "
                               f"on {log['images']} images).{gain} Saved as {out}: start the app with "
                               f"`--model {out}` to keep it.", out=str(out), log=log)
        except Cancelled:
            self._finish(CANCELLED, "Cancelled: the model and the data set are as they were.")
        except SystemExit as e:  # the trainer's own words for a data set it cannot use
            self._finish(FAILED, f"Could not teach from this data set: {e.code}. Nothing changed.")
        except (ModelLoadError, FileNotFoundError, ValueError, OSError, RuntimeError) as e:
            self._finish(FAILED, f"Could not teach from this data set ({type(e).__name__}: {str(e)[:300]}). Nothing changed.")
        except Exception as e:  # noqa: BLE001 - a background thread must always end in a status
            self._finish(FAILED, f"Teaching failed ({type(e).__name__}: {str(e)[:300]}). Nothing changed.")
        finally:
            _SERVER_JOB.release()

    def _finish(self, state: str, message: str, out: str | None = None, log: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._status.state, self._status.message, self._status.eta_s = state, message, None
            self._status.out, self._status.log = out, log or {}
