"""Conversation: one image's dialogue with the guided network, as the app holds it.

A :class:`Conversation` owns a :class:`~guide.session.GuideSession` (the guided network
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
     "pending": [row, col] | None, # the pixel asked about, image coordinates
     "transcript": [{"role": "user" | "assistant", "content": str}]}

:meth:`Conversation.set_state` restores it given the image (or with the image already
set), keeping the session's cached features and logits when they still hold.

Errors the person caused (an empty message, an unknown class, nothing to undo) raise
:class:`UserError` before anything changes; its message is meant to be shown as is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import cost, tools
from .backprop import BackpropSettings
from .classnames import close_classes, find_class, resolve_class
from .domain import domain_note
from .export import rle_decode, rle_encode
from .labels import VOID
from .model import GuidedModel
from .session import GuideSession, SessionOrderError, TurnResult, empty_state

STATE_VERSION = 1
MAX_TEXT = 500  # characters per chat message
MAX_ANSWER = 100  # characters of an answer to "what is here?"
MAX_TRANSCRIPT = 200  # messages kept in the transcript
MAX_TURNS = 50  # session turns one conversation may hold (each stores its guiding parameters, ~130 KB in memory)
UNTOUCHED = -1  # in :meth:`Conversation.paint` edits: a pixel the hand did not set

NO_IMAGE = "Pick an example scene or upload an image first."
NO_TEXT_GUIDE = (
    "This model has no text guide yet, so I can't read hints. "
    "Paint on the image and press Guide, or press Ask me and answer my question."
)
_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")  # as guide/text/tokenizer.py splits words


class UserError(Exception):
    """A problem with what the person did; the message is shown to them as is, and
    nothing in the conversation changed."""


@dataclass
class Reply:
    """What one call did: the reply to show, pixels gained per class name (negative:
    lost), and the pixels whose label changed (HxW bool; None when none could)."""

    text: str
    gained: dict[str, int] = field(default_factory=dict)
    changed: np.ndarray | None = None


def quote(text: str, n: int = 40) -> str:
    """“text”, cut to ``n`` characters: user text echoed in a reply never grows unbounded."""
    text = " ".join(str(text).split())
    return f"\u201c{text[:n]}{'…' if len(text) > n else ''}\u201d"


def image_key(image: np.ndarray) -> str:
    """A content hash of an image: which head features and which tab state belong to it."""
    return hashlib.sha1(image.tobytes() + str(image.shape).encode()).hexdigest()


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
        import guide.text.understand  # noqa: F401  (needs the text extras: GloVe vectors)
    except ImportError:
        return False
    return True


def empty_conversation() -> dict[str, Any]:
    """The state of a conversation with no image yet."""
    return {"version": STATE_VERSION, "key": None, "name": "image", "session": empty_state(), "steps": [], "pending": None, "transcript": []}


class Conversation:
    """One image's dialogue. Not thread-safe: one caller at a time (the app locks it)."""

    def __init__(self, model: GuidedModel, backprop: BackpropSettings | None = None, session: GuideSession | None = None,
                 max_turns: int | None = None, **session_options: Any) -> None:
        """``session`` (else a new one from ``backprop`` and ``session_options``) does the
        guiding; ``max_turns`` bounds the session turns (default ``MAX_TURNS``)."""
        self.model = model
        self.max_turns = max_turns
        self.classes = list(model.classes)
        self.session = session if session is not None else GuideSession(model, backprop or BackpropSettings(), **session_options)
        self.image: np.ndarray | None = None
        self.key: str | None = None  # image_key of the image whose head features the session holds
        self.name = "image"
        self.steps: list[dict[str, Any]] = []
        self.pending: list[int] | None = None
        self.transcript: list[dict[str, str]] = []
        self._labels: tuple[Any, tuple, np.ndarray] | None = None  # (the session's logits, the paint steps, the label map)

    # ------------------------------------------------------------------ image and state

    def set_image(self, image: np.ndarray, name: str = "image", note: str = "", key: str | None = None,
                  own: bool = False, intro: str = "") -> Reply:
        """Start a conversation about ``image`` (HxWx3 uint8 RGB); ``note`` is appended to
        the greeting's size (e.g. " (downscaled from ...)"). Runs the head unless the
        session already holds this image. ``own``: a person's own image, not one of the
        model's examples; a model trained on synthetic images then says what it knows and
        how to load one for real photos (guide/domain.py). ``intro``: said first (e.g.
        "Switched to model ...")."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
        self._hold_image(image, key or image_key(image))
        self.session.reset()
        self.name, self.steps, self.pending, self.transcript = str(name)[:60] or "image", [], None, []
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
            "pending": list(self.pending) if self.pending else None,
            "transcript": [dict(m) for m in self.transcript],
        }

    def set_state(self, state: dict[str, Any], image: np.ndarray | None = None) -> None:
        """Restore :meth:`get_state` output. ``image`` is needed unless this conversation
        already holds the state's image; the session's cached logits survive when the
        state's turns are the ones it holds."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION or not isinstance(state.get("steps"), list):
            raise ValueError("not a Conversation state: expected a dict from Conversation.get_state()")
        if state["key"] is None:
            self.image, self.steps, self.pending, self.name = None, [], None, state.get("name", "image")
            self.transcript = [dict(m) for m in state["transcript"]]
            return
        if image is not None:
            self._hold_image(np.asarray(image), state["key"])
        elif state["key"] != self.key or self.image is None:
            raise ValueError("this state belongs to another image: pass the image to set_state")
        if sum(int(s["turns"]) for s in state["steps"]) != len(state["session"]["turns"]):
            raise ValueError("inconsistent Conversation state: the steps do not add up to the session's turns")
        self.session.set_state(state["session"])
        self.name = str(state["name"])
        self.steps = [dict(s) for s in state["steps"]]
        self.pending = list(state["pending"]) if state["pending"] else None
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
                        labels[rle_decode(m["mask"])] = m["label"]
            self._labels = (logits, paints, labels)
        return self._labels[2]

    def changed(self) -> np.ndarray | None:
        """HxW bool: the pixels the last step changed (None before the first step)."""
        return rle_decode(self.steps[-1]["changed"]) if self.steps else None

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
        class is meant."""
        self._require_image()
        text = " ".join(str(text or "").split())
        if not text:
            raise UserError("Type a hint first, e.g. \u201cthere is a coat on the top left\u201d.")
        if len(text) > MAX_TEXT:
            raise UserError(f"That message is {len(text)} characters; please keep hints under {MAX_TEXT}.")
        words = _WORD.findall(text.lower())
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
        from .text.understand import name_class, split_clauses
        from .text.vectors import load_vectors

        # One message may hold several hints ("a coat on the left and no grass on the bottom"):
        # each clause is its own text turn, and the message is one step (undone as a whole).
        clauses = split_clauses(text, self.classes)
        vectors = load_vectors()
        if all(name_class(_WORD.findall(c.lower()), self.classes, vectors)[0] is None for c in clauses):
            return self._which_class(text, words)
        return self._step(text, lambda: self._add_clauses(clauses), lambda r: r.reply)

    def _add_clauses(self, clauses: Sequence[str]) -> TurnResult:
        """Apply each clause as a text turn; one result whose reply has a sentence per clause.
        If one fails, the turns the earlier clauses added are taken back before it is raised."""
        start = self.session.turn_count
        results = []
        try:
            for clause in clauses:
                results.append(self.session.add_text(clause))
        except Exception:
            while self.session.turn_count > start:
                self.session.undo()
            raise
        if len(results) == 1:
            return results[0]
        gained: dict[str, int] = {}
        for r in results:
            for name, n in r.gained.items():
                gained[name] = gained.get(name, 0) + n
        reply = " ".join(f"({i}) \u201c{c}\u201d: {r.reply}" for i, (c, r) in enumerate(zip(clauses, results), 1))
        return TurnResult(reply, {k: v for k, v in gained.items() if v}, ignored_words=[w for r in results for w in r.ignored_words])

    def _which_class(self, text: str, words: Sequence[str]) -> Reply:
        """Nothing changes; ask which class the message means, nearest names first."""
        near = close_classes(text, self.classes)
        if self.has_text_guide:
            from .text.understand import near_classes
            from .text.vectors import load_vectors

            near = list(dict.fromkeys(near + near_classes(words, self.classes, load_vectors())))[:3]
        guess = f" Did you mean {' or '.join(near)}?" if near else ""
        if self.pending and len(words) <= 3:
            reply = f"I don't know a class called {quote(text)}.{guess} Classes: {', '.join(self.classes)}."
        else:
            reply = (f"I could not find a class name in {quote(text)}, so I changed nothing. Which class do you mean?{guess} "
                     f"Classes: {', '.join(self.classes)}.")
        self._say("user", text)
        self._say("assistant", reply)
        return Reply(reply)

    def guide_points(self, points: Sequence[Sequence[int]], how: str = "marked", note: str = "") -> Reply:
        """Guide by backprop with labelled pixels ``(row, col, class index)``; ``how`` is
        "painted" (a sketch: the same strokes twice in a row are refused) or "marked"."""
        self._require_image()
        points = [tuple(int(v) for v in p) for p in points]
        if not points:
            raise UserError("Nothing painted yet: pick a class colour in the brush and paint over the part the network got wrong, then press Guide."
                            if how == "painted" else "No points given.")
        turns = self.session.get_state()["turns"]
        if how == "painted" and turns and turns[-1]["kind"] == "pixels" and tuple(map(tuple, turns[-1]["points"])) == tuple(points):
            raise UserError("Those strokes were already applied. Paint new ones, or press Undo.")
        names = sorted({self.classes[p[2]] for p in points if 0 <= p[2] < len(self.classes)})
        said = f"({how}) {', '.join(names)} ({len(points)} px)"
        return self._step(said, lambda: self.session.add_clicks(points), lambda r: f"{r.reply} {describe_changes(r.gained)}{note}")

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
        reply = self._step(said or f"It's {name}.", lambda: self.session.add_clicks([(y, x, k)]),
                           lambda r: f"Thanks: that's {name}. {describe_changes(r.gained)}")
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
        self.steps.append({"kind": "paint", "said": said, "turns": 0, "marks": marks, "changed": rle_encode(changed)})
        reply = f"Set {int(changed.sum()):,} px by hand ({', '.join(names)}); guiding will not move them, Undo takes them back."
        self._say("user", said)
        self._say("assistant", reply)
        gained = {n: int((changed & (edits == v)).sum()) for n, v in zip(names, values)}
        return Reply(reply, gained, changed)

    def undo(self) -> Reply:
        """Withdraw the pending question, else take back the last step (all its turns)."""
        self._require_image()
        before = self.labels()
        if self.pending:
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
        self.steps, self.pending = [], None
        message = "Back to the network's own prediction."
        self._say("assistant", message)
        return Reply(message, changed=before != self.labels())

    # ------------------------------------------------------------------ helpers

    def _step(self, said: str, run: Callable[[], TurnResult], wording: Callable[[TurnResult], str]) -> Reply:
        """Run one step (``run`` adds session turns), record what it changed, say it.

        A step that added no turn (a taken-back hint, nothing to remove) is not recorded
        as a step but its reply is still said."""
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
            self.steps.append({"kind": "guide", "said": said, "turns": added, "changed": rle_encode(changed)})
        reply = wording(result)
        self._say("user", said)
        self._say("assistant", reply)
        return Reply(reply, result.gained, changed)

    def _say(self, role: str, content: str) -> None:
        self.transcript.append({"role": role, "content": content})
        del self.transcript[:-MAX_TRANSCRIPT]

    def _require_image(self) -> None:
        if self.image is None:
            raise UserError(NO_IMAGE)

    # ------------------------------------------------------------------ priced actions and hand tools (issue 22)
    #
    # The methods below do what the ones above do (a click is guide_points, a hand tool is
    # paint), and also write on the step they add which tool made it and what it cost a
    # person in seconds (guide/cost.py): steps gain "tool" and "seconds" keys, so the
    # state and the export keep each action's kind and cost.

    def click(self, row: int, col: int, label: int | str) -> Reply:
        """One labelled click, sent to the network as a hint (priced as a click)."""
        k = self._class_index(label, void=False)
        return self._priced(lambda: self.guide_points([(int(row), int(col), k)]), "click", cost.COST.click)

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
        return self._tool_paint(mask, k, "relabel", cost.COST.relabel)

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
        return self._tool_paint(mask, k, "superpixel", cost.COST.superpixel_brush(n))

    def polygon(self, vertices: Sequence[Sequence[float]], label: int | str) -> Reply:
        """Set the pixels inside a polygon ((row, col) vertices, at least 3) to ``label``, by hand."""
        self._require_image()
        k = self._class_index(label)
        try:
            mask = tools.polygon_mask(vertices, self.image.shape[:2])
        except (ValueError, TypeError):
            raise UserError("A polygon needs at least 3 (row, column) corners.") from None
        return self._tool_paint(mask, k, "polygon", cost.COST.polygon(len(vertices)))

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
        """Seconds of a person's time the kept steps cost (guide/cost.py; steps made without a
        price, e.g. a sketch through :meth:`guide_points`, are estimated from what they said)."""
        return float(sum(cost.step_seconds(s) for s in self.steps))

    def time_saved(self) -> float:
        """Estimated seconds saved: drawing the shown label map from scratch with polygons
        (one per connected region) minus :meth:`time_spent`."""
        return cost.scratch_seconds(self.labels()) - self.time_spent()

    def actions(self) -> list[dict[str, Any]]:
        """Each kept step's kind ("guide" / "paint"), tool (as priced; else "sketch", "answer",
        "hint" or "brush", estimated from what it said), what it said, and its cost in seconds."""
        out = []
        for s in self.steps:
            said = str(s.get("said", ""))
            tool = s.get("tool") or ("brush" if s["kind"] == "paint" else "sketch" if said.startswith(("(painted)", "(marked)"))
                                     else "answer" if said.startswith("It's ") else "hint")
            out.append({"kind": s["kind"], "tool": tool, "said": said, "seconds": round(cost.step_seconds(s), 2)})
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
        return self._tool_paint(comp == comp[row, col], k, "local click", cost.COST.click)
