"""Whether the network may be used, and whether a host answers: the one Hub probe.

A leaf module (standard library only), so everything that downloads (model folders in
guide/models/hub.py, torchvision's weights in guide/models/pretrained.py, the GloVe vectors in
guide/text/vectors.py) asks the same question the same way without importing each other.
"""

from __future__ import annotations

import functools
import os
import socket
from urllib.parse import urlparse


def offline() -> bool:
    """Whether downloads are off: ``HF_HUB_OFFLINE=1`` (also stops torchvision downloads).
    Read from the environment as huggingface_hub does, without importing it (~3 s here)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether ``url``'s host accepts a connection within ``timeout`` s (False at once
    when offline). Libraries retry failed requests with back-off (huggingface_hub: ~25 s
    here with no network) or wait without a timeout (torch.hub); one quick connection
    attempt avoids that wait. The answer is remembered per URL for the process."""
    return not offline() and _connects(url, timeout)


@functools.lru_cache(maxsize=16)
def _connects(url: str, timeout: float) -> bool:
    parts = urlparse(url)
    port = parts.port or (80 if parts.scheme == "http" else 443)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
        return True
    except (OSError, ValueError):
        return False


def hub_reachable() -> bool:
    """Whether the Hugging Face Hub answers at all (False at once under HF_HUB_OFFLINE=1)."""
    return reachable(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
