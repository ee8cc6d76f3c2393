"""Twenty questions (paper §4.1): the network asks about its least certain pixel.

After each update the session asks for the class of the pixel with the smallest
margin between its two most probable classes (the paper's rule, ``region=0``) or, by
default (``session.ASK_REGION``), the centre of the area where that margin is smallest
on average; an answer is a ``PixelHint`` with
one point, exactly what the app sends when a person answers "what is here?".
The oracle answers from ground truth through the app's own ``Conversation``, so
evaluation replays the app's path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch.nn.functional as F
from torch import Tensor

from .hints import PixelHint
from .labels import VOID

if TYPE_CHECKING:  # the session calls most_uncertain_pixel; only type hints point back
    from .conversation import Conversation
    from .session import GuideSession



def most_uncertain_pixel(logits: Tensor, exclude: np.ndarray | None = None, region: int = 0) -> tuple[int, int]:
    """(row, col) of the smallest top-2 probability margin. logits: KxHxW; exclude: HxW bool.

    ``region`` > 0 averages the margin over a (2*region+1)^2 window first, so the
    question lands inside a large uncertain area rather than on a thin boundary
    (0 is the paper's rule).
    """
    probs = logits.softmax(0)
    top2 = probs.topk(2, dim=0).values
    margin_t = top2[0] - top2[1]
    if region > 0:
        margin_t = F.avg_pool2d(margin_t[None, None], 2 * region + 1, stride=1, padding=region, count_include_pad=False)[0, 0]
    margin = margin_t.cpu().numpy().astype(np.float64)
    if exclude is not None:
        margin[exclude] = np.inf
    if np.isinf(margin).all():
        raise ValueError("every pixel has been asked about or is excluded")
    y, x = np.unravel_index(int(np.argmin(margin)), margin.shape)
    return int(y), int(x)


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
