import json

import numpy as np
import pytest

from guide.core.hints import PixelHint
from guide.dialogue.session import GuideSession, SessionOrderError


def _runner_up(session, y, x):
    return int(np.argsort(session.probabilities()[:, y, x])[-2])


def test_out_of_order_use_names_the_fix(tiny_model):
    session = GuideSession(tiny_model)
    with pytest.raises(SessionOrderError, match="set_image"):
        session.predict()
    with pytest.raises(SessionOrderError, match="set_image"):
        session.add_clicks([(0, 0, 1)])


def test_prediction_has_image_size(tiny_model, image):
    session = GuideSession(tiny_model)
    session.set_image(image)
    pred = session.predict()
    assert pred.shape == image.shape[:2] and pred.dtype == np.uint8
    assert session.network_size == (48, 64)  # longer side = input_size 64


def test_click_flips_pixel_and_undo_restores(tiny_model, image):
    session = GuideSession(tiny_model)
    session.set_image(image)
    p0 = session.predict()
    label = _runner_up(session, 20, 30)
    result = session.add_clicks([(20, 30, label)])
    p1 = session.predict()
    assert p1[20, 30] == label and result.satisfied
    assert sum(result.gained.values()) == 0 and result.gained.get(tiny_model.classes[label], 0) > 0
    assert session.undo()
    assert np.array_equal(session.predict(), p0)
    assert not session.undo()


def test_hints_accumulate_and_state_roundtrip(tiny_model, image):
    session = GuideSession(tiny_model)
    session.set_image(image)
    a = _runner_up(session, 5, 5)
    session.add_hint(PixelHint(((5, 5, a),)))
    b = _runner_up(session, 40, 60)
    session.add_clicks([(40, 60, b)])
    pred = session.predict()
    assert pred[5, 5] == a and pred[40, 60] == b  # the first hint still holds
    state = session.get_state()
    assert len(state["turns"]) == 2

    other = GuideSession(tiny_model)
    other.set_image(image)
    other.set_state(state)
    assert np.array_equal(other.predict(), pred)
    other.undo()
    assert len(other.turns) == 1 and len(session.turns) == 2  # copies are independent

    # The state as JSON (lists again) restores the same prediction; a copy shares only tuples,
    # so changing it never changes the session, and copying costs the turns, not their floats.
    third = GuideSession(tiny_model)
    third.set_image(image)
    third.set_state(json.loads(json.dumps(state)))
    assert np.array_equal(third.predict(), pred) and third.get_state() == session.get_state()
    copy = session.get_state()
    copy["turns"][0]["kind"] = "text"
    copy["turns"].pop()
    copy["asked"].append([0, 0])
    assert session.get_state() == state and session.turn_count == 2
    params = state["turns"][-1]["click_params"]
    assert isinstance(params["alpha"], tuple) and session.get_state()["turns"][-1]["click_params"]["alpha"] is params["alpha"]


def test_reset_and_new_image(tiny_model, image):
    session = GuideSession(tiny_model)
    session.set_image(image)
    p0 = session.predict()
    session.add_clicks([(1, 1, _runner_up(session, 1, 1))])
    session.reset()
    assert np.array_equal(session.predict(), p0) and not session.can_undo
    session.add_clicks([(1, 1, _runner_up(session, 1, 1))])
    session.set_image(image[::-1].copy())
    assert session.turns == []


def test_bad_clicks_are_clear(tiny_model, image):
    session = GuideSession(tiny_model)
    session.set_image(image)
    with pytest.raises(ValueError, match="out of range"):
        session.add_clicks([(1, 1, 99)])
    with pytest.raises(ValueError, match="inside the image"):
        session.add_clicks([(500, 500, 1)])
    assert session.turns == []


def test_ask_skips_asked_and_excluded(tiny_model, image):
    session = GuideSession(tiny_model)
    session.set_image(image)
    first = session.ask()
    second = session.ask()
    assert first != second
    exclude = np.ones(image.shape[:2], dtype=bool)
    exclude[0, 0] = False
    assert session.ask(exclude, spread=0) == session.to_image(*session.to_network(0, 0))


def test_default_spread_keeps_questions_apart(tiny_model, image):
    from guide.dialogue.session import ASK_SPREAD

    session = GuideSession(tiny_model)
    session.set_image(image)
    asked = [session.to_network(*session.ask()) for _ in range(4)]
    for i, (y, x) in enumerate(asked):
        for v, u in asked[:i]:
            assert max(abs(y - v), abs(x - u)) > ASK_SPREAD


def test_text_without_text_guide_says_so(tiny_model, image):
    session = GuideSession(tiny_model)
    session.set_image(image)
    if tiny_model.text_guide is None:
        with pytest.raises(SessionOrderError, match="train-guide"):
            session.add_text("there is a coat")


def test_cold_start_equals_one_turn_with_every_click(tiny_model, image):
    """warm_start=False re-optimises each turn from zero: two turns give what one turn with
    both clicks gives; the default warm start generally does not."""
    from guide.core.backprop import BackpropSettings

    probe = GuideSession(tiny_model)
    probe.set_image(image)
    a, b = _runner_up(probe, 5, 5), _runner_up(probe, 40, 60)
    cold = GuideSession(tiny_model, BackpropSettings(warm_start=False))
    cold.set_image(image)
    cold.add_clicks([(5, 5, a)])
    cold.add_clicks([(40, 60, b)])
    once = GuideSession(tiny_model)
    once.set_image(image)
    once.add_clicks([(5, 5, a), (40, 60, b)])
    assert np.allclose(cold.logits().numpy(), once.logits().numpy(), atol=1e-5)
