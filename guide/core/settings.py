"""One place for a session's settings: plain data, JSON round-trip (``to_dict`` / ``from_dict``).

``Settings`` gathers what steers a ``GuideSession`` / ``Conversation``: how it asks ("what is
here?"), how clicks are optimised (``backprop.BackpropSettings``, Eq. 4), how text hints are
composed, and the limits of one conversation. The defaults are the measured ones (README and
docs/results.md say where each was chosen). ``GuideSession(model, settings=...)`` and
``Conversation(model, settings=...)`` take it whole; their older keyword arguments still work and
override its fields. Every evaluation JSON records ``"settings": settings.to_dict()``.

A leaf module: it imports only ``backprop`` (which imports only ``block``), so any layer may use it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from guide.core.backprop import BackpropSettings

# ask() looks for the centre of the most uncertain (2*ASK_REGION+1)^2 area, not the single
# most uncertain pixel (the paper's rule, ASK_REGION = 0): the answer then teaches more.
ASK_REGION = 3
# ask() skips network pixels within ASK_SPREAD (Chebyshev) of earlier questions: chosen on val with
# the click learning rate 0.1 (docs/results.md, "Twenty questions"; 0 asks anywhere, as the paper).
ASK_SPREAD = 3
# How several text turns combine (guide/text/compose.py): "delta" (measured best, docs/results.md,
# "Text hints") or "stack" (the paper's Table 5, docs/results.md).
TEXT_COMPOSE_MODES = ("stack", "delta")
TEXT_COMPOSE = "delta"
# A text turn's change to the logits is kept inside the place the reader read, widened by this share of
# the image on each side ("delta" composition; see text/compose.place_mask). Chosen on val (docs/results.md, "Text hints"):
# it stops hints from leaking outside their place, which added up over several hints. None: no mask (the paper).
TEXT_PLACE_MASK: dict[str, float] | None = {"find": 0.25, "remove": 0.25}
# For these operations a text turn about a class changes only the pixels that class labels before
# or after it, in the logits the earlier text turns give ("delta" composition): a hint about coats
# has nothing to say about other pixels. Chosen on val (docs/results.md, "Text hints"): the gain grows as
# hints add up. (): the paper.
TEXT_CLASS_SCOPE: tuple[str, ...] = ("find", "remove")
MAX_TURNS = 50  # session turns one conversation may hold (each stores its guiding parameters, ~130 KB in memory)
OPERATIONS = ("find", "remove")  # the text operations (hints.FIND, hints.REMOVE)


@dataclass(frozen=True)
class AskSettings:
    """Where ``ask()`` asks "what is here?" (guide/core/questions.py)."""

    spread: int = ASK_SPREAD  # skip network pixels within this Chebyshev distance of earlier questions
    region: int = ASK_REGION  # average the margin over a (2*region+1)^2 window (0: the paper's single pixel)


@dataclass(frozen=True)
class TextSettings:
    """How text turns guide and combine (guide/text/compose.py)."""

    compose: str = TEXT_COMPOSE  # one of TEXT_COMPOSE_MODES
    # Per operation: keep a text turn's change inside the place the reader read, widened by this
    # fraction of the image on each side ("delta" only). None or {}: anywhere (the paper).
    place_mask: dict[str, float] | None = field(default_factory=lambda: dict(TEXT_PLACE_MASK or {}))
    # Operations whose turns change only the pixels the named class labels before or after ("delta" only).
    class_scope: tuple[str, ...] = TEXT_CLASS_SCOPE
    reword: bool = True  # the guide reads the reader's canonical sentence (False: the user's words, the paper)
    words_alone: bool = False  # True: a hint naming no known class is read by its words alone (experiments)
    keep_backfiring: bool = False  # True keeps a text turn that moves its class the wrong way

    def __post_init__(self) -> None:
        if self.compose not in TEXT_COMPOSE_MODES:
            raise ValueError(f"unknown text_compose {self.compose!r}; choose one of {TEXT_COMPOSE_MODES}")
        if self.place_mask is not None and not set(self.place_mask) <= set(OPERATIONS):
            raise ValueError(f"text_place_mask maps operations {OPERATIONS} to margins, not {self.place_mask!r}")
        if isinstance(self.class_scope, str) or not set(self.class_scope or ()) <= set(OPERATIONS):
            raise ValueError(f"text_class_scope takes a tuple of operations {OPERATIONS}, not {self.class_scope!r}")
        object.__setattr__(self, "class_scope", tuple(self.class_scope or ()))
        object.__setattr__(self, "place_mask", dict(self.place_mask or {}))


@dataclass(frozen=True)
class Limits:
    """Bounds of one conversation."""

    max_turns: int = MAX_TURNS  # session turns one conversation may hold


@dataclass(frozen=True)
class Settings:
    """Everything that steers a session, in one plain-data object."""

    asking: AskSettings = field(default_factory=AskSettings)
    clicks: BackpropSettings = field(default_factory=BackpropSettings)
    text: TextSettings = field(default_factory=TextSettings)
    limits: Limits = field(default_factory=Limits)
    # Click steps evaluate the tail at the hinted pixels only (True) or densely (False);
    # None: the point tail on a CPU, the dense tail on a GPU (docs/speed.md).
    fast_clicks: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (tuples as lists)."""
        return json_ready(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Settings:
        """The inverse of ``to_dict``; missing groups and fields keep their defaults, so a partial
        dict (a model folder's overrides) works. An unknown name raises ValueError naming it."""
        data = dict(data or {})
        parts: dict[str, Any] = {}
        for name, kind in (("asking", AskSettings), ("clicks", BackpropSettings), ("text", TextSettings), ("limits", Limits)):
            if name in data:
                parts[name] = _group(kind, data.pop(name), name)
        if "fast_clicks" in data:
            parts["fast_clicks"] = data.pop("fast_clicks")
        if data:
            raise ValueError(f"unknown settings {sorted(data)}; known: asking, clicks, text, limits, fast_clicks")
        return cls(**parts)

    def replace(self, **groups: Any) -> Settings:
        return dataclasses.replace(self, **groups)


def _group(kind: type, values: Any, name: str) -> Any:
    if not isinstance(values, dict):
        raise ValueError(f"settings {name!r} must be a dict of fields, not {values!r}")
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {name} settings {unknown}; known: {sorted(known)}")
    values = dict(values)
    if "class_scope" in values and values["class_scope"] is not None:
        values["class_scope"] = tuple(values["class_scope"])
    return kind(**values)


def json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value
