"""Does a text turn cost more late in a conversation? The app's own handler, timed at each depth.

    python experiments/turn_growth.py --json checkpoints/eval/turn-growth-cpu.json

Builds one tab's conversation on an example image with the app's handler (``GuideApp.chat``, what the
browser's Enter runs: reader, text guide, one tail pass, reply, overlay layer, legend, the tab's state),
and after 0, 10, 20, 30, 40 and 49 earlier turns times one more text turn (median of ``--repeats``,
each taken back with Undo, so the depth stays). The goal: a turn's cost must not grow with the
conversation (<= 1.2x the first turn's, at any turn).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HINTS = ["there is a coat on the top left", "there is no grass on the bottom", "there is a bag on the right"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--depths", default="0,10,20,30,40,49")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    import app as guide_app

    demo, _ = guide_app.demo_from_args([])
    gui = demo.guide_app
    tab = gui.set_image(str(ROOT / "examples" / "scene_00.png"), guide_app.blank_tab())[0]
    rows, depth = [], 0
    for target in sorted(int(d) for d in args.depths.split(",")):
        for attempt in range(4 * target + 10):  # the guide may take a hint back: try the next one
            if depth >= target:
                break
            tab = gui.chat(HINTS[attempt % len(HINTS)], tab)[0]
            depth = len(tab["session"]["turns"])
        else:
            raise SystemExit(f"could not build a conversation of {target} turns (stuck at {depth})")
        times = []
        for k in range(args.repeats + 1):  # the first is a warm-up
            t = time.perf_counter()
            out = gui.chat(HINTS[k % len(HINTS)], tab)
            times.append(time.perf_counter() - t)
            tab = gui.undo(out[0])[0] if len(out[0]["session"]["turns"]) > depth else out[0]
        rows.append({"earlier_turns": depth, "text_turn_ms": round(1000 * statistics.median(times[1:]), 2)})
        print(f"after {depth:2d} turns: text turn {rows[-1]['text_turn_ms']:.1f} ms", flush=True)
    first = rows[0]["text_turn_ms"]
    report = {"rows": rows, "worst_over_first": round(max(r["text_turn_ms"] for r in rows) / first, 2)}
    print(f"worst / first: {report['worst_over_first']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
