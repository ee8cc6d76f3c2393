"""Write a data set of N annotated scenes through the app's own data-set code (guide/annotation/dataset.py),
as a person annotating with the app would leave it (for docs/teach.md's sample-efficiency curve).

    python experiments/teach_dataset.py --n 300 --out runs/teach-curve/data-300

The scenes are the first N of ``guide-train`` (the split the shipped text guide trained on).
Each goes in as a PNG file (``AnnotationDataset.add``: stored as a JPEG, as any upload),
and is saved with the label map a simulated annotator leaves: the model's unguided
prediction, hand-fixed region by region, largest wrong region first, until it reaches
``--target`` pixel accuracy (guide/evaluation/simulated.py ``hand_fix``: the last phase of the annotation-
effort annotator of ``python -m guide evaluate effort``; its clicks and answers are skipped
here because they cost seconds per image and reach the same 95 % bar). Void (255) stays void.
The data set's own split lists (``train.txt`` about 4/5 of the saved images, ``val.txt`` the
rest, by a hash of the id) are what ``train-guide --split train`` and its val check read.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from guide.annotation.dataset import AnnotationDataset  # noqa: E402
from guide.data import SceneDataset  # noqa: E402
from guide.evaluation.simulated import hand_fix, image_pixel_accuracy  # noqa: E402
from guide.models.hub import load_model  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, required=True, help="scenes to annotate (the first N of guide-train)")
    p.add_argument("--out", required=True, help="data set folder to write (new or empty)")
    p.add_argument("--model", default="checkpoints/scenes-lraspp")
    p.add_argument("--target", type=float, default=0.95, help="pixel accuracy the annotator stops at (1: the ground truth)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(args.model, device="cpu")
    scenes = SceneDataset("guide-train", size=int(model.config.input_size))
    ds = AnnotationDataset.for_model(args.out, model)
    start, accuracy = time.time(), []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            Image.fromarray(scenes[i][0]).save(Path(tmp) / f"scene-{i:05d}.png")
        report = ds.add(sorted(Path(tmp).glob("*.png")))
    ids = report.added + report.existing
    if len(ids) != args.n:
        raise SystemExit(f"added {len(ids)} of {args.n} images: {report.messages[:3]}")
    for i, image_id in enumerate(ids):
        image, gt = scenes[i]
        stored = ds.image(image_id)  # the JPEG the data set holds: what the annotator looked at
        with torch.inference_mode():
            pred = model.segmenter(model.preprocess(stored)).argmax(1)[0].to(torch.uint8).cpu().numpy()
        labels, fixes = hand_fix(pred, gt, args.target)
        labels = np.where(gt == 255, 255, labels).astype(np.uint8)
        accuracy.append(image_pixel_accuracy(labels, gt))
        ds.save(image_id, labels, {"simulated": {"annotator": "hand_fix", "target": args.target, "hand_fixes": fixes}})
    lists = Path(args.out) / "ImageSets" / "Segmentation"
    info = {"n": args.n, "train": len((lists / "train.txt").read_text().split()), "val": len((lists / "val.txt").read_text().split()),
            "target": args.target, "mean_pixel_accuracy": float(np.mean(accuracy)), "seconds": time.time() - start,
            "command": "python experiments/teach_dataset.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    (Path(args.out) / "teach_dataset.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))


if __name__ == "__main__":
    main()
