"""What a newcomer's probe of the library and the app found, each through the Conversation and,
where it is an app endpoint, through the app's API: a "Did you mean grass?" that "yes" answers,
set_image taking a PIL image or a path, guide_points taking class names (and saying its format),
typos read as a class said in the reply, the hand tools' formats in their errors, and the
data-set flow's saved count said once. Tiny random models from conftest (no shipped weights)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guide.core.backprop import BackpropSettings
from guide.dialogue.conversation import Conversation, UserError
from guide.dialogue.session import GuideSession

FAST = BackpropSettings(optimizer="lbfgs", max_steps=5)
STATUS = 3  # the app's outputs: overlay, chat, legend, status, ...
SET_IMAGE_TAKES = "set_image takes an HxWx3 uint8 array, a PIL image or an image path"


@pytest.fixture(scope="module")
def model(app_model_dir):
    from guide.models.hub import load_model

    return load_model(app_model_dir, device="cpu")


def conversation(model, scene, **kw) -> Conversation:
    conv = Conversation(model, FAST, **kw)
    conv.set_image(scene, "scene")
    return conv


# ---------------------------------------------------------------- 1. "Did you mean grass?" takes a yes


def test_gras_is_a_word_glove_knows_so_the_reader_does_not_respell_it(text_model) -> None:
    """Why "gras" took the no-class path while "coaat" got a yes/no question: GloVe knows "gras"
    (Mardi Gras) among its common words, and the reader respells only words it does not know."""
    from guide.text.reader import RARE_RANK, interpret, respelling
    from guide.text.tokenizer import tokenize
    from guide.text.vectors import load_vectors

    vectors = load_vectors()
    classes = text_model.classes
    assert vectors.key_to_index["gras"] < RARE_RANK
    text = "delete the gras at the bottom"
    assert interpret(tokenize(text, vectors), classes, vectors, text=text).label is None
    assert interpret(tokenize("delete the coaat", vectors), classes, vectors, text="delete the coaat").how == "spelling"
    assert respelling(text.split(), classes) == (classes.index("grass"), 2)
    assert respelling("cot on the left".split(), classes) == (None, -1)  # a short known word is no typo


def test_did_you_mean_grass_is_asked_as_a_yes_no_question(text_model, scene) -> None:
    conv = conversation(text_model, scene)
    p0 = conv.labels().copy()
    reply = conv.say("delete the gras at the bottom")  # the probe's message
    assert reply.text == ("I read \u201cgras\u201d as grass. Do you mean: remove the grass on the bottom? "
                          "(yes / no / find it instead)"), reply.text
    assert conv.steps == [] and np.array_equal(conv.labels(), p0) and conv.confirm["op"] == "remove"
    reply = conv.say("yes")  # the tiny model shows no grass: there is none to remove
    assert reply.text.startswith("I don't see any grass in the image, so there is nothing to remove"), reply.text
    assert conv.steps == [] and conv.confirm is None


@pytest.mark.parametrize("answer,says,ops", [
    ("yes", "Understood: find grass on the bottom", ["find"]),
    ("remove it instead", "I don't see any grass in the image", None),
    ("no", "OK, I changed nothing", None),
])
def test_did_you_mean_grass_takes_each_answer(text_model, scene, answer, says, ops) -> None:
    conv = conversation(text_model, scene, keep_backfiring_text=True)  # a done hint stays: the steps are predictable
    p0 = conv.labels().copy()
    assert not (p0 == text_model.classes.index("grass")).any()  # so removing grass does nothing
    reply = conv.say("add the gras at the bottom")
    assert reply.text.endswith("Do you mean: find the grass on the bottom? (yes / no / remove it instead)"), reply.text
    reply = conv.say(answer)
    assert reply.text.startswith(says), reply.text
    assert conv.confirm is None and conv.transcript[-2] == {"role": "user", "content": answer}
    assert [s.get("ops") for s in conv.steps] == ([ops] if ops else [])
    assert [s.get("clauses") for s in conv.steps] == ([["add the grass at the bottom"]] if ops else [])
    assert [s["said"] for s in conv.steps] == (["add the gras at the bottom"] if ops else [])


def test_a_bare_yes_with_no_question_says_so(text_model, scene) -> None:
    conv = conversation(text_model, scene)
    reply = conv.say("cot on the left")  # "Did you mean coat?" from the spelling of a common word: no yes/no question
    assert "Did you mean coat?" in reply.text and conv.confirm is None
    reply = conv.say("yes")
    assert reply.text.startswith("There is no question waiting for a yes or no, so I changed nothing."), reply.text
    assert "with a class name" in reply.text and conv.steps == []


def test_the_app_takes_yes_to_did_you_mean_grass(app_server, example: str) -> None:
    pytest.importorskip("gradio_client")
    from gradio_client import Client, handle_file

    if not app_server[1].guide_app.has_text_guide:
        pytest.skip("the app model has no text guide")
    c = Client(app_server[0], verbose=False, download_files=True)
    c.predict(handle_file(example), api_name="/set_image")
    r = c.predict("add the gras at the bottom", api_name="/chat")
    assert "I read \u201cgras\u201d as grass. Do you mean: find the grass on the bottom? (yes / no / remove it instead)" == r[STATUS]
    r = c.predict("yes", api_name="/chat")
    assert r[STATUS].startswith("Understood: find grass on the bottom"), r[STATUS]
    c.predict(api_name="/undo")


# ---------------------------------------------------------------- 2. set_image takes a PIL image or a path


def test_set_image_takes_a_pil_image_or_a_path(model, scene, tmp_path: Path) -> None:
    path = tmp_path / "scene.png"
    Image.fromarray(scene).save(path)
    session = GuideSession(model)
    session.set_image(scene)
    expected = session.predict().copy()
    for image in (str(path), path, Image.open(path), Image.fromarray(scene).convert("RGBA")):
        session = GuideSession(model)
        session.set_image(image)
        np.testing.assert_array_equal(session.predict(), expected)
        conv = Conversation(model, FAST)
        conv.set_image(image)
        np.testing.assert_array_equal(conv.labels(), expected)
        assert conv.image.shape == scene.shape and conv.image.dtype == np.uint8


def test_set_image_refuses_anything_else_clearly(model, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    for bad, error in ((None, TypeError), (3, TypeError), ([[1, 2]], TypeError), (np.zeros((8, 8)), ValueError),
                       (np.zeros((8, 8, 3)), ValueError), (str(text), ValueError)):
        for target in (GuideSession(model), Conversation(model, FAST)):
            with pytest.raises(error, match=SET_IMAGE_TAKES):
                target.set_image(bad)
    with pytest.raises(FileNotFoundError):
        GuideSession(model).set_image(tmp_path / "missing.png")


# ---------------------------------------------------------------- 3. guide_points takes class names


def test_guide_points_takes_class_names(model, scene) -> None:
    by_index = conversation(model, scene)
    by_name = conversation(model, scene)
    k = model.classes.index("coat")
    a = by_index.guide_points([(40, 30, k), (10, 10, 0)])
    b = by_name.guide_points([(40, 30, "coat"), (10, 10, "Sky")])
    np.testing.assert_array_equal(by_name.labels(), by_index.labels())
    assert a.text == b.text and "Read" not in b.text
    assert [list(q) for q in by_name.get_state()["session"]["turns"][0]["points"]] == [[40, 30, k], [10, 10, 0]]


@pytest.mark.parametrize("points,says", [
    ('[[40, 30, "coat"]]', "Got a JSON string"),
    ([(40, 30)], "Got \u201c(40, 30)\u201d"),
    ([(40, "x", 2)], "row and column must be numbers"),
    ([(40, 30, None)], "the class must be a name or an index"),
    (5, "Got an int"),
])
def test_malformed_points_name_the_format(model, scene, points, says) -> None:
    conv = conversation(model, scene)
    p0 = conv.labels().copy()
    with pytest.raises(UserError) as refused:
        conv.guide_points(points)
    assert "list of (row, column, class) triples" in str(refused.value) and 'e.g. [(40, 30, "coat")' in str(refused.value)
    assert says in str(refused.value)
    assert conv.steps == [] and np.array_equal(conv.labels(), p0)
    with pytest.raises(UserError, match="Unknown class \u201cunicorn\u201d"):
        conv.guide_points([(40, 30, "unicorn")])


def test_add_clicks_names_its_format(model, scene) -> None:
    session = GuideSession(model)
    session.set_image(scene)
    for points, says in (([(40, 30, "coat")], "got the class name 'coat'"), ('[[40, 30, 2]]', "got a string"),
                         ([(40, 30)], "got (40, 30)")):
        with pytest.raises(ValueError, match=r"\(row, col, class index\)") as refused:
            session.add_clicks(points)
        assert says in str(refused.value)
    assert session.turns == []
    session.add_clicks([(40, 30, "2")])  # a digit string read as an index, as before
    assert [list(q) for q in session.turns[0]["points"]] == [[40, 30, 2]]


# ---------------------------------------------------------------- 4. a typo read as a class is said


def test_a_typo_read_as_a_class_is_said(model, scene) -> None:
    conv = conversation(model, scene)
    k = model.classes.index("coat")
    reply = conv.guide_points([(40, 30, "coaat"), (10, 10, "sky")])
    assert reply.text.endswith(" (Read \u201ccoaat\u201d as coat.)"), reply.text
    assert conv.transcript[-1]["content"] == reply.text
    assert list(conv.get_state()["session"]["turns"][0]["points"][0]) == [40, 30, k]  # what is done does not change
    assert "Read" not in conv.guide_points([(41, 30, "Coats")]).text  # a plural, another case: no typo
    conv.ask()
    assert conv.answer("bagg").text.endswith("(Read \u201cbagg\u201d as bag.)")
    reply = conv.relabel_segment(5, 5, "snekaer")
    assert reply.text.startswith("Set ") and reply.text.endswith("(Read \u201csnekaer\u201d as sneaker.)")
    assert conv.transcript[-1]["content"] == reply.text
    assert conv.polygon([(0, 0), (0, 20), (20, 20)], "sandl").text.endswith("(Read \u201csandl\u201d as sandal.)")
    assert conv.superpixel_brush([(50, 50)], "gras").text.endswith("(Read \u201cgras\u201d as grass.)")
    assert "Read" not in conv.superpixel_brush([(60, 60)], "grass").text
    assert conv.local_click(30, 60, "wal").text.endswith("(Read \u201cwal\u201d as wall.)")


def test_the_app_says_which_typo_it_read(app_server, example: str) -> None:
    pytest.importorskip("gradio_client")
    from gradio_client import Client, handle_file

    c = Client(app_server[0], verbose=False, download_files=True)
    c.predict(handle_file(example), api_name="/set_image")
    r = c.predict('[[40, 30, "coaat"]]', api_name="/guide_points")
    assert r[STATUS].startswith("Guided by 1 labelled pixel (coat)") and "(Read \u201ccoaat\u201d as coat.)" in r[STATUS], r[STATUS]
    r = c.predict('[[40, 30, "coat"]]', api_name="/guide_points")
    assert "Read" not in r[STATUS], r[STATUS]
    c.predict(api_name="/ask")
    r = c.predict("coaat", api_name="/answer")
    assert r[STATUS].startswith("Thanks: that's coat.") and "(Read \u201ccoaat\u201d as coat.)" in r[STATUS], r[STATUS]
    r = c.predict('[40, 30, "snekaer"]', api_name="/relabel_segment")
    assert r[STATUS].startswith("Set ") and "(Read \u201csnekaer\u201d as sneaker.)" in r[STATUS], r[STATUS]
    c.predict(api_name="/reset")


# ---------------------------------------------------------------- 5. the hand tools' errors say their format


def test_hand_tools_errors_name_the_format(app_server, example: str) -> None:
    pytest.importorskip("gradio_client")
    from gradio_client import Client, handle_file

    c = Client(app_server[0], verbose=False, download_files=True)
    c.predict(handle_file(example), api_name="/set_image")
    cases = [
        ("/relabel_segment", "40 30 coat", 'e.g. [40, 30, "coat"]'),
        ("/local_click", "40 30 coat", 'e.g. [40, 30, "coat"]'),
        ("/relabel_segment", "[40, 30]", 'e.g. [40, 30, "coat"]'),
        ("/superpixel_brush", "40 30 coat", 'e.g. {"points": [[40, 30], [42, 34]], "label": "coat"}'),
        ("/superpixel_brush", '{"points": [40, 30], "label": "coat"}', 'e.g. {"points": [[40, 30], [42, 34]], "label": "coat"}'),
        ("/polygon", "10 10 10 60 50 35 sand", 'e.g. {"vertices": [[10, 10], [10, 60], [50, 35]], "label": "sand"}'),
        ("/erase", "10 10 10 60 50 35", 'e.g. {"vertices": [[10, 10], [10, 60], [50, 35]]}'),
        ("/erase", '{"vertices": [[1, 1], [2, 2]]}', 'e.g. {"vertices": [[10, 10], [10, 60], [50, 35]]}'),
    ]
    for api, arg, says in cases:
        r = c.predict(arg, api_name=api)
        assert says in r[STATUS], (api, arg, r[STATUS])
    files = c.predict(api_name="/export")
    info = json.loads(Path(next(f for f in files if str(f).endswith(".json"))).read_text())
    assert info["actions"] == []  # nothing was done


# ---------------------------------------------------------------- 6. save_next says the saved count once


def test_save_and_next_says_the_count_once(tiny_model, tmp_path: Path) -> None:
    from guide.annotation.annotator import Annotator
    from guide.serving.pool import ConversationPool

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((24, 32, 3), 40 * i, np.uint8)).save(folder / f"scene_{i:02d}.png")
    a = Annotator(tiny_model, ConversationPool(tiny_model, FAST), tmp_path / "out")
    tab, place, _ = a.open_images([folder], None, None)
    tab, place, msg = a.save_and_next(tab, place)
    assert msg == "Saved scene_00. 1 / 3 saved. Image 2 of 3: scene_01 (to do).", msg
    tab, place, msg = a.step(tab, place, +1)  # moving on still says where the data set stands
    assert msg == "Image 3 of 3: scene_02 (to do). 1 / 3 saved.", msg


def test_the_app_says_the_count_once(app_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("gradio_client")
    from conftest import launched
    from gradio_client import Client, handle_file

    import app
    from guide.models.hub import load_model

    demo = app.build_demo(load_model(app_model_dir, device="cpu"), FAST, examples=[], out=str(tmp_path / "out"))
    with launched(demo) as url:
        c = Client(url, verbose=False, download_files=True)
        paths = []
        for i in range(3):
            paths.append(tmp_path / f"scene_{i:02d}.png")
            Image.fromarray(np.full((24, 32, 3), 40 * i, np.uint8)).save(paths[-1])
        c.predict([handle_file(str(p)) for p in paths], api_name="/open_images")
        r = c.predict(api_name="/save_next")
        assert r[STATUS] == "Saved scene_00. 1 / 3 saved. Image 2 of 3: scene_01 (to do).", r[STATUS]
