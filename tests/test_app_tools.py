"""The app's hand tools (guide/ui/tools.py) through the HTTP API: relabel a segment, the
superpixel brush, a polygon, the eraser; the time line and the export's priced actions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guide.cost import COST
from guide.labels import VOID
from guide.tools import segment_at

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
