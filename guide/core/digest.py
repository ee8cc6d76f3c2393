"""Content digests of arrays: the one recipe for "the same pixels" (a leaf: numpy and hashlib only).

``array_digest(a, b, ...)`` is the SHA-1 of each array's bytes followed by its shape, in order, plus any
``extra`` strings: two arrays with the same bytes but other shapes (a 4x6 and a 6x4 image) differ. It
names an image's head features and tab state (``conversation.image_key``), a saved label map
(``dataset.labels_sha1``) and the pictures the page caches (``render``). The recipe never changes: durable
records (guide/annotation/store.py, a data set's COCO JSON) keep these digests across restarts.
"""

from __future__ import annotations

import hashlib

import numpy as np


def array_digest(*arrays: np.ndarray, extra: str = "") -> str:
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(str(a.shape).encode())
    h.update(extra.encode())
    return h.hexdigest()
