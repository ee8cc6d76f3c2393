"""The simulated people of the evaluations: one who clicks, one who paints by hand (RITM's
protocol on semantic maps), and one who answers the network's questions from ground truth.

Interactive segmentation papers (RITM, f-BRS) measure a model by a simulated user:
each click goes to the *interior point* of the largest error region — the pixel
farthest from the region's border (maximum of the Euclidean distance transform,
``scipy.ndimage``) — and carries the true label there. RITM does this for one
object's mask; on a semantic map the errors are of many classes, so here:

* a **wrong region** is a 4-connected set of pixels whose prediction differs
  from the ground truth and whose ground truth is one class (a region that
  straddles a coat and a shirt is two regions: one click or one brush stroke
  can only say one class). ``VOID`` ground truth is never wrong.
* a **click** lands on the interior point of the largest wrong region (the image
  border counts as border, as in RITM's padded distance transform) and is
  labelled with that region's true class.
* a **hand fix** paints one whole wrong region with its true class (an ideal
  brush: one interaction, those pixels become right); hand-painting from scratch
  paints one connected ground-truth region per interaction.

The **oracle** of twenty questions (paper §4.1) answers "what is here?" with the ground-truth
class at the pixel asked about (``oracle_answer``, ``play_twenty_questions``), through the app's
own ``Conversation``, so evaluation replays the app's path.

All arrays are HxW label maps in image pixels, indexed (row, col) = (y, x).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from guide.core.hints import PixelHint
from guide.core.labels import VOID
from guide.core.metrics import confusion_matrix, miou

if TYPE_CHECKING:  # only type hints point at the session and the conversation
    from guide.dialogue.conversation import Conversation
    from guide.dialogue.session import GuideSession


@dataclass(frozen=True)
class Region:
    """One connected region of one ground-truth class: ``mask`` HxW bool, ``label`` its class."""

    mask: np.ndarray
    label: int

    @property
    def size(self) -> int:
        return int(self.mask.sum())


def class_regions(mask: np.ndarray, gt: np.ndarray) -> list[Region]:
    """4-connected components of ``mask`` split by ground-truth class, largest first.

    mask: HxW bool (e.g. the wrong pixels); gt: HxW class indices (``VOID`` pixels are skipped).
    Ties in size keep the order of the smaller class index, then of the component's first pixel.
    """
    mask = np.asarray(mask, dtype=bool) & (gt != VOID)
    regions: list[Region] = []
    for label in np.unique(gt[mask]):
        comp, n = ndimage.label(mask & (gt == label))
        for k in range(1, n + 1):
            regions.append(Region(comp == k, int(label)))
    return sorted(regions, key=lambda r: -r.size)  # stable: equal sizes keep their order


def wrong_regions(pred: np.ndarray, gt: np.ndarray) -> list[Region]:
    """The wrong regions of ``pred`` against ``gt`` (see the module docstring), largest first."""
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction is {pred.shape} but ground truth is {gt.shape}")
    return class_regions(pred != gt, gt)


def interior_point(mask: np.ndarray) -> tuple[int, int]:
    """(row, col) of ``mask``'s pixel farthest from its border (the image edge is border too)."""
    dist = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(y), int(x)


def next_click(pred: np.ndarray, gt: np.ndarray, exclude: np.ndarray | None = None) -> tuple[int, int, int] | None:
    """The simulated person's next click ``(row, col, true class)``, or None when nothing is wrong.

    exclude: HxW bool of pixels not to click again (e.g. earlier clicks that did not
    stick): they count as border, so the click moves to the next most interior pixel.
    A region made only of excluded pixels is skipped.
    """
    for region in wrong_regions(pred, gt):
        mask = region.mask if exclude is None else region.mask & ~exclude
        if mask.any():
            y, x = interior_point(mask)
            return y, x, region.label
    return None


def image_miou(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> float:
    """Per-image mIoU: mean IoU over the classes present in the ground truth or the
    prediction, on the pixels whose ground truth is not ``VOID`` (1.0 when all are VOID)."""
    value = miou(confusion_matrix(pred, gt, num_classes))
    return 1.0 if np.isnan(value) else value


def image_pixel_accuracy(pred: np.ndarray, gt: np.ndarray) -> float:
    """Fraction of non-VOID pixels that are right (1.0 when all are VOID)."""
    keep = gt != VOID
    return float((pred[keep] == gt[keep]).mean()) if keep.any() else 1.0


def clicks_to_reach(scores: list[float], target: float, cap: int = 20) -> int:
    """NoC: clicks until ``scores[n]`` (score after n clicks) first reaches ``target``; ``cap`` if never."""
    for n, s in enumerate(scores[: cap + 1]):
        if s >= target:
            return n
    return cap


def hand_fix(pred: np.ndarray, gt: np.ndarray, target: float) -> tuple[np.ndarray, int]:
    """Paint wrong regions by hand, largest first, until pixel accuracy reaches ``target``.

    Returns (the fixed label map, interactions = regions painted). Painting sets the
    labels directly, so every region painted is right afterwards.
    """
    fixed = np.array(pred, copy=True)
    painted = 0
    if image_pixel_accuracy(fixed, gt) >= target:
        return fixed, 0
    keep = int((gt != VOID).sum())
    right = int(((fixed == gt) & (gt != VOID)).sum())
    for region in wrong_regions(fixed, gt):
        fixed[region.mask] = region.label
        right += region.size
        painted += 1
        if right >= target * keep:
            break
    return fixed, painted


def paint_from_scratch(gt: np.ndarray, target: float) -> int:
    """Interactions to paint an empty map to ``target`` pixel accuracy: one per connected
    ground-truth region (4-connected, one class), largest first."""
    keep = int((gt != VOID).sum())
    if keep == 0:
        return 0
    done = 0
    for n, region in enumerate(class_regions(np.ones(gt.shape, dtype=bool), gt), start=1):
        done += region.size
        if done >= target * keep:
            return n
    return n  # pragma: no cover - the regions cover every non-VOID pixel


# --------------------------------------------------------------------------- through a session


def oracle_answer(session: GuideSession, gt: np.ndarray) -> PixelHint:
    """Ask the session a question and answer it from ``gt`` (HxW at image resolution)."""
    y, x = session.ask(exclude=gt == VOID)
    return PixelHint(((y, x, int(gt[y, x])),))


def play_twenty_questions(conversation: Conversation, gt: np.ndarray, counts: list[int]) -> dict[int, np.ndarray]:
    """Label maps after each number of questions in ``counts`` (image already set): the
    network asks (``Conversation.ask``) and the oracle answers from ``gt`` (HxW, image
    resolution) with ``Conversation.answer``, exactly as a person in the app would."""
    results: dict[int, np.ndarray] = {}
    asked = 0
    for n in sorted(set(counts)):
        while asked < n:
            conversation.ask(exclude=gt == VOID)
            y, x = conversation.pending
            conversation.answer(int(gt[y, x]))
            asked += 1
        results[n] = conversation.labels()
    return results


def play_clicks(session: GuideSession, gt: np.ndarray, max_clicks: int = 20) -> list[np.ndarray]:
    """Predictions after 0, 1, ..., ``max_clicks`` simulated clicks (image already set).

    Each click is ``next_click`` on the current prediction, sent as the app sends a
    click (``session.add_clicks``); a pixel is never clicked twice (a click that did
    not stick moves the next one). Once nothing is wrong the person stops and the
    remaining entries repeat the last prediction.
    """
    preds = [session.predict()]
    clicked = np.zeros(gt.shape, dtype=bool)
    for _ in range(max_clicks):
        click = next_click(preds[-1], gt, clicked)
        if click is None:
            preds.append(preds[-1])
            continue
        clicked[click[0], click[1]] = True
        session.add_clicks([click])
        preds.append(session.predict())
    return preds


@dataclass
class Effort:
    """Interactions one simulated annotator spent on one image (see ``annotate``)."""

    clicks: int
    answers: int
    hand_fixes: int
    clicks_then_hand: int  # clicks + the hand fixes that would finish from the state after the clicks
    accuracy_guided: float  # pixel accuracy after clicks and answers, before any hand fix

    @property
    def total(self) -> int:
        return self.clicks + self.answers + self.hand_fixes


def annotate(session: GuideSession, gt: np.ndarray, target: float = 0.95, max_clicks: int = 20,
             max_answers: int = 20) -> Effort:
    """Simulate an annotator who brings one image to ``target`` pixel accuracy (image already set).

    1. Clicks (``next_click``), then 2. answers to the network's questions
    (``oracle_answer``), then 3. hand fixes (``hand_fix``), stopping as soon as the
    target is reached. The person moves on from a guiding phase when its last
    interaction fixed fewer pixels than the brush would have (the largest wrong region
    before it: what one hand fix paints), or after ``max_clicks`` / ``max_answers``.
    """
    keep = gt != VOID

    def right(pred: np.ndarray) -> int:
        return int(((pred == gt) & keep).sum())

    need = target * int(keep.sum())
    pred = session.predict()
    clicked = np.zeros(gt.shape, dtype=bool)
    done = {"clicks": 0, "answers": 0}
    for phase, cap in (("clicks", max_clicks), ("answers", max_answers)):
        while done[phase] < cap and right(pred) < need:
            regions = wrong_regions(pred, gt)
            brush = regions[0].size if regions else 0
            before = right(pred)
            if phase == "clicks":
                click = next_click(pred, gt, clicked)
                if click is None:
                    break
                clicked[click[0], click[1]] = True
                session.add_clicks([click])
            else:
                try:
                    session.add_hint(oracle_answer(session, gt))
                except ValueError:  # every pixel asked about already
                    break
            done[phase] += 1
            pred = session.predict()
            if right(pred) - before < brush:
                break
        if phase == "clicks":
            clicks_then_hand = done["clicks"] + hand_fix(pred, gt, target)[1]
    _, fixes = hand_fix(pred, gt, target)
    return Effort(done["clicks"], done["answers"], fixes, clicks_then_hand, image_pixel_accuracy(pred, gt))
