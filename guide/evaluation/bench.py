"""Speed benchmark: ``python -m guide bench --model MODEL`` or ``--arch ARCH --size 520``.

``--model``: a model folder, medians over repeated runs of
* head forward (``set_image``: runs once per image),
* tail forward (what every turn costs at least),
* one text turn (text guide + block + tail), when the model has a text guide,
* one click turn (backprop to convergence over cached head features, the tail evaluated
  at the hinted pixels only: guide/core/pointtail.py), the same with the dense tail at every
  step, and re-running the whole network at every step as the paper's formulation would.

``--arch ARCH --size S`` (or ``--all-archs``): a randomly initialised torchvision
architecture with 21 classes at SxS (timings do not depend on weight values), so every
supported architecture is measurable without its weights:
* ``head_ms``, ``tail_ms``;
* ``click_turn_ms``: a fixed 28 backprop steps for one click plus the final dense tail
  pass that renders the result; ``click_step_ms`` = (turn - render) / 28 (plan included);
  ``click_over_tail`` = turn / tail (goal: <= 3);
* ``dense_click_turn_ms``: the same turn with the dense tail at every step (extrapolated
  to 28 steps from ``dense_steps_measured`` when they are slow);
* ``text_style_turn_ms``: a guiding block with random parameters + one tail forward.
The report names the device (GPU name, or CPU model and threads). Speed goals live here,
never in timed tests.
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

from guide.core.backprop import BackpropSettings, guide_by_backprop
from guide.core.pointtail import click_forward, pick
from guide.core.split import SplitSegmenter
from guide.dialogue.session import GuideSession
from guide.models.architectures import ARCHITECTURES, build_segmenter
from guide.models.hub import load_model

CLICK_STEPS = 28  # the benchmark's click turn: a fixed number of steps, never stopping early


def _cpu_name() -> str:
    """The CPU's marketing name where Linux tells it (platform.processor() is often empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """What ran the benchmark, in words: the GPU's name, or the CPU's and its thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{_cpu_name()} (CPU, {torch.get_num_threads()} threads)"


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda but torch sees no CUDA device")
    return torch.device(name)


def _median_ms(fn: Callable[[], object], repeats: int, device: torch.device, warmup: bool = True) -> float:
    if warmup:
        fn()
    times = []
    for _ in range(max(1, repeats)):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


def run_arch_bench(arch: str, size: int, device: torch.device, repeats: int = 5, dense_steps: int | None = None,
                   num_classes: int = 21, alpha_size: int = 10, seed: int = 0) -> dict:
    """Time a randomly initialised ``arch`` at ``size`` x ``size`` (see the module docstring)."""
    from guide.core.block import GuidingBlock

    torch.manual_seed(seed)
    net = build_segmenter(arch, num_classes).eval().requires_grad_(False)
    seg = SplitSegmenter(net).to(device)
    x = torch.randn(1, 3, size, size, device=device)
    with torch.no_grad():
        feats = seg.head(x)
    channels, h, w = (int(s) for s in feats.guided.shape[1:])
    block = GuidingBlock(channels, alpha_size, alpha_size)
    # One click in the middle, labelled with a class; 28 steps whatever the logits say.
    ys, xs = torch.tensor([size // 2], device=device), torch.tensor([size // 3], device=device)
    labels = torch.tensor([1], device=device)
    settings = BackpropSettings(max_steps=CLICK_STEPS, margin=float("inf"))

    with torch.no_grad():
        slow = _median_ms(lambda: seg.tail(feats), 1, device) > 500  # ResNets at 520 px on a small CPU
        reps = 1 if slow else repeats  # ...keep repeats small
        head_ms = _median_ms(lambda: seg.head(x), reps, device, warmup=not slow)
        tail_ms = _median_ms(lambda: seg.tail(feats), max(reps, 2), device, warmup=False)

    def click_turn(fast: bool, steps: int = CLICK_STEPS) -> tuple[int, bool]:
        forward, is_fast = click_forward(seg, block, feats, feats.guided, ys, xs, fast=fast)
        result = guide_by_backprop(forward, block.zero_params(device=device), labels,
                                   BackpropSettings(max_steps=steps, margin=settings.margin))
        with torch.no_grad():
            seg.tail(feats, block(feats.guided, result.params))  # the final render
        return result.steps, is_fast

    steps, is_fast = click_turn(True)
    assert steps == CLICK_STEPS
    turn_ms = _median_ms(lambda: click_turn(True), max(reps, 2), device, warmup=False)  # warmed above
    n_dense = dense_steps if dense_steps is not None else (3 if slow else CLICK_STEPS)
    dense_ms = _median_ms(lambda: click_turn(False, n_dense), reps, device, warmup=not slow)
    if n_dense != CLICK_STEPS:  # extrapolate the optimisation, keep one render
        dense_ms = tail_ms + (dense_ms - tail_ms) * CLICK_STEPS / n_dense

    p = block.zero_params(device=device)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    p = type(p)(*(0.1 * torch.randn(t.shape, generator=gen).to(device) for t in p.tensors()))
    with torch.no_grad():
        text_ms = _median_ms(lambda: seg.tail(feats, block(feats.guided, p)), reps, device, warmup=not slow)
    return {
        "arch": arch,
        "size": size,
        "device": device_name(device),
        "torch": torch.__version__,
        "split_layer": seg.layer,
        "guided_shape": [channels, h, w],
        "fast_path": is_fast,
        "repeats": reps,
        "head_ms": round(head_ms, 2),
        "tail_ms": round(tail_ms, 2),
        "click_step_ms": round((turn_ms - tail_ms) / CLICK_STEPS, 3),
        "click_turn_ms": round(turn_ms, 2),
        "click_over_tail": round(turn_ms / tail_ms, 2),
        "dense_click_turn_ms": round(dense_ms, 1),
        "dense_steps_measured": n_dense,
        "dense_over_fast": round(dense_ms / turn_ms, 1),
        "text_style_turn_ms": round(text_ms, 2),
    }


def run_bench(model_spec: str | None, repeats: int, optimizer: str, image: np.ndarray | None = None,
              device: torch.device | None = None) -> dict:
    model = load_model(model_spec, device=device)
    size = model.config.input_size
    if image is None:
        from guide.data import SceneDataset

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

    def click_cached(fast: bool = True) -> int:
        forward, _ = click_forward(seg, block, feats, feats.guided, ys, xs, fast=fast)
        return guide_by_backprop(forward, block.zero_params(device=dev), labels, settings).steps

    def click_full() -> int:
        def forward(p):
            f = seg.head(x_in)  # the paper's formulation: the whole network at every step
            return pick(seg.tail(f, block(f.guided, p)), ys, xs)

        return guide_by_backprop(forward, block.zero_params(device=dev), labels, settings).steps

    with torch.no_grad():
        head_ms = _median_ms(lambda: session.set_image(image), repeats, dev)
        tail_ms = _median_ms(lambda: seg.tail(feats), repeats, dev)
    cached_ms = _median_ms(click_cached, repeats, dev)
    dense_ms = _median_ms(lambda: click_cached(False), repeats, dev)
    full_ms = _median_ms(click_full, max(1, repeats // 3), dev)
    report = {
        "model": model.config.name or str(model.folder),
        "device": device_name(dev),
        "cpu": _cpu_name(),
        "threads": torch.get_num_threads(),
        "image": list(image.shape[:2]),
        "network_input": list(session.network_size),
        "optimizer": optimizer,
        "click_steps": click_cached(),
        "head_ms": head_ms,
        "tail_ms": tail_ms,
        "click_turn_ms": cached_ms,
        "click_turn_dense_tail_ms": dense_ms,
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


def _print(report: dict) -> None:
    for k, v in report.items():
        print(f"{k:<28} {v:.2f}" if isinstance(v, float) else f"{k:<28} {v}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m guide bench", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="a model folder (default: the embedded model)")
    p.add_argument("--arch", default=None, choices=sorted(ARCHITECTURES), help="a randomly initialised architecture")
    p.add_argument("--all-archs", action="store_true", help="every supported architecture, one JSON for all")
    p.add_argument("--size", type=int, default=520, help="input side for --arch / --all-archs")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--repeats", type=int, default=None, help="default: 20 for --model, 5 for --arch")
    p.add_argument("--dense-steps", type=int, default=None,
                   help="steps of the dense click turn to time (extrapolated to 28; default 28, 3 when slow)")
    p.add_argument("--optimizer", default=BackpropSettings.optimizer, choices=["sgd", "lbfgs"])
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    device = _pick_device(args.device)
    if args.arch or args.all_archs:
        archs = list(ARCHITECTURES) if args.all_archs else [args.arch]
        reports = []
        for arch in archs:
            report = run_arch_bench(arch, args.size, device, args.repeats or 5, args.dense_steps)
            _print(report)
            print(flush=True)
            reports.append(report)
        out: dict | list = reports if args.all_archs else reports[0]
    else:
        out = run_bench(args.model, args.repeats or 20, args.optimizer, device=device)
        _print(out)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
