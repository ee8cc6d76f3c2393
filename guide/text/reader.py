"""The reader of one text turn for :class:`guide.dialogue.session.GuideSession`: text -> reading -> guiding parameters.

``GuideSession.add_text`` calls :func:`interpret` to read what the hint asks for
(operation, class, place), :func:`encode_hint` to turn words into ``GuideParams``
(stored in the session state as plain lists); the conversation (guide/dialogue/conversation.py) says
what was read and what changed. By default the guide reads the hint as the reader
understood it, reworded by :func:`canonical_hint` into the one sentence per operation
the guide knows best ("there is no coat on the left"), so the wording a person chose
does not matter (``GuideSession(reword_hints=False)``: the guide reads the words
themselves, as in the paper). The reply reports that reading: what was done is what
was said.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from guide.core.block import GuideParams
from guide.core.classnames import find_class  # the one class-name resolver (also used by interpret below)
from guide.core.hints import FIND, REMOVE
from guide.text.encoder import TextGuide, encode_texts
from guide.text.generator import render_text
from guide.text.operation import ASK_BELOW, parts, read_operation, typed_words
from guide.text.templates import PAPER, article
from guide.text.tokenizer import Tokens
from guide.text.vectors import load_vectors

# --- operation: read by guide/text/operation.py (cues and negation scope, with a confidence).
# These remove words are still "function words" below: they say nothing about the class.
_REMOVE_VERBS = ("remove|removed|delete|deleted|erase|eliminate|discard|unmark|clear|drop|hide|rid|wrong|wrongly|"
                 "incorrect|incorrectly|mistake|mistaken|mistakenly|error|false|bogus|spurious|fake|none|nothing|without")

# --- place words (what people write; the guide learnt many of them, the reader knows more)
VERTICAL = {"top": "top", "upper": "top", "above": "top", "uppermost": "top", "topmost": "top", "high": "top",
            "bottom": "bottom", "lower": "bottom", "below": "bottom", "down": "bottom", "lowermost": "bottom",
            "bottommost": "bottom", "beneath": "bottom", "underneath": "bottom", "low": "bottom"}
HORIZONTAL = {"left": "left", "leftmost": "left", "right": "right", "rightmost": "right"}
MIDDLE = frozenset({"middle", "center", "centre", "central", "centrally", "centered", "centred", "midst"})
EVERYWHERE = frozenset({"everywhere", "anywhere", "somewhere", "whole", "entire", "throughout", "all"})
# "right in the middle", "right at the top": "right" as an intensifier, not a side.
_INTENSIFIED = frozenset({"in", "at", "on", "by", "next", "above", "below", "under", "over", "there", "here", "away",
                          "now", "near", "behind", "beside"})
_SIDE_BEFORE = frozenset({"the", "to", "far", "top", "bottom", "upper", "lower", "hand", "and", "or"})
# Words that say nothing about the class: skipped when looking for a near class name.
FUNCTION_WORDS = frozenset(
    "a an the there is are was were be been it its this that those these in on at of to and or but find missing "
    "visible image picture photo scene result you missed look for get should here please some any see can could "
    "i me my we do did does have has not n't no thing things stuff part area side half corner edge region "
    "what where why how about also too really actually think want like would know something anything "
    "everything object objects item items".split()
) | set(VERTICAL) | set(HORIZONTAL) | MIDDLE | EVERYWHERE | set(_REMOVE_VERBS.split("|"))

# --- class words: synonyms of the embedded models' classes (and of the Pascal VOC ones), used
# only when the hint names no class exactly; then the nearest class by GloVe cosine.
SYNONYMS: dict[str, str] = {
    "jacket": "coat", "overcoat": "coat", "parka": "coat", "raincoat": "coat", "anorak": "coat",
    "tee": "t-shirt", "tshirt": "t-shirt",
    "pants": "trousers", "jeans": "trousers", "trouser": "trousers", "slacks": "trousers", "chinos": "trousers",
    "sweater": "pullover", "jumper": "pullover", "sweatshirt": "pullover", "hoodie": "pullover", "cardigan": "pullover",
    "gown": "dress", "frock": "dress", "blouse": "shirt",
    "sneakers": "sneaker", "trainer": "sneaker", "trainers": "sneaker", "shoe": "sneaker", "shoes": "sneaker",
    "boot": "ankle boot", "boots": "ankle boot", "flip-flop": "sandal",
    "handbag": "bag", "purse": "bag", "backpack": "bag", "rucksack": "bag", "satchel": "bag",
    "lawn": "grass", "turf": "grass", "meadow": "grass", "pebbles": "gravel", "stones": "gravel", "rocks": "gravel",
    "sea": "water", "ocean": "water", "lake": "water", "river": "water", "beach": "sand", "dune": "sand",
    "clouds": "sky", "heavens": "sky", "brick": "wall", "bricks": "wall",
    "kitten": "cat", "kitty": "cat", "puppy": "dog", "people": "person", "man": "person", "woman": "person",
    "child": "person", "plane": "aeroplane", "airplane": "aeroplane", "bike": "bicycle", "motorbike": "motorbike",
    "tv": "tvmonitor", "monitor": "tvmonitor", "television": "tvmonitor", "sofa": "sofa", "couch": "sofa",
    "plant": "pottedplant", "car": "car", "automobile": "car", "ship": "boat",
}
SYNONYM_PHRASES: dict[str, str] = {"tee shirt": "t-shirt", "tee-shirt": "t-shirt", "t shirt": "t-shirt"}
"""Several-word synonyms, read before the class names inside them."""
NEAR_CLASS = 0.7
NEAR_MARGIN = 0.15
"""A word that names no class is read as its nearest class by GloVe cosine only when the cosine
is at least ``NEAR_CLASS`` and beats the second class by ``NEAR_MARGIN``; otherwise close names
are only suggested. Why so strict: GloVe 6B 50-d puts "jacket" nearer "shirt" (0.88) than any
other scenes class, "hat" at 0.80 from "shirt", "blue" at 0.75 from "shirt" and "animal" at 0.80
from "bird" (Pascal VOC), all with margins under 0.15, while "lawn" -> grass (0.75) leads by 0.20.
Chosen on the cases in tests/test_understand.py (not on test data); common synonyms
(:data:`SYNONYMS`: "kitten" -> cat, 0.64 only) are listed instead."""


@dataclass(frozen=True)
class Reading:
    """What a hint asks for, in the session's terms."""

    op: str  # "find" or "remove"
    label: int | None  # class index named in the hint, if any
    place: str  # e.g. "on the top left"; "" for anywhere
    suggestions: list[str] = field(default_factory=list)  # near class names when none was named
    confidence: float = 1.0  # how sure the operation is (guide/text/operation.py); < ASK_BELOW: ask first
    doubt: str = ""  # why it is unsure: "conflict", "unknown word ‘yeet’", "spelling ‘sneker’", ...
    how: str = ""  # how the class was named: "name", "synonym", "neighbour", "spelling" or ""

    @property
    def sure(self) -> bool:
        """Whether to act without asking (``Conversation`` asks first otherwise)."""
        return self.confidence >= ASK_BELOW and self.how != "spelling"


CANONICAL = {FIND: "there is {a} {c} {w}", REMOVE: "there is no {c} {w}"}
"""The sentence a reading is reworded into: one frame per operation, in both phrasebooks the
guides were trained on (guide/text/templates.py: TRAINING and PAPER), with the reader's place
phrase ("on the top left", "on the right", "in the middle"; "everywhere" says nothing, as
the training hints about a class all over the image do). Chosen on the val split
(docs/results.md, "Text hints")."""


def canonical_hint(reading: Reading, classes: Sequence[str]) -> str | None:
    """``reading`` as the guide's canonical sentence ("there is a coat on the left"), worded by
    the paper phrasebook's own ``render_text``, or None when it names no class (then there is
    nothing to reword)."""
    if reading.label is None:
        return None
    op = REMOVE if reading.op == REMOVE else FIND
    place = "" if reading.place == "everywhere" else reading.place
    return render_text(op, classes[reading.label], place, PAPER.frames(op).index(CANONICAL[op]), book=PAPER)


@torch.no_grad()
def encode_hint(text_guide: TextGuide, text: str) -> tuple[GuideParams, Tokens]:
    """Guiding parameters for one text (alpha 1xHa, beta 1xWb, gamma 1xC') and its tokens.

    Uses the process-wide GloVe vectors; a text with no known word gives zero
    parameters (the identity guide) and ``tokens.words == []``.
    """
    device = next(text_guide.parameters()).device
    emb, lengths, tokens = encode_texts([text], load_vectors(), device=device)
    return text_guide(emb, lengths).detach(), tokens[0]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) + 1e-8)


def class_scores(words: Sequence[str], classes: Sequence[str], vectors) -> list[tuple[float, str, int]]:
    """Per content word of ``words`` (not a function word, in ``vectors``): its classes by
    GloVe cosine, best first, as (cosine, word, class index); best word first."""
    content = [w for w in words if w not in FUNCTION_WORDS and w in vectors]
    names = []
    for name in classes:
        parts = [p for p in name.lower().split() if p in vectors]
        names.append(_unit(np.mean([vectors[p] for p in parts], axis=0)) if parts else None)
    out = []
    for w in content:
        u = _unit(np.asarray(vectors[w], dtype=np.float64))
        out.extend((float(u @ cv), w, k) for k, cv in enumerate(names) if cv is not None)
    out.sort(key=lambda t: -t[0])
    return out


def near_classes(words: Sequence[str], classes: Sequence[str], vectors, top: int = 2, threshold: float = 0.5) -> list[str]:
    """Class names closest (GloVe cosine) to the content words of a hint that named no class."""
    names: list[str] = []
    for score, _, k in class_scores(words, classes, vectors):
        if score >= threshold and classes[k] not in names:
            names.append(classes[k])
    return names[:top]


def _plural_forms(word: str) -> list[str]:
    """Singular candidates of ``word``: "kittens" -> "kitten", "dresses" -> "dress", "ponies" -> "pony"."""
    out = []
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        out.append(word[:-1])
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    return out


def name_class(words: Sequence[str], classes: Sequence[str], vectors=None) -> tuple[int | None, str]:
    """The class a hint's ``words`` name and how it was found: ("exact", plural...), a synonym
    ("kitten" -> cat, when the model has cat), or a near GloVe neighbour (see
    :data:`NEAR_CLASS`). Returns (index or None, "name" | "synonym" | "neighbour" | "")."""
    lowered = [c.lower() for c in classes]
    joined = " ".join(words)
    for phrase, target in SYNONYM_PHRASES.items():  # before the single words: "tee shirt" is no shirt
        if target in lowered and re.search(rf"\b{phrase}s?\b", joined):
            return lowered.index(target), "synonym"
    k = find_class(words, classes)
    if k is not None:
        return k, "name"
    for w in words:
        for form in [w, *_plural_forms(w)]:
            if form in lowered:
                return lowered.index(form), "name"
            target = SYNONYMS.get(form)
            if target in lowered:
                return lowered.index(target), "synonym"
    if vectors is not None:
        scores = class_scores(words, classes, vectors)
        if scores:
            best, word, k = scores[0]
            second = max((s for s, w, j in scores if w == word and j != k), default=-1.0)
            if best >= NEAR_CLASS and best - second >= NEAR_MARGIN:
                return k, "neighbour"
    return None, ""


def _phrase(words: Sequence[str]) -> str:
    """Words joined for the patterns, with "n't" -> "not" and "cannot" -> "can not"."""
    out = []
    for w in words:
        w = w.lower()
        if w == "n't":
            w = "not"
        elif w.endswith("n't"):
            out.append(w[:-3])
            w = "not"
        elif w == "cannot":
            out.append("can")
            w = "not"
        out.append(w)
    return " ".join(out)


def read_op(words: Sequence[str]) -> str:
    """``"find"`` or ``"remove"``: what a hint's words ask (negation scope, questions, verbs of
    missing, removing and undoing): :func:`guide.text.operation.read_operation`, which also says
    how sure it is (:func:`interpret` keeps that).

    "the coat was not found", "isn't that a coat?", "you missed the coat" -> find (the class is
    missing from the result); "there is no coat", "that is not a coat", "unmark the coat", "you
    imagined the coat", "stop calling it a coat" -> remove.
    """
    return read_operation([w.lower() for w in words]).op


_WEAK_UP = {"up": "top", "down": "bottom"}
_UPDOWN_BEFORE = frozenset({"in", "at", "on", "top", "here", "there", "by", "near", "towards", "toward", "bottom"})
_VERB_LEFT_AFTER = frozenset({"a", "an", "some", "out", "behind"})
_SUBJECT_BEFORE = frozenset({"you", "someone", "somebody", "i", "we", "he", "she", "they", "it", "who", "was", "were",
                             "been", "is", "are", "have", "has", "had", "got", "get"})
_STRONG_V = frozenset({"top", "upper", "uppermost", "topmost", "bottom", "lower", "lowermost", "bottommost"})


def find_place(words: Sequence[str]) -> str:
    """The spatial phrase of a hint ("on the top left", "on the left", "in the middle",
    "everywhere", or "" when it says nothing about where).

    Reads hyphenated words by their parts ("left-hand side", "top-left", "mid-section");
    "top", "upper", "bottom", "lower" outrank "down", "up", "above", "below" ("halfway down the
    left edge" is the left); "up"/"down" count only before a place preposition ("down in the
    right corner"); "from top to bottom" says nothing; "left" as a verb ("someone left a coat",
    "was left out") is no side."""
    raw = [w.lower() for w in words]
    words = [p for w in raw for p in parts(w)]
    # "from top to bottom", "from left to right": a span over the whole axis
    drop: set[int] = set()
    for i, w in enumerate(words):
        if w == "from" and i + 3 < len(words) and words[i + 2] == "to":
            drop.update({i + 1, i + 3})
        if w in ("halfway", "midway", "partway") and i + 1 < len(words) and words[i + 1] in ("up", "down", "along", "across"):
            drop.add(i + 1)
    strong = next((VERTICAL[w] for i, w in enumerate(words) if w in _STRONG_V and i not in drop), None)
    weak = None
    for i, w in enumerate(words):
        if i in drop:
            continue
        after = words[i + 1] if i + 1 < len(words) else ""
        if w in _WEAK_UP and after in _UPDOWN_BEFORE:
            weak = weak or _WEAK_UP[w]
        elif w in VERTICAL and w not in _STRONG_V and w not in _WEAK_UP:
            weak = weak or VERTICAL[w]
    v = strong or weak
    h = None
    for i, w in enumerate(words):
        if w not in HORIZONTAL or i in drop:
            continue
        before = words[i - 1] if i else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        if w == "right" and after in _INTENSIFIED and before not in _SIDE_BEFORE:
            continue  # "right in the middle"
        if w == "left" and before in _SUBJECT_BEFORE and (after in _VERB_LEFT_AFTER or after == "the"):
            continue  # "someone left a coat", "the coat was left out"
        h = HORIZONTAL[w]
        break
    if v or h:
        return "on the " + " ".join(p for p in (v, h) if p)
    if any(w in MIDDLE or w in ("mid", "midsection") for w in words) or "heart of" in " ".join(words):
        return "in the middle"
    if any(w in EVERYWHERE for w in words) or "all over" in " ".join(words):
        return "everywhere"
    return ""


RARE_RANK = 100_000
"""GloVe words past this frequency rank may be misspellings ("dres" is number 266 221); more
common ones never are respelt ("cot" is number 42 517: a word, not a typo of coat)."""


def _spelt_class(words: Sequence[str], classes: Sequence[str], vocab) -> tuple[int | None, int]:
    """A word GloVe does not know that is a close spelling of a class name or synonym ("sneker",
    "trowsers"): (class, word index), else (None, -1). Known words are never respelt ("cot")."""
    lowered = [c.lower() for c in classes]
    targets = {c: k for k, c in enumerate(lowered)}
    targets.update({s: lowered.index(t) for s, t in SYNONYMS.items() if t in lowered})
    for i, w in enumerate(words):
        known = vocab is not None and w in vocab and getattr(vocab, "key_to_index", {}).get(w, 0) < RARE_RANK
        if len(w) < 4 or known or not w.isalpha():
            continue
        close = difflib.get_close_matches(w, list(targets), n=1, cutoff=0.8)
        if close:
            return targets[close[0]], i
    return None, -1


def respelling(words: Sequence[str], classes: Sequence[str]) -> tuple[int | None, int]:
    """A word of ``words`` spelt like a class name or synonym, whether GloVe knows it or not ("gras",
    as in Mardi Gras, next to "grass"): (class, word index), else (None, -1). :func:`interpret`
    never respells a known word (it may mean itself: "cot"); the conversation may *ask* whether
    it was meant as the class ("I read “gras” as grass. Do you mean ...?")."""
    return _spelt_class(words, classes, None)


def _class_positions(words: Sequence[str], classes: Sequence[str], label: int) -> list[int]:
    """Indices of the words that name class ``label`` (its name, a plural or a synonym)."""
    n = len(classes[label].split())
    for i in range(len(words)):
        if n > 1 and find_class(words[i:i + n], classes) == label:
            return list(range(i, i + n))
    for i, w in enumerate(words):
        if name_class([w], classes)[0] == label:
            return [i]
    return []


def interpret(tokens: Tokens, classes: Sequence[str], vectors=None, text: str | None = None) -> Reading:
    """Operation, class and place of a hint, with how sure the operation is: what the reply
    reports, what the conversation confirms when unsure, what the take-back check uses and,
    reworded by :func:`canonical_hint`, what the guide reads.

    Reads every word typed (``text``, else ``tokens.typed``, else ``tokens.words``): words GloVe
    does not know and words past the guide's 32-token window too. ``vectors`` (default: the
    process-wide GloVe) are used when the hint names no class, synonyms included, and to tell
    unknown words."""
    if text is not None:
        words = typed_words(text)
    elif getattr(tokens, "typed", None):
        words = list(tokens.typed)
    else:
        words = [w.lower() for w in tokens.words]
    plain = [w for w in words if w not in _PUNCT]
    label, how = name_class(plain, classes)
    suggestions: list[str] = []
    vectors = vectors if vectors is not None or label is not None else load_vectors()
    if label is None:
        label, how = name_class(plain, classes, vectors)
    at: list[int] = []
    if label is None:
        k, i = _spelt_class(words, classes, vectors)
        if k is not None:
            label, how, at = k, "spelling", [i]
        else:
            suggestions = near_classes(plain, classes, vectors)
    elif not at:
        at = _class_positions(words, classes, label)
    class_words = {words[i] for i in at}
    op = read_operation(words, at, vectors, class_words)
    return Reading(op.op, label, find_place(plain), suggestions, op.confidence, op.doubt, how)


_PUNCT = frozenset(".,;:!?+-")


def no_class_message(text: str, classes: Sequence[str], vectors=None) -> str:
    """What the app and the library say to a hint that names no class the model knows
    ("there is a giraffe", "asdf", "remove everything"): nothing changed, which class, the
    nearest names. ``Conversation.say`` replies this; ``GuideSession.add_text`` raises
    :class:`NoClassError` with it."""
    from guide.core.classnames import close_classes

    near = close_classes(text, classes)
    if vectors is not None:
        near = list(dict.fromkeys(near + near_classes(re.findall(r"[^\W_]+(?:['\-][^\W_]+)*", text.lower()), classes,
                                                      vectors)))[:3]
    guess = f" Did you mean {' or '.join(near)}?" if near else ""
    shown = " ".join(str(text).split())
    more = "\u2026" if len(shown) > 40 else ""
    shown = f"\u201c{shown[:40]}{more}\u201d"
    return (f"I could not find a class name in {shown}, so I changed nothing. Which class do you mean?{guess} "
            f"Classes: {', '.join(classes)}.")


class NoClassError(ValueError):
    """A hint names no class the model knows: nothing changed; the message says which classes
    there are (:func:`no_class_message`)."""


# ---------------------------------------------------------------- compound hints

_BREAKS = frozenset({".", ";", "!", "?"})
_JOINS = frozenset({",", "and", "but", "while", "whereas", "also", "plus"})
_DETERMINERS = frozenset({"a", "an", "the", "some", "any", "this", "that", "these", "those", "my", "no"})
_PLACE_WORDS = frozenset({"on", "in", "at", "to", "of", "near", "towards", "toward", "along", "across", "over",
                          "up", "down", "the", "image", "picture", "photo", "part", "side", "half", "corner",
                          "edge", "area", "hand", "far", "very", "too", "as", "well"}) \
    | set(VERTICAL) | set(HORIZONTAL) | MIDDLE | EVERYWHERE
_PLURAL_VERB = {"are": "is", "were": "was", "have": "has"}
_CLAUSE_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*'?|[.,;!?]")


def _class_spans(words: Sequence[str], classes: Sequence[str]) -> list[tuple[int, int, int]]:
    """(start, stop, class) of every class name in ``words``, longest first, not overlapping."""
    longest = max((len(c.split()) for c in classes), default=1)
    spans: list[tuple[int, int, int]] = []
    taken = [False] * len(words)
    for n in range(longest, 0, -1):
        for i in range(len(words) - n + 1):
            if any(taken[i : i + n]):
                continue
            k, _ = name_class(words[i : i + n], classes) if n == 1 else (find_class(words[i : i + n], classes), "")
            if k is not None and len(classes[k].split()) == n:
                spans.append((i, i + n, k))
                taken[i : i + n] = [True] * n
    return sorted(spans)


def _np(part: list[str], classes: Sequence[str]) -> tuple[int, int, int] | None:
    """(determiner start, class stop, class end of part) when ``part`` is a bare item:
    determiners, one class name, then place words only ("no grass on the bottom")."""
    spans = _class_spans(part, classes)
    if len(spans) != 1:
        return None
    a, b, _ = spans[0]
    if any(w not in _DETERMINERS | {"not"} for w in part[:a]):
        return None
    if any(w not in _PLACE_WORDS for w in part[b:]):
        return None
    return 0, a, b


def _has_place(words: Sequence[str]) -> bool:
    return find_place(words) not in ("",)


def split_clauses(text: str, classes: Sequence[str]) -> list[str]:
    """Split one message into hints, one class each.

    * clauses with their own verb split at ".", ";", "!", "?", ",", "and", "but":
      "the coat is missing and the bag is wrong" -> 2 hints;
    * an elliptic clause (determiners, a class, maybe a place) borrows the words around the
      previous clause's class and keeps its own negation and place: "there is a coat on the
      left and no grass on the bottom" -> "there is a coat on the left", "there is no grass on
      the bottom"; "the coat is missing on the left and the bag on the right" -> ... "the bag
      is missing on the right";
    * a list of classes is one hint per class with the list's verb, and a place said after
      the last item applies to all: "remove the t-shirt and trousers on the left" -> "remove
      the t-shirt on the left", "remove the trousers on the left"; "the coat and the bag are
      missing" -> "the coat is missing", "the bag is missing";
    * a class whose own name contains "and" is never cut; a part naming no class stays with
      its neighbour ("find the coat and be quick" is one hint).

    Returns lower-case clauses, words joined by spaces; ``[]`` for a text without words.
    """
    words = [w.lower() for w in _CLAUSE_WORD.findall(text)]
    if not words:
        return []
    inside = {i for a, b, _ in _class_spans(words, classes) for i in range(a, b)}
    # 1. cut at breaks and joins (never inside a class name); the punctuation goes.
    if not inside:
        return [" ".join(w for w in words if w not in _BREAKS | {","})]
    parts: list[list[str]] = [[]]
    joins: list[str] = [""]  # the word that cut before each part
    for i, w in enumerate(words):
        if i not in inside and (w in _BREAKS or w in _JOINS):
            if parts[-1]:
                parts.append([])
                joins.append(w)
            continue
        parts[-1].append(w)
    if not parts[-1]:
        parts.pop()
        joins.pop()
    # 2. a part naming no class joins its neighbour (with its "and").
    merged: list[list[str]] = []
    for part, join in zip(parts, joins, strict=True):
        if merged and (not _class_spans(part, classes) or not _class_spans(merged[-1], classes)):
            glue = [join] if join and join not in _BREAKS | {","} else []
            merged[-1] = [*merged[-1], *glue, *part]
        else:
            merged.append(part)
    # 3. full clauses set the frame; bare items borrow it.
    out: list[list[str]] = []
    pending: list[list[str]] = []  # bare items before any frame ("the coat and the bag are missing")
    frame: tuple[list[str], list[str], list[str]] | None = None  # lead, determiners, verb words after the class
    for part in merged:
        item = _np(part, classes)
        if item is None:
            a, b, _ = _class_spans(part, classes)[0]
            d = a
            while d > 0 and part[d - 1] in _DETERMINERS:
                d -= 1
            tail = part[b:]
            verb = [w for w in tail if w not in _PLACE_WORDS]
            if pending and d == 0 and verb:
                verb = [_PLURAL_VERB.get(tail[0], tail[0]), *tail[1:]]
                out.extend([*p, *verb] for p in pending)
                part = [*part[:b], *verb]
            else:
                out.extend(pending)
            pending = []
            out.append(part)
            frame = (part[:d], part[d:a], [w for w in part[b:] if w not in _PLACE_WORDS])
            continue
        if frame is None:
            pending.append(part)
            continue
        _, a, b = item
        lead, dets, verb = frame
        own = part[:a] or dets
        place = part[b:]
        if _has_place(place) and out and not _has_place(out[-1]) and "no" not in own and "not" not in own:
            out[-1] = [*out[-1], *place]  # "remove the t-shirt and trousers on the left": both on the left
        out.append([*lead, *own, *part[a:b], *verb, *place])
    out.extend(pending)
    return [_fix_article(" ".join(c)) for c in out if c]


def _fix_article(clause: str) -> str:
    """"a ankle boot" -> "an ankle boot" after a class was put in another's place."""
    words = clause.split()
    for i in range(len(words) - 1):
        if words[i] in ("a", "an"):
            words[i] = article(words[i + 1])
    return " ".join(words)
