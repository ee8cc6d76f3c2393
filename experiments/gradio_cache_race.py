"""Minimal reproduction: Gradio serves a cached output file while another request rewrites it.

    python experiments/gradio_cache_race.py                  # Gradio as it is: short bodies
    python experiments/gradio_cache_race.py --atomic         # the same with an atomic cache write: none

A one-function Gradio app returns the same numpy image to every call. Gradio 6.31's
``processing_utils.save_pil_to_cache`` names the cached PNG by the hash of its bytes and
writes it **in place** (``Path.write_bytes``: open with truncation, then write), so every
call rewrites the one file other clients may be downloading. Starlette's ``FileResponse``
sends ``Content-Length`` from ``stat()`` and then reads the file: a read that falls after
the truncation and before the write sends fewer bytes than declared ("Too little data for
declared Content-Length" in the server log; the client sees "received 0 bytes, expected N").

Writers call the app; readers fetch the output's URL and compare the body with the image's
bytes. ``--atomic`` replaces ``save_pil_to_cache`` with a write to a temporary file in the
same folder and ``os.replace`` (what Gradio's own ``save_file_to_cache`` does), so a reader
gets the old inode or the new one, never a truncated one. Bounded: ``--calls`` per writer,
``--fetches`` per reader, ``--time-limit`` seconds; loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def atomic_save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """``gradio.processing_utils.save_pil_to_cache`` with the file written under a temporary
    name and renamed into place (``os.replace`` is atomic on one file system)."""
    from gradio import processing_utils as pu

    data = pu.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / pu.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    if not (path.is_file() and path.stat().st_size == len(data)):  # the same bytes are there: nothing to write
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return str(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--atomic", action="store_true", help="patch save_pil_to_cache to write atomically")
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--calls", type=int, default=40, help="calls per writer")
    p.add_argument("--fetches", type=int, default=200, help="downloads per reader")
    p.add_argument("--size", type=int, default=768, help="image side (noise PNG of ~3 x size^2 bytes)")
    p.add_argument("--time-limit", type=float, default=120.0)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    import gradio as gr
    from gradio import processing_utils
    from gradio_client import Client

    if args.atomic:
        processing_utils.save_pil_to_cache = atomic_save_pil_to_cache
    image = np.random.default_rng(0).integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)
    demo = gr.Interface(lambda n: image, gr.Number(), gr.Image(format="png"), api_name="predict")
    demo.queue(default_concurrency_limit=args.writers)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    stop_at = time.time() + args.time_limit
    first = Client(url, verbose=False, download_files=False).predict(0, api_name="/predict")
    file_url = first["url"]
    expected = httpx.get(file_url, timeout=30).content
    assert expected[:8] == b"\x89PNG\r\n\x1a\n", "the output is not a PNG"
    counts = {"calls": 0, "fetches": 0, "short_or_broken": 0, "wrong_bytes": 0}
    errors: list[str] = []
    lock = threading.Lock()

    def writer() -> None:
        c = Client(url, verbose=False, download_files=False)
        for _ in range(args.calls):
            if time.time() > stop_at:
                return
            c.predict(0, api_name="/predict")  # rewrites the same cache file
            with lock:
                counts["calls"] += 1

    def reader() -> None:
        with httpx.Client(timeout=30) as h:
            for _ in range(args.fetches):
                if time.time() > stop_at:
                    return
                try:
                    body = h.get(file_url).content
                    bad = "wrong_bytes" if body != expected else None
                except httpx.HTTPError as e:  # "peer closed connection ...: received 0 bytes, expected N"
                    bad = "short_or_broken"
                    with lock:
                        errors.append(f"{type(e).__name__}: {e}"[:160])
                with lock:
                    counts["fetches"] += 1
                    if bad:
                        counts[bad] += 1

    threads = [threading.Thread(target=writer) for _ in range(args.writers)]
    threads += [threading.Thread(target=reader) for _ in range(args.readers)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.time_limit + 60)
    demo.close()
    report = {"gradio": gr.__version__, "atomic_write": args.atomic, "png_bytes": len(expected), "wall_s": round(time.time() - t0, 1),
              **counts, "first_errors": sorted(set(errors))[:3]}
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
