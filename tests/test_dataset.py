"""An annotated data set folder (guide/annotation/dataset.py) and the batches that fill it (guide/annotation/intake.py).

What is written must load with pycocotools, decode back to the saved PNGs exactly,
read with the project's VOC reader (and ``python -m guide evaluate``), survive a crash
mid-save, refuse another model's classes, and never take a dangerous batch.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guide.annotation import dataset as dataset_mod
from guide.annotation import intake as batch_mod
from guide.annotation.dataset import (
    CHANGED,
    IN_PROGRESS,
    SAVED,
    TODO,
    AnnotationDataset,
    DatasetError,
    ModelMismatch,
    coco_to_labels,
    model_identity,
)
from guide.annotation.intake import collect, safe_id
from guide.core.labels import VOID
from guide.data import get_dataset
from guide.data.voc import VOCSegmentation, read_labelmap
from guide.serving import pagevalues as uivalues

CLASSES = ["sky", "grass", "coat", "shirt"]
PALETTE = [[135, 206, 235], [60, 180, 75], [230, 25, 75], [255, 225, 25]]
MODEL = {"name": "tiny", "source": "local folder /models/tiny"}


def photo(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.integers(0, 120, 3)
    return (base + np.stack([3 * yy, 2 * xx, yy + xx], -1)).clip(0, 255).astype(np.uint8)


def png_bytes(image: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, fmt)
    return buf.getvalue()


def write_images(folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"photo {i}.png" if i % 2 == 0 else folder / f"photo {i}.jpg"
        p.write_bytes(png_bytes(photo(30 + 2 * i, 40 + i, i), "PNG" if i % 2 == 0 else "JPEG"))
        paths.append(p)
    return paths


def labels_for(ds: AnnotationDataset, image_id: str, seed: int) -> np.ndarray:
    """A label map with every class and some void ("unsure") pixels."""
    e = ds.entry(image_id)
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, len(CLASSES), (e["height"], e["width"])).astype(np.uint8)
    lab[:3, :5] = VOID
    return lab


def new_dataset(root: Path, model: dict = MODEL, **kw) -> AnnotationDataset:
    return AnnotationDataset(root, CLASSES, PALETTE, model, **kw)


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def saved(tmp_path: Path):
    """A data set of 3 images: the first two saved, the third in progress."""
    write_images(tmp_path / "in")
    ds = new_dataset(tmp_path / "out")
    report = ds.add([tmp_path / "in"])
    assert report.added == ["photo_0", "photo_1", "photo_2"] and not report.messages
    labels = {}
    for k, image_id in enumerate(ds.ids[:2]):
        labels[image_id] = labels_for(ds, image_id, k)
        assert ds.save(image_id, labels[image_id], {"turns": [{"kind": "pixels", "points": [[1, 2, k]]}]}) == SAVED
    ds.keep(ds.ids[2], {"turns": [{"kind": "text", "text": "a coat"}]})
    return ds, labels


# --------------------------------------------------------------------------- the data set


def test_layout_statuses_and_reopen(saved, tmp_path: Path) -> None:
    ds, labels = saved
    root = ds.root
    for rel in ("dataset.json", "labelmap.txt", "coco.json", "ImageSets/Segmentation/trainval.txt",
                "ImageSets/Segmentation/train.txt", "ImageSets/Segmentation/val.txt"):
        assert (root / rel).is_file(), rel
    assert sorted(p.name for p in (root / "JPEGImages").iterdir()) == ["photo_0.jpg", "photo_1.jpg", "photo_2.jpg"]
    assert sorted(p.name for p in (root / "SegmentationClass").iterdir()) == ["photo_0.png", "photo_1.png"]
    assert (root / "ImageSets/Segmentation/trainval.txt").read_text().split() == ["photo_0", "photo_1"]
    split = (root / "ImageSets/Segmentation/train.txt").read_text().split() + (root / "ImageSets/Segmentation/val.txt").read_text().split()
    assert sorted(split) == ["photo_0", "photo_1"]
    assert read_labelmap(str(root / "labelmap.txt")) == (CLASSES, [tuple(c) for c in PALETTE])
    assert ds.statuses() == {"photo_0": SAVED, "photo_1": SAVED, "photo_2": IN_PROGRESS}
    assert ds.progress_text() == "2 / 3 saved"

    png = Image.open(root / "SegmentationClass/photo_0.png")
    assert png.mode == "P" and png.getpalette()[3 * 2 : 3 * 3] == PALETTE[2]
    assert np.array_equal(np.array(png), labels["photo_0"])

    again = new_dataset(root)  # a restart on the same folder
    assert again.statuses() == ds.statuses()
    assert again.conversation("photo_0") == {"turns": [{"kind": "pixels", "points": [[1, 2, 0]]}]}
    assert again.conversation("photo_2") == {"turns": [{"kind": "text", "text": "a coat"}]}
    assert again.saved_conversation("photo_2") is None
    assert np.array_equal(again.labels("photo_1"), labels["photo_1"]) and again.labels("photo_2") is None
    assert np.array_equal(again.image("photo_0"), np.asarray(Image.open(root / "JPEGImages/photo_0.jpg").convert("RGB")))

    again.keep("photo_0", {"turns": []})  # edited after saving: the files still hold the save
    assert again.status("photo_0") == CHANGED and again.progress() == (2, 3)
    assert again.saved_conversation("photo_0") == {"turns": [{"kind": "pixels", "points": [[1, 2, 0]]}]}
    assert np.array_equal(again.labels("photo_0"), labels["photo_0"])

    fresh = new_dataset(tmp_path / "other")
    assert fresh.statuses() == {} and fresh.progress_text() == "0 / 0 saved"
    fresh.add([tmp_path / "in" / "photo 0.png"])
    assert fresh.status("photo_0") == TODO and fresh.conversation("photo_0") is None


def test_coco_loads_and_decodes_to_the_pngs(saved) -> None:
    from pycocotools.coco import COCO

    ds, labels = saved
    coco = COCO(str(ds.root / "coco.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == CLASSES
    assert sorted(im["file_name"] for im in coco.dataset["images"]) == ["photo_0.jpg", "photo_1.jpg"]
    for im in coco.dataset["images"]:
        image_id = im["file_name"][:-4]
        assert (im["height"], im["width"]) == labels[image_id].shape
        decoded = coco_to_labels(coco, im["id"])
        assert np.array_equal(decoded, labels[image_id])  # exactly, void included
        assert np.array_equal(decoded, np.array(Image.open(ds.root / "SegmentationClass" / f"{image_id}.png")))
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[im["id"]]))
        assert sorted(a["category_id"] for a in anns) == [0, 1, 2, 3]  # one per class present
        assert all(isinstance(a["segmentation"]["counts"], str) for a in anns)  # compressed RLE
        assert sum(a["area"] for a in anns) == int((labels[image_id] != VOID).sum())


def test_resave_replaces_that_image_only(saved) -> None:
    from pycocotools.coco import COCO

    ds, labels = saved
    new = np.full_like(labels["photo_0"], 3)
    ds.save("photo_0", new, {"turns": []})
    coco = COCO(str(ds.root / "coco.json"))
    assert len(coco.dataset["images"]) == 2
    by_name = {im["file_name"]: im["id"] for im in coco.dataset["images"]}
    assert np.array_equal(coco_to_labels(coco, by_name["photo_0.jpg"]), new)
    assert np.array_equal(coco_to_labels(coco, by_name["photo_1.jpg"]), labels["photo_1"])


def test_voc_reader_and_evaluate_read_it(saved, tiny_model_dir: Path, capsys) -> None:
    ds, labels = saved
    voc = get_dataset("voc", "trainval", root=str(ds.root))
    assert isinstance(voc, VOCSegmentation) and voc.ids == ["photo_0", "photo_1"]
    assert voc.classes == CLASSES and [list(c) for c in voc.palette] == PALETTE
    for i, image_id in enumerate(voc.ids):
        image, label = voc[i]
        assert np.array_equal(label, labels[image_id])
        assert np.array_equal(image, ds.image(image_id))  # the reader sees what was annotated

    from guide.__main__ import main

    out = ds.root.parent / "eval.json"
    assert main(["evaluate", "segmenter", "--model", str(tiny_model_dir), "--data", "voc", "--root", str(ds.root),
                 "--split", "trainval", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["images"] == 2 and 0.0 <= report["pixel_accuracy"] <= 1.0


def test_train_segmenter_on_an_annotated_folder(saved, tmp_path: Path) -> None:
    """Images of different sizes batch (scaled and padded); the model learns the folder's classes."""
    from guide.__main__ import main

    ds, _ = saved
    out = tmp_path / "model"
    assert main(["train-segmenter", "--data", "voc", "--root", str(ds.root), "--split", "trainval", "--out", str(out),
                 "--work-dir", str(tmp_path / "work"), "--steps", "1", "--batch", "2", "--size", "32", "--threads", "1"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["classes"] == CLASSES and config["palette"] == PALETTE


def test_fit_square_scales_the_longer_side_and_pads_with_void() -> None:
    from guide.data import fit_square

    image = photo(30, 60, 0)
    label = np.zeros((30, 60), np.uint8)
    label[:, 30:] = 2
    img, lab = fit_square(image, label, 40)
    assert img.shape == (40, 40, 3) and lab.shape == (40, 40)
    assert (lab[:20, :20] == 0).all() and (lab[:20, 20:] == 2).all() and (lab[20:] == VOID).all()
    assert (img[20:] == 0).all() and np.abs(img[:20].astype(int).mean() - image.mean()) < 3
    square = photo(40, 40, 1)
    assert fit_square(square, np.ones((40, 40), np.uint8), 40)[0] is square  # already the size: unchanged


def test_zip_download_holds_the_dataset(saved, tmp_path: Path) -> None:
    ds, labels = saved
    path = ds.zip(tmp_path / "dl")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {"out/dataset.json", "out/coco.json", "out/labelmap.txt", "out/JPEGImages/photo_2.jpg",
                "out/SegmentationClass/photo_1.png", "out/conversations/photo_2.json",
                "out/ImageSets/Segmentation/trainval.txt"} <= names
        assert not any(Path(n).name.startswith(".") for n in names)
        zf.extractall(tmp_path / "unzipped")
    voc = VOCSegmentation(str(tmp_path / "unzipped" / "out"), "trainval")
    assert np.array_equal(voc[1][1], labels["photo_1"])
    with pytest.raises(DatasetError, match="inside the data set"):
        ds.zip(ds.root)


def test_adding_the_same_folder_again_adds_only_new_files(saved, tmp_path: Path) -> None:
    ds, _ = saved
    before = tree_digest(ds.root)
    report = ds.add([tmp_path / "in"])
    assert report.added == [] and sorted(report.existing) == ["photo_0", "photo_1", "photo_2"]
    assert tree_digest(ds.root) == before
    (tmp_path / "in" / "photo 0.png").write_bytes(png_bytes(photo(20, 20, 9)))  # same name, new picture
    report = ds.add([tmp_path / "in"])
    assert report.added == ["photo_0_2"] and ds.status("photo_0") == SAVED


def test_bad_saves_change_nothing(saved) -> None:
    ds, _ = saved
    before = tree_digest(ds.root)
    with pytest.raises(DatasetError, match="image is 40x30"):
        ds.save("photo_0", np.zeros((5, 5), np.uint8), {})
    with pytest.raises(DatasetError, match=r"class indices \[7\]"):
        ds.save("photo_0", np.full((30, 40), 7, np.uint8), {})
    with pytest.raises(DatasetError, match="not plain data"):
        ds.save("photo_0", np.zeros((30, 40), np.uint8), {"image": np.zeros(3)})
    with pytest.raises(DatasetError, match="No image 'nope'"):
        ds.status("nope")
    assert tree_digest(ds.root) == before


def test_a_folder_that_is_not_a_dataset_is_not_touched(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me")
    with pytest.raises(DatasetError, match="not empty and is not a Guide Me data set"):
        new_dataset(tmp_path / "mine")
    assert os.listdir(tmp_path / "mine") == ["thesis.tex"]


# --------------------------------------------------------------------------- model mismatch


def test_other_classes_or_model_are_refused_with_a_message(saved) -> None:
    ds, labels = saved
    before = tree_digest(ds.root)
    with pytest.raises(ModelMismatch) as e:
        AnnotationDataset(ds.root, CLASSES[:3], PALETTE, {"name": "three", "source": "x"})
    msg = str(e.value)
    assert "other classes" in msg and "“tiny”" in msg and "“three”" in msg and "Nothing was changed" in msg
    with pytest.raises(ModelMismatch, match=r"annotated with model “tiny”.*--allow-other-model"):
        new_dataset(ds.root, {"name": "tiny-v2", "source": "hub"})
    assert tree_digest(ds.root) == before

    same = new_dataset(ds.root, {"name": "tiny", "source": "local HF cache of me/tiny@main"})  # same model elsewhere
    assert same.statuses()["photo_0"] == SAVED
    other = new_dataset(ds.root, {"name": "tiny-v2", "source": "hub"}, allow_other_model=True)
    other.save("photo_2", labels_for(other, "photo_2", 5), {"turns": []})
    assert np.array_equal(other.labels("photo_0"), labels["photo_0"])  # earlier saves untouched
    record = json.loads((ds.root / "conversations/photo_2.json").read_text())
    assert record["saved"]["model"]["name"] == "tiny-v2"
    assert json.loads((ds.root / "dataset.json").read_text())["model"]["name"] == "tiny"


def test_model_identity_of_a_loaded_model(tiny_model) -> None:
    assert model_identity(tiny_model) == {"name": "tiny", "source": tiny_model.source}


# --------------------------------------------------------------------------- atomicity


def test_a_failure_mid_write_leaves_the_old_files(saved, monkeypatch) -> None:
    ds, labels = saved
    before = tree_digest(ds.root)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dataset_mod.os, "fsync", disk_full)  # after bytes were written to the temporary
    with pytest.raises(OSError, match="No space"):
        ds.save("photo_0", np.full_like(labels["photo_0"], 1), {"turns": ["new"]})
    monkeypatch.undo()
    assert tree_digest(ds.root) == before  # no half PNG, no temporary left behind
    assert new_dataset(ds.root).status("photo_0") == SAVED


@pytest.mark.parametrize("crash_at", [2, 3, 4])
def test_a_crash_between_steps_is_repaired_on_reopen(saved, monkeypatch, crash_at: int) -> None:
    """Writes of a save: 1 the PNG aside, 2 the record (commit), 3 the PNG into place, 4 COCO.
    A crash before the commit keeps the old save; after it, reopening finishes the new one."""
    from pycocotools.coco import COCO

    ds, labels = saved
    new = np.full_like(labels["photo_0"], 2)
    calls = {"n": 0}
    real_replace = os.replace

    def crashing_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == crash_at:
            raise KeyboardInterrupt("power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(dataset_mod.os, "replace", crashing_replace)
    with pytest.raises(KeyboardInterrupt):
        ds.save("photo_0", new, {"turns": ["new"]})
    monkeypatch.undo()

    again = new_dataset(ds.root)
    want = labels["photo_0"] if crash_at == 2 else new
    assert again.status("photo_0") == SAVED
    assert np.array_equal(again.labels("photo_0"), want)
    assert again.saved_conversation("photo_0") == ({"turns": [{"kind": "pixels", "points": [[1, 2, 0]]}]} if crash_at == 2 else {"turns": ["new"]})
    coco = COCO(str(ds.root / "coco.json"))
    number = again.ids.index("photo_0") + 1
    assert np.array_equal(coco_to_labels(coco, number), want)
    assert not [p for p in ds.root.rglob(".*") if p.is_file()]


def test_a_damaged_coco_json_is_rebuilt_from_the_pngs(saved) -> None:
    from pycocotools.coco import COCO

    ds, labels = saved
    (ds.root / "coco.json").write_text('{"images": [')
    new_dataset(ds.root)
    coco = COCO(str(ds.root / "coco.json"))
    for im in coco.dataset["images"]:
        assert np.array_equal(coco_to_labels(coco, im["id"]), labels[im["file_name"][:-4]])


# --------------------------------------------------------------------------- batches


def test_non_images_are_skipped_by_name_and_duplicates_renamed(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_images(a, 2)
    b.mkdir()
    (b / "photo 0.png").write_bytes(png_bytes(photo(10, 10, 7)))
    (b / "PHOTO 0.png").write_bytes(png_bytes(photo(10, 12, 8)))
    (b / "notes.txt").write_text("not a picture")
    (b / "fake.jpg").write_text("<html>not a jpeg</html>")
    (b / ".hidden.png").write_bytes(png_bytes(photo(10, 10, 1)))
    got = collect([a, b, tmp_path / "missing.png"])
    assert [im.id for im in got.images] == ["photo_0", "photo_1", "PHOTO_0_2", "photo_0_3"]
    assert got.messages == ["fake.jpg: skipped, not an image.", "notes.txt: skipped, not an image.",
                            "missing.png: skipped, no such file."]
    assert collect([a], taken=["Photo_0"]).images[0].id == "photo_0_2"
    assert safe_id("../we ird/näme (1).JPG") == "n_me__1_" and safe_id("...") == "image"


def make_zip(path: Path, entries: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compress) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_zip_images_junk_and_nested_names(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "batch.zip", {
        "set/a.png": png_bytes(photo(10, 10, 1)),
        "set/sub/a.png": png_bytes(photo(10, 11, 2)),
        "set/readme.md": b"# hi",
        "__MACOSX/set/._a.png": b"\x00\x05\x16\x07",
        "set/": b"",
    })
    got = collect([z])
    assert [(im.id, im.name) for im in got.images] == [("a", "batch.zip/set/a.png"), ("a_2", "batch.zip/set/sub/a.png")]
    assert got.messages == ["batch.zip/set/readme.md: skipped, not an image."]
    assert got.images[1].read() == png_bytes(photo(10, 11, 2))

    ds = new_dataset(tmp_path / "out")
    report = ds.add([z, tmp_path / "nope.zip"])
    assert report.added == ["a", "a_2"] and "nope.zip: skipped, no such file." in report.messages
    assert np.abs(ds.image("a_2").astype(int) - photo(10, 11, 2)).mean() < 8  # JPEG of what was sent


@pytest.mark.parametrize("entry", ["../../evil.png", "/etc/evil.png", "ok/../../evil.png", "C:/evil.png", "..\\evil.png"])
def test_path_traversal_zip_is_refused_whole(tmp_path: Path, entry: str) -> None:
    z = make_zip(tmp_path / "trav.zip", {"good.png": png_bytes(photo(10, 10, 1)), entry: png_bytes(photo(10, 10, 2))})
    ds = new_dataset(tmp_path / "out" / "ds")
    report = ds.add([z])
    assert report.added == [] and len(ds) == 0
    assert report.messages == [f"trav.zip: refused, the entry {entry!r} points outside the archive."]
    assert not list(tmp_path.rglob("evil*"))


def test_zip_bomb_is_refused(tmp_path: Path, monkeypatch) -> None:
    bomb = make_zip(tmp_path / "bomb.zip", {"a.bmp": b"\x00" * (20 * 2**20)})  # 20 MB of zeros in ~20 KB
    got = collect([bomb])
    assert got.images == [] and len(got.messages) == 1
    assert got.messages[0].startswith("bomb.zip: refused, it unpacks") and "zip bomb" in got.messages[0]

    monkeypatch.setattr(batch_mod, "MAX_BATCH_BYTES", 1000)  # declared size over the batch limit
    noise = np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    big = make_zip(tmp_path / "big.zip", {"a.png": png_bytes(noise)}, zipfile.ZIP_STORED)
    assert collect([big]).messages[0].startswith("big.zip: refused, it unpacks to")
    monkeypatch.setattr(batch_mod, "MAX_ZIP_ENTRIES", 3)
    many = make_zip(tmp_path / "many.zip", {f"{i}.txt": b"x" for i in range(4)})
    assert collect([many]).messages == ["many.zip: refused, it holds 4 entries (the limit is 3)."]


def test_a_zip_entry_larger_than_its_header_says_is_not_read_past_it(tmp_path: Path) -> None:
    data = png_bytes(photo(20, 20, 3))
    z = make_zip(tmp_path / "liar.zip", {"a.png": data}, zipfile.ZIP_STORED)
    raw = bytearray(z.read_bytes())
    # shrink the declared uncompressed size in the central directory: the reader stops there
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    z.write_bytes(bytes(raw))
    got = collect([z])
    assert got.images == [] and got.messages and got.messages[0].startswith("liar.zip/a.png: skipped")


def test_batch_limits(tmp_path: Path, monkeypatch) -> None:
    write_images(tmp_path / "in", 4)
    monkeypatch.setattr(batch_mod, "MAX_IMAGES", 2)
    got = collect([tmp_path / "in"])
    assert [im.id for im in got.images] == ["photo_0", "photo_1"]
    assert got.messages == ["2 more files were not opened (the limit is 2 images and 1024 MB per batch): photo 2.png, photo 3.jpg."]
    monkeypatch.setattr(batch_mod, "MAX_FILE_BYTES", 100)
    assert collect([tmp_path / "in" / "photo 0.png"]).messages[0].startswith("photo 0.png: skipped, ")


def test_huge_and_corrupt_images_are_skipped_when_added(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "in"
    write_images(folder, 1)
    noise = png_bytes(np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8))
    (folder / "cut.png").write_bytes(noise[: len(noise) // 2])  # a valid header, truncated pixels
    monkeypatch.setattr(uivalues, "MAX_INPUT_PIXELS", 1000)  # photo 0 is 40x30 = 1200 px, cut.png 400
    report = new_dataset(tmp_path / "out").add([folder])
    assert report.added == []
    assert report.messages[0].startswith("cut.png: skipped. Could not read that file as an image")
    assert report.messages[1] == "photo 0.png: skipped. That image is 40x30 = 0 MP; the limit is 0 MP."


def test_large_images_are_downscaled_and_exif_rotation_applied(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(uivalues, "MAX_SIDE", 32)
    img = Image.fromarray(photo(20, 64, 1))
    exif = img.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    img.save(tmp_path / "rot.jpg", exif=exif)
    ds = new_dataset(tmp_path / "out")
    report = ds.add([tmp_path / "rot.jpg"])
    assert report.messages == ["rot.jpg: downscaled from 64x20."]
    assert ds.image("rot").shape == (32, 10, 3) and ds.entry("rot")["height"] == 32
    assert "exif" not in Image.open(ds.root / "JPEGImages/rot.jpg").info  # no metadata carried into the data set


def test_an_image_with_long_metadata_before_its_pixels_is_still_an_image(tmp_path: Path) -> None:
    path = tmp_path / "icc.jpg"
    Image.fromarray(photo(10, 10, 1)).save(path, icc_profile=b"\x00" * 300_000)  # ICC profile segments first
    assert path.stat().st_size > batch_mod.SNIFF_BYTES
    got = collect([path])
    assert [im.id for im in got.images] == ["icc"] and got.messages == []


def test_the_data_set_inside_the_images_folder_is_not_added_again(tmp_path: Path) -> None:
    write_images(tmp_path, 2)
    ds = new_dataset(tmp_path / "out")  # python app.py --images . --out out
    assert ds.add([tmp_path]).added == ["photo_0", "photo_1"]
    report = new_dataset(tmp_path / "out").add([tmp_path])
    assert report.added == [] and len(report.existing) == 2
    assert new_dataset(tmp_path / "out").add([tmp_path / "out" / "JPEGImages" / "photo_0.jpg"]).messages == [
        "photo_0.jpg: skipped, it is inside the data set being written."]


def test_labelmap_refuses_what_it_cannot_hold(tmp_path: Path) -> None:
    from guide.data.voc import write_labelmap

    with pytest.raises(ValueError, match="no ':'"):
        write_labelmap(["a:b"], [[0, 0, 0]])
    (tmp_path / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nsky:1,2::\n")
    with pytest.raises(ValueError, match=r"labelmap.txt:2: expected name:r,g,b::"):
        read_labelmap(str(tmp_path / "labelmap.txt"))


def test_the_pixel_budget_reads_headers_and_fits_a_batch_of_phone_photos() -> None:
    """The real budget (intake.MAX_BATCH_PIXELS), on header bytes only (nothing decoded): 80 phone
    photos of 12 MP fit in one batch; of 120 tiny 7000x7000 PNGs (49 MP each) 20 do, and the
    message counts the 100 left out; an image over the per-image cap costs nothing (refused undecoded)."""
    from PIL import PngImagePlugin

    from guide.annotation.intake import PixelBudget, header_pixels

    phone = io.BytesIO()
    Image.new("RGB", (4000, 3000)).save(phone, "JPEG")
    budget = PixelBudget()
    assert all(budget.take(phone.getvalue()) for _ in range(80)) and budget.message() is None
    info = PngImagePlugin.PngInfo()
    info.add_text("copy", "1")
    sparse = io.BytesIO()
    Image.new("1", (7000, 7000)).save(sparse, "PNG", pnginfo=info)
    assert header_pixels(sparse.getvalue()) == 49_000_000 and len(sparse.getvalue()) < 20_000
    budget = PixelBudget()
    taken = [budget.take(sparse.getvalue()) for _ in range(120)]
    assert taken == [True] * 20 + [False] * 100
    budget.leave_out(f"big_{i}.png" for i in range(20, 120))
    assert budget.message().startswith("100 more images were not opened: one batch decodes at most 1,000 MP of images in all")
    over = io.BytesIO()
    Image.new("1", (8000, 8000)).save(over, "PNG")
    assert PixelBudget(10).take(over.getvalue()) and header_pixels(b"not an image") == 0


def test_an_open_stops_decoding_at_its_pixel_budget_and_the_rest_opens_later(tmp_path: Path, monkeypatch) -> None:
    """The budget is shared by one open (open_paths); what did not fit is counted first in the report
    and opens in a later batch; the command line's own files (--images: PixelBudget(inf)) have none."""
    from guide.annotation.intake import PixelBudget

    write_images(tmp_path / "in", 4)  # 40x30, 41x32, 42x34, 43x36 pixels
    monkeypatch.setattr(batch_mod, "MAX_BATCH_PIXELS", 2600)
    ds = new_dataset(tmp_path / "out")
    report = ds.open_paths([tmp_path / "in"])
    assert report.added == ["photo_0", "photo_1"]
    assert report.messages[0].startswith("2 more images were not opened") and report.messages[0].endswith(
        "open them in another batch: photo 2.png, photo 3.jpg.")
    report = ds.open_paths([tmp_path / "in"])
    assert report.added == ["photo_2"] and report.existing == ["photo_0", "photo_1"]
    assert report.messages[0].startswith("1 more image was not opened") and report.messages[0].endswith("photo 3.jpg.")
    report = ds.open_paths([tmp_path / "in"], budget=PixelBudget(float("inf")))
    assert report.added == ["photo_3"] and report.messages == []
