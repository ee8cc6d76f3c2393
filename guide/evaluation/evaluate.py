"""Evaluation: ``python -m guide evaluate segmenter|questions ...``.

* ``segmenter``: unguided mIoU, pixel accuracy and per-class IoU on a split
  (optionally a confusion-matrix plot).
* ``questions``: the paper's Table 1 — mIoU after 0, 1, 5, ... questions answered by
  a ground-truth oracle, through the same ``Conversation`` the app uses.
* ``clicks``: the interactive-segmentation metric (RITM's protocol on semantic maps,
  guide/evaluation/simulated.py): NoC@85 / NoC@90 and mIoU after 1, 3, 5, 10, 20 simulated clicks,
  beside twenty questions on the same scenes — who asks better, the network or the person?
* ``effort``: seconds per image (guide/dialogue/cost.py) for simulated annotators with hand tools or
  guiding (guide/evaluation/annotators.py) to reach 95 % pixel accuracy and 90 % per-image mIoU;
  ``--interactions``: interactions instead of seconds (clicks, answers, then hand fixes, each 1).
(``evaluate text`` lives in guide/evaluation/text.py.)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from guide.core.backprop import BackpropSettings
from guide.core.guided import GuidedModel
from guide.core.metrics import confusion_matrix, miou, per_class_iou, pixel_accuracy
from guide.core.settings import ASK_REGION, ASK_SPREAD, AskSettings, Settings
from guide.dialogue.conversation import Conversation
from guide.dialogue.session import GuideSession
from guide.evaluation.simulated import (
    annotate,
    clicks_to_reach,
    hand_fix,
    image_miou,
    image_pixel_accuracy,
    paint_from_scratch,
    play_clicks,
    play_twenty_questions,
)
from guide.models.hub import load_model


@dataclass(frozen=True)
class EvalSetup:
    """What the evaluations (questions, clicks, effort; text hints in guide/evaluation/text.py) share:
    which scenes (data set, split, root folder, the first ``limit`` images), the session's settings
    (guide/core/settings.py) and how many processes. The one way to say these to ``evaluate_*``
    (``setup=``); the command line builds one from its flags."""

    data: str = "scenes"
    split: str = "test"
    root: str | None = None
    limit: int | None = None
    settings: Settings = field(default_factory=Settings)
    workers: int = 1

    def record(self) -> dict[str, Any]:
        """What every report carries about its setup (the old keys kept beside ``settings``)."""
        s = self.settings
        return {"backprop": dataclasses.asdict(s.clicks), "ask_spread": s.asking.spread,
                "ask_region": s.asking.region, "settings": s.to_dict()}


def _dataset(model: GuidedModel, data: str, split: str, root: str | None, limit: int | None):
    from guide.data import get_dataset

    dataset = get_dataset(data, split, root=root, size=model.config.input_size)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    return dataset, n


@torch.no_grad()
def evaluate_segmenter(model: GuidedModel, setup: EvalSetup = EvalSetup()) -> tuple[dict, np.ndarray]:
    """Unguided scores on the setup's scenes (its settings guide nothing here); returns (report
    dict, KxK confusion matrix)."""
    split = setup.split
    dataset, n = _dataset(model, setup.data, split, setup.root, setup.limit)
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


def _map_scenes(job: Callable[[int], dict], n: int, workers: int, desc: str) -> Iterator[dict]:
    """``job(i)`` for each scene i < n, in order; ``workers`` > 1 forks that many processes
    (one thread each) that inherit the model, data set and session set up before the call."""
    if workers <= 1:
        yield from (job(i) for i in tqdm(range(n), desc=desc))
        return
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=torch.set_num_threads, initargs=(1,)) as pool:
        yield from tqdm(pool.map(job, range(n)), total=n, desc=desc)


# What the forked workers read: set by each evaluate_* before _map_scenes (plain module state,
# so the per-scene jobs are top-level functions that pickle by name).
_RUN: dict[str, Any] = {}


def _setup(model: GuidedModel, data: str, split: str, root: str | None, limit: int | None, session: GuideSession,
           **extra: Any) -> int:
    dataset, n = _dataset(model, data, split, root, limit)
    if n:
        dataset[0]  # build the data set's caches once, before any fork
    _RUN.clear()
    _RUN.update(model=model, dataset=dataset, session=session, **extra)
    return n


def _questions_scene(i: int) -> dict:
    image, label = _RUN["dataset"][i]
    conversation, K = _RUN["conversation"], _RUN["model"].num_classes
    conversation.set_image(image)
    preds = play_twenty_questions(conversation, label, _RUN["counts"])
    return {c: confusion_matrix(pred, label, K) for c, pred in preds.items()}


def evaluate_questions(
    model: GuidedModel,
    counts: list[int],
    setup: EvalSetup = EvalSetup(),
) -> dict:
    """mIoU / pixel accuracy after each number of oracle-answered questions (paper Table 1)."""
    data, split, root, limit, workers = setup.data, setup.split, setup.root, setup.limit, setup.workers
    session = GuideSession(model, settings=setup.settings)
    conversation = Conversation(model, session=session, max_turns=max(counts, default=0))
    n = _setup(model, data, split, root, limit, session, counts=list(counts), conversation=conversation)
    K = model.num_classes
    cms = {c: np.zeros((K, K), dtype=np.int64) for c in counts}
    start = time.time()
    for scene in _map_scenes(_questions_scene, n, workers, f"twenty questions ({split})"):
        for c in counts:
            cms[c] += scene[c]
    return {
        "model": model.config.name or str(model.folder),
        "split": split,
        "images": n,
        "questions": list(counts),
        "miou": [miou(cms[c]) for c in counts],
        "pixel_accuracy": [pixel_accuracy(cms[c]) for c in counts],
        "seconds_per_image": (time.time() - start) / max(n, 1),
        "workers": workers,
        **setup.record(),
    }


#: interaction counts reported by evaluate clicks (the union of Table 1's and the click metric's)
CLICK_COUNTS = (0, 1, 3, 5, 10, 15, 20)


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def _clicks_scene(i: int) -> dict:
    image, label = _RUN["dataset"][i]
    conversation, K, most = _RUN["conversation"], _RUN["model"].num_classes, _RUN["max_clicks"]
    conversation.set_image(image)
    clicks = play_clicks(conversation.session, label, most)
    conversation.reset()
    asked = play_twenty_questions(conversation, label, list(range(most + 1)))
    out: dict = {"then_hand": {c: c + hand_fix(clicks[c], label, _RUN["pixel_target"])[1] for c in _RUN["counts"]}}
    for p, preds in (("clicks", clicks), ("questions", [asked[c] for c in range(most + 1)])):
        out[p] = {"scores": [image_miou(pred, label, K) for pred in preds],
                  "cms": {c: confusion_matrix(preds[c], label, K) for c in _RUN["counts"]}}
    return out


def evaluate_clicks(
    model: GuidedModel,
    max_clicks: int = 20,
    targets: tuple[float, ...] = (0.85, 0.90),
    pixel_target: float = 0.95,
    setup: EvalSetup = EvalSetup(),
) -> dict:
    """Simulated clicks (guide/evaluation/simulated.py) against twenty questions on the same scenes.

    Per image and per protocol ("clicks": the person picks where; "questions": the
    network asks): per-image mIoU after 0..max_clicks interactions (mean IoU over the
    classes present in that image's ground truth or prediction, VOID pixels ignored),
    NoC@target (interactions until it first reaches the target; ``max_clicks`` when it
    never does, counted in ``failed``), and the dataset mIoU and pixel accuracy
    (confusion matrices summed over images, as in evaluate questions) after CLICK_COUNTS
    interactions. Also, from the click trajectory: interactions to reach
    ``pixel_target`` pixel accuracy with k clicks and then hand fixes (guide/evaluation/simulated.py:
    hand_fix).
    """
    data, split, root, limit, workers = setup.data, setup.split, setup.root, setup.limit, setup.workers
    session = GuideSession(model, settings=setup.settings)
    counts = [c for c in CLICK_COUNTS if c <= max_clicks]
    conversation = Conversation(model, session=session, max_turns=max_clicks)
    n = _setup(model, data, split, root, limit, session, counts=counts, max_clicks=max_clicks,
               pixel_target=pixel_target, conversation=conversation)
    K = model.num_classes
    protocols = ("clicks", "questions")
    cms = {p: {c: np.zeros((K, K), dtype=np.int64) for c in counts} for p in protocols}
    per_image: dict[str, list[list[float]]] = {p: [] for p in protocols}
    then_hand: dict[int, list[int]] = {c: [] for c in counts}
    start = time.time()
    for scene in _map_scenes(_clicks_scene, n, workers, f"clicks and questions ({split})"):
        for p in protocols:
            per_image[p].append(scene[p]["scores"])
            for c in counts:
                cms[p][c] += scene[p]["cms"][c]
        for c in counts:
            then_hand[c].append(scene["then_hand"][c])
    report: dict = {
        "model": model.config.name or str(model.folder),
        "split": split,
        "images": n,
        "max_clicks": max_clicks,
        "counts": counts,
        "per_image_miou": "mean IoU over the classes in the image's ground truth or prediction, VOID ignored",
        "seconds_per_image": (time.time() - start) / max(n, 1),
        "workers": workers,
        **setup.record(),
    }
    for p in protocols:
        scores = per_image[p]
        report[p] = {
            "miou": [miou(cms[p][c]) for c in counts],
            "pixel_accuracy": [pixel_accuracy(cms[p][c]) for c in counts],
            "mean_image_miou": [_mean([s[c] for s in scores]) for c in counts],
            **{f"noc@{round(100 * t)}": _mean([clicks_to_reach(s, t, max_clicks) for s in scores]) for t in targets},
            **{f"failed@{round(100 * t)}": sum(max(s) < t for s in scores) for t in targets},
        }
    report["clicks_then_hand_fixes"] = {"pixel_target": pixel_target,
                                        "interactions": {str(c): _mean(v) for c, v in then_hand.items()}}
    return report


EFFORT_KEYS = ("guided", "clicks", "answers", "hand_fixes", "clicks_then_hand", "hand_fix_prediction",
               "paint_from_scratch", "unguided_accuracy", "guided_accuracy")


def _effort_scene(i: int) -> dict:
    image, label = _RUN["dataset"][i]
    session, target = _RUN["session"], _RUN["target"]
    session.set_image(image)
    pred = session.predict()
    effort = annotate(session, label, target, _RUN["max_clicks"], _RUN["max_answers"])
    return {
        "guided": effort.total, "clicks": effort.clicks, "answers": effort.answers, "hand_fixes": effort.hand_fixes,
        "clicks_then_hand": effort.clicks_then_hand,
        "hand_fix_prediction": hand_fix(pred, label, target)[1],
        "paint_from_scratch": paint_from_scratch(label, target),
        "unguided_accuracy": image_pixel_accuracy(pred, label),
        "guided_accuracy": effort.accuracy_guided,
    }


def evaluate_effort(
    model: GuidedModel,
    target: float = 0.95,
    max_clicks: int = 20,
    max_answers: int = 20,
    setup: EvalSetup = EvalSetup(),
) -> dict:
    """Interactions per image to reach ``target`` pixel accuracy (``--interactions``: each interaction counts 1).

    * ``guided``: the simulated annotator of guide/evaluation/simulated.py: annotate (clicks, then
      answers to the network's questions, then hand fixes of whole wrong regions), split
      into ``clicks``, ``answers`` and ``hand_fixes``;
    * ``clicks_then_hand``: the same annotator without the answers phase;
    * ``hand_fix_prediction``: hand fixes only, starting from the unguided prediction;
    * ``paint_from_scratch``: an empty map, one interaction per connected ground-truth region.
    """
    data, split, root, limit, workers = setup.data, setup.split, setup.root, setup.limit, setup.workers
    session = GuideSession(model, settings=setup.settings)
    n = _setup(model, data, split, root, limit, session, target=target, max_clicks=max_clicks,
               max_answers=max_answers)
    rows: dict[str, list[float]] = {k: [] for k in EFFORT_KEYS}
    start = time.time()
    for scene in _map_scenes(_effort_scene, n, workers, f"annotation effort ({split})"):
        for k in EFFORT_KEYS:
            rows[k].append(scene[k])
    return {
        "model": model.config.name or str(model.folder),
        "split": split,
        "images": n,
        "pixel_target": target,
        "interaction": "a click, an answer to the network's question, or one hand fix (painting one 4-connected "
                       "wrong region of one true class); painting from scratch: one connected ground-truth region",
        "mean": {k: _mean(v) for k, v in rows.items()},
        "median": {k: float(np.median(v)) for k, v in rows.items()},
        "reached_by_guiding": sum(a >= target for a in rows["guided_accuracy"]),
        "seconds_per_image": (time.time() - start) / max(n, 1),
        "workers": workers,
        **setup.record(),
    }


def _seconds_scene(i: int) -> dict:
    from guide.evaluation.annotators import ANNOTATORS, annotate_seconds, scratch_trace

    image, label = _RUN["dataset"][i]
    conversation, cap, targets = _RUN["conversation"], _RUN["cap"], _RUN["targets"]
    traces = {}
    for name, (guides, tools) in ANNOTATORS.items():
        if name not in _RUN["names"]:
            continue
        conversation.set_image(image)
        traces[name] = annotate_seconds(conversation, label, guides, tools, cap=cap, pixel_target=targets[0],
                                        miou_target=targets[1], priors=_RUN["priors"],
                                        rng=np.random.default_rng(i))
    traces["scratch: polygons"] = scratch_trace(label, _RUN["model"].num_classes)
    return {name: _seconds_row(trace, cap, targets) for name, trace in traces.items() if name in _RUN["names"]}


def _seconds_row(trace, cap: float, targets: tuple[float, float], fit: float | None = None) -> dict:
    """What evaluate_effort_seconds keeps of one annotator's trace on one image."""
    acc = trace.to_reach("accuracy", targets[0], cap)
    mi = trace.to_reach("miou", targets[1], cap)
    kinds: dict[str, int] = {}
    for k in trace.kinds[: acc[1]]:
        kinds[k] = kinds.get(k, 0) + 1
    return {"acc": acc, "miou": mi, "kinds": kinds, "machine": trace.machine,
            "machine_kinds": trace.kinds, "spent": trace.seconds[-1], "fit": fit}


def _carried_rows(name: str, model: GuidedModel, settings: Settings, jobs: list[int], carry) -> list[dict]:
    """One carrying annotator (guide/evaluation/annotators.py: CARRIED) through the scenes in order, in
    this process (each image learns from the ones before it, so they cannot be split up)."""
    from guide.dialogue.carry import CarryLearner
    from guide.evaluation.annotators import CARRIED, annotate_carried

    guides, tools = CARRIED[name]
    conversation = Conversation(model, session=GuideSession(model, settings=settings), max_turns=200)
    learner = CarryLearner(model, carry)
    cap, targets = _RUN["cap"], _RUN["targets"]
    rows = []
    for i in tqdm(jobs, desc=name):
        image, label = _RUN["dataset"][i]
        trace, fit = annotate_carried(conversation, learner, image, label, guides, tools, cap=cap,
                                      pixel_target=targets[0], miou_target=targets[1], priors=_RUN["priors"],
                                      rng=np.random.default_rng(i))
        rows.append(_seconds_row(trace, cap, targets, fit))
    return rows


def evaluate_effort_seconds(
    model: GuidedModel,
    pixel_target: float = 0.95,
    miou_target: float = 0.90,
    cap: float | None = None,
    priors: dict[str, float] | None = None,
    start: int = 0,
    setup: EvalSetup = EvalSetup(),
    carry: Any = None,
    annotators: list[str] | None = None,
) -> dict:
    """Seconds per image for each simulated annotator of guide/evaluation/annotators.py to reach
    ``pixel_target`` pixel accuracy and ``miou_target`` per-image mIoU, priced by guide/dialogue/cost.py.

    Per annotator: ``seconds_per_image`` (mean; an image not reached within ``cap`` counts as
    ``cap``) and ``interactions_per_image`` to the pixel target, ``reached`` (images that reach
    it within ``cap``), the same for mIoU under ``miou``, the actions by kind, and the machine
    seconds per interaction (wall clock of the Conversation calls on this CPU). ``best_hand``:
    the cheapest annotator that does not guide (lower bounds excluded); ``best_guided``: the
    cheapest that does.

    The carrying annotators (guide/evaluation/annotators.py: CARRIED) go through the scenes in order in this
    process, each image starting from a guide learnt from the ones they finished before it
    (guide/dialogue/carry.py, ``carry``: its CarrySettings, default ``CarrySettings()``); the machine
    seconds of that learning per image are under ``machine_seconds_carry_fit_per_image``.
    ``annotators``: only these names (default: all; "scratch: polygons" included).
    """
    from guide.dialogue.carry import CarrySettings
    from guide.dialogue.cost import COST
    from guide.evaluation.annotators import ANNOTATORS, CAP_SECONDS, CARRIED, LOWER_BOUNDS, PRIORS

    carry = CarrySettings() if carry is None else carry
    names = [*ANNOTATORS, *CARRIED, "scratch: polygons"]
    if annotators is not None:
        unknown = sorted(set(annotators) - set(names))
        if unknown:
            raise ValueError(f"unknown annotators {unknown}; choose among {names}")
        names = [k for k in names if k in annotators]

    cap = CAP_SECONDS if cap is None else cap
    data, split, root, limit, workers = setup.data, setup.split, setup.root, setup.limit, setup.workers
    session = GuideSession(model, settings=setup.settings)
    conversation = Conversation(model, session=session, max_turns=200)
    dataset, n = _dataset(model, data, split, root, limit if limit is None else start + limit)
    if n:
        dataset[0]
    _RUN.clear()
    _RUN.update(model=model, dataset=dataset, session=session, conversation=conversation, cap=cap,
                targets=(pixel_target, miou_target), priors=dict(PRIORS if priors is None else priors), start=start,
                names=set(names))
    rows: dict[str, list[dict]] = {k: [] for k in names}
    began = time.time()
    jobs = list(range(start, n))
    if any(k not in CARRIED for k in names):
        for scene in _map_scenes(_seconds_scene_shifted, len(jobs), workers, f"annotation seconds ({split})"):
            for k in names:
                if k not in CARRIED:
                    rows[k].append(scene[k])
    for k in names:
        if k in CARRIED:
            rows[k] = _carried_rows(k, model, setup.settings, jobs, carry)
    annotators: dict[str, dict] = {}
    for name in names:
        r = rows[name]
        machine = [m for x in r for m, kind in zip(x["machine"], x["machine_kinds"]) if kind != "undo"]
        kinds: dict[str, float] = {}
        for x in r:
            for k, v in x["kinds"].items():
                kinds[k] = kinds.get(k, 0.0) + v / max(len(r), 1)
        by_kind: dict[str, list[float]] = {}
        for x in r:
            for m, kind in zip(x["machine"], x["machine_kinds"]):
                by_kind.setdefault(kind, []).append(m)
        guides = (name in ANNOTATORS and bool(ANNOTATORS[name][0])) or name in CARRIED
        fits = [x["fit"] for x in r if x.get("fit") is not None]
        annotators[name] = {
            "guides": guides,
            **({"carried": True, "machine_seconds_carry_fit_per_image": _mean(fits)} if name in CARRIED else {}),
            "lower_bound": name in LOWER_BOUNDS,
            "seconds_per_image": _mean([x["acc"][0] for x in r]),
            "median_seconds": float(np.median([x["acc"][0] for x in r])) if r else float("nan"),
            "interactions_per_image": _mean([x["acc"][1] for x in r]),
            "reached": int(sum(x["acc"][2] for x in r)),
            "actions_per_image": kinds,
            "miou": {"seconds_per_image": _mean([x["miou"][0] for x in r]),
                     "interactions_per_image": _mean([x["miou"][1] for x in r]),
                     "reached": int(sum(x["miou"][2] for x in r))},
            "machine_seconds_per_interaction": _mean(machine),
            "machine_seconds_by_kind": {k: _mean(v) for k, v in sorted(by_kind.items())},
        }
    hand = [k for k, v in annotators.items() if not v["guides"] and not v["lower_bound"]]
    guided = [k for k, v in annotators.items() if v["guides"]]
    best_hand = min(hand, key=lambda k: annotators[k]["seconds_per_image"]) if hand else None
    best_guided = min(guided, key=lambda k: annotators[k]["seconds_per_image"]) if guided else None
    report = {
        "model": model.config.name or str(model.folder),
        "split": split,
        "images": len(jobs),
        "start": start,
        "pixel_target": pixel_target,
        "miou_target": miou_target,
        "cap_seconds": cap,
        "annotators": annotators,
        "best_hand": best_hand,
        "best_guided": best_guided,
        "guided_over_hand": (annotators[best_guided]["seconds_per_image"] / annotators[best_hand]["seconds_per_image"]
                             if best_guided and best_hand and annotators[best_hand]["seconds_per_image"] else None),
        "cost_model": COST.as_dict(),
        "priors": _RUN["priors"],
        "carry": carry.to_dict(),
        "wall_seconds_per_image": (time.time() - began) / max(len(jobs), 1),
        "workers": workers,
        **setup.record(),
    }
    return report


def _seconds_scene_shifted(j: int) -> dict:
    return _seconds_scene(j + _RUN.get("start", 0))


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


# ---------------------------------------------------------------- command line


def number_arg(kind: type, low: float, *, above: bool = False, high: float | None = None) -> Callable[[str], Any]:
    """An argparse ``type``: ``kind(text)`` at least ``low`` (more than it with ``above``; at most ``high``),
    so a value that would make the report meaningless (``--limit 0``: a table of nan; ``--cap -1``) is
    refused before any work, with argparse's one ``error: argument --x: ...`` line and exit status 2."""
    what = {int: "an integer", float: "a number"}[kind]
    bound = f"more than {low:g}" if above else f"at least {low:g}"
    if high is not None:
        bound += f" and at most {high:g}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None
        if value != value or value < low or (above and value == low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {bound}, not {text}")
        return value

    return parse


def counts_arg(text: str) -> str:
    """``--questions``: a comma list of question counts >= 0 (kept as text; main splits it)."""
    try:
        counts = [int(c) for c in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of whole numbers like 0,1,5, not {text!r}") from None
    if any(c < 0 for c in counts):
        raise argparse.ArgumentTypeError(f"question counts must be at least 0, not {text}")
    return text


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m guide evaluate", description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["segmenter", "questions", "clicks", "effort", "reference"],
                   help="reference: store a prediction for tests (text hints: python -m guide evaluate text --help)")
    p.add_argument("--image", default="examples/scene_00.png", help="image for reference mode")
    p.add_argument("--model", default=None, help="model folder, checkpoints/ name or Hub owner/name@rev")
    p.add_argument("--data", default="scenes")
    p.add_argument("--root", default=None)
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=number_arg(int, 1), default=None, help="evaluate the first N images only")
    p.add_argument("--questions", type=counts_arg, default="0,1,5,10,15,20", help="question counts (questions mode)")
    p.add_argument("--optimizer", default=BackpropSettings.optimizer, choices=["sgd", "lbfgs"])
    p.add_argument("--margin", type=number_arg(float, 0), default=BackpropSettings.margin, help="logit margin a hinted pixel must win by; 0 = the paper's bare flip")
    p.add_argument("--lr", type=number_arg(float, 0, above=True), default=BackpropSettings.lr, help="backprop learning rate")
    p.add_argument("--l2", type=number_arg(float, 0), default=BackpropSettings.l2, help="weight of the L2 penalty on the guiding parameters")
    p.add_argument("--max-steps", type=number_arg(int, 1), default=BackpropSettings.max_steps, help="backprop steps per turn at most")
    p.add_argument("--spread", type=number_arg(int, 0), default=ASK_SPREAD,
                   help="skip pixels this close to earlier questions (network pixels; 0 = anywhere, the paper)")
    p.add_argument("--region", type=number_arg(int, 0), default=ASK_REGION,
                   help="ask inside uncertain areas of this radius; 0 = the paper's single most uncertain pixel")
    p.add_argument("--max-clicks", type=number_arg(int, 1), default=20, help="clicks / questions per image at most (clicks, effort modes)")
    p.add_argument("--target", type=number_arg(float, 0, above=True, high=1), default=0.95, help="pixel accuracy the annotator stops at (effort mode)")
    p.add_argument("--miou-target", type=number_arg(float, 0, above=True, high=1), default=0.90, help="per-image mIoU the annotator also aims at (effort mode)")
    p.add_argument("--cap", type=number_arg(float, 0, above=True), default=None, help="seconds per image an annotator spends at most (effort mode; default 120)")
    p.add_argument("--interactions", action="store_true",
                   help="effort mode: count interactions (each one costs 1) instead of seconds")
    p.add_argument("--workers", type=number_arg(int, 1), default=1, help="scenes in parallel, one process (one thread) each")
    p.add_argument("--json", default=None, help="write the report here")
    p.add_argument("--plot", default=None, help="confusion-matrix PNG (segmenter mode)")
    args = p.parse_args(argv)
    model = load_model(args.model)
    if args.what == "reference":
        assert model.folder is not None
        write_reference(model, args.image, str(model.folder / "reference.json"))
        print(f"wrote {model.folder / 'reference.json'}")
        return
    clicks = BackpropSettings(optimizer=args.optimizer, margin=args.margin, lr=args.lr, l2=args.l2,
                              max_steps=args.max_steps)
    setup = EvalSetup(args.data, args.split, args.root, args.limit,
                      Settings(asking=AskSettings(spread=args.spread, region=args.region), clicks=clicks), args.workers)
    if args.what == "segmenter":
        report, cm = evaluate_segmenter(model, setup)
        print(f"{report['model']} on {args.split} ({report['images']} images): "
              f"mIoU {100 * report['miou']:.1f}  pixel accuracy {100 * report['pixel_accuracy']:.1f}")
        for name, v in report["per_class_iou"].items():
            print(f"  {name:<12} {'-' if v is None else f'{100 * v:5.1f}'}")
        if args.plot:
            plot_confusion(cm, model.classes, args.plot)
    else:
        if args.what == "questions":
            counts = [int(c) for c in args.questions.split(",")]
            report = evaluate_questions(model, counts, setup=setup)
            print(f"{report['model']} on {args.split} ({report['images']} images), guided by backprop ({args.optimizer})")
            print("questions   " + "".join(f"{c:>7}" for c in counts))
            print("mIoU        " + "".join(f"{100 * v:7.1f}" for v in report["miou"]))
            print("pixel acc.  " + "".join(f"{100 * v:7.1f}" for v in report["pixel_accuracy"]))
        elif args.what == "clicks":
            report = evaluate_clicks(model, max_clicks=args.max_clicks, setup=setup)
            print(f"{report['model']} on {args.split} ({report['images']} images): simulated clicks vs twenty questions")
            print("interactions          " + "".join(f"{c:>7}" for c in report["counts"]) + "   NoC@85  NoC@90")
            for p_ in ("clicks", "questions"):
                r = report[p_]
                print(f"{p_ + ', mIoU':<22}" + "".join(f"{100 * v:7.1f}" for v in r["miou"])
                      + f"   {r['noc@85']:6.2f}  {r['noc@90']:6.2f}")
                print(f"{p_ + ', pixel acc.':<22}" + "".join(f"{100 * v:7.1f}" for v in r["pixel_accuracy"]))
            hand = report["clicks_then_hand_fixes"]["interactions"]
            print(f"{'k clicks + hand fixes':<22}" + "".join(f"{hand[str(c)]:7.2f}" for c in report["counts"])
                  + "   (interactions to 95 % pixel accuracy)")
        elif not args.interactions:
            report = evaluate_effort_seconds(model, pixel_target=args.target, miou_target=args.miou_target, cap=args.cap,
                                             setup=setup)
            print(f"{report['model']} on {args.split} ({report['images']} images): seconds per image to "
                  f"{100 * args.target:.0f} % pixel accuracy / {100 * args.miou_target:.0f} % per-image mIoU "
                  f"(cap {report['cap_seconds']:.0f} s; reached = images within the cap)")
            for name, a in report["annotators"].items():
                print(f"  {name:<46} {a['seconds_per_image']:6.1f} s ({a['interactions_per_image']:4.2f} actions, "
                      f"{a['reached']} reached)   mIoU: {a['miou']['seconds_per_image']:6.1f} s ({a['miou']['reached']} reached)")
            print(f"best hand: {report['best_hand']}; best guided: {report['best_guided']} "
                  f"({report['guided_over_hand']:.2f}x the seconds)" if report["guided_over_hand"] is not None else "")
        else:
            report = evaluate_effort(model, target=args.target, max_clicks=args.max_clicks, max_answers=args.max_clicks,
                                     setup=setup)
            print(f"{report['model']} on {args.split} ({report['images']} images): interactions per image to "
                  f"{100 * args.target:.0f} % pixel accuracy (mean, median)")
            for k in ("guided", "clicks", "answers", "hand_fixes", "clicks_then_hand", "hand_fix_prediction",
                      "paint_from_scratch"):
                print(f"  {k:<20} {report['mean'][k]:6.2f}  {report['median'][k]:5.1f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
