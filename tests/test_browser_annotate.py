"""The many-images flow in a real browser (Playwright + Debian chromium), driven by the
keyboard shortcuts: ask (A), answer with a class (1), undo (U), set by hand (H), save &
next (S), previous (P), next (N), and a click on the thumbnail strip.

Saves a screenshot to ``artifacts/browser-annotate.png``. Skipped when /usr/bin/chromium
(or the playwright package) is missing; CI installs both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import launched  # noqa: E402
from PIL import Image
from test_browser import ARTIFACTS, CHROMIUM, chat_has, open_page  # noqa: E402  (tests/ is on sys.path: pytest prepends it)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")


def text_has(page, selector: str, text: str, timeout: float = 60_000) -> None:
    page.wait_for_function("([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)", arg=[selector, text], timeout=timeout)


@pytest.fixture
def annotate_server(app_model_dir: Path, tmp_path: Path):
    """The app on a data set folder that already holds three images (``--images DIR --out DATASET``)."""
    import app
    from guide.core.backprop import BackpropSettings
    from guide.models.hub import load_model

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        img = np.random.default_rng(i).integers(0, 255, (60, 80, 3), dtype=np.uint8)
        img[:20] = [120, 180, 240]
        Image.fromarray(img).save(folder / f"photo{i}.png")
    model = load_model(app_model_dir, device="cpu")
    demo = app.build_demo(model, BackpropSettings(optimizer="lbfgs", max_steps=5), examples=[], out=str(tmp_path / "DATASET"))
    demo.guide_app.annotate.annotator.out.add([folder])
    with launched(demo) as url:
        yield url, demo


def test_many_images_with_keyboard_shortcuts(annotate_server) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    url, demo = annotate_server
    ds = demo.guide_app.annotate.annotator.out
    ARTIFACTS.mkdir(exist_ok=True)
    with open_page(sync_api, url, ARTIFACTS / "browser-annotate-failure.png", height=1400) as page:
        # the tab opens where the work stopped: the first image, the strip, the progress, the keys
        text_has(page, "#gm-status", "Image 1 of 3: photo0")
        text_has(page, "#gm-progress", "0 / 3 saved")
        page.wait_for_function("() => document.querySelectorAll('#gm-strip img').length === 3", timeout=30_000)
        text_has(page, "#gm-keys", "save & next")

        page.locator("body").click(position={"x": 5, "y": 5})  # focus on the page, not a text box
        page.keyboard.press("a")  # ask
        chat_has(page, "What is here")
        page.keyboard.press("1")  # answer: the first class
        chat_has(page, f"Thanks: that's {demo.guide_app.classes[0]}")
        page.keyboard.press("u")  # undo
        chat_has(page, "Undone")

        # a stroke on the editor, then H: labels set by hand
        page.wait_for_selector("#gm-editor canvas", timeout=30_000)
        box = page.locator("#gm-editor canvas").last.bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx - 60, cy)
        page.mouse.down()
        for i in range(1, 20):
            page.mouse.move(cx - 60 + 6 * i, cy + 2 * i, steps=2)
        page.mouse.up()
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("h")
        chat_has(page, "(set by hand)")

        page.keyboard.press("s")  # save & next
        text_has(page, "#gm-progress", "1 / 3 saved")
        text_has(page, "#gm-status", "Image 2 of 3: photo1")
        assert ds.status("photo0") == "saved"
        assert any(s["kind"] == "paint" for s in ds.saved_conversation("photo0")["steps"])

        page.keyboard.press("p")  # previous: photo0's conversation is back
        text_has(page, "#gm-status", "Image 1 of 3: photo0 (saved)")
        chat_has(page, "(set by hand)")
        page.keyboard.press("n")  # next
        text_has(page, "#gm-status", "Image 2 of 3: photo1")

        page.locator("#gm-strip img").nth(2).click()  # the strip opens the third image
        text_has(page, "#gm-status", "Image 3 of 3: photo2")
        page.locator("#gm-download").click()  # the data set as a zip appears for download
        text_has(page, "#gm-dataset-file", ".zip")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "browser-annotate.png"), full_page=True)
    assert (ARTIFACTS / "browser-annotate.png").stat().st_size > 10_000


def test_a_reload_gets_the_tabs_data_set_back(app_model_dir: Path, tmp_path: Path) -> None:
    """Browser mode (a public Space): the page keeps a key in localStorage (gr.BrowserState);
    after a reload the tab's data set, its progress and the image in view come back."""
    sync_api = pytest.importorskip("playwright.sync_api")
    import app
    from guide.core.backprop import BackpropSettings
    from guide.models.hub import load_model

    paths = []
    for i in range(3):
        img = np.random.default_rng(i).integers(0, 255, (60, 80, 3), dtype=np.uint8)
        paths.append(tmp_path / f"photo{i}.png")
        Image.fromarray(img).save(paths[-1])
    demo = app.build_demo(load_model(app_model_dir, device="cpu"), BackpropSettings(optimizer="lbfgs", max_steps=5), examples=[])
    with launched(demo) as url, open_page(sync_api, url, ARTIFACTS / "browser-reload-failure.png", height=1400) as page:
        page.locator("#gm-annotate").get_by_text("Annotate many images").click()  # the accordion (closed without --out)
        page.locator("#gm-batch input[type=file]").set_input_files([str(p) for p in paths])
        text_has(page, "#gm-progress", "0 / 3 saved")
        page.locator("#gm-save-next").click()
        text_has(page, "#gm-progress", "1 / 3 saved")
        text_has(page, "#gm-status", "Image 2 of 3: photo1")
        page.reload()
        text_has(page, "#gm-status", "Welcome back")
        page.locator("#gm-annotate").get_by_text("Annotate many images").click()
        text_has(page, "#gm-status", "Image 2 of 3")
        text_has(page, "#gm-progress", "1 / 3 saved")
        page.wait_for_function("() => document.querySelectorAll('#gm-strip img').length === 3", timeout=30_000)
