"""Simulated annotators that pay in seconds: hand tools against guiding.

Each annotator brings one image towards two targets, (a) ``PIXEL_TARGET`` pixel accuracy
and (b) ``MIOU_TARGET`` per-image mIoU (VOID ignored; guide/evaluation/simulated.py), through the same
:class:`~guide.dialogue.conversation.Conversation` the app uses, paying each action's price from
guide/dialogue/cost.py. It stops when both are reached, when ``cap`` seconds are spent, or when no
action it knows helps any more.

Which action next: the one with the most **expected pixels fixed per second**
(after target (a): the most per-image mIoU gained per second, hand tools only).

* Hand tools (a person sees what they will set, so their gain is exact; computed here
  from the ground truth, then done through the Conversation):
  ``polygon`` around a wrong region (vertices from its outline at the cost model's
  tolerance; the rasterised polygon is what is set), ``brush`` tracing the region's
  outline, ``superpixel`` brush sweeping the superpixels mostly inside it, ``relabel``
  one click on the predicted segment under the region's interior point; and, only for
  the labelled lower bound, ``ideal`` (the region painted exactly in one interaction).
  Candidates: the ``TOP_REGIONS`` largest wrong regions (guide/evaluation/simulated.py: wrong_regions).
* Guiding (its outcome is unknown before it is tried): ``click`` on the interior of the
  largest wrong region (guide/evaluation/simulated.py: next_click), ``answer`` to the network's
  question, ``hint``: the largest error of the hint generator's candidates
  (guide/text/generator.py) put into words. Expected gain = a rate times the pixels the
  person can see it aims at (the largest wrong region for a click or an answer, the
  candidate's pixels for a hint). The rate starts at a prior (``PRIORS``, chosen on
  ``val``) and is updated on this image with what each try really fixed (a running mean).
  A guiding action that made the map worse is undone (paying ``cost.undo``).

All maps are HxW (row, col) at image resolution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from guide.core.labels import VOID
from guide.core.metrics import confusion_matrix, per_class_iou
from guide.dialogue.conversation import Conversation, UserError
from guide.dialogue.cost import COST, CostModel, outline_length, polygon_vertices
from guide.evaluation.simulated import interior_point, next_click, wrong_regions

PIXEL_TARGET = 0.95
MIOU_TARGET = 0.90
CAP_SECONDS = 120.0  # half of a full VOC image by polygons (239.7 s, Bearman et al. 2016)
TOP_REGIONS = 8
GUIDE_KINDS = ("click", "answer", "hint")  # ("local click": Conversation.local_click, a click whose change stays local)
HAND_TOOLS = ("polygon", "brush", "superpixel", "relabel")
# Expected pixels fixed per pixel aimed at, before this image shows better: chosen on the first 20 val
# scenes among 0.25x, 0.5x, 1x, 2x these (experiments/effort_val.py; checkpoints/scenes-lraspp/eval/effort-val/).
PRIORS = {"click": 0.5, "answer": 0.25, "hint": 0.5, "local click": 0.5}

#: name -> (guiding kinds, hand tools): the annotators evaluate effort compares
ANNOTATORS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "hand: ideal brush (lower bound)": ((), ("ideal",)),
    "hand: polygons": ((), ("polygon",)),
    "hand: brush": ((), ("brush",)),
    "hand: all tools": ((), HAND_TOOLS),
    "guided: clicks + all tools": (("click",), HAND_TOOLS),
    "guided: clicks, questions, hints + all tools": (GUIDE_KINDS, HAND_TOOLS),
    "guided: local clicks + all tools": (("local click",), HAND_TOOLS),
}
LOWER_BOUNDS = ("hand: ideal brush (lower bound)",)
#: name -> (guiding kinds, hand tools): annotators that go through the images in order and start each
#: from a guide carried over from the images they finished before it (guide/dialogue/carry.py; annotate_carried)
CARRIED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "guided: carried guide + all tools": ((), HAND_TOOLS),
    "guided: carried guide, local clicks + all tools": (("local click",), HAND_TOOLS),
}


@dataclass
class Candidate:
    """One hand action: what it costs, the pixels it sets to ``label``, and how to do it."""

    tool: str
    seconds: float
    mask: np.ndarray
    label: int
    run: Callable[[Conversation], object]


@dataclass
class Trace:
    """What one annotator did on one image: per action its kind, the seconds spent after it,
    pixel accuracy and per-image mIoU after it, and the machine seconds it took."""

    kinds: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    miou: list[float] = field(default_factory=list)
    machine: list[float] = field(default_factory=list)

    def first(self, scores: list[float], target: float) -> int | None:
        return next((i for i, s in enumerate(scores) if s >= target), None)

    def to_reach(self, which: str, target: float, cap: float) -> tuple[float, int, bool]:
        """(seconds, interactions, reached) until ``which`` ("accuracy" / "miou") reaches ``target``
        (index 0 is the start, before any action); ``cap`` seconds when it never does."""
        i = self.first(getattr(self, which), target)
        if i is None or self.seconds[i] > cap:
            return cap, len(self.kinds), False
        return self.seconds[i], i, True


def _metrics(labels: np.ndarray, gt: np.ndarray, keep: np.ndarray, k: int) -> tuple[float, float]:
    """(pixel accuracy, per-image mIoU) of ``labels`` against ``gt``; a pixel labelled ``VOID``
    ("unsure", or not drawn yet) is wrong, and counts for no class's IoU but its true one's."""
    n = int(keep.sum())
    acc = float(((labels == gt) & keep).sum() / n) if n else 1.0
    cm = confusion_matrix(np.where(labels == VOID, k, labels), gt, k + 1)
    iou = per_class_iou(cm)[:k]
    return acc, (float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else 1.0)


def hand_candidates(conv: Conversation, gt: np.ndarray, tools: tuple[str, ...], cost: CostModel = COST,
                    top: int = TOP_REGIONS) -> list[Candidate]:
    """The hand actions a person could take next on ``conv``'s label map (see the module docstring)."""
    labels = conv.labels()
    side = max(labels.shape)
    out: list[Candidate] = []
    segments = conv.superpixels() if "superpixel" in tools else None
    for region in wrong_regions(labels, gt)[:top]:
        R, k = region.mask, region.label
        if "ideal" in tools:
            out.append(Candidate("ideal", cost.ideal_brush, R, k, lambda c, R=R, k=k: c._tool_paint(R, k, "ideal", cost.ideal_brush)))
        if "polygon" in tools:
            polys = polygon_vertices(R, cost.polygon_tolerance)
            polys = [p for p in polys if len(p) >= 3]
            if polys:
                from guide.dialogue.tools import polygon_mask

                mask = np.zeros(R.shape, dtype=bool)
                for p in polys:
                    mask |= polygon_mask(p, R.shape)
                secs = sum(cost.polygon(len(p)) for p in polys)

                def run_polygons(c, polys=polys, k=k):
                    for p in polys:
                        c.polygon(p.tolist(), k)
                out.append(Candidate("polygon", secs, mask, k, run_polygons))
        if "brush" in tools:
            secs = cost.brush(outline_length(R), side)
            out.append(Candidate("brush", secs, R, k, lambda c, R=R, k=k, s=secs: c._tool_paint(R, k, "brush", s)))
        if "superpixel" in tools:
            ids, counts = np.unique(segments[R], return_counts=True)
            sizes = np.bincount(segments.ravel())[ids]
            chosen = ids[counts >= 0.5 * sizes]
            if len(chosen):
                mask = np.isin(segments, chosen)
                points = [tuple(int(v) for v in np.argwhere(segments == s)[0]) for s in chosen]
                out.append(Candidate("superpixel", cost.superpixel_brush(len(chosen)), mask, k,
                                     lambda c, pts=points, k=k: c.superpixel_brush(pts, k)))
        if "relabel" in tools:
            y, x = interior_point(R)
            from guide.dialogue.tools import segment_at

            mask = segment_at(labels, y, x)
            out.append(Candidate("relabel", cost.relabel, mask, k, lambda c, y=y, x=x, k=k: c.relabel_segment(y, x, k)))
    return out


def annotate_seconds(conv: Conversation, gt: np.ndarray, guide_kinds: tuple[str, ...], hand_tools: tuple[str, ...],
                     cost: CostModel = COST, cap: float = CAP_SECONDS, pixel_target: float = PIXEL_TARGET,
                     miou_target: float = MIOU_TARGET, priors: dict[str, float] | None = None,
                     rng: np.random.Generator | None = None) -> Trace:
    """Run one annotator on ``conv`` (image already set, no steps yet) against ``gt``."""
    rates = dict(PRIORS if priors is None else priors)
    tries = {k: 1 for k in rates}  # the prior counts as one observation
    rng = rng or np.random.default_rng(0)
    k_classes = len(conv.classes)
    keep = gt != VOID
    trace = Trace()
    acc, mi = _metrics(conv.labels(), gt, keep, k_classes)
    trace.seconds.append(0.0), trace.accuracy.append(acc), trace.miou.append(mi)
    spent = 0.0
    clicked = np.zeros(gt.shape, dtype=bool)
    stale: set[str] = set()  # guiding kinds that have nothing left to try on this image

    def record(kind: str, seconds: float, machine: float) -> None:
        nonlocal spent, acc, mi
        spent += seconds
        acc, mi = _metrics(conv.labels(), gt, keep, k_classes)
        trace.kinds.append(kind), trace.seconds.append(spent), trace.accuracy.append(acc)
        trace.miou.append(mi), trace.machine.append(machine)

    while spent < cap and (acc < pixel_target or mi < miou_target):
        labels = conv.labels()
        right = (labels == gt) & keep
        phase_pixels = acc < pixel_target
        best: tuple[float, str, object] | None = None
        for cand in hand_candidates(conv, gt, hand_tools, cost):
            m = cand.mask & keep
            if phase_pixels:
                gain = float((m & (gt == cand.label)).sum() - (m & right).sum())
            else:
                after = labels.copy()
                after[cand.mask] = cand.label
                gain = _metrics(after, gt, keep, k_classes)[1] - mi
            if gain > 0 and (best is None or gain / cand.seconds > best[0]):
                best = (gain / cand.seconds, "hand", cand)
        regions = wrong_regions(labels, gt) if phase_pixels else []
        if phase_pixels and regions:
            largest = regions[0].size
            for kind in guide_kinds:
                if kind in stale:
                    continue
                if kind == "hint":
                    plan = _plan_hint(conv, labels, gt, rng)
                    if plan is None:
                        continue
                    aim, text = plan
                    secs = cost.hint(text)
                else:
                    aim, text = largest, None
                    secs = cost.answer if kind == "answer" else cost.click
                rate = rates[kind] * aim / secs
                if best is None or rate > best[0]:
                    best = (rate, kind, (aim, text))
        if best is None:
            break
        _, kind, what = best
        if kind == "hand":
            cand = what
            start = time.perf_counter()
            n = len(conv.steps)
            cand.run(conv)
            machine = time.perf_counter() - start
            secs = sum(float(s.get("seconds", 0.0)) for s in conv.steps[n:])
            record(cand.tool, secs, machine)
            continue
        aim, text = what
        before = int(right.sum())
        start = time.perf_counter()
        try:
            if kind in ("click", "local click"):
                click = next_click(labels, gt, clicked)
                if click is None:
                    stale.add(kind)
                    continue
                clicked[click[0], click[1]] = True
                (conv.click if kind == "click" else conv.local_click)(*click)
                secs = cost.click
            elif kind == "answer":
                conv.ask(exclude=~keep)
                y, x = conv.pending
                conv.answer_priced(int(gt[y, x]))
                secs = cost.answer
            else:
                conv.hint(text)
                secs = cost.hint(text)
        except UserError:  # out of questions, or the hint changed nothing it could record
            stale.add(kind)
            continue
        machine = time.perf_counter() - start
        record(kind, secs, machine)
        fixed = int(((conv.labels() == gt) & keep).sum()) - before
        tries[kind] += 1
        rates[kind] += (max(fixed, 0) / max(aim, 1) - rates[kind]) / tries[kind]
        if fixed < 0:
            start = time.perf_counter()
            conv.undo()
            record("undo", cost.undo, time.perf_counter() - start)
    return trace


def annotate_carried(conv: Conversation, learner, image: np.ndarray, gt: np.ndarray, guide_kinds: tuple[str, ...],
                     hand_tools: tuple[str, ...], **kwargs) -> tuple[Trace, float]:
    """One image of a batch for a carrying annotator: the image starts from ``learner``'s carried
    guide (guide/dialogue/carry.py: learnt only from the images finished before this one, from their
    final label maps, never from a ground truth), :func:`annotate_seconds` runs on top of it, then
    the finished label map teaches the learner. Returns the trace and the machine seconds of
    that learning (the app's time, not the person's)."""
    conv.set_image(image, carry=learner.carry)
    trace = annotate_seconds(conv, gt, guide_kinds, hand_tools, **kwargs)
    return trace, learner.learn(conv.session, conv.labels())


def _plan_hint(conv: Conversation, labels: np.ndarray, gt: np.ndarray, rng: np.random.Generator) -> tuple[int, str] | None:
    """The hint a person would type next: the generator's candidate with the most pixels, in
    words; (those pixels, the text), or None (no text guide, nothing worth saying)."""
    if not conv.has_text_guide:
        return None
    from guide.text.generator import find_candidates, render_hint

    candidates = find_candidates(labels, gt, num_classes=len(conv.classes))
    if not candidates:
        return None
    best = max(candidates, key=lambda c: c.gain)
    hint = render_hint(best.op, best.label, best.cells, conv.classes, rng)
    return best.gain, hint.text


def scratch_trace(gt: np.ndarray, num_classes: int, cost: CostModel = COST) -> Trace:
    """Drawing from an empty map with polygons, one per connected ground-truth region (largest
    first, each drawn at the cost model's tolerance); unlabelled pixels count as wrong."""
    from guide.dialogue.tools import polygon_mask
    from guide.evaluation.simulated import class_regions

    keep = gt != VOID
    labels = np.full(gt.shape, VOID, dtype=np.int64)
    trace = Trace()
    spent = 0.0
    acc, mi = _metrics(labels, gt, keep, num_classes)
    trace.seconds.append(0.0), trace.accuracy.append(acc), trace.miou.append(mi)
    for region in class_regions(np.ones(gt.shape, dtype=bool), gt):
        for p in polygon_vertices(region.mask, cost.polygon_tolerance):
            if len(p) < 3:
                labels[region.mask] = region.label  # a speck: one click of a brush
                spent += cost.click
            else:
                labels[polygon_mask(p, gt.shape)] = region.label  # smaller regions drawn over larger ones (holes)
                spent += cost.polygon(len(p))
            acc, mi = _metrics(labels, gt, keep, num_classes)
            trace.kinds.append("polygon"), trace.seconds.append(spent), trace.accuracy.append(acc)
            trace.miou.append(mi), trace.machine.append(0.0)
    return trace
