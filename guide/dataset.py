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
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from .batch import Batch, BadImage, collect
from .conversation import UserError
from .data.voc import LABELMAP, write_labelmap
from .export import rle_encode
from .labels import VOID, palette_image
from .uivalues import load_image

FORMAT = "guide-me-dataset"
VERSION = 1
MANIFEST = "dataset.json"
COCO = "coco.json"
IMAGES = "JPEGImages"
LABELS = "SegmentationClass"
LISTS = "ImageSets/Segmentation"
CONVERSATIONS = "conversations"
JPEG_QUALITY = 95
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


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], None]) -> None:
    """Write ``data`` (bytes, or a function writing to a binary file) to ``path`` so that
    readers see the old file or the whole new one, never a part: a temporary file in the
    same folder, flushed to disk, then ``os.replace``. On error the temporary is removed
    and the old file is untouched."""
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


def labels_sha1(labels: np.ndarray) -> str:
    """Hash of a label map's pixels and shape (what a conversation record names)."""
    a = np.ascontiguousarray(labels, dtype=np.uint8)
    return _sha1(a.tobytes() + str(a.shape).encode())


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """A saved label PNG as HxW uint8 class indices (255 = void)."""
    with Image.open(path) as im:
        return np.array(im, dtype=np.uint8)


def model_identity(model: Any) -> dict[str, str]:
    """``{"name", "source"}`` of a :class:`~guide.model.GuidedModel` (what the manifest records)."""
    return {"name": str(model.config.name or ""), "source": str(model.source or "")}


def _same_model(a: dict[str, str], b: dict[str, str]) -> bool:
    """Models match by name (the same model may come from the Hub or a local cache), by
    source when unnamed."""
    if a.get("name") or b.get("name"):
        return a.get("name") == b.get("name")
    return a.get("source") == b.get("source")


def _describe(model: dict[str, str]) -> str:
    return f"“{model.get('name') or 'unnamed'}” ({model.get('source') or 'unknown source'})"


# --------------------------------------------------------------------------- COCO


def coco_annotations(labels: np.ndarray, image_id: int, classes: Sequence[str]) -> list[dict[str, Any]]:
    """One COCO annotation per class present in ``labels`` (compressed RLE by pycocotools,
    :func:`guide.export.rle_encode`; void pixels belong to none). Annotation id =
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

    def summary(self) -> str:
        parts = [f"Opened {len(self.added)} new image{'s' if len(self.added) != 1 else ''}"]
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
        with _locks_guard:
            self._lock = _locks.setdefault(str(self.root.resolve()), threading.RLock())
        with self._lock:
            manifest_path = self.root / MANIFEST
            if manifest_path.is_file():
                self.manifest = _read_json(manifest_path)
                self._check(allow_other_model)
                self._index = {e["id"]: i for i, e in enumerate(self.manifest["images"])}
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
                self._write_coco({"images": [], "annotations": []})
                self._write_lists()

    @classmethod
    def for_model(cls, root: str | os.PathLike, model: Any, allow_other_model: bool = False) -> AnnotationDataset:
        """The data set at ``root`` for a :class:`~guide.model.GuidedModel`."""
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
        """Finish or drop saves a crash interrupted; make COCO and the lists match the records."""
        for tmp in self.root.rglob(".tmp-*"):  # an atomic write that never reached os.replace
            tmp.unlink(missing_ok=True)
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
            else:  # the record never named these labels: that save did not happen
                new.unlink()
        coco = self._read_coco()
        have = {img["file_name"][: -len(".jpg")]: img.get("labels_sha1") for img in coco["images"]}
        want = {i: r["saved"]["labels_sha1"] for i, r in self._saved_records().items()}
        if have != want:
            self._write_coco(self._rebuild_coco(coco, want, have))
        self._write_lists()

    # ------------------------------------------------------------ listing

    @property
    def ids(self) -> list[str]:
        """Every image id, in the order opened."""
        return [e["id"] for e in self.manifest["images"]]

    def __len__(self) -> int:
        return len(self.manifest["images"])

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
        if not saved or not (self.root / LABELS / f"{image_id}.png").is_file():
            return IN_PROGRESS
        return SAVED if record.get("state") == saved.get("state") else CHANGED

    def statuses(self) -> dict[str, str]:
        return {i: self.status(i) for i in self.ids}

    def progress(self) -> tuple[int, int]:
        """(images with saved labels, all images)."""
        return len(self._saved_records()), len(self)

    def progress_text(self) -> str:
        saved, total = self.progress()
        return f"{saved} / {total} saved"

    # ------------------------------------------------------------ adding images

    def add(self, paths: Iterable[str | os.PathLike]) -> AddReport:
        """Open image files, folders or zips (checked by :func:`guide.batch.collect`) into the
        data set: each new image is stored as ``JPEGImages/<id>.jpg``; an image whose bytes
        are already in the data set is not added twice (so reopening ``--images DIR`` on the
        same ``--out`` adds only new files)."""
        with self._lock:
            batch = collect(paths, taken=self.ids, exclude=self.root)
            return self._add_batch(batch)

    def _add_batch(self, batch: Batch) -> AddReport:
        report = AddReport(messages=list(batch.messages))
        by_hash = {e["sha1"]: e["id"] for e in self.manifest["images"]}
        try:
            for item in batch.images:
                try:
                    data = item.read()
                    digest = _sha1(data)
                    if digest in by_hash:
                        report.existing.append(by_hash[digest])
                        continue
                    image, note = load_image(io.BytesIO(data))
                except (BadImage, OSError, zipfile.BadZipFile, RuntimeError, EOFError) as e:
                    report.messages.append(f"{item.name}: skipped, {e}.")
                    continue
                except UserError as e:  # load_image's own words
                    report.messages.append(f"{item.name}: skipped. {e}")
                    continue
                buf = io.BytesIO()
                # Re-encoded: no EXIF (GPS) travels into a data set meant to be shared, and
                # the stored JPEG is exactly the image that gets annotated.
                Image.fromarray(image).save(buf, "JPEG", quality=JPEG_QUALITY)
                atomic_write(self.root / IMAGES / f"{item.id}.jpg", buf.getvalue())
                stored = self._decode(item.id)
                self.manifest["images"].append({"id": item.id, "name": item.name, "sha1": digest,
                                                "height": int(stored.shape[0]), "width": int(stored.shape[1])})
                self._index[item.id] = len(self.manifest["images"]) - 1
                by_hash[digest] = item.id
                report.added.append(item.id)
                if note:
                    report.messages.append(f"{item.name}: {note.strip(' ()')}.")
        finally:
            if report.added:
                self._write_manifest()
        return report

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
        path = Path(folder) / f"{e['sha1']}-{side}.jpg"
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
            if record and record.get("saved") and (self.root / LABELS / f"{e['id']}.png").is_file():
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

    def save(self, image_id: str, labels: np.ndarray, state: dict[str, Any]) -> str:
        """Save an image's label map (HxW class indices, 255 = void) and its conversation.

        Writes the palette PNG, the conversation record, the COCO annotations and the
        split lists, each atomically and in an order :meth:`_recover` can finish after a
        crash. Returns the new status ("saved")."""
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
            coco = self._read_coco()  # 4. derived files
            number = self._index[image_id] + 1
            coco["images"] = [im for im in coco["images"] if im["id"] != number]
            coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] != number]
            coco["images"].append(self._coco_image(image_id, digest))
            coco["annotations"].extend(coco_annotations(labels, number, self.classes))
            self._write_coco(coco)
            self._write_lists()
        return self.status(image_id)

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

    def _write_coco(self, coco: dict[str, Any]) -> None:
        coco["images"].sort(key=lambda im: im["id"])
        coco["annotations"].sort(key=lambda a: a["id"])
        out = {
            "info": {"description": f"Guide Me annotations ({', '.join(self.classes)[:200]}); images in {IMAGES}/, "
                                    f"label PNGs in {LABELS}/; category id = pixel value; 255 (void) is in no annotation",
                     "version": str(VERSION), "model": self.manifest["model"]},
            "licenses": [],
            "images": coco["images"],
            "annotations": coco["annotations"],
            "categories": [{"id": k, "name": c, "supercategory": ""} for k, c in enumerate(self.classes)],
        }
        atomic_write(self.root / COCO, _json_bytes(out))

    def _write_lists(self) -> None:
        records = self._saved_records()
        saved = [i for i in self.ids if i in records]
        val = [i for i in saved if int(hashlib.sha1(i.encode()).hexdigest(), 16) % VAL_EVERY == 0]
        train = [i for i in saved if i not in set(val)]
        for name, ids in (("trainval", saved), ("train", train), ("val", val)):
            path, body = self.root / LISTS / f"{name}.txt", "".join(f"{i}\n" for i in ids).encode()
            if not path.is_file() or path.read_bytes() != body:  # opening a data set rewrites nothing
                atomic_write(path, body)

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
