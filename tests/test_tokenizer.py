"""Tokenizer: lower-casing, punctuation, hyphens, clitics, OOV and the length cap."""

from __future__ import annotations

from guide.text.tokenizer import MAX_TOKENS, Tokens, tokenize

VOCAB = {"find", "the", "t-shirt", "on", "top", "left", "ankle", "boot", "there", "'s", "no", "is", "n't",
         "sky", "coat", "missing", "café", "a"}


def test_lowercase_and_punctuation() -> None:
    assert tokenize("Find the T-Shirt, on the TOP left!!", VOCAB) == Tokens(
        ["find", "the", "t-shirt", "on", "the", "top", "left"], []
    )


def test_hyphen_kept_only_when_known() -> None:
    assert tokenize("t-shirt", VOCAB).words == ["t-shirt"]
    assert tokenize("ankle-boot", VOCAB).words == ["ankle", "boot"]
    # an unknown part of a hyphenated word is reported, the known part read
    assert tokenize("ankle-blorp", VOCAB) == Tokens(["ankle"], ["blorp"])


def test_clitics_split_like_glove() -> None:
    assert tokenize("There's no coat", VOCAB).words == ["there", "'s", "no", "coat"]
    assert tokenize("the sky isn\u2019t missing", VOCAB).words == ["the", "sky", "is", "n't", "missing"]


def test_oov_reported_in_order() -> None:
    tok = tokenize("find the zorblax and the qwerty coat", VOCAB)
    assert tok.words == ["find", "the", "the", "coat"]
    assert tok.ignored == ["zorblax", "and", "qwerty"]


def test_empty_and_gibberish() -> None:
    assert tokenize("", VOCAB) == Tokens([], [])
    assert tokenize("   ?!.,;  ", VOCAB) == Tokens([], [])
    tok = tokenize("xqzv blrg #@! 12345", VOCAB)
    assert tok.words == [] and tok.ignored == ["xqzv", "blrg", "12345"]


def test_long_text_is_capped() -> None:
    tok = tokenize("coat " * 300, VOCAB)
    assert len(tok.words) == MAX_TOKENS
    assert tok.words == ["coat"] * MAX_TOKENS
    assert len(tok.ignored) == 300 - MAX_TOKENS
    assert len(tokenize("coat " * 100, VOCAB, max_tokens=5).words) == 5
    # megabytes of input stay cheap: only the first characters are looked at
    assert len(tokenize("a" * 5_000_000, VOCAB).ignored) == 1


def test_unicode_letters() -> None:
    assert tokenize("Café coat", VOCAB).words == ["café", "coat"]


def test_real_glove_vocabulary() -> None:
    from guide.text.vectors import load_from_pypi

    kv = load_from_pypi()
    tok = tokenize("There is a T-shirt on the top left; remove the ankle-boot.", kv)
    assert tok.words == ["there", "is", "a", "t-shirt", "on", "the", "top", "left", "remove", "the", "ankle", "boot"]
    assert tok.ignored == []
