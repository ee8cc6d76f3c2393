"""The holes of issue 10, probed through the running app's API (gradio_client): each bad
request gets a clear message, changes nothing, and the same tab works right after; the
server's memory stays bounded however many tabs come and go."""

from __future__ import annotations

import gc
import io
import json
import os
import socket
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import app
from guide.serving.pagevalues import BAD_SKETCH

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

STATUS = 3  # outputs: overlay, chat, legend, status[, editor | textbox | applied]


@pytest.fixture(scope="module")
def url(app_server) -> str:
    return app_server[0]


@pytest.fixture
def tab(url: str):
    """A fresh tab with an example scene, and its label map + turns before anything else."""
    paths = app.example_paths()
    if not paths:
        pytest.skip("no example scenes")
    c = Client(url, verbose=False, download_files=True)
    assert c.predict(handle_file(paths[0]), api_name="/set_image")[STATUS] == "Image loaded."
    return c, snapshot(c)


def snapshot(c: Client) -> tuple[np.ndarray, list]:
    files = c.predict(api_name="/export")
    png = next(f for f in files if str(f).endswith(".png"))
    js = next(f for f in files if str(f).endswith(".json"))
    return np.array(Image.open(png)), json.loads(Path(js).read_text())["turns"]


def unchanged_and_still_working(c: Client, before: tuple[np.ndarray, list]) -> None:
    labels, turns = snapshot(c)
    np.testing.assert_array_equal(labels, before[0])
    assert turns == before[1]
    r = c.predict('[[20, 20, "coat"]]', api_name="/guide_points")
    assert r[STATUS].startswith("Guided by 1 labelled pixel"), r[STATUS]
    assert len(snapshot(c)[1]) == len(before[1]) + 1


def test_huge_sketch_layer_is_refused_before_decoding(tab, tmp_path: Path) -> None:
    c, before = tab
    c.predict("coat", api_name="/brush_class")  # Gradio rebuilds the editor from its class on this update
    layer = tmp_path / "layer.png"  # 3000x3000 fully painted: a ~40 KB file that decodes to 36 MB
    Image.new("RGBA", (3000, 3000), (210, 180, 140, 255)).save(layer, optimize=True)
    r = c.predict({"background": None, "layers": [handle_file(str(layer))], "composite": None}, api_name="/guide")
    assert "That sketch layer is 3000x3000 pixels" in r[STATUS], r[STATUS]
    assert c.predict({"layers": "x"}, api_name="/guide")[STATUS] == BAD_SKETCH
    unchanged_and_still_working(c, before)


def test_layer_without_alpha_is_not_everything_painted(tab, tmp_path: Path) -> None:
    c, before = tab
    layer = tmp_path / "rgb.png"
    Image.new("RGB", (512, 512), (210, 180, 140)).save(layer)
    r = c.predict({"background": None, "layers": [handle_file(str(layer))], "composite": None}, api_name="/guide")
    assert r[STATUS].startswith("Nothing painted yet"), r[STATUS]
    unchanged_and_still_working(c, before)


@pytest.mark.parametrize("payload", ["junk", 5, [1, 2], {"layers": "x"}, {"background": 5, "layers": []}, {"layers": [5]},
                                     {"layers": [{"path": 7}]}, {"layers": [{"a": {"b": {"c": [1]}}}]}])
def test_malformed_sketch_payloads_get_the_sketch_message(tab, payload) -> None:
    c, before = tab
    r = c.predict(payload, api_name="/guide")
    assert r[STATUS] == BAD_SKETCH, r[STATUS]
    unchanged_and_still_working(c, before)


def test_sketch_layer_that_is_not_an_image(tab, tmp_path: Path) -> None:
    c, before = tab
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG not really")
    r = c.predict({"background": None, "layers": [handle_file(str(junk))], "composite": None}, api_name="/guide")
    assert r[STATUS] == BAD_SKETCH, r[STATUS]
    unchanged_and_still_working(c, before)


def test_uploads_have_a_size_limit(tab, url: str, tmp_path: Path) -> None:
    import httpx

    c, before = tab
    resp = httpx.post(f"{url}gradio_api/upload", files={"files": ("big.png", b"\0" * (21 * 2**20))}, timeout=60)
    assert resp.status_code == 413 and "maximum allowed size" in resp.text
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (21 * 2**20))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # gradio_client checks it too
        c.predict(handle_file(str(big)), api_name="/set_image")
    unchanged_and_still_working(c, before)


def test_answer_and_points_payloads_are_bounded(tab) -> None:
    c, before = tab
    checks = [
        ("/guide_points", '[[1, 2, 0]' + ", [1, 2, 0]" * 20_000 + "]", "characters of points"),
        ("/guide_points", "[" * 100_000 + "]" * 100_000, "characters of points"),
        ("/guide_points", "[" * 30_000 + "]" * 30_000, "nested too deeply"),
        ("/guide_points", json.dumps([[1, 2, "x" * 10_000]]), "Unknown class"),
    ]
    for api, arg, expected in checks:
        r = c.predict(arg, api_name=api)
        assert expected in r[STATUS] and len(r[STATUS]) < 400, (api, r[STATUS][:100])
    assert c.predict(api_name="/ask")[STATUS].startswith("What is here")
    before = snapshot(c)  # asking marks a pixel as asked; the label map and turns stay
    r = c.predict("x" * 10_000, api_name="/answer")
    assert r[STATUS] == "That answer is 10,000 characters; answer with a class name.", r[STATUS][:100]
    r = c.predict("x" * 10_000, api_name="/chat")
    assert r[STATUS] == "That message is 10000 characters; please keep hints under 500.", r[STATUS][:100]
    unchanged_and_still_working(c, before)


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "unicorn", "left", "remove everything", "il y a un manteau à gauche"])
def test_chat_naming_no_class_changes_nothing_and_asks_which(tab, text: str) -> None:
    c, before = tab
    r = c.predict(text, api_name="/chat")
    assert "Which class do you mean?" in r[STATUS] and "Classes: sky, grass" in r[STATUS], r[STATUS]
    unchanged_and_still_working(c, before)


def test_chat_suggests_the_nearest_class_names(tab) -> None:
    c, before = tab
    r = c.predict("there is a caot on the left", api_name="/chat")
    assert "Did you mean coat" in r[STATUS], r[STATUS]
    unchanged_and_still_working(c, before)


def test_export_folders_are_cleaned(app_server, tab) -> None:
    c, _ = tab
    exports = app_server[1].guide_app.exports
    keep, exports.keep = exports.keep, 2
    try:
        for _ in range(4):
            c.predict(api_name="/export")
        assert len(list(exports.root.iterdir())) == 2
    finally:
        exports.keep = keep


# --------------------------------------------------------------------------- memory

TABS = int(os.environ.get("GUIDE_TEST_TABS", 40))  # tabs opened one after another, each on its own image
MAX_TABS = 8  # tab states the test server keeps
POOL = 4  # conversations (images with head features) its pool keeps
IMAGE = (384, 512)  # 0.6 MB decoded each


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


@pytest.fixture(scope="module")
def small_server(app_model_dir: Path):
    """The app with room for MAX_TABS tab states that expire after 3 s."""
    from guide.core.backprop import BackpropSettings
    from guide.models.hub import load_model

    demo = app.build_demo(load_model(app_model_dir, device="cpu"), BackpropSettings(optimizer="lbfgs", max_steps=5), examples=[], tab_ttl=3)
    demo.queue(default_concurrency_limit=1, max_size=16)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.launch_kwargs(max_tabs=MAX_TABS))
    try:
        yield f"http://127.0.0.1:{port}/", demo
    finally:
        demo.close()


@pytest.mark.slow
def test_many_tabs_stay_within_a_memory_bound(small_server, tmp_path: Path) -> None:
    """TABS tabs, each loading its own image. The bound: the server keeps at most MAX_TABS
    tab states and POOL conversations, so at most MAX_TABS + POOL images are alive
    (each stored once), whatever TABS is; expired tabs free theirs.
    (GUIDE_TEST_TABS=1000 runs the issue's 1,000 tabs; RSS is printed, not asserted:
    glibc's per-thread arenas make it noisy.)"""
    url, demo = small_server
    pool = demo.guide_app.pool
    pool.size = POOL
    c = Client(url, verbose=False)
    h, w = IMAGE
    ramp = np.add.outer(np.arange(h), np.arange(w)).astype(np.uint8)
    path = tmp_path / "tab.png"
    start = rss_mb()
    for i in range(TABS):
        c.reset_session()  # a new browser tab
        Image.fromarray(np.stack([ramp, np.full_like(ramp, i % 256), np.full_like(ramp, i // 256)], -1)).save(path)
        assert c.predict(handle_file(str(path)), api_name="/set_image")[STATUS] == "Image loaded."
        if i % 10 == 9:
            gc.collect()
            assert len(demo.state_holder.session_data) <= MAX_TABS
            assert len(pool._images) <= MAX_TABS + POOL, (i, len(pool._images))
            assert sum(im.nbytes for im in pool._images.values()) <= (MAX_TABS + POOL) * h * w * 3
    print(f"{TABS} tabs: RSS {start:.0f} -> {rss_mb():.0f} MB")
    # tab states expire (time_to_live): their images go, the pool's cached ones stay
    time.sleep(5)
    gc.collect()
    assert len(pool._images) <= POOL, len(pool._images)
    c.reset_session()  # and a new tab works
    assert c.predict(handle_file(str(path)), api_name="/set_image")[STATUS] == "Image loaded."


# --------------------------------------------------------------------------- a public server (issue 20)


RAW_STATUS = STATUS + 1  # a raw call's outputs include the tab's state first


def raw(url: str, api: str, data: list, session_hash: str) -> tuple[str, object]:
    """Call ``api`` with a raw payload (no client-side upload or validation), in the tab
    ``session_hash``: ("complete", outputs) or ("error", message)."""
    import httpx

    body = json.dumps({"data": data, "session_hash": session_hash}).encode()  # ASCII: lone surrogates as \\ud800 escapes
    r = httpx.post(f"{url}gradio_api/call/{api}", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 200, r.text[:200]
    text = httpx.get(f"{url}gradio_api/call/{api}/{r.json()['event_id']}", timeout=60).text
    event = text.split("event: ", 1)[1].split("\n", 1)[0]
    return event, json.loads(text.split("data: ", 1)[1].split("\n", 1)[0])


def filedata(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def test_a_folder_or_a_file_not_uploaded_is_refused_everywhere(tab, url: str, tmp_path: Path, app_server) -> None:
    """The leak: a FileData naming Gradio's upload folder (where another client's upload lies)
    imported every file in it; now only files this server received as uploads are taken."""
    from gradio.utils import get_upload_folder

    from guide.ui.uploads import NOT_UPLOADED

    c, before = tab
    other = Client(url, verbose=False)  # a second user uploads a photo of their own
    mine = tmp_path / "private.png"
    Image.fromarray(np.full((40, 50, 3), 77, np.uint8)).save(mine)
    assert other.predict(handle_file(str(mine)), api_name="/set_image")[STATUS] == "Image loaded."
    theirs = next(p for p in Path(get_upload_folder()).rglob("private.png"))
    export = next(str(f) for f in c.predict(api_name="/export") if str(f).endswith(".png"))  # served by the app, not uploaded
    demo = app_server[1]
    for path in [get_upload_folder(), str(theirs.parent), str(Path(export).parent), str(Path(export).resolve()), "/etc/passwd"]:
        for api, data in [("open_images", [[filedata(path)], None, None, False]), ("set_image", [filedata(path), None, False]),
                          ("guide", [{"background": None, "layers": [filedata(path)], "composite": None}, None, False])]:
            event, out = raw(url, api, data, c.session_hash)
            assert event == "error" and out["error"] == NOT_UPLOADED, (api, path, out)
    # and Gradio never took the folder as a file of its own (it would try to delete it at shutdown)
    assert not any(get_upload_folder() in s or str(theirs.parent) in s for s in demo.temp_file_sets), demo.temp_file_sets
    assert c.predict(api_name="/download_dataset") is None  # no data set was made for this tab
    unchanged_and_still_working(c, before)


def test_exports_get_unguessable_short_lived_urls(app_server, tab) -> None:
    c, _ = tab
    exports = app_server[1].guide_app.exports
    first = [Path(f) for f in c.predict(api_name="/export")]
    second = [Path(f) for f in c.predict(api_name="/export")]
    assert [f.name for f in first] == [f.name for f in second] and first[0].read_bytes() == second[0].read_bytes()
    made = sorted(exports.root.iterdir(), key=lambda p: p.stat().st_mtime)[-2:]
    assert made[0].name != made[1].name and min(len(m.name) for m in made) >= 22  # 128 random bits each
    ttl, exports.ttl = exports.ttl, 0.0
    try:
        c.predict(api_name="/export")  # making one deletes those past the time to live
        assert not any(m.exists() for m in made)
    finally:
        exports.ttl = ttl


def test_many_layers_are_refused_before_decoding_and_layers_cost_their_pixels_once(tab, tmp_path: Path) -> None:
    """10 fully painted 2048x2048 layers took +2.5 GB and 11 s; now more than 8 layers are refused
    unread, and the most a sketch may send (8 layers, 8.4 MP, 16 colours each) stays far below
    +400 MB (tracemalloc counts numpy's buffers)."""
    import tracemalloc

    from guide.serving.pagevalues import MAX_LAYERS, TOO_MANY_LAYERS

    c, before = tab
    big = tmp_path / "big.png"
    Image.new("RGBA", (2048, 2048), (230, 25, 75, 255)).save(big)
    r = c.predict({"background": None, "layers": [handle_file(str(big))] * (MAX_LAYERS + 2), "composite": None}, api_name="/guide")
    assert r[STATUS] == TOO_MANY_LAYERS, r[STATUS]
    unchanged_and_still_working(c, before)
    blocks = np.repeat(np.repeat(np.array(TINY, np.uint8)[np.arange(16) % 4].reshape(4, 4, 3), 256, 0), 256, 1)  # 1024x1024
    layer = tmp_path / "layer.png"
    Image.fromarray(np.dstack([blocks, np.full(blocks.shape[:2], 255, np.uint8)])).save(layer)
    tracemalloc.start()
    try:
        r = c.predict({"background": None, "layers": [handle_file(str(layer))] * MAX_LAYERS, "composite": None}, api_name="/guide")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r[STATUS].startswith("Guided by"), r[STATUS]
    assert peak < 400 * 2**20, f"peak {peak / 2**20:.0f} MB"


TINY = [[135, 206, 235], [60, 180, 75], [230, 25, 75], [255, 225, 25]]  # tests/conftest.py TINY_PALETTE


def test_random_colour_layer_and_pixel_bombs_in_data_urls_are_cheap_refusals(tab, tmp_path: Path) -> None:
    import base64
    import io
    import tracemalloc

    c, before = tab
    noise = np.random.default_rng(0).integers(0, 256, (2048, 2048, 4), dtype=np.uint8)
    noise[..., 3] = 255
    layer = tmp_path / "noise.png"
    Image.fromarray(noise).save(layer)
    r = c.predict({"background": None, "layers": [handle_file(str(layer))], "composite": None}, api_name="/guide")
    assert "different colours; paint with the brush" in r[STATUS], r[STATUS]
    buf = io.BytesIO()
    Image.new("1", (9999, 9999)).save(buf, "PNG")  # ~16 KB that decodes to 100 MP
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    tracemalloc.start()
    try:
        event, out = raw(c.src, "set_image", [{"path": None, "url": url, "meta": {"_type": "gradio.FileData"}}, None, False], c.session_hash)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert event == "complete" and "too large" in out[RAW_STATUS] and "50 MP" in out[RAW_STATUS], out
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.0f} MB"
    unchanged_and_still_working(c, before)


def test_requests_the_handlers_never_see_get_messages(tab, url: str, app_server, capfd) -> None:
    """Payloads that failed inside Gradio or the handlers with a traceback: each is a message now,
    changes nothing, the tab works right after, and the server's log shows no traceback."""
    import httpx

    c, before = tab
    capfd.readouterr()
    event, out = raw(url, "load_model", ["../../etc", None], c.session_hash)  # Gradio's dropdown refuses it
    assert event == "error" and "not in the list of choices" in out["error"], out
    event, out = raw(url, "pick", [None, None, False], c.session_hash)  # no event data
    assert event in ("complete", "error"), out
    message = out[RAW_STATUS] if event == "complete" else out["error"]
    assert message and "Traceback" not in message, out
    event, out = raw(url, "load_model", [None, None], c.session_hash)
    assert event == "complete" and out[1] == app.CHOOSE_MODEL, out
    for text in ["[[%d, 5, 0]]" % 10**400, "[[%d, 5, 0]]" % 10**30, "[[5, 5, %d]]" % 10**30, "[[1e999, 5, 0]]"]:
        r = c.predict(text, api_name="/guide_points")
        assert len(r[STATUS]) < 300 and ("too large" in r[STATUS] or "numbers" in r[STATUS] or "Unknown class" in r[STATUS]
                                         or "No point lies" in r[STATUS]), r[STATUS]
    resp = httpx.post(f"{url}gradio_api/call/chat", content=b"{" + b" " * (40 * 2**20) + b"}",
                      headers={"content-type": "application/json"}, timeout=60)
    assert resp.status_code == 413 and "Request too large" in resp.text
    unchanged_and_still_working(c, before)
    assert "Traceback" not in capfd.readouterr().err


def test_a_lone_surrogate_is_refused_and_the_tab_keeps_working(tab) -> None:
    c, before = tab
    event, out = raw(c.src, "chat", ["there is a coat \ud800 on the left", None, False], c.session_hash)
    assert event == "complete" and "broken character" in out[RAW_STATUS], out
    unchanged_and_still_working(c, before)
    assert c.predict(api_name="/ask")[STATUS].startswith("What is here")
    event, out = raw(c.src, "answer", ["\udfff", None, False], c.session_hash)
    assert event == "complete" and "broken character" in out[RAW_STATUS], out
    r = c.predict("there is a coat on the left", api_name="/chat")
    assert "Which class" not in r[STATUS] and "broken" not in r[STATUS], r[STATUS]


def test_sketch_uploads_waiting_are_bounded_in_bytes_and_expire(monkeypatch) -> None:
    """The page uploads a sketch's layers before the event that reads them; a page that never sends
    that event left them on the server for ever (~150 MB an id). Now only layers are kept, in at most
    MAX_BLOB_BYTES per editor, oldest first out, and none older than BLOB_TTL."""
    from types import SimpleNamespace

    import gradio as gr

    import guide.ui.editor

    editor = app.SketchEditor()
    part = lambda blob_id, kind="layer", n=1000: SimpleNamespace(  # noqa: E731
        data={"type": kind, "index": "0" if kind == "layer" else None, "id": blob_id}, files=[("blob", b"x" * n)])
    editor.accept_blobs(part("a", "background", 5000))
    editor.accept_blobs(part("a", "composite", 5000))
    assert "a" not in editor.blob_storage  # the server's own picture is never stored back
    monkeypatch.setattr(guide.ui.editor, "MAX_BLOB_BYTES", 2500)  # where the editor reads it
    for blob_id in "abc":
        editor.accept_blobs(part(blob_id))
    assert sorted(editor.blob_storage) == ["b", "c"]  # "a" went first
    with pytest.raises(gr.Error):
        editor.accept_blobs(part("d", n=3000))  # one sketch larger than the bound
    monkeypatch.setattr(guide.ui.editor, "BLOB_TTL", -1.0)
    editor.accept_blobs(part("e"))
    assert sorted(editor.blob_storage) == ["e"]  # the others expired


def test_debug_mode_keeps_the_upload_check(monkeypatch, tmp_path: Path) -> None:
    """GUIDE_DEBUG=1 keeps Gradio's tracebacks, not a hole: a path never uploaded is still refused."""
    import asyncio

    import gradio as gr

    from guide.ui.guard import guard_events

    monkeypatch.setenv("GUIDE_DEBUG", "1")
    with gr.Blocks() as demo:
        gr.Textbox()
    guard_events(demo)
    with pytest.raises(gr.Error, match="not uploaded from this page"):
        asyncio.run(demo.preprocess_data(None, [{"path": str(tmp_path), "meta": {"_type": "gradio.FileData"}}], None))


def test_hostile_class_names_numbers_and_corners_to_the_tools_get_messages(tab, url: str, capfd) -> None:
    """What a probe of every api_name found (lone surrogates, huge numbers, far corners, NaN opacity):
    a lone surrogate echoed in "Unknown class" broke the event stream (a traceback, the call cut
    off); a 10**30 or 5,000-digit coordinate was "Something went wrong"; a polygon's corners at
    1e15 asked for 14 PiB. Each gets a message now, the log has no traceback, the tab still works."""
    import httpx

    c, before = tab
    capfd.readouterr()
    s = c.session_hash
    fn = {d["api_name"]: d["id"] for d in httpx.get(url + "config").json()["dependencies"]}

    def joined(api: str, data: list) -> tuple[str, object]:
        """As the page sends it: queue/join, the answer on the session's event stream."""
        body = json.dumps({"data": data, "fn_index": fn[api], "session_hash": s, "event_data": None, "trigger_id": None})
        event = httpx.post(f"{url}gradio_api/queue/join", content=body, headers={"content-type": "application/json"}, timeout=30).json()["event_id"]
        with httpx.stream("GET", f"{url}gradio_api/queue/data?session_hash={s}", timeout=60) as stream:
            for line in stream.iter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                if msg.get("event_id") == event and msg.get("msg") == "process_completed":
                    out = msg.get("output") or {}
                    return ("complete", out["data"]) if msg.get("success") else ("error", out)
        return "no answer", None

    for api, data in [("guide_points", ['[[1, 2, "\\ud800"]]', None, False]), ("relabel_segment", ['[1, 2, "\\ud800"]', None, False]),
                      ("local_click", ['[1, 2, "\\ud800"]', None, False]),
                      ("superpixel_brush", ['{"points": [[1, 2]], "label": "\\ud800"}', None, False]),
                      ("polygon", ['{"vertices": [[1, 2], [3, 40], [50, 9]], "label": "\\ud800"}', None, False]),
                      ("close_polygon", ["\ud800", None, None, False])]:
        event, out = joined(api, data)
        assert event == "complete" and out[RAW_STATUS].startswith("Unknown class “?”"), (api, out)
    event, out = joined("load_model", ["\ud800", None])  # the dropdown's own refusal quotes it
    assert event == "error" and "not in the list of choices" in out["error"], out
    digits = "1" + "0" * 5000
    for api, text in [("relabel_segment", '[%d, 5, "coat"]' % 10**30), ("relabel_segment", f'[{digits}, 5, "coat"]'),
                      ("superpixel_brush", '{"points": [[%d, 5]], "label": "coat"}' % 10**30),
                      ("erase", '{"vertices": [[0, 0], [%s, 0], [0, 5]]}' % digits)]:
        event, out = raw(url, api, [text, None, False], s)
        assert event == "complete" and ("[row, column] numbers" in out[RAW_STATUS] or "too large to read" in out[RAW_STATUS]), (api, out)
    event, out = raw(url, "after_turn", [None, float("nan"), None, None], s)  # NaN opacity: the starting one
    assert event == "complete" and "time spent" in out[2], out
    unchanged_and_still_working(c, before)
    event, out = raw(url, "polygon", ['{"vertices": [[-1e15, -1e15], [1e15, 0], [0, 1e15]], "label": "coat"}', None, False], s)
    whole = f"{before[0].size:,} px"  # the polygon covers the image: clipped to it, drawn at the image's cost
    assert event == "complete" and whole in out[RAW_STATUS] and "by hand" in out[RAW_STATUS], out
    assert c.predict('[[20, 20, "coat"]]', api_name="/guide_points")[STATUS].startswith("Guided by 1 labelled pixel")
    assert "Traceback" not in capfd.readouterr().err


def sparse_pngs(side: int, n: int) -> list[bytes]:
    """``n`` distinct 1-bit PNGs of side x side (a few KB each, however many pixels): each with a
    tEXt chunk of its own, so no two share bytes (the data set's same-bytes check skips repeats)."""
    from PIL import PngImagePlugin

    out = []
    for i in range(n):
        info = PngImagePlugin.PngInfo()
        info.add_text("copy", str(i))
        buf = io.BytesIO()
        Image.new("1", (side, side)).save(buf, "PNG", pnginfo=info)
        out.append(buf.getvalue())
    return out


def test_one_open_decodes_a_bounded_number_of_pixels(url: str, tmp_path: Path, monkeypatch) -> None:
    """Tiny files of many pixels: each passes the byte, ratio, per-image and count limits, so only a
    budget of pixels decoded per request (header sizes, read before decoding) bounds the work. The
    budget is made small here (3 images of 2000x2000) to keep the test fast; the real one is 1 GP."""
    from guide.annotation import intake

    monkeypatch.setattr(intake, "MAX_BATCH_PIXELS", 3 * 2000 * 2000 + 1000)
    z = tmp_path / "sparse.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, data in enumerate(sparse_pngs(2000, 8)):
            zf.writestr(f"big_{i}.png", data)
    c = Client(url, verbose=False, download_files=True)
    status = c.predict([handle_file(str(z))], api_name="/open_images")[STATUS]
    assert status.startswith("Opened 3 new images"), status
    assert "5 more images were not opened" in status and "open them in another batch: sparse.zip/big_3.png" in status, status
    # the rest opens in another batch: nothing lost, the first three are recognised as already there
    status = c.predict([handle_file(str(z))], api_name="/open_images")[STATUS]
    assert status.startswith("Opened 3 new images, 3 already in the data set"), status
    assert "2 more images were not opened" in status and "sparse.zip/big_6.png, sparse.zip/big_7.png." in status, status
    status = c.predict([handle_file(str(z))], api_name="/open_images")[STATUS]
    assert status.startswith("Opened 2 new images, 6 already in the data set") and "not opened" not in status, status


def test_a_single_upload_over_the_megapixel_cap_is_refused_before_decoding(tab, tmp_path: Path) -> None:
    """/set_image decodes one image: its cap (MAX_INPUT_PIXELS, 50 MP) holds for a tiny file of many pixels."""
    c, before = tab
    big = tmp_path / "huge.png"
    big.write_bytes(sparse_pngs(7100, 1)[0])  # 50.4 MP in ~7 KB
    r = c.predict(handle_file(str(big)), api_name="/set_image")
    assert r[STATUS] == "That image is too large to open safely (limit 50 MP).", r[STATUS]
    unchanged_and_still_working(c, before)
