"""How a conversation's text turns change one image's prediction (paper §3.3, over several turns).

A text turn stores plain data (``turn_params``): the guiding parameters the text guide produced,
plus, when the settings ask for it, the place the reader read (``"place"``, ``"place_margin"``)
and the class it names (``"scope"``). ``TextComposer`` turns a list of such turns into what the
session's click block and tail need, in one of two modes (``settings.TEXT_COMPOSE_MODES``):

* ``"stack"``: each turn guides the previous one's output activation (the paper's Table 5);
* ``"delta"`` (the default, measured best: docs/results.md, "Text hints"): each turn guides the
  head's activation on its own, and the changes each makes to the logits add up. A turn's change
  is kept inside its place (``place_mask``) and, class-scoped, to the pixels its class labels
  before or after it, given the earlier turns.

What earlier turns contribute is cached (``TextCache``), so a new text turn costs one tail pass
whatever the length of the conversation. Tensors here are 1xKxhxw logits or 1xCxhxw activations
at network resolution; masks are (row, col) = (y, x).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import Tensor

from guide.core.block import GuideParams
from guide.core.settings import TEXT_COMPOSE_MODES

if TYPE_CHECKING:  # only type hints
    from guide.core.guided import GuidedModel
    from guide.core.split import Features
    from guide.text.reader import Reading


def turn_params(params: dict[str, Any], reading: Reading, place_margins: dict[str, float],
                class_scope: tuple[str, ...]) -> dict[str, Any]:
    """What a text turn stores: the guide's parameters (``GuideParams.to_lists()``), plus the place
    read and its margin when ``reading.op`` is in ``place_margins`` (operation -> margin, a fraction
    of the image: the session's ``text_place_mask``) and the hint names a place, plus the class index when ``reading.op`` is in
    ``class_scope`` and the hint names a class."""
    stored = dict(params)
    if reading.op in place_margins and reading.place:
        stored["place"], stored["place_margin"] = reading.place, float(place_margins[reading.op])
    if reading.op in class_scope and reading.label is not None:
        stored["scope"] = int(reading.label)
    return stored


def place_mask(place: str, margin: float, size: tuple[int, int], device: torch.device | str = "cpu") -> Tensor:
    """HxW float mask of a reader's place phrase (``understand.find_place``: "on the top left",
    "on the bottom", "in the middle"...): 1 in the named thirds of each axis ("in the middle":
    the middle row band or the middle column band), widened by ``margin`` of the size on each
    side, 0 elsewhere; all ones for "" or a phrase it does not know."""
    h, w = int(size[0]), int(size[1])
    words = set(place.split())

    def band(n: int, third: int) -> Tensor:
        lo, hi = (third / 3 - margin) * n, ((third + 1) / 3 + margin) * n
        centre = torch.arange(n, device=device, dtype=torch.float32) + 0.5
        return ((centre >= lo) & (centre < hi)).float()

    ones_h, ones_w = torch.ones(h, device=device), torch.ones(w, device=device)
    rows = band(h, 0) if "top" in words else band(h, 2) if "bottom" in words else None
    cols = band(w, 0) if "left" in words else band(w, 2) if "right" in words else None
    if rows is None and cols is None:
        if "middle" in words:
            return torch.maximum(band(h, 1)[:, None] * ones_w[None], ones_h[:, None] * band(w, 1)[None])
        return ones_h[:, None] * ones_w[None]
    return (ones_h if rows is None else rows)[:, None] * (ones_w if cols is None else cols)[None]


class TextComposer:
    """What one image's text turns do, given its head features; one per image (``set_image``).

    ``model`` supplies the tail (``model.segmenter.tail``) and the text guide's block
    (``model.text_guide.block``); ``features`` are the head's output for the image. ``base``: the
    activation (1xCxhxw) text turns start from when it is not the head's own ``features.guided``
    (e.g. one already guided by something that is not a turn); make a new composer when it changes.
    """

    def __init__(self, model: GuidedModel, features: Features, base: Tensor | None = None) -> None:
        self.model = model
        self.features = features
        self.base = features.guided if base is None else base
        self.cache = TextCache()

    def plain(self) -> Tensor:
        """Logits (1xKxhxw) of ``base`` with no text turn, computed once per composer."""
        if self.cache.plain is None:
            guided = None if self.base is self.features.guided else self.base
            self.cache.plain = self.model.segmenter.tail(self.features, guided)
        return self.cache.plain

    def guided(self, texts: list[dict[str, Any]], mode: str) -> tuple[Tensor, Tensor | None]:
        """(activation for the click block, logit offset or None) for the text turns' params
        ``texts`` in order (``turn_params``), composed in ``mode`` ("stack" or "delta")."""
        a = self.base
        if not texts:
            return a, None
        tg = self.model.text_guide
        assert tg is not None
        if mode == "stack":
            return self.cache.fold(texts, a, lambda acc, p: tg.block(acc, GuideParams.from_lists(p, a.device))), None
        if mode == "delta":
            plain = self.plain()

            def delta(p: dict[str, Any], earlier: Tensor | None, scope: Tensor | None) -> tuple[Tensor, Tensor | None]:
                change = self.model.segmenter.tail(self.features, tg.block(a, GuideParams.from_lists(p, a.device))) - plain
                if "place" in p:
                    change = change * place_mask(p["place"], p["place_margin"], change.shape[2:], change.device)
                if "scope" in p:  # only where the named class is, before or after this turn, given the earlier text turns
                    if scope is None:
                        assert earlier is not None
                        now = plain + earlier
                        scope = (now.argmax(1, keepdim=True) == p["scope"]) | ((now + change).argmax(1, keepdim=True) == p["scope"])
                    change = change * scope
                return change, scope

            return a, self.cache.sum(texts, delta)
        raise ValueError(f"unknown text_compose {mode!r}; choose one of {TEXT_COMPOSE_MODES}")


class TextCache:
    """What earlier text turns contribute, so a text turn's cost does not grow with the conversation.

    Keyed by the text turns' parameters themselves (plain data compared by value), so it
    stays right through undo, set_state and take-backs without being told: text turns that
    extend the cached ones reuse the cached result and compute only the new turns; dropping
    the last one returns the kept result before it; in "delta" mode dropping more subtracts
    their changes (a class-scoped turn's with the mask it had, kept here: one bool per logit
    pixel); anything else is recomputed. Tensors only, never part of the session's state; one
    per image.
    """

    def __init__(self) -> None:
        self.plain: Tensor | None = None  # unguided logits 1xKxhxw
        self.mode = ""
        self.keys: list[dict[str, Any]] = []  # the text turns' params that ``value`` covers, in order
        self.notes: list[Any] = []  # per key, what its step noted for undoing it ("delta": its class-scope mask)
        self.value: Tensor | None = None
        self.previous: Tensor | None = None  # the value for keys[:-1]

    def _update(self, mode: str, texts: list[dict[str, Any]], start: Tensor, step: Callable,
                unstep: Callable | None = None) -> Tensor:
        """``step(acc, t) -> (acc', note)``; ``unstep(acc, t, note)``: acc before ``t`` (None: recompute instead)."""
        n = len(self.keys)
        if self.value is None or mode != self.mode:
            self.mode, self.keys, self.notes, self.value, self.previous = mode, [], [], start, None
            n = 0
        if texts == self.keys:
            return self.value
        if texts == self.keys[:-1] and self.previous is not None:  # the last text turn undone
            self.keys, self.notes, self.value, self.previous = self.keys[:-1], self.notes[:-1], self.previous, None
            return self.value
        if len(texts) < n and unstep is not None and texts == self.keys[: len(texts)]:
            for t, note in zip(reversed(self.keys[len(texts):]), reversed(self.notes[len(texts):])):
                self.value = unstep(self.value, t, note)
            self.keys, self.notes, self.previous = self.keys[: len(texts)], self.notes[: len(texts)], None
            return self.value
        if not (len(texts) > n and texts[:n] == self.keys):  # not an extension: start over
            self.keys, self.notes, self.value, self.previous, n = [], [], start, None, 0
        for t in texts[n:]:
            self.previous = self.value
            self.value, note = step(self.value, t)
            self.notes.append(note)
        self.keys = list(texts)
        return self.value

    def sum(self, texts: list[dict[str, Any]], delta: Callable) -> Tensor:
        """Sum of the text turns' changes in order ("delta" mode's logit offset):
        ``delta(params, earlier, scope) -> (change, scope)``, ``earlier`` the sum over the turns
        before, ``scope`` a class-scoped turn's mask (computed from ``earlier`` when None, kept
        here: dropping the turn later subtracts its change with the same mask, one tail pass)."""
        assert self.plain is not None

        def step(acc: Tensor, t: dict[str, Any]) -> tuple[Tensor, Any]:
            change, scope = delta(t, acc, None)
            return acc + change, scope

        return self._update("delta", texts, torch.zeros_like(self.plain), step, lambda acc, t, scope: acc - delta(t, None, scope)[0])

    def fold(self, texts: list[dict[str, Any]], start: Tensor, step: Callable) -> Tensor:
        """``step`` applied over the text turns in order from ``start`` ("stack" mode)."""
        return self._update("stack", texts, start, lambda acc, t: (step(acc, t), None))
