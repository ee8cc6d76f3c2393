"""An annotated data set on disk: images in, label maps and conversations out, resumable.

Layout (PASCAL VOC, so :mod:`guide.data.voc` and other VOC tools read it, plus COCO)::

    DATASET/dataset.json                    manifest: model, classes, palette, every image (order = COCO image id)
    DATASET/labelmap.txt                    class list, ``name:r,g,b::`` per line (line k+1 = class k)
    DATASET/JPEGImages/<id>.jpg             every image opened, as annotated (RGB JPEG, no metadata)
    DATASET/SegmentationClass/<id>.png      saved label maps: palette PNG, pixel = class index, 255 = void ("unsure")
    DATASET/ImageSets/Segmentation/*.txt    saved ids: trainval.txt (all), train.txt / val.txt (a stable ~4:1 split)
    DATASET/coco.json                       COCO: images, categories (id = class index), one RLE annotation per class per image
    DATASET/conversations/<id>.json         each image's conversation state (latest, and as saved) to reopen it exactly

An image is "to do" (no conversation yet), "in progress" (a conversation, never
saved), "saved", or "changed" (saved, then edited; the files hold the last save).

Every file is written atomically (temporary file + ``os.replace``), and a save commits
in order: the label PNG is written aside (``.<id>.png.new``), then the conversation
record naming its hash, then the PNG moves into place and the COCO JSON and split
lists follow. Opening the folder finishes or drops a save a crash interrupted, so
the PNG, the record, the COCO JSON and the lists always agree. One process writes a
data set at a time (threads within it are serialised).

The manifest records the model (name, source) and classes that made the data set:
opening it with other classes is refused with a message, and with another model of
the same classes unless ``allow_other_model`` (each save records its model).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from guide.annotation.intake import (
    MAX_FILE_BYTES,
    SNIFF_BYTES,
    BadImage,
    Batch,
    IdMaker,
    ImageFile,
    PixelBudget,
    collect,
    safe_id,
    sniff_image,
    zip_refusal,
)
from guide.core.digest import array_digest
from guide.core.export import rle_encode
from guide.core.labels import VOID, palette_image
from guide.data.voc import LABELMAP, write_labelmap
from guide.dialogue.conversation import MAX_TURNS, UserError, check_conversation_state, image_key
from guide.serving.pagevalues import load_image

FORMAT = "guide-me-dataset"
VERSION = 1
MANIFEST = "dataset.json"
COCO = "coco.json"
IMAGES = "JPEGImages"
LABELS = "SegmentationClass"
LISTS = "ImageSets/Segmentation"
CONVERSATIONS = "conversations"
STAGING = ".staging"  # images being opened, until the manifest names them (then moved into JPEGImages/)
COMMIT_EVERY = 32  # images an open stages before committing them (manifest, then the moves)
JPEG_QUALITY = 95
MAX_MANIFEST_BYTES = 8 * 2**20  # a manifest of 1,000 images is ~200 KB
MAX_RECORD_BYTES = 16 * 2**20  # a conversation record (state and saved state) of 50 text turns is ~6 MB
MAX_LABEL_RUNS = 100_000  # runs of one label value (column-major, as COCO RLE counts them) a resumed label map may have
RECORD_TURNS = 4 * MAX_TURNS  # turns a resumed record may hold (a server's settings may allow more than the default)
VOID_COLOUR = (224, 224, 192)  # VOC's colour for 255
VAL_EVERY = 5  # about one saved image in VAL_EVERY goes to val.txt (by a hash of its id: stable)
THUMB_SIDE = 128  # longer side of a thumbnail, pixels

TODO, IN_PROGRESS, SAVED, CHANGED = "to do", "in progress", "saved", "changed"
STATUSES = (TODO, IN_PROGRESS, SAVED, CHANGED)

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: mkstemp makes 0600 files; data set files get the usual mode
_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


class DatasetError(Exception):
    """A problem with a data set folder or a request on it; the message is for the user."""


class ModelMismatch(DatasetError):
    """The data set was made by another model or other classes."""


# --------------------------------------------------------------------------- files


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], None], sync: bool = True) -> None:
    """Write ``data`` (bytes, or a function writing to a binary file) to ``path`` so that
    readers see the old file or the whole new one, never a part: a temporary file in the
    same folder, flushed to disk (unless ``sync`` is False: files rebuilt on opening, such
    as COCO and the lists, need not wait for the disk), then ``os.replace``. On error the
    temporary is removed and the old file is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, (bytes, bytearray)):
                f.write(data)
            else:
                data(f)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path} could not be read ({type(e).__name__}: {e}); nothing was changed.") from None


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _is_sha1(value: Any) -> bool:
    """A hex SHA-1, as the manifest writes it (a manifest from a zip may say anything: a path, for one)."""
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{40}", value) is not None


def _json_of(data: bytes | None, default: Any = None) -> Any:
    """JSON from a person's zip or folder, refused (ValueError) when it is mostly brackets: a file of
    ``[],[],...`` parses to 20x its size in memory, and deep nesting overflows the parser. Real manifests
    and records are mostly numbers and words (a labelled point, ``[12, 34, 5]``, is one bracket in 12 bytes)."""
    if not data:
        return default
    if data.count(b"[") + data.count(b"{") > len(data) // 8 + 64:
        raise ValueError("not a manifest or a record: mostly brackets")
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deep") from None


def labels_sha1(labels: np.ndarray) -> str:
    """Hash of a label map's pixels and shape (what a conversation record names)."""
    return array_digest(np.ascontiguousarray(labels, dtype=np.uint8))


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """A saved label PNG as HxW uint8 class indices (255 = void)."""
    with Image.open(path) as im:
        return np.array(im, dtype=np.uint8)


def model_identity(model: Any) -> dict[str, str]:
    """``{"name", "source"}`` of a :class:`~guide.core.guided.GuidedModel` (what the manifest records)."""
    return {"name": str(model.config.name or ""), "source": str(model.source or "")}


def _same_model(a: dict[str, str], b: dict[str, str]) -> bool:
    """Models match by name (the same model may come from the Hub or a local cache), by
    source when unnamed."""
    if a.get("name") or b.get("name"):
        return a.get("name") == b.get("name")
    return a.get("source") == b.get("source")


def _describe(model: dict[str, str]) -> str:
    return f"“{model.get('name') or 'unnamed'}” ({model.get('source') or 'unknown source'})"


_held_locks: dict[str, int] = {}  # folder -> file descriptor of its lock, for this process's life
_held_guard = threading.Lock()


def lock_folder(root: str | os.PathLike) -> None:
    """Make this process the one writer of the data set folder ``root`` (``--out``): an
    exclusive ``flock`` on the folder itself (made if new; nothing is written in it), held
    until the process ends (a crash releases it). A second server process on the same
    folder gets DatasetError; this process may open the folder again (threads share the
    lock). No-op where the platform has no ``fcntl``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one process by convention
        return
    path = Path(root)
    key = str(path.resolve())
    with _held_guard:
        if key in _held_locks:
            return
        if path.exists() and not path.is_dir():
            raise DatasetError(f"{path} is a file, not a folder; choose another --out.")
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DatasetError(f"{path} is being written by another Guide Me server process; every tab of a server "
                               "writes its --out folder, so two servers would overwrite each other's saves. Stop that "
                               "server, or choose another --out folder. Nothing was changed.") from None
        _held_locks[key] = fd


# --------------------------------------------------------------------------- COCO


def coco_annotations(labels: np.ndarray, image_id: int, classes: Sequence[str]) -> list[dict[str, Any]]:
    """One COCO annotation per class present in ``labels`` (compressed RLE by pycocotools,
    :func:`guide.core.export.rle_encode`; void pixels belong to none). Annotation id =
    image_id * 256 + class index; bbox = [x, y, width, height] in pixels."""
    out = []
    for k in np.unique(labels).tolist():
        if k == VOID or k >= len(classes):
            continue
        mask = labels == k
        rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
        out.append({
            "id": image_id * 256 + k,
            "image_id": image_id,
            "category_id": k,
            "segmentation": rle_encode(mask),
            "area": int(mask.sum()),
            "bbox": [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)],
            "iscrowd": 0,
        })
    return out


def coco_to_labels(coco: Any, image_id: int) -> np.ndarray:
    """Paint a COCO image's annotations back into an HxW label map (category id = class
    index, unannotated = 255): the inverse of :func:`coco_annotations`."""
    info = coco.imgs[image_id]
    labels = np.full((info["height"], info["width"]), VOID, np.uint8)
    with warnings.catch_warnings():  # pycocotools' decode predates numpy 2's copy keyword
        warnings.simplefilter("ignore", DeprecationWarning)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=[image_id])):
            labels[coco.annToMask(ann).astype(bool)] = ann["category_id"]
    return labels


# --------------------------------------------------------------------------- the data set


@dataclass
class AddReport:
    """What :meth:`AnnotationDataset.add` did: ids added, ids already there, messages."""

    added: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    resumed: int = 0  # of the added, images that came with saved labels (a resumed data set)

    def summary(self) -> str:
        parts = [f"Opened {len(self.added)} new image{'s' if len(self.added) != 1 else ''}"]
        if self.resumed:
            parts.append(f"{self.resumed} with saved labels")
        if self.existing:
            parts.append(f"{len(self.existing)} already in the data set")
        if self.messages:
            parts.append(f"{len(self.messages)} problem{'s' if len(self.messages) != 1 else ''}")
        return ", ".join(parts) + "."


class AnnotationDataset:
    """A data set folder (see the module docstring) for one model's classes.

    ``AnnotationDataset(root, classes, palette, model={"name", "source"})`` creates the
    folder or reopens it; reopening with other classes raises :class:`ModelMismatch`,
    with another model too unless ``allow_other_model``.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        classes: Sequence[str],
        palette: Sequence[Sequence[int]],
        model: dict[str, str],
        allow_other_model: bool = False,
    ) -> None:
        self.root = Path(root)
        self.classes = [str(c) for c in classes]
        self.palette = [tuple(int(v) for v in c[:3]) for c in palette[: len(self.classes)]]
        self.model = {"name": str(model.get("name", "")), "source": str(model.get("source", ""))}
        if len(self.classes) >= VOID:
            raise DatasetError(f"{len(self.classes)} classes do not fit a PNG label map with {VOID} as void.")
        self._records: dict[str, dict[str, Any] | None] = {}  # conversation records as last read or written
        self._has_png: set[str] = set()  # ids with a label PNG in place (kept here: no stat per image per action)
        # COCO per image, encoded once: id -> (image entry JSON, its annotations JSON joined by commas, labels hash).
        # A save re-encodes its own image only; coco.json is these pieces joined (no parse, no re-encode of the rest).
        self._coco_parts: dict[str, tuple[bytes, bytes, str]] = {}
        with _locks_guard:
            self._lock = _locks.setdefault(str(self.root.resolve()), threading.RLock())
        with self._lock:
            manifest_path = self.root / MANIFEST
            if manifest_path.is_file():
                self.manifest = _read_json(manifest_path)
                self._check(allow_other_model)
                self._index = {e["id"]: i for i, e in enumerate(self.manifest["images"])}
                self._has_png = {p.name[:-4] for p in (self.root / LABELS).glob("*.png") if not p.name.startswith(".")}
                self._recover()
            else:
                if self.root.exists() and not self.root.is_dir():
                    raise DatasetError(f"{self.root} is a file, not a folder; choose another --out.")
                if self.root.is_dir() and any(self.root.iterdir()):
                    raise DatasetError(f"{self.root} is not empty and is not a Guide Me data set (no {MANIFEST}); "
                                       "choose an empty or new folder so nothing in it is overwritten.")
                self.manifest = {"format": FORMAT, "version": VERSION, "model": self.model, "classes": self.classes,
                                 "palette": [list(c) for c in self.palette], "void": VOID, "images": []}
                self._index: dict[str, int] = {}
                self._write_manifest()
                atomic_write(self.root / LABELMAP, write_labelmap(self.classes, self.palette).encode("utf-8"))
                self._write_coco()
                self._write_lists()

    @classmethod
    def for_model(cls, root: str | os.PathLike, model: Any, allow_other_model: bool = False) -> AnnotationDataset:
        """The data set at ``root`` for a :class:`~guide.core.guided.GuidedModel`."""
        return cls(root, list(model.classes), model.config.palette, model_identity(model), allow_other_model)

    # ------------------------------------------------------------ opening

    def _check(self, allow_other_model: bool) -> None:
        m = self.manifest
        if not isinstance(m, dict) or m.get("format") != FORMAT:
            raise DatasetError(f"{self.root / MANIFEST} is not a Guide Me data set manifest; nothing was changed.")
        if int(m.get("version", 0)) > VERSION:
            raise DatasetError(f"{self.root} was written by a newer version (format {m.get('version')}); update Guide Me to open it.")
        made_by = m.get("model", {})
        if list(m.get("classes", [])) != self.classes:
            theirs = ", ".join(m.get("classes", []))
            raise ModelMismatch(
                f"{self.root} holds labels for other classes (made by model {_describe(made_by)}: {theirs[:300]}); "
                f"the model running now, {_describe(self.model)}, has {', '.join(self.classes)[:300]}. "
                f"Nothing was changed. Start the app with that model (--model), or choose another --out folder."
            )
        if not _same_model(made_by, self.model) and not allow_other_model:
            raise ModelMismatch(
                f"{self.root} was annotated with model {_describe(made_by)}; the model running now is "
                f"{_describe(self.model)} (same classes). Nothing was changed. Start the app with that model "
                f"(--model), choose another --out folder, or pass --allow-other-model to continue it with this one "
                f"(saved labels stay as they are; each save records its model)."
            )

    def _recover(self) -> None:
        """Finish or drop saves and opens a crash interrupted; make COCO and the lists match the records."""
        for tmp in self.root.rglob(".tmp-*"):  # an atomic write that never reached os.replace
            tmp.unlink(missing_ok=True)
        self._recover_staging()
        for new in (self.root / LABELS).glob(".*.png.new"):
            image_id = new.name[1 : -len(".png.new")]
            record = self._record(image_id) if image_id in self._index else None
            saved = (record or {}).get("saved") or {}
            try:
                ok = saved.get("labels_sha1") == labels_sha1(read_labels(new))
            except OSError:
                ok = False
            if ok:  # the record was committed: finish the move
                os.replace(new, self.root / LABELS / f"{image_id}.png")
                self._has_png.add(image_id)
            else:  # the record never named these labels: that save did not happen
                new.unlink()
        coco = self._read_coco()
        have = {img["file_name"][: -len(".jpg")]: img.get("labels_sha1") for img in coco["images"]}
        want = {i: r["saved"]["labels_sha1"] for i, r in self._saved_records().items()}
        if have != want:
            coco = self._rebuild_coco(coco, want, have)
        self._coco_parts = self._split_coco(coco)
        if have != want:
            self._write_coco()
        self._write_lists()

    def _recover_staging(self) -> None:
        """An open that a crash cut short: images it committed (named in the manifest) move
        into place; the rest of the staging folder goes. Manifest entries without a JPEG and
        without a conversation (an open cut short before its move) are dropped, and JPEGs no
        entry names (left by an older version's crash) are removed: no orphan images."""
        staging = self.root / STAGING
        if staging.is_dir():
            for f in staging.glob("*.jpg"):
                if f.stem in self._index and not (self.root / IMAGES / f.name).is_file():
                    (self.root / IMAGES).mkdir(parents=True, exist_ok=True)
                    os.replace(f, self.root / IMAGES / f.name)
            shutil.rmtree(staging, ignore_errors=True)
        images = self.manifest["images"]
        keep = [e for e in images if (self.root / IMAGES / f"{e['id']}.jpg").is_file()
                or (self.root / CONVERSATIONS / f"{e['id']}.json").is_file()]
        if len(keep) != len(images):
            self.manifest["images"] = keep
            self._index = {e["id"]: i for i, e in enumerate(keep)}
            self._write_manifest()
        if (self.root / IMAGES).is_dir():
            for f in (self.root / IMAGES).glob("*.jpg"):
                if f.stem not in self._index:
                    f.unlink(missing_ok=True)

    # ------------------------------------------------------------ listing

    @property
    def ids(self) -> list[str]:
        """Every image id, in the order opened."""
        return [e["id"] for e in self.manifest["images"]]

    def __len__(self) -> int:
        return len(self.manifest["images"])

    def has(self, image_id: Any) -> bool:
        return isinstance(image_id, str) and image_id in self._index

    def index(self, image_id: str) -> int:
        """The image's place in the data set's order (0-based)."""
        try:
            return self._index[image_id]
        except (KeyError, TypeError):
            raise DatasetError(f"No image {image_id!r} in this data set.") from None

    def entry(self, image_id: str) -> dict[str, Any]:
        """The manifest entry (id, name, sha1, height, width) of an image."""
        try:
            return self.manifest["images"][self._index[image_id]]
        except KeyError:
            raise DatasetError(f"No image {image_id!r} in this data set.") from None

    def status(self, image_id: str) -> str:
        """"to do", "in progress", "saved" or "changed" (saved, edited since)."""
        self.entry(image_id)
        record = self._record(image_id)
        if record is None:
            return TODO
        saved = record.get("saved")
        if not saved or image_id not in self._has_png:
            return IN_PROGRESS
        return SAVED if record.get("state") == saved.get("state") else CHANGED

    def live_status(self, image_id: str, state: dict[str, Any]) -> str:
        """The status the image would have with the conversation ``state`` kept now (the
        strip's mark for the image in view: a saved image painted since is "changed" at once)."""
        record = self._record(image_id)
        saved = (record or {}).get("saved")
        if saved and image_id in self._has_png:
            try:
                plain = json.loads(_json_bytes(state))
            except (TypeError, ValueError):
                return CHANGED
            return SAVED if plain == saved.get("state") else CHANGED
        return IN_PROGRESS if record is not None or state.get("steps") or state.get("pending") else TODO

    def statuses(self) -> dict[str, str]:
        return {i: self.status(i) for i in self.ids}

    def progress(self) -> tuple[int, int]:
        """(images with saved labels, all images)."""
        return len(self._saved_records()), len(self)

    def progress_text(self) -> str:
        saved, total = self.progress()
        return f"{saved} / {total} saved"

    # ------------------------------------------------------------ adding images

    def open_paths(self, paths: Iterable[str | os.PathLike], progress: Callable[[int, int], None] | None = None,
                   budget: PixelBudget | None = None) -> AddReport:
        """What the app opens: data sets among ``paths`` (:func:`dataset_source`) are resumed
        (:meth:`resume_from`), the other files, folders and zips added (:meth:`add`).
        All of them share one :class:`~guide.annotation.intake.PixelBudget` (default: a fresh one,
        ``MAX_BATCH_PIXELS``): one request decodes at most that (what did not fit is counted in the
        report's first message)."""
        paths = list(paths)
        sources = [p for p in paths if dataset_source(p) is not None]
        rest = [p for p in paths if p not in sources]
        report, budget = AddReport(), budget if budget is not None else PixelBudget()
        parts = [self.resume_from(p, budget) for p in sources] + ([self.add(rest, progress, budget)] if rest or not sources else [])
        for r in parts:
            report.added += r.added
            report.existing += r.existing
            report.messages += r.messages
            report.resumed += r.resumed
        left_out = budget.message()
        if left_out:
            report.messages.insert(0, left_out)  # first: the app shows the first few messages only
        return report

    def add(self, paths: Iterable[str | os.PathLike], progress: Callable[[int, int], None] | None = None,
            budget: PixelBudget | None = None) -> AddReport:
        """Open image files, folders or zips (checked by :func:`guide.annotation.intake.collect`) into the
        data set: each new image is stored as ``JPEGImages/<id>.jpg``; an image whose bytes
        are already in the data set is not added twice (so reopening ``--images DIR`` on the
        same ``--out`` adds only new files). ``progress(done, total)`` is told as images are read.
        ``budget``: the pixels this request may still decode (default: a fresh
        :class:`~guide.annotation.intake.PixelBudget`, whose message ends the report's).

        Crash-safe: images are written to a staging folder and committed ``COMMIT_EVERY`` at a
        time (the manifest names them, then they move into ``JPEGImages/``); a crash leaves no
        image the manifest does not name (:meth:`_recover_staging` on the next opening)."""
        with self._lock:
            batch = collect(paths, taken=self.ids, exclude=self.root)
            return self._add_batch(batch, progress, budget)

    def _add_batch(self, batch: Batch, progress: Callable[[int, int], None] | None = None, budget: PixelBudget | None = None) -> AddReport:
        """Decode and store ``batch``'s new images; each image's header size is taken from
        ``budget`` before it is decoded, and once one does not fit it and the rest are left out
        (``budget.left_out``; None: a fresh budget whose message ends the report's)."""
        own = budget is None
        budget = budget if budget is not None else PixelBudget()
        report = AddReport(messages=list(batch.messages))
        by_hash = {e["sha1"]: e["id"] for e in self.manifest["images"]}
        staging, staged = self.root / STAGING, []

        def commit() -> None:
            if staged:
                self._write_manifest()  # the commit point: from here on a reopen finishes the moves
                (self.root / IMAGES).mkdir(parents=True, exist_ok=True)
                for image_id in staged:
                    os.replace(staging / f"{image_id}.jpg", self.root / IMAGES / f"{image_id}.jpg")
                staged.clear()

        try:
            for n, item in enumerate(batch.images):
                if progress is not None:
                    progress(n, len(batch.images))
                try:
                    data = item.read()
                    digest = item.digest or _sha1(data)
                    if digest in by_hash:
                        report.existing.append(by_hash[digest])
                        continue
                    if not budget.take(data):  # header size only: nothing decoded yet
                        budget.leave_out(i.name for i in batch.images[n:])
                        break
                    image, note = load_image(io.BytesIO(data))
                    same = item.digest is not None and _decodes_to(data, image)
                except (BadImage, OSError, zipfile.BadZipFile, RuntimeError, EOFError) as e:
                    report.messages.append(f"{item.name}: skipped, {e}.")
                    continue
                except UserError as e:  # load_image's own words
                    report.messages.append(f"{item.name}: skipped. {e}")
                    continue
                buf = io.BytesIO()
                # Re-encoded: no EXIF (GPS) travels into a data set meant to be shared, and
                # the stored JPEG is exactly the image that gets annotated. A data set's own
                # JPEG (a resumed zip) that decodes to that image is kept byte for byte, so
                # its conversations still name its pixels.
                if same:
                    buf.write(data)
                else:
                    Image.fromarray(image).save(buf, "JPEG", quality=JPEG_QUALITY)
                atomic_write(staging / f"{item.id}.jpg", buf.getvalue())
                self._append_entry(item.id, item.name, digest, image.shape[:2])
                staged.append(item.id)
                by_hash[digest] = item.id
                report.added.append(item.id)
                if note:
                    report.messages.append(f"{item.name}: {note.strip(' ()')}.")
                if len(staged) >= COMMIT_EVERY:
                    commit()
        finally:
            commit()
            shutil.rmtree(staging, ignore_errors=True)
        if own and budget.message():
            report.messages.insert(0, budget.message())
        return report

    def _append_entry(self, image_id: str, name: str, digest: str, shape: tuple[int, int]) -> None:
        self.manifest["images"].append({"id": image_id, "name": name, "sha1": digest, "height": int(shape[0]), "width": int(shape[1])})
        self._index[image_id] = len(self.manifest["images"]) - 1

    # ------------------------------------------------------------ reading

    def _decode(self, image_id: str) -> np.ndarray:
        with Image.open(self.root / IMAGES / f"{image_id}.jpg") as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()

    def image(self, image_id: str) -> np.ndarray:
        """HxWx3 uint8 RGB: the stored JPEG decoded, exactly what VOC readers load."""
        self.entry(image_id)
        return self._decode(image_id)

    def labels(self, image_id: str) -> np.ndarray | None:
        """The saved label map (HxW uint8, 255 = void), or None if never saved."""
        self.entry(image_id)
        path = self.root / LABELS / f"{image_id}.png"
        return read_labels(path) if path.is_file() else None

    def conversation(self, image_id: str) -> dict[str, Any] | None:
        """The latest conversation state stored for the image (saved or not), or None."""
        self.entry(image_id)
        record = self._record(image_id)
        return None if record is None else copy.deepcopy(record.get("state"))

    def saved_conversation(self, image_id: str) -> dict[str, Any] | None:
        """The conversation state as of the last save, or None."""
        self.entry(image_id)
        saved = (self._record(image_id) or {}).get("saved")
        return None if not saved else copy.deepcopy(saved.get("state"))

    def _record(self, image_id: str) -> dict[str, Any] | None:
        """The image's conversation record (cached: this process is the only writer; never mutate it)."""
        if image_id not in self._records:
            path = self.root / CONVERSATIONS / f"{image_id}.json"
            self._records[image_id] = _read_json(path) if path.is_file() else None
        return self._records[image_id]

    def _write_record(self, image_id: str, record: dict[str, Any], body: bytes | None = None) -> None:
        body = body if body is not None else self._record_bytes(record)
        atomic_write(self.root / CONVERSATIONS / f"{image_id}.json", body)
        self._records[image_id] = json.loads(body)  # exactly what a reopen reads (tuples become lists)

    def thumbnail(self, image_id: str, folder: str | os.PathLike, side: int = THUMB_SIDE) -> Path:
        """A small JPEG of the image in ``folder`` (made once, named by the image's hash)."""
        e = self.entry(image_id)
        # Named by this data set's image, not by the manifest's sha1 alone: a manifest from a zip may claim
        # another tab's image's sha1, and thumbnails of all tabs share ``folder``.
        name = _sha1(f"{self.root.resolve()}\0{image_id}\0{e['sha1']}".encode())
        path = Path(folder) / f"{name}-{side}.jpg"
        if not path.is_file():
            with Image.open(self.root / IMAGES / f"{image_id}.jpg") as im:
                im.draft("RGB", (side, side))
                im = im.convert("RGB")
                im.thumbnail((side, side))
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=85)
            atomic_write(path, buf.getvalue())
        return path

    def _saved_records(self) -> dict[str, dict[str, Any]]:
        out = {}
        for e in self.manifest["images"]:
            record = self._record(e["id"])
            if record and record.get("saved") and e["id"] in self._has_png:
                out[e["id"]] = record
        return out

    # ------------------------------------------------------------ writing

    def keep(self, image_id: str, state: dict[str, Any]) -> str:
        """Store the conversation state without saving labels (moving to another image);
        a saved image's labels stay as saved. Returns the new status."""
        self.entry(image_id)
        with self._lock:
            record = {"id": image_id, "saved": None, **(self._record(image_id) or {}), "state": state}
            self._write_record(image_id, record)
        return self.status(image_id)

    def save(self, image_id: str, labels: np.ndarray, state: dict[str, Any] | None, derived: bool = True) -> str:
        """Save an image's label map (HxW class indices, 255 = void) and its conversation.

        Writes the palette PNG, the conversation record, the COCO annotations and the
        split lists, each atomically and in an order :meth:`_recover` can finish after a
        crash. Returns the new status ("saved"). ``derived=False`` leaves COCO and the lists to
        the caller (:meth:`write_derived`, once after many saves)."""
        entry = self.entry(image_id)
        labels = np.asarray(labels)
        if labels.shape != (entry["height"], entry["width"]):
            raise DatasetError(f"Labels for {image_id} are {labels.shape[1::-1]} but the image is "
                               f"{entry['width']}x{entry['height']}; nothing was saved.")
        if labels.dtype != np.uint8:
            if labels.size and (labels.min() < 0 or labels.max() > VOID):
                raise DatasetError(f"Labels for {image_id} hold values outside 0..{VOID}; nothing was saved.")
            labels = labels.astype(np.uint8)
        bad = np.setdiff1d(np.unique(labels), [*range(len(self.classes)), VOID])
        if bad.size:
            raise DatasetError(f"Labels for {image_id} hold class indices {bad.tolist()[:5]} this data set does not have "
                               f"({len(self.classes)} classes, {VOID} = void); nothing was saved.")
        with self._lock:
            digest = labels_sha1(labels)
            saved = {"state": state, "labels_sha1": digest, "model": self.model,
                     "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            record = {"id": image_id, **(self._record(image_id) or {}), "state": state, "saved": saved}
            body = self._record_bytes(record)  # fails here, before any file is touched, if state is not plain data
            buf = io.BytesIO()
            palette_image(labels, self.palette, VOID_COLOUR).save(buf, "PNG", optimize=False)
            final = self.root / LABELS / f"{image_id}.png"
            pending = self.root / LABELS / f".{image_id}.png.new"
            atomic_write(pending, buf.getvalue())  # 1. labels aside, whole
            self._write_record(image_id, record, body)  # 2. commit point
            os.replace(pending, final)  # 3. labels in place
            self._has_png.add(image_id)
            number = self._index[image_id] + 1  # 4. derived files: this image's COCO part, then the whole file
            self._coco_parts[image_id] = (_json_bytes(self._coco_image(image_id, digest)).rstrip(),
                                          b",".join(_json_bytes(a).rstrip() for a in coco_annotations(labels, number, self.classes)), digest)
            if derived:
                self.write_derived()
        return self.status(image_id)

    def write_derived(self) -> None:
        """coco.json and the split lists from what is saved now."""
        with self._lock:
            self._write_coco()
            self._write_lists()

    def _record_bytes(self, record: dict[str, Any]) -> bytes:
        try:
            return _json_bytes(record)
        except (TypeError, ValueError) as e:
            raise DatasetError(f"The conversation state is not plain data ({e}); nothing was saved.") from None

    def _write_manifest(self) -> None:
        atomic_write(self.root / MANIFEST, _json_bytes(self.manifest))

    # ------------------------------------------------------------ COCO and lists

    def _coco_image(self, image_id: str, digest: str) -> dict[str, Any]:
        e = self.entry(image_id)
        return {"id": self._index[image_id] + 1, "file_name": f"{image_id}.jpg", "height": e["height"],
                "width": e["width"], "labels_sha1": digest}

    def _read_coco(self) -> dict[str, Any]:
        path = self.root / COCO
        try:
            coco = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(coco.get("images"), list) and isinstance(coco.get("annotations"), list):
                return coco
        except (OSError, ValueError, AttributeError):
            pass
        return {"images": [], "annotations": []}  # missing or damaged: rebuilt from the PNGs by _recover

    def _rebuild_coco(self, coco: dict[str, Any], want: dict[str, str], have: dict[str, str | None]) -> dict[str, Any]:
        """Keep COCO entries whose labels match the records; redo the others from the PNGs."""
        keep = {self._index[i] + 1 for i, d in want.items() if have.get(i) == d and i in self._index}
        images = [im for im in coco["images"] if im["id"] in keep]
        anns = [a for a in coco["annotations"] if a["image_id"] in keep]
        for image_id, digest in want.items():
            number = self._index[image_id] + 1
            if number in keep:
                continue
            labels = read_labels(self.root / LABELS / f"{image_id}.png")
            images.append(self._coco_image(image_id, digest))
            anns.extend(coco_annotations(labels, number, self.classes))
        return {"images": images, "annotations": anns}

    def _split_coco(self, coco: dict[str, Any]) -> dict[str, tuple[bytes, bytes, str]]:
        """COCO as read (or rebuilt) -> the per-image pieces :meth:`_write_coco` joins."""
        anns: dict[int, list[dict[str, Any]]] = {}
        for a in coco["annotations"]:
            anns.setdefault(a["image_id"], []).append(a)
        parts = {}
        for im in coco["images"]:
            image_id = im["file_name"][: -len(".jpg")]
            if image_id in self._index:
                mine = sorted(anns.get(im["id"], []), key=lambda a: a["id"])
                parts[image_id] = (_json_bytes(im).rstrip(), b",".join(_json_bytes(a).rstrip() for a in mine), str(im.get("labels_sha1")))
        return parts

    def _write_coco(self) -> None:
        """coco.json from the per-image pieces, in image order (annotation ids follow: image number * 256 + class).
        Not synced to disk: a coco.json a crash cut short is rebuilt from the PNGs on opening."""
        order = sorted(self._coco_parts, key=lambda i: self._index.get(i, len(self._index)))
        info = {"description": f"Guide Me annotations ({', '.join(self.classes)[:200]}); images in {IMAGES}/, "
                               f"label PNGs in {LABELS}/; category id = pixel value; 255 (void) is in no annotation",
                "version": str(VERSION), "model": self.manifest["model"]}
        categories = [{"id": k, "name": c, "supercategory": ""} for k, c in enumerate(self.classes)]
        anns = [self._coco_parts[i][1] for i in order if self._coco_parts[i][1]]
        body = b"".join([b'{"info":', _json_bytes(info).rstrip(), b',"licenses":[],"images":[',
                         b",".join(self._coco_parts[i][0] for i in order), b'],"annotations":[', b",".join(anns),
                         b'],"categories":', _json_bytes(categories).rstrip(), b"}\n"])
        atomic_write(self.root / COCO, body, sync=False)

    def _write_lists(self) -> None:
        records = self._saved_records()
        saved = [i for i in self.ids if i in records]
        val = [i for i in saved if int(hashlib.sha1(i.encode()).hexdigest(), 16) % VAL_EVERY == 0]
        train = [i for i in saved if i not in set(val)]
        for name, ids in (("trainval", saved), ("train", train), ("val", val)):
            path, body = self.root / LISTS / f"{name}.txt", "".join(f"{i}\n" for i in ids).encode()
            if not path.is_file() or path.read_bytes() != body:  # opening a data set rewrites nothing
                atomic_write(path, body, sync=False)  # rebuilt from the records on opening

    # ------------------------------------------------------------ resuming

    def resume_from(self, path: str | os.PathLike, budget: PixelBudget | None = None) -> AddReport:
        """Open a data set this app wrote (its folder or its zip) or a VOC data set
        (``JPEGImages/`` + ``SegmentationClass/``, folder or zip) into this one: the images,
        and with them their saved labels, conversations and progress. Images already here
        (same original bytes) are not added twice. Classes must match (ModelMismatch).
        ``budget``: as for :meth:`add`."""
        found = dataset_source(path)
        label = Path(path).name
        if found is None:
            raise DatasetError(f"{label} is not a data set (no {MANIFEST}, no {LABELS}/).")
        kind, prefix = found
        with self._lock, _Source(Path(path), prefix, label) as src:
            if src.refusal:
                return AddReport(messages=[src.refusal])
            return self._resume_guide(src, label, budget) if kind == "guide" else self._resume_voc(src, label, budget)

    def _resume_guide(self, src: _Source, label: str, budget: PixelBudget | None = None) -> AddReport:
        try:
            manifest = _json_of(src.read(MANIFEST, MAX_MANIFEST_BYTES))
            assert isinstance(manifest, dict) and manifest.get("format") == FORMAT and isinstance(manifest.get("images"), list)
        except (ValueError, AssertionError, BadImage):
            return AddReport(messages=[f"{label}: refused, its {MANIFEST} is not a Guide Me data set manifest."])
        if list(manifest.get("classes", [])) != self.classes:
            raise ModelMismatch(f"{label} holds labels for other classes ({', '.join(map(str, manifest.get('classes', [])))[:300]}); "
                                f"the model running now has {', '.join(self.classes)[:300]}. Nothing was opened.")
        make_id, items, old_of, messages = IdMaker(self.ids), [], {}, []
        for e in manifest["images"]:
            old = e.get("id") if isinstance(e, dict) else None
            if not isinstance(old, str) or not old or safe_id(old) != old:
                messages.append(f"{label}: an entry of {MANIFEST} was skipped (not an image id).")
                continue
            rel = f"{IMAGES}/{old}.jpg"
            if not src.has(rel):
                messages.append(f"{label}/{rel}: skipped, missing.")
                continue
            new = make_id(old)
            digest = e.get("sha1") if _is_sha1(e.get("sha1")) else ""  # else the image's own (never a path)
            items.append(ImageFile(new, str(e.get("name") or old)[:200], src.size(rel), src.reader(rel), digest))
            old_of[new] = old
        report = self._add_batch(Batch(items, messages), budget=budget)
        for new in report.added:
            self._resume_labels(src, label, old_of[new], new, report)
        report.resumed = sum(1 for new in report.added if new in self._has_png)
        self.write_derived()
        return report

    def _resume_labels(self, src: _Source, label: str, old: str, new: str, report: AddReport) -> None:
        """One resumed image's label PNG and conversation record (when they agree with the image)."""
        try:
            record = _json_of(src.read(f"{CONVERSATIONS}/{old}.json", MAX_RECORD_BYTES))
        except (ValueError, BadImage):
            record = None
        labels = self._source_labels(src, f"{LABELS}/{old}.png", new)
        if labels is not None and np.count_nonzero(np.diff(labels.T.ravel())) > MAX_LABEL_RUNS:
            # noise, not labels: its COCO RLE would be megabytes, kept in memory and rewritten at every save
            report.messages.append(f"{label}/{LABELS}/{old}.png: labels not opened, too scattered (more than "
                                   f"{MAX_LABEL_RUNS:,} runs); the image is opened without them.")
            labels = None
        if not isinstance(record, dict) or not isinstance(record.get("state"), (dict, type(None))) or \
                (record.get("state") or {}).get("key") not in (None, image_key(self.image(new))):
            record = None  # a conversation about other pixels (the image was re-encoded) cannot be replayed
        saved = (record or {}).get("saved") if isinstance((record or {}).get("saved"), dict) else None
        # The records come from the person's zip or folder: each state is checked whole before it is kept
        # (a forged one could ask for any memory once decoded, or hold megabytes of junk in every visit).
        entry, why = self.entry(new), None
        for state in ((record or {}).get("state"), (saved or {}).get("state")):
            try:
                if state is not None:
                    check_conversation_state(state, (entry["height"], entry["width"]), len(self.classes), RECORD_TURNS)
            except ValueError as e:
                why = str(e)[:160]
        if why is not None:
            record = saved = None
            report.messages.append(f"{label}/{old}: its conversation could not be read ({why}); its labels were kept.")
        try:
            if labels is not None:
                same = saved is not None and saved.get("labels_sha1") == labels_sha1(labels)
                self.save(new, labels, saved.get("state") if same else None, derived=False)
                if same and record.get("state") is not None and record["state"] != saved.get("state"):
                    self.keep(new, record["state"])
            elif record is not None and record.get("state") is not None:
                self.keep(new, record["state"])
        except DatasetError as e:
            report.messages.append(f"{label}/{old}: labels not opened. {e}")

    def _source_labels(self, src: _Source, rel: str, image_id: str) -> np.ndarray | None:
        """A label PNG of a source as class indices, if it is one for this image (size checked before decoding)."""
        if not src.has(rel):
            return None
        e = self.entry(image_id)
        try:
            data = src.read(rel, MAX_FILE_BYTES)
            with Image.open(io.BytesIO(data)) as im:
                if im.size != (e["width"], e["height"]):
                    return None
            from guide.data.voc import read_label_png

            return read_label_png(io.BytesIO(data), self.palette)  # type: ignore[arg-type]
        except (OSError, ValueError, BadImage):
            return None

    def _resume_voc(self, src: _Source, label: str, budget: PixelBudget | None = None) -> AddReport:
        if src.has(LABELMAP):
            from guide.data.voc import read_labelmap

            with tempfile.NamedTemporaryFile(suffix=".txt") as f:
                try:
                    f.write(src.read(LABELMAP, 2**20) or b"")
                    f.flush()
                    theirs = read_labelmap(f.name)[0]
                except (ValueError, BadImage):
                    theirs = []
            if theirs != self.classes:
                raise ModelMismatch(f"{label} holds labels for other classes ({', '.join(theirs)[:300]}); the model running now "
                                    f"has {', '.join(self.classes)[:300]}. Nothing was opened.")
        make_id, items, old_of, messages = IdMaker(self.ids), [], {}, []
        for rel in src.names():
            folder, _, name = rel.partition("/")
            try:
                if folder != IMAGES or "/" in name or not sniff_image(src.read(rel, MAX_FILE_BYTES, SNIFF_BYTES) or b""):
                    continue
            except BadImage as e:
                messages.append(f"{label}/{rel}: skipped, {e}.")
                continue
            stem = Path(name).stem
            new = make_id(stem)
            items.append(ImageFile(new, name, src.size(rel), src.reader(rel)))
            old_of[new] = stem
        report = self._add_batch(Batch(items, messages), budget=budget)
        unlabelled = 0
        for new in report.added:
            labels = self._source_labels(src, f"{LABELS}/{old_of[new]}.png", new)
            try:
                if labels is not None:
                    self.save(new, labels, None, derived=False)
            except DatasetError:
                unlabelled += 1
        report.resumed = sum(1 for new in report.added if new in self._has_png)
        if unlabelled:
            report.messages.append(f"{label}: {unlabelled} label maps were not opened (class indices this model does not have).")
        self.write_derived()
        return report

    # ------------------------------------------------------------ download

    def zip(self, dest: str | os.PathLike | None = None) -> Path:
        """The whole data set as one zip (folder ``<name>/`` inside), written atomically to
        ``dest`` (a folder; default: a new temporary folder). JPEG and PNG are stored,
        text is deflated. Returns the zip's path."""
        with self._lock:
            folder = Path(dest) if dest is not None else Path(tempfile.mkdtemp(prefix="guideme-dataset-"))
            target = folder / f"{self.root.name or 'dataset'}.zip"
            if target.resolve().is_relative_to(self.root.resolve()):
                raise DatasetError("The zip cannot be written inside the data set it holds.")
            files = sorted(p for p in self.root.rglob("*") if p.is_file() and not any(
                s.startswith(".") for s in p.relative_to(self.root).parts))

            def write(f: BinaryIO) -> None:
                with zipfile.ZipFile(f, "w") as zf:
                    for p in files:
                        packed = p.suffix.lower() in (".jpg", ".png")
                        zf.write(p, f"{self.root.name}/{p.relative_to(self.root).as_posix()}",
                                 compress_type=zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED)

            atomic_write(target, write)
            return target


# --------------------------------------------------------------------------- data sets to resume


def _decodes_to(data: bytes, image: np.ndarray) -> bool:
    """Whether ``data`` is a JPEG whose plain decoding is exactly ``image``."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.format == "JPEG" and np.array_equal(np.asarray(im.convert("RGB")), image)
    except OSError:
        return False


def dataset_source(path: str | os.PathLike) -> tuple[str, str] | None:
    """("guide" | "voc", the folder inside it) when ``path`` (a folder or a zip) holds a data set
    this app wrote (``dataset.json``) or a VOC one (``JPEGImages/`` and ``SegmentationClass/``),
    at its top or one folder down (a zip of a folder); None otherwise."""
    path = Path(path)
    if path.is_dir():
        for base in (path, *sorted(p for p in path.iterdir() if p.is_dir())):
            if (base / MANIFEST).is_file():
                return "guide", str(base.relative_to(path).as_posix()).strip(".")
            if (base / LABELS).is_dir() and (base / IMAGES).is_dir():
                return "voc", str(base.relative_to(path).as_posix()).strip(".")
        return None
    if not path.is_file() or not zipfile.is_zipfile(path):
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    for name in sorted(names, key=lambda n: n.count("/")):
        parts = name.split("/")
        if len(parts) <= 2 and parts[-1] == MANIFEST:
            return "guide", "/".join(parts[:-1])
    for name in names:
        parts = name.split("/")
        if len(parts) in (3, 4) and parts[-2] == LABELS and parts[-1].lower().endswith(".png"):
            prefix = "/".join(parts[:-2])
            if any(n.startswith(f"{prefix}/{IMAGES}/" if prefix else f"{IMAGES}/") for n in names):
                return "voc", prefix
    return None


class _Source:
    """The files of a data set folder or zip, by path below ``prefix``; reads bounded by size.
    ``refusal``: why a zip is refused whole (a bomb, an entry outside it), else empty."""

    def __init__(self, path: Path, prefix: str, label: str) -> None:
        self.path, self.prefix, self.refusal = path, (prefix + "/" if prefix else ""), ""
        self.zf: zipfile.ZipFile | None = None
        self.infos: dict[str, zipfile.ZipInfo] = {}
        if path.is_file():
            self.zf = zipfile.ZipFile(path)
            infos = self.zf.infolist()
            self.refusal = zip_refusal(infos, label) or ""
            n = len(self.prefix)
            self.infos = {i.filename[n:]: i for i in infos if i.filename.startswith(self.prefix) and not i.is_dir()}

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.zf is not None:
            self.zf.close()

    def names(self) -> list[str]:
        if self.zf is not None:
            return sorted(self.infos, key=PurePosixPath)
        base = self.path / self.prefix
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file() and not p.name.startswith("."))

    def _file(self, rel: str) -> Path:
        return self.path / self.prefix / rel

    def has(self, rel: str) -> bool:
        return rel in self.infos if self.zf is not None else self._file(rel).is_file()

    def size(self, rel: str) -> int:
        return self.infos[rel].file_size if self.zf is not None else self._file(rel).stat().st_size

    def read(self, rel: str, limit: int, n: int = -1) -> bytes | None:
        """The file's bytes (the first ``n``), None if absent; BadImage over ``limit`` bytes."""
        if not self.has(rel):
            return None
        if self.size(rel) > limit:
            raise BadImage(f"{rel} is larger than {limit >> 20} MB")
        if self.zf is not None:
            info = self.infos[rel]
            with self.zf.open(info) as f:
                data = f.read(info.file_size + 1 if n < 0 else min(n, info.file_size + 1))
            if len(data) > info.file_size:
                raise BadImage("it is larger than its zip header says")
            return data
        with open(self._file(rel), "rb") as f:
            return f.read(limit + 1 if n < 0 else min(n, limit + 1))

    def reader(self, rel: str) -> Callable[..., bytes]:
        return lambda n=-1: self.read(rel, MAX_FILE_BYTES, n) or b""
