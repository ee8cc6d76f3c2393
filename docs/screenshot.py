"""Make docs/app.png: the app on the default model, mid-conversation, in headless Chromium.

    python docs/screenshot.py [--out docs/app.png] [--example 3]

Needs Debian's chromium (/usr/bin/chromium) and the playwright package (no browser download).
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "app.png"))
    p.add_argument("--example", type=int, default=3, help="which example scene to pick")
    p.add_argument("--hint", default="there is a bag on the right")
    args = p.parse_args()

    from playwright.sync_api import sync_playwright

    import app
    from guide.models.hub import load_model

    demo = app.build_demo(load_model())
    demo.queue()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.launch_kwargs())

    def chat_has(page, text: str) -> None:
        page.wait_for_function(
            "t => Array.from(document.querySelectorAll('#gm-chat .message')).some(e => e.innerText.includes(t))",
            arg=text, timeout=120_000)

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1150})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#gm-editor canvas", timeout=120_000)
            page.locator(".gallery-item").nth(args.example).click()
            chat_has(page, "New image")
            box = page.locator("#gm-msg textarea")
            box.fill(args.hint)
            box.press("Enter")
            chat_has(page, "Understood")
            page.locator("#gm-ask").click()
            chat_has(page, "What is here")
            page.wait_for_timeout(800)
            page.screenshot(path=args.out, full_page=True)
            browser.close()
    finally:
        demo.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
