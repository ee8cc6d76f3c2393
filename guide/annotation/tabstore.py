"""A tab's state (guide/serving/pool.py: ``{"image": ndarray | None, "model", **conversation}``) as
plain data in a :class:`~guide.annotation.store.Store` and back, for tabs whose memory slot the
server gives to others (guide/ui/annotate.py spills Gradio sessions pushed out by capacity,
and restores them on the tab's next event or on a reload with the same browser key).

The image goes to a PNG blob named by its key (stored once however many tabs show it);
the rest of a tab is JSON already (what data sets store per image).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from guide.annotation.dataset import atomic_write
from guide.annotation.store import Store
from guide.dialogue.conversation import image_key
from guide.serving.pool import is_tab


def dump_tab(store: Store, tab: Any) -> dict[str, Any] | None:
    """The tab as plain data (its image written to the store's blobs), or None for a non-tab."""
    if not is_tab(tab):
        return None
    image = tab["image"]
    ref = None
    if image is not None:
        ref = image_key(image)
        path = store.blob(ref)
        if not path.is_file():
            buf = io.BytesIO()
            Image.fromarray(np.asarray(image)).save(buf, "PNG", compress_level=1)
            atomic_write(path, buf.getvalue())
        else:
            os.utime(path)  # in use again: not expired with old blobs
    return {**{k: v for k, v in tab.items() if k != "image"}, "image": ref}


def load_tab(store: Store, data: Any, intern: Callable[[np.ndarray], tuple[np.ndarray, str]] | None = None) -> dict[str, Any] | None:
    """:func:`dump_tab`'s output -> the tab (None if its image blob is gone or it is not one).
    ``intern``: the pool's (one stored copy of each image)."""
    if not isinstance(data, dict):
        return None
    ref = data.get("image")
    image = None
    if ref is not None:
        try:
            with Image.open(store.blob(str(ref))) as im:
                image = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
        except (OSError, ValueError):
            return None
        if intern is not None:
            image = intern(image)[0]
    tab = {**data, "image": image}
    return tab if is_tab(tab) else None
