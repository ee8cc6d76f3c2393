"""Server time per event, in one process: the handler plus Gradio's PNG encoding of the overlay,
with the overlay at the image's own size (today) against upscaled to 512 px (before), interleaved.

    python experiments/overlay_cost.py [--image examples/scene_00.png] [--rounds 3]

Reports per-event medians for a text turn + undo and for a re-render (``view``), and the PNG's bytes.
Needs the embedded model (text guide) or ``--model``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gradio as gr  # noqa: E402

import app  # noqa: E402
from guide.models.hub import load_model  # noqa: E402
from guide.serving import render  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--image", default=str(app.ROOT / "examples" / "scene_00.png"))
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    guide_app = app.GuideApp(load_model(args.model))
    tab = guide_app.set_image(args.image, None)[0]
    png = gr.Image(format="png", interactive=False)
    sizes = {"own size": render.overlay_size, "512 px": render.display_size}
    turn: dict[str, list[float]] = {k: [] for k in sizes}
    view: dict[str, list[float]] = {k: [] for k in sizes}
    nbytes: dict[str, int] = {}
    try:
        for _ in range(args.rounds):
            for name, size in sizes.items():
                render.overlay_size = size  # render_layer looks it up at call time
                for _ in range(4):
                    t = time.perf_counter()
                    r = guide_app.chat("there is a coat on the top left", tab)
                    png.postprocess(r[1])
                    r = guide_app.undo(r[0])
                    png.postprocess(r[1])
                    tab = r[0]
                    turn[name].append((time.perf_counter() - t) / 2)
                    t = time.perf_counter()
                    out = png.postprocess(guide_app.view(tab, False)[1])
                    view[name].append(time.perf_counter() - t)
                    nbytes[name] = Path(out.path).stat().st_size
    finally:
        render.overlay_size = sizes["own size"]
    for name in sizes:
        print(f"{name:9s} text turn or undo {1000 * statistics.median(turn[name]):6.0f} ms   re-render {1000 * statistics.median(view[name]):6.0f} ms"
              f"   overlay PNG {nbytes[name] / 1024:5.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
