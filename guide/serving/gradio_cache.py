"""Gradio's cached image outputs, written so that a file being served is never rewritten.

Gradio (6.31) turns an image a handler returns (numpy or PIL) into a file named by the
hash of its PNG bytes, ``<cache>/<sha256>/image.png``, and writes it **in place**
(``processing_utils.save_pil_to_cache``: ``Path.write_bytes``, which truncates first).
Two requests that return the same picture (two tabs with the same example and the same
turns; a public Space's first overlay of an example) share that one file, so the second
write empties the file while the first tab's browser may be downloading it: Starlette sends
``Content-Length`` from ``stat()`` and then reads a shorter (or empty) file, and the
download is cut short ("Too little data for declared Content-Length" in the server log;
"received 0 bytes, expected 2077" in the client). Reproduction without this app, and
counts: ``experiments/gradio_cache_race.py`` (docs/gradio-cache-race.md).

:func:`write_cache_files_atomically` replaces that function with one that writes a new
file under a temporary name and renames it into place (``os.replace``: a reader keeps the
file it opened), and leaves an existing file of the same bytes alone, as Gradio's own
``save_file_to_cache`` does for file outputs. Call it once, before serving.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """``gradio.processing_utils.save_pil_to_cache`` (same arguments, same file name), written atomically."""
    from gradio import processing_utils

    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)  # the name says the content: same bytes, same file
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    try:
        if path.stat().st_size == len(data):
            os.utime(path)  # Gradio's delete_cache ages files by ctime: a file handed out again is young again
            return str(path)
    except OSError:  # not there yet (or just deleted by delete_cache): write it
        pass
    fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return str(path)


def write_cache_files_atomically() -> None:
    """Make Gradio write cached image outputs atomically (idempotent). Gradio's image
    components look ``processing_utils.save_pil_to_cache`` up when they run, so replacing
    the module attribute covers gr.Image, gr.Gallery, gr.AnnotatedImage and the editor."""
    from gradio import processing_utils

    processing_utils.save_pil_to_cache = save_pil_to_cache
