"""GuideSession: one image, a conversation of hints, undo (like SAM's set_image -> predict).

``set_image`` runs the head once and caches its features; every turn after that
runs only the guiding block and the tail. The conversation is small plain data
(``get_state`` / ``set_state``), so an app can keep one per browser tab and undo
is a pop from its list of turns.

How turns compose: by default (``TEXT_COMPOSE = "delta"``) each text turn guides the
head's activation on its own and the changes the turns make to the logits add up
(``"stack"``, each on top of the previous one as in the paper's Table 5, falls
after the first hint: docs/results.md, "Text hints"); guide/text/compose.py composes
them. A text turn that moves the class it names the wrong way is taken back
(``TurnResult.outcome``). The session returns data (``TurnResult``); the conversation
(guide/dialogue/conversation.py) words it. Pixel hints (clicks, scribbles,
answers to "what is here?") accumulate over turns; one set of guiding parameters is
optimised by backprop for all of them, applied last, warm-started from the previous turn's.
Each turn records the click parameters in effect after it, so the state holds its
whole history and undo needs nothing else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from guide.core.backprop import BackpropSettings, guide_by_backprop
from guide.core.block import GuideParams
from guide.core.guided import GuidedModel, image_to_network, rgb_image
from guide.core.hints import FIND, REMOVE, Hint, PixelHint, TextHint
from guide.core.pointtail import MAX_FRACTION, click_forward
from guide.core.questions import most_uncertain_pixel

# The defaults live in guide/core/settings.py (one place); the names stay importable from here.
from guide.core.settings import (  # noqa: F401
    ASK_REGION,
    ASK_SPREAD,
    TEXT_CLASS_SCOPE,
    TEXT_COMPOSE,
    TEXT_COMPOSE_MODES,
    TEXT_PLACE_MASK,
    AskSettings,
    Settings,
    TextSettings,
)
from guide.core.split import Features
from guide.dialogue.carry import CarriedGuide
from guide.dialogue.replies import GUIDED, NOTHING_TO_REMOVE, TAKEN_BACK, turn_reply
from guide.text.compose import TextComposer, turn_params

_GIVEN = object()  # a keyword argument left out (None means something for some of them)


class SessionOrderError(RuntimeError):
    """A session method was called before what it needs (the message names the fix)."""


@dataclass
class TurnResult:
    """What one turn did, as data; its words come from guide/dialogue/replies.py (the app's conversation
    says them; ``reply`` gives them to a script that drives a bare session)."""

    kind: str  # "pixels" or "text", as the turn in the state
    gained: dict[str, int] = field(default_factory=dict)  # class name -> pixels gained (negative: lost)
    outcome: str = GUIDED  # GUIDED, or for text turns NOTHING_TO_REMOVE / TAKEN_BACK (then no turn was added)
    moved: int = 0  # TAKEN_BACK: pixels the named class moved the wrong way (signed)
    points: int = 0  # pixel turns: labelled pixels used (those inside the image)
    classes: list[str] = field(default_factory=list)  # pixel turns: the hinted classes' names, sorted
    words: list[str] = field(default_factory=list)  # text turns: the words the tokenizer knew
    ignored_words: list[str] = field(default_factory=list)  # text turns: the words it did not
    hint: Hint | None = None
    steps: int = 0  # backprop steps (0 for text turns)
    satisfied: bool = True  # pixel turns: every hinted pixel shows its label after the steps
    reading: Any = None  # text turns: the reader's understand.Reading (operation, class, place, confidence)
    names: tuple[str, ...] = ()  # the model's class names (what ``reading.label`` indexes), for ``reply``

    @property
    def reply(self) -> str:
        """The result in the app's words (``replies.turn_reply``), e.g. "Guided by 3 labelled pixels (coat)
        in 12 steps."; kept for scripts written when the session worded its turns itself."""
        return turn_reply(self, self.names)


def frozen(value: Any) -> Any:
    """Lists (nested) as tuples, dicts' values likewise: a turn's numbers are never changed once
    stored, and copies of the state share them (``state_copy``), so copying a long conversation
    costs its turns, not their thousands of floats (a text turn's parameters)."""
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple, dict)) for v in value):
            return tuple(frozen(v) for v in value)
        return tuple(value)  # numbers (a row of parameters): one C-level copy
    if isinstance(value, dict):
        return {k: frozen(v) for k, v in value.items()}
    return value


def state_copy(value: Any) -> Any:
    """A copy of a session state (or part) that shares its tuples: immutable, so safe to share."""
    if isinstance(value, dict):
        return {k: state_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [state_copy(v) for v in value]
    return value


def empty_state() -> dict[str, Any]:
    """``turns``: list of ``{"kind": "pixels"|"text", ..., "click_params": tuples|None}`` (numbers in
    tuples, ``frozen``; JSON gives lists back, which ``set_state`` takes);
    ``asked``: network pixels (row, col) already asked about."""
    return {"turns": [], "asked": []}


# What a restored state may hold (set_state): a state is plain data a browser tab, a data-set record or a
# hand-made zip can carry, so each part is bounded before anything is computed from it.
MAX_STATE_TURNS = 1000  # turns (the conversation keeps far fewer: guide/core/settings.py limits.max_turns)
MAX_TURN_POINTS = 10_000  # labelled pixels of one pixel turn (the app sends at most 400)
MAX_PARAM_VALUES = 16_384  # numbers in one parameter row (alpha, beta: rows / columns; gamma: channels)
MAX_TURN_TEXT = 2_000  # characters of a text turn's text


def check_state(state: Any, image_size: tuple[int, int], num_classes: int) -> None:
    """Raise ValueError (saying what is wrong) unless ``state`` has the shape of ``get_state()`` output
    for an HxW image (``image_size``) and ``num_classes`` classes, within the bounds above. Shapes the
    guiding block checks itself (a row of the wrong length) surface at the next prediction."""
    if not isinstance(state, dict) or not isinstance(state.get("turns"), (list, tuple)):
        raise ValueError("not a GuideSession state: expected a dict from get_state()")
    turns, asked = state["turns"], state.get("asked", [])
    if len(turns) > MAX_STATE_TURNS:
        raise ValueError(f"a session state holds at most {MAX_STATE_TURNS} turns, this one {len(turns)}")
    H, W = image_size

    def ints(values: Any, n: int, what: str) -> None:
        if not (isinstance(values, (list, tuple)) and len(values) == n and all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
            raise ValueError(f"{what}: expected {n} integers")

    def params(p: Any, what: str) -> None:
        if p is None:
            return
        if not isinstance(p, dict) or not {"alpha", "beta", "gamma_s", "gamma_b"} <= set(p) \
                or not set(p) <= {"alpha", "beta", "gamma_s", "gamma_b", "place", "place_margin", "scope"}:
            raise ValueError(f"{what}: expected guide parameters (alpha, beta, gamma_s, gamma_b)")
        for k in ("alpha", "beta", "gamma_s", "gamma_b"):
            rows = p[k]
            ok = isinstance(rows, (list, tuple)) and len(rows) == 1 and isinstance(rows[0], (list, tuple)) and len(rows[0]) <= MAX_PARAM_VALUES
            try:  # one C-level pass over the numbers: a state is checked at every restore
                ok = ok and bool(np.isfinite(np.asarray(rows[0], dtype=np.float64)).all())
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{what}: {k} must be one row of at most {MAX_PARAM_VALUES:,} finite numbers")

    if not isinstance(state, dict) or not set(state) <= {"turns", "asked"}:
        raise ValueError("a GuideSession state holds turns and asked pixels only")
    for i, t in enumerate(turns):
        what = f"turn {i + 1}"
        if not isinstance(t, dict) or t.get("kind") not in ("pixels", "text") or not set(t) <= {"kind", "points", "click_params", "text", "params"}:
            raise ValueError(f"{what}: expected a pixels or text turn")
        params(t.get("click_params"), what)
        if t["kind"] == "pixels":
            points = t.get("points")
            if not isinstance(points, (list, tuple)) or not 0 < len(points) <= MAX_TURN_POINTS:
                raise ValueError(f"{what}: expected 1 to {MAX_TURN_POINTS:,} labelled pixels")
            for pt in points:
                ints(pt, 3, what)
                if not (0 <= pt[0] < H and 0 <= pt[1] < W and 0 <= pt[2] < num_classes):
                    raise ValueError(f"{what}: the labelled pixel {list(pt)} is not in the {H}x{W} image or its class not a class")
        else:
            if not isinstance(t.get("text"), str) or len(t["text"]) > MAX_TURN_TEXT:
                raise ValueError(f"{what}: expected a text of at most {MAX_TURN_TEXT:,} characters")
            if not isinstance(t.get("params"), dict):
                raise ValueError(f"{what}: a text turn keeps the guide parameters it was read as")
            params(t["params"], what)
            extra = t["params"]
            if "place" in extra and not (isinstance(extra["place"], str) and len(extra["place"]) <= 100
                                         and isinstance(extra.get("place_margin"), (int, float)) and 0 <= extra["place_margin"] <= 1):
                raise ValueError(f"{what}: a place is a short phrase with a margin between 0 and 1")
            if "scope" in extra and not (isinstance(extra["scope"], int) and 0 <= extra["scope"] < num_classes):
                raise ValueError(f"{what}: its class scope is not a class")
    if not isinstance(asked, (list, tuple)) or len(asked) > MAX_TURN_POINTS:
        raise ValueError(f"asked: expected at most {MAX_TURN_POINTS:,} network pixels")
    for a in asked:
        ints(a, 2, "asked")


CLICKS_FORMAT = "add_clicks takes a list of (row, col, class index) integer triples in image pixels, e.g. [(40, 30, 2)]"


def _click_points(points: Any) -> list[tuple[int, int, int]]:
    """``add_clicks``' points as int triples; ValueError naming the format for anything else (a
    class name, a JSON string, a pair)."""
    if isinstance(points, (str, bytes)):
        raise ValueError(f"{CLICKS_FORMAT}; got a string {points[:40]!r}")
    out = []
    for p in points:
        if isinstance(p, (str, bytes)) or not hasattr(p, "__len__") or len(p) != 3:
            raise ValueError(f"{CLICKS_FORMAT}; got {p!r:.40}")
        if isinstance(p[2], str) and not p[2].strip().lstrip("-").isdigit():  # "3" still reads as before
            raise ValueError(f"{CLICKS_FORMAT}; got the class name {p[2][:40]!r}: give its index "
                             f"(model.classes.index(name)), or use Conversation.guide_points, which reads names")
        try:
            out.append((int(p[0]), int(p[1]), int(p[2])))
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{CLICKS_FORMAT}; got {p!r:.40}") from None
    return out


class GuideSession:
    """Per-image guiding state for one user. Not thread-safe: one per conversation."""

    def __init__(
        self,
        model: GuidedModel,
        backprop: BackpropSettings | None = None,
        ask_spread: Any = _GIVEN,
        ask_region: Any = _GIVEN,
        text_compose: Any = _GIVEN,
        keep_backfiring_text: Any = _GIVEN,
        fast_clicks: Any = _GIVEN,
        reword_hints: Any = _GIVEN,
        text_place_mask: Any = _GIVEN,
        text_class_scope: Any = _GIVEN,
        text_words_alone: Any = _GIVEN,
        settings: Settings | None = None,
    ) -> None:
        """``settings`` (guide/core/settings.py; default: the model folder's, ``model.config.settings``, else
        ``Settings()``) says everything; each keyword
        argument given overrides its field (``backprop``: ``settings.clicks``; ``ask_spread`` /
        ``ask_region``: ``settings.asking``; ``text_*``, ``reword_hints``, ``keep_backfiring_text``:
        ``settings.text``; ``fast_clicks``). ``self.settings`` holds the result."""
        self.model = model
        settings = settings if settings is not None else Settings.from_dict(model.config.settings)
        ask = {k: v for k, v in (("spread", ask_spread), ("region", ask_region)) if v is not _GIVEN}
        text = {k: v for k, v in (("compose", text_compose), ("keep_backfiring", keep_backfiring_text),
                                  ("reword", reword_hints), ("place_mask", text_place_mask),
                                  ("class_scope", text_class_scope), ("words_alone", text_words_alone)) if v is not _GIVEN}
        settings = dataclasses.replace(
            settings,
            clicks=backprop if backprop is not None else settings.clicks,
            asking=dataclasses.replace(settings.asking, **ask),
            text=dataclasses.replace(settings.text, **text),  # checks the text fields (TextSettings.__post_init__)
            fast_clicks=settings.fast_clicks if fast_clicks is _GIVEN else fast_clicks,
        )
        self.settings = settings
        t = settings.text
        # A hint naming no class the model knows ("there is a giraffe", "asdf") is refused with
        # understand.NoClassError (the message the app's Conversation shows) and changes nothing;
        # True: the guide reads such a hint's words alone, as the paper's guide did (experiments only).
        self.text_words_alone = bool(t.words_alone)
        # Per operation: keep a text turn's change to the logits inside the place the reader read
        # ("on the top left": the top and left thirds), widened by this fraction of the image on
        # each side ("delta" composition only; a hint with no place is not masked). {}:
        # the change goes wherever the guide puts it (the paper). Default: TEXT_PLACE_MASK.
        self.text_place_mask = dict(t.place_mask or {})
        # Operations whose text turns change only the pixels the named class labels before or
        # after the turn, given the earlier text turns ("delta" composition only). (): anywhere (the paper).
        self.text_class_scope = tuple(t.class_scope or ())
        # True: the text guide reads a hint as the reader understood it (operation, class, place
        # reworded into one canonical sentence, guide/text/reader.py), so a wording the guide
        # never saw does not matter; False: it reads the user's own words (the paper).
        self.reword_hints = t.reword
        # A text turn that moves the class it names the wrong way (a "remove" that grows it,
        # a "find" that shrinks it) is taken back and the reply says so; True keeps such turns.
        self.keep_backfiring_text = t.keep_backfiring
        self.backprop = settings.clicks
        self.ask_spread = settings.asking.spread  # see ask()
        self.ask_region = settings.asking.region  # see questions.most_uncertain_pixel
        self.text_compose = t.compose  # how text turns combine (guide/text/compose.py)
        # Click steps evaluate the tail at the hinted pixels only (guide/core/pointtail.py); False
        # runs the dense tail at every step (the reference; same parameters to float rounding).
        # Default (None): the point tail on the CPU, where it is 10-100x cheaper; the dense tail on
        # a GPU, where a step is bound by kernel launches and the point tail's many small
        # operations measured 0.4-1.2x the dense turn (docs/speed.md; python -m guide bench).
        fast = settings.fast_clicks
        self.fast_clicks = model.device.type == "cpu" if fast is None else fast
        self._features: Features | None = None
        self._composer: TextComposer | None = None  # what text turns do to this image (guide/text/compose.py)
        self._image_size: tuple[int, int] | None = None
        self._state: dict[str, Any] = empty_state()
        self._logits: Tensor | None = None  # 1xKxhxw at network resolution, for the current state
        # A guide carried over from the batch's finished images (guide/dialogue/carry.py; set_carry), or None.
        # It is a setting of the session, not part of the conversation's state: undo never moves it.
        self.carry: CarriedGuide | None = None
        self._base: Tensor | None = None  # the head's activation under the carried guide (cached per image)

    # ------------------------------------------------------------------ image

    @torch.no_grad()
    def set_image(self, image: np.ndarray | Any) -> None:
        """Start a conversation about ``image``: an HxWx3 uint8 RGB array, a PIL image or an image
        path (``str`` / ``pathlib.Path``), converted to RGB (``guide.core.guided.rgb_image``; TypeError
        or ValueError for anything else, before anything changes). Runs the head once."""
        image = rgb_image(image, "GuideSession.set_image")
        x = self.model.preprocess(image)
        self._features = self.model.segmenter.head(x)
        self._image_size = (int(image.shape[0]), int(image.shape[1]))
        self._base = None
        self._composer = TextComposer(self.model, self._features, self._carried())
        self.reset()

    def set_carry(self, carry: CarriedGuide | dict[str, Any] | None) -> None:
        """Start every prediction from ``carry`` (guide/dialogue/carry.py: a CarriedGuide or its ``to_dict``;
        None: the unguided network). Meant before the image's first turn (the app and the
        simulated annotators set it with the image); turns already made keep the click parameters
        they were fitted with. A carry for another model raises ValueError and changes nothing."""
        if carry is not None:
            carry = CarriedGuide.from_dict(carry.to_dict() if isinstance(carry, CarriedGuide) else carry,
                                           self.model.block.guided_channels, self.model.num_classes)
            carry = None if carry.is_zero else carry
        if carry == self.carry:
            return
        self.carry, self._base, self._logits = carry, None, None
        if self._features is not None:  # text turns start from the new carried activation
            with torch.no_grad():
                self._composer = TextComposer(self.model, self._features, self._carried())

    @property
    def features(self) -> Features:
        """The head's features of the image (unguided; what a carried guide learns from)."""
        self._require_image("features")
        assert self._features is not None
        return self._features

    def _carried(self) -> Tensor:
        """The activation every turn starts from: the head's, under the carried guide if any (1xCxhxw)."""
        assert self._features is not None
        if self.carry is None:
            return self._features.guided
        if self._base is None:
            a = self._features.guided
            self._base = self.model.block(a, self.carry.params(self.model.block, a.device))
        return self._base

    def _carry_bias(self) -> Tensor | None:
        return None if self.carry is None else self.carry.bias(self._features.guided.device)

    @property
    def has_image(self) -> bool:
        return self._features is not None

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of the image given to set_image."""
        self._require_image("image_size")
        assert self._image_size is not None
        return self._image_size

    @property
    def network_size(self) -> tuple[int, int]:
        """(h, w) of the network input and logits."""
        self._require_image("network_size")
        assert self._features is not None
        return self._features.input_size

    def _require_image(self, what: str) -> None:
        if self._features is None:
            raise SessionOrderError(f"call set_image(image) before {what}()")

    # ------------------------------------------------------------------ state

    def get_state(self) -> dict[str, Any]:
        """The conversation as plain data (dicts, lists, tuples, numbers, strings; JSON-able); a copy
        that shares only the turns' tuples (immutable), so changing it never changes the session."""
        return state_copy(self._state)

    def set_state(self, state: dict[str, Any], checked: bool = False) -> None:
        """Restore a conversation from ``get_state`` (for the image already set), after :func:`check_state`
        unless ``checked`` (the caller ran it on this state: ``Conversation.set_state`` checks the whole)."""
        self._require_image("set_state")
        if state == self._state:  # the state it already holds (an app reopening a tab): keep the cached logits
            return
        if not checked:
            check_state(state, self.image_size, self.model.num_classes)
        state = state_copy(state)  # turns as stored by JSON (lists of numbers) become tuples, then compare again
        state["turns"] = [{k: frozen(v) for k, v in t.items()} for t in state["turns"]]
        state.setdefault("asked", [])
        if state == self._state:
            return
        self._state, self._logits = state, None

    @property
    def turns(self) -> list[dict[str, Any]]:
        return state_copy(self._state["turns"])

    @property
    def turn_count(self) -> int:
        return len(self._state["turns"])

    def reset(self) -> None:
        """Back to the unguided prediction (keeps the image)."""
        self._state, self._logits = empty_state(), None

    def undo(self) -> bool:
        """Step back one turn; returns False when there is nothing to undo."""
        self._require_image("undo")
        if not self._state["turns"]:
            return False
        self._state["turns"].pop()
        self._logits = None
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._state["turns"])

    def _click_params(self) -> dict[str, Any] | None:
        turns = self._state["turns"]
        return turns[-1]["click_params"] if turns else None

    # ------------------------------------------------------------------ prediction

    def _text_guided(self) -> tuple[Tensor, Tensor | None]:
        """What text turns do: (activation for the click block, logit offset or None), composed
        as ``text_compose`` says (guide/text/compose.py), from the carried activation (``_carried``)."""
        assert self._composer is not None
        texts = [t["params"] for t in self._state["turns"] if t["kind"] == "text"]
        return self._composer.guided(texts, self.text_compose)

    def _plain_logits(self) -> Tensor:
        """Unguided logits (1xKxhxw; under the carried guide's activation, its class bias not added),
        computed once per image."""
        assert self._composer is not None
        return self._composer.plain()

    @torch.no_grad()
    def logits(self) -> Tensor:
        """Guided logits for the current state: 1xKxhxw at network resolution."""
        self._require_image("logits")
        if self._logits is None:
            assert self._features is not None
            a, offset = self._text_guided()
            click_params = self._click_params()
            if click_params is not None:
                logits = self.model.segmenter.tail(self._features, self.model.block(a, GuideParams.from_lists(click_params, a.device)))
            elif a is self._composer.base:
                logits = self._plain_logits()  # no turn, or text turns in "delta" mode only: no tail pass needed
            else:
                logits = self.model.segmenter.tail(self._features, a)
            logits = logits if offset is None else logits + offset
            bias = self._carry_bias()
            self._logits = logits if bias is None else logits + bias
        return self._logits

    def probabilities(self) -> np.ndarray:
        """Class probabilities KxHxW (float32) at image resolution."""
        logits = F.interpolate(self.logits(), size=self.image_size, mode="bilinear", align_corners=False)
        return logits.softmax(1)[0].cpu().numpy()

    def predict(self) -> np.ndarray:
        """Guided label map HxW (uint8 class indices) at the image's resolution."""
        logits = F.interpolate(self.logits(), size=self.image_size, mode="bilinear", align_corners=False)
        return logits.argmax(1)[0].to(torch.uint8).cpu().numpy()

    # ------------------------------------------------------------------ coordinates

    def to_network(self, y: int, x: int) -> tuple[int, int]:
        """Image pixel (row, col) -> network pixel (row, col)."""
        r, c = image_to_network(y, x, self.image_size, self.network_size)
        return int(r), int(c)

    def to_image(self, y: int, x: int) -> tuple[int, int]:
        """Network pixel (row, col) -> centre image pixel (row, col)."""
        (H, W), (h, w) = self.image_size, self.network_size
        return min(H - 1, int((y + 0.5) * H / h)), min(W - 1, int((x + 0.5) * W / w))

    # ------------------------------------------------------------------ turns

    def add_hint(self, hint: Hint) -> TurnResult:
        """Apply a PixelHint or TextHint (the objects the app and the simulated users emit)."""
        if isinstance(hint, PixelHint):
            return self.add_clicks(hint.points)
        if isinstance(hint, TextHint):
            return self.add_text(hint.text, hint)
        raise TypeError(f"expected a PixelHint or TextHint, got {type(hint).__name__}")

    def add_clicks(self, points: list[tuple[int, int, int]] | tuple[tuple[int, int, int], ...]) -> TurnResult:
        """Guide by backprop with labelled pixels ``(y, x, label)`` in image coordinates, ``label`` a
        class index (``model.classes.index("coat")``; ``Conversation.guide_points`` reads class names).
        Points of another form raise ValueError naming the expected one, before anything changes."""
        self._require_image("add_clicks")
        K = self.model.num_classes
        (H, W) = self.image_size
        clean: list[list[int]] = []
        for y, x, label in _click_points(points):
            if not (0 <= int(label) < K):
                raise ValueError(f"class index {label} out of range: this model has {K} classes")
            if 0 <= int(y) < H and 0 <= int(x) < W:
                clean.append([int(y), int(x), int(label)])
        if not clean:
            raise ValueError("no labelled pixel inside the image: draw on the image to give a hint")
        before = self.predict()
        warm = self._click_params()
        self._state["turns"].append({"kind": "pixels", "points": frozen(clean), "click_params": None})
        result = self._optimise_clicks(warm)
        gained = self._changes(before, self.predict())
        names = sorted({self.model.classes[p[2]] for p in clean})
        return TurnResult("pixels", gained, points=len(clean), classes=names, hint=PixelHint(tuple(map(tuple, clean))),
                          steps=result.steps, satisfied=result.satisfied, names=tuple(self.model.classes))

    def _all_points(self) -> list[list[int]]:
        return [p for t in self._state["turns"] if t["kind"] == "pixels" for p in t["points"]]

    def _optimise_clicks(self, warm: dict[str, Any] | None):
        """Fit click parameters to all pixel hints so far; stores them in the last turn."""
        assert self._features is not None
        # The same network pixel may be hinted twice; the latest label wins.
        latest: dict[tuple[int, int], int] = {}
        for y, x, label in self._all_points():
            latest[self.to_network(y, x)] = label
        dev = self._features.guided.device
        ys = torch.tensor([k[0] for k in latest], device=dev)
        xs = torch.tensor([k[1] for k in latest], device=dev)
        labels = torch.tensor(list(latest.values()), device=dev)
        with torch.no_grad():
            base, offset = self._text_guided()
            bias = self._carry_bias()
            if bias is not None:  # the carried class bias is a logit offset like the text turns'
                offset = bias.expand_as(self._plain_logits()) if offset is None else offset + bias
        block = self.model.block
        # The click block guides ``base`` (fixed during the turn); the loss reads the hinted pixels only.
        forward, _ = click_forward(self.model.segmenter, block, self._features, base, ys, xs, offset, self.fast_clicks,
                                   MAX_FRACTION)
        init = (GuideParams.from_lists(warm, dev) if warm is not None and self.backprop.warm_start
                else block.zero_params(device=dev))
        result = guide_by_backprop(forward, init, labels, self.backprop)
        self._state["turns"][-1]["click_params"] = frozen(result.params.to_lists())
        self._logits = None
        return result

    def add_text(self, text: str, hint: TextHint | None = None, op: str | None = None) -> TurnResult:
        """Guide with an English hint through the model's trained text guide.

        The reader (``understand.interpret``) reads the whole message, every word typed; only
        what the GRU reads is windowed (``tokenizer.MAX_TOKENS``). A hint naming no class the
        model knows raises :class:`guide.text.reader.NoClassError` (a ``ValueError``; the
        message the app shows) and changes nothing, unless ``text_words_alone``. ``op``
        ("find" / "remove"): the operation as confirmed by the person, overriding the reader's;
        the returned ``TurnResult.reading`` says what was read (its ``confidence`` below
        ``operation.ASK_BELOW``: the app asks before acting)."""
        self._require_image("add_text")
        if self.model.text_guide is None:
            raise SessionOrderError("this model has no text guide: train one with `python -m guide train-guide`")
        from guide.text.reader import NoClassError, canonical_hint, encode_hint, interpret, no_class_message
        from guide.text.tokenizer import tokenize
        from guide.text.vectors import load_vectors

        if op is not None and op not in (FIND, REMOVE):
            raise ValueError(f"op is {FIND!r} or {REMOVE!r}, not {op!r}")
        text = " ".join(str(text).split())
        vectors = load_vectors()
        tokens = tokenize(text, vectors)
        reading = interpret(tokens, self.model.classes, vectors, text=text)
        if reading.label is None and not self.text_words_alone:
            raise NoClassError(no_class_message(text, self.model.classes, vectors))
        if op is not None:
            reading = dataclasses.replace(reading, op=op, confidence=1.0, doubt="")
        canonical = canonical_hint(reading, self.model.classes) if self.reword_hints else None
        if canonical is None and not tokens.words:
            raise ValueError(f"I could not read any known word in {text!r}; try e.g. 'there is a coat on the left'")
        before = self.predict()
        params, _ = encode_hint(self.model.text_guide, canonical or text)  # one GRU pass, on what it reads
        said = {"words": list(tokens.words), "ignored_words": list(tokens.ignored), "hint": hint or TextHint(text),
                "names": tuple(self.model.classes),
                "reading": reading}
        if reading.op == REMOVE and reading.label is not None and not (before == reading.label).any():
            # The guide only ever learnt to remove what the network predicts; asked to remove a
            # class that is nowhere in the prediction it would change unrelated pixels: refuse it.
            return TurnResult("text", {}, outcome=NOTHING_TO_REMOVE, **said)
        warm = self._click_params()
        stored = turn_params(params.to_lists(), reading, self.text_place_mask, self.text_class_scope)
        self._state["turns"].append({"kind": "text", "text": text, "params": frozen(stored), "click_params": None})
        self._logits = None
        if warm is not None:
            self._optimise_clicks(warm)  # keep earlier clicks honoured on top of the new text guide
        gained = self._changes(before, self.predict())
        if reading.label is not None and not self.keep_backfiring_text:
            moved = gained.get(self.model.classes[reading.label], 0)
            if (reading.op == REMOVE and moved > 0) or (reading.op != REMOVE and moved < 0):
                self.undo()
                return TurnResult("text", {}, outcome=TAKEN_BACK, moved=moved, **said)
        return TurnResult("text", gained, **said)

    def _changes(self, before: np.ndarray, after: np.ndarray) -> dict[str, int]:
        K = self.model.num_classes
        delta = np.bincount(after.ravel(), minlength=K) - np.bincount(before.ravel(), minlength=K)
        return {self.model.classes[k]: int(d) for k, d in enumerate(delta) if d != 0}

    # ------------------------------------------------------------------ asking

    def ask(self, exclude: np.ndarray | None = None, spread: int | None = None) -> tuple[int, int]:
        """The pixel the network is least sure about (paper §4.1), in image coordinates.

        Smallest margin between the two most probable classes at network resolution,
        averaged over a (2*ask_region+1)^2 window first (0: the paper's single pixel),
        skipping pixels within ``spread`` network pixels (Chebyshev distance) of those
        already asked about — answers near an earlier one teach little — and,
        optionally, pixels where ``exclude`` (HxW bool at image resolution, e.g. void
        ground truth) is True. Marks it as asked.
        """
        spread = self.ask_spread if spread is None else spread
        logits = self.logits()
        asked = np.zeros(self.network_size, dtype=bool)
        if exclude is not None:
            h, w = self.network_size
            centres = [self.to_image(y, x) for y in range(h) for x in range(w)]
            asked |= np.array([exclude[c] for c in centres], dtype=bool).reshape(h, w)
        for y, x in self._state["asked"]:
            asked[max(0, y - spread) : y + spread + 1, max(0, x - spread) : x + spread + 1] = True
        yn, xn = most_uncertain_pixel(logits[0], asked, self.ask_region)
        self._state["asked"].append([yn, xn])
        return self.to_image(yn, xn)
