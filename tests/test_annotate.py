"""Annotating many images (guide/annotation/annotator.py): each image keeps its own conversation while
moving back and forth, saves land in the data set, and a restart continues exactly."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guide.annotation.annotator import Annotator  # noqa: E402
from guide.annotation.dataset import CHANGED, IN_PROGRESS, SAVED, TODO, AnnotationDataset, ModelMismatch  # noqa: E402
from guide.core.backprop import BackpropSettings  # noqa: E402
from guide.dialogue.conversation import UserError  # noqa: E402
from guide.serving.pool import ConversationPool  # noqa: E402


def write_images(folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        rng = np.random.default_rng(i)
        img = rng.integers(0, 255, (40 + 4 * i, 48, 3), dtype=np.uint8)
        img[: 12 + i] = [120, 180, 240]
        out.append(folder / f"img{i}.png")
        Image.fromarray(img).save(out[-1])
    (folder / "notes.txt").write_text("not an image")
    return out


def annotator(model, out: Path | None, **kw) -> Annotator:
    return Annotator(model, ConversationPool(model, BackpropSettings(max_steps=5)), out, **kw)  # few steps: fast


def guide(a: Annotator, tab: dict, points) -> dict:
    with a.pool.open(tab) as conv:
        conv.guide_points(points)
        return a.pool.tab(conv)


def test_many_images_each_keep_their_conversation_and_resume(tiny_model, tmp_path: Path) -> None:
    write_images(tmp_path / "in")
    a = annotator(tiny_model, tmp_path / "out")
    tab, place, msg = a.open_images([tmp_path / "in"], None, None)
    assert msg.startswith("Opened 3 new images, 1 problem.") and "notes.txt: skipped, not an image." in msg
    assert place["current"] == "img0" and tab["image"].shape == (40, 48, 3)

    tab = guide(a, tab, [(30, 5, 2), (35, 40, 2)])
    guided0 = tab["session"]
    tab, place, msg = a.step(tab, place, +1)  # leaving img0 keeps its conversation
    assert place["current"] == "img1" and msg.startswith("Image 2 of 3: img1 (to do)")
    ds = a.dataset(place)
    assert ds.status("img0") == IN_PROGRESS and ds.status("img1") == TODO
    tab = guide(a, tab, [(2, 2, 3)])
    tab, place, msg = a.step(tab, place, -1)
    assert place["current"] == "img0" and tab["session"] == guided0  # back exactly where it was
    with pytest.raises(UserError, match="first image"):
        a.step(tab, place, -1)

    with a.pool.open(tab) as conv:
        labels0 = conv.labels().copy()
    tab, place, msg = a.save_and_next(tab, place)
    assert msg.startswith("Saved img0. 1 / 3 saved.") and place["current"] == "img1"
    assert np.array_equal(ds.labels("img0"), labels0)
    assert ds.statuses() == {"img0": SAVED, "img1": IN_PROGRESS, "img2": TODO}
    items, current, progress = a.strip(place)
    # each image: its status, and the seconds spent on it (one guided click each: 2.4 s)
    assert [c for _, c in items] == ["✓ img0 · 2 s", "✎ img1 · 2 s", "○ img2"]
    assert current == 1 and progress == "1 / 3 saved" and all(Path(p).is_file() for p, _ in items)

    # a single image opened on its own is never saved under the data set's id
    with a.pool.conversation(*a.pool.intern(np.zeros((8, 8, 3), np.uint8))) as conv:
        conv.set_image(conv_image := np.zeros((8, 8, 3), np.uint8), "lone")
        lone = a.pool.tab(conv)
    with pytest.raises(UserError, match="not one of the data set's"):
        a.save(lone, place)
    assert conv_image.shape == (8, 8, 3) and ds.status("img1") == IN_PROGRESS

    # a restart on the same folder: the statuses, and each image's conversation, are back
    b = annotator(tiny_model, tmp_path / "out")
    tab2, place2, msg = b.open_images([tmp_path / "in"], None, None)  # the same folder again adds nothing
    assert msg.startswith("Opened 0 new images, 3 already in the data set")
    assert place2["current"] == "img1" and len(tab2["session"]["turns"]) == 1  # the first image not saved
    tab2, place2, _ = b.go(tab2, place2, "img0")
    assert tab2["session"] == guided0
    with b.pool.open(tab2) as conv:
        assert np.array_equal(conv.labels(), labels0)  # the same labels, recomputed from the conversation
    tab2 = guide(b, tab2, [(1, 1, 1)])
    tab2, place2, _ = b.go(tab2, place2, "img2")
    assert b.dataset(place2).status("img0") == CHANGED  # edited since saved: the files hold the save
    assert np.array_equal(b.dataset(place2).labels("img0"), labels0)


def test_every_image_saved_and_download(tiny_model, tmp_path: Path) -> None:
    write_images(tmp_path / "in", 2)
    a = annotator(tiny_model, None)  # the browser: a data set in a temporary folder per tab
    tab, place, _ = a.open_images([tmp_path / "in" / "img0.png", tmp_path / "in" / "img1.png"], None, None)
    other, other_place, _ = a.open_images([tmp_path / "in" / "img1.png"], None, None)
    assert other_place["dataset"] != place["dataset"] and len(a.dataset(other_place)) == 1
    tab, place, _ = a.save_and_next(tab, place)
    tab, place, msg = a.save_and_next(tab, place)
    assert "Every image is saved" in msg and a.dataset(place).progress() == (2, 2)
    path = a.download(tab, place)
    with zipfile.ZipFile(path) as zf:
        assert {"dataset/SegmentationClass/img0.png", "dataset/SegmentationClass/img1.png", "dataset/coco.json"} <= set(zf.namelist())


def test_no_images_and_other_models_get_messages(tiny_model, tmp_path: Path) -> None:
    a = annotator(tiny_model, None)
    with pytest.raises(UserError, match="Open some images first"):
        a.save(None, None)
    with pytest.raises(UserError, match="No files given"):
        a.open_images([], None, None)
    assert a.strip(None) == ([], None, "")
    AnnotationDataset(tmp_path / "ds", ["a", "b"], [[0, 0, 0], [1, 1, 1]], {"name": "other", "source": "x"})
    with pytest.raises(ModelMismatch, match="other classes"):
        annotator(tiny_model, tmp_path / "ds")


def test_hand_paint_is_a_layer_over_the_guided_prediction(tiny_model) -> None:
    from guide.core.labels import VOID
    from guide.dialogue.conversation import UNTOUCHED, Conversation

    img = np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)
    conv = Conversation(tiny_model, BackpropSettings(max_steps=5))
    conv.set_image(img, "x")
    base = conv.labels().copy()
    mask = np.zeros((40, 48), bool)
    mask[10:20, 5:30] = True
    target = int(np.bincount(base[mask], minlength=4).argmin())  # a class most of the patch is not
    unsure = np.zeros_like(mask)
    unsure[0:3, 0:3] = True
    edits = np.full((40, 48), UNTOUCHED, np.int16)
    edits[mask] = target
    edits[unsure] = VOID
    r = conv.paint(edits)  # two classes in one press: one step
    want = int((base[mask] != target).sum()) + 9
    assert r.text.startswith(f"Set {want:,} px by hand") and int(r.changed.sum()) == want
    painted = conv.labels()
    assert (painted[mask] == target).all() and (painted[unsure] == VOID).all()
    assert np.array_equal(painted[~mask & ~unsure], base[~mask & ~unsure])

    other = (target + 1) % 4
    conv.guide_points([(35, 40, other), (12, 8, other)])  # guiding does not move painted pixels
    assert (conv.labels()[mask] == target).all() and (conv.labels()[unsure] == VOID).all()

    state = conv.get_state()
    again = Conversation(tiny_model, BackpropSettings(max_steps=5))
    again.set_state(state, img)  # a reopened conversation draws the same layer
    assert np.array_equal(again.labels(), conv.labels())

    conv.undo()  # the guide step: the paint stays
    assert (conv.labels()[mask] == target).all()
    conv.undo()  # the paint, whole
    assert np.array_equal(conv.labels(), base)
    with pytest.raises(UserError, match="Nothing painted"):
        conv.paint(np.full((40, 48), UNTOUCHED))
    with pytest.raises(UserError, match="Unknown class 9"):
        conv.paint(np.where(mask, 9, UNTOUCHED))
