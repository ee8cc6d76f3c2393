"""The app's hand tools (guide/ui/tools.py) through the HTTP API: relabel a segment, the
superpixel brush, a polygon, the eraser; the time line and the export's priced actions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guide.core.labels import VOID
from guide.dialogue.cost import COST
from guide.dialogue.tools import segment_at

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

STATUS, TIME = 3, 4  # outputs: overlay, chat, legend, status, time line


def export(c: Client) -> tuple[np.ndarray, dict]:
    files = c.predict(api_name="/export")
    png = next(f for f in files if str(f).endswith(".png"))
    js = next(f for f in files if str(f).endswith(".json"))
    return np.array(Image.open(png)), json.loads(Path(js).read_text())


def test_tools_through_the_api(app_server, example: str) -> None:
    c = Client(app_server[0], verbose=False, download_files=True)
    names = set(c.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/relabel_segment", "/local_click", "/superpixel_brush", "/polygon", "/erase", "/tool_click", "/close_polygon"} <= names
    c.predict(handle_file(example), api_name="/set_image")
    base, _ = export(c)
    classes = app_server[1].guide_app.classes
    # one click relabels the whole connected predicted segment under it
    seg = segment_at(base, 80, 80)
    k = (int(base[80, 80]) + 1) % len(classes)
    r = c.predict(json.dumps([80, 80, classes[k]]), api_name="/relabel_segment")
    assert r[STATUS].startswith("Set "), r[STATUS]
    assert "time spent" in r[TIME] and f"{COST.relabel:.0f} s" in r[TIME]
    labels, info = export(c)
    assert (labels[seg] == k).all() and (labels[~seg] == base[~seg]).all()
    # the superpixel brush and a polygon; the eraser marks pixels "unsure"
    c.predict(json.dumps({"points": [[10, 10]], "label": classes[0]}), api_name="/superpixel_brush")
    c.predict(json.dumps({"vertices": [[100, 100], [100, 140], [140, 140], [140, 100]], "label": classes[1]}), api_name="/polygon")
    labels, _ = export(c)
    assert labels[10, 10] == 0 and (labels[105:135, 105:135] == 1).all()
    c.predict(json.dumps({"vertices": [[0, 150], [0, 159], [9, 159], [9, 150]]}), api_name="/erase")
    labels, info = export(c)
    assert (labels[2:8, 152:158] == VOID).all()
    assert [a["tool"] for a in info["actions"]] == ["relabel", "superpixel", "polygon", "eraser"]
    assert info["actions"][2]["seconds"] == pytest.approx(COST.polygon(4))
    assert info["seconds_spent"] == pytest.approx(sum(a["seconds"] for a in info["actions"]))
    # a local click: guided, but only the change connected to the click is kept (a hand step, no session turn)
    c.predict(json.dumps([40, 40, classes[2]]), api_name="/local_click")
    labels2, info = export(c)
    assert labels2[40, 40] == 2 and info["actions"][-1]["tool"] == "local click" and info["turns"] == []
    c.predict(api_name="/undo")
    # undo takes the eraser back; the time line, asked for, counts the kept steps
    c.predict(api_name="/undo")
    spent = COST.relabel + info["actions"][1]["seconds"] + COST.polygon(4)
    assert f"≈ **{spent:.0f} s**" in c.predict(api_name="/time_line")
    labels, info = export(c)
    assert labels[5, 155] != VOID and len(info["actions"]) == 3


def test_bad_tool_input_gets_a_message_and_changes_nothing(app_server, example: str) -> None:
    c = Client(app_server[0], verbose=False, download_files=True)
    c.predict(handle_file(example), api_name="/set_image")
    before = export(c)[0]
    for api, arg in (("/relabel_segment", "[1, 2]"), ("/local_click", '[5, 5, "unsure"]'), ("/local_click", "[5, 5, true]"), ("/relabel_segment", '[500, 5, "sky"]'),
                     ("/relabel_segment", '[5, 5, "zebra"]'), ("/superpixel_brush", "not json"),
                     ("/superpixel_brush", '{"points": [[-5, -5]], "label": "sky"}'),
                     ("/polygon", '{"vertices": [[1, 1], [2, 2]], "label": "sky"}'),
                     ("/polygon", '{"vertices": [[1, 1], [2, 2], [3, "a"]], "label": "sky"}'),
                     ("/erase", '{"vertices": []}'), ("/erase", "[" * 5000)):
        r = c.predict(arg, api_name=api)
        assert r[STATUS] and not r[STATUS].startswith("Set "), (api, arg, r[STATUS])
        assert "went wrong" not in r[STATUS], (api, arg, r[STATUS])
    after, info = export(c)
    assert (after == before).all() and info["actions"] == []


# ---------------------------------------------------------------- what follows every turn (issue 22)

EDITOR, LINE, HINT, STRIP, PROGRESS = 0, 1, 2, 3, 4  # /after_turn, /after_image, /after_strokes: editor, time line, suggestion, strip, progress


def canvas(value: dict) -> np.ndarray:
    """The editor's picture (the one canvas a person paints on)."""
    assert value["layers"] == [] and value["background"]
    bg = value["background"]
    return np.array(Image.open(bg["path"] if isinstance(bg, dict) else bg).convert("RGB"))


def unsent(value) -> bool:
    """Whether an event left the editor as it was (gr.skip())."""
    return value == {"__type__": "update"}


def colours(labels: np.ndarray, palette: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.array(Image.fromarray(palette[labels].astype(np.uint8)).resize(size[::-1], Image.NEAREST))


def shows(picture: np.ndarray, labels: np.ndarray, palette: np.ndarray, hint: str) -> bool:
    """Whether a canvas at opacity 1 is the class colours of ``labels`` exactly, but for the ring drawn
    where a relabel suggestion points (which must be there)."""
    import re

    expected = colours(labels, palette, picture.shape[:2])
    same = (picture == expected).all(-1)
    found = re.search(r"\(row (\d+), column (\d+)\)", hint) if "yellow ring" in hint else None
    if found is None:
        return bool(same.all())
    s = picture.shape[0] / labels.shape[0]
    r, c = (int(int(v) * s) for v in found.groups())
    near = np.zeros_like(same)
    near[max(r - 40, 0) : r + 40, max(c - 40, 0) : c + 40] = True
    return bool(same[~near].all() and not same[near].all())


def captions(strip) -> list[str]:
    items = strip["value"] if isinstance(strip, dict) else strip
    return [item[1] if isinstance(item, (list, tuple)) else item["caption"] for item in items]


def test_canvas_time_line_suggestion_and_strip_follow_guide_undo_and_a_hand_tool(app_server, tmp_path: Path) -> None:
    import app

    c = Client(app_server[0], verbose=False, download_files=True)
    guide_app = app_server[1].guide_app
    palette = np.zeros((256, 3), np.uint8)
    palette[: len(guide_app.palette)] = guide_app.palette
    paths = app.example_paths()[:2]
    opened = c.predict([handle_file(p) for p in paths], api_name="/open_images")  # a data set of two: the strip shows both
    r = c.predict(1.0, api_name="/after_image")  # what the page runs after a new image (opacity 1: colours only)
    labels, _ = export(c)
    first = canvas(r[EDITOR])
    assert shows(first, labels, palette, r[HINT])  # the editor shows the segmentation itself (and the suggestion's ring)
    assert "time spent on this image ≈ **0 s**" in r[LINE] and r[HINT].startswith("💡 **Next:**")
    assert [cap.split(" ")[0] for cap in captions(r[STRIP])] == ["○", "○"]

    # a hand tool where the suggestion points: the canvas, the line, the suggestion and the strip follow
    import re

    row, col = (int(v) for v in re.search(r"\(row (\d+), column (\d+)\)", r[HINT]).groups())
    k = (int(labels[row, col]) + 1) % len(guide_app.classes)
    c.predict(json.dumps([row, col, guide_app.classes[k]]), api_name="/relabel_segment")
    r2 = c.predict(1.0, api_name="/after_turn")
    labels2, _ = export(c)
    assert shows(canvas(r2[EDITOR]), labels2, palette, r2[HINT]) and (labels2 != labels).any()
    assert f"≈ **{COST.relabel:.0f} s** · the same fixes by hand ≈ **{COST.relabel:.0f} s**" in r2[LINE]
    assert r2[HINT] != r[HINT]
    assert captions(r2[STRIP])[0].startswith("✎") and captions(r2[STRIP])[0].endswith(f"· {COST.relabel:.0f} s")

    # Guide (a labelled point): spent grows by a click; the saved estimate is the hand price of what it changed
    c.predict(json.dumps([[20, 20, guide_app.classes[0]]]), api_name="/guide_points")
    r3 = c.predict(1.0, api_name="/after_turn")
    info = export(c)[1]
    spent = COST.relabel + COST.click
    hand = sum(a["hand_seconds"] for a in info["actions"])
    assert f"≈ **{spent:.0f} s** · the same fixes by hand ≈ **{hand:.0f} s**" in r3[LINE]
    labels3 = export(c)[0]  # the canvas is sent again only when its picture changed
    shown = canvas(r2[EDITOR]) if (labels3 == labels2).all() else canvas(r3[EDITOR])
    assert unsent(r3[EDITOR]) == (labels3 == labels2).all()
    assert captions(r3[STRIP])[0].endswith(f"· {spent:.0f} s")
    # Ask: the crosshair is on the canvas, the suggestion says to answer
    c.predict(api_name="/ask")
    r4 = c.predict(1.0, api_name="/after_turn")
    assert "Answer my question" in r4[HINT] and (canvas(r4[EDITOR]) != shown).any()
    # Undo (the question, then the guided point): back to the relabel's canvas, line and strip mark
    c.predict(api_name="/undo")
    c.predict(api_name="/undo")
    r5 = c.predict(1.0, api_name="/after_turn")
    assert (canvas(r5[EDITOR]) == canvas(r2[EDITOR])).all() and r5[LINE] == r2[LINE]
    assert captions(r5[STRIP])[0].endswith(f"· {COST.relabel:.0f} s")
    # nothing changed since: the editor is not sent again (strokes a person is painting stay)
    assert unsent(c.predict(1.0, api_name="/after_turn")[EDITOR])
    # the opacity: 0 shows the bare photo
    r6 = c.predict(0.0, api_name="/after_turn")
    photo = np.array(Image.open(opened[5]).convert("RGB"))  # (open_images: overlay, chat, legend, status, editor, photo, ...)
    bare = (canvas(r6[EDITOR]) == photo).all(-1)
    assert bare.mean() > 0.98 and (bare.all() or "yellow ring" in r6[HINT])  # (the suggestion's ring stays opaque)

    # Guide with strokes painted on the canvas (a layer at the editor's size): the canvas comes back without them
    layer = np.zeros((*first.shape[:2], 4), np.uint8)
    layer[300:320, 100:400] = [*guide_app.palette[5], 255]
    Image.fromarray(layer).save(tmp_path / "layer.png")
    strokes = {"background": handle_file(r6[EDITOR]["background"]), "layers": [handle_file(str(tmp_path / "layer.png"))], "composite": None}
    assert c.predict(strokes, api_name="/guide")[STATUS].startswith("Guided by")
    r7 = c.predict(0.0, api_name="/after_strokes")
    assert not unsent(r7[EDITOR]) and canvas(r7[EDITOR]).shape == first.shape  # sent even where the picture is the same
    assert f"≈ **{COST.relabel + COST.click:.0f} s**" in r7[LINE]  # one class painted: priced as a click
    assert "already applied" in c.predict(strokes, api_name="/guide")[STATUS]
    assert unsent(c.predict(0.0, api_name="/after_strokes")[EDITOR])  # strokes not applied: the editor keeps them
