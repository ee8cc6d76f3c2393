"""The painting editor: an ImageEditor that hands the handler its layers unopened, with
bounds on the sketch layers the browser uploads (blobs) before the event that reads them."""

from __future__ import annotations

import io
import time
from abc import ABCMeta
from typing import Any

import gradio as gr

from guide.serving.pagevalues import BAD_SKETCH, MAX_LAYERS, TOO_MANY_LAYERS
from guide.ui.uploads import Refused, accept

MAX_BLOB = 16 * 2**20  # bytes per sketch layer the editor uploads
MAX_BLOB_SETS = 32  # sketches waiting to be read, per editor
MAX_BLOB_BYTES = 64 * 2**20  # bytes of sketch layers waiting to be read, per editor (oldest dropped first)
BLOB_TTL = 120.0  # seconds a sketch's uploaded layers wait for the event that reads them


class _Lenient:
    """A Gradio data model that turns any payload it cannot parse into ``BAD_SKETCH``."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __getattr__(self, name: str) -> Any:  # schema, from_json, ...: the real model's
        return getattr(self.model, name)

    def model_validate(self, value: Any, **kwargs: Any) -> Any:
        try:
            return self.model.model_validate(value, **kwargs)
        except Exception:  # pydantic errors, recursion: any payload that is not a sketch
            return BAD_SKETCH


def _sketch_preprocess(self: gr.ImageEditor, payload: Any) -> list | str | None:
    """The layers unopened (file paths, or the PNG bytes the browser sent), or BAD_SKETCH."""
    if payload is None:
        return None
    if not isinstance(payload, self.data_model.model):
        return BAD_SKETCH
    if payload.id is not None:
        blobs = self.blob_storage.pop(payload.id, None)
        _blob_times(self).pop(payload.id, None)
        layers = [b for b in (blobs.layers if blobs else []) if b]
        return [io.BytesIO(b) for b in layers[:MAX_LAYERS]] if len(layers) <= MAX_LAYERS else Refused(TOO_MANY_LAYERS)
    if len(payload.layers) > MAX_LAYERS:  # refused before any layer is read
        return Refused(TOO_MANY_LAYERS)
    layers = [accept(layer, self) for layer in payload.layers]  # uploads only (guide/ui/uploads.py)
    refused = next((layer for layer in layers if isinstance(layer, Refused)), None)
    return refused if refused is not None else [io.BytesIO(v) if isinstance(v, bytes) else v for v in layers]


def _blob_times(editor: Any) -> dict[str, float]:
    """When each sketch waiting on ``editor`` (by blob id) last received a part (time.monotonic)."""
    return editor.__dict__.setdefault("_gm_blob_times", {})


def _sketch_accept_blobs(self: gr.ImageEditor, data: Any) -> Any:
    """The browser's layer uploads, bounded in index, size, age and bytes waiting. Only layers
    are kept (the background and composite are the server's own picture: never read back)."""
    index = data.data.get("index")
    if (index not in (None, "null") and not (str(index).isdigit() and int(index) < MAX_LAYERS)) or any(len(f[1]) > MAX_BLOB for f in data.files):
        raise gr.Error(BAD_SKETCH)
    if data.data.get("type") != "layer":
        return None
    times, now, blob_id = _blob_times(self), time.monotonic(), str(data.data.get("id"))
    for old in [k for k in self.blob_storage if now - times.get(k, 0.0) > BLOB_TTL and k != blob_id]:
        self.blob_storage.pop(old, None)
        times.pop(old, None)
    size = sum(len(f[1]) for f in data.files)
    waiting = {k: sum(len(b) for b in v.layers if b) for k, v in self.blob_storage.items()}
    if waiting.get(blob_id, 0) + size > MAX_BLOB_BYTES:
        raise gr.Error(BAD_SKETCH)
    for old in sorted((k for k in waiting if k != blob_id), key=lambda k: times.get(k, 0.0)):  # oldest first
        if len(self.blob_storage) < MAX_BLOB_SETS and sum(waiting.values()) + size <= MAX_BLOB_BYTES:
            break
        self.blob_storage.pop(old, None)
        times.pop(old, None)
        waiting.pop(old)
    times[blob_id] = now
    return gr.ImageEditor.accept_blobs(self, data)


_sketch_accept_blobs.__name__ = "accept_blobs"  # the frontend calls it by this name
_sketch_accept_blobs._is_server_fn = True  # type: ignore[attr-defined]
# An ImageEditor that hands the handler its layers unopened, so guide.serving.pagevalues checks their
# size before decoding and a malformed payload gets a message, not a traceback. A subclass
# (not an instance override) because Gradio rebuilds a component from its class when an
# event updates it (the brush colour); made without Gradio's metaclass hook, which would
# write a .pyi stub next to this file; ``is_template`` keeps the ImageEditor frontend.
SketchEditor = ABCMeta.__new__(
    type(gr.ImageEditor), "SketchEditor", (gr.ImageEditor,),
    {"__module__": __name__, "is_template": True, "data_model": _Lenient(gr.ImageEditor.data_model),
     "preprocess": _sketch_preprocess, "accept_blobs": _sketch_accept_blobs},
)

