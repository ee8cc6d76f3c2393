"""README's code runs as written: its snippets are read from README.md, not copied here,
so these tests keep checking what README says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
README_URL = "http://127.0.0.1:7860/"


def readme_python(heading: str) -> str:
    """The first ```python block in README's section under ``heading`` (e.g. "## Using the library")."""
    text = (ROOT / "README.md").read_text()
    assert f"\n{heading}\n" in text, f"README has no section {heading!r}"
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    block = re.compile(r"^```python\n(.*?)^```", re.S | re.M).search(text, start)
    assert block is not None, f"no python block after {heading!r}"
    assert not re.search(r"^#", text[start : block.start()], re.M), f"the python block is not in {heading!r}"
    return block.group(1)


def run_snippet(code: str, name: str) -> dict:
    namespace: dict = {"__name__": name}
    exec(compile(code, f"README.md ({name})", "exec"), namespace)
    return namespace


def test_the_library_snippet_runs_as_written(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code = readme_python("## Using the library")
    monkeypatch.chdir(ROOT)  # README's paths are relative to the repository
    ns = run_snippet(code, "using-the-library")
    h, w = np.asarray(Image.open(ROOT / "examples/scene_03.png")).shape[:2]
    assert ns["labels"].shape == (h, w) and ns["labels"].dtype == np.uint8
    assert 0 <= ns["y"] < h and 0 <= ns["x"] < w
    assert capsys.readouterr().out.strip()  # add_text's reply was printed
    state = ns["state"]
    stored = json.loads(json.dumps(state))  # plain data, as README says: JSON keeps it (tuples come back as lists)
    assert len(state["turns"]) == 1  # the click; undo took back the text turn
    ns["session"].undo()
    ns["session"].set_state(stored)  # "set_state it later"
    assert ns["session"].get_state() == state and ns["session"].turns == state["turns"]


def test_the_gradio_client_snippet_runs_against_the_app(app_server, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("gradio_client")
    url, _ = app_server
    code = readme_python("### Driving it from a script")
    assert code.count(README_URL) == 1, f"README's script no longer connects to {README_URL}"
    monkeypatch.chdir(ROOT)
    ns = run_snippet(code.replace(README_URL, url), "driving-it-from-a-script")
    label_png, info_json = Path(ns["label_png"]), Path(ns["info_json"])
    assert label_png.suffix == ".png" and info_json.suffix == ".json"
    info = json.loads(info_json.read_text())
    labels = np.asarray(Image.open(label_png))
    assert labels.shape == tuple(info["size"]) == np.asarray(Image.open(ROOT / "examples/scene_00.png")).shape[:2]
    assert "coat" in info["classes"] and len(info["palette"]) == len(info["classes"])
    assert labels.max() < len(info["classes"])  # pixel value = class index
    # points, chat, answer; undo took the answer back
    assert len(info["turns"]) == 2
