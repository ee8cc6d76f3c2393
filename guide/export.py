"""Export a label map: a palette PNG (pixel value = class index) and a JSON with the
classes, palette, the conversation's turns and COCO RLE per class.

RLE is COCO's compressed run-length encoding through ``pycocotools`` (the format of
COCO's segmentation results: ``{"size": [H, W], "counts": "<string>"}``); read it back
with :func:`rle_decode` or ``pycocotools.mask.decode``. The same encoding stores what
each conversation turn changed (guide/conversation.py).

:class:`ExportFolders` keeps a server's exports in one temporary folder and deletes
all but the newest, so a long-running app does not fill the disk.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import warnings
import weakref
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from .labels import palette_image


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """HxW bool mask -> COCO compressed RLE ``{"size": [H, W], "counts": str}`` (JSON-able)."""
    rle = coco_mask.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def rle_decode(rle: dict[str, Any]) -> np.ndarray:
    """COCO RLE (compressed string counts, as :func:`rle_encode` writes) -> HxW bool mask."""
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

    ``turns`` is the conversation summary (guide/conversation.py: ``Conversation.summary``);
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
    """One temporary root for a process's exports; only the newest ``keep`` survive.

    Each export gets its own sub-folder (so two tabs exporting "scene" never clash);
    making one deletes the oldest beyond ``keep``; the root goes when the object does
    (or at interpreter exit)."""

    def __init__(self, keep: int = 64, prefix: str = "guideme-exports-") -> None:
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep = keep
        self._folders: deque[Path] = deque()
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.root), True)

    def new(self) -> Path:
        folder = Path(tempfile.mkdtemp(dir=self.root))
        self._folders.append(folder)
        while len(self._folders) > self.keep:
            shutil.rmtree(self._folders.popleft(), ignore_errors=True)
        return folder

    def close(self) -> None:
        self._cleanup()
