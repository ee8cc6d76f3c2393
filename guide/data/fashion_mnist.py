"""Fashion-MNIST reader (the "thing" photos of the scenes benchmark).

The files come from the Debian package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``).
Set the environment variable ``GUIDE_FASHION_MNIST`` to use another directory
holding the same four files (gzipped or not).

Images are 28x28 uint8 grey levels, item bright on a black (0) background.
"""

from __future__ import annotations

import functools
import gzip
import os

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "GUIDE_FASHION_MNIST"
INSTALL_HINT = "apt-get install dataset-fashion-mnist"

#: Fashion-MNIST label index -> name (the standard order).
FASHION_CLASSES: tuple[str, ...] = (
    "t-shirt", "trousers", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)
PARTS = ("train", "t10k")
PART_SIZES = {"train": 60000, "t10k": 10000}


def fashion_mnist_dir() -> str:
    """Directory the Fashion-MNIST files are read from (env var override)."""
    return os.environ.get(ENV_VAR) or DEFAULT_DIR


def _open(path: str) -> bytes:
    for candidate in (path, path[:-3] if path.endswith(".gz") else path + ".gz"):
        if os.path.isfile(candidate):
            if candidate.endswith(".gz"):
                with gzip.open(candidate, "rb") as f:
                    return f.read()
            with open(candidate, "rb") as f:
                return f.read()
    raise FileNotFoundError(
        f"Fashion-MNIST file {path!r} not found. Install it with "
        f"`{INSTALL_HINT}` or point ${ENV_VAR} at a directory holding "
        "{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz"
    )


def fashion_mnist_available() -> bool:
    """True when all four Fashion-MNIST files can be found."""
    root = fashion_mnist_dir()
    for part in PARTS:
        for kind in ("images-idx3", "labels-idx1"):
            p = os.path.join(root, f"{part}-{kind}-ubyte")
            if not (os.path.isfile(p + ".gz") or os.path.isfile(p)):
                return False
    return True


def load_fashion_mnist(part: str) -> tuple[np.ndarray, np.ndarray]:
    """Load one part ("train": 60000 items, "t10k": 10000 items), cached per process.

    Returns ``(images, labels)``: images N x 28 x 28 uint8 (read-only), labels N uint8
    (index into :data:`FASHION_CLASSES`).
    """
    if part not in PARTS:
        raise ValueError(f"unknown Fashion-MNIST part {part!r}; choose from {PARTS}")
    return _load(part, fashion_mnist_dir())


@functools.lru_cache(maxsize=None)
def _load(part: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    raw_x = _open(os.path.join(root, f"{part}-images-idx3-ubyte.gz"))
    raw_y = _open(os.path.join(root, f"{part}-labels-idx1-ubyte.gz"))
    n, rows, cols = (int.from_bytes(raw_x[i:i + 4], "big") for i in (4, 8, 12))
    images = np.frombuffer(raw_x, np.uint8, offset=16).reshape(n, rows, cols)
    labels = np.frombuffer(raw_y, np.uint8, offset=8)
    if labels.shape[0] != n:
        raise ValueError(f"Fashion-MNIST {part}: {n} images but {labels.shape[0]} labels")
    return images, labels
