"""Choosing models: GUIDE_MODEL / GUIDE_MODELS, the model selector (per tab), the bound on
models in memory (guide/serving/pool.py: ModelShelf), and the embedded model's honesty about its
domain when a person brings their own image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REAL_MODEL
from PIL import Image

import app
from guide.models.domain import domain_note
from guide.models.hub import load_model
from guide.serving.pagevalues import load_image
from guide.serving.pool import ConversationPool, ModelShelf, blank_tab
from guide.ui.annotate import UNSURE

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

VOC_WORDS = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train", "tv monitor",
]


def test_the_shelf_keeps_at_most_size_models(tiny_model_dir: Path) -> None:
    loads: list[str] = []

    def load(spec: str):
        loads.append(spec)
        return load_model(tiny_model_dir, device="cpu")

    shelf = ModelShelf(load, size=2)
    a = shelf.pool("a")
    assert shelf.pool("a") is a and loads == ["a"]  # held: not loaded again
    shelf.pool("b"), shelf.pool("a"), shelf.pool("c")
    assert shelf.loaded() == ["a", "c"] and loads == ["a", "b", "c"]  # b was least recently used
    assert shelf.pool("b").spec == "b" and loads == ["a", "b", "c", "b"]  # evicted: loaded again
    assert len(shelf.loaded()) == 2 and set(shelf.configs) == {"a", "b", "c"}
    with pytest.raises(ValueError):
        ModelShelf(load, size=0)


def test_a_switch_starts_a_fresh_conversation_on_the_same_image(tiny_model_dir: Path, image: np.ndarray) -> None:
    shelf = ModelShelf(lambda spec: load_model(tiny_model_dir, device="cpu"), size=2)
    first = shelf.pool("one")
    with first.start(image, "mine") as conv:
        conv.guide_points([(2, 3, 1)])
        tab = first.tab(conv)
    assert tab["model"] == "one" and len(tab["steps"]) == 1
    moved = shelf.switch(tab, "two", "Switched to two.")
    assert moved["model"] == "two" and moved["steps"] == [] and moved["key"] == tab["key"] and moved["name"] == "mine"
    assert moved["transcript"][0]["content"] == "Switched to two." and moved["transcript"][1]["content"].startswith("New image")
    empty = shelf.switch(blank_tab("one"), "two", "Switched.")
    assert empty["model"] == "two" and empty["image"] is None and empty["transcript"] == [{"role": "assistant", "content": "Switched."}]


def test_a_synthetic_model_says_so_for_a_persons_own_image(tiny_model_dir: Path, image: np.ndarray, tmp_path: Path) -> None:
    model = load_model(tiny_model_dir, device="cpu")  # its own copy: the config is changed below
    model.config.domain = "synthetic scenes"
    example = tmp_path / "example.png"
    Image.fromarray(image).save(example)
    pool = ConversationPool(model, examples=[example])
    note = domain_note(model.config)
    assert note and "GUIDE_MODEL=torchvision:" in note
    with pool.start(load_image(example)[0], "example") as conv:  # one of its examples: no note
        assert note not in conv.transcript[-1]["content"]
    own = image.copy()
    own[0, 0] = 0
    with pool.start(own, "mine") as conv:
        assert len(conv.transcript) == 1 and note in conv.transcript[0]["content"]  # the first reply
        assert conv.transcript[0]["content"].startswith("New image")
    model.config.domain = "photos (COCO with VOC labels)"  # a real model: never
    with ConversationPool(model).start(own, "mine") as conv:
        assert "Heads-up" not in conv.transcript[0]["content"]


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> str:
    data = pytest.importorskip("skimage.data")
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)  # shipped with scikit-image: no download
    return str(path)


def said(chat: list[dict]) -> list[str]:
    """The chat's messages as text (the client gives a message's content as parts)."""
    text = lambda c: " ".join(p.get("text", "") for p in c if isinstance(p, dict)) if isinstance(c, list) else str(c)  # noqa: E731
    return [text(m["content"]) for m in chat]


def export_classes(c: Client) -> list[str]:
    files = c.predict(api_name="/export")
    return json.loads(Path(next(f for f in files if str(f).endswith(".json"))).read_text())["classes"]


def test_guide_model_segments_a_real_photo_and_a_tab_switches_models(models_server, photo: str) -> None:
    url, demo, tiny = models_server
    assert demo.guide_app.default == REAL_MODEL and demo.guide_app.model.classes == VOC_WORDS
    c = Client(url, verbose=False, download_files=True)
    overlay, chat, legend, status, _, _ = c.predict(handle_file(photo), api_name="/set_image")  # (the tab state stays on the server)
    assert status == "Image loaded." and Path(overlay).is_file()
    assert said(chat)[-1].startswith("New image, 512x512") and "Heads-up" not in said(chat)[-1]
    assert all(f">{w}<" in legend for w in VOC_WORDS)  # the legend names the 21 VOC classes
    assert export_classes(c) == VOC_WORDS
    r = c.predict('[[100, 250, "person"], [20, 20, "background"]]', api_name="/guide_points")
    assert r[3].startswith("Guided by 2 labelled pixels"), r[3]

    # the same tab switches to the tiny model: a fresh conversation about the same photo
    selector, status = c.predict(tiny, api_name="/load_model")
    assert status == f"Model {tiny} ready."
    overlay, chat, legend, status = c.predict(tiny, False, api_name="/switch_model")
    assert said(chat)[0].startswith("Switched to **tiny-app") and said(chat)[1].startswith("New image, 512x512")
    assert len(chat) == 2 and ">coat<" in legend and ">aeroplane<" not in legend
    tiny_classes = load_model(tiny, device="cpu").classes
    assert export_classes(c) == tiny_classes
    info, brush, answer, *_ = c.predict(api_name="/model_widgets")  # the brush and answer classes follow the model
    assert "**tiny-app**" in info and brush["value"] == "sky" and answer["value"] is None
    assert [v for _, v in brush["choices"]] == [v for _, v in answer["choices"]] == tiny_classes
    r = c.predict('[[20, 20, "coat"]]', api_name="/guide_points")  # the new model's class names
    assert r[3].startswith("Guided by 1 labelled pixel"), r[3]
    # another tab is still on the default model
    other = Client(url, verbose=False, download_files=True)
    other.predict(handle_file(photo), api_name="/set_image")
    assert export_classes(other) == VOC_WORDS


def test_a_bad_model_spec_stops_the_start_with_a_message(monkeypatch: pytest.MonkeyPatch, app_model_dir: Path) -> None:
    monkeypatch.setenv("GUIDE_MODEL", str(app_model_dir))
    monkeypatch.setenv("GUIDE_MODELS", "torchvision:resnet_nope")
    with pytest.raises(SystemExit, match=r"Could not load the model 'torchvision:resnet_nope' \(from --models / GUIDE_MODELS\)"):
        app.demo_from_args([])
    assert app.model_specs(None, " a, ,b,a ") == ["scenes-lraspp", "a", "b"]


def test_examples_and_widgets_follow_the_tabs_model(tiny_model_dir: Path, app_model_dir: Path) -> None:
    """A synthetic-scenes model shows scenes, a photo model photos: one gallery each, the
    tab's model decides which is visible; brush and answer classes are the model's."""
    from guide.models.domain import example_images

    def load(spec: str):
        model = load_model(tiny_model_dir if spec == "synthetic" else app_model_dir, device="cpu")
        model.config.domain = "synthetic scenes" if spec == "synthetic" else "photos (COCO with VOC labels)"
        return model

    shelf = ModelShelf(load, size=2, examples=example_images)
    shelf.add("photos", load("photos"))
    demo = app.build_demo(shelf.pool("photos").model, shelf=shelf, spec="photos", choices=["photos", "synthetic"])
    guide_app = demo.guide_app
    scenes, photos = tuple(shelf.example_files("synthetic")), tuple(shelf.example_files("photos"))
    if not scenes or not photos:
        pytest.skip("example scenes or scikit-image photos cannot be made here")
    assert all("scene_" in p for p in scenes) and {Path(p).stem for p in photos} >= {"astronaut", "coffee"}
    assert set(guide_app.galleries) == {scenes, photos}
    for spec, shown in [("synthetic", scenes), ("photos", photos)]:
        info, brush, answer, editor, *galleries = guide_app.model_widgets(blank_tab(spec))
        assert [g.visible for g in galleries] == [g == shown for g in guide_app.galleries]
        classes = shelf.pool(spec).classes
        assert [v for _, v in answer.choices] == classes
        assert [v for _, v in brush.choices] == (classes + [UNSURE] if spec == "photos" else classes)  # the panel's brush: default model



def test_only_compute_events_borrow_the_gpu_and_their_values_pickle(app_model_dir: Path, tmp_path: Path, image: np.ndarray,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """ZeroGPU's ``spaces.GPU`` pickles a GPU event's arguments into a forked worker and its
    results back: only events that run the network are wrapped (not view, export, the brush,
    loading a model or the widgets that follow it), and their values survive pickling."""
    import pickle

    import guide.ui.layout

    wrapped = {}

    def fake_gpu(fn):
        def worker(*args):
            return pickle.loads(pickle.dumps(fn(*pickle.loads(pickle.dumps(args)))))

        wrapped[fn.__name__] = worker
        return worker

    monkeypatch.setattr(guide.ui.layout, "gpu", fake_gpu)  # where build_demo reads it
    app.build_demo(load_model(app_model_dir, device="cpu"), app.BackpropSettings(optimizer="lbfgs", max_steps=5), examples=[])
    assert {"set_image", "guide_sketch", "guide_points", "chat", "ask", "answer", "undo", "reset", "switch_model"} <= set(wrapped)
    assert not {"view", "export", "brush", "load_choice", "model_widgets", "clear_strokes"} & set(wrapped)
    path = tmp_path / "mine.png"
    Image.fromarray(image).save(path)
    tab = wrapped["set_image"](str(path), None)[0]
    tab = wrapped["guide_points"]('[[20, 20, "coat"]]', tab)[0]
    tab = wrapped["ask"](tab)[0]
    tab, overlay, chat, legend, status = wrapped["answer"]("sky", tab)
    assert status.startswith("Thanks: that's sky") and len(tab["steps"]) == 2 and overlay.shape[2] == 4  # the RGBA layer
