"""guide/dialogue/carry.py: a guide carried across a batch, learnt from finished label maps (tiny random model)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from guide.dialogue.carry import CarriedGuide, CarryLearner, CarrySettings
from guide.dialogue.session import GuideSession


def _agreement(session: GuideSession, target: np.ndarray) -> float:
    return float((session.predict() == target).mean())


def test_zero_carry_is_the_unguided_network(tiny_model, image) -> None:
    s = GuideSession(tiny_model)
    s.set_image(image)
    plain = s.logits().clone()
    s.set_carry(CarriedGuide.for_model(tiny_model))
    assert s.carry is None  # all zeros: nothing carried
    assert torch.equal(s.logits(), plain)


def test_learning_moves_predictions_towards_finished_maps_through_guiding_only(tiny_model, image) -> None:
    before = {k: v.clone() for k, v in tiny_model.segmenter.state_dict().items()}
    s = GuideSession(tiny_model)
    s.set_image(image)
    unguided = s.predict()
    # a finished map that disagrees with the network: its least predicted class on the left half
    counts = np.bincount(unguided.ravel(), minlength=tiny_model.num_classes)
    rare = int(np.argmin(counts))
    target = unguided.copy()
    target[:, : image.shape[1] // 2] = rare
    learner = CarryLearner(tiny_model, CarrySettings(steps=40, lr=0.05, pixels=500))
    seconds = learner.learn(s, target)
    assert seconds > 0 and learner.carry.images == 1
    assert any(learner.carry.gamma_s) and any(learner.carry.class_bias)
    s.set_carry(learner.carry)
    assert _agreement(s, target) > float((unguided == target).mean())
    # the network's weights did not move; the carried logits are the guided tail, by hand
    after = tiny_model.segmenter.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    f = s.features
    by_hand = tiny_model.segmenter.tail(f, tiny_model.block(f.guided, learner.carry.params(tiny_model.block)))
    by_hand = by_hand + learner.carry.bias()
    assert torch.allclose(s.logits(), by_hand, atol=1e-5)


def test_carry_learns_only_from_pixels_it_is_given(tiny_model, image) -> None:
    s = GuideSession(tiny_model)
    s.set_image(image)
    learner = CarryLearner(tiny_model, CarrySettings(steps=2))
    assert learner.learn(s, np.full(image.shape[:2], 255, dtype=np.uint8)) >= 0  # all VOID: nothing kept
    assert learner.carry.images == 0 and learner.carry.is_zero and not learner.done
    with pytest.raises(ValueError, match="label map"):
        learner.add(s.features, s.image_size, np.zeros((3, 3), dtype=np.uint8))


def test_carried_guide_round_trips_as_plain_data_and_rejects_others(tiny_model, image) -> None:
    s = GuideSession(tiny_model)
    s.set_image(image)
    learner = CarryLearner(tiny_model, CarrySettings(steps=3, lr=0.05))
    learner.learn(s, np.zeros(image.shape[:2], dtype=np.uint8))
    data = json.loads(json.dumps(learner.carry.to_dict()))
    again = CarriedGuide.from_dict(data, tiny_model.block.guided_channels, tiny_model.num_classes)
    assert again == learner.carry and len(again.gamma_s) == tiny_model.block.guided_channels
    s.set_carry(learner.carry)
    carried = s.logits().clone()
    s.set_carry(None)
    s.set_carry(data)  # the app keeps it as JSON
    assert torch.equal(s.logits(), carried)
    for bad in ({"gamma_s": [1.0]}, "x", {**data, "class_bias": data["class_bias"][:-1]}, {**data, "gamma_b": ["a"] * len(data["gamma_b"])}):
        with pytest.raises(ValueError):
            s.set_carry(bad)
    assert torch.equal(s.logits(), carried)  # refused: nothing changed
    with pytest.raises(ValueError, match="fit"):
        CarrySettings(fit=("alpha",))


def test_clicks_compose_on_top_of_the_carried_guide_and_undo_back_to_it(tiny_model, image) -> None:
    s = GuideSession(tiny_model)
    s.set_image(image)
    learner = CarryLearner(tiny_model, CarrySettings(steps=5, lr=0.05))
    learner.learn(s, np.zeros(image.shape[:2], dtype=np.uint8))
    s.set_carry(learner.carry)
    start = s.predict().copy()
    y, x = 10, 10
    other = (int(start[y, x]) + 1) % tiny_model.num_classes
    result = s.add_clicks([(y, x, other)])
    assert result.satisfied and s.predict()[y, x] == other
    assert s.carry is not None  # the carry is a setting, not a turn
    s.undo()
    assert np.array_equal(s.predict(), start)


def test_annotate_carried_learns_from_the_final_label_map(text_model, scene) -> None:
    from guide.dialogue.conversation import Conversation
    from guide.evaluation.annotators import annotate_carried

    conv = Conversation(text_model, max_turns=50)
    learner = CarryLearner(text_model, CarrySettings(steps=2))
    given = []
    learn = learner.learn
    learner.learn = lambda session, labels: given.append(labels.copy()) or learn(session, labels)
    gt = np.zeros(scene.shape[:2], dtype=np.uint8)
    gt[30:] = 1
    trace, fit = annotate_carried(conv, learner, scene, gt, (), ("relabel", "brush"), cap=10.0)
    assert fit >= 0 and learner.carry.images == 1
    assert len(given) == 1 and np.array_equal(given[0], conv.labels())  # the annotator's map, not gt
    assert trace.seconds[0] == 0.0
    # the next image starts from what was learnt
    annotate_carried(conv, learner, scene, gt, (), ("relabel",), cap=10.0)
    assert conv.session.carry is not None and learner.carry.images == 2


def test_conversation_state_keeps_the_carried_start(tiny_model, image) -> None:
    from guide.dialogue.conversation import Conversation

    conv = Conversation(tiny_model)
    conv.set_image(image)
    assert "carry" not in conv.get_state()  # no carried guide: the state is as before
    plain = conv.session.logits().clone()
    learner = CarryLearner(tiny_model, CarrySettings(steps=20, lr=0.05))
    learner.learn(conv.session, np.zeros(image.shape[:2], dtype=np.uint8))
    conv.set_image(image, carry=learner.carry)
    carried = conv.session.logits().clone()
    assert not torch.equal(carried, plain)
    conv.guide_points([(5, 5, 1)])
    state = json.loads(json.dumps(conv.get_state()))
    assert state["carry"]["images"] == 1
    other = Conversation(tiny_model)
    other.set_state(state, image)  # restored elsewhere: the same start and turns
    assert torch.allclose(other.session.logits(), conv.session.logits())
    other.undo()
    assert torch.allclose(other.session.logits(), carried)
    conv.set_image(image)  # a new start without a carry: the network alone
    assert conv.session.carry is None and torch.equal(conv.session.logits(), plain)
    with pytest.raises(ValueError):
        conv.set_image(image, carry={"gamma_s": [0.0], "gamma_b": [0.0], "class_bias": [1.0]})


def test_annotator_saved_images_teach_the_next_images_start(tiny_model, tmp_path) -> None:
    from tests.test_annotate import annotator, write_images

    write_images(tmp_path / "in", 3)
    a = annotator(tiny_model, tmp_path / "out", carry=CarrySettings(steps=20, lr=0.05))
    tab, place, _ = a.open_images([tmp_path / "in"], None, None)
    assert "carry" not in tab  # nothing saved yet: the first image starts from the network alone
    tab, place, msg = a.save_and_next(tab, place)
    assert place["current"] == "img1" and tab["carry"]["images"] == 1
    tab, place, _ = a.step(tab, place, -1)  # a saved image keeps the start it was labelled on
    assert "carry" not in tab
    plain = annotator(tiny_model, tmp_path / "out2")
    t2, p2, _ = plain.open_images([tmp_path / "in"], None, None)
    t2, p2, _ = plain.save_and_next(t2, p2)
    assert "carry" not in t2  # off unless asked for
