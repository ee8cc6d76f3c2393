"""Time ``train-guide`` at torchvision's real input size (520 px, shorter side) per architecture:
random weights in torchvision's real layout (timing and mechanics, not quality), a
data set of photo-sized images of mixed sizes written as the app writes one, cached features.

    python experiments/teach_speed.py --json checkpoints/eval/teach-speed-cpu.json [--archs ...] [--threads 2]

Per architecture: seconds per image to cache the frozen head's features (once per training),
milliseconds per training step at ``--batch`` (the mean over ``--steps`` steps after one
warm-up step), the features' megabytes per image (what ``--cache-mb`` budgets), and the time
100 / 300 images would take with the app's budget rule (guide/training/teach.py: TEACH_STEPS steps or
TEACH_MINUTES minutes, whichever comes first, plus caching).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from guide.models.architectures import ARCHITECTURES, build_segmenter  # noqa: E402


def photo_dataset(root: Path, model, n: int) -> Path:
    """``n`` random photos of mixed sizes (VOC's typical 500 x 375 and others), saved with random
    label maps through the app's data-set code."""
    from PIL import Image

    from guide.annotation.dataset import AnnotationDataset

    rng = np.random.default_rng(0)
    sizes = [(375, 500), (500, 375), (333, 500), (480, 640), (500, 500), (281, 500)]
    pics = root / "pics"
    pics.mkdir(parents=True)
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(pics / f"p{i:03d}.png")
    ds = AnnotationDataset.for_model(root / "dataset", model)
    for image_id in ds.add(sorted(pics.glob("*.png"))).added:
        e = ds.entry(image_id)
        labels = rng.integers(0, len(model.classes), (e["height"] // 25 + 1, e["width"] // 25 + 1)).astype(np.uint8)
        labels = np.kron(labels, np.ones((25, 25), np.uint8))[: e["height"], : e["width"]]  # blobs, not noise
        ds.save(image_id, labels, {"random": True})
    # every image for training (the timing needs no val)
    lists = root / "dataset" / "ImageSets" / "Segmentation"
    (lists / "train.txt").write_text((lists / "trainval.txt").read_text())
    return root / "dataset"


def time_arch(arch: str, args: argparse.Namespace, tmp: Path) -> dict:
    from guide.core.guided import GuidedModel
    from guide.models.pretrained import pretrained_config
    from guide.training.text import Hooks, parse_args, train_guide

    torch.manual_seed(0)
    net = build_segmenter(arch, 21).eval()
    config = pretrained_config(arch, net)
    model = GuidedModel(config, net, device="cpu", source=f"torchvision {arch} (random weights)")
    data = photo_dataset(tmp / arch, model, args.images)
    marks: dict[str, list[float]] = {"cache": [], "train": []}

    def progress(report: dict) -> None:
        marks.setdefault(report["phase"], []).append(time.perf_counter())

    targs = parse_args(["--data", "voc", "--root", str(data), "--split", "train", "--out", str(tmp / f"{arch}-out"),
                        "--work-dir", str(tmp / f"{arch}-work"), "--ops", "both", "--steps", str(args.steps + 1),
                        "--batch", str(args.batch), "--val", "0", "--threads", str(args.threads), "--scenes", str(args.images)])
    train_guide(targs, model=model, hooks=Hooks(progress=progress))
    cache_s = marks["cache"][-1] - marks["cache"][0]  # the head over the images (from the first report, at 0 done)
    steps = np.diff(marks["train"])  # step k ends at marks["train"][k]; the first (warm-up) is left out
    from guide.training.text import features_mb

    per_step = float(steps.mean())
    mb = features_mb(model.segmenter, model)
    row = {"arch": arch, "input_size": int(config.input_size), "split_layer": config.split_layer, "batch": args.batch,
           "images": args.images, "cache_s_per_image": cache_s / args.images, "ms_per_step": 1000 * per_step,
           "steps_timed": len(steps), "features_mb_per_image": mb}
    for n in (100, 300):
        train_s = min(args.budget_steps * per_step, 60 * args.budget_minutes)
        row[f"minutes_for_{n}_images"] = (n * cache_s / args.images + train_s) / 60
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> None:
    from guide.training.teach import TEACH_BATCH, TEACH_MINUTES, TEACH_STEPS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", nargs="*", default=list(ARCHITECTURES))
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--steps", type=int, default=3, help="timed steps (after one warm-up step)")
    p.add_argument("--batch", type=int, default=TEACH_BATCH)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--budget-steps", type=int, default=TEACH_STEPS)
    p.add_argument("--budget-minutes", type=float, default=TEACH_MINUTES)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.archs:
            rows.append(time_arch(arch, args, Path(tmp)))
            write(args, rows, argv)  # after each architecture: a slow one cut short keeps the rest


def write(args: argparse.Namespace, rows: list[dict], argv: list[str] | None) -> None:
    report = {"device": "cpu", "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
              "threads": args.threads, "torch": torch.__version__,
              "note": "a shared machine (2 cores, several people's jobs running): times are upper bounds",
              "budget": {"steps": args.budget_steps, "minutes": args.budget_minutes, "batch": args.batch},
              "command": "python experiments/teach_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "rows": rows}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
