"""Issue 23 through the library, the Conversation and the app's API: a hint naming no class is
refused the same way everywhere, an unsure reading is asked about before anything is done, the
one-word answer completes it (in the transcript, undone by undo), and a done hint can be
corrected in one word. Tiny random text guide from conftest's app_model_dir."""

from __future__ import annotations

import numpy as np
import pytest

from guide.dialogue.conversation import Conversation, confirmation_answer, turn_reply
from guide.dialogue.session import GuideSession

NO_CLASS = ["there is a giraffe on the left", "asdf", "remove everything", "cot on the left"]


def most_predicted(labels: np.ndarray, classes) -> str:
    return classes[int(np.bincount(labels.ravel()).argmax())]


def absent(labels: np.ndarray, classes) -> str:
    counts = np.bincount(labels.ravel(), minlength=len(classes))
    return next(c for c, n in zip(classes, counts) if n == 0)


def conversation(model, scene) -> Conversation:
    conv = Conversation(model, keep_backfiring_text=True)  # every done hint stays: the steps are predictable
    conv.set_image(scene)
    return conv


@pytest.mark.parametrize("text", NO_CLASS)
def test_library_and_conversation_refuse_a_hint_without_a_class_alike(text_model, scene, text) -> None:
    from guide.text.reader import NoClassError

    session = GuideSession(text_model)
    session.set_image(scene)
    p0 = session.predict()
    with pytest.raises(NoClassError) as refused:
        session.add_text(text)
    assert session.turns == [] and np.array_equal(session.predict(), p0)
    assert isinstance(refused.value, ValueError) and "could not find a class name" in str(refused.value)
    conv = conversation(text_model, scene)
    reply = conv.say(text)
    assert reply.text == str(refused.value)  # the same words in the app's chat
    assert conv.steps == [] and np.array_equal(conv.labels(), p0)


def test_the_words_alone_guide_is_a_setting(text_model, scene) -> None:
    session = GuideSession(text_model, text_words_alone=True)  # the paper's guide, for experiments
    session.set_image(scene)
    session.add_text("there is a giraffe on the left")
    assert len(session.turns) == 1


def test_the_whole_message_is_read(text_model, scene) -> None:
    session = GuideSession(text_model, keep_backfiring_text=True)
    session.set_image(scene)
    result = session.add_text("x " * 40 + "there is a coat")
    assert result.reading.label == text_model.classes.index("coat") and result.reading.op == "find"
    assert len(session.turns) == 1


def test_add_text_takes_the_confirmed_operation(text_model, scene) -> None:
    session = GuideSession(text_model, keep_backfiring_text=True)
    session.set_image(scene)
    name = most_predicted(session.predict(), text_model.classes)
    result = session.add_text(f"yeet the {name}", op="remove")
    assert result.reading.op == "remove" and text_model.classes[result.reading.label] == name
    assert turn_reply(result, text_model.classes).startswith(f"Understood: remove {name}")
    with pytest.raises(ValueError, match="op is"):
        session.add_text(f"there is a {name}", op="delete")
    assert len(session.turns) == 1


def test_unsure_hint_is_asked_about_then_done_by_a_one_word_answer(text_model, scene) -> None:
    conv = conversation(text_model, scene)
    p0 = conv.labels().copy()
    name = most_predicted(p0, conv.classes)
    reply = conv.say(f"yeet the {name}")
    assert "yeet" in reply.text and f"Do you mean: find the {name}? (yes / no / remove it instead)" in reply.text
    assert conv.steps == [] and np.array_equal(conv.labels(), p0)  # nothing done yet
    assert conv.get_state()["confirm"]["op"] == "find"
    reply = conv.say("remove it instead")
    assert reply.text.startswith(f"Understood: remove {name}") and "find it instead" in reply.text
    assert len(conv.steps) == 1 and conv.steps[-1]["ops"] == ["remove"] and conv.confirm is None
    said = [(m["role"], m["content"]) for m in conv.transcript[-4:]]  # the question and its answer are in the transcript
    assert said[0] == ("user", f"yeet the {name}") and said[1][0] == "assistant" and "Do you mean" in said[1][1]
    assert said[2] == ("user", "remove it instead") and said[3][1] == reply.text
    conv.undo()
    assert conv.steps == [] and np.array_equal(conv.labels(), p0)


@pytest.mark.parametrize("answer,done", [("yes", "find"), ("find", "find"), ("remove", "remove"), ("no", None)])
def test_each_answer(text_model, scene, answer, done) -> None:
    conv = conversation(text_model, scene)
    name = most_predicted(conv.labels(), conv.classes)
    conv.say(f"yeet the {name} on the left")
    reply = conv.say(answer)
    if done is None:
        assert reply.text.startswith("OK, I changed nothing") and conv.steps == [] and conv.confirm is None
    else:
        assert reply.text.startswith(f"Understood: {done} {name} on the left") and conv.steps[-1]["ops"] == [done]


def test_another_message_drops_the_question_and_undo_withdraws_it(text_model, scene) -> None:
    conv = conversation(text_model, scene)
    name = most_predicted(conv.labels(), conv.classes)
    conv.say(f"yeet the {name}")
    reply = conv.say(f"there is no {name} on the left")  # not an answer: read as a new hint
    assert reply.text.startswith(f"Understood: remove {name} on the left") and conv.confirm is None
    conv.say(f"yeet the {name}")
    assert conv.undo().text.startswith("Question withdrawn") and conv.confirm is None and len(conv.steps) == 1


def test_a_pending_question_survives_the_state_round_trip(text_model, scene) -> None:
    conv = conversation(text_model, scene)
    name = most_predicted(conv.labels(), conv.classes)
    conv.say(f"yeet the {name}")
    other = Conversation(text_model, keep_backfiring_text=True)
    other.set_state(conv.get_state(), image=scene)
    assert other.say("yes").text.startswith(f"Understood: find {name}") and len(other.steps) == 1


def test_a_done_hint_is_corrected_in_one_word(text_model, scene) -> None:
    conv = conversation(text_model, scene)
    p0 = conv.labels().copy()
    name = most_predicted(p0, conv.classes)
    reply = conv.say(f"there is no {name} on the right")
    assert "Not what you meant? Say \u201cfind it instead\u201d or \u201cundo\u201d." in reply.text
    removed = conv.labels().copy()
    reply = conv.say("find it instead")
    assert reply.text.startswith(f"Understood: find {name} on the right")
    assert len(conv.steps) == 1 and conv.steps[0]["ops"] == ["find"]
    assert conv.say("find").text.startswith("That is what I did")
    conv.say("remove it instead")
    np.testing.assert_array_equal(conv.labels(), removed)  # the same turn as the first reading's
    assert conv.say("undo").text.startswith("Undone") and np.array_equal(conv.labels(), p0)


def test_removing_what_the_network_does_not_show_is_asked_about(text_model, scene) -> None:
    conv = conversation(text_model, scene)
    name = absent(conv.labels(), conv.classes)
    reply = conv.say(f"there is no {name} on the left")
    assert reply.text.startswith(f"I see no {name} on the left.") and "Do you mean: find the" in reply.text
    assert conv.steps == []


def test_confirmation_answers() -> None:
    assert [confirmation_answer(t) for t in ("Yes!", "no", "find it instead", "No, remove it", "remove", "coat")] == [
        "yes", "no", "find", "remove", "remove", None]


def test_the_app_asks_and_completes_through_chat(app_server, text_model) -> None:
    pytest.importorskip("gradio_client")
    from gradio_client import Client, handle_file

    import app
    from guide.text.reader import NoClassError

    paths = app.example_paths()
    if not paths:
        pytest.skip("no example scenes")
    if not app_server[1].guide_app.has_text_guide:
        pytest.skip("the app model has no text guide")
    c = Client(app_server[0], verbose=False, download_files=True)
    c.predict(handle_file(paths[0]), api_name="/set_image")
    status = 3
    # a hint naming no class: the app's words are the library's
    session = GuideSession(text_model)
    session.set_image(np.zeros((64, 64, 3), dtype=np.uint8))
    with pytest.raises(NoClassError) as refused:
        session.add_text("there is a giraffe on the left")
    assert c.predict("there is a giraffe on the left", api_name="/chat")[status] == str(refused.value)

    r = c.predict("yeet the sky", api_name="/chat")
    assert "Do you mean: find the sky? (yes / no / remove it instead)" in r[status], r[status]
    r = c.predict("yes", api_name="/chat")
    assert r[status].startswith("Understood: find sky"), r[status]
    chat = [m["content"] if isinstance(m["content"], str) else str(m["content"]) for m in r[1]]
    assert any("Do you mean" in m for m in chat) and any(m == "yes" or "yes" in m for m in chat)
    r = c.predict(api_name="/undo")
    assert r[status].startswith("Undone"), r[status]


# One hint of each kind of issue 23, through the library and through the app's Conversation: both read it
# the same and act on it ({c}: a class; remove hints name the class the network shows most, so there is
# something to remove).
KINDS = [
    ("verb of undoing", "undo the {c}", "remove", ""),
    ("un-marking, not in GloVe", "unlabel the {c}", "remove", ""),
    ("imagined", "you imagined the {c}", "remove", ""),
    ("stop calling", "stop calling that {c}", "remove", ""),
    ("question doubting", "why is there {c} here?", "remove", ""),
    ("question asserting presence", "isn't that {c} on the left-hand side?", "find", "on the left"),
    ("missed", "you never labelled the {c} halfway down the right edge", "find", "on the right"),
    ("double negation", "don't forget the {c} in the top-left corner", "find", "on the top left"),
]


@pytest.mark.parametrize("kind,frame,op,place", KINDS, ids=[k[0] for k in KINDS])
def test_each_kind_through_the_library_and_the_conversation(text_model, scene, kind, frame, op, place) -> None:
    session = GuideSession(text_model, keep_backfiring_text=True)
    session.set_image(scene)
    name = most_predicted(session.predict(), text_model.classes) if op == "remove" else "coat"
    text = frame.format(c=name)
    result = session.add_text(text)
    read = (result.reading.op, text_model.classes[result.reading.label], result.reading.place)
    assert read == (op, name, place), kind
    understood = f"Understood: {op} {name}{' ' + place if place else ''}."
    conv = conversation(text_model, scene)
    reply = conv.say(text)
    assert reply.text.startswith(understood), (kind, reply.text)
    assert len(conv.steps) == 1 and conv.steps[0]["ops"] == [op]
