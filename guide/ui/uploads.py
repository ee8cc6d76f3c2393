"""Files a browser hands the server: only files that came through the upload route, measured
before anything decodes them.

An event's payload names files by path (Gradio's ``FileData``), and Gradio accepts any path
inside its upload folder, the folder itself included: one raw API call could hand the app the
whole upload folder (every other tab's uploads, overlays and exports) as "images to annotate".
So every component that takes files from the page passes each one through :func:`accept`:

* a ``data:`` URL is base64-decoded here, bounded in length *before* decoding, to bytes
  (the image decoders then measure pixels before decoding: guide/serving/pagevalues.py);
* a path must be a regular file (not a folder, not a link) that this server received through
  its upload route (``Blocks.upload_file_set``, which Gradio fills as files arrive) or that is
  one of the component's examples (:func:`freeze_examples`). Upload paths are named
  by a keyed hash of their content (``hash_file``, a secret seed per server), so naming another
  user's upload means having its bytes already.

A refusal is a :class:`Refused` string (the message for the person) that the handler shows
instead of acting: raising inside Gradio's preprocessing would log a traceback and give the page
a bare "Error". Folders stay reachable from the command line only (``--images``).
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from typing import Any

#: Characters of one data: URL (base64 is 4/3 of the bytes: ~20 MB, the upload limit).
MAX_DATA_URL = 28 * 2**20

NOT_UPLOADED = "That file was not uploaded from this page; upload it (or drop it on the page) and try again."


class Refused(str):
    """A file the server would not take; the string is the message for the person. (A str, so it
    travels through Gradio and ZeroGPU's pickling like any path.)"""


def _served_blocks() -> Any:
    from gradio.context import LocalContext

    return LocalContext.blocks.get(None)


def data_url_bytes(url: str) -> bytes | Refused:
    """The bytes of a base64 ``data:`` URL, its length checked before decoding."""
    if len(url) > MAX_DATA_URL:
        return Refused(f"That pasted image is {len(url) / 2**20:.0f} MB of text; the most is {MAX_DATA_URL / 2**20:.0f} MB.")
    head, _, body = url.partition(",")
    if not head.endswith(";base64") or not body:
        return Refused("That pasted image could not be read (expected a base64 data: URL).")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return Refused("That pasted image could not be read (its base64 is damaged).")


def accept(payload: Any, component: Any = None) -> str | bytes | Refused:
    """One ``FileData``-like payload (``.path``, ``.url``) -> its upload's path, a data URL's
    bytes, or :class:`Refused`. ``component``: the Block whose own cached files (examples) count
    as uploaded (:func:`freeze_examples`)."""
    url = getattr(payload, "url", None)
    if isinstance(url, str) and url.startswith("data:"):
        return data_url_bytes(url)
    path = getattr(payload, "path", None)
    if not isinstance(path, str) or not path:
        return Refused(NOT_UPLOADED)
    return accept_path(path, getattr(component, "gm_examples", frozenset()))


def accept_path(path: str, examples: Any = frozenset()) -> str | Refused:
    """``path`` if it is a regular file this server received through its upload route (or one of
    ``examples``); else :class:`Refused`."""
    if not isinstance(path, str) or not path or "\0" in path:
        return Refused(NOT_UPLOADED)
    full = os.path.abspath(path)
    blocks = _served_blocks()
    known = getattr(blocks, "upload_file_set", set()) if blocks is not None else set()
    if full not in known and path not in known and full not in examples and path not in examples:
        return Refused(NOT_UPLOADED)
    try:
        st = os.lstat(full)
    except (OSError, ValueError):
        return Refused("That upload is gone (uploads are kept for a while only); upload the file again.")
    if not stat.S_ISREG(st.st_mode):
        return Refused(NOT_UPLOADED)
    return full


def uploads_only(component: Any) -> Any:
    """Make ``component`` (a ``gr.Image`` or ``gr.File`` taking file paths) hand its handler only
    what :func:`accept` lets through: an upload's path, a data URL's bytes (single images only),
    or :class:`Refused`; a list of files becomes their paths, or the first refusal. The file is
    never opened here, so corrupt files and decompression bombs reach the decoders' checks
    instead of failing inside Gradio. (An instance override: subclassing a component makes
    Gradio write a .pyi stub next to the subclass's file.)"""
    many = getattr(component, "file_count", "single") != "single"

    def preprocess(payload: Any) -> Any:
        if payload is None:
            return None
        if not many:
            return accept(payload, component)
        items = list(getattr(payload, "root", None) or [payload])
        taken = [accept(item, component) for item in items]
        refused = next((t for t in taken if isinstance(t, Refused)), None)
        if refused is None and any(isinstance(t, bytes) for t in taken):
            refused = Refused("Upload the files themselves (pasted data is not taken here).")
        return refused if refused is not None else taken

    component.preprocess = preprocess  # type: ignore[method-assign]
    return component


def freeze_examples(component: Any) -> None:
    """Record the files ``component`` holds in the cache now, once the app is built: its examples
    (gr.Examples puts them there). Later, Gradio adds every path a payload names to the same set
    (``temp_files``, to delete at shutdown), so that set cannot say what may be opened."""
    component.gm_examples = frozenset(getattr(component, "temp_files", ()))


def named_paths(payload: Any, depth: int = 0) -> list[str]:
    """Every file path a raw event payload names (``{"path": ..., "meta": {"_type":
    "gradio.FileData"}}`` anywhere inside it; URLs and data URLs are not paths)."""
    if depth > 8:
        return []
    if isinstance(payload, dict):
        meta = payload.get("meta")
        if isinstance(meta, dict) and meta.get("_type") == "gradio.FileData":
            path, url = payload.get("path"), payload.get("url")
            if isinstance(url, str) and url.startswith("data:"):
                return []
            return [path] if isinstance(path, str) and not path.startswith(("http://", "https://")) else []
        return [p for v in payload.values() for p in named_paths(v, depth + 1)]
    if isinstance(payload, (list, tuple)):
        return [p for v in payload for p in named_paths(v, depth + 1)]
    return []
