import numpy as np
import pytest

from guide.core.backprop import BackpropSettings
from guide.core.labels import VOID
from guide.dialogue.conversation import Conversation
from guide.dialogue.session import GuideSession
from guide.evaluation.simulated import (
    annotate,
    clicks_to_reach,
    hand_fix,
    image_miou,
    image_pixel_accuracy,
    interior_point,
    next_click,
    oracle_answer,
    paint_from_scratch,
    play_clicks,
    play_twenty_questions,
    wrong_regions,
)


def _maps():
    """gt: class 1 everywhere, a 12x20 block of class 2 and a 4x4 block of class 3.
    pred: all 1, so the class-2 block (240 px) is the largest wrong region."""
    gt = np.ones((40, 50), dtype=np.uint8)
    gt[5:17, 20:40] = 2
    gt[30:34, 3:7] = 3
    return np.ones_like(gt), gt


def test_click_lands_on_the_interior_point_of_the_largest_wrong_region():
    pred, gt = _maps()
    y, x, label = next_click(pred, gt)
    assert label == 2
    assert 5 <= y < 17 and 20 <= x < 40
    # the interior point of a 12x20 block: 6 px from the top/bottom border (rows 10 or 11)
    assert y in (10, 11) and 25 <= x <= 34


def test_the_click_follows_the_largest_region_and_its_true_class():
    pred, gt = _maps()
    pred[5:17, 20:40] = 2  # block fixed: only the small class-3 block is wrong now
    y, x, label = next_click(pred, gt)
    assert (label, 30 <= y < 34, 3 <= x < 7) == (3, True, True)


def test_nothing_wrong_means_no_click():
    pred, gt = _maps()
    assert next_click(gt.copy(), gt) is None
    assert wrong_regions(gt, gt) == []


def test_void_is_never_wrong():
    pred, gt = _maps()
    gt[5:17, 20:40] = VOID  # the big block carries no class now
    y, x, label = next_click(pred, gt)
    assert label == 3 and gt[y, x] == 3
    only_void = np.full_like(gt, VOID)
    assert next_click(pred, only_void) is None


def test_a_region_straddling_two_true_classes_is_two_regions():
    gt = np.ones((20, 30), dtype=np.uint8)
    gt[:, 10:18] = 2  # 160 px of class 2
    gt[:, 18:] = 3  # 240 px of class 3, touching the class-2 strip
    pred = np.ones_like(gt)  # one connected wrong area, two true classes
    regions = wrong_regions(pred, gt)
    assert [(r.label, r.size) for r in regions] == [(3, 240), (2, 160)]
    assert next_click(pred, gt)[2] == 3


def test_interior_point_counts_the_image_edge_as_border():
    mask = np.zeros((10, 30), dtype=bool)
    mask[:, :12] = True  # touches the top, bottom and left edges
    y, x = interior_point(mask)
    assert y in (4, 5) and 4 <= x <= 7  # 5 px from every border; unpadded, the left edge would win


def test_excluded_pixels_move_the_click():
    pred, gt = _maps()
    first = next_click(pred, gt)
    exclude = np.zeros(gt.shape, dtype=bool)
    exclude[first[0], first[1]] = True
    second = next_click(pred, gt, exclude)
    assert second[:2] != first[:2] and second[2] == 2 and gt[second[0], second[1]] == 2


def test_per_image_miou_counts_classes_in_gt_or_prediction():
    gt = np.zeros((4, 4), dtype=np.uint8)
    gt[:, 2:] = 1
    pred = gt.copy()
    assert image_miou(pred, gt, 5) == 1.0
    pred[0, 0] = 4  # class 4 is in neither... now it is predicted: IoU 0 counts
    assert image_miou(pred, gt, 5) == pytest.approx((7 / 8 + 1 + 0) / 3)
    assert image_miou(pred, np.full_like(gt, VOID), 5) == 1.0


def test_clicks_to_reach_caps():
    assert clicks_to_reach([0.5, 0.86, 0.91], 0.85) == 1
    assert clicks_to_reach([0.9], 0.85) == 0
    assert clicks_to_reach([0.5] * 30, 0.85, cap=20) == 20


def test_hand_fix_paints_largest_regions_until_the_target():
    pred, gt = _maps()  # 2000 px, 240 + 16 wrong: accuracy 0.872
    fixed, n = hand_fix(pred, gt, 0.95)
    assert n == 1 and image_pixel_accuracy(fixed, gt) == pytest.approx(1 - 16 / 2000)
    fixed, n = hand_fix(pred, gt, 1.0)
    assert n == 2 and np.array_equal(fixed, gt)
    assert hand_fix(gt, gt, 0.95)[1] == 0


def test_paint_from_scratch_one_interaction_per_gt_region():
    pred, gt = _maps()  # class 1 (1744 px), class 2 (240), class 3 (16)
    assert paint_from_scratch(gt, 0.5) == 1
    assert paint_from_scratch(gt, 0.95) == 2
    assert paint_from_scratch(gt, 1.0) == 3


# ---------------------------------------------------------------------------- through a session

FAST = BackpropSettings(max_steps=5)  # a random tiny network: the mechanics are tested, not the gains

def _half_gt(image: np.ndarray, session) -> np.ndarray:
    """Ground truth: the prediction on the top half, the next class on the bottom half
    (all wrong there), so there is something to fix."""
    gt = session.predict().copy()
    gt[image.shape[0] // 2 :] = (gt[image.shape[0] // 2 :] + 1) % 4
    return gt


def test_play_clicks_sends_the_simulated_clicks(tiny_model, image):
    session = GuideSession(tiny_model, FAST)
    session.set_image(image)
    gt = _half_gt(image, session)
    expected_first = next_click(session.predict(), gt)
    preds = play_clicks(session, gt, 3)
    assert len(preds) == 4
    turns = session.turns
    assert 1 <= len(turns) <= 3
    assert tuple(turns[0]["points"][0]) == expected_first
    for t in turns:
        (y, x, label), = t["points"]
        assert gt[y, x] == label  # every click carries the true class
    assert len({tuple(t["points"][0][:2]) for t in turns}) == len(turns)  # never the same pixel twice
    assert all(np.array_equal(preds[i], p) for i, p in enumerate(_replay(tiny_model, image, turns), start=1))


def _replay(model, image, turns):
    """The predictions after each turn, replayed through a fresh session (the app's path)."""

    replay = GuideSession(model, FAST)
    replay.set_image(image)
    for t in turns:
        replay.add_clicks(t["points"])
        yield replay.predict()


def test_annotate_reaches_the_target_and_counts_every_interaction(tiny_model, image):
    session = GuideSession(tiny_model, FAST)
    session.set_image(image)
    gt = _half_gt(image, session)
    effort = annotate(session, gt, target=0.99, max_clicks=3, max_answers=2)
    pixel_turns = [t for t in session.turns if t["kind"] == "pixels"]
    assert len(pixel_turns) == effort.clicks + effort.answers
    assert 1 <= effort.clicks <= 3 and effort.answers <= 2
    # hand fixes finish what guiding left: the fixes counted bring the guided prediction to the target
    fixed, n = hand_fix(session.predict(), gt, 0.99)
    assert n == effort.hand_fixes and image_pixel_accuracy(fixed, gt) >= 0.99
    assert effort.total == effort.clicks + effort.answers + effort.hand_fixes
    # nothing to do when the prediction is already right
    session.reset()
    assert annotate(session, session.predict(), 0.95).total == 0


# ------------------------------------------------------------------ the oracle of twenty questions


def test_oracle_answers_from_ground_truth_and_skips_void(tiny_model, image):
    session = GuideSession(tiny_model)
    session.set_image(image)
    gt = np.full(image.shape[:2], 255, dtype=np.uint8)
    gt[30:, :] = 2
    hint = oracle_answer(session, gt)
    (y, x, label), = hint.points
    assert gt[y, x] == 2 and label == 2


def test_twenty_questions_asks_distinct_pixels_and_replays_hints(tiny_model, image):
    conversation = Conversation(tiny_model)
    conversation.set_image(image)
    session = conversation.session
    gt = np.zeros(image.shape[:2], dtype=np.uint8)
    gt[:, 32:] = 3
    preds = play_twenty_questions(conversation, gt, [0, 3])
    assert sorted(preds) == [0, 3] and len(session.turns) == 3 and len(conversation.steps) == 3
    asked = [tuple(t["points"][0][:2]) for t in session.turns]
    assert len(set(asked)) == 3
    assert all(t["points"][0][2] == gt[y, x] for t, (y, x) in zip(session.turns, asked))
    # Replaying the same answers through a fresh session (the app's path) gives the same prediction.
    replay = GuideSession(tiny_model)
    replay.set_image(image)
    for t in session.turns:
        replay.add_clicks(t["points"])
    assert np.array_equal(replay.predict(), preds[3])


def test_satisfied_answers_are_honoured(tiny_model, image):
    session = GuideSession(tiny_model)
    session.set_image(image)
    gt = np.zeros(image.shape[:2], dtype=np.uint8)
    gt[:, 32:] = 3
    for _ in range(3):
        result = session.add_hint(oracle_answer(session, gt))
        pred = session.predict()
        if result.satisfied:
            for y, x, label in (p for t in session.turns for p in t["points"]):
                assert pred[y, x] == label
