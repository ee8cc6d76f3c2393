"""Twenty questions (paper §4.1): the network asks about its least certain pixel.

After each update the session asks for the class of the pixel with the smallest
margin between its two most probable classes (the paper's rule, ``region=0``) or, by
default (``settings.ASK_REGION``), the centre of the area where that margin is smallest
on average. Logits in, a pixel out: the person who answers (the app's user, or the
simulated one of the evaluations, ``guide/evaluation/simulated.py``) lives elsewhere.
"""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F
from torch import Tensor


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
