"""Text turns in GuideSession (tiny random text guide from conftest's app_model_dir)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from guide.core.block import GuideParams
from guide.dialogue.conversation import turn_reply
from guide.dialogue.session import NOTHING_TO_REMOVE, TAKEN_BACK, TEXT_COMPOSE_MODES, GuideSession
from guide.models.hub import load_model


def most_predicted(session: GuideSession) -> str:
    """The class covering most of the current prediction (so a remove hint about it means something)."""
    return session.model.classes[int(np.bincount(session.predict().ravel()).argmax())]


def test_text_turn_changes_prediction_and_undo_restores(text_model, scene):
    session = GuideSession(text_model, text_class_scope=None)  # (this test model's guide makes no coat pixel)
    session.set_image(scene)
    p0 = session.predict()
    result = session.add_text("there is a coat on the top left")
    reading = result.reading
    assert (reading.op, text_model.classes[reading.label], reading.place) == ("find", "coat", "on the top left")
    assert turn_reply(result, text_model.classes).startswith("Understood: find coat on the top left")
    assert not np.array_equal(session.predict(), p0)
    assert session.undo() and np.array_equal(session.predict(), p0)


def test_unreadable_text_is_a_clear_error_and_changes_nothing(text_model, scene):
    session = GuideSession(text_model)
    session.set_image(scene)
    with pytest.raises(ValueError, match="could not find a class name"):  # NoClassError (issue 23), a ValueError
        session.add_text("qqqzx vvbnm")
    assert session.turns == []


def test_one_text_turn_is_the_same_in_every_composition(text_model, scene):
    logits = []
    for mode in TEXT_COMPOSE_MODES:
        session = GuideSession(text_model, text_compose=mode, text_class_scope=None)  # (the class scope: "delta" only)
        session.set_image(scene)
        session.add_text(f"there is no {most_predicted(session)}")
        assert len(session.turns) == 1
        logits.append(session.logits())
    assert all(torch.allclose(logits[0], other, atol=1e-4) for other in logits[1:])


def test_delta_composition_adds_each_turns_change(text_model, scene):
    hints = ["there is a coat on the left", "there is a bag on the bottom right"]
    single = []
    for text in hints:
        s = GuideSession(text_model, text_compose="delta")
        s.set_image(scene)
        base = s.logits().clone()
        s.add_text(text)
        single.append(s.logits() - base)
    both = GuideSession(text_model, text_compose="delta")
    both.set_image(scene)
    base = both.logits().clone()
    for text in hints:
        both.add_text(text)
    assert len(both.turns) == 2
    assert torch.allclose(both.logits() - base, single[0] + single[1], atol=1e-4)


def test_removing_a_class_that_is_not_predicted_changes_nothing(text_model, scene):
    session = GuideSession(text_model)
    session.set_image(scene)
    p0 = session.predict()
    absent = [c for k, c in enumerate(text_model.classes) if not (p0 == k).any() and c.isalpha()]
    assert absent, "the test scene should leave some class unpredicted"
    result = session.add_text(f"there is no {absent[0]}")
    assert result.outcome == NOTHING_TO_REMOVE and result.gained == {}
    assert f"don't see any {absent[0]}" in turn_reply(result, text_model.classes)
    assert session.turns == [] and np.array_equal(session.predict(), p0)
    # ...while removing a class that is there is a real turn.
    session.add_text(f"there is no {most_predicted(session)}")
    assert len(session.turns) == 1


def test_clicks_after_text_are_honoured(text_model, scene):
    session = GuideSession(text_model)
    session.set_image(scene)
    session.add_text("there is a coat on the top left")
    probs = session.probabilities()
    label = int(np.argsort(probs[:, 40, 40])[-2])
    result = session.add_clicks([(40, 40, label)])
    if result.satisfied:
        assert session.predict()[40, 40] == label
    assert [t["kind"] for t in session.turns] == ["text", "pixels"]
    session.undo()
    assert [t["kind"] for t in session.turns] == ["text"]


def test_unknown_composition_is_rejected(text_model):
    with pytest.raises(ValueError, match="text_compose"):
        GuideSession(text_model, text_compose="blend")


def test_a_text_turn_that_backfires_is_taken_back(text_model, scene, monkeypatch):
    """A "find" that shrinks its class is taken back (and says so); a "remove" that shrinks it is kept."""
    import guide.text.reader as understand
    from guide.core.block import GuideParams

    probe = GuideSession(text_model)
    probe.set_image(scene)
    p0 = probe.predict()
    name = most_predicted(probe)
    label = text_model.classes.index(name)
    other = int(np.argsort(probe.probabilities().mean(axis=(1, 2)))[-2])  # the runner-up class overall
    probe.add_clicks([(y, x, other) for y in range(4, 64, 8) for x in range(4, 64, 8)])
    assert (probe.predict() == label).sum() < (p0 == label).sum()
    shrink = probe.turns[-1]["click_params"]  # guiding parameters that shrink the class
    real = understand.encode_hint
    monkeypatch.setattr(understand, "encode_hint", lambda tg, text: (GuideParams.from_lists(shrink), real(tg, text)[1]))

    for keep in (False, True):
        session = GuideSession(text_model, keep_backfiring_text=keep)
        session.set_image(scene)
        result = session.add_text(f"there is a {name}")
        if keep:
            assert len(session.turns) == 1 and result.gained[name] < 0
        else:
            assert result.outcome == TAKEN_BACK and result.moved < 0 and result.gained == {}
            assert "took it back" in turn_reply(result, text_model.classes)
            assert session.turns == [] and np.array_equal(session.predict(), p0)
            removed = session.add_text(f"there is no {name}")
            assert len(session.turns) == 1 and removed.gained[name] < 0


def _text_state(model, n: int, seed: int = 0, with_click: bool = False, scoped: bool = False) -> dict:
    """A state of ``n`` text turns with random guide parameters (plain data, like get_state);
    ``scoped``: every other turn is class-scoped (to class i % K)."""
    g = torch.Generator().manual_seed(seed)
    turns = []
    for i in range(n):
        zero = model.text_guide.block.zero_params()
        params = GuideParams(*(0.3 * torch.randn(t.shape, generator=g) for t in zero.tensors())).to_lists()
        if scoped and i % 2 == 0:
            params["scope"] = i % model.num_classes
        turns.append({"kind": "text", "text": f"hint {i}", "params": params, "click_params": None})
    if with_click:
        zero = model.block.zero_params()
        click = GuideParams(*(0.2 * torch.randn(t.shape, generator=g) for t in zero.tensors()))
        turns.append({"kind": "pixels", "points": [[1, 1, 0]], "click_params": click.to_lists()})
    return {"turns": turns, "asked": []}


@torch.no_grad()
def _recomputed(model, scene, state, mode: str) -> torch.Tensor:
    """Logits straight from the definition of ``mode`` (no cache)."""
    seg, tg = model.segmenter, model.text_guide
    f = seg.head(model.preprocess(scene))
    a, offset = f.guided, 0
    texts = [t["params"] for t in state["turns"] if t["kind"] == "text"]
    params = [GuideParams.from_lists(t) for t in texts]
    if mode == "delta":
        plain = seg.tail(f)
        offset = torch.zeros_like(plain)
        for t, p in zip(texts, params):
            change = seg.tail(f, tg.block(a, p)) - plain
            if "scope" in t:  # where the class is, before or after, given the earlier turns
                now = plain + offset
                change = change * ((now.argmax(1, keepdim=True) == t["scope"]) | ((now + change).argmax(1, keepdim=True) == t["scope"]))
            offset = offset + change
    else:
        for p in params:
            a = tg.block(a, p)
    clicks = [t["click_params"] for t in state["turns"] if t["click_params"] is not None]
    if clicks:
        a = model.block(a, GuideParams.from_lists(clicks[-1]))
    return seg.tail(f, a) + offset


@pytest.mark.parametrize("mode, scoped", [("delta", False), ("delta", True), ("stack", False)])
def test_cached_text_turns_match_recomputation(text_model, scene, mode, scoped):
    session = GuideSession(text_model, text_compose=mode)
    session.set_image(scene)
    full = _text_state(text_model, 12, with_click=True, scoped=scoped)
    checks = [full["turns"][:k] for k in (1, 2, 5, 12)]  # the conversation growing
    checks += [full["turns"][:11], full["turns"][:10], full["turns"][:4]]  # undo one, one more, several
    checks += [full["turns"][:12] + full["turns"][12:]]  # forward again, click on top
    checks += [_text_state(text_model, 3, seed=1)["turns"]]  # an unrelated conversation (set_state)
    for turns in checks:
        state = {"turns": turns, "asked": []}
        session.set_state(state)
        assert torch.allclose(session.logits(), _recomputed(text_model, scene, state, mode), atol=1e-4), len(turns)
    # undo() of a text turn after many
    session.set_state(full)
    session.undo()
    session.undo()
    state = {"turns": full["turns"][:11], "asked": []}
    assert torch.allclose(session.logits(), _recomputed(text_model, scene, state, mode), atol=1e-4)


def test_a_text_turn_costs_one_tail_pass_at_any_turn(text_model, scene, monkeypatch):
    """Delta mode: earlier text turns' changes are cached, not re-run."""
    session = GuideSession(text_model, text_compose="delta")
    session.set_image(scene)
    full = _text_state(text_model, 20)
    session.set_state({"turns": full["turns"][:19], "asked": []})
    session.logits()
    calls = []
    tail = text_model.segmenter.tail
    monkeypatch.setattr(text_model.segmenter, "tail", lambda *a, **k: calls.append(1) or tail(*a, **k))
    session.set_state(full)  # what the app does before a turn: the 20th text turn arrives
    session.logits()
    assert len(calls) == 1


def test_undoing_scoped_text_turns_costs_a_tail_pass_each(text_model, scene, monkeypatch):
    """Dropping several class-scoped turns at once (Undo of a compound message) subtracts their
    changes with the masks they had, one tail pass each, and gives the recomputed logits."""
    session = GuideSession(text_model, text_compose="delta")
    session.set_image(scene)
    full = _text_state(text_model, 20, scoped=True)
    session.set_state(full)
    session.logits()
    calls = []
    tail = text_model.segmenter.tail
    monkeypatch.setattr(text_model.segmenter, "tail", lambda *a, **k: calls.append(1) or tail(*a, **k))
    kept = {"turns": full["turns"][:17], "asked": []}
    session.set_state(kept)
    logits = session.logits()
    assert len(calls) == 3
    monkeypatch.setattr(text_model.segmenter, "tail", tail)
    assert torch.allclose(logits, _recomputed(text_model, scene, kept, "delta"), atol=1e-4)



@pytest.mark.parametrize("reword", [True, False])
def test_the_guide_reads_the_readers_canonical_rewording(text_model, scene, reword):
    """A hint in any wording reaches the guide as the reader's canonical sentence ("there is no
    coat on the top left"), whatever the user typed; reword_hints=False: the typed words."""
    def guided(text: str, reword_hints: bool) -> torch.Tensor:
        s = GuideSession(text_model, reword_hints=reword_hints, keep_backfiring_text=True)
        s.set_image(scene)
        s.add_text(text)
        return s.logits()

    probe = GuideSession(text_model)
    probe.set_image(scene)
    name = most_predicted(probe)  # a remove hint about a class the network predicts
    typed = f"please get that {name} out of the upper left corner"
    canonical = f"there is no {name} on the top left"
    read = {t: guided(t, False) for t in (typed, canonical)}  # the guide reading each sentence as written
    assert not torch.equal(read[typed], read[canonical])  # so the check below tells them apart
    session = GuideSession(text_model, reword_hints=reword, keep_backfiring_text=True)
    session.set_image(scene)
    session.add_text(typed)
    assert session.turns[0]["text"] == typed  # the transcript keeps what was typed
    assert torch.equal(session.logits(), read[canonical if reword else typed])


def test_canonical_hint_words():
    from guide.text.reader import Reading, canonical_hint

    classes = ["sky", "ankle boot", "coat"]
    assert canonical_hint(Reading("find", 1, "on the top left"), classes) == "there is an ankle boot on the top left"
    assert canonical_hint(Reading("remove", 2, "in the middle"), classes) == "there is no coat in the middle"
    assert canonical_hint(Reading("find", 0, "everywhere"), classes) == "there is a sky"  # the guide's place-less form
    assert canonical_hint(Reading("remove", None, "on the left"), classes) is None


def test_place_mask_covers_the_named_thirds():
    from guide.text.compose import place_mask

    m = place_mask("on the top left", 0.0, (9, 12))
    assert m[:3, :4].all() and m.sum() == 12  # the top-left ninth only
    wide = place_mask("on the top left", 1 / 9, (9, 12))
    assert wide[:4, :5].all() and not wide[4:].any() and not wide[:, 6:].any()
    assert place_mask("on the bottom", 0.0, (9, 12))[6:].all() and place_mask("on the bottom", 0.0, (9, 12)).sum() == 36
    middle = place_mask("in the middle", 0.0, (9, 9))
    assert middle[3:6].all() and middle[:, 3:6].all() and not middle[0, 0]
    assert place_mask("", 0.0, (4, 5)).all() and place_mask("everywhere", 0.3, (4, 5)).all()


def test_a_composer_starts_text_turns_from_its_base(text_model, scene):
    """TextComposer(base=...): the text turns and the plain logits start from that activation,
    exactly as a session's turns start from the head's."""
    from guide.text.compose import TextComposer

    session = GuideSession(text_model, keep_backfiring_text=True)
    session.set_image(scene)
    session.add_text("there is a coat on the top left")
    texts = [t["params"] for t in session.turns]
    features = text_model.segmenter.head(text_model.preprocess(scene))
    with torch.no_grad():
        own = TextComposer(text_model, features)
        a, offset = own.guided(texts, "delta")
        assert a is features.guided and torch.allclose(own.plain() + offset, session.logits(), atol=1e-5)
        shifted = features.guided + 0.5
        other = TextComposer(text_model, features, base=shifted)
        b, other_offset = other.guided(texts, "delta")
        assert b is shifted and torch.allclose(other.plain(), text_model.segmenter.tail(features, shifted))
        assert not torch.allclose(other.plain() + other_offset, session.logits(), atol=1e-3)


def test_place_mask_keeps_a_text_turns_change_inside_its_place(text_model, scene):
    """text_place_mask={"remove": m}: a remove hint "on the left" changes no logit in the
    right two thirds (without the mask it does); the place is part of the stored turn, so
    set_state needs nothing else."""
    def right_change(**options) -> tuple[GuideSession, float, float]:
        session = GuideSession(text_model, keep_backfiring_text=True, text_class_scope=None, **options)
        session.set_image(scene)
        before = session.logits().clone()
        session.add_text(f"there is no {most_predicted(session)} on the left")
        change = (session.logits() - before).abs()[0].amax(0)
        w = change.shape[1]
        return session, float(change[:, : w // 3].max()), float(change[:, -(w // 2):].max())

    session, left, right = right_change(text_place_mask={"remove": 0.0})
    assert left > 0 and right == 0.0
    other = GuideSession(text_model, keep_backfiring_text=True, text_class_scope=None, text_place_mask={"remove": 0.0})
    other.set_image(scene)
    other.set_state(session.get_state())
    assert torch.allclose(other.logits(), session.logits())
    _, left, right = right_change(text_place_mask=None)  # no mask: the paper
    assert left > 0 and right > 0


def test_the_default_session_masks_hints_with_a_place(text_model, scene):
    """By default a hint naming a place changes nothing outside it (widened by TEXT_PLACE_MASK);
    a hint naming no place is not masked."""
    from guide.dialogue.session import TEXT_PLACE_MASK
    from guide.text.compose import place_mask

    session = GuideSession(text_model, keep_backfiring_text=True, text_class_scope=None)
    session.set_image(scene)
    before = session.logits().clone()
    session.add_text("there is a coat on the top left")
    change = (session.logits() - before).abs()[0].amax(0)
    inside = place_mask("on the top left", TEXT_PLACE_MASK["find"], change.shape) > 0
    assert float(change[inside].max()) > 0 and float(change[~inside].max()) == 0.0
    logits = []
    for options in ({}, {"text_place_mask": None}):  # no place: the same as without any mask
        s = GuideSession(text_model, keep_backfiring_text=True, text_class_scope=None, **options)
        s.set_image(scene)
        s.add_text("there is a coat")
        logits.append(s.logits())
    assert torch.equal(logits[0], logits[1])


def test_class_scope_keeps_a_text_turns_change_on_its_class():
    """The class scope (by default for find and remove): a hint about class k changes the logits
    only where k labels the pixel before or after it; without it (text_class_scope=None, the
    paper), the change reaches other pixels."""
    from PIL import Image

    root = Path(__file__).resolve().parent.parent
    model = load_model(root / "checkpoints" / "scenes-lraspp", device="cpu")  # (the tiny test model predicts one class)
    photo = np.asarray(Image.open(root / "examples" / "scene_00.png").convert("RGB"))
    probe = GuideSession(model)
    probe.set_image(photo)
    name = most_predicted(probe)
    runner_up = model.classes[int(np.argsort(probe.probabilities().mean(axis=(1, 2)))[-2])]
    changes = {}
    for scope, text, hinted in (("default", f"there is no {name}", name), ("default", f"there is a {runner_up}", runner_up),
                                (None, f"there is no {name}", name)):
        options = {} if scope == "default" else {"text_class_scope": None}
        session = GuideSession(model, keep_backfiring_text=True, text_place_mask=None, **options)
        session.set_image(photo)
        k = list(model.classes).index(hinted)
        first = session.logits().clone()
        session.add_text(text)
        last = session.logits()
        named = (first.argmax(1)[0] == k) | (last.argmax(1)[0] == k)
        changes[scope, text] = ((last - first).abs()[0].amax(0) > 0, named)
    for text in (f"there is no {name}", f"there is a {runner_up}"):
        changed, named = changes["default", text]
        assert changed.any() and not (changed & ~named).any(), text
    changed, named = changes[None, f"there is no {name}"]
    assert (changed & ~named).any()  # the paper's guide changes other classes' pixels too


def test_a_scoped_hint_sees_what_earlier_hints_did():
    """The class scope is taken in the logits the earlier text turns give: a remove can take back
    pixels an earlier find made (embedded model, an example scene where a find adds sneaker)."""
    from PIL import Image

    root = Path(__file__).resolve().parent.parent
    model = load_model(root / "checkpoints" / "scenes-lraspp", device="cpu")
    photo = np.asarray(Image.open(root / "examples" / "scene_00.png").convert("RGB"))
    k = list(model.classes).index("sneaker")
    session = GuideSession(model, keep_backfiring_text=True)
    session.set_image(photo)
    maps = [session.predict() == k]
    for text in ("there is a sneaker on the left", "there is no sneaker on the left"):
        session.add_text(text)
        maps.append(session.predict() == k)
    assert (maps[1] & ~maps[0] & ~maps[2]).any()  # the remove took back sneaker pixels the find made
    assert session.undo() and np.array_equal(session.predict() == k, maps[1])  # the cache steps back
    session.undo()
    assert np.array_equal(session.predict() == k, maps[0])


def test_class_scope_and_place_mask_take_operations(text_model):
    with pytest.raises(ValueError, match="tuple of operations"):
        GuideSession(text_model, text_class_scope="remove")
    with pytest.raises(ValueError, match="maps operations"):
        GuideSession(text_model, text_place_mask={"both": 0.25})
    assert GuideSession(text_model, text_class_scope=["find"]).text_class_scope == ("find",)
