"""Speed benchmark: ``python -m guide bench --model MODEL --json OUT.json``.

Medians over repeated runs of:
* head forward (``set_image``: runs once per image),
* tail forward (what every turn costs at least),
* one text turn (text guide + block + tail), when the model has a text guide,
* one click turn (backprop to convergence over cached head features),
* the same click turn re-running the whole network at every step, as the paper's
  formulation would, and the ratio between the two.
Speed goals live here, never in timed tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .backprop import BackpropSettings, guide_by_backprop
from .hub import load_model
from .session import GuideSession


def _cpu_name() -> str:
    """The CPU's marketing name where Linux tells it (platform.processor() is often empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _median_ms(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


def run_bench(model_spec: str | None, repeats: int, optimizer: str, image: np.ndarray | None = None) -> dict:
    model = load_model(model_spec)
    size = model.config.input_size
    if image is None:
        from .data import SceneDataset

        image = SceneDataset("test", size=size)[0][0]
    session = GuideSession(model, BackpropSettings(optimizer=optimizer))
    session.set_image(image)
    pred = session.predict()
    # A click that disagrees with the prediction: the centre pixel, labelled as the runner-up class.
    probs = session.probabilities()
    y, x = image.shape[0] // 2, image.shape[1] // 2
    label = int(np.argsort(probs[:, y, x])[-2])
    dev = model.device
    seg, block = model.segmenter, model.block
    x_in = model.preprocess(image)
    feats = seg.head(x_in)
    yn, xn = session.to_network(y, x)
    ys, xs, labels = (torch.tensor([v], device=dev) for v in (yn, xn, label))
    settings = BackpropSettings(optimizer=optimizer)

    def click_cached() -> int:
        return guide_by_backprop(lambda p: seg.tail(feats, block(feats.guided, p)), block.zero_params(device=dev),
                                 ys, xs, labels, settings).steps

    def click_full() -> int:
        def forward(p):
            f = seg.head(x_in)  # the paper's formulation: the whole network at every step
            return seg.tail(f, block(f.guided, p))

        return guide_by_backprop(forward, block.zero_params(device=dev), ys, xs, labels, settings).steps

    with torch.no_grad():
        head_ms = _median_ms(lambda: session.set_image(image), repeats, dev)
        tail_ms = _median_ms(lambda: seg.tail(feats), repeats, dev)
    cached_ms = _median_ms(click_cached, repeats, dev)
    full_ms = _median_ms(click_full, max(3, repeats // 3), dev)
    report = {
        "model": model.config.name or str(model.folder),
        "device": str(dev) if dev.type != "cuda" else torch.cuda.get_device_name(dev),
        "cpu": _cpu_name(),
        "threads": torch.get_num_threads(),
        "image": list(image.shape[:2]),
        "network_input": list(session.network_size),
        "optimizer": optimizer,
        "click_steps": click_cached(),
        "head_ms": head_ms,
        "tail_ms": tail_ms,
        "click_turn_ms": cached_ms,
        "click_turn_full_network_ms": full_ms,
        "full_over_cached": full_ms / cached_ms,
        "predict_changed_pixels": None,
    }
    session.add_clicks([(y, x, label)])
    report["predict_changed_pixels"] = int((session.predict() != pred).sum())
    if model.text_guide is not None:
        text = f"there is a {model.classes[label]} in the middle"

        def text_turn() -> None:
            session.add_text(text)
            session.undo()

        session.reset()
        report["text_turn_ms"] = _median_ms(text_turn, repeats, dev)
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m guide bench", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--optimizer", default=BackpropSettings.optimizer, choices=["sgd", "lbfgs"])
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    report = run_bench(args.model, args.repeats, args.optimizer)
    for k, v in report.items():
        print(f"{k:<28} {v:.2f}" if isinstance(v, float) else f"{k:<28} {v}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
