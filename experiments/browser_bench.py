"""What a person waits for: the app in Chromium, from an action to the updated overlay.

    python experiments/browser_bench.py --repeats 15 --json out.json
    python experiments/browser_bench.py --url http://127.0.0.1:7860/      # an app already running

Without ``--url`` it starts ``python app.py`` (``--model`` passed on) on a free loopback port. It opens the
page in headless Chromium (Debian's /usr/bin/chromium through pip's playwright, the browser test's flags),
picks the first example, then times, ``--repeats`` times each:

* ``text``: Enter in the chat box -> the overlay image changes;
* ``guide``: a painted stroke, then the Guide button -> the overlay changes (painting not timed);
* ``ask``: Ask me -> the overlay (crosshair) changes;
* ``undo``: Undo -> the overlay changes;
* ``opacity``: a click on the opacity slider -> the overlay is drawn at the new opacity (in the page: the
  slider rewrites the colour layer's opacity filter and sends nothing to the server);
* ``floor``: the page's cheapest queued round trip, an event that computes nothing (the hidden ``#gm-ping``
  button, which only updates the status line), where the app has it;
* ``floor_direct``: the same without the queue (``#gm-ping-direct``: one POST), the floor of the events
  that skip it (a text turn, Ask me and Undo on a light model).

Before each timed action the page rests ``--think`` seconds (default 0.5: a person looks at a result
before acting again), so an action is not timed while the page still finishes the last one.

A timed action is done at the first animation frame at which its result is on screen: the event has
finished (no output shows Gradio's pending indicator), the overlay ``<img>`` has loaded, and the overlay
shows a new image or (a hint that changed nothing gives the same picture) the status line shows a new
message. The status line is read from its markdown: the block's whole text also holds Gradio's pending
timer ("processing | 0.1s"), which a wait on it took for the result (this script once did: text, undo and the
floor were then timed to the first timer tick, and the next action was started while the last still ran).

Reports p50 / p95 per action in ms, on the page's clock: from the input event (its ``timeStamp``: the
keydown, pointerup or click) to that frame, so it includes input delay, Gradio's queue, the loopback round
trips, the overlay's transfer and decoding and the page's re-render, but not Playwright's own pre-click
checks or its round trips to this process (``wall`` in the JSON: the same wait timed in this process).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import latency_stats, loopback_only, start_app, stop_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STATUS = "(document.querySelector('#gm-status [data-testid=markdown]') || {}).innerText"
# the result is on screen: no pending indicator, the overlay loaded, and a new overlay or status message
DONE = ("([s, m]) => { const i = document.querySelector('#gm-overlay img');"
        " const busy = document.querySelector('#gm-overlay [data-testid=status-tracker]:not(.hide),"
        " #gm-status [data-testid=status-tracker]:not(.hide)');"
        f" return !busy && i && i.complete && (i.src !== s || {STATUS} !== m) && performance.now(); }}")
# the opacity slider's result: the colour layer's opacity filter (guide/ui/static/opacity.svg) has a new table
OPACITY_NOW = "() => document.getElementById('gm-alpha-fn').getAttribute('tableValues')"
OPACITY_DONE = f"(o) => ({OPACITY_NOW})() !== o && performance.now()"
HINTS = ["there is a coat on the top left", "there is no grass on the bottom", "there is a bag on the right"]


def paint_stroke(page, i: int) -> None:
    """A short diagonal stroke on the editor's canvas, starting a little further right each repeat ``i``."""
    canvas = page.locator("#gm-editor canvas").last.bounding_box()
    cx, cy = canvas["x"] + canvas["width"] * (0.3 + 0.03 * (i % 10)), canvas["y"] + canvas["height"] * 0.4
    page.mouse.move(cx, cy)
    page.mouse.down()
    for k in range(1, 12):
        page.mouse.move(cx + 5 * k, cy + 3 * k, steps=2)
    page.mouse.up()


def open_app(browser, url: str):
    """A page on the app with the first example picked, its input clock installed (see time_action)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1150})
    page.goto(url)
    page.wait_for_selector("#gm-editor canvas", timeout=60_000)
    page.locator(".gallery-item").first.click()
    page.wait_for_selector("#gm-overlay img", timeout=60_000)
    page.wait_for_timeout(1000)
    # The clock runs in the page: from the input event (keydown, pointerup or click, its timeStamp) to the
    # first animation frame at which the result is on screen (both performance.now(), so Playwright's own
    # pre-click checks and its round trips to this process are not counted; see ``wall`` in the JSON).
    page.evaluate("""() => { window.__gmInput = null;
        for (const ev of ['keydown', 'pointerup', 'click'])
          document.addEventListener(ev, e => { if (window.__gmInput === null) window.__gmInput = e.timeStamp; }, true); }""")
    return page


def time_action(page, action, think: float, done: str = DONE, now: str | None = None) -> tuple[float, float]:
    """Rest ``think`` s, run ``action`` and wait until ``done`` holds -> (seconds on the page's clock, wall seconds).

    Done when the event has finished (no output shows Gradio's pending indicator), the overlay has a
    loaded image, and the result is there: a new overlay image, or (a hint that changed nothing gives
    the same picture, the same file) a new status message. The status is read from its markdown, not
    the whole block, whose text also holds the pending timer ("processing | 0.1s"). ``now``: what
    ``done`` compares with (default: the overlay's src and the status message).
    """
    page.wait_for_timeout(think * 1000)  # a person looks at the last result before acting again
    before = page.evaluate(now or f"() => {{ const i = document.querySelector('#gm-overlay img'); return [i && i.src, {STATUS}]; }}")
    page.evaluate("() => { window.__gmInput = null; }")
    t = time.perf_counter()
    action()
    end = page.wait_for_function(done, arg=before, timeout=60_000, polling="raf").json_value()
    wall = time.perf_counter() - t
    start = page.evaluate("() => window.__gmInput")
    return ((end - start) / 1000 if start is not None else wall), wall


def run(url: str, repeats: int, think: float = 0.5) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {k: [] for k in ("floor", "floor_direct", "text", "guide", "ask", "undo", "opacity")}
    walls: dict[str, list[float]] = {k: [] for k in out}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = open_app(browser, url)

            def settle(action, name: str | None = None, done: str = DONE, now: str | None = None) -> None:
                page_s, wall = time_action(page, action, think, done, now)
                if name is not None:
                    out[name].append(page_s)
                    walls[name].append(wall)

            has_ping = page.locator("#gm-ping").count() > 0
            for i in range(repeats):
                if has_ping:
                    settle(lambda: page.evaluate("() => document.querySelector('#gm-ping').click()"), "floor")
                    settle(lambda: page.evaluate("() => document.querySelector('#gm-ping-direct').click()"), "floor_direct")

                box = page.locator("#gm-msg textarea")
                box.fill(HINTS[i % len(HINTS)])
                settle(lambda: box.press("Enter"), "text")
                settle(lambda: page.locator("#gm-undo").click(), "undo")

                paint_stroke(page, i)
                settle(lambda: page.locator("#gm-guide").click(), "guide")
                page.wait_for_function("() => !document.querySelector('#gm-editor .progress-text, #gm-editor .eta-bar')", timeout=60_000)

                settle(lambda: page.locator("#gm-ask").click(), "ask")
                slider = page.locator("#gm-opacity input[type=range]")
                sb = slider.bounding_box()
                frac = 0.2 + 0.6 * ((i * 7) % 10) / 10
                settle(lambda: page.mouse.click(sb["x"] + sb["width"] * frac, sb["y"] + sb["height"] / 2), "opacity",
                       OPACITY_DONE, OPACITY_NOW)
                settle(lambda: page.locator("#gm-undo").click())  # withdraw the question
                settle(lambda: page.locator("#gm-undo").click())  # take back the guide turn
        finally:
            browser.close()
    return {k: {**latency_stats(v), "ms": [round(1000 * x, 1) for x in v], "wall": latency_stats(walls[k])} for k, v in out.items() if v}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--think", type=float, default=0.5, help="seconds between one result and the next action (a person reading it)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    proc, url = (None, args.url) if args.url else start_app(args.model, None)
    loopback_only(url)
    try:
        report = run(url, args.repeats, args.think)
    finally:
        stop_app(proc)
    for name, r in report.items():
        print(f"{name:<12} n={r['n']:<3} p50 {r['p50_ms']:6.0f} ms   p95 {r['p95_ms']:6.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
