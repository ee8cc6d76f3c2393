"""Gradio's cached image outputs are written atomically (guide/serving/gradio_cache.py): a file a
client is downloading is never emptied by another request that returns the same picture."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image

from guide.serving.gradio_cache import save_pil_to_cache, write_cache_files_atomically


def test_the_same_picture_leaves_the_served_file_untouched(tmp_path: Path) -> None:
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    path = Path(save_pil_to_cache(img, str(tmp_path), format="png"))
    before = path.stat()
    with open(path, "rb") as served:  # a download in progress
        again = Path(save_pil_to_cache(img, str(tmp_path), format="png"))
        assert again == path and path.stat().st_ino == before.st_ino and path.stat().st_size == before.st_size
        assert Image.open(served).tobytes() == img.tobytes()
    assert [p.name for p in path.parent.iterdir()] == ["image.png"]  # no staging file left


def test_readers_never_see_a_partial_file_while_writers_race(tmp_path: Path) -> None:
    """Writers save the same picture (the cached file deleted each time, so every save
    writes) while readers read it: every read is the whole PNG or no file at all."""
    img = Image.fromarray(np.random.default_rng(1).integers(0, 255, (768, 768, 3), dtype=np.uint8))
    path = Path(save_pil_to_cache(img, str(tmp_path), format="png"))
    whole = path.read_bytes()
    partial = []

    def write() -> None:
        for _ in range(12):
            path.unlink(missing_ok=True)
            save_pil_to_cache(img, str(tmp_path), format="png")

    def read() -> None:
        while any(w.is_alive() for w in writers):  # bounded: the writers make 2 x 12 saves
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            if data != whole:
                partial.append(len(data))

    writers = [threading.Thread(target=write) for _ in range(2)]
    threads = writers + [threading.Thread(target=read) for _ in range(2)]
    for t in writers:
        t.start()
    for t in threads[2:]:
        t.start()
    for t in threads:
        t.join()
    assert partial == []
    assert path.read_bytes() == whole


def test_gradio_image_outputs_use_it() -> None:
    from gradio import processing_utils

    write_cache_files_atomically()
    assert processing_utils.save_pil_to_cache is save_pil_to_cache
    import gradio as gr

    out = gr.Image(format="png").postprocess(np.zeros((8, 8, 3), np.uint8))
    assert Path(out.path).is_file() and Path(out.path).read_bytes()[:4] == b"\x89PNG"
