"""The next action to suggest to a person, from what the network knows without ground truth.

The network's own confidence (its largest class probability per pixel) says where the label map
is likely wrong; the cheapest fix of a whole uncertain segment is one click (guide/dialogue/cost.py: a
relabel or a guiding click, 2.4 s), and uncertainty spread thinly along edges is what the
network's question (Ask me, paper §4.1) is for. So, in order:

1. a question is pending: **answer it** (it is already asked; an answer costs 2.4 s);
2. fewer than ``DONE_SHARE`` of the pixels are uncertain: **looks done**;
3. a predicted segment (4-connected, one class) is mostly uncertain: **relabel or click
   there**, the one with the most uncertain pixels (the most pixels a one-click fix could set),
   at its least certain interior pixel, naming the network's second guess there;
4. otherwise: **ask me**.

A pixel is *uncertain* when its largest class probability is under ``UNSURE_PROB``; pixels a
person set by hand are certain. Label maps are HxW class indices (``VOID`` = 255 ignored),
coordinates (row, col). Maps larger than ``READ_SIDE`` are read at every k-th pixel (the point
suggested is then on that grid).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from guide.core.guided import image_to_network
from guide.core.labels import VOID

UNSURE_PROB = 0.6  # a pixel whose most probable class has less than this is uncertain
DONE_SHARE = 0.02  # at most this share of uncertain pixels: "looks done"
SEGMENT_SHARE = 0.5  # a segment with at least this share of uncertain pixels is worth relabelling whole
MIN_SEGMENT = 16  # pixels: smaller segments are never suggested (a speck is not worth a click of its own)
READ_SIDE = 256  # larger label maps are read at every k-th pixel (k = ceil(side / READ_SIDE)): ~same answer, a fraction of the time


@dataclass(frozen=True)
class Suggestion:
    """What to do next: ``action`` is "answer", "done", "relabel" or "ask"; ``text`` says it to a
    person; ``point`` (row, col) where to act, ``label`` the class shown there and ``other`` the
    network's second guess (relabel only); ``share``: the uncertain share of the image's pixels."""

    action: str
    text: str
    share: float
    point: tuple[int, int] | None = None
    label: str | None = None
    other: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def uncertainty(logits: Any, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per image pixel (HxW = ``size``): the network's largest class probability (float32) and its
    second most probable class (int), from ``logits`` (a KxhxW torch tensor at network
    resolution), taken at the network pixel each image pixel falls in (as ``GuideSession.to_network``)."""
    top = logits.detach().float().softmax(0).topk(2, dim=0)
    conf, second = top.values[0].cpu().numpy(), top.indices[1].cpu().numpy()
    rows, cols = image_to_network(np.arange(size[0]), np.arange(size[1]), size, conf.shape)
    return conf[rows][:, cols].astype(np.float32), second[rows][:, cols].astype(np.int64)


def suggest_next(labels: np.ndarray, confidence: np.ndarray, second: np.ndarray, classes: list[str],
                 pending: tuple[int, int] | list[int] | None = None) -> Suggestion:
    """The next action (module docstring) for the shown ``labels`` (HxW), the network's
    ``confidence`` (HxW largest class probability; 1 where set by hand) and ``second`` (HxW its
    second most probable class); ``pending``: the pixel a pending question asks about."""
    labels, confidence, second = np.asarray(labels), np.asarray(confidence), np.asarray(second)
    step = -(-max(labels.shape) // READ_SIDE)  # large images: every step-th pixel (a segment's shape survives)
    if step > 1:
        labels, confidence, second = labels[::step, ::step], confidence[::step, ::step], second[::step, ::step]
    unsure = (confidence < UNSURE_PROB) & (labels != VOID)
    share = float(unsure.mean()) if unsure.size else 0.0
    if pending:
        r, c = int(pending[0]), int(pending[1])
        return Suggestion("answer", f"Answer my question at the crosshair (row {r}, column {c}): type its class or pick it.",
                          share, (r, c))
    if share <= DONE_SHARE:
        return Suggestion("done", f"Looks done: the network is sure of {100 * (1 - share):.0f}% of the pixels. "
                                  "Check the edges and save.", share)
    best = _least_certain_segment(labels, unsure, max(MIN_SEGMENT // (step * step), 1))
    if best is not None:
        part, n = best[0], best[1] * step * step
        inner = ndimage.binary_erosion(part) if part.sum() > 4 * MIN_SEGMENT else part
        inner = inner if inner.any() else part
        masked = np.where(inner, confidence, np.inf)
        r, c = (int(v) for v in np.unravel_index(np.argmin(masked), masked.shape))
        shown = int(labels[r, c])
        label = classes[shown]
        guesses = np.bincount(second[part & unsure].ravel(), minlength=len(classes))
        guesses[shown] = 0  # the class shown is no second guess
        other = classes[int(np.argmax(guesses))] if guesses.any() else None
        r, c = r * step, c * step
        maybe = f"; the network's second guess there is **{other}**" if other else ""
        return Suggestion("relabel", f"Relabel or click the least certain segment: the **{label}** one around (row {r}, column {c}), "
                                     f"{n:,} px{maybe}.", share, (r, c), label, other)
    return Suggestion("ask", f"Ask me: the network is unsure of {100 * share:.0f}% of the pixels, spread along edges; "
                             "press Ask me and answer its question.", share)


def _least_certain_segment(labels: np.ndarray, unsure: np.ndarray, smallest: int = MIN_SEGMENT) -> tuple[np.ndarray, int] | None:
    """(HxW bool, its pixel count) of the segment with the most uncertain pixels among those at
    least ``smallest`` px and ``SEGMENT_SHARE`` uncertain; None when there is none."""
    best, best_unsure = None, 0
    for k in np.unique(labels[unsure]):
        comp, n = ndimage.label(labels == k)
        if not n:
            continue
        index = np.arange(1, n + 1)
        sizes = ndimage.sum(np.ones_like(comp), comp, index)
        counts = ndimage.sum(unsure, comp, index)
        ok = (sizes >= smallest) & (counts >= SEGMENT_SHARE * sizes)
        if ok.any():
            i = int(np.argmax(np.where(ok, counts, -1)))
            if counts[i] > best_unsure:
                best, best_unsure = (comp == i + 1, int(sizes[i])), counts[i]
    return best
