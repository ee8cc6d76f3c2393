import pytest

from guide.dialogue.conversation import describe_text_turn
from guide.text.reader import find_class, find_place, interpret, name_class, read_op, split_clauses
from guide.text.tokenizer import Tokens, tokenize

CLASSES = ["sky", "grass", "t-shirt", "coat", "ankle boot"]
# A stand-in for GloVe: two-dimensional vectors where "jacket" sits next to "coat".
VECTORS = {"sky": [1.0, 0.0], "grass": [0.7, 0.7], "t-shirt": [0.0, 1.0], "coat": [0.1, 1.0], "ankle": [-1, 0.2],
           "boot": [-1, 0.1], "jumpsuit": [0.12, 1.0], "blue": [0.5, -0.5], "pasture": [0.7, 0.72]}
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
    # "jumpsuit" is as near t-shirt as coat: no clear winner, so only suggested
    r = _reading("there is a jumpsuit")
    assert r.label is None and r.suggestions[0] == "coat"
    reply = describe_text_turn(["there", "is", "a", "jumpsuit"], ["zzz"], CLASSES, {}, r)
    assert "Did you mean coat" in reply and "zzz" in reply and "did not change" in reply


def test_reply_names_changes():
    r = _reading("there is a coat")
    reply = describe_text_turn(["there", "is", "a", "coat"], [], CLASSES, {"coat": 120, "sky": -120}, r)
    assert reply.startswith("Understood: find coat.") and "coat +120 px" in reply and "sky -120 px" in reply


class _Everything:
    """A vocabulary holding every word: tokenize's clitic splitting without GloVe."""

    def __contains__(self, word: str) -> bool:
        return True


def _read(text: str, classes=CLASSES):
    r = interpret(tokenize(text, _Everything()), classes, VECTORS)
    return r.op, None if r.label is None else classes[r.label], r.place


# Negations that say the class is missing from the result mean "find"; those that say it is not in the image, "remove".
FIND_NEGATIONS = [
    "the coat on the left was not found",
    "the coat is not visible",
    "the coat isn't there",
    "the coat is missing on the left",
    "you did not find the coat",
    "you didn't mark the coat",
    "the coat has not been detected",
    "the coat wasn't segmented",
    "don't miss the coat",
]
REMOVE_NEGATIONS = [
    "there is no coat",
    "that is not a coat",
    "it isn't a coat",
    "the coat is wrong",
    "the coat on the left is wrong",
    "delete the coat",
    "erase the coat",
    "get rid of the coat",
    "the coat should not be there",
    "i don't see a coat on the left",
    "there isn't a coat",
    "no coat on the left",
    "why is there a coat",
]
# Multi-word and hyphenated class names inside "take ... away" / "get ... out".
REMOVE_LONG_NAMES = [
    ("take the ankle boot away", "ankle boot"),
    ("please get that t-shirt out of the upper left corner", "t-shirt"),
    ("take the t-shirts off the left", "t-shirt"),
]
FIND_PLAIN = ["i can see a coat on the left", "there is a coat", "find the coat", "where is the coat", "coat on the left",
              "add the coat", "i think there is a coat"]


@pytest.mark.parametrize("text", FIND_NEGATIONS + FIND_PLAIN)
def test_find_phrasings(text: str) -> None:
    assert _read(text)[:2] == ("find", "coat")


@pytest.mark.parametrize("text", REMOVE_NEGATIONS)
def test_remove_phrasings(text: str) -> None:
    assert _read(text)[:2] == ("remove", "coat")


@pytest.mark.parametrize(("text", "name"), REMOVE_LONG_NAMES)
def test_remove_phrasings_with_long_class_names(text: str, name: str) -> None:
    assert _read(text)[:2] == ("remove", name)


@pytest.mark.parametrize(("text", "place"), [
    ("there is a coat in the upper left corner", "on the top left"),
    ("the coat lower right", "on the bottom right"),
    ("the coat on the left side", "on the left"),
    ("the coat in the right half", "on the right"),
    ("a coat along the bottom", "on the bottom"),
    ("a coat down at the bottom", "on the bottom"),
    ("a coat in the centre", "in the middle"),
    ("a coat right in the middle", "in the middle"),
    ("a coat on the right in the image", "on the right"),
    ("the coat towards the top", "on the top"),
    ("the coat in the left top corner", "on the top left"),
    ("coats everywhere", "everywhere"),
    ("coats all over", "everywhere"),
    ("there is a coat", ""),
])
def test_place_words(text: str, place: str) -> None:
    assert find_place(tokenize(text, _Everything()).words) == place


def test_class_plurals_synonyms_and_neighbours() -> None:
    voc = ["cat", "dog", "dress", "grass"]
    assert name_class(["dresses"], voc) == (2, "name")
    assert name_class(["two", "cats"], voc) == (0, "name")
    assert name_class(["kitten"], voc) == (0, "synonym")  # only when the model has cat
    assert name_class(["kitten"], CLASSES) == (None, "")
    assert name_class(["a", "jacket"], CLASSES) == (CLASSES.index("coat"), "synonym")
    # GloVe: "pasture" is clearly nearest grass (margin over the next class); "jumpsuit" is not clear
    assert name_class(["pasture"], CLASSES, VECTORS) == (CLASSES.index("grass"), "neighbour")
    assert name_class(["jumpsuit"], CLASSES, VECTORS) == (None, "")
    assert _read("remove the kittens", ["sky", "cat"]) == ("remove", "cat", "")
    assert _read("there is no pasture on the left") == ("remove", "grass", "on the left")


def test_read_op_keeps_the_old_bare_negation_rule() -> None:
    assert read_op(["not", "coat"]) == "remove"
    assert read_op(["coat"]) == "find"


SCENES = ["sky", "grass", "t-shirt", "trousers", "coat", "bag", "ankle boot"]


@pytest.mark.parametrize(("text", "clauses"), [
    ("there is a coat on the left and no grass on the bottom", ["there is a coat on the left", "there is no grass on the bottom"]),
    ("the coat is missing and the bag is wrong", ["the coat is missing", "the bag is wrong"]),
    ("There is a coat on the left. There is no grass!", ["there is a coat on the left", "there is no grass"]),
    ("the coat is missing on the left and the bag on the right", ["the coat is missing on the left", "the bag is missing on the right"]),
    ("there is no coat, no bag and no grass", ["there is no coat", "there is no bag", "there is no grass"]),
    ("delete the coat and the ankle boot", ["delete the coat", "delete the ankle boot"]),
    # a class list: one hint per class, sharing the verb and the place said after the last item
    ("remove the t-shirt and trousers on the left", ["remove the t-shirt on the left", "remove the trousers on the left"]),
    ("the coat and the bag are missing", ["the coat is missing", "the bag is missing"]),
    ("there is a coat and an ankle boot", ["there is a coat", "there is an ankle boot"]),
    # no class on one side: not a hint of its own
    ("find the coat and be quick", ["find the coat and be quick"]),
    ("there is a coat", ["there is a coat"]),
    ("hello there", ["hello there"]),
    ("", []),
])
def test_split_clauses(text: str, clauses: list[str]) -> None:
    assert split_clauses(text, SCENES) == clauses


def test_split_never_cuts_a_class_named_with_and() -> None:
    assert split_clauses("find the salt and pepper on the left and the cat", ["cat", "salt and pepper"]) == [
        "find the salt and pepper on the left", "find the cat"]
