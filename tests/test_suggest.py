"""guide/dialogue/suggest.py: the next action suggested from the network's confidence (no ground truth),
and through the Conversation: answer, relabel or click the least certain segment, ask me, looks done."""

import re

import numpy as np
import pytest
import torch

from guide.core.backprop import BackpropSettings
from guide.core.labels import VOID
from guide.dialogue.conversation import Conversation
from guide.dialogue.suggest import DONE_SHARE, UNSURE_PROB, suggest_next, uncertainty
from guide.models.hub import load_model

CLASSES = ["sky", "grass", "coat", "bag"]


def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 40x40 map: sky on top, grass below, a coat square; all certain, second guess "bag"."""
    labels = np.zeros((40, 40), np.uint8)
    labels[20:] = 1
    labels[25:35, 5:15] = 2
    return labels, np.full((40, 40), 0.95, np.float32), np.full((40, 40), 3)


def test_sure_everywhere_looks_done():
    labels, conf, second = scene()
    s = suggest_next(labels, conf, second, CLASSES)
    assert s.action == "done" and s.text.startswith("Looks done") and s.share == 0 and s.point is None
    conf[0, :8] = 0.3  # 8 uncertain pixels of 1,600: still under DONE_SHARE
    assert 8 / 1600 <= DONE_SHARE and suggest_next(labels, conf, second, CLASSES).action == "done"


def test_an_uncertain_segment_is_suggested_for_a_relabel_at_its_least_certain_pixel():
    labels, conf, second = scene()
    conf[25:35, 5:15] = 0.4  # the coat square: unsure...
    conf[30, 9] = 0.2  # ...most of all here
    second[25:35, 5:15] = 1  # the network's runner-up there: grass
    s = suggest_next(labels, conf, second, CLASSES)
    assert s.action == "relabel" and s.point == (30, 9) and s.label == "coat" and s.other == "grass"
    assert "Relabel or click the least certain segment" in s.text and "(row 30, column 9)" in s.text and "grass" in s.text
    assert s.share == pytest.approx(100 / 1600)
    # of two uncertain segments, the one with more uncertain pixels (more a click could fix)
    conf[0:12, 0:20] = 0.5  # 240 px of the sky: more than the coat's 100, but under half the sky (800 px)
    assert suggest_next(labels, conf, second, CLASSES).label == "coat"
    conf[0:20, 0:30] = 0.5  # 600 of the sky's 800 px: the sky now
    s = suggest_next(labels, conf, second, CLASSES)
    assert s.action == "relabel" and s.label == "sky" and s.point[0] < 20


def test_uncertainty_spread_thin_asks_and_a_pending_question_is_answered_first():
    labels, conf, second = scene()
    conf[19:21, :] = 0.4  # along the sky/grass edge: 80 px, no segment mostly unsure
    s = suggest_next(labels, conf, second, CLASSES)
    assert s.action == "ask" and s.text.startswith("Ask me") and s.share > DONE_SHARE
    s = suggest_next(labels, conf, second, CLASSES, pending=[12, 7])
    assert s.action == "answer" and s.point == (12, 7) and "(row 12, column 7)" in s.text


def test_void_pixels_and_specks_are_never_suggested():
    labels, conf, second = scene()
    labels[0:10, 0:10] = VOID
    conf[0:10, 0:10] = 0.1  # "unsure" pixels a person marked: not the network's doubt
    assert suggest_next(labels, conf, second, CLASSES).action == "done"
    labels[5, 30] = 2  # a one-pixel coat speck, uncertain, among uncertain sky: no relabel of the speck
    conf[0:20, 20:40] = 0.5
    s = suggest_next(labels, conf, second, CLASSES)
    assert s.action == "relabel" and s.label == "sky"


def test_uncertainty_maps_network_pixels_to_the_image():
    logits = torch.zeros(3, 2, 2)
    logits[0, 0, 0] = 10.0  # sure of class 0 at the top-left network pixel
    logits[1, :, 1] = 1.0  # class 1 a little more likely on the right, class 2 second there
    conf, second = uncertainty(logits, (4, 6))
    assert conf.shape == (4, 6) and second.shape == (4, 6)
    assert conf[0, 0] > 0.99 and conf[1, 2] > 0.99 and conf[2, 0] == pytest.approx(1 / 3)  # (rows 0-1, cols 0-2): the sure pixel
    assert (second[:, 3:] != 1).all() and conf[3, 5] < UNSURE_PROB


@pytest.fixture(scope="module")
def model(app_model_dir):
    return load_model(app_model_dir, device="cpu")


def test_conversation_suggests_and_a_relabel_where_it_points_moves_the_suggestion(model):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, size=(64, 80, 3), dtype=np.uint8)
    conv = Conversation(model, BackpropSettings(optimizer="lbfgs", max_steps=5))
    conv.set_image(img, "noise")
    s = conv.suggest()
    assert s.action == "relabel" and 0 < s.share <= 1, s  # the tiny random model is unsure everywhere: a whole segment
    conv.relabel_segment(*s.point, s.other or 0)  # what a person set is certain: the suggestion moves on
    s2 = conv.suggest()
    assert s2.point != s.point and s2.share < s.share
    conv.ask()
    assert conv.suggest().action == "answer"


def test_a_large_map_is_read_on_a_grid_and_points_inside_the_segment():
    labels = np.zeros((600, 520), np.uint8)
    labels[300:500, 100:300] = 2  # a coat, unsure
    conf = np.full(labels.shape, 0.95, np.float32)
    conf[300:500, 100:300] = 0.4
    s = suggest_next(labels, conf, np.ones(labels.shape, int), CLASSES)
    assert s.action == "relabel" and s.label == "coat" and s.other == "grass"
    assert 300 <= s.point[0] < 500 and 100 <= s.point[1] < 300 and labels[s.point] == 2
    n = int(re.search(r"([\d,]+) px", s.text).group(1).replace(",", ""))
    assert abs(n - 200 * 200) <= 0.05 * 200 * 200  # its size, counted on the grid, in image pixels
