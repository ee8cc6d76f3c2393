"""Does the page slow down as a session goes on, and what does a do-nothing event send?

    python experiments/page_probe.py --rounds 30
    python experiments/page_probe.py --rounds 4 --guide     # with a painted stroke and Guide each round

Starts ``python app.py`` on loopback, opens it in headless Chromium (browser_bench.py's flags), picks the
first example, then plays ``--rounds`` rounds of: a text turn, Undo, (with ``--guide``) a stroke and
Guide, and the do-nothing event (``#gm-ping-direct``). Prints, per round, each action's time on the
page's clock (browser_bench.py's rule: input event to the first frame with the result on screen) and the
requests the do-nothing event made (one POST when the page does not re-read other components), and at the
end what the page keeps in localStorage. A diagnosis tool for docs/speed.md's "In the browser" findings: the
editor re-uploaded at every event, and Gradio's run history made every event's cost grow with the
session (to see them, copy this script and browser_bench.py into a checkout of the commits docs/speed.md names).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_bench import ARGS, CHROMIUM, HINTS, open_app, paint_stroke, time_action  # noqa: E402
from load import loopback_only, start_app, stop_app  # noqa: E402


def run(url: str, rounds: int, guide: bool) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {"text": [], "undo": [], "guide": [], "ping": [], "ping_requests": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = open_app(browser, url)
            sent: list[str] = []
            page.on("request", lambda r: sent.append(f"{r.method} {r.url.split('/gradio_api/')[-1][:40]}"))

            def timed(action) -> float:
                return round(1000 * time_action(page, action, 0.5)[0], 1)

            box = page.locator("#gm-msg textarea")
            for i in range(rounds):
                box.fill(HINTS[i % len(HINTS)])
                out["text"].append(timed(lambda: box.press("Enter")))
                out["undo"].append(timed(lambda: page.locator("#gm-undo").click()))
                if guide:
                    paint_stroke(page, i)
                    out["guide"].append(timed(lambda: page.locator("#gm-guide").click()))
                    page.wait_for_function("() => !document.querySelector('#gm-editor .progress-text, #gm-editor .eta-bar')", timeout=60_000)
                page.wait_for_timeout(500)
                sent.clear()
                out["ping"].append(timed(lambda: page.evaluate("() => document.querySelector('#gm-ping-direct').click()")))
                page.wait_for_timeout(500)  # late requests
                out["ping_requests"].append(list(sent))
                print(f"round {i}: text {out['text'][-1]} ms, undo {out['undo'][-1]} ms"
                      + (f", guide {out['guide'][-1]} ms" if guide else "")
                      + f", do-nothing {out['ping'][-1]} ms with {len(sent)} request(s)", flush=True)
            out["local_storage_keys"] = page.evaluate("() => Object.keys(localStorage)")
            out["local_storage_chars"] = page.evaluate("() => Object.values(localStorage).reduce((n, v) => n + v.length, 0)")
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=None, help="an app already running (loopback only)")
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--guide", action="store_true", help="paint a stroke and press Guide each round")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.url:
        loopback_only(args.url)
    proc, url = (None, args.url) if args.url else start_app(None, None)
    try:
        out = run(url, args.rounds, args.guide)
    finally:
        stop_app(proc)
    print(f"localStorage: {len(out['local_storage_keys'])} key(s), {out['local_storage_chars']} characters")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
