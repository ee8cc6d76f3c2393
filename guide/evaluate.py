"""Evaluation: ``python -m guide evaluate segmenter|questions ...``.

* ``segmenter``: unguided mIoU, pixel accuracy and per-class IoU on a split
  (optionally a confusion-matrix plot).
* ``questions``: the paper's Table 1 — mIoU after 0, 1, 5, ... questions answered by
  a ground-truth oracle, through the same ``GuideSession`` path the app uses.
(``evaluate text`` lives in guide/text/evaluate.py.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .backprop import BackpropSettings
from .hub import load_model
from .model import GuidedModel
from .metrics import confusion_matrix, miou, per_class_iou, pixel_accuracy
from .questions import play_twenty_questions
from .session import ASK_REGION, GuideSession


def _dataset(model: GuidedModel, data: str, split: str, root: str | None, limit: int | None):
    from .data import get_dataset

    dataset = get_dataset(data, split, root=root, size=model.config.input_size)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    return dataset, n


@torch.no_grad()
def evaluate_segmenter(
    model: GuidedModel, data: str = "scenes", split: str = "test", root: str | None = None, limit: int | None = None
) -> tuple[dict, np.ndarray]:
    """Unguided scores; returns (report dict, KxK confusion matrix)."""
    dataset, n = _dataset(model, data, split, root, limit)
    K = model.num_classes
    cm = np.zeros((K, K), dtype=np.int64)
    session = GuideSession(model)
    for i in tqdm(range(n), desc=f"evaluate segmenter ({split})"):
        image, label = dataset[i]
        session.set_image(image)
        cm += confusion_matrix(session.predict(), label, K)
    iou = per_class_iou(cm)
    report = {
        "model": model.config.name or str(model.folder),
        "split": split,
        "images": n,
        "miou": miou(cm),
        "pixel_accuracy": pixel_accuracy(cm),
        "per_class_iou": {c: (None if np.isnan(v) else float(v)) for c, v in zip(model.classes, iou)},
    }
    return report, cm


def evaluate_questions(
    model: GuidedModel,
    counts: list[int],
    data: str = "scenes",
    split: str = "test",
    root: str | None = None,
    limit: int | None = None,
    settings: BackpropSettings = BackpropSettings(),
    ask_spread: int = 0,
    ask_region: int = ASK_REGION,
) -> dict:
    """mIoU / pixel accuracy after each number of oracle-answered questions (paper Table 1)."""
    dataset, n = _dataset(model, data, split, root, limit)
    K = model.num_classes
    cms = {c: np.zeros((K, K), dtype=np.int64) for c in counts}
    session = GuideSession(model, settings, ask_spread=ask_spread, ask_region=ask_region)
    start = time.time()
    for i in tqdm(range(n), desc=f"twenty questions ({split})"):
        image, label = dataset[i]
        session.set_image(image)
        for c, pred in play_twenty_questions(session, label, counts).items():
            cms[c] += confusion_matrix(pred, label, K)
    return {
        "model": model.config.name or str(model.folder),
        "split": split,
        "images": n,
        "questions": list(counts),
        "miou": [miou(cms[c]) for c in counts],
        "pixel_accuracy": [pixel_accuracy(cms[c]) for c in counts],
        "seconds_per_image": (time.time() - start) / max(n, 1),
        "backprop": settings.__dict__,
        "ask_spread": ask_spread,
        "ask_region": ask_region,
    }


def write_reference(model: GuidedModel, image_path: str, out: str, stride: int = 4) -> dict:
    """Store a small subsampled prediction for ``image_path`` so tests can check the shipped model."""
    from PIL import Image

    session = GuideSession(model)
    session.set_image(np.asarray(Image.open(image_path).convert("RGB")))
    pred = session.predict()
    ref = {"image": image_path, "stride": stride, "labels": pred[::stride, ::stride].tolist()}
    Path(out).write_text(json.dumps(ref) + "\n")
    return ref


def plot_confusion(cm: np.ndarray, classes: list[str], path: str) -> None:
    """Row-normalised confusion matrix as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    for (r, c), v in np.ndenumerate(norm):
        if v >= 0.01:
            ax.text(c, r, f"{100 * v:.0f}", ha="center", va="center", fontsize=6, color="white" if v > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m guide evaluate", description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["segmenter", "questions", "reference"],
                   help="reference: store a prediction for tests (text hints: python -m guide evaluate text --help)")
    p.add_argument("--image", default="examples/scene_00.png", help="image for reference mode")
    p.add_argument("--model", default=None, help="model folder, checkpoints/ name or Hub owner/name@rev")
    p.add_argument("--data", default="scenes")
    p.add_argument("--root", default=None)
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N images only")
    p.add_argument("--questions", default="0,1,5,10,15,20", help="question counts (questions mode)")
    p.add_argument("--optimizer", default=BackpropSettings.optimizer, choices=["sgd", "lbfgs"])
    p.add_argument("--margin", type=float, default=BackpropSettings.margin, help="logit margin a hinted pixel must win by; 0 = the paper's bare flip")
    p.add_argument("--spread", type=int, default=0, help="skip pixels this close to earlier questions (questions mode)")
    p.add_argument("--region", type=int, default=ASK_REGION,
                   help="ask inside uncertain areas of this radius; 0 = the paper's single most uncertain pixel")
    p.add_argument("--json", default=None, help="write the report here")
    p.add_argument("--plot", default=None, help="confusion-matrix PNG (segmenter mode)")
    args = p.parse_args(argv)
    model = load_model(args.model)
    if args.what == "reference":
        assert model.folder is not None
        write_reference(model, args.image, str(model.folder / "reference.json"))
        print(f"wrote {model.folder / 'reference.json'}")
        return
    if args.what == "segmenter":
        report, cm = evaluate_segmenter(model, args.data, args.split, args.root, args.limit)
        print(f"{report['model']} on {args.split} ({report['images']} images): "
              f"mIoU {100 * report['miou']:.1f}  pixel accuracy {100 * report['pixel_accuracy']:.1f}")
        for name, v in report["per_class_iou"].items():
            print(f"  {name:<12} {'-' if v is None else f'{100 * v:5.1f}'}")
        if args.plot:
            plot_confusion(cm, model.classes, args.plot)
    else:
        counts = [int(c) for c in args.questions.split(",")]
        report = evaluate_questions(model, counts, args.data, args.split, args.root, args.limit,
                                    BackpropSettings(optimizer=args.optimizer, margin=args.margin), args.spread, args.region)
        print(f"{report['model']} on {args.split} ({report['images']} images), guided by backprop ({args.optimizer})")
        print("questions   " + "".join(f"{c:>7}" for c in counts))
        print("mIoU        " + "".join(f"{100 * v:7.1f}" for v in report["miou"]))
        print("pixel acc.  " + "".join(f"{100 * v:7.1f}" for v in report["pixel_accuracy"]))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
