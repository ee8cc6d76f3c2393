"""app.py end to end through its HTTP API (gradio_client), plus its plain helpers.

The server fixture (tests/conftest.py, ``app_server``) runs ``app.build_demo`` on a
tiny random model folder built in tmp; one test uses the shipped default model when
it is there.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import app
from guide.core.export import rle_decode, rle_encode

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

STATUS = 3  # outputs: overlay, chat, legend, status[, editor | textbox]


@pytest.fixture(scope="module")
def url(app_server) -> str:
    return app_server[0]


def client(url: str) -> Client:
    return Client(url, verbose=False, download_files=True)


def export(c: Client) -> tuple[np.ndarray, dict]:
    files = c.predict(api_name="/export")
    png = next(f for f in files if str(f).endswith(".png"))
    js = next(f for f in files if str(f).endswith(".json"))
    return np.array(Image.open(png)), json.loads(Path(js).read_text())


def last_reply(result) -> str:
    chat = result[1]
    content = chat[-1]["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def test_api_lists_every_event(url: str) -> None:
    names = set(client(url).view_api(print_info=False, return_format="dict")["named_endpoints"])
    for api in ("set_image", "guide", "guide_points", "chat", "ask", "answer", "undo", "reset", "export", "view"):
        assert f"/{api}" in names, names


def test_whole_conversation(url: str, example: str, app_server) -> None:
    c = client(url)
    r = c.predict(handle_file(example), api_name="/set_image")
    assert r[STATUS] == "Image loaded." and Path(r[0]).is_file()
    base, info = export(c)
    assert base.shape == (160, 160) and info["turns"] == [] and len(info["classes"]) == 16
    # the JSON's RLE decodes back to the PNG's label map
    for name, seg in info["segmentation"].items():
        np.testing.assert_array_equal(rle_decode(seg["rle"]), base == info["classes"].index(name))

    r = c.predict('[[20, 20, "coat"], [140, 140, "sand"], [150, 10, 1]]', api_name="/guide_points")
    assert r[STATUS].startswith("Guided by 3 labelled pixels"), r[STATUS]
    guided, info = export(c)
    assert (guided != base).any(), "guiding by points did not change the label map"
    assert [t["kind"] for t in info["turns"]] == ["pixels"]
    r = c.predict(True, api_name="/view")  # the "what changed" highlight
    assert Path(r[0]).is_file() and r[STATUS] == "1 turn so far."

    app_obj = app_server[1].guide_app
    if app_obj.has_text_guide:
        r = c.predict("there is a coat on the top left", api_name="/chat")
        assert r[STATUS].startswith("Understood: find coat on the top left"), r[STATUS]
        assert r[4] == ""  # the textbox is cleared
        _, info = export(c)
        assert [t["kind"] for t in info["turns"]] == ["pixels", "text"]
    else:
        r = c.predict("there is a coat on the top left", api_name="/chat")
        assert "no text guide" in r[STATUS]
    before_answer, _ = export(c)

    r = c.predict(api_name="/ask")
    assert r[STATUS].startswith("What is here"), r[STATUS]
    r = c.predict("coat", api_name="/answer")
    assert r[STATUS].startswith("Thanks: that's coat"), r[STATUS]
    _, info = export(c)
    assert info["turns"][-1] == {"kind": "pixels", "points": 1}

    r = c.predict(api_name="/undo")
    assert r[STATUS].startswith("Undone")
    np.testing.assert_array_equal(export(c)[0], before_answer)
    while True:  # undo everything: back to the network's own prediction
        r = c.predict(api_name="/undo")
        if r[STATUS] == "Nothing to undo.":
            break
        assert r[STATUS].startswith("Undone")
    np.testing.assert_array_equal(export(c)[0], base)

    c.predict('[[20, 20, "coat"], [140, 140, "sand"], [150, 10, 1]]', api_name="/guide_points")
    np.testing.assert_array_equal(export(c)[0], guided)  # deterministic
    r = c.predict(api_name="/reset")
    assert r[STATUS] == "Back to the network's own prediction."
    np.testing.assert_array_equal(export(c)[0], base)


def test_sketch_through_the_editor(url: str, example: str, tmp_path: Path) -> None:
    c = client(url)
    c.predict(handle_file(example), api_name="/set_image")
    base, _ = export(c)
    # a stroke layer at the editor's display size (512 for a 160 px image), in the "sand" colour
    layer = np.zeros((512, 512, 4), np.uint8)
    layer[300:320, 100:400] = [210, 180, 140, 255]  # sand
    layer[40:50, 40:60] = [0, 128, 128, 255]  # coat
    bg = tmp_path / "bg.png"
    Image.fromarray(np.zeros((512, 512, 3), np.uint8)).save(bg)
    lp = tmp_path / "layer.png"
    Image.fromarray(layer).save(lp)
    editor = {"background": handle_file(str(bg)), "layers": [handle_file(str(lp))], "composite": None}
    r = c.predict(editor, api_name="/guide")
    assert r[STATUS].startswith("Guided by") and "coat, sand" in r[STATUS], r[STATUS]
    assert (export(c)[0] != base).any()
    r = c.predict(editor, api_name="/guide")  # the same strokes again (a double click)
    assert "already applied" in r[STATUS]
    assert len(export(c)[1]["turns"]) == 1
    r = c.predict({"background": handle_file(str(bg)), "layers": [], "composite": None}, api_name="/guide")
    assert r[STATUS].startswith("Nothing painted"), r[STATUS]


def _bomb_png(path: Path, width: int = 30000, height: int = 30000) -> None:
    """A tiny PNG whose header claims a huge size (a decompression bomb's signature)."""
    Image.new("RGB", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data[12:29]  # chunk type + 13 bytes of data
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    path.write_bytes(bytes(data))


def test_bad_inputs_get_messages(url: str, example: str, tmp_path: Path, app_server) -> None:
    c = client(url)
    # actions before any image
    for api, args in [("/ask", ()), ("/undo", ()), ("/reset", ()), ("/chat", ("hi",)), ("/guide_points", ("[[1,1,0]]",))]:
        r = c.predict(*args, api_name=api)
        assert r[STATUS] == app.NO_IMAGE, (api, r[STATUS])
    assert c.predict(api_name="/export") is None
    # not an image, a decompression bomb
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not a png")
    assert c.predict(handle_file(str(junk)), api_name="/set_image")[STATUS].startswith("Could not read")
    bomb = tmp_path / "bomb.png"
    _bomb_png(bomb)
    assert "limit" in c.predict(handle_file(str(bomb)), api_name="/set_image")[STATUS]

    c.predict(handle_file(example), api_name="/set_image")
    base, _ = export(c)
    checks = [
        ("/guide_points", "", "No points"),
        ("/guide_points", "[[1, 2", "not valid JSON"),
        ("/guide_points", '[[1, 2, "unicorn"]]', "Unknown class"),
        ("/guide_points", "[[1, 2]]", "Each point"),
        ("/guide_points", "[[-5, 9999, 0]]", "No point lies inside"),
        ("/chat", "   ", "Type a hint"),
        ("/chat", "x" * (app.MAX_TEXT + 1), "characters"),
        ("/answer", "coat", "haven't asked"),
    ]
    for api, arg, expected in checks:
        r = c.predict(arg, api_name=api)
        assert expected in r[STATUS], (api, arg[:20], r[STATUS])
    r = c.predict("qwxz blorptag", api_name="/chat")  # no class named: nothing changes, it asks which
    assert "could not find a class name" in r[STATUS] and "Which class do you mean?" in r[STATUS], r[STATUS]
    # a question, then wrong answers, then a right one typed into the chat
    assert c.predict(api_name="/ask")[STATUS].startswith("What is here")
    assert "Unknown class" in c.predict("unicorn", api_name="/answer")[STATUS]
    r = c.predict("unicorn", api_name="/chat")
    assert "don't know a class" in r[STATUS]
    r = c.predict("It's a Coat", api_name="/chat")
    assert r[STATUS].startswith("Thanks: that's coat"), r[STATUS]
    _, info = export(c)  # nothing above left a trace but the answer
    assert [t["kind"] for t in info["turns"]] == ["pixels"]


def test_sessions_do_not_touch_each_other(url: str, example: str) -> None:
    a, b = client(url), client(url)
    a.predict(handle_file(example), api_name="/set_image")
    b.predict(handle_file(example), api_name="/set_image")
    base, _ = export(b)
    a.predict('[[20, 20, "coat"], [140, 140, "sand"]]', api_name="/guide_points")
    assert (export(a)[0] != base).any()
    labels, info = export(b)
    np.testing.assert_array_equal(labels, base)
    assert info["turns"] == []
    assert b.predict(api_name="/undo")[STATUS] == "Nothing to undo."
    assert len(export(a)[1]["turns"]) == 1


def test_large_image_is_downscaled(url: str, tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (1200, 1500, 3), dtype=np.uint8)).resize((1500, 1200)).save(big, quality=50)
    c = client(url)
    r = c.predict(handle_file(str(big)), api_name="/set_image")
    assert "downscaled from 1500x1200" in last_reply(r)
    labels, _ = export(c)
    assert labels.shape == (819, 1024)


# --------------------------------------------------------------------------- plain helpers


def test_rle_round_trip() -> None:
    rng = np.random.default_rng(1)
    for mask in (rng.random((7, 9)) > 0.5, np.ones((3, 4), bool), np.zeros((3, 4), bool)):
        rle = rle_encode(mask)
        assert rle["size"] == list(mask.shape) and isinstance(rle["counts"], str)  # COCO compressed RLE, JSON-able
        np.testing.assert_array_equal(rle_decode(rle), mask)
    from pycocotools import mask as coco_mask  # what a COCO reader does with it

    rle = rle_encode(np.array([[1, 0], [1, 1]], bool))
    assert coco_mask.area({"size": rle["size"], "counts": rle["counts"].encode()}) == 3


def test_shipped_default_model(example: str) -> None:
    """The embedded default model answers a turn through the app's handlers."""
    from guide import DEFAULT_MODEL
    from guide.models.hub import CHECKPOINTS, load_model

    if not (CHECKPOINTS / DEFAULT_MODEL / "config.json").is_file():
        pytest.skip(f"checkpoints/{DEFAULT_MODEL} is not there yet")
    guide_app = app.GuideApp(load_model(), app.BackpropSettings(max_steps=10))
    state, overlay, chat, legend, status, editor, photo = guide_app.set_image(example, None)
    assert status == "Image loaded." and overlay.shape == (160, 160, 4) and "gm-legend" in legend  # the image's own size: the browser scales it
    assert Path(photo).is_file() and Path(editor["background"]).is_file() and editor["layers"] == []
    # the editor is one canvas: the photo with the class colours over it, at the photo's (display) size
    painted, bare = (np.asarray(Image.open(p).convert("RGB"), np.int16) for p in (editor["background"], photo))
    assert painted.shape == bare.shape and np.abs(painted - bare).mean() > 5
    state, overlay, chat, legend, status = guide_app.guide_points('[[20, 20, "coat"]]', state)
    assert status.startswith("Guided by 1 labelled pixel"), status
    state, *_, status = guide_app.undo(state)
    assert state["session"]["turns"] == []


def test_main_explains_bad_model_and_busy_port(app_model_dir: Path, tmp_path: Path) -> None:
    """`python app.py` with a wrong --model or a taken --port exits with a message, not a traceback."""
    import socket

    with pytest.raises(SystemExit, match="Could not load the model"):
        app.main(["--model", str(tmp_path / "nowhere")])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit, match="Pick another port"):
            app.main(["--model", str(app_model_dir), "--port", str(port)])


def test_an_event_reuses_the_cached_prediction(app_model_dir: Path, example: str) -> None:
    """Re-rendering (the what-changed highlight) or reopening a tab recomputes nothing."""
    from guide.models.hub import load_model

    guide_app = app.GuideApp(load_model(app_model_dir, device="cpu"), app.BackpropSettings(optimizer="lbfgs", max_steps=5))
    tab = guide_app.set_image(example, None)[0]
    tab = guide_app.guide_points('[[20, 20, "coat"]]', tab)[0]
    with guide_app.pool.open(tab) as conv:
        logits, labels = conv.session.logits(), conv.labels()
    for changes in [True, False]:
        again, overlay, *_ = guide_app.view(tab, changes)
        assert again is tab and overlay.shape == (160, 160, 4)
    with guide_app.pool.open(tab) as conv:
        assert conv.session.logits() is logits and conv.labels() is labels


def test_no_event_makes_the_page_reread_the_editor_or_the_chat(app_server) -> None:
    """Gradio's page reads back, at every event, each component that was ever an event's progress
    target or a finished backend event's input; reading the editor re-uploads its images and
    reading the chat copies it (README, "Speed"). So: the editor is no backend event's input (the
    strokes come through a hidden twin), and neither is any event's progress target."""
    _, demo = app_server
    cfg = demo.get_config_file()
    ids = {c["id"]: c.get("props", {}) for c in cfg["components"]}
    editor = next(i for i, p in ids.items() if p.get("elem_id") == "gm-editor")
    chat = next(i for i, p in ids.items() if p.get("elem_id") == "gm-chat")
    twins = [i for i, p in ids.items() if p.get("label") == "strokes"]
    assert len(twins) == 1 and ids[twins[0]].get("visible") is False
    backend = [d for d in cfg["dependencies"] if d["backend_fn"]]
    assert backend and all(editor not in d["inputs"] for d in backend)
    assert {d["api_name"] for d in backend if twins[0] in d["inputs"]} == {"guide", "paint"}
    for d in cfg["dependencies"]:
        targets = d["show_progress_on"] or d["outputs"]
        assert editor not in targets and chat not in targets, d["api_name"]


def test_benchmark_pings_only_for_the_benchmarks(app_server, app_model_dir: Path, monkeypatch) -> None:
    """The do-nothing events the benchmarks time (/ping, /ping_direct, hidden #gm-ping buttons) are in
    the page only when asked for (bench=True, or GUIDE_BENCH=1 for `python app.py`), not in the product UI."""
    from guide.models.hub import load_model

    def pings(demo) -> set:
        cfg = demo.get_config_file()
        ids = {c.get("props", {}).get("elem_id") for c in cfg["components"]}
        return {d["api_name"] for d in cfg["dependencies"] if d["api_name"] in ("ping", "ping_direct")} | (ids & {"gm-ping", "gm-ping-direct"})

    _, benched = app_server  # tests/conftest.py builds it with bench=True
    assert pings(benched) == {"ping", "ping_direct", "gm-ping", "gm-ping-direct"}
    monkeypatch.delenv("GUIDE_BENCH", raising=False)
    model = load_model(app_model_dir, device="cpu")
    assert pings(app.build_demo(model, examples=[])) == set()
    monkeypatch.setenv("GUIDE_BENCH", "1")
    assert pings(app.build_demo(model, examples=[])) == {"ping", "ping_direct", "gm-ping", "gm-ping-direct"}
