"""Held-out phrasings: ways people write find and remove hints that no training hint uses.

Used ONLY to measure (``python -m guide evaluate text --phrasings heldout`` and
``python -m guide evaluate reader``); never imported by training (``guide/training/text.py``
reads :mod:`guide.text.templates`; a test asserts the two share no template or place
string and that training/text.py does not import this module).

How it was written: before any training template was extended, from the failures the
issue lists ("i can see a X on the left", "that is not a X", "delete the X", "the X on
the left is wrong", "was not found", "is not visible", "upper", "lower", "corner",
"side", "centre", "half", "along", "down", "everywhere") and from typing hints at the
app as a user would: statements, commands, questions, first person, negations that
mean *find* (the class is missing from the result) and negations that mean *remove*
(the class is not in the image), synonyms of find/remove, place words and word orders
(the place first, the place inside the noun phrase, the place last). Each entry is one
sentence frame; ``{c}`` is the class name, ``{a}`` its article and ``{w}`` a place
phrase (possibly empty). Vocabulary is shared with the training templates on purpose
("delete", "upper" are words people use and the guide should know); the frames and
the place phrases are not.
"""

from __future__ import annotations

from guide.text.templates import Phrasebook

HELDOUT = Phrasebook(
    name="heldout",
    find=(
        "i can see {a} {c} {w}",
        "the {c} {w} was not found",
        "the {c} {w} is not visible",
        "{w} the {c} is missing",
        "there should be {a} {c} {w}",
        "you forgot about the {c} {w}",
        "can you see the {c} {w}",
        "where did the {c} {w} go",
        "please include the {c} {w}",
        "{w} i see {a} {c}",
        "{a} {c} is there {w}",
        "there's also {a} {c} {w}",
        "don't miss the {c} {w}",
        "the {c} {w} should be segmented",
        "you missed out {a} {c} {w}",
        "the {c} {w} wasn't detected",
        "{c} {w} please",
        "there is {a} {c} {w} that you did not find",
        "pick out the {c} {w}",
        "isn't that {a} {c} {w}",
    ),
    remove=(
        "that is not {a} {c} {w}",
        "delete the {c} {w}",
        "the {c} {w} is wrong",
        "there isn't {a} {c} {w}",
        "no {c} {w}",
        "{w} there is no {c}",
        "i don't see {a} {c} {w}",
        "erase the {c} {w}",
        "the {c} {w} should not be there",
        "why is there {a} {c} {w}",
        "there is nothing like {a} {c} {w}",
        "the thing {w} is not {a} {c}",
        "clear the {c} {w}",
        "the {c} {w} is a mistake",
        "you found {a} {c} {w} but there is none",
        "that {c} {w} doesn't exist",
        "take away the {c} {w}",
        "stop showing {a} {c} {w}",
        "{w} that should not be {a} {c}",
        "wrong {c} {w}",
    ),
    # Place phrases: {v} top/bottom, {u} upper/lower, {d} up/down, {h} left/right.
    corner=(
        "in the {u} {h} corner",
        "{d} in the {v} {h}",
        "towards the {v} {h}",
        "at the {u} {h}",
        "{u} {h}",
        "in the {v} {h} area",
        "in the {h} {v} corner",
    ),
    side_h=(
        "along the {h} side",
        "on the {h} edge",
        "over on the {h}",
        "{h} side",
        "in the {h} part of the image",
        "at the {h} side",
        "towards the {h}",
    ),
    side_v=(
        "along the {v}",
        "{d} at the {v}",
        "in the {u} half",
        "at the {v} of the image",
        "across the {v}",
        "{u} part",
        "towards the {v}",
    ),
    middle=(
        "in the centre",
        "in the middle of the picture",
        "at the center of the picture",
        "right in the middle",
        "centrally",
    ),
    anywhere=("", "everywhere", "in the picture", "all over"),
)
