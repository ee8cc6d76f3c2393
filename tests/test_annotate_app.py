"""Annotating a data set through the running app's API (gradio_client): open several images
(files and a zip), guide, fix by hand, save, move on, restart the app on the same folder
and continue; the result loads with pycocotools, decodes to the saved PNGs exactly, and
reads with the project's VOC reader."""

from __future__ import annotations

import json
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

import app  # noqa: E402
from guide.annotation.dataset import coco_to_labels  # noqa: E402
from guide.core.backprop import BackpropSettings  # noqa: E402
from guide.core.labels import VOID  # noqa: E402
from guide.data.voc import VOCSegmentation  # noqa: E402

STATUS, STRIP, PROGRESS = 3, 6, 7  # outputs: overlay, chat, legend, status, editor, photo, strip, progress


def serve(model, out: Path):
    demo = app.build_demo(model, BackpropSettings(optimizer="lbfgs", max_steps=5), examples=[], out=str(out))
    demo.queue(default_concurrency_limit=2, max_size=16)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
    return Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=True), demo


def photos(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(3):
        rng = np.random.default_rng(i)
        img = rng.integers(0, 255, (48 + 8 * i, 64, 3), dtype=np.uint8)
        img[:16] = [120, 180, 240]
        paths.append(folder / f"street {i}.png")
        Image.fromarray(img).save(paths[-1])
    with zipfile.ZipFile(folder / "more.zip", "w") as zf:
        zf.write(paths[2], "trip/street 2.png")
        zf.writestr("trip/readme.txt", "notes")
    return paths


def hand_layer(tmp_path: Path, colour, box) -> dict:
    """An editor payload with one painted rectangle (at the editor's display size, 512 px)."""
    layer = np.zeros((512, 512, 4), np.uint8)
    y0, x0, y1, x1 = box
    layer[y0:y1, x0:x1] = [*colour, 255]
    bg, lp = tmp_path / "bg.png", tmp_path / f"layer{y0}.png"
    Image.fromarray(np.zeros((512, 512, 3), np.uint8)).save(bg)
    Image.fromarray(layer).save(lp)
    return {"background": handle_file(str(bg)), "layers": [handle_file(str(lp))], "composite": None}


def shown_labels(c: Client) -> np.ndarray:
    files = c.predict(api_name="/export")
    return np.array(Image.open(next(f for f in files if str(f).endswith(".png"))))


def chat_text(result) -> str:
    return " ".join(str(m["content"]) for m in result[1])


@pytest.mark.slow  # a server and a whole batch (the fast tier, -m "not slow", leaves it out)
def test_scripted_batch_session(app_model_dir: Path, tmp_path: Path) -> None:
    from guide.models.hub import load_model

    model = load_model(app_model_dir, device="cpu")
    palette = model.config.palette
    paths = photos(tmp_path / "in")
    out = tmp_path / "DATASET"
    c, demo = serve(model, out)
    try:
        api = c.view_api(print_info=False, return_format="dict")["named_endpoints"]
        for name in ("/open_images", "/save", "/save_next", "/next", "/previous", "/download_dataset", "/paint", "/go_to"):
            assert name in api, name
        c.predict("unsure (void)", api_name="/brush_class")  # the brush list ends with "unsure"
        r = c.predict([handle_file(str(p)) for p in paths[:2]] + [handle_file(str(tmp_path / "in" / "more.zip"))],
                      api_name="/open_images")
        assert r[STATUS].startswith("Opened 3 new images, 1 problem.") and "readme.txt: skipped, not an image" in r[STATUS]
        assert r[PROGRESS] == "0 / 3 saved" and len(r[STRIP]) == 3

        c.predict('[[40, 10, "coat"], [45, 50, "sand"]]', api_name="/guide_points")
        r = c.predict(hand_layer(tmp_path, palette[12], (0, 0, 64, 64)), api_name="/paint")  # "shirt", top left
        assert r[STATUS].startswith("Set ") and "shirt" in r[STATUS]
        r = c.predict(hand_layer(tmp_path, demo.guide_app.annotate.unsure, (448, 448, 512, 512)), api_name="/paint")  # unsure
        first = shown_labels(c)
        assert (first[:6, :6] == 12).all() and (first[-5:, -5:] == VOID).all()
        r = c.predict(api_name="/save_next")
        assert r[STATUS].startswith("Saved street_0. 1 / 3 saved. Image 2 of 3: street_1") and r[PROGRESS] == "1 / 3 saved"

        c.predict('[[5, 5, "sky"]]', api_name="/guide_points")
        second_chat = chat_text(c.predict(api_name="/previous"))  # leaving street_1 keeps its conversation
        r = c.predict(api_name="/next")
        assert "(marked) sky" in chat_text(r) and "Image 2 of 3" in r[STATUS]
        assert "(set by hand) shirt" in second_chat  # street_0's conversation came back on Previous
    finally:
        demo.close()

    # restart on the same folder: continue where the work stopped
    c, demo = serve(model, out)
    try:
        r = c.predict(api_name="/next")  # a fresh client starts at the first image
        assert "street_0 (saved)" in r[STATUS] and "(set by hand) shirt" in chat_text(r)
        assert np.array_equal(shown_labels(c), first)  # the reopened conversation gives the saved labels
        r = c.predict(api_name="/next")
        assert "(marked) sky" in chat_text(r)  # street_1 was kept, unsaved
        r = c.predict(api_name="/save_next")
        assert "2 / 3 saved" in r[STATUS] and "street_2" in r[STATUS]
        c.predict('[[60, 30, "grass"]]', api_name="/guide_points")
        third = shown_labels(c)
        r = c.predict(api_name="/save")
        assert r[PROGRESS] == "3 / 3 saved"
        zipped = c.predict(api_name="/download_dataset")
    finally:
        demo.close()

    # what was written: COCO, the PNGs, the VOC reader; the zip holds the same
    from pycocotools.coco import COCO

    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(tmp_path / "unzipped")
    for root in (out, tmp_path / "unzipped" / "DATASET"):
        coco = COCO(str(root / "coco.json"))
        assert sorted(im["file_name"] for im in coco.dataset["images"]) == ["street_0.jpg", "street_1.jpg", "street_2.jpg"]
        for im in coco.dataset["images"]:
            png = np.array(Image.open(root / "SegmentationClass" / im["file_name"].replace(".jpg", ".png")))
            assert np.array_equal(coco_to_labels(coco, im["id"]), png)
        voc = VOCSegmentation(str(root), "trainval")
        assert voc.ids == ["street_0", "street_1", "street_2"] and voc.classes == list(model.classes)
        assert np.array_equal(voc[0][1], first) and np.array_equal(voc[2][1], third)
        assert voc[0][0].shape == (48, 64, 3)
        record = json.loads((root / "conversations" / "street_0.json").read_text())
        assert any(s["kind"] == "paint" for s in record["saved"]["state"]["steps"])


def test_command_line_images_out_and_mismatch(app_model_dir: Path, tmp_path: Path, capsys) -> None:
    from guide.annotation.dataset import AnnotationDataset

    with pytest.raises(SystemExit):
        app.main(["--images", str(tmp_path)])
    assert "--images needs --out DATASET" in capsys.readouterr().err
    AnnotationDataset(tmp_path / "theirs", ["cat", "dog"], [[1, 1, 1], [2, 2, 2]], {"name": "pets", "source": "hub"})
    before = {p: p.read_bytes() for p in (tmp_path / "theirs").rglob("*") if p.is_file()}
    with pytest.raises(SystemExit) as e:
        app.main(["--model", str(app_model_dir), "--out", str(tmp_path / "theirs"), "--images", str(tmp_path)])
    assert str(e.value).startswith("Could not open the data set: ") and "other classes" in str(e.value)
    assert {p: p.read_bytes() for p in (tmp_path / "theirs").rglob("*") if p.is_file()} == before  # nothing touched



def test_images_that_open_nothing_stop_the_start_before_anything_is_made(tmp_path: Path, monkeypatch, capsys) -> None:
    """A typo in --images (or a folder without images) is an argument error (exit 2) naming the path: no
    model loads, no --out folder is made. Some paths missing and others holding images still start."""
    import guide.ui.cli as cli

    def no_model(*a, **k):
        raise AssertionError("the model loaded before --images was checked")

    monkeypatch.setattr(cli, "load_model", no_model)
    out = tmp_path / "ds2"
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "notes.txt").write_text("not an image")
    for images, words in ([[str(tmp_path / "nope")], f"--images: no such file or folder: {tmp_path / 'nope'}"],
                          [[str(tmp_path / "nope"), str(tmp_path / "nope2")], f"{tmp_path / 'nope'}, {tmp_path / 'nope2'}"],
                          [[str(texts)], f"--images: no image found in {texts} (notes.txt: skipped, not an image.)"]):
        with pytest.raises(SystemExit) as e:
            app.main(["--images", *images, "--out", str(out)])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err
        assert not out.exists()
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    assert cli.images_problem([str(tmp_path / "nope"), str(photo)], str(out)) is None  # the partial case: "skipped" lines
    assert cli.images_problem([str(photo)], None) is None


def test_images_that_all_fail_to_decode_leave_no_data_set_behind(app_model_dir: Path, tmp_path: Path, monkeypatch,
                                                                 capsys) -> None:
    """An image whose header reads but whose pixels do not (a cut-short PNG) passes the header check; when
    no image at all could be opened, the start stops (exit 2) and the --out folder it made is removed."""
    import io

    import guide.ui.cli as cli

    def no_server() -> None:
        raise AssertionError("the server started on a data set without images")

    monkeypatch.setattr(cli, "patient_startup_probe", no_server)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, format="PNG")
    cut = tmp_path / "cut.png"
    cut.write_bytes(buf.getvalue()[:100])  # the header and the start of the pixels
    out = tmp_path / "ds3"
    assert cli.images_problem([str(cut)], str(out)) is None  # headers only: it looks like an image
    with pytest.raises(SystemExit) as e:
        app.main(["--model", str(app_model_dir), "--images", str(cut), "--out", str(out)])
    assert e.value.code == 2
    captured = capsys.readouterr()
    assert "cut.png: skipped" in captured.out
    assert f"error: --images: no image could be opened from {cut}; {out} was not kept" in captured.err
    assert not out.exists()


@pytest.mark.slow  # a server and a whole batch (the fast tier, -m "not slow", leaves it out)
def test_readme_batch_snippet_runs_as_written(app_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """README's "Annotating a batch from a script" against a server on a fresh data set."""
    import re

    from guide.models.hub import load_model

    root = Path(__file__).resolve().parent.parent
    text = (root / "README.md").read_text()
    heading = "\n### Annotating a batch from a script\n"
    assert heading in text, "README lost its batch section"
    code = re.compile(r"^```python\n(.*?)^```", re.S | re.M).search(text, text.index(heading)).group(1)
    assert code.count("http://127.0.0.1:7860/") == 1
    c, demo = serve(load_model(app_model_dir, device="cpu"), tmp_path / "my_dataset")
    try:
        monkeypatch.chdir(root)  # README's paths are relative to the repository
        ns: dict = {"__name__": "readme-batch"}
        exec(compile(code.replace("http://127.0.0.1:7860/", demo.local_url), "README.md (batch)", "exec"), ns)
    finally:
        demo.close()
    assert "Every image is saved" in ns["status"]
    with zipfile.ZipFile(ns["dataset_zip"]) as zf:
        assert {f"my_dataset/SegmentationClass/scene_{i:02d}.png" for i in range(3)} <= set(zf.namelist())
