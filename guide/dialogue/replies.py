"""A session turn's result in words: the one place a ``TurnResult`` (guide/dialogue/session.py) becomes
English. The session returns data; :class:`~guide.dialogue.conversation.Conversation` says these words in the
app's chat, and ``TurnResult.reply`` says them for a script that drives a bare session. Results are read by
their fields (``kind``, ``outcome``, ``points``, ``classes``, ``words``, ``reading``...), so this module
imports nothing of the session's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guide.core.hints import FIND, REMOVE

# What a turn came to (TurnResult.outcome).
GUIDED = "guided"  # the turn was applied
NOTHING_TO_REMOVE = "nothing to remove"  # "remove" a class predicted nowhere: no turn added
TAKEN_BACK = "taken back"  # it moved its class the wrong way (``moved`` px) and was undone


def click_reply(r: Any) -> str:
    """A pixel turn's result in words: "Guided by 3 labelled pixels (coat) in 12 steps."."""
    reply = f"Guided by {r.points} labelled pixel{'s' if r.points != 1 else ''} ({', '.join(r.classes)})"
    return reply + f" in {r.steps} step{'s' if r.steps != 1 else ''}" + ("." if r.satisfied else "; some hinted pixels still disagree.")


def describe_text_turn(words: Sequence[str], ignored: Sequence[str], classes: Sequence[str], gained: dict[str, int],
                       reading: Any = None) -> str:
    """A short reply: what the hint was understood to ask (``reading``, an ``understand.Reading``),
    the unknown words when no class was read, the biggest label changes (``gained``: class name ->
    pixels gained, negative: lost). ``words``: the words the tokenizer knew."""
    parts = []
    if reading is not None and reading.label is not None:
        verb = "find" if reading.op == FIND else "remove"
        parts.append(f"Understood: {verb} {classes[reading.label]}{' ' + reading.place if reading.place else ''}.")
    elif reading is not None:
        hint = f" Did you mean {' or '.join(reading.suggestions)}?" if reading.suggestions else ""
        parts.append(f"I found no class name in \u201c{' '.join(words)}\u201d, so I guided by the words alone.{hint}")
    else:
        parts.append(f"Read \u201c{' '.join(words)}\u201d.")
    if ignored and (reading is None or reading.label is None):  # a reading read every word
        parts.append(f"Ignored unknown words: {', '.join(ignored[:8])}{'...' if len(ignored) > 8 else ''}.")
    changes = sorted(gained.items(), key=lambda kv: -abs(kv[1]))
    changes = [(name, n) for name, n in changes if name in classes][:4]
    if changes:
        parts.append("Changed " + ", ".join(f"{name} {n:+d} px" for name, n in changes) + ".")
    else:
        parts.append("The prediction did not change.")
    return " ".join(parts)


def text_reply(r: Any, classes: Sequence[str]) -> str:
    """A text turn's result in words (``r.outcome``: done, nothing to remove, or taken back)."""
    name = classes[r.reading.label] if r.reading is not None and r.reading.label is not None else ""
    if r.outcome == NOTHING_TO_REMOVE:
        return f"I don't see any {name} in the image, so there is nothing to remove; nothing changed."
    if r.outcome == TAKEN_BACK:
        from guide.text.templates import article

        example = f"there is no {name} on the top left" if r.reading.op == REMOVE else f"there is {article(name)} {name} on the left"
        return (f"That hint moved {name} the wrong way ({r.moved:+d} px), so I took it back; nothing changed. "
                f"Saying where often helps, e.g. \u201c{example}\u201d.")
    return describe_text_turn(r.words, r.ignored_words, classes, r.gained, r.reading)


def turn_reply(r: Any, classes: Sequence[str]) -> str:
    """What the app says of one session turn's result (``GuideSession.add_clicks`` / ``add_text``):
    the session returns data, the conversation words it."""
    return click_reply(r) if r.kind == "pixels" else text_reply(r, classes)
