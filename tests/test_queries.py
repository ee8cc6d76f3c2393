"""The simulated user: erroneous classes, cells, sampling, phrases and templates."""

from __future__ import annotations

import numpy as np
import pytest

from guide.core.hints import FIND, REMOVE, TextHint
from guide.text.generator import (
    FIND_TEMPLATES,
    REMOVE_TEMPLATES,
    find_candidates,
    generate_hint,
    hint_mask,
    render_hint,
    render_text,
    spatial_phrase,
)
from guide.text.reader import find_place

NAMES = ["sky", "grass", "gravel", "wall", "water", "sand", "t-shirt", "trousers"]


def crafted() -> tuple[np.ndarray, np.ndarray]:
    """90x90 scene, 3x3 cells of 30x30. GT: sky (0) top row, grass (1) elsewhere, a coat
    of t-shirt (6) in cell 8 (bottom right). Prediction: misses the t-shirt (predicts
    grass there), and predicts water (4) wrongly in cell 3 (middle left)."""
    gt = np.ones((90, 90), dtype=np.uint8)
    gt[:30] = 0
    gt[65:85, 65:85] = 6
    pred = gt.copy()
    pred[65:85, 65:85] = 1
    pred[35:55, 5:25] = 4
    return pred, gt


def test_candidates_only_erroneous_classes_and_cells() -> None:
    pred, gt = crafted()
    cands = {(c.op, c.label): c for c in find_candidates(pred, gt, num_classes=len(NAMES))}
    assert set(cands) == {(FIND, 6), (REMOVE, 4)}
    assert cands[(FIND, 6)].cells == (8,) and cands[(FIND, 6)].gain == 400
    assert cands[(REMOVE, 4)].cells == (3,) and cands[(REMOVE, 4)].gain == 400
    # grass is only 400 of 900 pixels missed in cell 3 (< half): not "missing" there.
    assert (FIND, 1) not in cands


def test_grass_largely_missed_is_a_find() -> None:
    pred, gt = crafted()
    pred[30:60, 0:30] = 4  # whole cell 3 predicted as water
    cands = {(c.op, c.label): c for c in find_candidates(pred, gt, num_classes=len(NAMES))}
    assert cands[(FIND, 1)].cells == (3,) and cands[(FIND, 1)].gain == 900


def test_tiny_regions_and_void_are_ignored() -> None:
    pred, gt = crafted()
    pred[65:85, 65:85] = 6  # fix the t-shirt
    pred[35:55, 5:25] = 1  # fix the water
    pred[0:3, 0:3] = 5  # 9 spurious sand pixels
    gt[60:90, 30:60] = 255  # cell 7 void...
    pred[60:90, 30:60] = 2  # ...so gravel predicted there is not wrong
    assert find_candidates(pred, gt, num_classes=len(NAMES)) == []
    assert generate_hint(pred, gt, NAMES, np.random.default_rng(0)) is None
    assert find_candidates(pred, gt, min_pixels=5, num_classes=len(NAMES))[0].label == 5


def test_generated_hint_is_a_text_hint_about_a_real_error() -> None:
    pred, gt = crafted()
    rng = np.random.default_rng(1)
    for _ in range(50):
        hint = generate_hint(pred, gt, NAMES, rng)
        assert isinstance(hint, TextHint)
        assert (hint.op, hint.label) in {(FIND, 6), (REMOVE, 4)}
        if hint.op == FIND:
            assert hint.cells == (8,) and "t-shirt" in hint.text and find_place(hint.text.split()) == "on the bottom right"
        else:
            assert hint.cells == (3,) and "water" in hint.text and find_place(hint.text.split()) == "on the left"
        assert hint.grid == 3 and hint.text == hint.text.strip() and "  " not in hint.text
    only_find = generate_hint(pred, gt, NAMES, rng, ops=(FIND,))
    assert only_find is not None and only_find.op == FIND and only_find.label == 6
    only_remove = generate_hint(pred, gt, NAMES, rng, ops=(REMOVE,))
    assert only_remove is not None and only_remove.op == REMOVE and only_remove.label == 4


def test_sampling_proportional_to_gain() -> None:
    gt = np.zeros((90, 90), dtype=np.uint8)
    gt[0:30, 0:30] = 1  # 900 px of grass
    gt[60:70, 60:70] = 2  # 100 px of gravel
    pred = np.zeros_like(gt)
    rng = np.random.default_rng(0)
    labels = [generate_hint(pred, gt, NAMES, rng, ops=(FIND,)).label for _ in range(2000)]  # type: ignore[union-attr]
    share = np.mean(np.array(labels) == 1)
    assert 0.86 < share < 0.94  # expected 0.9


def test_both_ops_are_drawn() -> None:
    pred, gt = crafted()
    rng = np.random.default_rng(3)
    ops = [generate_hint(pred, gt, NAMES, rng).op for _ in range(200)]  # type: ignore[union-attr]
    assert 60 < ops.count(FIND) < 140


def test_seeded_generation_is_reproducible() -> None:
    pred, gt = crafted()
    a = [generate_hint(pred, gt, NAMES, np.random.default_rng(7)) for _ in range(3)]
    b = [generate_hint(pred, gt, NAMES, np.random.default_rng(7)) for _ in range(3)]
    assert a == b


@pytest.mark.parametrize(
    ("cells", "phrase"),
    [
        ((0,), "on the top left"),
        ((1,), "on the top"),
        ((2,), "on the top right"),
        ((3,), "on the left"),
        ((4,), "in the middle"),
        ((5,), "on the right"),
        ((6,), "on the bottom left"),
        ((7,), "on the bottom"),
        ((8,), "on the bottom right"),
        ((0, 1, 2), "on the top"),
        ((6, 7, 8), "on the bottom"),
        ((0, 3, 6), "on the left"),
        ((2, 5, 8), "on the right"),
        ((1, 4, 7), "in the middle"),
        ((3, 4, 5), "in the middle"),
        ((0, 1, 3, 4), "on the top left"),
        ((4, 5, 7, 8), "on the bottom right"),
        ((0, 1, 2, 3, 4, 5), "on the top"),
        ((0, 2), "on the top"),
        ((0, 8), ""),
        ((), ""),
        (tuple(range(9)), ""),
        ((0, 1, 2, 3, 4, 5, 6), ""),
    ],
)
def test_spatial_phrase(cells: tuple[int, ...], phrase: str) -> None:
    assert spatial_phrase(cells, 3) == phrase


def test_spatial_phrase_other_grids() -> None:
    assert spatial_phrase((0,), 4) == "on the top left"
    assert spatial_phrase((15,), 4) == "on the bottom right"
    assert spatial_phrase((0,), 1) == ""


def test_templates_and_articles() -> None:
    rng = np.random.default_rng(0)
    texts = {render_hint(FIND, 0, (0,), ["ankle boot"], rng).text for _ in range(3000)}
    frames = {t.replace("in the upper left", "on the top left") for t in texts}
    assert len(texts) > len(FIND_TEMPLATES)  # frames x place phrases
    assert all("ankle boot" in t and find_place(t.split()) == "on the top left" for t in texts)
    assert "there is an ankle boot on the top left" in texts and "there is an ankle boot in the top left corner" in texts
    assert "a ankle" not in " ".join(frames)
    rm = {render_hint(REMOVE, 0, (), ["coat"], rng).text for _ in range(3000)}
    assert "remove the coat" in rm and "remove the coat all over the image" in rm
    assert {render_text(REMOVE, "coat", "", i) for i in range(len(REMOVE_TEMPLATES))} <= rm


def test_ablations() -> None:
    pred, gt = crafted()
    faithful = generate_hint(pred, gt, NAMES, np.random.default_rng(5), ops=(FIND,))
    wrong = generate_hint(pred, gt, NAMES, np.random.default_rng(5), ops=(FIND,), ablation="wrong-class")
    noplace = generate_hint(pred, gt, NAMES, np.random.default_rng(5), ops=(FIND,), ablation="no-place")
    assert faithful is not None and wrong is not None and noplace is not None
    assert wrong.label != faithful.label and NAMES[wrong.label] in wrong.text and "t-shirt" not in wrong.text
    assert wrong.cells == faithful.cells and find_place(wrong.text.split()) == "on the bottom right"
    assert noplace.label == faithful.label and noplace.cells == () and "bottom" not in noplace.text
    # same frame and place draw: the faithful text and the text without its place
    draws = np.random.default_rng(7)
    frame, place = int(draws.integers(len(FIND_TEMPLATES))), int(draws.integers(1 << 30))
    faithful = render_hint(FIND, 6, (8,), NAMES, np.random.default_rng(7))
    noplace = render_hint(FIND, 6, (8,), NAMES, np.random.default_rng(7), ablation="no-place")
    assert faithful.text == render_text(FIND, "t-shirt", "on the bottom right", frame, place)
    assert noplace.text == render_text(FIND, "t-shirt", "", frame, place)
    with pytest.raises(ValueError):
        generate_hint(pred, gt, NAMES, np.random.default_rng(5), ablation="bogus")


def test_hint_mask() -> None:
    m = hint_mask(TextHint("x", FIND, 1, (0, 4), 3), (90, 90))
    assert m.sum() == 2 * 900 and m[0, 0] and m[45, 45] and not m[89, 89]
    assert hint_mask(TextHint("x"), (10, 10)).all()
