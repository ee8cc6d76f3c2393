from guide.text.tokenizer import Tokens
from guide.text.understand import describe_text_turn, find_class, find_place, interpret

CLASSES = ["sky", "grass", "t-shirt", "coat", "ankle boot"]
# A stand-in for GloVe: two-dimensional vectors where "jacket" sits next to "coat".
VECTORS = {"sky": [1.0, 0.0], "grass": [0.7, 0.7], "t-shirt": [0.0, 1.0], "coat": [0.1, 1.0], "ankle": [-1, 0.2],
           "boot": [-1, 0.1], "jacket": [0.12, 1.0], "blue": [0.5, -0.5]}
VECTORS = {k: __import__("numpy").array(v, dtype="float32") for k, v in VECTORS.items()}


def _reading(text: str):
    return interpret(Tokens(text.split(), []), CLASSES, VECTORS)


def test_operation_class_and_place():
    r = _reading("there is a coat on the top left")
    assert (r.op, CLASSES[r.label], r.place) == ("find", "coat", "on the top left")
    r = _reading("there is no grass")
    assert (r.op, CLASSES[r.label], r.place) == ("remove", "grass", "")
    r = _reading("the ankle boots are missing in the middle")
    assert (r.op, CLASSES[r.label], r.place) == ("find", "ankle boot", "in the middle")


def test_class_matching_prefers_longest_and_plurals():
    assert find_class(["two", "coats"], CLASSES) == 3
    assert find_class(["t-shirt"], CLASSES) == 2
    assert find_class(["boot"], CLASSES) is None
    assert find_place(["lower", "right"]) == "on the bottom right"


def test_unknown_class_word_suggests_nearest():
    r = _reading("there is a jacket")
    assert r.label is None and r.suggestions[0] == "coat"
    reply = describe_text_turn("there is a jacket", Tokens(["there", "is", "a", "jacket"], ["zzz"]), CLASSES, {}, r)
    assert "Did you mean coat" in reply and "zzz" in reply and "did not change" in reply


def test_reply_names_changes():
    r = _reading("there is a coat")
    reply = describe_text_turn("there is a coat", Tokens(["there", "is", "a", "coat"], []), CLASSES, {"coat": 120, "sky": -120}, r)
    assert reply.startswith("Understood: find coat.") and "coat +120 px" in reply and "sky -120 px" in reply
