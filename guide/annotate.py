"""Annotating many images: a data set folder, the image in view, and each image's conversation.

An :class:`Annotator` joins a :class:`~guide.dataset.AnnotationDataset` (what is on disk)
to a :class:`~guide.pool.ConversationPool` (the guided network and its conversations).
A browser tab holds the pool's tab (the image in view and its conversation state) and,
next to it, a small *place* saying which data set image that is::

    {"dataset": "/path/to/DATASET" | None, "current": "<image id>" | None, "key": "<image key>" | None}

(``key`` tells whether the tab still shows that image: a single image opened on its own
in between is never saved under a data set id).

Moving to another image keeps the conversation of the one you leave in the data set
(``conversations/<id>.json``), so each image keeps its own dialogue however often you
move back and forth, and a restart on the same folder continues where you were.

Where the data set lives: with ``out`` (``python app.py --out DATASET``) every tab works
on that one folder; without it (a public Space has no server disk to offer) each tab's
first batch makes a data set in a temporary folder, kept while it is among the newest
``keep`` and downloaded as a zip (:meth:`Annotator.download`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .batch import limits_text
from .conversation import UserError
from .dataset import CHANGED, IN_PROGRESS, SAVED, TODO, AnnotationDataset
from .model import GuidedModel
from .pool import ConversationPool, blank_tab, conversation_state, is_tab

NO_DATASET = "Open some images first: drop image files or a zip on “Images to annotate”."
KEEP_TEMP_DATASETS = 64  # browser data sets (no --out) kept on the server, newest first
#: Status marks on the thumbnail strip (short: captions are narrow), explained by :data:`MARKS_HELP`.
MARKS = {SAVED: "✓", CHANGED: "✓✎", IN_PROGRESS: "✎", TODO: "○"}
MARKS_HELP = " · ".join(f"{m} {s}" for s, m in MARKS.items())

Tab = dict[str, Any]
Place = dict[str, Any]


def blank_place() -> Place:
    """No data set yet (or, with ``--out``, the server's one: see :meth:`Annotator.dataset`)."""
    return {"dataset": None, "current": None, "key": None}


def _place(place: Any) -> Place:
    return {**blank_place(), **place} if isinstance(place, dict) else blank_place()


class Annotator:
    """Many images into one data set, one conversation per image. Methods take the tab and
    its place and return new ones with a message; :class:`~guide.conversation.UserError`
    and :class:`~guide.dataset.DatasetError` carry messages meant for the person."""

    def __init__(self, model: GuidedModel, pool: ConversationPool, out: str | os.PathLike | None = None,
                 allow_other_model: bool = False, keep: int = KEEP_TEMP_DATASETS) -> None:
        self.model, self.pool = model, pool
        self.out = AnnotationDataset.for_model(out, model, allow_other_model) if out is not None else None
        self.limits = limits_text()
        self._temp = Path(tempfile.mkdtemp(prefix="guideme-datasets-"))
        self._thumbs = self._temp / "thumbs"
        self._open: OrderedDict[str, AnnotationDataset] = OrderedDict()  # browser data sets, least recently used first
        self._keep = keep
        self._lock = threading.Lock()
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._temp), True)

    # ------------------------------------------------------------ data sets

    def dataset(self, place: Place) -> AnnotationDataset:
        """The place's data set: the server's (``--out``), or the tab's own; UserError when none."""
        if self.out is not None:
            return self.out
        root = place.get("dataset")
        if root is None:
            raise UserError(NO_DATASET)
        with self._lock:
            ds = self._open.get(root)
            if ds is not None:
                self._open.move_to_end(root)
                return ds
        raise UserError(f"This tab's data set is gone (the server keeps the {self._keep} most recently used); "
                        "open your images again, and download the data set to keep it.")

    def _new_dataset(self) -> AnnotationDataset:
        with self._lock:
            folder = Path(tempfile.mkdtemp(prefix="dataset-", dir=self._temp)) / "dataset"
            ds = AnnotationDataset.for_model(folder, self.model)
            self._open[str(ds.root)] = ds
            while len(self._open) > self._keep:
                root, _ = self._open.popitem(last=False)
                shutil.rmtree(Path(root).parent, ignore_errors=True)
            return ds

    # ------------------------------------------------------------ moving between images

    def open_images(self, paths: Iterable[str | os.PathLike] | None, tab: Any, place: Any) -> tuple[Tab, Place, str]:
        """Add image files / folders / zips to the data set (in the browser, the tab's own,
        made now if it has none) and show the image in view, else the first not saved."""
        place = _place(place)
        paths = [p for p in (paths or []) if p]
        if not paths:
            raise UserError("No files given: drop image files or a zip.")
        ds = self.dataset(place) if (self.out is not None or place["dataset"]) else self._new_dataset()
        place["dataset"] = str(ds.root)
        report = ds.add(paths)
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
        with self.pool.conversation(image, key) as conv:
            if state is not None:
                conv.set_state(state, image)
            else:
                conv.set_image(image, image_id)
            tab = self.pool.tab(conv)
        place = {"dataset": str(ds.root), "current": image_id, "key": tab["key"]}
        k = ds.ids.index(image_id)
        return tab, place, f"Image {k + 1} of {len(ds)}: {image_id} ({ds.status(image_id)}). {ds.progress_text()}."

    def go_index(self, tab: Any, place: Any, index: int) -> tuple[Tab, Place, str]:
        """Show the data set's ``index``-th image (a click on the thumbnail strip)."""
        ids = self.dataset(_place(place)).ids
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
        k = ds.ids.index(place["current"]) if place["current"] in ds.ids else -1 if delta > 0 else len(ds)
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
        return tab, place, f"Saved {place['current']}. {ds.progress_text()}."

    def save_and_next(self, tab: Any, place: Any) -> tuple[Tab, Place, str]:
        """Save, then show the next image not saved yet (after this one, wrapping round)."""
        tab, place, said = self.save(tab, place)
        ds = self.dataset(place)
        statuses = ds.statuses()
        k = ds.ids.index(place["current"])
        target = next((i for i in ds.ids[k + 1 :] + ds.ids[:k] if statuses[i] != SAVED), None)
        if target is None:
            return tab, place, f"{said} Every image is saved: download the data set, or open more images."
        tab, place, where = self.go(tab, place, target)
        return tab, place, f"{said} {where}"

    # ------------------------------------------------------------ what to show

    def strip(self, place: Any) -> tuple[list[tuple[str, str]], int | None, str]:
        """(thumbnails as (path, "<status mark> id"), index of the place's image, "12 / 50 saved")."""
        place = _place(place)
        try:
            ds = self.dataset(place)
        except UserError:
            return [], None, ""
        statuses = ds.statuses()
        items = [(str(ds.thumbnail(i, self._thumbs)), f"{MARKS[statuses[i]]} {i}") for i in ds.ids]
        current = ds.ids.index(place["current"]) if place["current"] in ds.ids else None
        return items, current, ds.progress_text()

    def download(self, tab: Any, place: Any) -> str:
        """The data set as one zip (its path), the conversation in view kept first."""
        place = _place(place)
        ds = self.dataset(place)
        self.keep_current(tab, place)
        folder = self._temp / "zips" / hashlib.sha1(str(ds.root).encode()).hexdigest()[:16]  # one zip per data set
        return str(ds.zip(folder))
