"""Blind held-out phrasings (issue 23): FROZEN, measuring only, never tuned on.

Written before any change to the reader for issue 23, without reading the reader's patterns
(``guide/text/understand.py``) or the earlier held-out frames (``guide/text/heldout.py``):
only the phrasebook format of ``guide/text/templates.py`` was looked at. After the commit
that adds this file nothing in it changes (a test pins its digest); the reader is tuned on
the development set (``guide/text/devset.py``) and reported on this one.

Meaning of the operations, as the simulated user of ``python -m guide evaluate text`` uses them:
*find*: the class IS in the image at the place and the network missed it; *remove*: the class is
NOT there and the network wrongly labels it so.

Each frame is ``(kind, frame)``; ``{c}`` is the class name, ``{a}`` its article, ``{w}`` a place
phrase (possibly empty). Place phrases are ``(kind, pattern)`` with ``{v}`` top/bottom, ``{u}``
upper/lower, ``{d}`` up/down, ``{h}`` left/right. ``CASES`` are whole sentences with their labels
``(kind, text, op, class, canonical place)`` for synonyms, plurals and multi-word names.
"""

from __future__ import annotations

from guide.text.templates import Phrasebook

FIND_FRAMES: tuple[tuple[str, str], ...] = (
    # plain statements that the class is there
    ("statement", "there's {a} {c} {w}"),
    ("statement", "look, {a} {c} {w}"),
    ("statement", "{w} you can clearly see {a} {c}"),
    ("statement", "{a} {c} sits {w}"),
    ("statement", "that thing {w} is {a} {c}"),
    ("statement", "{w} there happens to be {a} {c}"),
    ("statement", "the photo contains {a} {c} {w}"),
    ("statement", "i spot {a} {c} {w}"),
    ("statement", "it's {a} {c} {w}, actually"),
    ("statement", "{a} {c} is present {w}"),
    ("statement", "we have {a} {c} {w}"),
    ("statement", "there exists {a} {c} {w}"),
    # negation meaning find: the RESULT lacks the class (missed, overlooked, not marked)
    ("missed", "you missed the {c} {w}"),
    ("missed", "the {c} {w} got overlooked"),
    ("missed", "you didn't catch the {c} {w}"),
    ("missed", "the {c} {w} isn't segmented"),
    ("missed", "nothing marks the {c} {w}"),
    ("missed", "the {c} {w} was left out"),
    ("missed", "you skipped the {c} {w}"),
    ("missed", "the {c} {w} hasn't been labelled"),
    ("missed", "no one picked up the {c} {w}"),
    ("missed", "you failed to detect the {c} {w}"),
    ("missed", "the {c} {w} never got highlighted"),
    ("missed", "the mask ignores the {c} {w}"),
    ("missed", "the {c} {w} is absent from your result"),
    ("missed", "your segmentation lacks the {c} {w}"),
    # questions that assert presence
    ("question", "isn't that {a} {c} {w}?"),
    ("question", "don't you see the {c} {w}?"),
    ("question", "is that not {a} {c} {w}?"),
    ("question", "doesn't that look like {a} {c} {w}?"),
    ("question", "how did you miss the {c} {w}?"),
    ("question", "why isn't the {c} {w} labelled?"),
    ("question", "can't you tell there's {a} {c} {w}?"),
    ("question", "wouldn't you say that's {a} {c} {w}?"),
    ("question", "where's the {c} {w}? it's right there"),
    ("question", "what about the {c} {w}?"),
    ("question", "surely that's {a} {c} {w}?"),
    ("question", "hey, is that {a} {c} {w} not worth marking?"),
    # commands to add or mark
    ("command", "mark the {c} {w}"),
    ("command", "label the {c} {w} please"),
    ("command", "highlight the {c} {w}"),
    ("command", "outline the {c} {w}"),
    ("command", "segment the {c} {w}"),
    ("command", "add the {c} {w}"),
    ("command", "show me the {c} {w}"),
    ("command", "pick out the {c} {w}"),
    ("command", "tag the {c} {w}"),
    ("command", "select the {c} {w}"),
    ("command", "colour in the {c} {w}"),
    ("command", "include the {c} {w} too"),
    ("command", "please detect the {c} {w}"),
    ("command", "find me the {c} {w}"),
    # idioms and roundabout ways of saying it is there
    ("idiom", "there's {a} {c} hiding {w}"),
    ("idiom", "{a} {c} is sitting right there {w}"),
    ("idiom", "you've got {a} {c} {w} that you didn't colour"),
    ("idiom", "the {c} {w} is plain as day"),
    ("idiom", "{w} is where the {c} is"),
    ("idiom", "someone left {a} {c} {w}"),
    ("idiom", "{a} {c} lies {w}, trust me"),
    ("idiom", "that blob {w} should be {c}"),
    ("idiom", "the stuff {w} is {c}"),
    ("idiom", "the {c} {w} deserves a label"),
    # double negation and negation that does not reach the class
    ("double-negation", "it's not true that there's no {c} {w}"),
    ("double-negation", "i wouldn't say there is no {c} {w}"),
    ("double-negation", "don't forget the {c} {w}"),
    ("double-negation", "not everything {w} is background, there's {a} {c}"),
    ("double-negation", "never mind the rest, there's {a} {c} {w}"),
    ("double-negation", "no, there really is {a} {c} {w}"),
    # verbs GloVe probably lacks or rare ways to say "mark"
    ("rare-verb", "relabel the stuff {w} as {c}"),
    ("rare-verb", "recolour the {c} {w}"),
    ("rare-verb", "annotate the {c} {w}"),
    ("rare-verb", "circle the {c} {w}"),
    ("rare-verb", "paint the {c} {w}"),
    ("rare-verb", "reclassify the area {w} as {c}"),
    # first person and hedged statements
    ("first-person", "i think there's {a} {c} {w}"),
    ("first-person", "i'm pretty sure {a} {c} is {w}"),
    ("first-person", "i believe that's {a} {c} {w}"),
    ("first-person", "to me that looks like {a} {c} {w}"),
    ("first-person", "i see {a} {c} {w} that you don't"),
    ("first-person", "my eyes tell me {a} {c} is {w}"),
    # terse
    ("terse", "{c} {w}!"),
    ("terse", "{c} here {w}"),
    ("terse", "+ {c} {w}"),
    ("terse", "yes {c} {w}"),
    ("terse", "{c}, {w}"),
)

REMOVE_FRAMES: tuple[tuple[str, str], ...] = (
    # plain statements that the class is not there
    ("statement", "there isn't any {c} {w}"),
    ("statement", "{w} there's no {c} at all"),
    ("statement", "the image has no {c} {w}"),
    ("statement", "there aren't any {c} {w}"),
    ("statement", "no {c} {w}"),
    ("statement", "nothing {w} is {c}"),
    ("statement", "the picture shows no {c} {w}"),
    ("statement", "{w} there is not a single {c}"),
    ("statement", "zero {c} {w}"),
    ("statement", "there's no such thing as {a} {c} {w}"),
    # verbs of undoing or un-marking
    ("undo", "undo the {c} {w}"),
    ("undo", "unmark the {c} {w}"),
    ("undo", "untick the {c} {w}"),
    ("undo", "deselect the {c} {w}"),
    ("undo", "unselect the {c} {w}"),
    ("undo", "un-highlight the {c} {w}"),
    ("undo", "revert the {c} {w}"),
    ("undo", "take back the {c} {w}"),
    ("undo", "roll back the {c} {w}"),
    ("undo", "cancel the {c} {w}"),
    ("undo", "retract the {c} {w}"),
    ("undo", "reverse the {c} label {w}"),
    # accusations that the network imagined it
    ("imagined", "you imagined the {c} {w}"),
    ("imagined", "you hallucinated {a} {c} {w}"),
    ("imagined", "the {c} {w} is a figment of your imagination"),
    ("imagined", "you made up the {c} {w}"),
    ("imagined", "the {c} {w} doesn't exist"),
    ("imagined", "that {c} {w} isn't real"),
    ("imagined", "the {c} {w} is fake"),
    ("imagined", "there was never {a} {c} {w}"),
    ("imagined", "the {c} {w} is an illusion"),
    ("imagined", "you invented {a} {c} {w}"),
    ("imagined", "you're seeing things, there's nothing like {a} {c} {w}"),
    ("imagined", "the {c} {w} is only in your head"),
    # it is something else / stop calling it that
    ("stop-calling", "stop calling it {a} {c} {w}"),
    ("stop-calling", "don't call that {a} {c} {w}"),
    ("stop-calling", "quit labelling that {w} as {c}"),
    ("stop-calling", "that is not {a} {c} {w}"),
    ("stop-calling", "it isn't {a} {c} {w}"),
    ("stop-calling", "that's no {c} {w}"),
    ("stop-calling", "it's not really {a} {c} {w}"),
    ("stop-calling", "calling that {a} {c} {w} is wrong"),
    ("stop-calling", "the {c} {w} is a mistake"),
    ("stop-calling", "the {c} {w} is mislabelled"),
    ("stop-calling", "the thing {w} is anything but {a} {c}"),
    ("stop-calling", "whatever is {w}, it's not {a} {c}"),
    ("stop-calling", "stop marking {c} {w}"),
    ("stop-calling", "you got the {c} {w} wrong, it's not there"),
    # commands to remove, common verbs
    ("command", "get rid of the {c} {w}"),
    ("command", "lose the {c} {w}"),
    ("command", "drop the {c} {w}"),
    ("command", "cut the {c} {w}"),
    ("command", "scrap the {c} {w}"),
    ("command", "wipe out the {c} {w}"),
    ("command", "ditch the {c} {w}"),
    ("command", "toss the {c} {w}"),
    ("command", "take out the {c} {w}"),
    ("command", "strip the {c} label {w}"),
    ("command", "kill the {c} {w}"),
    ("command", "clean up the {c} {w}"),
    ("command", "please, no more {c} {w}"),
    ("command", "purge the {c} {w}"),
    ("command", "throw away the {c} {w}"),
    ("command", "exclude the {c} {w}"),
    # remove verbs GloVe does not know
    ("unknown-verb", "unlabel the {c} {w}"),
    ("unknown-verb", "unsegment the {c} {w}"),
    ("unknown-verb", "unpaint the {c} {w}"),
    ("unknown-verb", "dehighlight the {c} {w}"),
    ("unknown-verb", "unhighlight the {c} {w}"),
    ("unknown-verb", "uncolour the {c} {w}"),
    ("unknown-verb", "unflag the {c} {w}"),
    ("unknown-verb", "yeet the {c} {w}"),
    ("unknown-verb", "delabel the {c} {w}"),
    ("unknown-verb", "unclassify the {c} {w}"),
    # questions that doubt it
    ("question", "why is there {a} {c} {w}?"),
    ("question", "where do you see {a} {c} {w}?"),
    ("question", "since when is there {a} {c} {w}?"),
    ("question", "how is that {a} {c} {w}?"),
    ("question", "do you really think that's {a} {c} {w}?"),
    ("question", "what {c}? there's no {c} {w}"),
    ("question", "{c} {w}? really? no"),
    ("question", "why did you mark {c} {w}?"),
    # too much / wrong
    ("wrong", "the {c} {w} is wrong"),
    ("wrong", "too much {c} {w}"),
    ("wrong", "the {c} {w} shouldn't be there"),
    ("wrong", "{c} {w} is incorrect"),
    ("wrong", "the {c} {w} is an error"),
    ("wrong", "{c} {w} doesn't belong"),
    ("wrong", "you're wrong about the {c} {w}"),
    ("wrong", "the {c} label {w} is bogus"),
    # terse
    ("terse", "- {c} {w}"),
    ("terse", "not {c} {w}"),
    ("terse", "{c} {w}: no"),
    ("terse", "nope, no {c} {w}"),
)

# Place phrases: hyphenated and compound words, edges, "halfway", reversed corner order.
CORNER: tuple[tuple[str, str], ...] = (
    ("hyphenated", "in the {v}-{h} corner"),
    ("hyphenated", "at the {u}-{h}"),
    ("compound", "in the {h}-hand {v} corner"),
    ("compound", "on the {v} {h}-hand side"),
    ("reversed", "in the {h} {v} corner"),
    ("edge", "where the {v} edge meets the {h} edge"),
    ("compound", "{d} in the {h} corner"),
    ("compound", "towards the {v}, on the {h}-hand side"),
)
SIDE_H: tuple[tuple[str, str], ...] = (
    ("compound", "on the {h}-hand side"),
    ("halfway", "halfway down the {h} edge"),
    ("halfway", "halfway up the {h} side"),
    ("edge", "along the {h} margin"),
    ("plain", "to the {h} of the picture"),
    ("plain", "over at the {h}"),
    ("edge", "against the {h} border"),
    ("hyphenated", "on the {h}-side"),
)
SIDE_V: tuple[tuple[str, str], ...] = (
    ("edge", "along the {v} edge"),
    ("plain", "at the very {v}"),
    ("plain", "in the {u} part"),
    ("edge", "across the {v} of the picture"),
    ("plain", "in the {u} half"),
    ("compound", "{d} at the {v}"),
    ("hyphenated", "in the {v}-most strip"),
)
MIDDLE: tuple[tuple[str, str], ...] = (
    ("plain", "dead centre"),
    ("plain", "smack in the middle"),
    ("plain", "in the center of the image"),
    ("plain", "right in the middle"),
    ("idiom", "at the heart of the picture"),
    ("hyphenated", "in the mid-section"),
)
ANYWHERE: tuple[tuple[str, str], ...] = (
    ("plain", ""),
    ("plain", "all over the place"),
    ("plain", "across the whole picture"),
    ("plain", "in this image"),
)

# Whole sentences: synonyms, plurals and multi-word names (class as the model names it; place canonical).
CASES: tuple[tuple[str, str, str, str, str], ...] = (
    ("synonym", "there are sneakers on the left-hand side", "find", "sneaker", "on the left"),
    ("multiword", "you missed the ankle boots at the bottom right", "find", "ankle boot", "on the bottom right"),
    ("multiword", "unmark the ankle boot in the top-left corner", "remove", "ankle boot", "on the top left"),
    ("multiword", "isn't that an ankle boot halfway down the right edge?", "find", "ankle boot", "on the right"),
    ("multiword", "stop calling the thing on the left an ankle boot", "remove", "ankle boot", "on the left"),
    ("multiword", "that t shirt in the middle was overlooked", "find", "t-shirt", "in the middle"),
    ("multiword", "unlabel the t-shirt on the right-hand side", "remove", "t-shirt", "on the right"),
    ("synonym", "the jacket in the upper-left corner is missing", "find", "coat", "on the top left"),
    ("synonym", "no pants on the right", "remove", "trousers", "on the right"),
    ("synonym", "delete the tee shirt in the middle", "remove", "t-shirt", "in the middle"),
    ("synonym", "the lawn along the bottom edge was not marked", "find", "grass", "on the bottom"),
    ("synonym", "you imagined the sea on the right", "remove", "water", "on the right"),
    ("synonym", "the handbag on the left wasn't found", "find", "bag", "on the left"),
    ("synonym", "those aren't sandals at the bottom", "remove", "sandal", "on the bottom"),
    ("synonym", "there's a sweater in the middle", "find", "pullover", "in the middle"),
    ("synonym", "undo the jumper on the left-hand side", "remove", "pullover", "on the left"),
    ("synonym", "get rid of the pebbles at the top", "remove", "gravel", "on the top"),
    ("plural", "there are some coats dead centre", "find", "coat", "in the middle"),
    ("plural", "the shirts on the right are imaginary", "remove", "shirt", "on the right"),
    ("plural", "you hallucinated dresses in the bottom-left corner", "remove", "dress", "on the bottom left"),
    ("plural", "bags, lower right, you missed them", "find", "bag", "on the bottom right"),
    ("plural", "stop calling the bottom right sandals", "remove", "sandal", "on the bottom right"),
    ("question", "isn't that sky up at the top?", "find", "sky", "on the top"),
    ("question", "why is there sand in the middle?", "remove", "sand", "in the middle"),
    ("question", "is that not a wall on the left-hand side?", "find", "wall", "on the left"),
    ("question", "where do you see a dress halfway down the left edge?", "remove", "dress", "on the left"),
    ("long", "hello there, thanks for the help so far, i just wanted to let you know that the coat on the left side "
             "of the image is not a coat at all", "remove", "coat", "on the left"),
    ("long", "ok so looking at the picture again carefully from top to bottom i am fairly sure you have missed the "
             "bag in the bottom right corner", "find", "bag", "on the bottom right"),
    ("typo", "remve the coat on the left", "remove", "coat", "on the left"),
    ("typo", "there is a sneker at the top", "find", "sneaker", "on the top"),
    ("typo", "get rid of the trowsers on the right", "remove", "trousers", "on the right"),
    ("typo", "you misssed the dress in the middle", "find", "dress", "in the middle"),
)

BLIND = Phrasebook(
    name="blind",
    find=tuple(f for _, f in FIND_FRAMES),
    remove=tuple(f for _, f in REMOVE_FRAMES),
    corner=tuple(p for _, p in CORNER),
    side_h=tuple(p for _, p in SIDE_H),
    side_v=tuple(p for _, p in SIDE_V),
    middle=tuple(p for _, p in MIDDLE),
    anywhere=tuple(p for _, p in ANYWHERE),
)
