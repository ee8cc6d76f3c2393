"""The hint reader on each kind of phrasing issue 23 lists (real GloVe vocabulary), its confidence,
and the frozen blind held-out set it is reported on.

The sentences here are the tests' own (not the blind set's: that one is measured only,
``python -m guide evaluate reader --phrasings blind``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from guide.text.operation import read_operation, typed_words
from guide.text.reader import find_place, interpret
from guide.text.tokenizer import MAX_TOKENS, tokenize

CLASSES = ["sky", "grass", "gravel", "wall", "water", "sand", "t-shirt", "trousers", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle boot"]


@pytest.fixture(scope="module")
def vectors():
    from guide.text.vectors import load_vectors

    try:
        return load_vectors()
    except Exception as e:  # noqa: BLE001 (no GloVe here: these tests need the real vocabulary)
        pytest.skip(f"GloVe vectors unavailable: {e}")


def read(text: str, vectors):
    return interpret(tokenize(text, vectors), CLASSES, vectors)


# (kind, text, op, class, place): written for these tests, one or more per kind of the issue.
CASES = [
    ("verb of undoing", "undo the grass along the bottom", "remove", "grass", "on the bottom"),
    ("verb of undoing", "untick the bag on the right", "remove", "bag", "on the right"),
    ("verb of undoing", "roll back the coat in the middle", "remove", "coat", "in the middle"),
    ("un-marking, not in GloVe", "unlabel the sneaker at the top", "remove", "sneaker", "on the top"),
    ("un-marking, not in GloVe", "please unhighlight the wall", "remove", "wall", ""),
    ("un-marking, not in GloVe", "de-select the water on the left", "remove", "water", "on the left"),
    ("imagined", "you only imagined that sandal on the left", "remove", "sandal", "on the left"),
    ("imagined", "the dress up top is a hallucination of yours", "remove", "dress", "on the top"),
    ("imagined", "there never was any gravel in the bottom right", "remove", "gravel", "on the bottom right"),
    ("stop calling", "stop calling the thing on the right a shirt", "remove", "shirt", "on the right"),
    ("stop calling", "don't call that trousers", "remove", "trousers", ""),
    ("it isn't", "that thing on the top left isn't a pullover", "remove", "pullover", "on the top left"),
    ("question, doubt", "why would there be sand at the top?", "remove", "sand", "on the top"),
    ("question, doubt", "is that really sky at the bottom?", "remove", "sky", "on the bottom"),
    ("question, presence", "isn't that a coat on the left-hand side?", "find", "coat", "on the left"),
    ("question, presence", "don't you see the bag at the bottom?", "find", "bag", "on the bottom"),
    ("question, presence", "can't you tell that's grass in the middle?", "find", "grass", "in the middle"),
    ("missed", "the shirt on the right has not been picked up", "find", "shirt", "on the right"),
    ("missed", "you overlooked the sandal at the bottom left", "find", "sandal", "on the bottom left"),
    ("missed", "nobody segmented the water at the top", "find", "water", "on the top"),
    ("missed", "the ankle boot halfway down the left edge went unlabelled", "find", "ankle boot", "on the left"),
    ("double negation", "it is not true that there is no wall on the right", "find", "wall", "on the right"),
    ("double negation", "don't forget the t-shirt in the upper-right corner", "find", "t-shirt", "on the top right"),
    ("command", "colour in the dress on the right-hand side", "find", "dress", "on the right"),
    ("statement", "the stuff at the very bottom is gravel", "find", "gravel", "on the bottom"),
    ("synonym, plural", "get rid of the jackets on the left", "remove", "coat", "on the left"),
    ("multi-word class", "ankle boots, top-left, you missed them", "find", "ankle boot", "on the top left"),
    ("remove", "wipe out the sky in the bottom-right corner", "remove", "sky", "on the bottom right"),
]


@pytest.mark.parametrize("kind,text,op,name,place", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_reader_by_kind(kind, text, op, name, place, vectors) -> None:
    r = read(text, vectors)
    got = (r.op, None if r.label is None else CLASSES[r.label], "" if r.place == "everywhere" else r.place)
    assert got == (op, name, place), f"{kind}: {text!r} read as {got}"
    assert r.sure and r.confidence >= 0.7, (text, r)


def test_every_word_typed_reaches_the_reader(vectors) -> None:
    tokens = tokenize("unlabel the coat", vectors)
    assert "unlabel" not in tokens.words and "unlabel" in tokens.ignored  # the GRU cannot read it ...
    assert tokens.typed == ["unlabel", "the", "coat"]  # ... the reader can
    assert read("unlabel the coat", vectors).op == "remove"
    assert typed_words("Isn't that a coat?") == ["is", "not", "that", "a", "coat", "?"]


def test_the_whole_message_is_read_past_the_window(vectors) -> None:
    text = "x " * 40 + "there is a coat"
    assert len(tokenize(text, vectors).words) == MAX_TOKENS and "coat" not in tokenize(text, vectors).words
    r = read(text, vectors)
    assert CLASSES[r.label] == "coat" and r.op == "find"
    r = read("hello " * 30 + "that is not a bag on the right", vectors)
    assert (r.op, CLASSES[r.label], r.place) == ("remove", "bag", "on the right")


@pytest.mark.parametrize("words,place", [
    ("on the left-hand side", "on the left"),
    ("halfway down the left edge", "on the left"),
    ("halfway up the right side", "on the right"),
    ("in the top-left corner", "on the top left"),
    ("down in the right corner", "on the bottom right"),
    ("looking from top to bottom , on the right", "on the right"),
    ("someone left a coat", ""),
    ("in the mid-section", "in the middle"),
])
def test_place_phrases(words, place) -> None:
    assert find_place(words.split()) == place


def test_unsure_readings_say_why(vectors) -> None:
    r = read("yeet the coat on the left", vectors)  # a verb the reader cannot know
    assert not r.sure and "yeet" in r.doubt and CLASSES[r.label] == "coat"
    r = read("you missed the coat but it is wrong", vectors)  # cues both ways
    assert not r.sure and r.doubt == "conflict"
    r = read("there is a sneker at the top", vectors)  # a misspelt class: read, but asked about
    assert CLASSES[r.label] == "sneaker" and r.how == "spelling" and not r.sure
    r = read("remve the coat on the left", vectors)  # a misspelt verb
    assert r.op == "remove" and not r.sure and "remve" in r.doubt
    assert read("there is no coat on the left", vectors).sure
    assert read("coat on the left", vectors).sure  # no cue at all: a statement that it is there


def test_no_class_is_not_guessed(vectors) -> None:
    for text in ("there is a giraffe on the left", "asdf", "remove everything", "cot on the left"):
        assert read(text, vectors).label is None, text


def test_confidence_orders_readings() -> None:
    sure = read_operation(typed_words("there is no coat"), [3])
    torn = read_operation(typed_words("you missed the coat but it is wrong"), [3])
    assert sure.op == "remove" and sure.confidence > torn.confidence


BLIND = Path(__file__).resolve().parents[1] / "guide" / "text" / "heldout_blind.py"
BLIND_SHA256 = "c4c54ae93fccaeec14c08979a768560f3e83e258674de1276977fca5d721e272"  # as committed in 61b8b95


def test_the_blind_held_out_set_is_frozen_and_never_trained_on() -> None:
    assert hashlib.sha256(BLIND.read_bytes()).hexdigest() == BLIND_SHA256, "guide/text/heldout_blind.py changed"
    train = (BLIND.parents[1] / "training" / "text.py").read_text()
    assert "heldout_blind" not in train and "devset" not in train
    from guide.text.heldout_blind import BLIND as BOOK
    from guide.text.heldout_blind import CASES as BLIND_CASES
    from guide.text.heldout_blind import FIND_FRAMES, REMOVE_FRAMES

    assert len(FIND_FRAMES) + len(REMOVE_FRAMES) + len(BLIND_CASES) >= 150
    assert BOOK.find and BOOK.remove
    tests = {c[1] for c in CASES}
    assert not tests & {c[1] for c in BLIND_CASES}
