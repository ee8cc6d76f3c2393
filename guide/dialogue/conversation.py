"""Conversation: one image's dialogue with the guided network, as the app holds it.

A :class:`Conversation` owns a :class:`~guide.dialogue.session.GuideSession` (the guided network
for one image), the transcript (``{"role", "content"}`` dicts, as chat UIs show them),
the pending question ("what is here?"), the wording of every reply, and what each
message changed (a COCO RLE mask per step, so "show what changed" and undo never
recompute a prediction). The app, scripts and the simulated users drive this same
object, so evaluation replays the app's path.

Steps and turns: a *step* is one thing the person did (a chat message, a sketch, an
answer) and what undo takes back; it holds the number of session *turns* it added
(today at most one; a message read as several clauses would add several, undone
together).

State: :meth:`Conversation.get_state` is plain JSON-able data::

    {"version": 1,
     "key": str | None,            # sha1 of the image (the image itself is not in the state)
     "name": str,                  # the image's name, for exports
     "session": {...},             # GuideSession.get_state(): {"turns": [...], "asked": [...]}
     "steps": [{"kind": "guide", "said": str, "turns": int, "changed": RLE}     # guided: undo pops its turns
               | {"kind": "paint", "said": str, "turns": 0, "changed": RLE,   # set by hand (:meth:`paint`),
                  "marks": [{"label": int, "mask": RLE}]}],                   # drawn over the prediction
     "carry": {...},               # only when the image started from a carried guide (guide/dialogue/carry.py: CarriedGuide.to_dict)
     "pending": [row, col] | None, # the pixel asked about, image coordinates
     "confirm": {...} | None,      # a hint read unsurely, waiting for "yes" / "no" / "find|remove it instead"
     "transcript": [{"role": "user" | "assistant", "content": str}]}

Text steps also keep ``"clauses"`` (the hints the message was read as) and ``"ops"`` (the
operation each was done with), so a one-word correction ("remove it instead") can redo them.

:meth:`Conversation.set_state` restores it given the image (or with the image already
set), keeping the session's cached features and logits when they still hold.

Errors the person caused (an empty message, an unknown class, nothing to undo) raise
:class:`UserError` before anything changes; its message is meant to be shown as is.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from guide.core.backprop import BackpropSettings
from guide.core.classnames import close_classes, find_class, resolve_class, respelt
from guide.core.digest import array_digest
from guide.core.errors import UserError  # noqa: F401 - defined in the leaf guide/core/errors.py, long importable from here
from guide.core.export import rle_decode, rle_encode, rle_size
from guide.core.guided import GuidedModel, rgb_image
from guide.core.hints import FIND, REMOVE  # noqa: F401  (long importable from here)
from guide.core.labels import VOID
from guide.core.settings import MAX_TURNS, Settings  # noqa: F401  (MAX_TURNS: session turns one conversation may hold)
from guide.dialogue import cost, tools
from guide.dialogue.replies import (  # noqa: F401  (the words of a turn; long importable from here)
    NOTHING_TO_REMOVE,
    TAKEN_BACK,
    click_reply,
    describe_text_turn,
    text_reply,
    turn_reply,
)
from guide.dialogue.session import (
    GuideSession,
    SessionOrderError,
    TurnResult,
    empty_state,
)
from guide.models.domain import domain_note

if TYPE_CHECKING:
    from guide.dialogue.suggest import Suggestion

STATE_VERSION = 1
MAX_TEXT = 500  # characters per chat message
MAX_ANSWER = 100  # characters of an answer to "what is here?"
MAX_TRANSCRIPT = 200  # messages kept in the transcript
MAX_MESSAGE = 4_000  # characters of one transcript message a restored state may hold (replies are far shorter)
# What one image's steps may keep of masks (characters of COCO RLE counts: what each step changed, what was
# set by hand). A brush stroke or a guided change keeps a few KB even at 1024 px a side; a paint of scattered
# single pixels (a checkerboard) would keep megabytes a step, in every tab's memory and every saved record.
MAX_STEP_RLE = 512 * 1024
MAX_STATE_RLE = 2 * 1024 * 1024
TOO_DETAILED = ("That change is too scattered to keep ({kb:,} KB of mask{where}); paint whole areas, or press Undo "
                "or Reset to free room.")
UNTOUCHED = -1  # in :meth:`Conversation.paint` edits: a pixel the hand did not set

NO_IMAGE = "Pick an example scene or upload an image first."
NO_TEXT_GUIDE = (
    "This model has no text guide yet, so I can't read hints. "
    "Paint on the image and press Guide, or press Ask me and answer my question. "
    "To teach it words, annotate and save images below, then press Teach this model words."
)
_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")  # as guide/text/tokenizer.py splits words


YES_ANSWER, NO_ANSWER, FIND_ANSWER, REMOVE_ANSWER = "yes", "no", "find", "remove"
_YES = frozenset({"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "right", "exactly", "yes please",
                  "go ahead", "do it", "please do", "that's right", "thats right", "yes do it"})
_NO = frozenset({"no", "n", "nope", "nah", "cancel", "neither", "no thanks", "never mind", "nevermind", "wrong",
                 "forget it", "no, cancel"})
_OP_ANSWER = re.compile(r"^(?:no[,.!]?\s*)?(?:please\s+)?(find|add|mark|remove|delete|erase)(?:\s+(?:it|that|them))?"
                        r"(?:\s+instead)?(?:\s+please)?$")


def confirmation_answer(text: str) -> str | None:
    """A one-word answer to "Do you mean ...? (yes / no / find it instead)": "yes", "no",
    "find" or "remove"; None for anything else (a new message)."""
    t = " ".join(str(text).lower().split()).strip(" .!?")
    if t in _YES:
        return YES_ANSWER
    if t in _NO:
        return NO_ANSWER
    m = _OP_ANSWER.match(t)
    if m:
        return FIND_ANSWER if m.group(1) in ("find", "add", "mark") else REMOVE_ANSWER
    return None


@dataclass
class Reply:
    """What one call did: the reply to show, pixels gained per class name (negative:
    lost), and the pixels whose label changed (HxW bool; None when none could)."""

    text: str
    gained: dict[str, int] = field(default_factory=dict)
    changed: np.ndarray | None = None


def quote(text: str, n: int = 40) -> str:
    """“text”, cut to ``n`` characters: user text echoed in a reply never grows unbounded, and
    is valid UTF-8 (a lone surrogate a script sent becomes "?": echoed as it is, the reply could
    not be sent, which broke the event stream with a traceback)."""
    text = " ".join(str(text).split()).encode("utf-8", "replace").decode("utf-8")
    return f"\u201c{text[:n]}{'…' if len(text) > n else ''}\u201d"


def read_as_note(labels: Iterable[Any], classes: Sequence[str]) -> str:
    """" (Read “coaat” as coat.)": the class names among ``labels`` (names or indices, as given to
    :meth:`Conversation.guide_points`, :meth:`Conversation.answer` or a hand tool) that were read only
    by a close spelling (``guide.core.classnames.respelt``), so a typo is never corrected silently;
    "" when every name was a class name as typed."""
    read: dict[str, str] = {}
    for label in labels:
        if isinstance(label, str) and " ".join(label.split()) not in read:
            name = respelt(label[:MAX_ANSWER], classes)
            if name is not None:
                read[" ".join(label.split())] = name
    if not read:
        return ""
    shown = [f"{quote(t, 20)} as {n}" for t, n in list(read.items())[:4]]
    return f" (Read {', '.join(shown)}{', …' if len(read) > 4 else ''}.)"


POINTS_FORMAT = ('Give the points as a list of (row, column, class) triples in image pixels, the class a name or an index, '
                 'e.g. [(40, 30, "coat"), (120, 80, 2)].')


def image_key(image: np.ndarray) -> str:
    """A content hash of an image: which head features and which tab state belong to it."""
    return array_digest(image)


def describe_changes(gained: dict[str, int]) -> str:
    changes = sorted(gained.items(), key=lambda kv: -abs(kv[1]))[:4]
    if not changes:
        return "The prediction did not change."
    return "Changed " + ", ".join(f"{n} {d:+,d} px" for n, d in changes) + "."


def text_guide_ready(model: GuidedModel) -> bool:
    """Whether ``model`` can read hints: it has a text guide and the text module imports."""
    if model.text_guide is None:
        return False
    try:
        import guide.text.reader  # noqa: F401  (needs the text extras: GloVe vectors)
    except ImportError:
        return False
    return True


def _check_transcript(transcript: Any) -> None:
    """ValueError unless ``transcript`` is what a conversation keeps: at most ``MAX_TRANSCRIPT`` messages
    ``{"role": "user" | "assistant", "content": str}`` of at most ``MAX_MESSAGE`` characters."""
    if not (isinstance(transcript, list) and len(transcript) <= MAX_TRANSCRIPT
            and all(isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
                    and len(m["content"]) <= MAX_MESSAGE for m in transcript)):
        raise ValueError(f"the transcript is not at most {MAX_TRANSCRIPT} messages of at most {MAX_MESSAGE:,} characters")


STATE_KEYS = {"version", "key", "name", "session", "steps", "pending", "confirm", "transcript", "carry"}
STEP_KEYS = {"kind", "said", "turns", "changed", "marks", "tool", "seconds", "clauses", "ops"}
CONFIRM_KEYS = {"said", "clauses", "ops", "at", "op", "label", "place"}
MAX_CLAUSES = 20  # clauses one message is read as (a person writes a few)


def check_conversation_state(state: Any, shape: tuple[int, int], num_classes: int, max_turns: int = MAX_TURNS) -> None:
    """ValueError (saying what) unless ``state`` is what :meth:`Conversation.get_state` gives for an image of
    ``shape`` (H, W) and ``num_classes`` classes, within the limits of a conversation that keeps ``max_turns``
    turns: known keys only, every list and string bounded, masks the image's size (read from their RLE
    ``size``: nothing is decoded), the session's turns by ``guide.dialogue.session.check_state``. A state is
    plain data a tab, a data-set record or a hand-made zip can carry: this runs before any of it is kept."""
    from guide.dialogue.session import check_state

    if not isinstance(state, dict) or state.get("version") != STATE_VERSION or not isinstance(state.get("steps"), list):
        raise ValueError("not a Conversation state: expected a dict from Conversation.get_state()")
    if not set(state) <= STATE_KEYS:
        raise ValueError(f"a conversation state has no {sorted(set(state) - STATE_KEYS)[0][:40]!r}")
    if not (state["key"] is None or (isinstance(state["key"], str) and len(state["key"]) <= 64)) \
            or not isinstance(state.get("name", ""), str) or len(state.get("name", "")) > 200:
        raise ValueError("a conversation state's key and name are short strings")
    steps = state["steps"]
    if len(steps) > 2 * max_turns:  # paint steps and guided steps each stop at the limit
        raise ValueError(f"a conversation keeps at most {2 * max_turns} steps, this one {len(steps)}")

    def short_texts(values: Any, n: int, none: bool = False) -> bool:
        return isinstance(values, list) and len(values) <= n and all(
            (none and v is None) or (isinstance(v, str) and len(v) <= MAX_MESSAGE) for v in values)

    rle = 0
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or not set(step) <= STEP_KEYS or step.get("kind") not in ("guide", "paint") \
                or not isinstance(step.get("turns"), int) or step["turns"] < 0 \
                or not isinstance(step.get("said", ""), str) or len(step.get("said", "")) > MAX_MESSAGE \
                or not isinstance(step.get("tool", ""), str) or len(step.get("tool", "")) > 40 \
                or not (isinstance(step.get("seconds", 0.0), (int, float)) and 0 <= step.get("seconds", 0.0) < 1e6) \
                or ("clauses" in step and not short_texts(step["clauses"], MAX_CLAUSES)) \
                or ("ops" in step and not short_texts(step["ops"], MAX_CLAUSES, none=True)):
            raise ValueError(f"step {i + 1} is not a step of a conversation")
        marks = step.get("marks", [])
        if step["kind"] == "paint" and not (isinstance(marks, list) and 0 < len(marks) <= num_classes + 1):
            raise ValueError(f"step {i + 1} sets nothing by hand")
        for m in [{"mask": step.get("changed"), "label": 0}, *marks]:
            if not (isinstance(m, dict) and set(m) == {"mask", "label"} and isinstance(m["mask"], dict) and set(m["mask"]) == {"size", "counts"}):
                raise ValueError(f"step {i + 1} has a mask that is not one")
            if rle_size(m["mask"]) != tuple(shape):
                raise ValueError(f"step {i + 1} has a mask that does not fit the {shape[0]}x{shape[1]} image")
            if not (isinstance(m["label"], int) and (0 <= m["label"] < num_classes or m["label"] == VOID)):
                raise ValueError(f"step {i + 1} sets a class this model does not have")
            rle += len(m["mask"]["counts"])
        if rle > MAX_STATE_RLE:
            raise ValueError(f"the steps keep more than the {MAX_STATE_RLE // 1024:,} KB of masks one image may")
    turns = sum(s["turns"] for s in steps)
    session = state.get("session")
    if not isinstance(session, dict) or not set(session) <= {"turns", "asked"} or not isinstance(session.get("turns"), list) \
            or turns != len(session["turns"]) or turns > max_turns:
        raise ValueError("inconsistent Conversation state: the steps do not add up to the session's turns")
    check_state(session, shape, num_classes)
    pending = state.get("pending")
    if pending is not None and not (isinstance(pending, list) and len(pending) == 2 and all(isinstance(v, int) for v in pending)
                                    and 0 <= pending[0] < shape[0] and 0 <= pending[1] < shape[1]):
        raise ValueError("the pending question is not at a pixel of the image")
    confirm = state.get("confirm")
    if confirm is not None and not (
            isinstance(confirm, dict) and set(confirm) <= CONFIRM_KEYS and short_texts([confirm.get("said", "")], 1)
            and short_texts(confirm.get("clauses", []), MAX_CLAUSES) and short_texts(confirm.get("ops", []), MAX_CLAUSES, none=True)
            and short_texts([confirm.get("op", ""), confirm.get("place", "")], 2)
            and isinstance(confirm.get("at", 0), int) and isinstance(confirm.get("label"), int) and 0 <= confirm["label"] < num_classes):
        raise ValueError("the question waiting for yes or no is not one this conversation asks")
    carry = state.get("carry")
    if carry is not None and not (isinstance(carry, dict) and len(carry) <= 8 and all(
            isinstance(v, (int, float)) or (isinstance(v, list) and len(v) <= 16_384) for v in carry.values())):
        raise ValueError("the carried guide is not one")  # its lengths and numbers: guide/dialogue/carry.py, CarriedGuide.from_dict
    _check_transcript(state.get("transcript"))


def empty_conversation() -> dict[str, Any]:
    """The state of a conversation with no image yet."""
    return {"version": STATE_VERSION, "key": None, "name": "image", "session": empty_state(), "steps": [], "pending": None, "transcript": []}


class Conversation:
    """One image's dialogue. Not thread-safe: one caller at a time (the app locks it)."""

    def __init__(self, model: GuidedModel, backprop: BackpropSettings | None = None, session: GuideSession | None = None,
                 max_turns: int | None = None, settings: Settings | None = None, **session_options: Any) -> None:
        """``session`` (else a new one from ``settings``, ``backprop`` and ``session_options``,
        guide/core/settings.py; the keyword arguments override the settings' fields) does the
        guiding; ``max_turns`` bounds the session turns (default ``settings.limits.max_turns``)."""
        self.model = model
        self.classes = list(model.classes)
        if settings is None and model.config.settings is not None:  # the model folder's defaults (guide/core/guided.py)
            settings = Settings.from_dict(model.config.settings)
        self.session = session if session is not None else GuideSession(model, backprop, settings=settings, **session_options)
        # None: the module's MAX_TURNS (read at each turn); settings given: their limit.
        self.max_turns = max_turns if max_turns is not None else settings.limits.max_turns if settings is not None else None
        self.image: np.ndarray | None = None
        self.key: str | None = None  # image_key of the image whose head features the session holds
        self.name = "image"
        self.steps: list[dict[str, Any]] = []
        self.pending: list[int] | None = None
        self.confirm: dict[str, Any] | None = None  # a hint read unsurely: asked "Do you mean ...?"
        self.transcript: list[dict[str, str]] = []
        self._labels: tuple[Any, tuple, np.ndarray] | None = None  # (the session's logits, the paint steps, the label map)

    # ------------------------------------------------------------------ image and state

    def set_image(self, image: np.ndarray | Any, name: str = "image", note: str = "", key: str | None = None,
                  own: bool = False, intro: str = "", carry: Any = None) -> Reply:
        """Start a conversation about ``image`` (HxWx3 uint8 RGB; or a PIL image or an image path,
        converted to RGB: ``guide.core.guided.rgb_image``); ``note`` is appended to
        the greeting's size (e.g. " (downscaled from ...)"). Runs the head unless the
        session already holds this image. ``own``: a person's own image, not one of the
        model's examples; a model trained on synthetic images then says what it knows and
        how to load one for real photos (guide/models/domain.py). ``intro``: said first (e.g.
        "Switched to model ..."). ``carry``: a guide carried over from a batch's finished images
        (guide/dialogue/carry.py: a CarriedGuide or its dict) the image starts from; None: the network alone."""
        image = rgb_image(image, "Conversation.set_image")  # a PIL image or a path too; TypeError / ValueError otherwise
        self.session.set_carry(carry)  # ValueError (a carry for another model) before anything changes
        self._hold_image(image, key or image_key(image))
        self.session.reset()
        self.name, self.steps, self.pending, self.transcript = str(name)[:60] or "image", [], None, []
        self.confirm = None
        labels = self.labels()
        counts = np.bincount(labels.ravel(), minlength=len(self.classes))
        seen = [f"{self.classes[k]} {100 * counts[k] / labels.size:.0f}%" for k in np.argsort(-counts)[:4] if counts[k]]
        greeting = (
            f"New image, {image.shape[1]}x{image.shape[0]}{note}. I see {', '.join(seen)}. "
            "Correct me: paint class colours and press **Guide**, tell me in words, or press **Ask me**."
        )
        caveat = domain_note(self.model.config) if own else None
        greeting += f"\n\n{caveat}" if caveat else ""
        if intro:
            self._say("assistant", intro)
        self._say("assistant", greeting)
        return Reply(greeting)

    def _hold_image(self, image: np.ndarray, key: str) -> None:
        if key != self.key or not self.session.has_image:
            self.session.set_image(image)  # runs the head once
            self.key = key
        self.image = image
        self._labels = None

    @property
    def has_image(self) -> bool:
        return self.image is not None

    def get_state(self) -> dict[str, Any]:
        """The conversation as plain JSON-able data (see the module docstring); no image."""
        return {
            "version": STATE_VERSION,
            "key": self.key if self.image is not None else None,
            "name": self.name,
            "session": self.session.get_state() if self.image is not None else empty_state(),
            "steps": [dict(s) for s in self.steps],
            **({"carry": self.session.carry.to_dict()} if self.image is not None and self.session.carry is not None else {}),
            "pending": list(self.pending) if self.pending else None,
            "confirm": dict(self.confirm) if self.confirm else None,
            "transcript": [dict(m) for m in self.transcript],
        }

    def set_state(self, state: dict[str, Any], image: np.ndarray | None = None) -> None:
        """Restore :meth:`get_state` output. ``image`` is needed unless this conversation
        already holds the state's image; the session's cached logits survive when the
        state's turns are the ones it holds."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION or not isinstance(state.get("steps"), list):
            raise ValueError("not a Conversation state: expected a dict from Conversation.get_state()")
        if state.get("key") is None:
            check_conversation_state(state, (0, 0), len(self.classes), self.max_turns or MAX_TURNS)
            self.image, self.steps, self.pending, self.name = None, [], None, str(state.get("name", "image"))[:60]
            self.confirm = None
            self.transcript = [dict(m) for m in state["transcript"]]
            return
        if image is None and (state["key"] != self.key or self.image is None):
            raise ValueError("this state belongs to another image: pass the image to set_state")
        image = rgb_image(image, "Conversation.set_state") if image is not None else self.image
        # Before anything changes: a state is plain data anyone can write. This checks its session part too.
        check_conversation_state(state, image.shape[:2], len(self.classes), self.max_turns or MAX_TURNS)
        if image is not self.image:
            self._hold_image(image, image_key(image))  # the image's own key: a state's key never picks cached features
        self.session.set_carry(state.get("carry"))  # the start this image's turns were made on
        self.session.set_state(state["session"], checked=True)
        self.name = str(state["name"])[:60]
        self.steps = [dict(s) for s in state["steps"]]
        self.pending = list(state["pending"]) if state["pending"] else None
        self.confirm = dict(state["confirm"]) if state.get("confirm") else None
        self.transcript = [dict(m) for m in state["transcript"]]

    # ------------------------------------------------------------------ what to show

    def labels(self) -> np.ndarray:
        """The label map (HxW uint8 class indices, ``VOID`` where painted "unsure") shown and
        exported, computed once per state: the guided prediction with the hand-painted
        steps (:meth:`paint`) drawn over it in step order."""
        self._require_image()
        logits = self.session.logits()
        paints = tuple((m["label"], m["mask"]["counts"]) for s in self.steps if s["kind"] == "paint" for m in s["marks"])
        if self._labels is None or self._labels[0] is not logits or self._labels[1] != paints:
            labels = self.session.predict()
            if paints:
                labels = labels.copy()
                for s in self.steps:
                    for m in s.get("marks", ()):
                        labels[rle_decode(m["mask"], labels.shape)] = m["label"]
            self._labels = (logits, paints, labels)
        return self._labels[2]

    def changed(self) -> np.ndarray | None:
        """HxW bool: the pixels the last step changed (None before the first step)."""
        return rle_decode(self.steps[-1]["changed"], self.image.shape[:2]) if self.steps else None

    def summary(self) -> list[dict[str, Any]]:
        """The session's turns, small enough for an export: text, or the number of points."""
        turns = self.session.get_state()["turns"] if self.image is not None else []
        return [{"kind": t["kind"], **({"text": t["text"]} if t["kind"] == "text" else {"points": len(t["points"])})} for t in turns]

    @property
    def has_text_guide(self) -> bool:
        return text_guide_ready(self.model)

    # ------------------------------------------------------------------ turns

    def say(self, text: str) -> Reply:
        """A chat message: the answer to a pending question when it names a class, else a
        hint in words. A message that names no class changes nothing and asks which
        class is meant. A hint read unsurely is asked about first ("Do you mean: remove the
        coat on the left? (yes / no / find it instead)", :attr:`confirm`) and the next message
        answers it; "find/remove it instead" after a done hint redoes it so; "undo" undoes."""
        self._require_image()
        text = " ".join(str(text or "").split())
        if not text:
            raise UserError("Type a hint first, e.g. \u201cthere is a coat on the top left\u201d.")
        if len(text) > MAX_TEXT:
            raise UserError(f"That message is {len(text)} characters; please keep hints under {MAX_TEXT}.")
        words = _WORD.findall(text.lower())
        if self.confirm is not None:
            answer = confirmation_answer(text)
            if answer is not None:
                return self._confirmed(answer, text)
            self.confirm = None  # another message instead of an answer: the question lapses
        elif confirmation_answer(text) in (YES_ANSWER, NO_ANSWER):  # "yes" to nothing (a "Did you mean coat?" that asked no yes/no)
            return self._nothing_to_confirm(text)
        if text.lower().strip(" .!") == "undo" and (self.steps or self.pending):
            self._say("user", text)
            return self.undo()
        correction = confirmation_answer(text)
        if correction in (FIND_ANSWER, REMOVE_ANSWER) and self.steps and self.steps[-1].get("clauses"):
            return self._correct(correction, text)
        if self.pending:
            label = resolve_class(text, self.classes)
            if label is not None:
                return self.answer(label, said=text)
        if not self.has_text_guide:
            if find_class(words, self.classes) is None:
                return self._which_class(text, words)
            self._say("user", text)
            self._say("assistant", NO_TEXT_GUIDE)
            return Reply(NO_TEXT_GUIDE)
        from guide.text.reader import interpret, split_clauses
        from guide.text.tokenizer import tokenize
        from guide.text.vectors import load_vectors

        # One message may hold several hints ("a coat on the left and no grass on the bottom"):
        # each clause is its own text turn, and the message is one step (undone as a whole).
        # One clause is read as typed, punctuation and all ("isn't that a coat?").
        clauses = split_clauses(text, self.classes)
        clauses = [text] if len(clauses) <= 1 else clauses
        vectors = load_vectors()
        readings = [interpret(tokenize(c, vectors), self.classes, vectors, text=c) for c in clauses]
        if all(r.label is None for r in readings):
            return self._ask_respelt(text) or self._which_class(text, words)
        ops: list[str | None] = [None] * len(clauses)
        for i, r in enumerate(readings):
            why = self._doubt(r)
            if why:
                return self._ask_to_confirm(text, clauses, ops, i, r, why)
        return self._run_text(text, clauses, ops)

    # ------------------------------------------------------------------ confirming a reading

    def _doubt(self, r: Any) -> str:
        """Why to ask before acting on reading ``r`` ("" to act): the reader is unsure (conflicting
        cues, an unknown word where the verb would be, a misspelt class), or the operation
        contradicts the prediction (remove a class the network labels nowhere in that place)."""
        if r.label is None:
            return ""
        name = self.classes[r.label]
        if not r.sure:
            if r.how == "spelling":
                return f"I read a misspelt word as \u201c{name}\u201d."
            if r.doubt.startswith("unknown word"):
                return f"I don't know the word {r.doubt.split(' ', 2)[2]}."
            if r.doubt.startswith("spelling"):
                return f"I'm not sure about the word {r.doubt.split(' ', 1)[1]}."
            return "Your words point both ways."
        from guide.text.compose import place_mask

        labels = self.labels()
        place = "" if r.place == "everywhere" else r.place
        region = place_mask(place, 0.0, labels.shape).numpy() > 0
        there = labels[region] == r.label
        where = f" {place}" if place else ""
        if r.op == "remove" and not there.any():
            return f"I see no {name}{where}."
        return ""  # (a find where the class already is changes little: no question, "there is a coat" may be agreement)

    def _ask_to_confirm(self, said: str, clauses: Sequence[str], ops: list[str | None], i: int, r: Any, why: str) -> Reply:
        """Nothing changes; ask "Do you mean: remove the coat on the left? (yes / no / find it instead)"."""
        guess = r.op
        if why.startswith("I see no"):
            guess = "find" if r.op == "remove" else "remove"  # the prediction says the other one
        place = "" if r.place == "everywhere" else r.place
        self.confirm = {"said": said, "clauses": list(clauses), "ops": list(ops), "at": i, "op": guess,
                        "label": int(r.label), "place": place}
        other = "find" if guess == "remove" else "remove"
        reply = f"{why} Do you mean: {guess} the {self.classes[r.label]}{' ' + place if place else ''}? (yes / no / {other} it instead)"
        self._say("user", said)
        self._say("assistant", reply)
        return Reply(reply)

    def _nothing_to_confirm(self, said: str) -> Reply:
        """A bare "yes" / "no" with no "Do you mean ...?" waiting: say so and what to type instead."""
        reply = "There is no question waiting for a yes or no, so I changed nothing."
        if self.pending:
            reply += " To answer my question, type a class name."
        if self.has_text_guide:
            reply += f" Say what to change with a class name, e.g. \u201cthere is no {self.classes[-1]} on the left\u201d."
        self._say("user", said)
        self._say("assistant", reply)
        return Reply(reply)

    def _ask_respelt(self, text: str) -> Reply | None:
        """A message naming no class, one of whose words is spelt like one ("delete the gras at the
        bottom": "gras" is a word GloVe knows, so the reader does not respell it): ask about the
        message with that word read as the class, as a misspelt unknown word is asked about ("I read
        “gras” as grass. Do you mean: remove the grass on the bottom? (yes / no / find it instead)"),
        so "yes" does it. None when no word is spelt like a class (then: which class?)."""
        from guide.text.operation import typed_words
        from guide.text.reader import interpret, respelling, split_clauses
        from guide.text.tokenizer import tokenize
        from guide.text.vectors import load_vectors

        typed = typed_words(text)
        k, i = respelling(typed, self.classes)
        if k is None:
            return None
        word, name = typed[i], self.classes[k]
        fixed = re.sub(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", lambda m: name, text, count=1, flags=re.IGNORECASE)
        if fixed == text:
            return None
        clauses = split_clauses(fixed, self.classes)
        clauses = [fixed] if len(clauses) <= 1 else clauses
        vectors = load_vectors()
        readings = [interpret(tokenize(c, vectors), self.classes, vectors, text=c) for c in clauses]
        at = next((j for j, r in enumerate(readings) if r.label == k), None)
        if at is None:
            return None
        return self._ask_to_confirm(text, clauses, [None] * len(clauses), at, readings[at], f"I read {quote(word)} as {name}.")

    def _confirmed(self, answer: str, said: str) -> Reply:
        """The person answered the pending "Do you mean ...?": do it, do the other operation, or nothing."""
        c, self.confirm = self.confirm, None
        if answer == NO_ANSWER:
            name = self.classes[c["label"]]
            reply = (f"OK, I changed nothing. Say it again in other words, e.g. \u201cthere is no {name} on the left\u201d "
                     f"or \u201cthere is {'an' if name[:1] in 'aeiou' else 'a'} {name} on the left\u201d.")
            self._say("user", said)
            self._say("assistant", reply)
            return Reply(reply)
        ops = list(c["ops"])
        ops[c["at"]] = c["op"] if answer == YES_ANSWER else answer
        return self._run_text(c["said"], c["clauses"], ops, shown=said)

    def _correct(self, op: str, said: str) -> Reply:
        """"remove it instead" / "find it instead" after a text step: take it back and redo it so."""
        last = self.steps[-1]
        if len(last["clauses"]) == 1 and last["ops"][0] == op:
            reply = f"That is what I did: {op}. Say \u201cundo\u201d to take it back."
            self._say("user", said)
            self._say("assistant", reply)
            return Reply(reply)
        self.steps.pop()
        for _ in range(int(last["turns"])):
            self.session.undo()
        return self._run_text(last["said"], last["clauses"], [op] * len(last["clauses"]), shown=said)

    def _run_text(self, said: str, clauses: Sequence[str], ops: Sequence[str | None], shown: str | None = None) -> Reply:
        """Apply a message's clauses (``ops``: confirmed operations, None: as read) as one step."""
        done: list[str] = []
        start = self.session.turn_count

        def wording(results: list[TurnResult]) -> str:
            if len(results) > 1:  # a sentence per clause
                return " ".join(f"({i}) \u201c{c}\u201d: {text_reply(r, self.classes)}"
                                for i, (c, r) in enumerate(zip(clauses, results), 1))
            reply = text_reply(results[0], self.classes)
            if not done or self.session.turn_count == start:
                return reply  # nothing was done: nothing to correct
            other = "find" if done[0] == "remove" else "remove"
            return f"{reply} Not what you meant? Say \u201c{other} it instead\u201d or \u201cundo\u201d."

        reply = self._step(said, lambda: self._add_clauses(clauses, ops, done), wording, shown=shown)
        if self.steps and self.steps[-1]["said"] == said and "clauses" not in self.steps[-1] and done:
            self.steps[-1]["clauses"], self.steps[-1]["ops"] = list(clauses), list(done)
        return reply

    def _add_clauses(self, clauses: Sequence[str], ops: Sequence[str | None] | None = None,
                     done: list[str] | None = None) -> list[TurnResult]:
        """Apply each clause as a text turn (``ops``: a confirmed operation per clause, None: as
        read); a result per clause. ``done`` gets each clause's operation as done. If one fails,
        the turns the earlier clauses added are taken back before it is raised."""
        start = self.session.turn_count
        results = []
        ops = list(ops) if ops is not None else [None] * len(clauses)
        try:
            for clause, op in zip(clauses, ops, strict=True):
                results.append(self.session.add_text(clause, op=op))
        except Exception:
            while self.session.turn_count > start:
                self.session.undo()
            raise
        if done is not None:
            done.extend(r.reading.op if r.reading is not None else "find" for r in results)
        return results

    def _which_class(self, text: str, words: Sequence[str]) -> Reply:
        """Nothing changes; ask which class the message means, nearest names first."""
        near = close_classes(text, self.classes)
        if self.has_text_guide:
            from guide.text.reader import near_classes
            from guide.text.vectors import load_vectors

            near = list(dict.fromkeys(near + near_classes(words, self.classes, load_vectors())))[:3]
        guess = f" Did you mean {' or '.join(near)}?" if near else ""
        if self.pending and len(words) <= 3:
            reply = f"I don't know a class called {quote(text)}.{guess} Classes: {', '.join(self.classes)}."
        elif self.has_text_guide:
            from guide.text.reader import no_class_message  # the library's NoClassError says the same
            from guide.text.vectors import load_vectors

            reply = no_class_message(text, self.classes, load_vectors())
        else:
            reply = (f"I could not find a class name in {quote(text)}, so I changed nothing. Which class do you mean?{guess} "
                     f"Classes: {', '.join(self.classes)}.")
        self._say("user", text)
        self._say("assistant", reply)
        return Reply(reply)

    def guide_points(self, points: Sequence[Sequence[int | str]], how: str = "marked", note: str = "") -> Reply:
        """Guide by backprop with labelled pixels ``(row, col, class)`` in image pixels, the class an
        index or a name as a person types it ("coat", "Coats"; a typo is read and the reply says so:
        :func:`read_as_note`); ``how`` is "painted" (a sketch: the same strokes twice in a row are
        refused) or "marked". Anything else (a JSON string, a pair) is a UserError naming the format."""
        self._require_image()
        points, names_given = self._points(points)
        note = read_as_note(names_given, self.classes) + note
        if not points:
            raise UserError("Nothing painted yet: pick a class colour in the brush and paint over the part the network got wrong, then press Guide."
                            if how == "painted" else "No points given.")
        turns = self.session.get_state()["turns"]
        if how == "painted" and turns and turns[-1]["kind"] == "pixels" and tuple(map(tuple, turns[-1]["points"])) == tuple(points):
            raise UserError("Those strokes were already applied. Paint new ones, or press Undo.")
        names = sorted({self.classes[p[2]] for p in points if 0 <= p[2] < len(self.classes)})
        said = f"({how}) {', '.join(names)} ({len(points)} px)"
        return self._step(said, lambda: self.session.add_clicks(points),
                          lambda r: f"{click_reply(r)} {describe_changes(r.gained)}{note}")

    def _points(self, points: Any) -> tuple[list[tuple[int, int, int]], list[str]]:
        """``guide_points``' points as (row, col, class index) ints, and the class names given."""
        if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, Iterable):
            kind = type(points).__name__
            got = ("a JSON string: pass the list itself" if isinstance(points, str) and points.lstrip()[:1] in "[{"
                   else f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}")
            raise UserError(f"{POINTS_FORMAT} Got {got}.")
        out: list[tuple[int, int, int]] = []
        names: list[str] = []
        index: dict[Any, int] = {}  # one lookup per class as given (a sketch has thousands of points)
        for p in points:
            if isinstance(p, (str, bytes, Mapping)) or not hasattr(p, "__len__") or len(p) != 3:
                raise UserError(f"{POINTS_FORMAT} Got {quote(repr(p), 30)}.")
            row, col, label = p
            if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v) for v in (row, col)):
                raise UserError(f"{POINTS_FORMAT} Got {quote(repr(p), 30)}: row and column must be numbers.")
            if isinstance(label, str):
                if label not in index:
                    index[label] = self._class_index(label, void=False)
                    names.append(label)
                k = index[label]
            elif isinstance(label, numbers.Real) and not isinstance(label, bool) and np.isfinite(label):
                k = int(label)
                if not 0 <= k < len(self.classes):
                    raise UserError(f"Unknown class {k}: this model has classes 0 to {len(self.classes) - 1}.")
            else:
                raise UserError(f"{POINTS_FORMAT} Got {quote(repr(p), 30)}: the class must be a name or an index.")
            out.append((int(row), int(col), k))
        return out, names

    def ask(self, exclude: np.ndarray | None = None) -> Reply:
        """The network asks about its least certain pixel (paper §4.1); it becomes
        :attr:`pending`. ``exclude``: HxW bool pixels never to ask about."""
        self._require_image()
        try:
            y, x = self.session.ask(exclude=exclude)
        except ValueError:
            raise UserError("I have asked about every pixel already; I'm out of questions.") from None
        self.pending = [int(y), int(x)]
        yn, xn = self.session.to_network(y, x)
        probs = self.session.logits()[0, :, yn, xn].softmax(0).cpu().numpy()
        top = np.argsort(-probs)[:2]
        guess = " or ".join(f"**{self.classes[k]}** ({100 * probs[k]:.0f}%)" for k in top)
        question = f"What is here, at the crosshair (row {y}, column {x})? I'm torn between {guess}. Type a class name or pick one below."
        self._say("assistant", question)
        return Reply(question)

    def answer(self, label: int | str, said: str | None = None) -> Reply:
        """Answer the pending question with a class (index, or a name as a person types it)."""
        self._require_image()
        if not self.pending:
            raise UserError("I haven't asked anything yet: press Ask me first.")
        if isinstance(label, str):
            if len(label) > MAX_ANSWER:
                raise UserError(f"That answer is {len(label):,} characters; answer with a class name.")
            k = resolve_class(label, self.classes)
            if k is None:
                raise UserError(f"Unknown class {quote(label)}. Classes: {', '.join(self.classes)}.")
        else:
            k = int(label)
            if not 0 <= k < len(self.classes):
                raise UserError(f"Unknown class {k}: this model has classes 0 to {len(self.classes) - 1}.")
        y, x = self.pending
        name = self.classes[k]
        note = read_as_note([label], self.classes)
        reply = self._step(said or f"It's {name}.", lambda: self.session.add_clicks([(y, x, k)]),
                           lambda r: f"Thanks: that's {name}. {describe_changes(r.gained)}{note}")
        self.pending = None
        return reply

    def paint(self, edits: np.ndarray) -> Reply:
        """Set pixels by hand, over the guided prediction: ``edits`` is HxW integers, a class
        index where a pixel is set, ``VOID`` where it is marked "unsure", ``UNTOUCHED``
        (negative) elsewhere. Not a hint to the network: one step of its own, drawn on top
        of every later guided prediction; undo takes it back whole."""
        self._require_image()
        edits = np.asarray(edits)
        if edits.shape != self.image.shape[:2]:
            raise ValueError(f"paint edits are {edits.shape}, the image {self.image.shape[:2]}")
        values = np.unique(edits[edits >= 0]).tolist()
        bad = [v for v in values if not (v < len(self.classes) or v == VOID)]
        if bad:
            raise UserError(f"Unknown class {bad[0]}: this model has classes 0 to {len(self.classes) - 1} ({VOID} = unsure).")
        if not values:
            raise UserError("Nothing painted yet: paint over the wrong pixels in the colour of the class they should be, then press Set by hand.")
        limit = self.max_turns or MAX_TURNS
        if len(self.steps) >= limit:
            raise UserError(f"This conversation has {limit} steps, the most one image keeps; press Undo or Reset to go on.")
        before = self.labels()
        changed = (edits >= 0) & (before != edits)
        names = ["unsure" if v == VOID else self.classes[v] for v in values]
        said = f"(set by hand) {', '.join(names)} ({int((edits >= 0).sum()):,} px)"
        marks = [{"label": int(v), "mask": rle_encode(edits == v)} for v in values]
        step = {"kind": "paint", "said": said, "turns": 0, "marks": marks, "changed": rle_encode(changed)}
        self._check_room(step)
        self.steps.append(step)
        painted, moved = int((edits >= 0).sum()), int(changed.sum())
        if moved:
            reply = f"Set {moved:,} px by hand ({', '.join(names)}); guiding will not move them, Undo takes them back."
        else:  # every painted pixel already showed its class: say so, not "Set 0 px"
            reply = (f"Those {painted:,} px already showed {', '.join(names)}; they are now set by hand, so guiding will not "
                     "move them (Undo takes that back).")
        self._say("user", said)
        self._say("assistant", reply)
        gained = {n: int((changed & (edits == v)).sum()) for n, v in zip(names, values)}
        return Reply(reply, gained, changed)

    def undo(self) -> Reply:
        """Withdraw the pending question, else take back the last step (all its turns)."""
        self._require_image()
        before = self.labels()
        if self.confirm:
            self.confirm = None
            message = "Question withdrawn; nothing was done."
        elif self.pending:
            self.pending = None
            message = "Question withdrawn."
        elif self.steps:
            for _ in range(int(self.steps.pop()["turns"])):
                self.session.undo()
            n = len(self.steps)
            message = f"Undone: back to {n} turn{'s' if n != 1 else ''}."
        else:
            raise UserError("Nothing to undo.")
        self._say("assistant", f"\u21a9 {message}")
        return Reply(message, changed=before != self.labels())

    def reset(self) -> Reply:
        """Back to the network's own prediction (the image and transcript stay)."""
        self._require_image()
        before = self.labels()
        self.session.reset()
        self.steps, self.pending, self.confirm = [], None, None
        message = "Back to the network's own prediction."
        self._say("assistant", message)
        return Reply(message, changed=before != self.labels())

    # ------------------------------------------------------------------ helpers

    def _step(self, said: str, run: Callable[[], Any], wording: Callable[[Any], str], shown: str | None = None) -> Reply:
        """Run one step (``run`` adds session turns and returns their ``TurnResult``, or a list of
        them), record what it changed, say it (``wording`` words what ``run`` returned).

        A step that added no turn (a taken-back hint, nothing to remove) is not recorded
        as a step but its reply is still said. ``shown``: what the transcript shows the person
        said, when not ``said`` (the answer "yes" to a "Do you mean ...?")."""
        turns_before = sum(int(s["turns"]) for s in self.steps)  # == the session's turns
        limit = self.max_turns or MAX_TURNS
        if turns_before >= limit:
            raise UserError(f"This conversation has {limit} turns, the most one image keeps; press Undo or Reset to go on.")
        before = self.labels()
        try:
            result = run()
        except SessionOrderError:
            raise UserError(NO_TEXT_GUIDE) from None
        except ValueError as e:  # the session refused the hint before changing anything
            raise UserError(str(e)) from None
        added = self.session.turn_count - turns_before
        changed = before != self.labels()
        if added:
            step = {"kind": "guide", "said": said, "turns": added, "changed": rle_encode(changed)}
            try:
                self._check_room(step)
            except UserError:
                for _ in range(added):
                    self.session.undo()
                raise
            self.steps.append(step)
        reply = wording(result)
        self._say("user", said if shown is None else shown)
        self._say("assistant", reply)
        gained: dict[str, int] = {}
        for r in result if isinstance(result, list) else [result]:
            for name, n in r.gained.items():
                gained[name] = gained.get(name, 0) + n
        return Reply(reply, {k: v for k, v in gained.items() if v}, changed)

    def _check_room(self, step: dict[str, Any]) -> None:
        """UserError, nothing kept, when ``step``'s masks are more than one step or the image may keep
        (``MAX_STEP_RLE``, ``MAX_STATE_RLE``): they live in the tab's memory and in every saved record."""
        def size(s: dict[str, Any]) -> int:
            return len(s["changed"]["counts"]) + sum(len(m["mask"]["counts"]) for m in s.get("marks", ()))

        new, kept = size(step), sum(size(s) for s in self.steps)
        if new > MAX_STEP_RLE:
            raise UserError(TOO_DETAILED.format(kb=new // 1024, where=""))
        if kept + new > MAX_STATE_RLE:
            raise UserError(TOO_DETAILED.format(kb=new // 1024, where=f"; this image's steps keep {kept // 1024:,} KB already, "
                                                                  f"of the {MAX_STATE_RLE // 1024:,} KB it may"))

    def _say(self, role: str, content: str) -> None:
        self.transcript.append({"role": role, "content": content})
        del self.transcript[:-MAX_TRANSCRIPT]

    def _require_image(self) -> None:
        if self.image is None:
            raise UserError(NO_IMAGE)

    # ------------------------------------------------------------------ priced actions and hand tools
    #
    # The methods below do what the ones above do (a click is guide_points, a hand tool is
    # paint), and also write on the step they add which tool made it and what it cost a
    # person in seconds (guide/dialogue/cost.py): steps gain "tool" and "seconds" keys, so the
    # state and the export keep each action's kind and cost.

    def click(self, row: int, col: int, label: int | str) -> Reply:
        """One labelled click, sent to the network as a hint (priced as a click)."""
        k = self._class_index(label, void=False)
        note = read_as_note([label], self.classes)
        return self._priced(lambda: self.guide_points([(int(row), int(col), k)], note=note), "click", cost.COST.click)

    def answer_priced(self, label: int | str) -> Reply:
        """:meth:`answer`, priced as an answer to "what is here?"."""
        return self._priced(lambda: self.answer(label), "answer", cost.COST.answer)

    def hint(self, text: str) -> Reply:
        """:meth:`say` a typed hint, priced by its words."""
        return self._priced(lambda: self.say(text), "hint", cost.COST.hint(str(text or "")))

    def relabel_segment(self, row: int, col: int, label: int | str) -> Reply:
        """One click sets the whole connected segment of the shown label map under (row, col)
        to ``label`` (a class, or ``VOID`` / "unsure"), by hand over the guided prediction."""
        self._require_image()
        k = self._class_index(label)
        try:
            mask = tools.segment_at(self.labels(), int(row), int(col))
        except ValueError as e:
            raise UserError(str(e)) from None
        return self._noted(self._tool_paint(mask, k, "relabel", cost.COST.relabel), [label])

    def superpixels(self) -> np.ndarray:
        """HxW int32 superpixel ids of the image (SLIC, computed once per image)."""
        self._require_image()
        held = getattr(self, "_superpixels", None)
        if held is None or held[0] != self.key:
            self._superpixels = (self.key, tools.superpixels(self.image))
        return self._superpixels[1]

    def superpixel_brush(self, points: Sequence[Sequence[int]], label: int | str) -> Reply:
        """A brush that snaps to image edges: every superpixel that a stroke point (row, col)
        falls in is set to ``label`` (a class or "unsure"), by hand."""
        self._require_image()
        k = self._class_index(label)
        segments = self.superpixels()
        try:
            mask = tools.superpixel_mask(segments, points)
        except (ValueError, TypeError, IndexError):
            raise UserError("Brush over the image: give (row, column) points inside it.") from None
        n = len(np.unique(segments[mask]))
        return self._noted(self._tool_paint(mask, k, "superpixel", cost.COST.superpixel_brush(n)), [label])

    def polygon(self, vertices: Sequence[Sequence[float]], label: int | str) -> Reply:
        """Set the pixels inside a polygon ((row, col) vertices, at least 3) to ``label``, by hand."""
        self._require_image()
        k = self._class_index(label)
        try:
            mask = tools.polygon_mask(vertices, self.image.shape[:2])
        except (ValueError, TypeError):
            raise UserError("A polygon needs at least 3 (row, column) corners.") from None
        return self._noted(self._tool_paint(mask, k, "polygon", cost.COST.polygon(len(vertices))), [label])

    def erase(self, mask: np.ndarray) -> Reply:
        """Mark the pixels of ``mask`` (HxW bool) "unsure" (``VOID``), by hand; priced as a brush
        tracing the mask's outline."""
        self._require_image()
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.image.shape[:2]:
            raise UserError(f"The eraser mask is {mask.shape}, the image {self.image.shape[:2]}.")
        seconds = cost.COST.brush(cost.outline_length(mask), max(mask.shape))
        return self._tool_paint(mask, VOID, "eraser", seconds)

    def time_spent(self) -> float:
        """Seconds of a person's time the kept steps cost (guide/dialogue/cost.py; steps made without a
        price, e.g. a sketch through :meth:`guide_points`, are estimated from what they said)."""
        return float(sum(cost.step_seconds(s) for s in self.steps))

    def hand_time(self) -> float:
        """Estimated seconds the same fixes would take with hand tools: each guided step's changed
        pixels drawn by polygon or brush, whichever is cheaper per region; a hand step what it cost
        (``guide.dialogue.cost.step_hand_seconds``)."""
        return float(sum(cost.step_hand_seconds(s) for s in self.steps))

    def time_saved(self) -> float:
        """Estimated seconds saved: :meth:`hand_time` minus :meth:`time_spent` (negative when
        guiding cost more than drawing its changes would have)."""
        return self.hand_time() - self.time_spent()

    def effort(self) -> dict[str, float]:
        """``{"seconds_spent", "hand_seconds", "seconds_saved"}`` of the kept steps (``guide.dialogue.cost.effort``)."""
        return cost.effort(self.steps)

    def suggest(self) -> "Suggestion":
        """The next action to suggest to a person, from what the network knows without ground
        truth (guide/dialogue/suggest.py): answer the pending question, relabel or click the least certain
        predicted segment, ask me, or "looks done"."""
        from guide.dialogue.suggest import suggest_next, uncertainty

        self._require_image()
        hand = np.zeros(self.image.shape[:2], dtype=bool)
        for s in self.steps:
            for m in s.get("marks", ()):
                hand |= rle_decode(m["mask"], hand.shape)
        confidence, second = uncertainty(self.session.logits()[0], self.image.shape[:2])
        confidence[hand] = 1.0  # what a person set is certain
        return suggest_next(self.labels(), confidence, second, self.classes, self.pending)

    def actions(self) -> list[dict[str, Any]]:
        """Each kept step's kind ("guide" / "paint"), tool (as priced; else "sketch", "answer",
        "hint" or "brush", estimated from what it said), what it said, its cost in seconds, and the
        estimated seconds the same fix would take by hand (``hand_seconds``: guide/dialogue/cost.py)."""
        out = []
        for s in self.steps:
            said = str(s.get("said", ""))
            tool = s.get("tool") or ("brush" if s["kind"] == "paint" else "sketch" if said.startswith(("(painted)", "(marked)"))
                                     else "answer" if said.startswith("It's ") else "hint")
            out.append({"kind": s["kind"], "tool": tool, "said": said, "seconds": round(cost.step_seconds(s), 2),
                        "hand_seconds": round(cost.step_hand_seconds(s), 2)})
        return out

    def _class_index(self, label: int | str, void: bool = True) -> int:
        if isinstance(label, str):
            if void and label.strip().lower() in ("unsure", "void"):
                return VOID
            k = resolve_class(label[:MAX_ANSWER], self.classes)
            if k is None:
                raise UserError(f"Unknown class {quote(label)}. Classes: {', '.join(self.classes)}.")
            return k
        k = int(label)
        if not (0 <= k < len(self.classes) or (void and k == VOID)):
            raise UserError(f"Unknown class {k}: this model has classes 0 to {len(self.classes) - 1}"
                            + (f" ({VOID} = unsure)." if void else "."))
        return k

    def _noted(self, reply: Reply, labels: Sequence[Any]) -> Reply:
        """``reply`` (just said) with :func:`read_as_note` of the classes as given added, in the transcript too."""
        note = read_as_note(labels, self.classes)
        if note:
            reply.text += note
            if self.transcript and self.transcript[-1]["role"] == "assistant":
                self.transcript[-1]["content"] += note
        return reply

    def _tool_paint(self, mask: np.ndarray, label: int, tool: str, seconds: float) -> Reply:
        if not mask.any():
            raise UserError("That selects no pixel; nothing changed.")
        edits = np.full(mask.shape, UNTOUCHED, dtype=np.int32)
        edits[mask] = label
        return self._priced(lambda: self.paint(edits), tool, seconds)

    def _priced(self, act: Callable[[], Reply], tool: str, seconds: float) -> Reply:
        n = len(self.steps)
        reply = act()
        if len(self.steps) > n:
            self.steps[-1]["tool"], self.steps[-1]["seconds"] = tool, round(float(seconds), 2)
        return reply

    def local_click(self, row: int, col: int, label: int | str) -> Reply:
        """A click whose guided change stays where it was made: the network is guided by the
        labelled pixel (row, col), and of what that changes only the connected pixels it turned
        into ``label`` around the click are kept, set by hand (one paint step; the session turn
        is taken back, so the rest of the map does not move). Priced as a click."""
        self._require_image()
        k = self._class_index(label, void=False)
        row, col = int(row), int(col)
        if not (0 <= row < self.image.shape[0] and 0 <= col < self.image.shape[1]):
            raise UserError(f"({row}, {col}) is outside the {self.image.shape[0]}x{self.image.shape[1]} image.")
        before = self.labels()
        self.session.add_clicks([(row, col, k)])
        try:
            after = self.labels().copy()
        finally:
            self.session.undo()
        from scipy import ndimage

        turned = (after == k) & (before != k)
        turned[row, col] = True  # the clicked pixel itself is what the person said
        comp, _ = ndimage.label(turned)
        return self._noted(self._tool_paint(comp == comp[row, col], k, "local click", cost.COST.click), [label])
