"""Tests of the PASCAL VOC 2012 reader on a tiny fixture tree in the real file formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guide.data import get_dataset
from guide.data.voc import VOC_CLASSES, VOC_PALETTE, VOCSegmentation, voc_palette


def _label(h: int, w: int, cls: int) -> np.ndarray:
    """Background with a ``cls`` rectangle outlined by a 255 (void) border, like VOC."""
    lab = np.zeros((h, w), np.uint8)
    lab[4:h - 4, 5:w - 5] = 255
    lab[6:h - 6, 7:w - 7] = cls
    return lab


def _write_tree(root: Path, ids: dict[str, int], split: str = "val") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    (root / "JPEGImages").mkdir(parents=True)
    (root / "SegmentationClass").mkdir()
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    flat = [v for rgb in voc_palette(256) for v in rgb]
    rng = np.random.default_rng(0)
    out = {}
    for k, (name, cls) in enumerate(ids.items()):
        h, w = 20 + 2 * k, 30 + 3 * k
        yy, xx = np.mgrid[0:h, 0:w]
        base = rng.integers(0, 120, 3)
        image = (base + np.stack([4 * yy, 3 * xx, 2 * (yy + xx)], -1)).clip(0, 255).astype(np.uint8)
        Image.fromarray(image).save(root / "JPEGImages" / f"{name}.jpg", quality=95)
        lab = _label(h, w, cls)
        png = Image.fromarray(lab, mode="P")
        png.putpalette(flat)
        png.save(root / "SegmentationClass" / f"{name}.png")
        out[name] = (image, lab)
    (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("".join(f"{n}\n" for n in ids))
    return out


def test_classes_and_palette() -> None:
    assert len(VOC_CLASSES) == 21 and VOC_CLASSES[0] == "background" and VOC_CLASSES[15] == "person"
    assert VOC_PALETTE[:3] == [(0, 0, 0), (128, 0, 0), (0, 128, 0)]
    assert VOC_PALETTE[15] == (192, 128, 128)
    assert voc_palette(256)[255] == (224, 224, 192)


def test_reads_images_and_palette_labels(tmp_path: Path) -> None:
    written = _write_tree(tmp_path / "VOCdevkit" / "VOC2012", {"2007_000032": 1, "2007_000039": 15})
    for root in (tmp_path, tmp_path / "VOCdevkit", tmp_path / "VOCdevkit" / "VOC2012"):
        ds = VOCSegmentation(str(root), "val")
        assert len(ds) == 2 and ds.ids == ["2007_000032", "2007_000039"]
    for i, (name, (image, lab)) in enumerate(written.items()):
        got_image, got_label = ds[i]
        assert got_image.dtype == np.uint8 and got_image.shape == image.shape
        assert np.abs(got_image.astype(int) - image).mean() < 6  # JPEG
        assert got_label.dtype == np.uint8 and np.array_equal(got_label, lab)
        assert set(np.unique(got_label)) == {0, 255, [1, 15][i]}
    with pytest.raises(IndexError):
        ds[2]
    assert len(get_dataset("voc", "val", root=str(tmp_path))) == 2


def test_rgb_label_maps_are_decoded(tmp_path: Path) -> None:
    written = _write_tree(tmp_path, {"a": 7})
    lab = written["a"][1]
    rgb = np.array(voc_palette(256), np.uint8)[lab]
    Image.fromarray(rgb).save(tmp_path / "SegmentationClass" / "a.png")
    assert np.array_equal(VOCSegmentation(str(tmp_path))[0][1], lab)


def test_wrong_root_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="JPEGImages"):
        VOCSegmentation(str(tmp_path))
    _write_tree(tmp_path, {"a": 3}, split="train")
    with pytest.raises(FileNotFoundError, match="ImageSets/Segmentation"):
        VOCSegmentation(str(tmp_path), "val")
    with pytest.raises(FileNotFoundError, match="SegmentationClass"):
        get_dataset("voc", "val", root=str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="root"):
        get_dataset("voc", "val")
    with pytest.raises(ValueError, match="scenes, voc, cocostuff"):
        get_dataset("cityscapes", "val")
