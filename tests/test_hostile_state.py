"""A state is plain data anyone can write (a browser tab, a data-set record, a hand-made zip): each part
is checked before anything is decoded or computed from it, and masks a step keeps are bounded."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from guide.annotation.annotator import Annotator, seconds_spent
from guide.core.backprop import BackpropSettings
from guide.core.export import rle_decode
from guide.dialogue.conversation import MAX_STATE_RLE, Conversation, UserError
from guide.dialogue.session import GuideSession
from guide.serving.pool import ConversationPool

HUGE = {"size": [20000, 20000], "counts": "1"}  # would decode to 400 MB of mask


@pytest.fixture
def conv(tiny_model, image) -> Conversation:
    c = Conversation(tiny_model, backprop=BackpropSettings(max_steps=3))
    c.set_image(image, "x")
    c.guide_points([(10, 10, 1)])
    return c


def test_a_forged_mask_size_is_refused_before_it_is_decoded(conv: Conversation, image) -> None:
    with pytest.raises(ValueError, match="larger than any image"):
        rle_decode(HUGE)
    good = conv.get_state()
    before = conv.labels().copy()
    for forged_step in (
        {"kind": "paint", "said": "x", "turns": 0, "changed": HUGE, "marks": [{"label": 1, "mask": HUGE}]},
        {"kind": "paint", "said": "x", "turns": 0, "changed": {"size": [5, 5], "counts": "1"}, "marks": []},  # not the image's size
        {"kind": "paint", "said": "x", "turns": 0, "changed": good["steps"][0]["changed"],
         "marks": [{"label": 99, "mask": good["steps"][0]["changed"]}]},  # a class the model does not have
        {"kind": "guide", "said": "x", "turns": 0, "changed": good["steps"][0]["changed"], "seconds": "soon"},
    ):
        state = json.loads(json.dumps(good))
        state["steps"].append(forged_step)
        tracemalloc.start()
        with pytest.raises(ValueError):
            conv.set_state(state, image)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 50_000_000  # nothing near the 400 MB the forged size asks for
        assert conv.get_state() == good and np.array_equal(conv.labels(), before)  # nothing changed


def test_forged_session_turns_are_refused(tiny_model, image) -> None:
    session = GuideSession(tiny_model)
    session.set_image(image)
    h, w = image.shape[:2]
    for turns in (
        [{"kind": "pixels", "points": [[h + 5, 0, 1]], "click_params": None}],  # outside the image
        [{"kind": "pixels", "points": [[0, 0, 1]] * 10_001, "click_params": None}],  # more points than a turn holds
        [{"kind": "pixels", "points": [[0, 0, 1]], "click_params": {"alpha": [[float("nan")]], "beta": [[0.0]],
                                                                     "gamma_s": [[0.0]], "gamma_b": [[0.0]]}}],
        [{"kind": "text", "text": "x" * 5000, "params": {}, "click_params": None}],
        [{"kind": "magic"}],
    ):
        with pytest.raises(ValueError):
            session.set_state({"turns": turns, "asked": []})
        assert session.turns == []


def test_a_scattered_paint_is_refused_and_nothing_is_kept(tiny_model) -> None:
    big = np.random.default_rng(0).integers(0, 255, (1024, 1024, 3), dtype=np.uint8)
    c = Conversation(tiny_model)
    c.set_image(big, "big")
    checker = ((np.indices(big.shape[:2]).sum(0) % 2) * 2).astype(np.int32) - 1  # every other pixel set to class 1
    with pytest.raises(UserError, match="too scattered"):
        c.paint(checker)
    assert c.steps == []
    stroke = np.full(big.shape[:2], -1, dtype=np.int32)
    stroke[100:140, 50:400] = 2  # a real brush stroke is a few hundred bytes of mask
    c.paint(stroke)
    kept = sum(len(m["mask"]["counts"]) for s in c.steps for m in s["marks"])
    assert len(c.steps) == 1 and kept < MAX_STATE_RLE // 100


def test_a_poisoned_record_opens_with_a_message_and_its_labels(tiny_model, tmp_path: Path) -> None:
    from test_annotate import write_images

    write_images(tmp_path / "in", 2)
    a = Annotator(tiny_model, ConversationPool(tiny_model, BackpropSettings(max_steps=3)), tmp_path / "out")
    tab, place, _ = a.open_images([tmp_path / "in"], None, None)
    with a.pool.open(tab) as c:
        c.guide_points([(5, 5, 1)])
        tab = a.pool.tab(c)
    tab, place, _ = a.save(tab, place)
    ds = a.dataset(place)
    tab, place, msg = a.step(tab, place, +1)  # away from img0: its record is now what the disk holds
    record = next((tmp_path / "out").rglob("img0.json"))
    stored = json.loads(record.read_text())
    state = stored["state"] if "state" in stored else stored
    state["steps"].append({"kind": "paint", "said": "x", "turns": 0, "changed": HUGE, "marks": [{"label": 1, "mask": HUGE}]})
    record.write_text(json.dumps(stored))
    assert seconds_spent(state) > 0  # the strip prices it without decoding it
    a = Annotator(tiny_model, ConversationPool(tiny_model, BackpropSettings(max_steps=3)), tmp_path / "out")  # a restart reads it
    ds = a.dataset(place)
    tab, place, msg = a.go(None, place, "img0")
    assert place["current"] == "img0" and "could not be read" in msg and "set by hand" in msg
    with a.pool.open(tab) as c:
        assert np.array_equal(c.labels(), ds.labels("img0"))  # the saved labels, shown as set by hand


def forged_zip(tiny_model, tmp_path: Path, forge) -> tuple[Annotator, dict, dict, str]:
    """A data set of two saved images downloaded as a zip whose img0 record ``forge(state)`` edits, opened
    by another tab; returns (annotator, tab, place, message)."""
    import zipfile

    from test_annotate import write_images

    write_images(tmp_path / "in", 2)
    a = Annotator(tiny_model, ConversationPool(tiny_model, BackpropSettings(max_steps=3)), None)
    tab, place, _ = a.open_images([tmp_path / "in"], None, None)
    with a.pool.open(tab) as c:
        c.guide_points([(5, 5, 1)])
        tab = a.pool.tab(c)
    tab, place, _ = a.save_and_next(tab, place)
    tab, place, _ = a.save_and_next(tab, place)
    src, forged = Path(a.download(tab, place)), tmp_path / "forged.zip"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(forged, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("conversations/img0.json"):
                record = json.loads(data)
                forge(record["state"])
                data = json.dumps(record).encode()
            zout.writestr(info, data)
    tab, place, msg = a.open_images([forged], None, None)  # another tab
    return a, tab, place, msg


@pytest.mark.parametrize("forge", [
    lambda s: s.update(junk=[[]] * 1000),  # a key no state has: megabytes of it were kept and copied at every visit
    lambda s: s["steps"][0].update(clauses=[[]] * 1000),
    lambda s: s["steps"].append({"kind": "paint", "said": "x", "turns": 0, "changed": s["steps"][0]["changed"]}),  # no marks
    lambda s: s["steps"].append({"kind": "paint", "said": "x", "turns": 0, "changed": HUGE, "marks": [{"label": 1, "mask": HUGE}]}),
], ids=["unknown key", "junk clauses", "paint without marks", "huge mask"])
def test_a_forged_record_in_a_zip_is_not_kept_and_its_labels_are(tiny_model, tmp_path: Path, forge) -> None:
    a, tab, place, msg = forged_zip(tiny_model, tmp_path, forge)
    assert "img0: its conversation could not be read" in msg and "its labels were kept" in msg
    ds = a.dataset(place)
    assert ds.conversation("img0") is None or "junk" not in ds.conversation("img0")
    assert ds.labels("img0") is not None and ds.status("img0") == "saved"
    tab, place, msg = a.go(tab, place, "img0")  # opens, from its saved labels
    with a.pool.open(tab) as c:
        assert np.array_equal(c.labels(), ds.labels("img0"))
