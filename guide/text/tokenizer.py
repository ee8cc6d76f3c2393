"""Turn a typed hint into the words the guide can read (GloVe vocabulary).

GloVe 6B was built from lower-cased, Stanford-tokenised text, so we mimic that:
lower-case, split off punctuation, split English clitics the Penn-Treebank way
("isn't" -> "is", "n't"; "there's" -> "there", "'s"), and keep a hyphenated word
whole only when GloVe knows it ("t-shirt"), otherwise read its parts ("ankle-boot"
-> "ankle", "boot"). Words GloVe does not know are dropped from what the guide reads and
reported, so the UI can tell the user which words were not understood; the reader still sees
them (``Tokens.typed``: every word typed, also past the guide's window).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass, field

MAX_TOKENS = 32
"""Longest hint the guide reads; later words are reported as ignored.

Why: generated training hints are at most ~10 words, so a GRU fed hundreds of words
would be far outside what it learned, and the cap bounds the cost of pasted essays.
"""

MAX_CHARS = 2000
"""Characters looked at, so that pathological input cannot make tokenising slow."""

# A word: letters/digits (any script), optionally joined by hyphens or apostrophes ("t-shirt", "isn't").
_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*'?")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u2010": "-", "\u2011": "-", "\u2013": "-"})


@dataclass(frozen=True)
class Tokens:
    """Result of :func:`tokenize`: ``words`` the guide reads (in order, all in the
    vocabulary, at most :data:`MAX_TOKENS`) and ``ignored`` words it could not read
    (out of vocabulary, or past the cap); ``typed`` every word typed, in order, with the
    punctuation that carries meaning (:func:`guide.text.operation.typed_words`), for the reader:
    not windowed, nothing dropped."""

    words: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    typed: list[str] = field(default_factory=list, compare=False)


def _split_clitic(word: str) -> list[str]:
    """Penn-Treebank clitic split: "isn't" -> ["is", "n't"], "coat's" -> ["coat", "'s"]."""
    if word.endswith("n't") and len(word) > 3:
        return [word[:-3], "n't"]
    if "'" in word:
        head, _, tail = word.partition("'")
        parts = [head] if head else []
        if tail:
            parts.append("'" + tail)
        return parts
    return [word]


def _candidates(word: str, vocab: Container[str]) -> list[str]:
    """Split one regex word into vocabulary-sized pieces (unknown pieces kept, to be reported)."""
    if word in vocab:
        return [word]
    word = word.strip("'")
    if not word:
        return []
    if word in vocab:
        return [word]
    pieces: list[str] = []
    for part in word.split("-"):
        if not part:
            continue
        if part in vocab:
            pieces.append(part)
        else:
            pieces.extend(_split_clitic(part))
    return pieces


def tokenize(text: str, vocab: Container[str], max_tokens: int = MAX_TOKENS) -> Tokens:
    """Split ``text`` into in-vocabulary words.

    ``vocab`` is anything supporting ``in`` (a gensim ``KeyedVectors``, a set). Punctuation
    is a separator and is neither read nor reported (generated hints have none). Returns
    :class:`Tokens`; an empty or unreadable text gives ``Tokens([], [...])``.
    """
    from guide.text.operation import typed_words

    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).translate(_QUOTES).lower()
    words: list[str] = []
    ignored: list[str] = []
    for match in _WORD.finditer(text):
        for piece in _candidates(match.group(0), vocab):
            if piece not in vocab:
                ignored.append(piece)
            elif len(words) < max_tokens:
                words.append(piece)
            else:
                ignored.append(piece)
    return Tokens(words, ignored, typed_words(text))
