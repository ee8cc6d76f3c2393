"""guide/dialogue/cost.py: the cost model in seconds, and the priced hand tools through the Conversation."""

import numpy as np
import pytest

from guide.core.backprop import BackpropSettings
from guide.core.labels import VOID
from guide.dialogue.conversation import Conversation, UserError
from guide.dialogue.cost import COST, CostModel, outline_length, polygon_vertices, scratch_seconds, step_seconds
from guide.dialogue.tools import polygon_mask, segment_at, superpixel_mask, superpixels
from guide.models.hub import load_model

FAST = BackpropSettings(optimizer="lbfgs", max_steps=5)


def test_prices_follow_the_model():
    c = CostModel(click=2.0, hint_think=1.0, hint_word=0.5, polygon_vertex=1.0, polygon_close=3.0, superpixel=0.5,
                  brush_start=2.0, brush_speed=0.5)
    assert c.hint("there is a coat") == pytest.approx(1.0 + 4 * 0.5)
    assert c.polygon(4) == pytest.approx(3.0 + 4.0)
    assert c.superpixel_brush(1) == pytest.approx(2.0) and c.superpixel_brush(5) == pytest.approx(2.0 + 4 * 0.5)
    assert c.brush(100, 200) == pytest.approx(2.0 + 100 / (0.5 * 200))
    # a longer hint, a polygon with more vertices, a longer outline all cost more
    assert COST.hint("a coat on the top left") > COST.hint("a coat")
    assert COST.polygon(20) > COST.polygon(4) > COST.click
    assert set(COST.as_dict()) >= {"click", "answer", "polygon_vertex", "ideal_brush", "full_image"}


def test_outline_and_polygon_of_a_square():
    mask = np.zeros((40, 40), dtype=bool)
    mask[10:30, 5:25] = True
    assert outline_length(mask) == 4 * 20 - 4  # its boundary pixels
    (poly,) = polygon_vertices(mask, tolerance=1.0)
    assert len(poly) == 4  # a square simplifies to its four corners
    filled = polygon_mask(poly, mask.shape)
    assert (filled == mask).mean() > 0.97  # the rasterised polygon is the square
    # two parts: two polygons; an L shape has more vertices than a square
    two = mask.copy()
    two[33:38, 33:38] = True
    assert len(polygon_vertices(two, 1.0)) == 2
    ell = mask.copy()
    ell[10:20, 5:25] = False
    ell[10:30, 15:25] = True
    ell[10:20, 5:15] = False
    assert len(polygon_vertices(ell, 1.0)[0]) > 4


def test_scratch_seconds_grows_with_regions():
    one = np.zeros((32, 32), dtype=np.uint8)
    two = one.copy()
    two[8:16, 8:16] = 1
    assert scratch_seconds(two) > scratch_seconds(one) > 0
    assert scratch_seconds(np.full((32, 32), VOID, dtype=np.uint8)) == 0


def test_step_seconds_priced_and_estimated():
    assert step_seconds({"kind": "paint", "seconds": 7.5}) == 7.5
    assert step_seconds({"kind": "guide", "said": "(marked) coat, sky (2 px)"}) == pytest.approx(2 * COST.click)
    assert step_seconds({"kind": "guide", "said": "It's sky."}) == COST.answer
    assert step_seconds({"kind": "guide", "said": "there is a coat"}) == COST.hint("there is a coat")


def test_tools_select_the_right_pixels():
    labels = np.zeros((20, 20), dtype=np.uint8)
    labels[5:10, 5:10] = 2
    labels[15:18, 15:18] = 2  # the same class, not connected
    seg = segment_at(labels, 6, 6)
    assert seg.sum() == 25 and not seg[16, 16]
    with pytest.raises(ValueError):
        segment_at(labels, 20, 0)
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    image[:, 20:] = 255  # two flat halves: superpixels never straddle the edge
    sp = superpixels(image, size=40)
    left = superpixel_mask(sp, [(10, 5)])
    assert left.any() and not left[:, 20:].any()
    with pytest.raises(ValueError):
        superpixel_mask(sp, [(-1, 5)])
    with pytest.raises(ValueError):
        polygon_mask([(0, 0), (5, 5)], (10, 10))


# ---------------------------------------------------------------- through the Conversation


@pytest.fixture(scope="module")
def model(app_model_dir):
    return load_model(app_model_dir, device="cpu")


@pytest.fixture
def conv(model):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, size=(64, 80, 3), dtype=np.uint8)
    img[:20] = [120, 180, 240]
    c = Conversation(model, FAST)
    c.set_image(img, "scene")
    return c


def test_relabel_segment_sets_the_whole_connected_segment(conv):
    before = conv.labels().copy()
    seg = segment_at(before, 30, 40)
    k = (int(before[30, 40]) + 1) % len(conv.classes)
    reply = conv.relabel_segment(30, 40, k)
    after = conv.labels()
    assert (after[seg] == k).all() and (after[~seg] == before[~seg]).all()
    assert reply.changed.sum() == seg.sum()
    step = conv.steps[-1]
    assert step["kind"] == "paint" and step["tool"] == "relabel" and step["seconds"] == COST.relabel
    assert conv.time_spent() == pytest.approx(COST.relabel)
    conv.undo()
    assert (conv.labels() == before).all() and conv.time_spent() == 0


def test_superpixel_brush_snaps_to_superpixels_and_is_priced_by_them(conv):
    sp = conv.superpixels()
    assert sp.shape == (64, 80) and conv.superpixels() is sp  # computed once per image
    points = [(40, 10), (40, 30), (40, 50)]
    ids = {int(sp[p]) for p in points}
    conv.superpixel_brush(points, "coat")
    coat = conv.classes.index("coat")
    assert (conv.labels()[np.isin(sp, list(ids))] == coat).all()
    assert conv.steps[-1]["tool"] == "superpixel"
    assert conv.steps[-1]["seconds"] == pytest.approx(COST.superpixel_brush(len(ids)))


def test_polygon_and_eraser(conv):
    conv.polygon([(10, 10), (10, 40), (40, 40), (40, 10)], "shirt")
    shirt = conv.classes.index("shirt")
    assert (conv.labels()[12:38, 12:38] == shirt).all()
    assert conv.steps[-1]["seconds"] == pytest.approx(COST.polygon(4))
    mask = np.zeros((64, 80), dtype=bool)
    mask[50:60, 60:70] = True
    conv.erase(mask)
    assert (conv.labels()[mask] == VOID).all() and conv.steps[-1]["tool"] == "eraser"
    # relabel works on "unsure" too, and a click guides (a session turn) with its price
    conv.relabel_segment(55, 65, "unsure")
    conv.click(5, 5, "sky")
    assert conv.steps[-1]["kind"] == "guide" and conv.steps[-1]["tool"] == "click"
    assert conv.time_spent() == pytest.approx(sum(s["seconds"] for s in conv.steps))
    state = conv.get_state()
    assert [s["tool"] for s in state["steps"]] == ["polygon", "eraser", "relabel", "click"]


def test_bad_tool_input_changes_nothing(conv):
    before = conv.get_state()
    for bad in (lambda: conv.relabel_segment(100, 5, "sky"), lambda: conv.relabel_segment(5, 5, "zebra"),
                lambda: conv.relabel_segment(5, 5, 99), lambda: conv.superpixel_brush([(-5, -5)], "sky"),
                lambda: conv.polygon([(1, 1), (2, 2)], "sky"), lambda: conv.erase(np.zeros((3, 3), bool)),
                lambda: conv.erase(np.zeros((64, 80), bool)), lambda: conv.click(5, 5, "unsure")):
        with pytest.raises(UserError):
            bad()
    assert conv.get_state() == before


def test_local_click_keeps_only_the_change_around_the_click(conv):
    before = conv.labels().copy()
    y, x = 40, 40
    k = (int(before[y, x]) + 1) % len(conv.classes)
    conv.local_click(y, x, k)
    after = conv.labels()
    changed = after != before
    assert after[y, x] == k and (after[changed] == k).all()  # only the clicked class was set
    from scipy import ndimage

    comp, n = ndimage.label(changed)
    assert n == 1 and comp[y, x] == 1  # one connected change, through the click
    step = conv.steps[-1]
    assert step["kind"] == "paint" and step["tool"] == "local click" and conv.session.turn_count == 0
    with pytest.raises(UserError):
        conv.local_click(500, 5, k)


# ---------------------------------------------------------------- time spent against the same fixes by hand


def test_hand_seconds_prices_each_region_by_the_cheaper_hand_tool():
    from guide.dialogue.cost import HAND_MIN_PIXELS, hand_seconds

    big = np.zeros((64, 64), dtype=bool)
    big[5:60, 5:60] = True  # a large square: a 4-corner polygon beats tracing its long outline
    assert COST.polygon(4) < COST.brush(outline_length(big), 64)
    assert hand_seconds(big) == pytest.approx(COST.polygon(4))
    small = np.zeros((64, 64), dtype=bool)
    small[10:20, 10:20] = True  # a small one: the brush round it is quicker than four corners
    assert COST.brush(outline_length(small), 64) < COST.polygon(4)
    assert hand_seconds(small) == pytest.approx(COST.brush(outline_length(small), 64))
    two = small.copy()
    two[40:50, 40:50] = True  # a second region costs its own
    assert hand_seconds(two) == pytest.approx(2 * hand_seconds(small))
    speck = small.copy()
    speck[60, 60] = True  # a speck under HAND_MIN_PIXELS is no fix a person would draw
    assert HAND_MIN_PIXELS > 1 and hand_seconds(speck) == hand_seconds(small)
    assert hand_seconds(np.zeros((8, 8), bool)) == 0
    # cut out of a larger image, a region's outline is its own (the cut's edge is not the image border)
    wide = np.zeros((300, 300), dtype=bool)
    wide[100:110, 100:110] = True
    assert hand_seconds(wide) == pytest.approx(COST.brush(outline_length(wide), 300)) and outline_length(wide) == 36
    edge = np.zeros((300, 300), dtype=bool)
    edge[0:10, 100:110] = True  # along the image border: that side needs no tracing
    assert hand_seconds(edge) == pytest.approx(COST.brush(outline_length(edge), 300)) and outline_length(edge) < 36


def test_effort_from_steps_alone():
    from guide.core.export import rle_encode
    from guide.dialogue.cost import effort, hand_seconds, step_hand_seconds

    changed = np.zeros((64, 64), dtype=bool)
    changed[5:25, 5:25] = True
    guided = {"kind": "guide", "said": "(marked) coat (1 px)", "turns": 1, "changed": rle_encode(changed), "tool": "click", "seconds": 2.4}
    hand = {"kind": "paint", "said": "(set by hand) coat (9 px)", "turns": 0, "changed": rle_encode(changed), "tool": "polygon",
            "seconds": 9.0, "marks": []}
    assert step_hand_seconds(guided) == pytest.approx(hand_seconds(changed)) and step_hand_seconds(hand) == 9.0
    e = effort([guided, hand])
    assert e["seconds_spent"] == pytest.approx(11.4) and e["hand_seconds"] == pytest.approx(hand_seconds(changed) + 9.0)
    assert e["seconds_saved"] == pytest.approx(e["hand_seconds"] - e["seconds_spent"])
    nothing = {**guided, "changed": rle_encode(np.zeros((64, 64), bool))}  # a guided step that changed nothing saved nothing
    assert effort([nothing]) == {"seconds_spent": 2.4, "hand_seconds": 0.0, "seconds_saved": -2.4}
    assert effort([]) == {"seconds_spent": 0.0, "hand_seconds": 0.0, "seconds_saved": 0.0}


def test_conversation_effort_and_export_actions_keep_kind_and_cost(conv):
    conv.polygon([(10, 10), (10, 40), (40, 40), (40, 10)], "shirt")
    conv.click(50, 60, "sky")
    e = conv.effort()
    assert e["seconds_spent"] == pytest.approx(conv.time_spent()) == pytest.approx(COST.polygon(4) + COST.click)
    assert e["hand_seconds"] == pytest.approx(conv.hand_time()) and conv.time_saved() == pytest.approx(e["seconds_saved"], abs=0.02)
    actions = conv.actions()
    assert [(a["kind"], a["tool"]) for a in actions] == [("paint", "polygon"), ("guide", "click")]
    assert actions[0]["seconds"] == actions[0]["hand_seconds"] == pytest.approx(COST.polygon(4))  # a hand step: its own price
    assert actions[1]["seconds"] == COST.click and actions[1]["hand_seconds"] >= 0
    conv.undo()  # the time line counts the kept steps
    assert conv.effort()["seconds_spent"] == pytest.approx(COST.polygon(4))
