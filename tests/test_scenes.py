"""Tests of the embedded scenes benchmark (guide/data/scenes.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from guide.data.fashion_mnist import FASHION_CLASSES, fashion_mnist_available, load_fashion_mnist

if not fashion_mnist_available():
    pytest.skip("Fashion-MNIST missing: apt-get install dataset-fashion-mnist", allow_module_level=True)

from guide.data import CLASSES, PALETTE, VOID, SceneDataset, get_dataset  # noqa: E402
from guide.data.scenes import (  # noqa: E402
    ALPHA_HI,
    ALPHA_LO,
    SPLIT_ITEMS,
    SPLIT_LENGTHS,
    SPLITS,
    T10K_OFFSET,
    THING_OFFSET,
    label_to_png,
    write_examples,
)


@pytest.fixture(scope="module")
def seg_train() -> SceneDataset:
    return SceneDataset("seg-train")


@pytest.fixture(scope="module")
def seg_train_samples(seg_train: SceneDataset) -> list[tuple[np.ndarray, np.ndarray]]:
    return [seg_train[i] for i in range(200)]


def test_class_list_and_palette() -> None:
    assert len(CLASSES) == 16 and len(set(CLASSES)) == 16
    assert all(isinstance(c, str) and c.strip() == c and c for c in CLASSES)
    assert CLASSES[:6] == ["sky", "grass", "gravel", "wall", "water", "sand"]
    assert CLASSES[THING_OFFSET:] == list(FASHION_CLASSES)
    assert "ankle boot" in CLASSES and "t-shirt" in CLASSES and "trousers" in CLASSES
    assert VOID == 255
    assert len(PALETTE) == 16 and len(set(PALETTE)) == 16
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in PALETTE)


def test_shapes_dtypes_lengths() -> None:
    assert SPLITS == ("seg-train", "guide-train", "val", "test")
    for split in SPLITS:
        ds = SceneDataset(split)
        assert len(ds) == SPLIT_LENGTHS[split]
        image, label = ds[len(ds) - 1]
        assert image.shape == (160, 160, 3) and image.dtype == np.uint8
        assert label.shape == (160, 160) and label.dtype == np.uint8
        assert set(np.unique(label)) <= set(range(16)) | {VOID}
    small = SceneDataset("val", size=96, length=7)
    assert len(small) == 7
    image, label = small[6]
    assert image.shape == (96, 96, 3) and label.shape == (96, 96)
    with pytest.raises(IndexError):
        small[7]
    assert [len(x) for x in small] == [2] * 7  # iteration stops at the end
    with pytest.raises(ValueError, match="seg-train"):
        SceneDataset("training")
    assert isinstance(get_dataset("scenes", "test", size=64), SceneDataset)


def test_deterministic_and_order_independent() -> None:
    a = SceneDataset("val")
    b = SceneDataset("val")
    b[9], b[3]  # other accesses first must not matter
    for i in (3, 9):
        ia, la = a[i]
        ib, lb = b[i]
        assert np.array_equal(ia, ib) and np.array_equal(la, lb)
        assert a.item_ids(i) == b.item_ids(i)
    assert not np.array_equal(a[3][0], a[4][0])
    assert not np.array_equal(a[3][0], SceneDataset("val", seed=1)[3][0])
    assert not np.array_equal(a[3][0], SceneDataset("test")[3][0])
    assert np.array_equal(a[-1][0], a[len(a) - 1][0])


def test_layers_match_sample_and_items() -> None:
    ds = SceneDataset("test")
    images, labels = load_fashion_mnist("t10k")
    for i in range(5):
        layers = ds.layers(i)
        image, label = ds[i]
        assert np.array_equal(layers.image, image) and np.array_equal(layers.label, label)
        assert tuple(sorted(it[1] for it in layers.items)) == tuple(sorted(ds.item_ids(i)))
        for cls, gid, *_ in layers.items:
            assert cls == THING_OFFSET + int(labels[gid - T10K_OFFSET])
        present_things = {int(c) for c in np.unique(label) if THING_OFFSET <= c < VOID}
        assert present_things <= {it[0] for it in layers.items}


def test_labels_align_with_compositing() -> None:
    """Thing labels sit exactly where the items' alpha is confident; stuff where no item is."""
    ds = SceneDataset("seg-train")
    diffs = []
    for i in range(40):
        L = ds.layers(i)
        thing = (L.label >= THING_OFFSET) & (L.label != VOID)
        stuff = L.label < THING_OFFSET
        void = L.label == VOID
        assert (L.coverage[thing] >= ALPHA_HI - 1e-5).all()
        assert (L.coverage[stuff] <= ALPHA_LO + 1e-5).all()
        assert (L.coverage[void] > ALPHA_LO - 1e-5).all()
        assert np.array_equal(L.label[stuff], L.stuff_label[stuff])
        untouched = L.coverage == 0
        assert np.array_equal(L.clean[untouched], L.background[untouched])
        # a pixel with alpha a shows a * item + (1 - a) * background: near-opaque pixels differ from the stuff
        diffs.append(float(np.abs(L.clean[thing] - L.background[thing]).mean()))
        # the nearest (last drawn) item is visible with its class when it lies well inside the frame
        cls, _, y0, x0, h, w = L.items[-1]
        if y0 >= 0 and x0 >= 0 and y0 + h <= 160 and x0 + w <= 160:
            assert (L.label[y0:y0 + h, x0:x0 + w] == cls).sum() > 0.1 * h * w
    assert np.mean(diffs) > 30 and min(diffs) > 5


def test_split_disjointness() -> None:
    ids = {}
    for split in SPLITS:
        ds = SceneDataset(split)
        part, lo, hi = SPLIT_ITEMS[split]
        off = T10K_OFFSET if part == "t10k" else 0
        got = set()
        for i in range(min(len(ds), 300)):
            item_ids = ds.item_ids(i)
            assert 1 <= len(item_ids) <= 4
            got.update(item_ids)
        assert min(got) >= off + lo and max(got) < off + hi
        ids[split] = got
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not ids[a] & ids[b], (a, b)


def test_every_class_appears(seg_train_samples: list[tuple[np.ndarray, np.ndarray]]) -> None:
    counts = np.zeros(256, np.int64)
    for _, label in seg_train_samples:
        counts += np.bincount(label.ravel(), minlength=256) > 0
    for c, name in enumerate(CLASSES):
        assert counts[c] >= 10, f"class {name} appears in only {counts[c]} of 200 scenes"
    assert counts[16:VOID].sum() == 0


def test_void_only_on_thin_borders(seg_train_samples: list[tuple[np.ndarray, np.ndarray]]) -> None:
    fractions = []
    for _, label in seg_train_samples:
        void = label == VOID
        fractions.append(void.mean())
        # the void band is at most a few pixels thick
        assert not ndimage.binary_erosion(void, np.ones((3, 3), bool), iterations=3).any()
        if void.any():  # and it touches a labelled item pixel or another void pixel next to one
            near_thing = ndimage.binary_dilation((label >= THING_OFFSET) & (label != VOID), iterations=4)
            assert (near_thing[void]).mean() > 0.5
    assert 0.002 < np.mean(fractions) < 0.04
    assert max(fractions) < 0.08


def test_images_look_like_photos(seg_train_samples: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Stuff regions are textured (not flat colour) and classes are not separable by a single colour."""
    stds = {c: [] for c in range(6)}
    means = {c: [] for c in range(6)}
    for image, label in seg_train_samples[:60]:
        for c in range(6):
            m = label == c
            if m.sum() > 500:
                px = image[m].astype(np.float32)
                stds[c].append(px.std(axis=0).mean())
                means[c].append(px.mean())
    for c in range(6):
        assert np.mean(stds[c]) > 4, f"{CLASSES[c]} looks flat"
    # brightness ranges of different stuff classes overlap (colour alone is not enough)
    assert max(means[2]) > min(means[5]) and max(means[5]) > min(means[2])


def test_fashion_mnist_missing_gives_install_hint(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GUIDE_FASHION_MNIST", str(tmp_path))
    assert not fashion_mnist_available()
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        SceneDataset("test")


def test_write_examples(tmp_path) -> None:
    paths = write_examples(str(tmp_path), n=2, size=64)
    assert sorted(p.rsplit("/", 1)[1] for p in paths) == [
        "scene_00.png", "scene_00_label.png", "scene_01.png", "scene_01_label.png"]
    image, label = SceneDataset("test", size=64)[1]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "scene_01.png")), image)
    png = Image.open(tmp_path / "scene_01_label.png")
    assert png.mode == "P"
    assert np.array_equal(np.asarray(png), label)
    pal = png.getpalette()
    assert tuple(pal[3:6]) == PALETTE[1] and tuple(pal[3 * 255:3 * 256]) == (0, 0, 0)
    assert label_to_png(label).size == (64, 64)
