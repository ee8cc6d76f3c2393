import numpy as np
import torch

from guide.conversation import Conversation
from guide.questions import most_uncertain_pixel, oracle_answer, play_twenty_questions
from guide.session import GuideSession


def test_most_uncertain_pixel_is_smallest_margin():
    logits = torch.zeros(3, 2, 2)
    logits[0] = 5.0  # confident everywhere...
    logits[1, 1, 0] = 4.9  # ...except here
    assert most_uncertain_pixel(logits) == (1, 0)
    exclude = np.zeros((2, 2), dtype=bool)
    exclude[1, 0] = True
    assert most_uncertain_pixel(logits, exclude) != (1, 0)


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


def test_region_prefers_large_uncertain_areas():
    logits = torch.zeros(2, 12, 12)
    logits[0] = 4.0
    logits[1] = 0.0
    logits[1, 0, 11] = 3.99  # one isolated, most uncertain pixel
    logits[1, 6:11, 1:6] = 3.5  # a 5x5 blob of slightly less uncertain pixels
    assert most_uncertain_pixel(logits) == (0, 11)  # the paper's rule
    y, x = most_uncertain_pixel(logits, region=2)
    assert 6 <= y <= 10 and 1 <= x <= 5

