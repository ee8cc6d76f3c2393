"""CPU seconds of one open of tiny files that decode to many pixels (the decode budget, guide/annotation/intake.py).

A zip of N copies of a 7000x7000 1-bit PNG (49 MP, ~6 KB each, a tEXt chunk of its own each so no two share
bytes) opened into a fresh data set by the app's own code (AnnotationDataset.open_paths, what /open_images
runs). ``--no-budget`` sets intake.MAX_BATCH_PIXELS beyond reach: the behaviour before the budget existed.

    OMP_NUM_THREADS=1 PYTHONPATH=. python experiments/decode_budget.py --copies 40 [--no-budget]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import Image, PngImagePlugin

from guide.annotation import intake
from guide.annotation.dataset import AnnotationDataset


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, default=40)
    p.add_argument("--side", type=int, default=7000)
    p.add_argument("--no-budget", action="store_true", help="no pixel budget (as before it existed)")
    args = p.parse_args()
    if args.no_budget:
        intake.MAX_BATCH_PIXELS = 10**15
    with tempfile.TemporaryDirectory() as tmp:
        z = Path(tmp) / "sparse.zip"
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            for i in range(args.copies):
                info = PngImagePlugin.PngInfo()
                info.add_text("copy", str(i))
                buf = io.BytesIO()
                Image.new("1", (args.side, args.side)).save(buf, "PNG", pnginfo=info)
                zf.writestr(f"big_{i}.png", buf.getvalue())
        zip_kb = round(z.stat().st_size / 1024)
        ds = AnnotationDataset(Path(tmp) / "ds", ["a", "b"], [[0, 0, 0], [255, 255, 255]], model={"name": "x", "source": "x"})
        cpu, wall = time.process_time(), time.perf_counter()
        report = ds.open_paths([z])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(json.dumps({"copies": args.copies, "side": args.side, "zip_kb": zip_kb,
                      "budget_mp": None if args.no_budget else intake.MAX_BATCH_PIXELS / 1e6, "opened": len(report.added), "cpu_s": round(cpu, 1),
                      "wall_s": round(wall, 1), "summary": report.summary(), "first_message": (report.messages or [""])[0][:160]}))


if __name__ == "__main__":
    main()
