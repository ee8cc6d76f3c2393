import numpy as np
import torch

from guide.core.questions import most_uncertain_pixel


def test_most_uncertain_pixel_is_smallest_margin():
    logits = torch.zeros(3, 2, 2)
    logits[0] = 5.0  # confident everywhere...
    logits[1, 1, 0] = 4.9  # ...except here
    assert most_uncertain_pixel(logits) == (1, 0)
    exclude = np.zeros((2, 2), dtype=bool)
    exclude[1, 0] = True
    assert most_uncertain_pixel(logits, exclude) != (1, 0)


def test_region_prefers_large_uncertain_areas():
    logits = torch.zeros(2, 12, 12)
    logits[0] = 4.0
    logits[1] = 0.0
    logits[1, 0, 11] = 3.99  # one isolated, most uncertain pixel
    logits[1, 6:11, 1:6] = 3.5  # a 5x5 blob of slightly less uncertain pixels
    assert most_uncertain_pixel(logits) == (0, 11)  # the paper's rule
    y, x = most_uncertain_pixel(logits, region=2)
    assert 6 <= y <= 10 and 1 <= x <= 5

