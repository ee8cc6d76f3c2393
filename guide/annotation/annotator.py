"""Annotating many images: a data set folder, the image in view, and each image's conversation.

An :class:`Annotator` joins a :class:`~guide.annotation.dataset.AnnotationDataset` (what is on disk)
to a :class:`~guide.serving.pool.ConversationPool` (the guided network and its conversations).
A browser tab holds the pool's tab (the image in view and its conversation state) and,
next to it, a small *place* saying which data set image that is::

    {"dataset": "/path/to/DATASET" | None, "current": "<image id>" | None, "key": "<image key>" | None}

(``key`` tells whether the tab still shows that image: a single image opened on its own
in between is never saved under a data set id).

Moving to another image keeps the conversation of the one you leave in the data set
(``conversations/<id>.json``), so each image keeps its own dialogue however often you
move back and forth, and a restart on the same folder continues where you were.

Where the data set lives: with ``out`` (``python app.py --out DATASET``) every tab works
on that one folder; without it (a public Space) each tab's first batch makes a data set of
its own in the server's :class:`~guide.annotation.store.Store` (an unguessably named folder), kept
until it is abandoned (``ABANDON_AFTER`` without activity, whatever other users do) and
downloaded as a zip (:meth:`Annotator.download`). Opening a zip of a data set this app
wrote (or a VOC folder / zip with ``SegmentationClass/``) resumes it: labels,
conversations, progress.

With ``carry`` (guide/dialogue/carry.py: CarrySettings; off by default) each saved image teaches a guide
carried across the data set, and an image opened for the first time starts from it (issue 22:
measured in docs/annotation-effort.md, "Carried guide"). It is kept in memory per data set (a restart
starts it again from zero); an image keeps the carried guide it started from in its conversation.

Each action costs the same at 1,000 images as at 10: the thumbnail strip shows a window
of ``STRIP_WINDOW`` images around the one in view (never the whole data set), statuses come
from records cached in memory, and a save rewrites one image's files and COCO piece.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from guide.annotation.dataset import CHANGED, IN_PROGRESS, MANIFEST, SAVED, TODO, AnnotationDataset, lock_folder
from guide.annotation.hubpush import write_hub_files
from guide.annotation.intake import limits_text
from guide.annotation.store import LocalStore, Store
from guide.core.guided import GuidedModel
from guide.core.labels import VOID
from guide.dialogue.carry import CarryLearner, CarrySettings
from guide.dialogue.conversation import UserError
from guide.dialogue.cost import step_seconds
from guide.serving.pool import ConversationPool, blank_tab, conversation_state, is_tab

NO_DATASET = "Open some images first: drop image files or a zip on “Images to annotate”."
ABANDON_AFTER = 24 * 3600  # seconds without activity after which a browser data set (no --out) is removed
OPEN_DATASETS = 64  # browser data sets held open in memory (others reopen from disk when used)
STRIP_WINDOW = 10  # thumbnails the strip shows, around the image in view (its 10 columns: one row, no scrolling)
MIN_FREE_BYTES = 2 * 2**30  # a new batch is refused when the store's disk has less free (never someone's work deleted)
SWEEP_EVERY = 600  # seconds between looks for abandoned data sets
TOUCH_EVERY = 60  # seconds between activity stamps of one data set
#: Status marks on the thumbnail strip (short: captions are narrow), explained by :data:`MARKS_HELP`.
MARKS = {SAVED: "✓", CHANGED: "✓✎", IN_PROGRESS: "✎", TODO: "○"}
MARKS_HELP = " · ".join(f"{m} {s}" for s, m in MARKS.items())

Tab = dict[str, Any]
Place = dict[str, Any]


def seconds_spent(state: dict[str, Any] | None) -> float:
    """Seconds a person spent on an image (guide/dialogue/cost.py over its conversation's kept steps; 0 for
    none, or for a record that is not a conversation). Prices only: a stored record is not decoded here
    (the strip reads every record; one from a hand-made zip may say anything)."""
    steps = state.get("steps") if isinstance(state, dict) else None
    if not isinstance(steps, list) or len(steps) > 1000:
        return 0.0
    try:
        spent = sum(step_seconds(s) for s in steps)
    except (TypeError, ValueError, AttributeError, KeyError):
        return 0.0
    return round(spent, 2) if 0 <= spent < 1e7 else 0.0


def how_far(status: str, name: str, spent: float = 0.0) -> str:
    """How far an image is from done, as its thumbnail's caption: the status mark (:data:`MARKS`),
    its name and, once a person worked on it, the seconds spent: "✎ cat · 12 s", "○ dog"."""
    return f"{MARKS[status]} {name}" + (f" · {spent:.0f} s" if spent else "")


def blank_place() -> Place:
    """No data set yet (or, with ``--out``, the server's one: see :meth:`Annotator.dataset`)."""
    return {"dataset": None, "current": None, "key": None}


def _place(place: Any) -> Place:
    return {**blank_place(), **place} if isinstance(place, dict) else blank_place()


class Annotator:
    """Many images into one data set, one conversation per image. Methods take the tab and
    its place and return new ones with a message; :class:`~guide.dialogue.conversation.UserError`
    and :class:`~guide.annotation.dataset.DatasetError` carry messages meant for the person.

    ``store``: where browser data sets live (default: a private temporary store, removed
    when the annotator goes); ``abandon_after``: seconds without activity before one is removed."""

    def __init__(self, model: GuidedModel, pool: ConversationPool, out: str | os.PathLike | None = None,
                 allow_other_model: bool = False, store: Store | None = None, abandon_after: float = ABANDON_AFTER,
                 carry: CarrySettings | None = None) -> None:
        self.model, self.pool = model, pool
        self.carry = carry  # None: no guide carried across images (see the module docstring)
        self._learners: dict[str, CarryLearner] = {}  # data set folder -> what its saved images taught
        if out is not None:
            lock_folder(out)  # before anything reads or repairs it: a second server on this folder is refused
        self.out = AnnotationDataset.for_model(out, model, allow_other_model) if out is not None else None
        self.limits = limits_text()
        if store is None:
            temp = tempfile.mkdtemp(prefix="guideme-datasets-")
            store = LocalStore(temp)
            self._cleanup = weakref.finalize(self, shutil.rmtree, temp, True)
        self.store, self.abandon_after = store, abandon_after
        self._thumbs = store.root / "cache" / "thumbs"
        self._open: OrderedDict[str, AnnotationDataset] = OrderedDict()  # browser data sets, least recently used first
        self._touched: dict[str, float] = {}
        self._swept = 0.0
        self._lock = threading.Lock()
        shutil.rmtree(store.root / "cache" / "zips", ignore_errors=True)  # downloads of an earlier run: made again on demand
        store.clear_staging()  # zips being unpacked when an earlier run stopped
        self.sweep()

    # ------------------------------------------------------------ data sets

    def dataset(self, place: Place) -> AnnotationDataset:
        """The place's data set: the server's (``--out``), or the tab's own; UserError when none."""
        if self.out is not None:
            return self.out
        name = place.get("dataset")
        if name is None:
            raise UserError(NO_DATASET)
        with self._lock:
            ds = self._open.get(name)
            if ds is not None:
                self._open.move_to_end(name)
        if ds is None:
            try:
                root = self.store.folder("datasets", str(name)) / "dataset"
            except ValueError:
                root = None
            if root is None or not (root / MANIFEST).is_file():
                raise UserError(f"This tab's data set is gone (data sets are removed after {self.abandon_after / 3600:.0f} h "
                                "without activity); open your images again, or open the data set zip you downloaded to resume it.")
            ds = AnnotationDataset.for_model(root, self.model, allow_other_model=True)  # a resumed zip may name another model
            self._hold(str(name), ds)
        self._touch(str(name))
        return ds

    def _hold(self, name: str, ds: AnnotationDataset) -> None:
        with self._lock:
            self._open[name] = ds
            self._open.move_to_end(name)
            while len(self._open) > OPEN_DATASETS:  # only the object goes: its folder stays until abandoned
                self._open.popitem(last=False)

    def _touch(self, name: str) -> None:
        now = time.time()
        if now - self._touched.get(name, 0) > TOUCH_EVERY:
            self._touched[name] = now
            self.store.put(f"dataset/{name}", {"touched": now})

    def _new_dataset(self) -> tuple[str, AnnotationDataset]:
        if shutil.disk_usage(self.store.root).free < MIN_FREE_BYTES:
            raise UserError("The server's disk for data sets is nearly full, so no new data set can be made now; "
                            "try again later, or run the app on your own computer (python app.py --out DATASET).")
        self.sweep()
        name = secrets.token_urlsafe(18)  # unguessable: the folder name is the tab's only handle on it
        self.store.put(f"dataset/{name}", {"touched": time.time()})  # before the folder: a sweep never sees it unclaimed
        folder = self.store.folder("datasets", name)
        folder.mkdir(parents=True)
        ds = AnnotationDataset.for_model(folder / "dataset", self.model)
        self._hold(name, ds)
        self._touched[name] = time.time()
        return name, ds

    def sweep(self, force: bool = False) -> list[str]:
        """Remove browser data sets abandoned ``abandon_after`` seconds (and thumbnails as old);
        at most every ``SWEEP_EVERY`` seconds unless ``force``. Returns the names removed."""
        now = time.time()
        if not force and now - self._swept < SWEEP_EVERY:
            return []
        self._swept = now
        gone = []
        for name, folder in self.store.folders("datasets"):
            age = self.store.age(f"dataset/{name}")
            if age is None:  # no record (a crash between the two, or an older version's): by the folder's time
                try:
                    age = now - folder.stat().st_mtime
                except OSError:
                    continue
            if age > self.abandon_after:
                with self._lock:
                    self._open.pop(name, None)
                self.store.remove_folder("datasets", name)
                self.store.delete(f"dataset/{name}")
                gone.append(name)
        for key in self.store.keys("dataset/"):  # records whose folder is gone
            if not self.store.folder("datasets", key.split("/", 1)[1]).is_dir():
                self.store.delete(key)
        for prefix in ("session/", "place/", "browser/"):  # tab states spilled, places and browser keys (guide/ui/annotate.py)
            self.store.expire(prefix, self.abandon_after)
        for folder in (self._thumbs, self.store.root / "blobs"):
            if not folder.is_dir():
                continue
            for thumb in folder.iterdir():
                    try:
                        if now - thumb.stat().st_mtime > self.abandon_after:
                            thumb.unlink()
                    except OSError:
                        pass
        return gone

    # ------------------------------------------------------------ moving between images

    def open_images(self, paths: Iterable[str | os.PathLike] | None, tab: Any, place: Any,
                    progress: Callable[[int, int], None] | None = None) -> tuple[Tab, Place, str]:
        """Add image files / folders / zips to the data set (in the browser, the tab's own,
        made now if it has none) and show the image in view, else the first not saved.
        A data set this app wrote (its zip or folder) or a VOC folder / zip with labels
        (``SegmentationClass/``) is resumed: its labels, conversations and progress come in.
        ``progress(done, total)`` hears how far the images are."""
        place = _place(place)
        paths = [p for p in (paths or []) if p]
        if not paths:
            raise UserError("No files given: drop image files or a zip.")
        if self.out is not None or place["dataset"]:
            ds = self.dataset(place)
        else:
            place["dataset"], ds = self._new_dataset()
        report = ds.open_paths(paths, progress)
        message = " ".join([report.summary(), *report.messages[:8]]) + (" …" if len(report.messages) > 8 else "")
        if not len(ds):
            return (tab if is_tab(tab) else blank_tab()), place, message
        if place["current"] in ds.ids and self._showing(tab, place):
            return tab, place, message
        tab, place, _ = self.go(tab, place, self._first_open(ds))
        return tab, place, message

    def _first_open(self, ds: AnnotationDataset) -> str:
        statuses = ds.statuses()
        return next((i for i, s in statuses.items() if s != SAVED), ds.ids[0])

    @staticmethod
    def _showing(tab: Any, place: Place) -> bool:
        """Whether the tab still shows the place's image (not a single image opened since)."""
        return is_tab(tab) and tab["image"] is not None and place["current"] is not None and tab["key"] == place["key"]

    def keep_current(self, tab: Any, place: Place) -> None:
        """Store the conversation in view in the data set, once the person did something."""
        if not self._showing(tab, place):
            return
        ds = self.dataset(place)
        state = conversation_state(tab)
        stored = ds.conversation(place["current"])
        if (stored is not None or state["steps"] or state["pending"]) and stored != state:
            ds.keep(place["current"], state)

    def go(self, tab: Any, place: Any, image_id: str) -> tuple[Tab, Place, str]:
        """Show ``image_id``: keep the conversation in view, restore the target's."""
        place = _place(place)
        ds = self.dataset(place)
        ds.entry(image_id)  # DatasetError for an unknown id
        self.keep_current(tab, place)
        image, key = self.pool.intern(ds.image(image_id))
        state = ds.conversation(image_id)
        unread = ""
        with self.pool.conversation(image, key) as conv:
            try:
                if state is not None:
                    conv.set_state(state, image)
            except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:  # a record that is not a conversation (a hand-made zip)
                state, unread = None, f" Its saved conversation could not be read ({str(e)[:120]}), so it starts anew"
                unread += " from its saved labels, shown as set by hand." if ds.labels(image_id) is not None else "."
            if state is None:
                conv.set_image(image, image_id, carry=self._learner(ds).carry if self.carry is not None else None)
                saved = ds.labels(image_id)
                if saved is not None:  # labels that came without a conversation (a VOC data set): shown as set by hand
                    try:
                        conv.paint(np.where(saved < len(self.pool.classes), saved, VOID).astype(np.int16))
                        ds.save(image_id, conv.labels(), conv.get_state())  # the same labels, now with their conversation
                    except UserError as e:  # labels too scattered for a step (guide/dialogue/conversation.py: MAX_STEP_RLE)
                        unread = (f" Its saved labels are kept on disk but cannot be shown for editing: {e} Saving this image "
                                  "would replace them.")
            tab = self.pool.tab(conv)
        place = {"dataset": place["dataset"] if self.out is None else None, "current": image_id, "key": tab["key"]}
        return tab, place, f"{self._where(ds, image_id)} {ds.progress_text()}.{unread}"

    @staticmethod
    def _where(ds: AnnotationDataset, image_id: str) -> str:
        """"Image 2 of 3: scene_01 (to do).": which image is in view (without the saved count)."""
        return f"Image {ds.index(image_id) + 1} of {len(ds)}: {image_id} ({ds.status(image_id)})."

    def go_index(self, tab: Any, place: Any, index: int) -> tuple[Tab, Place, str]:
        """Show the ``index``-th image of the strip's window (a click on the thumbnail strip)."""
        place = _place(place)
        ds = self.dataset(place)
        ids = ds.ids
        index += self.strip_offset(ds, place)
        if not 0 <= index < len(ids):
            raise UserError(f"There is no image {index + 1}: the data set has {len(ids)}.")
        return self.go(tab, place, ids[index])

    def resume(self, tab: Any, place: Any) -> tuple[Tab, Place, str]:
        """A new tab on the server's data set (``--out``): the first image not saved yet."""
        place = _place(place)
        if self.out is None or not len(self.out):
            return (tab if is_tab(tab) else blank_tab()), place, ""
        return self.go(tab, place, self._first_open(self.out))

    def step(self, tab: Any, place: Any, delta: int) -> tuple[Tab, Place, str]:
        """The image ``delta`` places away in the data set's order."""
        place = _place(place)
        ds = self.dataset(place)
        if not len(ds):
            raise UserError(NO_DATASET)
        k = ds.index(place["current"]) if ds.has(place["current"]) else -1 if delta > 0 else len(ds)
        target = k + delta
        if not 0 <= target < len(ds):
            raise UserError("This is the last image." if delta > 0 else "This is the first image.")
        return self.go(tab, place, ds.ids[target])

    def save(self, tab: Any, place: Any) -> tuple[Tab, Place, str]:
        """Save the image in view: its label map (the guided prediction with the hand-painted
        layer) and its conversation."""
        place = _place(place)
        ds = self.dataset(place)
        if place["current"] is None:
            raise UserError(NO_DATASET)
        if not self._showing(tab, place):
            raise UserError(f"The image in view is not one of the data set's; press Next or Previous to go back to "
                            f"{place['current']} (nothing was saved).")
        with self.pool.open(tab) as conv:
            labels, state = conv.labels(), conv.get_state()
        ds.save(place["current"], labels, state)
        if self.carry is not None:  # a saved image teaches the carried guide (its session holds its head features)
            with self.pool.open(tab) as conv:
                self._learner(ds).learn(conv.session, labels)
        return tab, place, f"Saved {place['current']}. {ds.progress_text()}."

    def _learner(self, ds: AnnotationDataset) -> CarryLearner:
        """The carried guide of ``ds`` (made on first use)."""
        key = str(ds.root.resolve())
        with self._lock:
            if key not in self._learners:
                assert self.carry is not None
                self._learners[key] = CarryLearner(self.model, self.carry)
            return self._learners[key]

    def save_and_next(self, tab: Any, place: Any) -> tuple[Tab, Place, str]:
        """Save, then show the next image not saved yet (after this one, wrapping round)."""
        tab, place, said = self.save(tab, place)
        ds = self.dataset(place)
        ids, k = ds.ids, ds.index(place["current"])
        target = next((i for i in ids[k + 1 :] + ids[:k] if ds.status(i) != SAVED), None)
        if target is None:
            return tab, place, f"{said} Every image is saved: download the data set, or open more images."
        tab, place, _ = self.go(tab, place, target)
        return tab, place, f"{said} {self._where(ds, target)}"  # the saved count once: ``said`` has it

    # ------------------------------------------------------------ what to show

    def strip_offset(self, ds: AnnotationDataset, place: Place) -> int:
        """Index of the strip's first thumbnail: a window of ``STRIP_WINDOW`` around the image in view."""
        k = ds.index(place["current"]) if ds.has(place["current"]) else 0
        return max(0, min(k - STRIP_WINDOW // 2, len(ds) - STRIP_WINDOW))

    def strip(self, place: Any, tab: Any = None) -> tuple[list[tuple[str, str]], int | None, str]:
        """(thumbnails as (path, "<status mark> id[ · <seconds spent> s]": :func:`how_far`), index of
        the place's image among them, "12 / 50 saved"): the ``STRIP_WINDOW`` images around the one in view. With ``tab``
        (still showing the place's image) that image's mark is live: a saved image changed
        since shows ✓✎ before it is kept."""
        place = _place(place)
        try:
            ds = self.dataset(place)
        except UserError:
            return [], None, ""
        offset = self.strip_offset(ds, place)
        window = ds.ids[offset : offset + STRIP_WINDOW]
        live = self._showing(tab, place)
        items = []
        for i in window:
            here = live and i == place["current"]
            status = ds.live_status(i, conversation_state(tab)) if here else ds.status(i)
            spent = seconds_spent(conversation_state(tab) if here else ds.conversation(i))
            items.append((str(ds.thumbnail(i, self._thumbs)), how_far(status, i if len(ds) <= STRIP_WINDOW
                                                                      else f"{ds.index(i) + 1}. {i}", spent)))
        current = window.index(place["current"]) if place["current"] in window else None
        return items, current, ds.progress_text()

    def download(self, tab: Any, place: Any) -> str:
        """The data set as one zip (its path), the conversation in view kept first."""
        place = _place(place)
        ds = self.dataset(place)
        self.keep_current(tab, place)
        folder = self.store.root / "cache" / "zips" / (place["dataset"] or "out")  # one zip per data set (name: unguessable)
        write_hub_files(ds)  # the unzipped folder also loads with datasets.load_dataset(folder)
        return str(ds.zip(folder))

    def push(self, tab: Any, place: Any, repo: str, token: Any) -> str:
        """Push the data set to the signed-in person's dataset repo (guide/annotation/hubpush.py) -> a message with its URL."""
        place = _place(place)
        from guide.annotation.hubpush import push_dataset

        if not getattr(token, "token", token):
            from guide.annotation.hubpush import SIGN_IN

            raise UserError(SIGN_IN)
        ds = self.dataset(place)
        self.keep_current(tab, place)
        url = push_dataset(ds, repo, token)
        return f"Pushed {ds.progress_text()} to {url}."
