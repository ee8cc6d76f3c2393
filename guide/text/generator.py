"""The query (hint) generator of paper §3.3 / Fig. 2: a simulated user.

Given a prediction and the ground truth it finds what is wrong and says so in words:

1. split the label map into an N x N grid (N = 3 in the paper);
2. per cell list the erroneous classes, ignoring regions of only a few pixels:
   * ``find``   - a ground-truth class that the prediction misses (entirely or mostly)
     in that cell; potential improvement = its missed pixels there;
   * ``remove`` - a predicted class that is (mostly) wrong in that cell; potential
     improvement = its wrongly predicted pixels there;
3. pick an operation (uniformly among the allowed ones that have candidates; the paper
   trains "find or remove" by "randomly selecting one each time"), then a class with
   probability proportional to its potential improvement summed over the cells;
4. the cells where that class is erroneous (for that operation) become a spatial phrase
   ("on the top left", "in the middle", ...), said in one of several ways ("in the upper
   left corner", ...), and the class name and phrase fill one of many sentence frames
   with the same meaning ("find the coat on the left", "the coat is missing on the
   left", "i see a coat on the left", ...: guide/text/templates.py).

The result is a :class:`guide.core.hints.TextHint`, the same object the app sends. Cells are
row-major indices into the N x N grid; pixel coordinates are (row, col) = (y, x).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guide.core.hints import FIND, OPERATIONS, REMOVE, TextHint
from guide.core.labels import VOID
from guide.text.templates import TRAINING, Phrasebook, article, place_phrase

ABLATIONS = ("none", "wrong-class", "no-place")

# The sentence frames and place phrases live in guide/text/templates.py (training) and
# guide/text/heldout.py (measuring only); these names keep the training ones at hand.
FIND_TEMPLATES: tuple[str, ...] = TRAINING.find
REMOVE_TEMPLATES: tuple[str, ...] = TRAINING.remove
TEMPLATES: dict[str, tuple[str, ...]] = {FIND: FIND_TEMPLATES, REMOVE: REMOVE_TEMPLATES}

DEFAULT_MIN_PIXELS = 20
"""Erroneous regions smaller than this (in one cell) are ignored as spurious.

Why 20: at the 160x160 network input a cell holds ~2,800 pixels; 20 is a ~4x4 blob,
the "tiny spurious regions comprised of only a few pixels" of the paper."""

DEFAULT_MIN_FRACTION = 0.5
"""A class counts as missing/wrong in a cell only if at least this fraction of its
ground-truth pixels there are missed (find) or of its predicted pixels there are wrong
(remove). Why: "find the coat" about a coat that is already 90 % found would teach the
guide a hint that asks for nothing."""


@dataclass(frozen=True)
class Candidate:
    """One (operation, class) the simulated user could mention.

    ``gain`` is the number of pixels that would be fixed (summed over ``cells``);
    ``cells`` the row-major grid cells where the class is erroneous for ``op``.
    """

    op: str
    label: int
    gain: int
    cells: tuple[int, ...]


def grid_bounds(size: int, grid: int) -> list[tuple[int, int]]:
    """Start/stop of ``grid`` near-equal slices of ``size`` pixels (as ``np.array_split``)."""
    edges = np.linspace(0, size, grid + 1).round().astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(grid)]


def find_candidates(
    pred: np.ndarray,
    gt: np.ndarray,
    ops: Sequence[str] = OPERATIONS,
    grid: int = 3,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    min_fraction: float = DEFAULT_MIN_FRACTION,
    num_classes: int | None = None,
) -> list[Candidate]:
    """All erroneous (op, class) pairs of an HxW prediction against an HxW ground truth.

    ``gt`` uses 255 for void; void pixels are neither missed nor wrong. Returned in a
    deterministic order (op as in ``ops``, then class index).
    """
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f"pred and gt must be HxW of the same shape, got {pred.shape} and {gt.shape}")
    for op in ops:
        if op not in OPERATIONS:
            raise ValueError(f"unknown operation {op!r}; choose from {OPERATIONS}")
    pred = pred.astype(np.int64, copy=False)
    gt = gt.astype(np.int64, copy=False)
    valid = gt != VOID
    k = num_classes or int(max(pred.max(initial=0), np.where(valid, gt, 0).max(initial=0))) + 1
    h, w = gt.shape
    # gains[op][cell, class], computed with bincount per cell: fast enough to run per
    # training sample (a 160x160 map takes well under a millisecond per cell).
    gains = {op: np.zeros((grid * grid, k), dtype=np.int64) for op in ops}
    for r, (y0, y1) in enumerate(grid_bounds(h, grid)):
        for c, (x0, x1) in enumerate(grid_bounds(w, grid)):
            cell = r * grid + c
            p = pred[y0:y1, x0:x1]
            g = gt[y0:y1, x0:x1]
            v = valid[y0:y1, x0:x1]
            wrong = v & (p != g)
            if FIND in gains:
                gt_count = np.bincount(g[v], minlength=k)[:k]
                missed = np.bincount(g[wrong], minlength=k)[:k]
                ok = (missed >= min_pixels) & (missed >= min_fraction * np.maximum(gt_count, 1))
                gains[FIND][cell] = np.where(ok, missed, 0)
            if REMOVE in gains:
                # Only predictions on labelled pixels can be judged wrong.
                pred_count = np.bincount(p[v], minlength=k)[:k]
                false_pos = np.bincount(p[wrong], minlength=k)[:k]
                ok = (false_pos >= min_pixels) & (false_pos >= min_fraction * np.maximum(pred_count, 1))
                gains[REMOVE][cell] = np.where(ok, false_pos, 0)
    out: list[Candidate] = []
    for op in ops:
        table = gains[op]
        for label in np.flatnonzero(table.sum(axis=0)):
            cells = tuple(int(i) for i in np.flatnonzero(table[:, label]))
            out.append(Candidate(op, int(label), int(table[:, label].sum()), cells))
    return out


def sample_candidate(candidates: Sequence[Candidate], ops: Sequence[str], rng: np.random.Generator) -> Candidate | None:
    """Pick an operation uniformly among those with candidates, then a class with
    probability proportional to its gain (the paper's "potential improvement")."""
    available = [op for op in ops if any(c.op == op for c in candidates)]
    if not available:
        return None
    op = available[int(rng.integers(len(available)))] if len(available) > 1 else available[0]
    pool = [c for c in candidates if c.op == op]
    gains = np.array([c.gain for c in pool], dtype=np.float64)
    return pool[int(rng.choice(len(pool), p=gains / gains.sum()))]


def spatial_phrase(cells: Sequence[int], grid: int = 3, everywhere: float = 0.75) -> str:
    """Describe row-major grid ``cells`` in words.

    ``(0,)`` -> "on the top left", ``(1,)`` -> "on the top", ``(4,)`` -> "in the middle",
    ``(0, 3, 6)`` -> "on the left", ``(6, 7, 8)`` -> "on the bottom", ``(5, 8)`` ->
    "on the right"... Returns "" when the cells cover at least ``everywhere`` of the grid,
    or are scattered over the whole image (e.g. opposite corners): no place helps then.

    Each axis is judged separately: if the cells reach both ends of an axis it is left
    unspecified; otherwise the mean cell position picks the first, middle or last third.
    """
    cells = sorted(set(int(c) for c in cells))
    if not cells or len(cells) >= everywhere * grid * grid:
        return ""
    if any(c < 0 or c >= grid * grid for c in cells):
        raise ValueError(f"cells {cells} outside a {grid}x{grid} grid")

    def axis(positions: list[int]) -> str | None:
        if grid > 1 and min(positions) == 0 and max(positions) == grid - 1:
            return None  # spans the whole axis: says nothing about it
        mean = float(np.mean(positions)) / max(grid - 1, 1)
        return "low" if mean < 1 / 3 else "high" if mean > 2 / 3 else "mid"

    vertical = axis([c // grid for c in cells])
    horizontal = axis([c % grid for c in cells])
    v_word = {"low": "top", "high": "bottom"}.get(vertical or "")
    h_word = {"low": "left", "high": "right"}.get(horizontal or "")
    if v_word and h_word:
        return f"on the {v_word} {h_word}"
    if v_word or h_word:
        return f"on the {v_word or h_word}"
    if vertical == "mid" or horizontal == "mid":
        return "in the middle"
    return ""


def render_text(op: str, class_name: str, where: str, template: int, place: int = 0,
                book: Phrasebook = TRAINING) -> str:
    """Fill frame number ``template`` of ``op`` with place phrase number ``place`` (both modulo
    their count; place 0 is the canonical "on the top left") and tidy spaces."""
    options = book.frames(op)
    text = options[template % len(options)].format(
        c=class_name, a=article(class_name), w=place_phrase(book, where, place))
    return " ".join(text.split())


def render_hint(
    op: str,
    label: int,
    cells: Sequence[int],
    class_names: Sequence[str],
    rng: np.random.Generator,
    grid: int = 3,
    ablation: str = "none",
    book: Phrasebook = TRAINING,
) -> TextHint:
    """Put a chosen (op, class, cells) into words with a random frame and place phrase of ``book``.

    ``ablation`` (for "does the guide read the words?"):
    * ``"none"``        - the faithful hint;
    * ``"wrong-class"`` - the class word is swapped for another, uniformly drawn class
      (``label`` then names the class the text mentions);
    * ``"no-place"``    - the spatial phrase is dropped (``cells`` becomes empty).
    """
    if ablation not in ABLATIONS:
        raise ValueError(f"unknown ablation {ablation!r}; choose from {ABLATIONS}")
    # Draw the wording first so that the faithful and the ablated hints of one random
    # stream use the same frame.
    template = int(rng.integers(len(book.frames(op))))
    place = int(rng.integers(1 << 30)) if book.varied else 0  # PAPER: the random stream of the first guides
    cells = tuple(sorted(int(c) for c in cells))
    if ablation == "wrong-class":
        others = [i for i in range(len(class_names)) if i != label]
        label = others[int(rng.integers(len(others)))]
    if ablation == "no-place":
        cells = ()
    where = spatial_phrase(cells, grid)
    return TextHint(render_text(op, class_names[label], where, template, place, book), op, int(label), cells, grid)


def generate_hint(
    pred: np.ndarray,
    gt: np.ndarray,
    class_names: Sequence[str],
    rng: np.random.Generator,
    ops: Sequence[str] = OPERATIONS,
    grid: int = 3,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    min_fraction: float = DEFAULT_MIN_FRACTION,
    ablation: str = "none",
    book: Phrasebook = TRAINING,
) -> TextHint | None:
    """Simulate the user: a hint about one error of ``pred`` (HxW class indices)
    against ``gt`` (HxW, 255 = void), or ``None`` when nothing worth saying is wrong.

    ``class_names[i]`` is the word(s) used for class ``i``; ``book`` the phrasings
    (:data:`guide.text.templates.TRAINING`; the held-out ones only to measure).
    """
    candidates = find_candidates(pred, gt, ops, grid, min_pixels, min_fraction, num_classes=len(class_names))
    chosen = sample_candidate(candidates, ops, rng)
    if chosen is None:
        return None
    return render_hint(chosen.op, chosen.label, chosen.cells, class_names, rng, grid, ablation, book)


def hint_mask(hint: TextHint, shape: tuple[int, int]) -> np.ndarray:
    """HxW bool mask of the grid cells a hint refers to (all True when it names none)."""
    h, w = shape
    if not hint.cells:
        return np.ones(shape, dtype=bool)
    mask = np.zeros(shape, dtype=bool)
    rows, cols = grid_bounds(h, hint.grid), grid_bounds(w, hint.grid)
    for cell in hint.cells:
        (y0, y1), (x0, x1) = rows[cell // hint.grid], cols[cell % hint.grid]
        mask[y0:y1, x0:x1] = True
    return mask
