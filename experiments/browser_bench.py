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
* ``opacity``: a click on the opacity slider -> the overlay changes;
* ``floor``: the page's cheapest round trip, an event that computes nothing (the hidden ``#gm-ping``
  button, which only updates the status line), where the app has it.

A timed action is done when the overlay shows a new image that has loaded, or (a hint that changed nothing
gives the same picture) when the status line has changed and the overlay is loaded.

Reports p50 / p95 per action in ms. Times are wall-clock in this process around the action and a
``requestAnimationFrame``-polled wait for the DOM change, so they include Gradio's queue, the network
round trip over loopback, image transfer and decoding in the page.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import latency_stats, loopback_only, start_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HINTS = ["there is a coat on the top left", "there is no grass on the bottom", "there is a bag on the right"]


def run(url: str, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {k: [] for k in ("floor", "text", "guide", "ask", "undo", "opacity")}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1150})
            page.goto(url)
            page.wait_for_selector("#gm-editor canvas", timeout=60_000)
            page.locator(".gallery-item").first.click()
            page.wait_for_selector("#gm-overlay img", timeout=60_000)
            page.wait_for_timeout(1000)

            def src() -> str | None:
                return page.locator("#gm-overlay img").first.get_attribute("src")

            def timed(name: str, action) -> None:
                # Done when the overlay shows a new image, or, where the picture is the same as before (a hint
                # that changed nothing gives the same file), when the status line has changed and the image is
                # loaded: every timed event says something other than the event before it.
                before = [src(), status.inner_text()]
                t = time.perf_counter()
                action()
                page.wait_for_function("([s, m]) => { const i = document.querySelector('#gm-overlay img');"
                                       " const st = document.querySelector('#gm-status').innerText;"
                                       " return i && i.complete && (i.src !== s || st !== m); }",
                                       arg=before, timeout=60_000, polling="raf")
                out[name].append(time.perf_counter() - t)

            has_ping = page.locator("#gm-ping").count() > 0
            status = page.locator("#gm-status")
            for i in range(repeats):
                if has_ping:
                    before = status.inner_text()
                    t = time.perf_counter()
                    page.evaluate("() => document.querySelector('#gm-ping').click()")
                    page.wait_for_function("s => document.querySelector('#gm-status').innerText !== s", arg=before,
                                           timeout=60_000, polling="raf")
                    out["floor"].append(time.perf_counter() - t)

                box = page.locator("#gm-msg textarea")
                box.fill(HINTS[i % len(HINTS)])
                timed("text", lambda: box.press("Enter"))
                timed("undo", lambda: page.locator("#gm-undo").click())

                canvas = page.locator("#gm-editor canvas").last.bounding_box()
                cx, cy = canvas["x"] + canvas["width"] * (0.3 + 0.03 * (i % 10)), canvas["y"] + canvas["height"] * 0.4
                page.mouse.move(cx, cy)
                page.mouse.down()
                for k in range(1, 12):
                    page.mouse.move(cx + 5 * k, cy + 3 * k, steps=2)
                page.mouse.up()
                timed("guide", lambda: page.locator("#gm-guide").click())
                page.wait_for_function("() => !document.querySelector('#gm-editor .progress-text, #gm-editor .eta-bar')", timeout=60_000)

                timed("ask", lambda: page.locator("#gm-ask").click())
                slider = page.locator("#gm-opacity input[type=range]")
                sb = slider.bounding_box()
                frac = 0.2 + 0.6 * ((i * 7) % 10) / 10
                timed("opacity", lambda: page.mouse.click(sb["x"] + sb["width"] * frac, sb["y"] + sb["height"] / 2))
                page.locator("#gm-undo").click()  # withdraw the question
                page.wait_for_timeout(300)
                page.locator("#gm-undo").click()  # take back the guide turn
                page.wait_for_timeout(300)
        finally:
            browser.close()
    return {k: latency_stats(v) for k, v in out.items() if v}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    proc, url = (None, args.url) if args.url else start_app(args.model, None)
    loopback_only(url)
    try:
        report = run(url, args.repeats)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
    for name, r in report.items():
        print(f"{name:<8} n={r['n']:<3} p50 {r['p50_ms']:6.0f} ms   p95 {r['p95_ms']:6.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
