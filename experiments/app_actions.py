"""The machine time of each annotator action in the running app (issue 22): one user on loopback, each
action called through gradio_client (call to result, as a script or the page waits for it), then taken back.

    python experiments/app_actions.py --repeat 10 --json checkpoints/scenes-lraspp/eval/app-actions-cpu.json
    python experiments/app_actions.py --url http://127.0.0.1:7860/   # an app already running (loopback only)

Without ``--url`` it starts ``python app.py`` (``--model`` passed on) on a free loopback port
(experiments/load.py: start_app) and stops it afterwards. On the first example scene it calls, ``--repeat``
times each: a labelled click (``/guide_points``), a local click, a relabel of the predicted segment, the
superpixel brush, a polygon, the eraser to "unsure", Ask me then its answer, a typed hint (``/chat``), and
after each the page's redraw (``/after_turn``) and ``/undo``. Prints and writes p50 / p95 ms per action.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import example_image, latency_stats, loopback_only, start_app, stop_app  # noqa: E402

ACTIONS = {  # name -> (api_name, arguments); image pixels (row, column) of the 160x160 example scene
    "click": ("guide_points", lambda i: (json.dumps([[40 + i, 60, "sky"]]),)),
    "local click": ("local_click", lambda i: (json.dumps([40 + i, 60, "sky"]),)),
    "relabel": ("relabel_segment", lambda i: (json.dumps([80, 80 + i, "sand"]),)),
    "superpixel brush": ("superpixel_brush", lambda i: (json.dumps({"points": [[10 + i, 10], [12 + i, 30]], "label": "sky"}),)),
    "polygon": ("polygon", lambda i: (json.dumps({"vertices": [[100, 100 + i], [100, 140], [140, 120]], "label": "sand"}),)),
    "eraser": ("erase", lambda i: (json.dumps({"vertices": [[0, 150 - i], [0, 159], [9, 159]]}),)),
    "typed hint": ("chat", lambda i: ("there is sky on the top",)),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=None, help="an app already running on loopback (default: start one)")
    p.add_argument("--model", default=None, help="--model for the app this script starts")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    from gradio_client import Client, handle_file

    proc, url = (None, args.url) if args.url else start_app(args.model, None)
    loopback_only(url)
    times: dict[str, list[float]] = {}

    def call(name: str, api: str, *a) -> None:
        t = time.perf_counter()
        c.predict(*a, api_name=f"/{api}")
        times.setdefault(name, []).append(time.perf_counter() - t)

    try:
        c = Client(url, verbose=False, download_files=False)
        call("open image", "set_image", handle_file(example_image()))
        for i in range(args.repeat):
            for name, (api, make) in ACTIONS.items():
                call(name, api, *make(i))
                line = c.predict(api_name="/time_line")
                if "≈ **0 s**" in str(line).split("·")[0]:  # nothing was kept: the action failed, timing it means nothing
                    raise SystemExit(f"{name} changed nothing: {line}")
                call("redraw (after_turn)", "after_turn", 0.55)
                call("undo", "undo")
            call("ask", "ask")
            call("answer", "answer", "sky")
            call("undo", "undo")
    finally:
        stop_app(proc)
    report = {"url_given": bool(args.url), "repeat": args.repeat, "cpu_threads": os.cpu_count(),
              "actions": {k: latency_stats(v) for k, v in times.items()}}
    for name, r in report["actions"].items():
        print(f"{name:<22} n={r['n']:<4} p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
