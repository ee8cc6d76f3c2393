"""app.py in a real browser (Playwright + Debian chromium): pick an example, paint a
stroke on the ImageEditor canvas, press Guide, type a text hint, ask a question.

Saves a screenshot to ``artifacts/browser.png``. Skipped when /usr/bin/chromium
(or the playwright package) is missing; CI installs both.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GUIDE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")


@contextmanager
def open_page(sync_api, url: str, failure_shot: Path, height: int = 1150):
    """A headless Chromium page on ``url`` (1400 x ``height``); a screenshot to ``failure_shot``
    when the block fails, and the browser closed either way."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": height})
            page.goto(url)
            try:
                yield page
            except Exception:
                page.screenshot(path=str(failure_shot), full_page=True)
                raise
        finally:
            browser.close()


def chat_has(page, text: str, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "t => Array.from(document.querySelectorAll('#gm-chat .message')).some(e => e.innerText.includes(t))",
        arg=text,
        timeout=timeout,
    )


def open_first_example(page) -> str | None:
    """Click the first example scene, wait for its greeting and overlay; returns the overlay's src."""
    page.locator(".gallery-item").first.click()
    chat_has(page, "New image")
    page.wait_for_selector("#gm-overlay img", timeout=30_000)
    return overlay_src(page)


def stroke_on_editor(page, dx: int, dy: int, steps: int) -> None:
    """A diagonal brush stroke on the editor's canvas, from (dx, dy) px off its centre, 6 x 3 px a step."""
    box = page.locator("#gm-editor canvas").last.bounding_box()
    assert box and box["width"] > 100
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx + dx, cy + dy)
    page.mouse.down()
    for i in range(1, steps):
        page.mouse.move(cx + dx + 6 * i, cy + dy + 3 * i, steps=2)
    page.mouse.up()


def overlay_src(page) -> str | None:
    return page.locator("#gm-overlay img").first.get_attribute("src")


def test_paint_guide_chat_ask_in_browser(app_server) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    url, demo = app_server
    ARTIFACTS.mkdir(exist_ok=True)
    with open_page(sync_api, url, ARTIFACTS / "browser-failure.png") as page:
        page.wait_for_selector("#gm-editor canvas", timeout=60_000)

        # 1. an example scene: the overlay and the greeting appear
        first = open_first_example(page)
        # the class colours lie exactly over the photo, at the slider's opacity, which the page sets alone
        boxes = "['#gm-photo img', '#gm-overlay img'].map(s => JSON.stringify(document.querySelector(s).getBoundingClientRect()))"
        page.wait_for_function(f"() => {{ const [a, b] = {boxes}; return a === b; }}", timeout=30_000)
        # ...and the two pictures have the same shape (the photo at display size, the layer at the image's)
        ratios = "['#gm-photo img', '#gm-overlay img'].map(s => { const i = document.querySelector(s); return i.naturalWidth / i.naturalHeight; })"
        page.wait_for_function(f"() => {{ const [a, b] = {ratios}; return a > 0 && Math.abs(a - b) < 0.01; }}", timeout=30_000)
        # (an SVG filter scales the layer's alphas below 255: the colours, alpha 254, show at the slider's value)
        alpha = "() => +document.getElementById('gm-alpha-fn').getAttribute('tableValues').split(' ')[254]"
        assert page.evaluate("() => getComputedStyle(document.querySelector('#gm-overlay img')).filter") == 'url("#gm-alpha")'
        assert page.evaluate(alpha) == pytest.approx(0.55)
        posts: list[str] = []  # an event sent to the server is a POST (a queue join or a direct call)
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        slider = page.locator("#gm-opacity input[type=range]").bounding_box()
        page.mouse.click(slider["x"] + slider["width"] * 0.1, slider["y"] + slider["height"] / 2)
        page.wait_for_function(f"() => ({alpha})() < 0.3", timeout=10_000)
        assert overlay_src(page) == first and posts == []

        # 2. a stroke on the editor canvas (default brush: the first class, sky)
        stroke_on_editor(page, -80, -40, 25)
        page.locator("#gm-guide").click()
        chat_has(page, "Guided by")

        # 3. a text hint in the chat box
        box = page.locator("#gm-msg textarea")
        box.fill("there is a coat on the top left")
        box.press("Enter")
        chat_has(page, "there is a coat on the top left")
        chat_has(page, "Understood: find coat" if demo.guide_app.has_text_guide else "no text guide")
        # the overlay shows the guided prediction (overlay files are named by content)
        page.wait_for_function("s => document.querySelector('#gm-overlay img').src !== s", arg=first, timeout=30_000)
        # the editor came back with the strokes cleared, not stuck "processing"
        page.wait_for_function("() => !document.querySelector('#gm-editor .progress-text, #gm-editor .eta-bar')", timeout=30_000)

        # 4. the network asks; the crosshair is drawn on the overlay
        before_ask = overlay_src(page)
        page.locator("#gm-ask").click()
        chat_has(page, "What is here")
        page.wait_for_function("s => document.querySelector('#gm-overlay img').src !== s", arg=before_ask, timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "browser.png"), full_page=True)

        # 5. after Guide, an event that changes nothing sends one request: the page does not read back
        # (fetch and re-upload) the editor or other outputs at every event (guide/ui/layout.py, `shown`)
        sent: list[str] = []
        page.on("request", lambda r: sent.append(f"{r.method} {r.url}"))
        page.evaluate("() => document.querySelector('#gm-ping-direct').click()")
        page.wait_for_function("() => document.querySelector('#gm-status [data-testid=markdown]').innerText.startsWith('ping')", timeout=30_000)
        page.wait_for_timeout(500)
        assert len(sent) == 1 and "/run/predict" in sent[0], sent
        # ...and nothing of the session is recorded in the browser (Gradio's run history is off: app.launch_kwargs)
        # (the one thing kept is the tab's work key, a random token: guide/ui/annotate.py's gr.BrowserState)
        stored = page.evaluate("() => Object.fromEntries(Object.entries(localStorage))")
        assert list(stored) == ["guideme-work"] and len(stored["guideme-work"]) < 1000, stored
    assert (ARTIFACTS / "browser.png").stat().st_size > 10_000


def test_model_selector_switches_the_tab(models_server) -> None:
    """GUIDE_MODELS fills the model selector: choosing the other model restarts the chat
    (said so), and the legend and examples follow the model."""
    sync_api = pytest.importorskip("playwright.sync_api")
    url, demo, tiny = models_server
    ARTIFACTS.mkdir(exist_ok=True)
    legend = "(document.querySelector('.gm-legend') || {innerText: ''}).innerText"  # null while the legend is re-rendered
    with open_page(sync_api, url, ARTIFACTS / "browser-models-failure.png") as page:
        page.wait_for_selector("#gm-model input", timeout=60_000)
        page.wait_for_function(f"() => {legend}.includes('aeroplane')", timeout=30_000)  # the default: VOC classes

        page.locator("#gm-model input").click()
        page.locator("ul[role=listbox] li", has_text="tiny-app").first.click()
        chat_has(page, "Switched to")
        page.wait_for_function(f"() => {legend}.includes('coat') && !{legend}.includes('aeroplane')", timeout=30_000)

        page.locator(".gallery-item:visible").first.click()  # an example: the new model answers
        chat_has(page, "New image")
        page.wait_for_selector("#gm-overlay img", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "browser-models.png"), full_page=True)
