"""Training phrasebook vs held-out phrasebook: disjoint, complete, never trained on."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from guide.core.hints import FIND, REMOVE
from guide.text.heldout import HELDOUT
from guide.text.templates import PAPER, TRAINING, place_kind, place_phrase, render

ROOT = Path(__file__).resolve().parents[1]


def test_heldout_and_training_share_no_frame_or_place_phrase() -> None:
    for op in (FIND, REMOVE):
        assert not set(TRAINING.frames(op)) & set(HELDOUT.frames(op))
        assert not set(TRAINING.frames(op)) & set(HELDOUT.frames(FIND if op == REMOVE else REMOVE))
    for kind in ("corner", "side_h", "side_v", "middle"):
        assert not set(getattr(TRAINING, kind)) & set(getattr(HELDOUT, kind)), kind
    assert set(TRAINING.anywhere) & set(HELDOUT.anywhere) == {""}  # only "no place at all" is shared
    for op in (FIND, REMOVE):  # the first guides' templates are not held-out phrasings either
        assert not set(PAPER.frames(op)) & (set(HELDOUT.frames(FIND)) | set(HELDOUT.frames(REMOVE)))


def test_paper_phrasings_keep_the_first_guides_random_stream() -> None:
    # one draw per hint (the frame), as before issue 14, so --phrasings paper reproduces the earlier numbers
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    text = render(PAPER, FIND, "coat", "on the top left", rng)
    assert text == PAPER.find[int(twin.integers(len(PAPER.find)))].format(c="coat", a="a", w="on the top left")
    assert rng.integers(1 << 30) == twin.integers(1 << 30)
    assert not PAPER.varied and TRAINING.varied


def test_training_never_imports_the_heldout_set() -> None:
    for module in ("guide/training/text.py", "guide/text/generator.py", "guide/text/templates.py", "guide/text/encoder.py"):
        source = (ROOT / module).read_text()
        assert not re.search(r"(import|from)\s+[\w.]*heldout|import_module\([^)]*heldout", source), module


def test_phrasebooks_are_large_and_fill_every_field() -> None:
    assert len(TRAINING.find) >= 40 and len(TRAINING.remove) >= 30
    assert len(HELDOUT.find) >= 20 and len(HELDOUT.remove) >= 20
    for book in (TRAINING, HELDOUT):
        for frame in book.find + book.remove:
            assert "{c}" in frame and "{w}" in frame and set(re.findall(r"{(\w)}", frame)) <= {"a", "c", "w"}, frame
        for place in book.places():
            assert set(re.findall(r"{(\w)}", place)) <= {"v", "u", "d", "h"}, place


@pytest.mark.parametrize("where", ["on the top left", "on the bottom right", "on the left", "on the bottom", "in the middle", ""])
def test_place_phrases_keep_the_place(where: str) -> None:
    kind, v, h = place_kind(where)
    for book in (TRAINING, HELDOUT):
        for i in range(len(getattr(book, kind))):
            phrase = place_phrase(book, where, i)
            assert (v is None or v in phrase or {"top": "upper", "bottom": "lower"}[v] in phrase), phrase
            assert h is None or h in phrase, phrase
            assert "{" not in phrase and "  " not in phrase


def test_render_fills_a_frame() -> None:
    rng = np.random.default_rng(0)
    texts = {render(TRAINING, REMOVE, "ankle boot", "on the left", rng) for _ in range(500)}
    assert len(texts) > 100 and all("ankle boot" in t for t in texts)
    assert not any(" a ankle" in f" {t}" for t in texts)
    with pytest.raises(ValueError):
        place_kind("somewhere over the rainbow")
