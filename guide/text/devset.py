"""Development phrasings: the reader is tuned on these, never on the frozen blind set.

Same format as :mod:`guide.text.heldout_blind` (``(kind, frame)`` frames, ``(kind, pattern)``
place phrases, whole-sentence ``CASES``). Written after the blind set was frozen and without
copying its frames; kinds overlap on purpose (they are the kinds of phrasing the issue lists).
Never imported by training.
"""

from __future__ import annotations

from guide.text.templates import Phrasebook

FIND_FRAMES: tuple[tuple[str, str], ...] = (
    ("statement", "there is definitely {a} {c} {w}"),
    ("statement", "{w} we can see {a} {c}"),
    ("statement", "this shows {a} {c} {w}"),
    ("statement", "{a} {c} appears {w}"),
    ("statement", "the scene includes {a} {c} {w}"),
    ("missed", "the {c} {w} was missed"),
    ("missed", "you overlooked the {c} {w}"),
    ("missed", "the {c} {w} is not marked"),
    ("missed", "the {c} {w} went unnoticed"),
    ("missed", "you did not label the {c} {w}"),
    ("missed", "the {c} {w} is missing from the mask"),
    ("missed", "nobody marked the {c} {w}"),
    ("question", "isn't there {a} {c} {w}?"),
    ("question", "can't you see the {c} {w}?"),
    ("question", "didn't you notice the {c} {w}?"),
    ("question", "why is the {c} {w} unmarked?"),
    ("question", "shouldn't the {c} {w} be labelled?"),
    ("question", "isn't this {a} {c} {w}?"),
    ("command", "please mark the {c} {w}"),
    ("command", "detect the {c} {w}"),
    ("command", "label {a} {c} {w}"),
    ("command", "add {a} {c} {w}"),
    ("command", "identify the {c} {w}"),
    ("command", "fill in the {c} {w}"),
    ("idiom", "{a} {c} is lurking {w}"),
    ("idiom", "there's {a} {c} right over there {w}"),
    ("idiom", "the region {w} is {c}"),
    ("idiom", "that patch {w} is actually {c}"),
    ("double-negation", "don't ignore the {c} {w}"),
    ("double-negation", "it is not the case that there is no {c} {w}"),
    ("double-negation", "no, that's {a} {c} {w}"),
    ("first-person", "i notice {a} {c} {w}"),
    ("first-person", "i reckon there's {a} {c} {w}"),
    ("first-person", "i am sure that is {a} {c} {w}"),
    ("terse", "{c} {w}"),
    ("terse", "{c} {w} please"),
    ("rare-verb", "shade the {c} {w}"),
    ("rare-verb", "recognise the {c} {w}"),
)

REMOVE_FRAMES: tuple[tuple[str, str], ...] = (
    ("statement", "there is no {c} {w}"),
    ("statement", "there's not any {c} {w}"),
    ("statement", "{w} there is nothing that is {c}"),
    ("statement", "the photo has no {c} {w}"),
    ("statement", "no {c} exists {w}"),
    ("undo", "unmark {c} {w}"),
    ("undo", "undo {c} {w}"),
    ("undo", "unselect {c} {w}"),
    ("undo", "untag the {c} {w}"),
    ("undo", "withdraw the {c} {w}"),
    ("undo", "reset the {c} {w}"),
    ("imagined", "you are imagining the {c} {w}"),
    ("imagined", "the {c} {w} is imaginary"),
    ("imagined", "that {c} {w} does not exist"),
    ("imagined", "you dreamed up {a} {c} {w}"),
    ("imagined", "the {c} {w} is not real"),
    ("imagined", "there never was {a} {c} {w}"),
    ("stop-calling", "stop labelling it {c} {w}"),
    ("stop-calling", "that isn't {a} {c} {w}"),
    ("stop-calling", "it is not {a} {c} {w}"),
    ("stop-calling", "this is no {c} {w}"),
    ("stop-calling", "the {c} {w} is misclassified"),
    ("stop-calling", "quit calling it {a} {c} {w}"),
    ("command", "remove the {c} {w}"),
    ("command", "erase the {c} {w}"),
    ("command", "delete {c} {w}"),
    ("command", "clear the {c} {w}"),
    ("command", "eliminate the {c} {w}"),
    ("command", "discard the {c} {w}"),
    ("command", "take away the {c} {w}"),
    ("command", "bin the {c} {w}"),
    ("command", "scrub the {c} {w}"),
    ("unknown-verb", "unmark the {c} {w}"),
    ("unknown-verb", "unlabel {c} {w}"),
    ("unknown-verb", "deselect {c} {w}"),
    ("unknown-verb", "uncolor the {c} {w}"),
    ("unknown-verb", "unshade the {c} {w}"),
    ("question", "why did you label {c} {w}?"),
    ("question", "what is {a} {c} doing {w}?"),
    ("question", "how can there be {a} {c} {w}?"),
    ("wrong", "the {c} {w} is incorrect"),
    ("wrong", "{c} {w} is wrongly marked"),
    ("wrong", "the {c} {w} should not be there"),
    ("wrong", "way too much {c} {w}"),
    ("terse", "no {c} {w} please"),
    ("terse", "{c} {w}? no"),
)

CORNER: tuple[tuple[str, str], ...] = (
    ("plain", "on the {v} {h}"),
    ("hyphenated", "in the {u}-{h} corner"),
    ("compound", "on the {h}-hand side at the {v}"),
    ("reversed", "at the {h} {v}"),
    ("compound", "{d} on the {h}"),
)
SIDE_H: tuple[tuple[str, str], ...] = (
    ("plain", "on the {h}"),
    ("compound", "on the {h} hand side"),
    ("halfway", "halfway along the {h} edge"),
    ("edge", "near the {h} edge"),
    ("hyphenated", "on the {h}-side of the image"),
)
SIDE_V: tuple[tuple[str, str], ...] = (
    ("plain", "on the {v}"),
    ("edge", "near the {v} edge"),
    ("plain", "in the {u} section"),
    ("compound", "{d} at the very {v}"),
)
MIDDLE: tuple[tuple[str, str], ...] = (
    ("plain", "in the middle"),
    ("plain", "in the centre"),
    ("plain", "at the center of the picture"),
)
ANYWHERE: tuple[tuple[str, str], ...] = (
    ("plain", ""),
    ("plain", "everywhere"),
    ("plain", "all over"),
)

CASES: tuple[tuple[str, str, str, str, str], ...] = (
    ("synonym", "there is a jacket on the left", "find", "coat", "on the left"),
    ("synonym", "remove the pants at the bottom", "remove", "trousers", "on the bottom"),
    ("synonym", "unmark the sweater on the right-hand side", "remove", "pullover", "on the right"),
    ("multiword", "the ankle boots in the upper right were missed", "find", "ankle boot", "on the top right"),
    ("multiword", "you imagined the ankle boot in the middle", "remove", "ankle boot", "in the middle"),
    ("multiword", "there's a t-shirt at the top", "find", "t-shirt", "on the top"),
    ("plural", "there are no sneakers on the left", "remove", "sneaker", "on the left"),
    ("plural", "you missed the bags at the bottom", "find", "bag", "on the bottom"),
    ("question", "isn't that grass at the bottom?", "find", "grass", "on the bottom"),
    ("question", "why is there sky at the bottom?", "remove", "sky", "on the bottom"),
    ("long", "well i have been looking at this for a while and honestly i think the thing in the middle is a dress",
     "find", "dress", "in the middle"),
    ("typo", "remoev the sandal on the left", "remove", "sandal", "on the left"),
    ("typo", "there is a dres on the right", "find", "dress", "on the right"),
)

DEV = Phrasebook(
    name="dev",
    find=tuple(f for _, f in FIND_FRAMES),
    remove=tuple(f for _, f in REMOVE_FRAMES),
    corner=tuple(p for _, p in CORNER),
    side_h=tuple(p for _, p in SIDE_H),
    side_v=tuple(p for _, p in SIDE_V),
    middle=tuple(p for _, p in MIDDLE),
    anywhere=tuple(p for _, p in ANYWHERE),
)
