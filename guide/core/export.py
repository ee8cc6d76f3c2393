"""Export a label map: a palette PNG (pixel value = class index) and a JSON with the
classes, palette, the conversation's turns and COCO RLE per class.

RLE is COCO's compressed run-length encoding through ``pycocotools`` (the format of
COCO's segmentation results: ``{"size": [H, W], "counts": "<string>"}``); read it back
with :func:`rle_decode` or ``pycocotools.mask.decode``. The same encoding stores what
each conversation turn changed (guide/dialogue/conversation.py).

:class:`ExportFolders` keeps a server's exports in one temporary folder, each under a
random name, and deletes them when old or beyond the newest, so a long-running app
neither fills the disk nor serves one tab's export at a URL another could guess.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import time
import warnings
import weakref
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from guide.core.labels import palette_image


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """HxW bool mask -> COCO compressed RLE ``{"size": [H, W], "counts": str}`` (JSON-able)."""
    rle = coco_mask.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


MAX_MASK_PIXELS = 100_000_000  # no mask is larger (the app's images are <= 1024 px a side); a record saying so is forged


def rle_size(rle: Any) -> tuple[int, int]:
    """(H, W) an RLE says it decodes to, checked before anything is decoded: ValueError unless it is an
    ``{"size": [H, W], "counts": str}`` of at most :data:`MAX_MASK_PIXELS` pixels (a restored state or a
    data-set record is plain data anyone can write; its ``size`` alone decides the memory a decode takes)."""
    size = rle.get("size") if isinstance(rle, dict) else None
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in size)
            and isinstance(rle.get("counts"), (str, bytes))):
        raise ValueError("not a mask: expected a COCO RLE {'size': [H, W], 'counts': str}")
    if size[0] * size[1] > MAX_MASK_PIXELS:
        raise ValueError(f"a mask of {size[0]}x{size[1]} px is larger than any image")
    return int(size[0]), int(size[1])


def rle_decode(rle: dict[str, Any], shape: tuple[int, int] | None = None) -> np.ndarray:
    """COCO RLE (compressed string counts, as :func:`rle_encode` writes) -> HxW bool mask.
    ValueError before decoding when it is not one (:func:`rle_size`) or, with ``shape``, not HxW."""
    size = rle_size(rle)
    if shape is not None and size != tuple(shape):
        raise ValueError(f"a mask of {size[0]}x{size[1]} px does not fit the {shape[0]}x{shape[1]} image")
    counts = rle["counts"]
    with warnings.catch_warnings():  # pycocotools 2.0.11 trips numpy 2's __array__(copy=) deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        mask = coco_mask.decode({"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts})
    return mask.astype(bool)


def safe_stem(name: str) -> str:
    """A file name stem from a user's image name (letters, digits, ``_.-`` only)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60].strip(".") or "image"


def write_export(
    folder: Path,
    name: str,
    labels: np.ndarray,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    turns: list[dict[str, Any]],
    model: dict[str, Any] | None = None,
    actions: list[dict[str, Any]] | None = None,
) -> tuple[Path, Path]:
    """Write ``<name>_labels.png`` and ``<name>_labels.json`` into ``folder``; returns both paths.

    ``turns`` is the conversation summary (guide/dialogue/conversation.py: ``Conversation.summary``);
    ``actions`` (when given) each step's kind and cost in seconds (``Conversation.actions``)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(name)
    png, js = folder / f"{stem}_labels.png", folder / f"{stem}_labels.json"
    palette_image(labels, palette).save(png)
    info = {
        "image": name,
        "size": [int(labels.shape[0]), int(labels.shape[1])],
        "classes": list(classes),
        "palette": [[int(v) for v in c] for c in palette],
        "model": model or {},
        "turns": turns,
        **({"actions": actions, "seconds_spent": round(sum(a["seconds"] for a in actions), 2)} if actions is not None else {}),
        "segmentation": {
            classes[k]: {"pixels": int((labels == k).sum()), "rle": rle_encode(labels == k)}
            for k in np.unique(labels).tolist() if k < len(classes)  # VOID ("unsure") pixels belong to no class
        },
    }
    js.write_text(json.dumps(info) + "\n")
    return png, js


class ExportFolders:
    """One root for a process's exports: a folder each, named by a random token, deleted
    once ``ttl`` seconds old or beyond the newest ``keep``.

    Each export gets its own sub-folder (so two tabs exporting "scene" never clash), named
    with 128 random bits: placed inside the web server's file cache (``parent``), its URL is
    the file's only key, so the same content exported twice gets two URLs and nobody can
    guess another tab's. ``parent`` may be shared by several processes and outlive them
    (kill -9): a new root sweeps its siblings older than ``ttl`` away. The root goes when
    the object does (or at interpreter exit)."""

    def __init__(self, keep: int = 64, prefix: str = "guideme-exports-", parent: str | Path | None = None,
                 ttl: float = 15 * 60) -> None:
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
            _sweep(Path(parent), prefix, ttl)
        self.root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        self.keep, self.ttl = keep, ttl
        self._folders: deque[tuple[float, Path]] = deque()
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.root), True)

    def new(self) -> Path:
        now = time.time()
        while self._folders and (len(self._folders) >= self.keep or now - self._folders[0][0] > self.ttl):
            shutil.rmtree(self._folders.popleft()[1], ignore_errors=True)
        folder = self.root / secrets.token_urlsafe(16)
        folder.mkdir()
        self._folders.append((now, folder))
        return folder

    def close(self) -> None:
        self._cleanup()


def _sweep(parent: Path, prefix: str, ttl: float) -> None:
    """Remove ``prefix*`` folders in ``parent`` last changed more than ``ttl`` seconds ago
    (roots of processes that ended without cleaning up)."""
    now = time.time()
    for old in parent.glob(prefix + "*"):
        try:
            if old.is_dir() and not old.is_symlink() and now - old.stat().st_mtime > ttl:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
