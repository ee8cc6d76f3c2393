"""Issue 24: "Teach this model words" in the app. The background job (guide/training/teach.py) on a data set
annotated with the app's own code: refused with a message below the threshold or with other
classes, one job at a time, progress, cancel (nothing changes), and done (the live model reads
typed hints; the folder loads back with its text guide and model card); then the same through
the running app's API (gradio_client)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_CLASSES, launched, make_model_folder
from PIL import Image

from guide.annotation.dataset import AnnotationDataset
from guide.core.labels import VOID
from guide.models.hub import load_model
from guide.training.teach import CANCELLED, DONE, RUNNING, TEACH_LR, Teacher, TeachError

SIZES = [(48, 64), (80, 50), (64, 64), (37, 91), (100, 70), (60, 40), (52, 78), (70, 70), (44, 66), (90, 60)]


def annotate(model, root: Path, n: int, sizes=SIZES, seed: int = 0, ds: AnnotationDataset | None = None) -> AnnotationDataset:
    """A data set written by the app's code: ``n`` images of mixed sizes, each saved with a label map
    (added to ``ds`` when given)."""
    pics = root.parent / f"{root.name}-pics{seed}"
    pics.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i, (h, w) in enumerate(sizes[:n]):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(pics / f"p{seed}-{i:02d}.png")
    ds = ds or AnnotationDataset.for_model(root, model)
    for image_id in ds.add(sorted(pics.glob("*.png"))).added:
        e = ds.entry(image_id)
        h, w = e["height"], e["width"]
        labels = np.zeros((h, w), np.uint8)
        labels[h // 2 :] = 1
        labels[: h // 3, : w // 2] = 2
        labels[h // 3 : h // 2, w // 2 :] = 3
        labels[0] = VOID
        ds.save(image_id, labels, {"test": True})
    return ds


def folder_digest(root: Path) -> str:
    h = hashlib.sha1()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def small_teacher(folder: Path, **kw) -> Teacher:
    return Teacher(folder, **{"min_images": 6, "steps": 3, "batch": 2, "val": 2, "hidden": 16, "threads": 1, **kw})


@pytest.fixture
def model(tmp_path: Path):
    return load_model(make_model_folder(tmp_path / "tiny"), device="cpu")


def test_teacher_refuses_cancels_and_teaches(model, tmp_path: Path) -> None:
    few = annotate(model, tmp_path / "few", 3)
    teacher = small_teacher(tmp_path / "taught")
    with pytest.raises(TeachError, match="Save at least 6"):
        teacher.start(model, few)
    with pytest.raises(TeachError, match="Open images"):
        teacher.start(model, None)
    ds = annotate(model, tmp_path / "ds", len(SIZES))
    before = folder_digest(ds.root)

    # a long job: a second start is refused (one at a time, in the whole server), cancel stops it
    slow = small_teacher(tmp_path / "taught", steps=100000, minutes=5)
    assert slow.start(model, ds).state == RUNNING
    with pytest.raises(TeachError, match="already running"):
        small_teacher(tmp_path / "other").start(model, ds)
    deadline = time.time() + 120
    while (slow.status().phase != "train" or slow.status().done < 1) and time.time() < deadline:
        time.sleep(0.05)
    status = slow.status()
    assert status.phase == "train" and status.total == 100000 and status.eta_s is not None
    assert "training" in status.text() and "left" in status.text()
    slow.cancel()
    assert slow.wait(60).state == CANCELLED
    assert model.text_guide is None and folder_digest(ds.root) == before  # nothing changed
    assert not [p for p in (tmp_path / "taught").iterdir() if not p.name.startswith(".")]  # no model folder

    # a data set with a broken label file fails with a message; the model and the data set stay
    broken = annotate(model, tmp_path / "broken", len(SIZES))
    first = (broken.root / "ImageSets" / "Segmentation" / "train.txt").read_text().split()[0]
    (broken.root / "SegmentationClass" / f"{first}.png").write_bytes(b"not a png")
    broken_before = folder_digest(broken.root)
    status = teacher.start(model, broken)
    status = teacher.wait(120)
    assert status.state == "failed" and "Nothing changed" in status.message
    assert model.text_guide is None and folder_digest(broken.root) == broken_before

    # the real thing
    teacher.start(model, ds)
    status = teacher.wait(300)
    assert status.state == DONE, status.message
    assert model.text_guide is not None  # the live model reads words now
    out = Path(status.out)
    again = load_model(out, device="cpu")  # what `python app.py --model FOLDER` finds
    assert again.text_guide is not None and again.config.text_guide["trained"]["steps"] == 3
    assert again.config.text_guide["trained"]["lr"] == TEACH_LR  # the app's rate, chosen on val (guide/training/teach.py)
    card = (out / "README.md").read_text()
    assert str(ds.root) in card and "train-guide" in card and "| val split of the data set" in card
    assert folder_digest(ds.root) == before
    with pytest.raises(TeachError, match="already reads"):
        teacher.start(model, ds)
    from guide.dialogue.conversation import Conversation

    conv = Conversation(model)
    conv.set_image(np.random.default_rng(1).integers(0, 255, (40, 90, 3), dtype=np.uint8))
    reply = conv.say(f"find the {TINY_CLASSES[2]} on the top left")
    assert "no text guide" not in reply.text.lower()


gradio_client = pytest.importorskip("gradio_client")


def test_teach_through_the_app_api(tmp_path: Path) -> None:
    from gradio_client import Client

    import app
    from guide.core.backprop import BackpropSettings

    model = load_model(make_model_folder(tmp_path / "tiny"), device="cpu")
    ds = annotate(model, tmp_path / "ds", 4)  # below the threshold at first
    demo = app.build_demo(model, BackpropSettings(optimizer="lbfgs", max_steps=3), examples=[], out=str(ds.root))
    panel = demo.guide_app.teach  # type: ignore[attr-defined]
    panel.teacher = small_teacher(tmp_path / "taught")
    with launched(demo) as url:
        c = Client(url, verbose=False)
        before = folder_digest(ds.root)
        line = c.predict(api_name="/teach_start")[0]
        assert "Save at least 6" in line and "4 saved" in line  # refused with a message, nothing started
        assert not panel.teacher.running() and folder_digest(ds.root) == before
        assert "Save at least 6" in c.predict(api_name="/teach_progress")[0]
        # more images saved: offered
        annotate(model, ds.root, len(SIZES), seed=1, ds=ds)
        assert "press **Teach this model words**" in c.predict(api_name="/teach_progress")[0]
        line = c.predict(api_name="/teach_start")[0]
        assert line.startswith("Teaching this model words")
        deadline = time.time() + 300
        while panel.teacher.running() and time.time() < deadline:
            line = c.predict(api_name="/teach_progress")[0]
            time.sleep(0.2)
        line = c.predict(api_name="/teach_progress")[0]
        assert line.startswith("Done: this model reads typed hints now"), line
        assert model.text_guide is not None and "`--model " in line
        assert "already reads typed hints" in c.predict(api_name="/teach_start")[0]
        # cancel with nothing running: a message, nothing changes
        assert c.predict(api_name="/teach_cancel")[0].startswith("Done")


def test_a_teaching_job_belongs_to_the_tab_that_started_it(tmp_path: Path) -> None:
    """On a public server (no --out) the job is the starting tab's: another tab sees only that the server
    is busy (nothing of the job or its data set), cannot cancel it, and its own start is refused; the
    owner sees the progress and cancels it."""
    from gradio_client import Client, handle_file

    import app
    from guide.core.backprop import BackpropSettings
    from guide.ui.teach import BUSY

    model = load_model(make_model_folder(tmp_path / "tiny"), device="cpu")
    source = annotate(model, tmp_path / "src", len(SIZES))  # a data set zip, as a tab downloads it, to resume
    z = source.zip(tmp_path / "zips")
    demo = app.build_demo(model, BackpropSettings(optimizer="lbfgs", max_steps=3), examples=[])
    panel = demo.guide_app.teach  # type: ignore[attr-defined]
    panel.teacher = small_teacher(tmp_path / "taught", steps=100000, minutes=5)
    with launched(demo) as url:
        a, b = Client(url, verbose=False), Client(url, verbose=False)
        for tab in (a, b):  # each tab its own data set of 10 saved images: each could teach
            assert tab.predict([handle_file(str(z))], api_name="/open_images")[3].startswith("Opened 10 new images, 10 with saved labels")
            assert "press **Teach this model words**" in tab.predict(api_name="/teach_progress")[0]
        assert a.predict(api_name="/teach_start")[0].startswith("Teaching this model words")
        deadline = time.time() + 120
        while "training" not in (line := a.predict(api_name="/teach_progress")[0]) and time.time() < deadline:
            time.sleep(0.2)
        assert line.startswith("Teaching this model words: training") and "/100000" in line, line
        # the other tab: busy, no details; its cancel stops nothing, its start is refused
        assert b.predict(api_name="/teach_progress")[0] == BUSY
        assert b.predict(api_name="/teach_cancel")[0] == BUSY
        assert b.predict(api_name="/teach_start")[0] == BUSY
        fresh = Client(url, verbose=False)  # a stranger with no data set at all
        assert fresh.predict(api_name="/teach_cancel")[0] == BUSY and fresh.predict(api_name="/teach_progress")[0] == BUSY
        status = panel.teacher.status()
        assert status.state == RUNNING and status.message != "Cancelling …" and panel.teacher.running()
        assert a.predict(api_name="/teach_progress")[0].startswith("Teaching this model words: training")
        # the owner cancels it
        a.predict(api_name="/teach_cancel")
        assert panel.teacher.wait(60).state == CANCELLED
        assert a.predict(api_name="/teach_progress")[0].startswith("Cancelled: the model and the data set are as they were")
        line = b.predict(api_name="/teach_progress")[0]  # how the other tab's job ended is not shown; b may teach now
        assert "press **Teach this model words**" in line and "Cancelled" not in line, line
        assert model.text_guide is None
