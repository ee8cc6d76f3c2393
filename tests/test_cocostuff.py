"""Tests of the COCO-Stuff reader on tiny fixture trees in the real file formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from guide.data import get_dataset
from guide.data.cocostuff import COCOSTUFF_CLASSES, NUM_THINGS, COCOStuff, mat_to_label


def _image(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_class_names() -> None:
    assert len(COCOSTUFF_CLASSES) == 182 and len(set(COCOSTUFF_CLASSES)) == 182
    assert COCOSTUFF_CLASSES[0] == "person" and COCOSTUFF_CLASSES[90] == "hair brush"
    assert COCOSTUFF_CLASSES[NUM_THINGS] == "banner" and COCOSTUFF_CLASSES[-1] == "wood"
    # official ids (1-based) from labels.txt
    official = {124: "grass", 125: "gravel", 149: "road", 157: "sky-other", 171: "wall-brick", 182: "wood"}
    for k, name in official.items():
        assert COCOSTUFF_CLASSES[k - 1] == name


def test_mat_mapping() -> None:
    S = np.array([[0, 1, 182], [124, 0, 50]], np.uint16)
    assert mat_to_label(S).tolist() == [[255, 0, 181], [123, 255, 49]]
    assert mat_to_label(S).dtype == np.uint8


def test_cocostuff_10k_layout(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    (tmp_path / "imageLists").mkdir()
    names = ["COCO_train2014_000000000077", "COCO_train2014_000000000078", "COCO_train2014_000000000079"]
    S = np.zeros((24, 32), np.uint16)
    S[2:20, 3:12] = 1          # person
    S[2:20, 12:30] = 157       # sky-other
    S[20:, :] = 124            # grass (row 23 stays)
    S[23, :] = 0               # unlabeled
    for k, name in enumerate(names):
        Image.fromarray(_image(24, 32, k)).save(tmp_path / "images" / f"{name}.jpg")
    savemat(str(tmp_path / "annotations" / f"{names[0]}.mat"), {"S": S, "names": np.array(["x"], dtype=object)})
    savemat(str(tmp_path / "annotations" / f"{names[1]}.mat"), {"S": S.astype(np.uint8)}, do_compression=True)
    png = np.full((24, 32), 255, np.uint8)
    png[:12] = 156
    Image.fromarray(png).save(tmp_path / "annotations" / f"{names[2]}.png")
    (tmp_path / "imageLists" / "train.txt").write_text("\n".join(names) + "\n")
    (tmp_path / "imageLists" / "test.txt").write_text(names[0] + "\n")

    ds = COCOStuff(str(tmp_path), "train")
    assert len(ds) == 3 and ds.ids == names
    for i in (0, 1):
        image, label = ds[i]
        assert image.shape == (24, 32, 3) and image.dtype == np.uint8
        assert label.shape == (24, 32) and label.dtype == np.uint8
        assert label[5, 5] == 0 and COCOSTUFF_CLASSES[label[5, 20]] == "sky-other"
        assert COCOSTUFF_CLASSES[label[21, 0]] == "grass" and (label[23] == 255).all()
        assert set(np.unique(label)) == {0, 123, 156, 255}
    _, label = ds[2]
    assert (label[:12] == 156).all() and (label[12:] == 255).all()
    assert len(get_dataset("cocostuff", "test", root=str(tmp_path))) == 1
    with pytest.raises(IndexError):
        ds[3]


def test_cocostuff_164k_layout(tmp_path: Path) -> None:
    (tmp_path / "images" / "val2017").mkdir(parents=True)
    (tmp_path / "annotations" / "val2017").mkdir(parents=True)
    for k, name in enumerate(["000000000139", "000000000285"]):
        Image.fromarray(_image(16, 20, k)).save(tmp_path / "images" / "val2017" / f"{name}.jpg")
        lab = np.full((16, 20), 255, np.uint8)
        lab[3:10, 4:15] = 17 + k
        Image.fromarray(lab).save(tmp_path / "annotations" / "val2017" / f"{name}.png")
    for split in ("val", "val2017"):
        ds = COCOStuff(str(tmp_path), split)
        assert ds.ids == ["000000000139", "000000000285"]
        image, label = ds[1]
        assert image.shape == (16, 20, 3)
        assert set(np.unique(label)) == {18, 255} and COCOSTUFF_CLASSES[label[5, 5]] == "horse"


def test_wrong_root_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="imageLists"):
        COCOStuff(str(tmp_path), "test")
    with pytest.raises(FileNotFoundError, match="annotations"):
        get_dataset("cocostuff", "test", root=str(tmp_path / "missing"))
    (tmp_path / "imageLists").mkdir()
    (tmp_path / "imageLists" / "test.txt").write_text("a\n")
    with pytest.raises(FileNotFoundError, match="images/<id>.jpg"):
        COCOStuff(str(tmp_path), "test")
