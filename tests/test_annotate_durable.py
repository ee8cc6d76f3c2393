"""Durable work for annotators on a public server (issue 20), through the running app's API:
a reload with the same browser key gets the work back, a data set outlives 64+ other tabs,
a tab's state outlives Gradio's session capacity, a downloaded zip (or a VOC zip) resumes,
a second server on one --out folder is refused, a crash while opening leaves no orphan
image, and pushing to the Hub without signing in is refused with a message."""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

import app  # noqa: E402
from guide.annotation.hubpush import SIGN_IN  # noqa: E402
from guide.core.backprop import BackpropSettings  # noqa: E402
from guide.dialogue.conversation import NO_IMAGE  # noqa: E402

# /open_images, /save, /next ... outputs as a client sees them (States are not sent):
STATUS, STRIP, PROGRESS = 3, 6, 7  # overlay, chat, legend, status, editor, photo, strip, progress
R_STATUS, R_STRIP, R_PROGRESS = 4, 7, 8  # /restore: the browser key first
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model(app_model_dir):
    from guide.models.hub import load_model

    return load_model(app_model_dir, device="cpu")


def serve(model, out: Path | None = None, max_tabs: int = app.MAX_TABS):
    demo = app.build_demo(model, BackpropSettings(optimizer="lbfgs", max_steps=3), examples=[], out=str(out) if out else None)
    demo.queue(default_concurrency_limit=2, max_size=64)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.launch_kwargs(max_tabs))
    return demo


def client(demo) -> Client:
    return Client(demo.local_url, verbose=False, download_files=True)


def photos(folder: Path, n: int = 3, prefix: str = "street") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = np.random.default_rng(i).integers(0, 255, (40 + 4 * i, 48, 3), dtype=np.uint8)
        img[:12] = [120, 180, 240]
        paths.append(folder / f"{prefix} {i}.png")
        Image.fromarray(img).save(paths[-1])
    return paths


def chat_text(result, index: int = 1) -> str:
    return " ".join(str(m["content"]) for m in result[index])


def captions(strip) -> list[str]:
    items = strip["value"] if isinstance(strip, dict) else strip  # a gr.Gallery update (value and selected index)
    return [item[1] if isinstance(item, (list, tuple)) else item["caption"] for item in items]


def shown_labels(c: Client) -> np.ndarray:
    files = c.predict(api_name="/export")
    return np.array(Image.open(next(f for f in files if str(f).endswith(".png"))))


@pytest.mark.slow  # a server and several tabs (the fast tier, -m "not slow", leaves it out)
def test_reload_with_the_browser_key_gets_the_work_back(model, tmp_path: Path) -> None:
    paths = photos(tmp_path / "in")
    demo = serve(model)
    try:
        first = client(demo)
        key = first.predict(None, api_name="/restore")[0]  # a page with no key yet gets one
        assert isinstance(key, str) and len(key) == 32
        first.predict([handle_file(str(p)) for p in paths], api_name="/open_images")
        first.predict(api_name="/save_next")  # street_0 saved
        first.predict('[[5, 5, "sky"]]', api_name="/guide_points")  # street_1: a turn, never kept by a move
        before = shown_labels(first)

        again = client(demo)  # the reload: a new session, the same browser key
        r = again.predict(key, api_name="/restore")
        assert r[0] == key and r[R_STATUS].startswith("Welcome back") and r[R_PROGRESS] == "1 / 3 saved"
        assert "(marked) sky" in chat_text(r, 2)  # the unsaved turn came back with the image in view
        assert np.array_equal(shown_labels(again), before)
        r = again.predict(api_name="/save")
        assert r[PROGRESS] == "2 / 3 saved"  # the restored tab works on the same data set

        stranger = client(demo)  # another browser's key (or a made-up one) reaches nothing
        r = stranger.predict(secrets.token_urlsafe(24), api_name="/restore")
        assert r[0] != key
        r = stranger.predict(api_name="/save")
        assert r[STATUS].startswith("Open some images first")
        r = stranger.predict("../../etc", api_name="/restore")  # not a key: a new one, nothing restored
        assert len(r[0]) == 32 and r[0] != "../../etc"
    finally:
        demo.close()


@pytest.mark.slow  # many tabs (the fast tier, -m "not slow", leaves it out)
def test_a_data_set_and_a_conversation_outlive_other_tabs(model, tmp_path: Path) -> None:
    """66 other tabs open batches (the old limit kept 64 data sets) with Gradio keeping 8
    sessions in memory: the first tab's data set and its conversation are still there."""
    paths = photos(tmp_path / "in")
    one = photos(tmp_path / "other", 1, "other")[0]
    demo = serve(model, max_tabs=8)
    try:
        c = client(demo)
        c.predict([handle_file(str(p)) for p in paths], api_name="/open_images")
        c.predict(api_name="/save_next")
        c.predict('[[6, 6, "sky"]]', api_name="/guide_points")
        lone = client(demo)  # a single image, no data set
        lone.predict(handle_file(str(paths[2])), api_name="/set_image")
        lone.predict('[[7, 7, "grass"]]', api_name="/guide_points")
        assert lone.predict(api_name="/view")[3] == "1 turn so far."

        other = client(demo)
        for _ in range(66):
            other.reset_session()  # a new tab
            r = other.predict([handle_file(str(one))], api_name="/open_images")
            assert r[PROGRESS] == "0 / 1 saved"
        stored = [p for p in (Path(os.environ["GUIDE_STORE"]) / "datasets").iterdir()]
        assert len(stored) == 67  # no data set was removed to make room

        r = c.predict(api_name="/view")  # the session was pushed out of memory and came back
        assert r[3] == "1 turn so far."
        r = c.predict(api_name="/save_next")
        assert r[PROGRESS] == "2 / 3 saved" and "street_2" in r[STATUS]
        assert lone.predict(api_name="/view")[3] == "1 turn so far."  # not NO_IMAGE
        assert client(demo).predict(api_name="/view")[3] == NO_IMAGE  # (what a tab with nothing gets)
    finally:
        demo.close()


@pytest.mark.slow  # a server and several tabs (the fast tier, -m "not slow", leaves it out)
def test_a_downloaded_zip_resumes_labels_conversations_and_progress(model, tmp_path: Path) -> None:
    paths = photos(tmp_path / "in")
    demo = serve(model)
    try:
        c = client(demo)
        c.predict([handle_file(str(p)) for p in paths], api_name="/open_images")
        c.predict('[[30, 5, "coat"]]', api_name="/guide_points")
        saved0 = shown_labels(c)
        c.predict(api_name="/save_next")  # street_0 saved
        c.predict('[[5, 5, "sky"]]', api_name="/guide_points")
        c.predict(api_name="/next")  # street_1 kept in progress
        zipped = c.predict(api_name="/download_dataset")

        fresh = client(demo)  # another day, another tab: the zip as downloaded
        r = fresh.predict([handle_file(zipped)], api_name="/open_images")
        assert r[STATUS].startswith("Opened 3 new images, 1 with saved labels") and r[PROGRESS] == "1 / 3 saved"
        # each with the time spent on it (one marked point: a click, 2.4 s), from the zip's conversations
        assert captions(r[STRIP]) == ["✓ street_0 · 2 s", "✎ street_1 · 2 s", "○ street_2"]
        r = fresh.predict("street_0", api_name="/go_to")
        assert "street_0 (saved)" in r[STATUS] and np.array_equal(shown_labels(fresh), saved0)
        r = fresh.predict("street_1", api_name="/go_to")
        assert "(marked) sky" in chat_text(r) and "in progress" in r[STATUS]
        r = fresh.predict([handle_file(zipped)], api_name="/open_images")  # the same zip again adds nothing
        assert "Opened 0 new images, 3 already in the data set" in r[STATUS]
    finally:
        demo.close()


def test_a_voc_zip_resumes_its_labels(model, tmp_path: Path) -> None:
    paths = photos(tmp_path / "in", 2)
    labels = []
    z = tmp_path / "voc.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for i, p in enumerate(paths):
            img = np.array(Image.open(p))
            lab = np.full(img.shape[:2], i, np.uint8)
            lab[:3, :3] = 255
            labels.append(lab)
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, "JPEG", quality=98)
            zf.writestr(f"VOC/JPEGImages/{p.stem.replace(' ', '_')}.jpg", buf.getvalue())
            buf = io.BytesIO()
            Image.fromarray(lab, "L").save(buf, "PNG")
            zf.writestr(f"VOC/SegmentationClass/{p.stem.replace(' ', '_')}.png", buf.getvalue())
    demo = serve(model)
    try:
        c = client(demo)
        r = c.predict([handle_file(str(z))], api_name="/open_images")
        assert r[STATUS].startswith("Opened 2 new images, 2 with saved labels") and r[PROGRESS] == "2 / 2 saved"
        for i in range(2):
            r = c.predict(f"street_{i}", api_name="/go_to")
            assert "(saved)" in r[STATUS] and "(set by hand)" in chat_text(r)
            assert np.array_equal(shown_labels(c), labels[i])  # shown as saved, not as the network predicts
    finally:
        demo.close()


def test_the_strip_mark_follows_a_hand_fix_at_once(model, tmp_path: Path) -> None:
    paths = photos(tmp_path / "in", 2)
    demo = serve(model)
    try:
        c = client(demo)
        c.predict([handle_file(str(p)) for p in paths], api_name="/open_images")
        r = c.predict(api_name="/save")
        assert captions(r[STRIP]) == ["✓ street_0", "○ street_1"]
        layer = np.zeros((512, 512, 4), np.uint8)
        layer[:64, :64] = [*model.config.palette[1], 255]
        Image.fromarray(layer).save(tmp_path / "layer.png")
        Image.fromarray(np.zeros((512, 512, 3), np.uint8)).save(tmp_path / "bg.png")
        c.predict({"background": handle_file(str(tmp_path / "bg.png")), "layers": [handle_file(str(tmp_path / "layer.png"))],
                   "composite": None}, api_name="/paint")
        strip, progress = c.predict(api_name="/strip_now")  # the strip as it is now
        assert captions(strip) == ["✓✎ street_0 · 2 s", "○ street_1"] and progress == "1 / 2 saved"  # one class set by hand: a brush start
        strip, progress = c.predict(0.55, api_name="/after_strokes")[3:]  # what the page runs right after Set by hand
        assert captions(strip) == ["✓✎ street_0 · 2 s", "○ street_1"] and progress == "1 / 2 saved"
    finally:
        demo.close()


@pytest.mark.slow  # subprocesses holding the out folder (the fast tier, -m "not slow", leaves it out)
def test_a_second_server_on_one_out_folder_is_refused(app_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "DATASET"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]); "
                               "from guide.annotation.dataset import lock_folder; lock_folder(sys.argv[2]); print('locked', flush=True); time.sleep(120)",
                               str(ROOT), str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(SystemExit) as e:
            app.demo_from_args(["--model", str(app_model_dir), "--out", str(out)])
        assert "being written by another Guide Me server" in str(e.value)
        assert not any(out.iterdir())  # nothing written into it
    finally:
        holder.kill()
        holder.wait()
    demo, _ = app.demo_from_args(["--model", str(app_model_dir), "--out", str(out)])  # free again
    assert (out / "dataset.json").is_file()


@pytest.mark.slow  # a Python subprocess that crashes (the fast tier, -m "not slow", leaves it out)
def test_a_crash_while_opening_leaves_no_orphan_image(app_model_dir: Path, model, tmp_path: Path) -> None:
    """kill -9 in the middle of a 100-image open: at the next start the data set holds exactly
    the images its manifest names, nothing is left in staging, and the app works on it."""
    folder = tmp_path / "in"
    photos(folder, 100, "p")
    out = tmp_path / "DATASET"
    code = ("import os, signal, sys; sys.path.insert(0, sys.argv[1]); from guide.annotation.dataset import AnnotationDataset; "
            "from guide.models.hub import load_model; ds = AnnotationDataset.for_model(sys.argv[2], load_model(sys.argv[4], device='cpu')); "
            "ds.add([sys.argv[3]], lambda done, total: done == 70 and os.kill(os.getpid(), signal.SIGKILL))")
    run = subprocess.run([sys.executable, "-c", code, str(ROOT), str(out), str(folder), str(app_model_dir)])
    assert run.returncode == -signal.SIGKILL
    assert any((out / ".staging").glob("*.jpg"))  # the crash left staged images behind

    demo = serve(model, out)
    try:
        r = client(demo).predict(api_name="/next")
        manifest = json.loads((out / "dataset.json").read_text())
        ids = [e["id"] for e in manifest["images"]]
        assert sorted(p.stem for p in (out / "JPEGImages").glob("*.jpg")) == sorted(ids)
        assert len(ids) == 64 and not (out / ".staging").exists()  # two commits of 32 made it; the rest is gone
        assert f"Image 1 of {len(ids)}" in r[STATUS]
    finally:
        demo.close()


def test_leftovers_of_an_earlier_run_are_removed_at_start(model, tmp_path: Path) -> None:
    store = Path(os.environ["GUIDE_STORE"])
    demo = serve(model)
    try:
        c = client(demo)
        c.predict([handle_file(str(p)) for p in photos(tmp_path / "in", 1)], api_name="/open_images")
        c.predict(api_name="/download_dataset")
    finally:
        demo.close()
    (store / "staging" / "unpack-x").mkdir(parents=True)
    (store / "staging" / "unpack-x" / "photo.jpg").write_bytes(b"x")
    [(name, kept)] = [(p.name, p) for p in (store / "datasets").iterdir()]
    old = store / "datasets" / ("o" * 24)  # a data set abandoned long ago (no activity record)
    (old / "dataset" / "JPEGImages").mkdir(parents=True)
    (old / "dataset" / "JPEGImages" / "x.jpg").write_bytes(b"x")
    os.utime(old, (0, 0))
    assert (store / "cache" / "zips").is_dir()
    demo = serve(model)  # the next start
    try:
        assert not (store / "staging").exists() and not (store / "cache" / "zips").exists() and not old.exists()
        assert kept.is_dir()  # a data set in use stays (its owner can reload and find it)
    finally:
        demo.close()


def test_pushing_to_the_hub_needs_a_sign_in_and_the_layout_loads_with_datasets(model, tmp_path: Path) -> None:
    demo = serve(model)
    try:
        c = client(demo)
        assert c.predict("mine", api_name="/push_dataset") == SIGN_IN  # no data set, no token: sign in first
        c.predict([handle_file(str(p)) for p in photos(tmp_path / "in")], api_name="/open_images")
        c.predict(api_name="/save_next")
        c.predict(api_name="/save_next")
        assert c.predict("mine", api_name="/push_dataset") == SIGN_IN  # nothing pushed without a token
        zipped = c.predict(api_name="/download_dataset")
    finally:
        demo.close()
    datasets = pytest.importorskip("datasets")
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(tmp_path / "unzipped")
    [root] = list((tmp_path / "unzipped").iterdir())
    rows = datasets.load_dataset(str(root), split="train", cache_dir=str(tmp_path / "hf-cache"))  # as from the Hub: the card says which files
    assert sorted(rows["id"]) == ["street_0", "street_1"] and set(rows["split"]) <= {"train", "val"}
    for row in rows:
        assert np.array_equal(np.array(row["label"]), np.array(Image.open(root / "SegmentationClass" / f"{row['id']}.png")))
        assert row["image"].size == row["label"].size
    assert "2 labelled images" in (root / "README.md").read_text()


# --------------------------------------------------------------------------- small things of issue 20


def test_zips_open_sorted_and_label_maps_are_not_images(tmp_path: Path) -> None:
    from guide.annotation.intake import collect

    png = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png, "PNG")
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as zf:
        for name in ("z/c.png", "a.png", "z/b.png", "scene_00.png", "scene_00_label.png", "VOC/SegmentationClass/x.png"):
            zf.writestr(name, png.getvalue())
    assert [im.id for im in collect([tmp_path / "b.zip"]).images] == ["a", "scene_00", "b", "c"]  # as a folder opens
    batch = collect([ROOT / "examples"])
    assert batch.images and not [im for im in batch.images if im.name.endswith("_label.png")]
    assert len(batch.images) == len(list((ROOT / "examples").glob("scene_??.png")))


def test_a_hand_fix_that_changes_nothing_does_not_say_0_px(tiny_model) -> None:
    from guide.dialogue.conversation import UNTOUCHED, Conversation

    conv = Conversation(tiny_model, BackpropSettings(max_steps=3))
    conv.set_image(np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8), "x")
    shown = conv.labels()
    edits = np.full(shown.shape, UNTOUCHED, np.int16)
    edits[:10, :10] = shown[:10, :10]  # exactly what is shown already
    reply = conv.paint(edits).text
    assert "Set 0 px" not in reply and reply.startswith("Those 100 px already showed")
    assert conv.transcript[-2]["content"].startswith("(set by hand)")


def test_the_strip_is_a_window_around_the_image_in_view(tiny_model, tmp_path: Path) -> None:
    from guide.annotation.annotator import STRIP_WINDOW, Annotator
    from guide.serving.pool import ConversationPool

    photos(tmp_path / "in", 25, "p")
    a = Annotator(tiny_model, ConversationPool(tiny_model, BackpropSettings(max_steps=3)))
    tab, place, _ = a.open_images([tmp_path / "in"], None, None)
    tab, place, _ = a.go(tab, place, "p_20")
    items, current, progress = a.strip(place, tab)
    k = a.dataset(place).index("p_20")  # folder order: p_0, p_1, p_10, ...
    assert len(items) == STRIP_WINDOW and items[current][1] == f"○ {k + 1}. p_20" and progress == "0 / 25 saved"
    assert items[0][1].startswith(f"○ {k + 1 - STRIP_WINDOW // 2}. ")
    tab, place, msg = a.go_index(tab, place, 0)  # a click on the window's first thumbnail
    assert place["current"] == items[0][1].split(". ")[1] and msg.startswith(f"Image {items[0][1].split()[1][:-1]} of 25")


def test_the_out_panel_says_the_folder_is_shared(model, tmp_path: Path) -> None:
    shared = app.build_demo(model, examples=[], out=str(tmp_path / "DATASET"))
    alone = app.build_demo(model, examples=[])
    ids = lambda demo: {b.elem_id for b in demo.blocks.values()}  # noqa: E731
    assert "gm-shared-out" in ids(shared) and "gm-shared-out" not in ids(alone) and "gm-keep-note" in ids(alone)


@pytest.mark.slow  # a server and several tabs (the fast tier, -m "not slow", leaves it out)
def test_with_out_a_reload_gets_the_unsaved_turns_back_and_a_new_tab_resumes(model, tmp_path: Path) -> None:
    out = tmp_path / "DATASET"
    demo = serve(model, out)
    try:
        c = client(demo)
        key = c.predict(None, api_name="/restore")[0]  # nothing to restore: where the work stopped (empty here)
        c.predict([handle_file(str(p)) for p in photos(tmp_path / "in")], api_name="/open_images")
        c.predict(api_name="/save_next")
        c.predict('[[5, 5, "sky"]]', api_name="/guide_points")  # street_1, not kept by any move
        r = client(demo).predict(key, api_name="/restore")
        assert r[R_STATUS].startswith("Welcome back") and "(marked) sky" in chat_text(r, 2)
        r = client(demo).predict(None, api_name="/restore")  # another person: the first image not saved
        assert "Image 2 of 3: street_1" in r[R_STATUS] and "(marked) sky" not in chat_text(r, 2)
        r = client(demo).predict(api_name="/resume")  # the API event of old
        assert "Image 2 of 3: street_1" in r[STATUS]
    finally:
        demo.close()


def test_opens_have_a_queue_lane_of_their_own(model) -> None:
    """A long open never holds up other tabs' turns and saves: the open event is in its own
    concurrency group (experiments/annotate_scale.py --during-open times it)."""
    from guide.ui import annotate as annotate_ui

    demo = app.build_demo(model, examples=[])
    by_name = {fn.api_name: fn for fn in demo.fns.values()}
    opening = by_name["open_images"]
    assert opening.concurrency_id == annotate_ui.OPEN_LANE and opening.concurrency_limit == annotate_ui.OPEN_CONCURRENCY
    assert {by_name[n].concurrency_id for n in ("save", "save_next", "next", "previous", "guide_points")} & {annotate_ui.OPEN_LANE} == set()
