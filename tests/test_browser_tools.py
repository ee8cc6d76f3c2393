"""An annotator using the hand tools in a real browser (Playwright + Debian chromium): pick an
example, click the picture with "relabel segment", draw a polygon by clicking its corners and
pressing Close polygon, and read the time line. Skipped without /usr/bin/chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_browser import ARTIFACTS, CHROMIUM, chat_has, open_first_example, open_page, stroke_on_editor  # noqa: E402  (tests/ is on sys.path)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")


def test_annotator_uses_the_hand_tools(app_server) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    url, demo = app_server
    ARTIFACTS.mkdir(exist_ok=True)
    with open_page(sync_api, url, ARTIFACTS / "browser-tools-failure.png", height=1400) as page:
        page.wait_for_selector("#gm-editor canvas", timeout=60_000)
        first = open_first_example(page)
        time_text = "() => document.querySelector('#gm-time').innerText"
        assert "time spent on this image ≈ 0 s" in page.evaluate(time_text)

        # 1. one click on the picture relabels the predicted segment under it
        page.locator("#gm-tool label", has_text="relabel segment").click()
        box = page.locator("#gm-overlay img").bounding_box()
        # the picture is drawn inside the box at its own shape (object-fit: contain); the examples are square
        side = min(box["width"], box["height"])
        box = {"x": box["x"] + (box["width"] - side) / 2, "y": box["y"] + (box["height"] - side) / 2, "width": side, "height": side}
        page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        chat_has(page, "(set by hand)")
        page.wait_for_function("s => document.querySelector('#gm-overlay img').src !== s", arg=first, timeout=30_000)
        page.wait_for_function(f"() => ({time_text})().includes('≈ 2 s')", timeout=30_000)  # one click: 2.4 s

        # 2. a polygon: three corners clicked on the picture, then Close polygon
        page.locator("#gm-tool label", has_text="polygon").click()
        page.wait_for_function("() => document.querySelector('#gm-tool input[value=polygon]').checked", timeout=10_000)
        page.wait_for_timeout(500)
        for n, (fx, fy) in enumerate(((0.1, 0.1), (0.4, 0.1), (0.25, 0.35)), 1):
            page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_function("t => document.querySelector('#gm-status').innerText.includes(t)",
                                   arg=f"{n} corner", timeout=60_000)
        page.locator("#gm-close-polygon").click()
        page.wait_for_function("() => Array.from(document.querySelectorAll('#gm-chat .message'))"
                               ".filter(e => e.innerText.includes('(set by hand)')).length >= 2", timeout=30_000)
        # 2.4 s + 2.4 s + 3 vertices x 1.5 s = 9.3 s
        page.wait_for_function(f"() => ({time_text})().includes('≈ 9 s')", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "browser-tools.png"), full_page=True)
    assert (ARTIFACTS / "browser-tools.png").stat().st_size > 10_000


def test_annotator_paints_on_the_segmentation_and_sees_the_time_line(app_server) -> None:
    """One canvas: the editor shows the photo with the class colours over it (a picture the server
    draws after every turn, named canvas-<hash>.png); a stroke painted on it and Guide update the
    time line and bring a new canvas without the stroke; Undo takes the time back."""
    sync_api = pytest.importorskip("playwright.sync_api")
    url, demo = app_server
    ARTIFACTS.mkdir(exist_ok=True)
    with open_page(sync_api, url, ARTIFACTS / "browser-canvas-failure.png", height=1400) as page:
        canvases: list[str] = []  # the canvas pictures the page fetched, in order
        page.on("response", lambda r: canvases.append(r.url) if "/canvas-" in r.url and r.ok else None)
        page.wait_for_selector("#gm-editor canvas", timeout=60_000)
        page.locator(".gallery-item").first.click()
        chat_has(page, "New image")
        page.wait_for_function("() => document.querySelector('#gm-suggest').innerText.includes('Next:')", timeout=30_000)
        time_text = "() => document.querySelector('#gm-time').innerText"
        assert "time spent on this image ≈ 0 s" in page.evaluate(time_text)
        page.wait_for_timeout(500)
        assert canvases, "the editor did not load the segmentation canvas"
        seen = len(canvases)

        # a stroke painted on the segmentation itself, then Guide
        stroke_on_editor(page, -60, -30, 20)
        page.locator("#gm-guide").click()
        chat_has(page, "Guided by")
        # one class painted: priced as one click (2.4 s); the same fixes by hand are shown beside it
        page.wait_for_function(f"() => ({time_text})().includes('≈ 2 s') && ({time_text})().includes('by hand')", timeout=30_000)
        page.wait_for_timeout(1000)
        assert len(canvases) > seen, "no fresh canvas after Guide"
        page.screenshot(path=str(ARTIFACTS / "browser-canvas.png"), full_page=True)

        # Undo: the time line goes back
        page.locator("#gm-undo").click()
        page.wait_for_function(f"() => ({time_text})().includes('≈ 0 s')", timeout=30_000)
    assert (ARTIFACTS / "browser-canvas.png").stat().st_size > 10_000
