"""Issue 24: the simulated user, the phrasebooks and the reader know any class list: multi-word
class names ("potted plant", "tv monitor", "dining table") survive generation -> words -> reading,
and the place grid and canonical sentence work at any aspect ratio."""

from __future__ import annotations

import numpy as np
import pytest

from guide.core.hints import FIND, REMOVE
from guide.data.voc import VOC_CLASSES
from guide.text.generator import generate_hint, grid_bounds, hint_mask
from guide.text.reader import canonical_hint, interpret, split_clauses
from guide.text.templates import TRAINING
from guide.text.tokenizer import tokenize
from guide.text.vectors import load_vectors

MULTI = ["potted plant", "tv monitor", "dining table"]


@pytest.fixture(scope="module")
def vectors():
    return load_vectors()


def read(text: str, vectors):
    return interpret(tokenize(text, vectors), VOC_CLASSES, vectors)


@pytest.mark.parametrize("shape", [(30, 90), (90, 30), (64, 64), (375, 500)])
@pytest.mark.parametrize("name", MULTI)
def test_generated_hints_about_multi_word_classes_read_back(name: str, shape: tuple[int, int], vectors) -> None:
    k = VOC_CLASSES.index(name)
    h, w = shape
    gt = np.zeros(shape, np.uint8)
    gt[: h // 3, : w // 3] = k  # the class sits in the top-left cell of the 3x3 grid, whatever the shape
    gt[-1] = 255
    pred = np.zeros(shape, np.uint8)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(12):
        hint = generate_hint(pred, gt, VOC_CLASSES, rng, ops=(FIND,))
        assert hint is not None and hint.label == k and hint.cells == (0,)
        assert name in hint.text  # the whole name, both words
        reading = read(hint.text, vectors)
        assert reading.label == k and reading.op == FIND, hint.text
        assert reading.place == "on the top left", hint.text
        seen.add(hint.text)
        (y0, y1), (x0, x1) = grid_bounds(h, 3)[0], grid_bounds(w, 3)[0]
        expected = np.zeros(shape, bool)
        expected[y0:y1, x0:x1] = True  # the top-left third of each side, whatever the aspect ratio
        assert (hint_mask(hint, shape) == expected).all()
    assert len(seen) > 3  # many phrasings
    # the remove side: the class predicted where it is not
    hint = generate_hint(np.full(shape, k, np.uint8), np.zeros(shape, np.uint8), VOC_CLASSES, rng, ops=(REMOVE,))
    assert hint is not None and hint.label == k and name in hint.text
    assert read(hint.text, vectors).label == k


@pytest.mark.parametrize("name", MULTI)
def test_every_training_frame_fits_a_multi_word_name(name: str, vectors) -> None:
    k = VOC_CLASSES.index(name)
    for op in (FIND, REMOVE):
        for frame in TRAINING.frames(op):
            text = " ".join(frame.format(c=name, a="a", w="on the right").split())
            reading = read(text, vectors)
            assert reading.label == k, text


def test_canonical_sentence_and_clauses_with_multi_word_names(vectors) -> None:
    reading = read("the tv monitor on the bottom right is wrong, there is no tv monitor there", vectors)
    assert reading.label == VOC_CLASSES.index("tv monitor")
    canonical = canonical_hint(read("find the potted plant on the left", vectors), VOC_CLASSES)
    assert canonical == "there is a potted plant on the left"
    clauses = split_clauses("find the potted plant on the left and remove the dining table", VOC_CLASSES)
    assert len(clauses) == 2 and "potted plant" in clauses[0] and "dining table" in clauses[1]
    assert read(clauses[1], vectors).op == REMOVE
