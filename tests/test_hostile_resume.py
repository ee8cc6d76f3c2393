"""A data set a stranger uploads (a zip the app's download makes, edited) is read back within bounds: its
manifest's digests never name a path, thumbnails are never shared across tabs by a claimed digest, its JSON
is refused before parsing when it is junk, and noise for labels is not opened."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guide.annotation.annotator import Annotator
from guide.annotation.dataset import _json_of
from guide.annotation.intake import IdMaker
from guide.core.backprop import BackpropSettings
from guide.serving.pool import ConversationPool


def saved_zip(tiny_model, tmp_path: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> tuple[Annotator, Path]:
    folder = tmp_path / f"in{colour[0]}"
    folder.mkdir()
    Image.fromarray(np.full((40, 48, 3), colour, np.uint8)).save(folder / "img0.png")
    a = Annotator(tiny_model, ConversationPool(tiny_model, BackpropSettings(max_steps=3)), None)
    tab, place, _ = a.open_images([folder], None, None)
    tab, place, _ = a.save_and_next(tab, place)
    return a, Path(a.download(tab, place))


def edited(src: Path, dest: Path, edit) -> Path:
    """``src`` with each member's bytes passed through ``edit(name, data)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, edit(info.filename, zin.read(info)))
    return dest


def manifest_edit(change):
    def edit(name: str, data: bytes) -> bytes:
        if name.endswith("dataset.json"):
            manifest = json.loads(data)
            change(manifest)
            return json.dumps(manifest).encode()
        return data
    return edit


def test_a_manifest_digest_never_names_a_path(tiny_model, tmp_path: Path) -> None:
    a, src = saved_zip(tiny_model, tmp_path)
    target = tmp_path / "outside" / "evil"
    forged = edited(src, tmp_path / "forged.zip", manifest_edit(lambda m: m["images"][0].update(sha1=str(target))))
    tab, place, _ = a.open_images([forged], None, None)
    thumbs, _, _ = a.strip(place, tab)
    assert not (tmp_path / "outside").exists()
    assert all(Path(p).parent == a._thumbs for p, _ in thumbs)
    entry = a.dataset(place).entry("img0")
    assert len(entry["sha1"]) == 40 and "/" not in entry["sha1"]


def test_thumbnails_are_not_shared_by_a_claimed_digest(tiny_model, tmp_path: Path) -> None:
    a, green = saved_zip(tiny_model, tmp_path, (0, 200, 0))
    tab_b, place_b, _ = a.open_images([green], None, None)  # tab B: a green image
    green_sha1 = a.dataset(place_b).entry("img0")["sha1"]
    _, red = saved_zip(tiny_model, tmp_path, (250, 0, 0))
    forged = edited(red, tmp_path / "red.zip", manifest_edit(lambda m: m["images"][0].update(sha1=green_sha1)))
    tab_a, place_a, _ = a.open_images([forged], None, None)  # tab A: a red image claiming the green one's digest
    (path_a, _), = a.strip(place_a, tab_a)[0]
    (path_b, _), = a.strip(place_b, tab_b)[0]
    assert path_a != path_b
    mean = lambda p: np.asarray(Image.open(p).convert("RGB")).reshape(-1, 3).mean(0)  # noqa: E731
    assert mean(path_a)[0] > 150 and mean(path_b)[1] > 150  # each tab sees its own image


def test_junk_json_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(ValueError, match="brackets"):
        _json_of(b"[" + b"[]," * 100_000 + b"[]]")
    with pytest.raises(ValueError):
        _json_of(b"[" * 200_000 + b"]" * 200_000)
    points = {"turns": [{"kind": "pixels", "points": [[12, 34, 5]] * 400}]}  # a real record's densest part
    assert _json_of(json.dumps(points).encode()) == points


def test_a_deeply_nested_record_gets_a_message_not_a_traceback(tiny_model, tmp_path: Path) -> None:
    a, src = saved_zip(tiny_model, tmp_path)
    nested = b'{"id": "img0", "state": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    forged = edited(src, tmp_path / "nested.zip", lambda n, d: nested if n.endswith("conversations/img0.json") else d)
    tab, place, msg = a.open_images([forged], None, None)
    assert "Opened 1" in msg and a.dataset(place).labels("img0") is not None


def test_noise_for_labels_is_not_opened(tiny_model, tmp_path: Path) -> None:
    from guide.core.labels import palette_image

    a, _ = saved_zip(tiny_model, tmp_path)
    big = tmp_path / "big"
    big.mkdir()
    Image.fromarray(np.zeros((1024, 1024, 3), np.uint8)).save(big / "img0.png")
    a2 = Annotator(a.pool.model, ConversationPool(a.pool.model, BackpropSettings(max_steps=3)), None)
    tab, place, _ = a2.open_images([big], None, None)
    tab, place, _ = a2.save_and_next(tab, place)
    checker = (np.indices((1024, 1024)).sum(0) % 2).astype(np.uint8)  # ~1M runs: megabytes of COCO RLE
    buf_path = tmp_path / "checker.png"
    palette_image(checker, a2.dataset(place).palette).save(buf_path)
    forged = edited(Path(a2.download(tab, place)), tmp_path / "noise.zip",
                    lambda n, d: buf_path.read_bytes() if n.endswith("SegmentationClass/img0.png") else d)
    tab, place, msg = a2.open_images([forged], None, None)
    assert "too scattered" in msg and a2.dataset(place).labels("img0") is None


def test_repeated_names_get_numbered_ids() -> None:
    make = IdMaker(["x_3"])
    assert [make("x") for _ in range(5)] == ["x", "x_2", "x_4", "x_5", "x_6"]
    assert make("X") == "X_7"  # case-insensitively one name
