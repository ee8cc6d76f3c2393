"""Hint objects: what a user (or the simulated user) tells the guide.

The app, the 20-questions oracle and the text-hint generator all emit these same
objects, so evaluation replays exactly the path the UI takes.

Coordinates are (row, col) = (y, x) in pixels of the image given to
``GuideSession.set_image`` (not of the resized network input).
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIND = "find"
REMOVE = "remove"
OPERATIONS = (FIND, REMOVE)
# --ops of train-guide and evaluate text: which operations a run draws hints of
OPS_CHOICES = {"find": (FIND,), "remove": (REMOVE,), "both": OPERATIONS}


@dataclass(frozen=True)
class PixelHint:
    """Sparse labelled pixels: clicks, scribbles or answers to "what is here?".

    ``points`` is a tuple of ``(y, x, label)`` with ``label`` a class index.
    Several classes may appear in one hint.
    """

    points: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a PixelHint needs at least one labelled pixel")


@dataclass(frozen=True)
class TextHint:
    """A hint in English, e.g. "there is a coat on the top left".

    ``text`` is what the guide reads. The structured fields say what the hint
    means when it is known (the hint generator fills them; a typed hint may
    leave them empty): ``op`` is ``"find"`` or ``"remove"``, ``label`` the class
    index, ``cells`` the row-major indices of the N x N grid cells it refers to.
    """

    text: str
    op: str | None = None
    label: int | None = None
    cells: tuple[int, ...] = field(default_factory=tuple)
    grid: int = 3


Hint = PixelHint | TextHint
