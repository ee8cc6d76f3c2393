"""Annotating many images: a data set folder, the image in view, and each image's conversation.

An :class:`Annotator` joins a :class:`~guide.dataset.AnnotationDataset` (what is on disk)
to a :class:`~guide.pool.ConversationPool` (the guided network and its conversations).
A browser tab's state is the pool's tab (the image in view and its conversation state)
plus two plain fields::

    {"dataset": "/path/to/DATASET" | None, "current": "<image id>" | None, "image": ..., **conversation_state}

Moving to another image keeps the conversation of the one you leave in the data set
(``conversations/<id>.json``), so each image keeps its own dialogue however often you
move back and forth, and a restart on the same folder continues where you were.

Where the data set lives: with ``out`` (``python app.py --out DATASET``) every tab works
on that one folder; without it (a public Space has no server disk to offer) each tab's
first batch makes a data set in a temporary folder, kept while it is among the newest
``keep`` and downloaded as a zip (:meth:`Annotator.download`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .batch import limits_text
from .conversation import Conversation, UserError
from .dataset import SAVED, TODO, AnnotationDataset, DatasetError, model_identity
from .model import GuidedModel
from .pool import ConversationPool, blank_tab, is_tab

NO_DATASET = "Open some images first: drop image files or a zip on “Images to annotate”."
KEEP_TEMP_DATASETS = 64  # browser data sets (no --out) kept on the server, newest first


def annotation_tab(tab: Any = None) -> dict[str, Any]:
    """``tab`` (a pool tab, or nothing) with the annotation fields, defaults filled in."""
    tab = dict(tab) if is_tab(tab) else blank_tab()
    tab.setdefault("dataset", None)
    tab.setdefault("current", None)
    return tab


class Annotator:
    """Many images into one data set, one conversation per image. Methods take a tab and
    return the new tab and a message; :class:`~guide.conversation.UserError` and
    :class:`~guide.dataset.DatasetError` carry messages meant for the person."""

    def __init__(self, model: GuidedModel, pool: ConversationPool, out: str | os.PathLike | None = None,
                 allow_other_model: bool = False, keep: int = KEEP_TEMP_DATASETS) -> None:
        self.model, self.pool = model, pool
        self.allow_other_model = allow_other_model
        self.out = AnnotationDataset.for_model(out, model, allow_other_model) if out is not None else None
        self.limits = limits_text()
        self._temp = Path(tempfile.mkdtemp(prefix="guideme-datasets-"))
        self._thumbs = self._temp / "thumbs"
        self._open: OrderedDict[str, AnnotationDataset] = OrderedDict()  # temp data sets, oldest first
        self._keep = keep
        self._lock = threading.Lock()
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._temp), True)
        if self.out is not None:
            self._open[str(self.out.root)] = self.out

    # ------------------------------------------------------------ data sets

    def dataset(self, tab: dict[str, Any]) -> AnnotationDataset:
        """The tab's data set (UserError when it has none yet)."""
        root = tab.get("dataset")
        if root is None:
            if self.out is not None:
                return self.out
            raise UserError(NO_DATASET)
        with self._lock:
            ds = self._open.get(root)
            if ds is not None:
                self._open.move_to_end(root)
                return ds
        raise UserError("This tab's data set is gone (the server keeps the newest "
                        f"{self._keep} browser data sets); open your images again.")

    def _new_temp_dataset(self) -> AnnotationDataset:
        with self._lock:
            folder = Path(tempfile.mkdtemp(prefix="dataset-", dir=self._temp)) / "dataset"
            ds = AnnotationDataset.for_model(folder, self.model)
            self._open[str(ds.root)] = ds
            while len(self._open) > self._keep:
                root, _ = self._open.popitem(last=False)
                shutil.rmtree(Path(root).parent, ignore_errors=True)
            return ds

    # ------------------------------------------------------------ moving between images

    def open_images(self, paths: Iterable[str | os.PathLike] | None, tab: Any) -> tuple[dict[str, Any], str]:
        """Add image files / folders / zips to the tab's data set (a new one in the browser
        when it has none) and show the first image not yet saved."""
        tab = annotation_tab(tab)
        paths = [p for p in (paths or []) if p]
        if not paths:
            raise UserError("No files given: drop image files or a zip.")
        ds = self.dataset(tab) if (tab["dataset"] or self.out is not None) else self._new_temp_dataset()
        tab["dataset"] = str(ds.root)
        report = ds.add(paths)
        message = " ".join([report.summary(), *report.messages[:8]]) + (" …" if len(report.messages) > 8 else "")
        if not len(ds):
            return tab, message
        target = tab["current"] if tab["current"] in ds.ids else self._first_open(ds)
        tab, _ = self.go(tab, target)
        return tab, message

    def _first_open(self, ds: AnnotationDataset) -> str:
        statuses = ds.statuses()
        return next((i for i, s in statuses.items() if s != SAVED), ds.ids[0])

    def keep_current(self, tab: dict[str, Any]) -> None:
        """Store the conversation in view in the data set (once the person did something)."""
        if tab.get("current") is None or tab.get("image") is None:
            return
        ds = self.dataset(tab)
        state = {k: v for k, v in tab.items() if k not in ("image", "dataset", "current")}
        if state.get("steps") or state.get("pending") or ds.conversation(tab["current"]) is not None:
            if ds.conversation(tab["current"]) != state:
                ds.keep(tab["current"], state)

    def go(self, tab: Any, image_id: str) -> tuple[dict[str, Any], str]:
        """Show ``image_id``: keep the conversation in view, restore the target's."""
        tab = annotation_tab(tab)
        ds = self.dataset(tab)
        ds.entry(image_id)  # DatasetError for an unknown id
        self.keep_current(tab)
        image, key = self.pool.intern(ds.image(image_id))
        state = ds.conversation(image_id)
        with self.pool.conversation(image, key) as conv:
            if state is not None:
                conv.set_state(state, image)
            else:
                conv.set_image(image, image_id)
            new = {**self.pool.tab(conv), "dataset": str(ds.root), "current": image_id}
        k = ds.ids.index(image_id)
        return new, f"Image {k + 1} of {len(ds)}: {image_id} ({ds.status(image_id)}). {ds.progress_text()}."

    def step(self, tab: Any, delta: int) -> tuple[dict[str, Any], str]:
        """The image ``delta`` places away in the data set's order (clamped to the ends)."""
        tab = annotation_tab(tab)
        ds = self.dataset(tab)
        if not len(ds):
            raise UserError(NO_DATASET)
        k = ds.ids.index(tab["current"]) if tab["current"] in ds.ids else 0
        target = min(max(k + delta, 0), len(ds) - 1)
        if target == k and tab["current"] is not None:
            raise UserError("This is the last image." if delta > 0 else "This is the first image.")
        return self.go(tab, ds.ids[target])

    def save(self, tab: Any) -> tuple[dict[str, Any], str]:
        """Save the image in view: its label map (guided prediction with hand edits) and conversation."""
        tab = annotation_tab(tab)
        if tab["current"] is None:
            raise UserError(NO_DATASET)
        ds = self.dataset(tab)
        with self.pool.open(tab) as conv:
            labels, state = conv.labels(), conv.get_state()
        ds.save(tab["current"], labels, state)
        return tab, f"Saved {tab['current']}. {ds.progress_text()}."

    def save_and_next(self, tab: Any) -> tuple[dict[str, Any], str]:
        """Save, then show the next image not yet saved (after this one, wrapping round)."""
        tab, said = self.save(tab)
        ds = self.dataset(tab)
        statuses = ds.statuses()
        k = ds.ids.index(tab["current"])
        order = ds.ids[k + 1 :] + ds.ids[:k]
        target = next((i for i in order if statuses[i] != SAVED), None)
        if target is None:
            return tab, f"{said} Every image is saved: download the data set, or open more images."
        tab, where = self.go(tab, target)
        return tab, f"{said} {where}"

    # ------------------------------------------------------------ what to show

    def strip(self, tab: Any) -> tuple[list[tuple[str, str]], int | None, str]:
        """(thumbnails as (path, "id · status"), index of the image in view, "12 / 50 saved")."""
        tab = annotation_tab(tab)
        try:
            ds = self.dataset(tab)
        except UserError:
            return [], None, ""
        statuses = ds.statuses()
        items = [(str(ds.thumbnail(i, self._thumbs)), f"{i} · {statuses[i]}") for i in ds.ids]
        current = ds.ids.index(tab["current"]) if tab["current"] in ds.ids else None
        return items, current, ds.progress_text()

    def download(self, tab: Any) -> str:
        """The tab's data set as one zip (its path)."""
        tab = annotation_tab(tab)
        ds = self.dataset(tab)
        self.keep_current(tab)  # the zip holds the conversation in view too
        return str(ds.zip(Path(tempfile.mkdtemp(dir=self._temp, prefix="zip-"))))
