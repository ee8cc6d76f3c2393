"""Conversation: one image's dialogue (the app's path, without the app)."""

import json

import numpy as np
import pytest

from guide.core.backprop import BackpropSettings
from guide.dialogue.conversation import MAX_TURNS, Conversation, UserError, empty_conversation
from guide.models.hub import load_model
from guide.serving.pool import ConversationPool, blank_tab

FAST = BackpropSettings(optimizer="lbfgs", max_steps=5)


@pytest.fixture(scope="module")
def model(app_model_dir):
    return load_model(app_model_dir, device="cpu")


@pytest.fixture
def scene():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, size=(64, 80, 3), dtype=np.uint8)
    img[:20] = [120, 180, 240]
    return img


@pytest.fixture
def conv(model, scene):
    c = Conversation(model, FAST)
    c.set_image(scene, "scene")
    return c


def runner_up(conv, y, x) -> int:
    return int(np.argsort(conv.session.probabilities()[:, y, x])[-2])


def test_a_step_records_its_change_and_undo_takes_it_back(conv):
    base = conv.labels().copy()
    assert conv.transcript[0]["content"].startswith("New image, 80x64") and conv.changed() is None
    label = runner_up(conv, 30, 40)
    reply = conv.guide_points([(30, 40, label)])
    after = conv.labels()
    assert reply.text.startswith("Guided by 1 labelled pixel") and after[30, 40] == label
    np.testing.assert_array_equal(reply.changed, base != after)
    np.testing.assert_array_equal(conv.changed(), base != after)  # stored as RLE, not recomputed
    assert [m["role"] for m in conv.transcript[-2:]] == ["user", "assistant"]
    undone = conv.undo()
    assert undone.text == "Undone: back to 0 turns." and conv.steps == []
    np.testing.assert_array_equal(conv.labels(), base)
    np.testing.assert_array_equal(undone.changed, base != after)
    with pytest.raises(UserError, match="Nothing to undo"):
        conv.undo()


def test_undo_takes_back_a_whole_step_of_several_turns(text_model, scene):
    """A message read as several clauses adds a session turn each, in one step: undone together."""
    conv = Conversation(text_model, FAST, keep_backfiring_text=True)  # every clause's turn stays
    conv.set_image(scene, "scene")
    base = conv.labels().copy()
    conv.guide_points([(5, 5, runner_up(conv, 5, 5))])
    conv.say("there is a coat on the left and there is a bag on the right")
    assert [s["turns"] for s in conv.steps] == [1, 2] and len(conv.session.turns) == 3
    conv.undo()
    assert len(conv.session.turns) == 1 and len(conv.steps) == 1
    conv.undo()
    np.testing.assert_array_equal(conv.labels(), base)


def test_state_is_plain_data_and_restores_elsewhere(model, conv, scene):
    conv.guide_points([(30, 40, runner_up(conv, 30, 40))])
    conv.ask()
    state = conv.get_state()
    text = json.dumps(state)  # JSON-able; the image is not in it
    assert len(text) < 200_000 and "image" not in state and state["pending"] == conv.pending
    other = Conversation(model, FAST)
    with pytest.raises(ValueError, match="another image"):
        other.set_state(json.loads(text))
    other.set_state(json.loads(text), scene)
    np.testing.assert_array_equal(other.labels(), conv.labels())
    assert other.transcript == conv.transcript and other.pending == conv.pending
    np.testing.assert_array_equal(other.changed(), conv.changed())
    other.undo()  # withdraws the question only in `other`
    assert other.pending is None and conv.pending is not None
    with pytest.raises(ValueError, match="not a Conversation state"):
        other.set_state({"turns": []})
    fresh = Conversation(model, FAST)
    fresh.set_state(empty_conversation())
    with pytest.raises(UserError, match="upload an image first"):
        fresh.say("there is a coat")


def test_reopening_the_same_state_keeps_cached_logits(conv):
    conv.guide_points([(30, 40, runner_up(conv, 30, 40))])
    logits, labels = conv.session.logits(), conv.labels()
    conv.set_state(conv.get_state())
    assert conv.session.logits() is logits and conv.labels() is labels  # nothing recomputed
    conv.set_state(dict(conv.get_state(), steps=[], session={"turns": [], "asked": []}))
    assert conv.session.logits() is not logits


def test_ask_and_answer(conv):
    with pytest.raises(UserError, match="haven't asked"):
        conv.answer("coat")
    question = conv.ask()
    y, x = conv.pending
    assert question.text.startswith(f"What is here, at the crosshair (row {y}, column {x})?")
    with pytest.raises(UserError, match="Unknown class"):
        conv.answer("unicorn")
    with pytest.raises(UserError, match="10,000 characters") as e:
        conv.answer("x" * 10_000)
    assert len(str(e.value)) < 100  # a long answer is not echoed back
    reply = conv.say("It's a Coat")  # a chat message answering the question
    assert reply.text.startswith("Thanks: that's coat") and conv.pending is None
    assert conv.labels()[y, x] == conv.classes.index("coat")
    assert conv.steps[-1]["said"] == "It's a Coat"


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "unicorn", "left", "remove everything", "il y a un manteau à gauche"])
def test_a_message_naming_no_class_changes_nothing_and_asks(conv, text):
    before, state = conv.labels().copy(), conv.get_state()
    reply = conv.say(text)
    assert "Which class do you mean?" in reply.text and reply.changed is None
    np.testing.assert_array_equal(conv.labels(), before)
    assert conv.get_state()["session"] == state["session"] and conv.steps == []
    assert conv.transcript[-2] == {"role": "user", "content": text}


def test_a_near_spelling_is_suggested(conv):
    assert "Did you mean coat" in conv.say("there is a caot on the left").text


def test_errors_leave_no_trace(conv):
    state = conv.get_state()
    for call, match in [(lambda: conv.say("   "), "Type a hint"), (lambda: conv.say("x" * 501), "501 characters"),
                        (lambda: conv.guide_points([]), "No points"), (lambda: conv.guide_points([(-1, 999, 0)]), "no labelled pixel")]:
        with pytest.raises(UserError, match=match):
            call()
        assert conv.get_state() == state


def test_a_conversation_has_a_bounded_number_of_turns(conv, monkeypatch):
    import guide.dialogue.conversation

    monkeypatch.setattr(guide.dialogue.conversation, "MAX_TURNS", 2)
    conv.guide_points([(1, 1, 0)])
    conv.guide_points([(2, 2, 0)])
    with pytest.raises(UserError, match="2 turns, the most"):
        conv.guide_points([(3, 3, 0)])
    assert len(conv.steps) == 2 and MAX_TURNS >= 50


def test_text_hint_through_the_conversation(conv):
    if not conv.has_text_guide:
        pytest.skip("the app test model has no text guide")
    reply = conv.say("there is a coat on the top left")
    assert reply.text.startswith("Understood: find coat on the top left")
    assert [t["kind"] for t in conv.summary()] == ["text"] and len(conv.steps) == 1


def test_pool_shares_one_image_and_keeps_tabs_apart(model, scene):
    pool = ConversationPool(model, FAST, size=2)
    tabs = []
    for _ in range(2):
        image, key = pool.intern(scene.copy())
        with pool.conversation(image, key) as c:
            c.set_image(image, "scene", key=key)
            tabs.append(pool.tab(c))
    assert tabs[0]["image"] is tabs[1]["image"]  # stored once
    with pool.open(tabs[0]) as c:
        c.guide_points([(30, 40, 3)])
        tabs[0] = pool.tab(c)
    with pool.open(tabs[1]) as c:
        assert c.steps == [] and c.summary() == []
    with pool.open(tabs[0]) as c:
        assert len(c.steps) == 1
    with pytest.raises(UserError, match="upload an image first"), pool.open(blank_tab()):
        pass


def test_a_compound_message_is_one_step_of_several_text_turns(model, scene):
    c = Conversation(model, FAST, keep_backfiring_text=True)  # the tiny random guide may move classes either way
    c.set_image(scene, "scene")
    base = c.labels().copy()
    reply = c.say("there is a coat on the left and a bag on the right")
    assert len(c.session.turns) == 2 and [s["turns"] for s in c.steps] == [2]
    texts = [t["text"] for t in c.session.turns]
    assert texts == ["there is a coat on the left", "there is a bag on the right"]
    assert "(1)" in reply.text and "(2)" in reply.text and "coat" in reply.text and "bag" in reply.text
    c.undo()  # the whole message, both turns
    assert c.session.turns == [] and c.steps == []
    np.testing.assert_array_equal(c.labels(), base)


def test_a_class_named_by_a_synonym_is_read(model, scene):
    c = Conversation(model, FAST, keep_backfiring_text=True)
    c.set_image(scene, "scene")
    reply = c.say("there is a jacket on the left")  # jacket -> coat (guide/text/reader.py SYNONYMS)
    assert "coat" in reply.text and "could not find a class" not in reply.text
    assert len(c.session.turns) == 1


def test_a_bare_sessions_turn_result_says_the_apps_words(tiny_model, image):
    from guide.dialogue.replies import turn_reply
    from guide.dialogue.session import GuideSession

    session = GuideSession(tiny_model)
    session.set_image(image)
    result = session.add_clicks([(5, 5, 1), (40, 60, 2)])
    assert result.reply == turn_reply(result, tiny_model.classes)  # what the app's chat says of this turn
    assert result.reply.startswith("Guided by 2 labelled pixels (")
    conversation = Conversation(tiny_model)
    conversation.set_image(image)
    assert conversation.guide_points([(5, 5, 1), (40, 60, 2)]).text.startswith(result.reply.split(" in ")[0])
