"""Training phrasings of find and remove hints: the words the simulated user trains the guide with.

A :class:`Phrasebook` holds sentence frames per operation and place phrases per kind of
place; :func:`render` fills one frame with a class name and one place phrase. The paper
used a handful of templates; people write statements, commands, questions, first-person
sentences, negations (that mean *find*: "the coat was not detected"; or *remove*: "this
is not a coat"), synonyms of find/remove, and place words in many orders ("upper left",
"on the left side", "in the bottom half"). :data:`TRAINING` covers those families.

``guide/text/heldout.py`` holds a disjoint phrasebook used only to measure; nothing here
imports it. Frame fields: ``{c}`` class name, ``{a}`` its article, ``{w}`` place phrase
(may be empty). Place fields: ``{v}`` top/bottom, ``{u}`` upper/lower, ``{d}`` up/down,
``{h}`` left/right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guide.core.hints import FIND, REMOVE


@dataclass(frozen=True)
class Phrasebook:
    """Sentence frames per operation and place phrases per kind of place."""

    name: str
    find: tuple[str, ...]
    remove: tuple[str, ...]
    corner: tuple[str, ...]  # a vertical and a horizontal side: "on the top left"
    side_h: tuple[str, ...]  # left or right only
    side_v: tuple[str, ...]  # top or bottom only
    middle: tuple[str, ...]
    anywhere: tuple[str, ...]  # no place (the class is all over, or the place was dropped)

    def frames(self, op: str) -> tuple[str, ...]:
        if op == FIND:
            return self.find
        if op == REMOVE:
            return self.remove
        raise ValueError(f"unknown operation {op!r}")

    def places(self) -> tuple[str, ...]:
        return self.corner + self.side_h + self.side_v + self.middle + self.anywhere

    @property
    def varied(self) -> bool:
        """Whether any place has more than one phrase (else no random draw is spent on it)."""
        return len(self.places()) > 5


TRAINING = Phrasebook(
    name="templates",
    find=(
        # the paper's kind of statements
        "there is {a} {c} {w}",
        "there is {a} {c} in the image {w}",
        "{w} there is {a} {c}",
        "the image has {a} {c} {w}",
        "this picture shows {a} {c} {w}",
        "{a} {c} can be seen {w}",
        "{a} {c} is visible {w}",
        "this is {a} {c} {w}",
        "{w} it is {a} {c}",
        # missing: negations that mean "find"
        "the {c} is missing {w}",
        "{a} {c} is missing {w}",
        "the {c} {w} is missing",
        "you missed the {c} {w}",
        "you forgot the {c} {w}",
        "the {c} was not detected {w}",
        "the {c} {w} is not segmented",
        "you did not find the {c} {w}",
        "the {c} is not marked {w}",
        "{a} {c} {w} has not been found",
        "the {c} {w} is not shown",
        "you didn't mark the {c} {w}",
        "{c} missing {w}",
        # commands and synonyms of find
        "find the {c} {w}",
        "look for the {c} {w}",
        "mark the {c} {w}",
        "segment the {c} {w}",
        "add the {c} {w}",
        "add {a} {c} {w}",
        "show the {c} {w}",
        "label the {c} {w}",
        "detect the {c} {w}",
        "please find the {c} {w}",
        "highlight the {c} {w}",
        "{w} find the {c}",
        # questions
        "where is the {c} {w}",
        "can you find the {c} {w}",
        "did you notice the {c} {w}",
        "did you miss the {c} {w}",
        "why is the {c} {w} missing",
        "what about the {c} {w}",
        # first person
        "i see {a} {c} {w}",
        "i think there is {a} {c} {w}",
        "i am looking for the {c} {w}",
        "i want the {c} {w}",
        "i know there is {a} {c} {w}",
        "i would like to see the {c} {w}",
        # bare
        "{c} {w}",
        "{a} {c} {w}",
    ),
    remove=(
        "there is no {c} {w}",
        "there is no {c} in the image {w}",
        "there should be no {c} {w}",
        "{w} there should be no {c}",
        "there is no such {c} {w}",
        "the {c} is not in the image {w}",
        "{a} {c} {w} is not present",
        # commands and synonyms of remove
        "remove the {c} {w}",
        "please remove the {c} {w}",
        "{w} remove the {c}",
        "get rid of the {c} {w}",
        "delete this {c} {w}",
        "eliminate the {c} {w}",
        "discard the {c} {w}",
        "drop the {c} {w}",
        "unmark the {c} {w}",
        "take out the {c} {w}",
        "the {c} {w} should go",
        # wrong
        "the {c} is wrong {w}",
        "the {c} {w} is incorrect",
        "the {c} {w} is a false detection",
        "{a} {c} {w} is an error",
        "{c} {w} is wrong",
        "the {c} {w} does not belong there",
        # "not a": negations that mean "remove"
        "this is not {a} {c} {w}",
        "it is not {a} {c} {w}",
        "{w} it is not {a} {c}",
        "not {a} {c} {w}",
        "nothing {w} is {a} {c}",
        # first person and questions
        "i see no {c} {w}",
        "i do not think there is {a} {c} {w}",
        "why did you mark {a} {c} {w}",
        "is that really {a} {c} {w}",
        "where do you see {a} {c} {w}",
    ),
    corner=(
        "on the {v} {h}",
        "in the {v} {h}",
        "at the {v} {h}",
        "{v} {h}",
        "in the {v} {h} corner",
        "on the {u} {h}",
        "in the {u} {h} part",
        "near the {v} {h} corner",
    ),
    side_h=(
        "on the {h}",
        "on the {h} side",
        "in the {h} half",
        "to the {h}",
        "on the {h} hand side",
        "at the {h}",
        "{h}",
        "in the {h} of the image",
    ),
    side_v=(
        "on the {v}",
        "at the {v}",
        "in the {u} part of the image",
        "in the {v} half",
        "near the {v}",
        "{v}",
        "at the {v} edge",
        "{u} area",
    ),
    middle=(
        "in the middle",
        "in the center",
        "in the middle of the image",
        "at the centre",
        "in the central part",
        "in the centre of the image",
    ),
    anywhere=("", "in the image", "all over the image", "anywhere", "somewhere"),
)

PAPER = Phrasebook(
    name="paper",
    find=(
        "find the {c} {w}",
        "the {c} is missing {w}",
        "there is {a} {c} {w}",
        "there is {a} {c} in the image {w}",
        "{a} {c} is missing {w}",
        "look for the {c} {w}",
        "you missed the {c} {w}",
    ),
    remove=(
        "there is no {c} {w}",
        "the {c} is not visible {w}",
        "remove the {c} {w}",
        "there is no {c} in the image {w}",
        "the {c} is wrong {w}",
        "get rid of the {c} {w}",
        "there should be no {c} {w}",
    ),
    corner=("on the {v} {h}",),
    side_h=("on the {h}",),
    side_v=("on the {v}",),
    middle=("in the middle",),
    anywhere=("",),
)
"""The 7 + 7 templates and one place phrase per place the shipped guide was first trained with
(``--phrasings paper`` reproduces those numbers). Its "the coat is not
visible" as a *remove* hint contradicts how people use it (the reader reads it as find)."""

BOOKS = {"templates": TRAINING, "paper": PAPER}
"""Phrasebooks training may use (``train-guide --phrasings``); the held-out one is not here."""

UPPER = {"top": "upper", "bottom": "lower"}
UP = {"top": "up", "bottom": "down"}


def place_kind(where: str) -> tuple[str, str | None, str | None]:
    """Split a canonical place phrase of :func:`guide.text.generator.spatial_phrase`.

    "on the top left" -> ("corner", "top", "left"), "on the right" -> ("side_h", None,
    "right"), "on the bottom" -> ("side_v", "bottom", None), "in the middle" ->
    ("middle", None, None), "" -> ("anywhere", None, None).
    """
    words = where.split()
    v = next((w for w in words if w in UPPER), None)
    h = next((w for w in words if w in ("left", "right")), None)
    if v and h:
        return "corner", v, h
    if h:
        return "side_h", None, h
    if v:
        return "side_v", v, None
    if "middle" in words:
        return "middle", None, None
    if words:
        raise ValueError(f"not a canonical place phrase: {where!r}")
    return "anywhere", None, None


def place_phrase(book: Phrasebook, where: str, choice: int) -> str:
    """Place phrase number ``choice`` (modulo their count) of ``book`` for canonical ``where``."""
    kind, v, h = place_kind(where)
    options = getattr(book, kind)
    pattern = options[choice % len(options)]
    return pattern.format(v=v or "", u=UPPER.get(v or "", ""), d=UP.get(v or "", ""), h=h or "")


def article(word: str) -> str:
    """The article before ``word``: "a" or "an"."""
    return "an" if word[:1] in "aeiou" else "a"


def render(book: Phrasebook, op: str, class_name: str, where: str, rng: np.random.Generator) -> str:
    """One hint in ``book``'s words: a random frame of ``op`` and a random place phrase for ``where``.

    Draws the frame, then (if ``book`` has several) the place phrase from ``rng``.
    """
    frames = book.frames(op)
    frame = frames[int(rng.integers(len(frames)))]
    place = place_phrase(book, where, int(rng.integers(1 << 30)) if book.varied else 0)
    text = frame.format(c=class_name, a=article(class_name), w=place)
    return " ".join(text.split())
