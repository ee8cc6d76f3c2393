"""Class names as people type them: the one resolver for answers, points and hints.

Two entry points over one matcher:

* :func:`resolve_class` — a whole answer names a class: "Coat", "a coat", "it's an
  ankle boot", "tshirt", "coats", a small typo ("snaekers").
* :func:`find_class` — a class named anywhere in a hint's words ("there is no grass
  on the left"): the longest class name wins, exact words and plurals only (a
  typo-tolerant match inside a sentence would read "coast" as "coat").

:func:`close_classes` lists the nearest spellings for a "did you mean ...?"; :func:`respelt` says
when :func:`resolve_class` read a typo ("coaat" as coat), for a reply to say so.
To add synonyms or word-vector neighbours, extend :func:`_match` (one phrase -> class
index); both entry points go through it.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Sequence

# Leading words of an answer that say nothing about the class ("it's a", "i think it is the").
_FILLER = re.compile(
    r"^(?:(?:it|this|that)(?:'s| is)\s+|i think(?: it's| it is)?\s+|there(?:'s| is)\s+|maybe\s+|probably\s+)*"
    r"(?:an?\s+|the\s+|some\s+)?"
)
MAX_NAME = 40  # longer answers are not a class name


def normalise(text: str) -> str:
    """Lower case, single spaces, "_" as a space, no surrounding punctuation or quotes."""
    return " ".join(str(text).lower().replace("_", " ").split()).strip(" .!?,;:\"'“”‘’")


def _squash(name: str) -> str:
    """"T-Shirt" / "t shirt" / "tshirt" -> "tshirt"."""
    return name.replace("-", "").replace(" ", "")


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


@functools.lru_cache(maxsize=64)
def _tables(classes: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """A class list's names normalised, in the singular, and squashed: made once per list (a hint
    is matched phrase by phrase, thousands of lookups a message)."""
    names = tuple(normalise(c) for c in classes)  # tuples: shared by every caller, so not to be changed
    return names, tuple(" ".join(_singular(w) for w in n.split()) for n in names), tuple(_squash(n) for n in names)


def _match(phrase: str, classes: Sequence[str], fuzzy: bool) -> int | None:
    """Class index for one normalised phrase: exact, plural, spelling without hyphens or
    spaces, then (``fuzzy``) a close spelling. Synonyms would go here."""
    names, singular, squashed = _tables(tuple(classes))
    plain = " ".join(_singular(w) for w in phrase.split())
    for table, key in ((names, phrase), (singular, plain), (squashed, _squash(phrase)), (squashed, _squash(plain))):
        if key in table:
            return table.index(key)
    if fuzzy:
        close = difflib.get_close_matches(phrase, names, n=1, cutoff=0.8)
        if close:
            return names.index(close[0])
    return None


def resolve_class(text: str, classes: Sequence[str]) -> int | None:
    """Index of the class a person's answer names, or None ("unicorn", a whole sentence)."""
    t = _FILLER.sub("", normalise(text)).strip()
    if not t or len(t) > MAX_NAME:
        return None
    return _match(t, classes, fuzzy=True)


def find_class(words: Sequence[str], classes: Sequence[str]) -> int | None:
    """Index of the class named anywhere in ``words`` (tokens): the longest name wins
    ("ankle boot" over "boot"), then the earlier class."""
    words = [normalise(w) for w in words]
    longest = max((len(n.split()) for n in _tables(tuple(classes))[0]), default=0)
    hits = {
        k
        for n in range(1, min(longest, len(words)) + 1)
        for i in range(len(words) - n + 1)
        if (k := _match(" ".join(words[i : i + n]), classes, fuzzy=False)) is not None
    }
    return min(hits, key=lambda k: (-len(classes[k]), k)) if hits else None


def close_classes(text: str, classes: Sequence[str], n: int = 3) -> list[str]:
    """Class names spelled like ``text`` or any of its words (for "did you mean ...?")."""
    names = {normalise(c): c for c in classes}
    t = _FILLER.sub("", normalise(text))[:MAX_NAME]
    out: list[str] = []
    for part in [t, *t.split()]:
        for m in difflib.get_close_matches(part, list(names), n=n, cutoff=0.7):
            if names[m] not in out:
                out.append(names[m])
    return out[:n]


def respelt(text: str, classes: Sequence[str]) -> str | None:
    """The class name :func:`resolve_class` reads ``text`` as when only a close spelling matched it
    ("coaat" -> "coat"), so a reply can say so instead of correcting a typo silently; None when
    ``text`` names a class as typed (any case, a plural, without hyphens or spaces, after filler
    words such as "it's a") or names none."""
    t = _FILLER.sub("", normalise(text)).strip()
    if not t or len(t) > MAX_NAME or _match(t, classes, fuzzy=False) is not None:
        return None
    k = _match(t, classes, fuzzy=True)
    return None if k is None else classes[k]
