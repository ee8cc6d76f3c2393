"""One text turn for :class:`guide.session.GuideSession`: text -> guiding parameters -> reply.

``GuideSession.add_text`` calls :func:`encode_hint` to turn the user's words into
``GuideParams`` (stored in the session state as plain lists), :func:`interpret` to
say in plain words what the hint asks for (operation, class, place — the GRU reads
the words itself; this is only for the reply), and :func:`describe_text_turn` to
say what was read and what changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from guide.block import GuideParams
from guide.classnames import find_class  # the one class-name resolver (also used by interpret below)
from guide.hints import FIND, REMOVE
from guide.text.encoder import TextGuide, encode_texts
from guide.text.tokenizer import Tokens
from guide.text.vectors import load_vectors

# Words that turn a hint into "remove" (the templates of guide/text/queries.py and what people type).
NEGATIONS = frozenset({"no", "not", "n't", "remove", "without", "rid", "wrong", "nothing", "none", "delete", "erase", "isn't"})
VERTICAL = {"top": "top", "upper": "top", "above": "top", "bottom": "bottom", "lower": "bottom", "below": "bottom"}
HORIZONTAL = {"left": "left", "right": "right"}
MIDDLE = frozenset({"middle", "center", "centre", "central"})
# Words that say nothing about the class: skipped when looking for a near class name.
FUNCTION_WORDS = frozenset(
    "a an the there is are was be it its this that in on at of to and or find missing visible image picture "
    "you missed look for get should here please some any see can i me my".split()
) | NEGATIONS | set(VERTICAL) | set(HORIZONTAL) | MIDDLE


@dataclass(frozen=True)
class Reading:
    """What a hint asks for, in the session's terms."""

    op: str  # "find" or "remove"
    label: int | None  # class index named in the hint, if any
    place: str  # e.g. "on the top left"; "" for anywhere
    suggestions: list[str] = field(default_factory=list)  # near class names when none was named


@torch.no_grad()
def encode_hint(text_guide: TextGuide, text: str) -> tuple[GuideParams, Tokens]:
    """Guiding parameters for one text (alpha 1xHa, beta 1xWb, gamma 1xC') and its tokens.

    Uses the process-wide GloVe vectors; a text with no known word gives zero
    parameters (the identity guide) and ``tokens.words == []``.
    """
    device = next(text_guide.parameters()).device
    emb, lengths, tokens = encode_texts([text], load_vectors(), device=device)
    return text_guide(emb, lengths).detach(), tokens[0]


def near_classes(words: Sequence[str], classes: Sequence[str], vectors, top: int = 2, threshold: float = 0.5) -> list[str]:
    """Class names closest (GloVe cosine) to the content words of a hint that named no class."""
    content = [w for w in words if w not in FUNCTION_WORDS and w in vectors]
    if not content:
        return []

    def unit(v: np.ndarray) -> np.ndarray:
        return v / (np.linalg.norm(v) + 1e-8)

    names = []
    for name in classes:
        parts = [p for p in name.lower().split() if p in vectors]
        names.append(unit(np.mean([vectors[p] for p in parts], axis=0)) if parts else None)
    scores = []
    for k, cv in enumerate(names):
        if cv is not None:
            scores.append((max(float(unit(vectors[w]) @ cv) for w in content), classes[k]))
    scores.sort(reverse=True)
    return [name for s, name in scores[:top] if s >= threshold]


def find_place(words: Sequence[str]) -> str:
    """The spatial phrase of a hint ("on the top left", "in the middle", "")."""
    v = next((VERTICAL[w] for w in words if w in VERTICAL), None)
    h = next((HORIZONTAL[w] for w in words if w in HORIZONTAL), None)
    if v or h:
        return "on the " + " ".join(p for p in (v, h) if p)
    return "in the middle" if any(w in MIDDLE for w in words) else ""


def interpret(tokens: Tokens, classes: Sequence[str], vectors=None) -> Reading:
    """Operation, class and place of a hint, for the reply (the guide itself reads the words)."""
    words = [w.lower() for w in tokens.words]
    op = REMOVE if any(w in NEGATIONS for w in words) else FIND
    label = find_class(words, classes)
    suggestions: list[str] = []
    if label is None:
        suggestions = near_classes(words, classes, vectors if vectors is not None else load_vectors())
    return Reading(op, label, find_place(words), suggestions)


def describe_text_turn(
    text: str, tokens: Tokens, classes: Sequence[str], gained: Mapping[str, int], reading: Reading | None = None
) -> str:
    """A short reply: what the hint was understood to ask, ignored words, the biggest label changes.

    ``gained`` maps class name -> pixels gained (negative: lost) by this turn.
    """
    parts = []
    if reading is not None and reading.label is not None:
        verb = "find" if reading.op == FIND else "remove"
        parts.append(f"Understood: {verb} {classes[reading.label]}{' ' + reading.place if reading.place else ''}.")
    elif reading is not None:
        hint = f" Did you mean {' or '.join(reading.suggestions)}?" if reading.suggestions else ""
        parts.append(f"I found no class name in \u201c{' '.join(tokens.words)}\u201d, so I guided by the words alone.{hint}")
    else:
        parts.append(f"Read \u201c{' '.join(tokens.words)}\u201d.")
    if tokens.ignored:
        parts.append(f"Ignored unknown words: {', '.join(tokens.ignored[:8])}{'...' if len(tokens.ignored) > 8 else ''}.")
    changes = sorted(gained.items(), key=lambda kv: -abs(kv[1]))
    changes = [(name, n) for name, n in changes if name in classes][:4]
    if changes:
        parts.append("Changed " + ", ".join(f"{name} {n:+d} px" for name, n in changes) + ".")
    else:
        parts.append("The prediction did not change.")
    return " ".join(parts)
