"""Issue 24: ``train-guide`` on a VOC folder of mixed image sizes (an annotated data set or Pascal
VOC itself), torchvision-style models (shorter side to the input size, crops), bounded memory,
refusals with a message, and the taught folder loading back with its text guide."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_CLASSES, TINY_PALETTE, calibrate_batchnorm
from PIL import Image
from safetensors.torch import load_file

from guide.core.guided import ModelConfig
from guide.core.labels import VOID, palette_image
from guide.core.split import SplitSegmenter
from guide.data import crop_to_input
from guide.data.voc import write_labelmap
from guide.models.architectures import build_segmenter
from guide.models.hub import load_model, save_model

SIZES = [(48, 64), (80, 50), (64, 64), (37, 91), (100, 70), (60, 40), (52, 78)]


def write_voc(root: Path, sizes=SIZES, classes=TINY_CLASSES, palette=TINY_PALETTE, val: int = 2) -> Path:
    """A VOC folder (JPEGImages, SegmentationClass palette PNGs with void borders, split lists,
    labelmap.txt) of images of ``sizes``: the layout guide/annotation/dataset.py writes."""
    for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (root / d).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ids = []
    for i, (h, w) in enumerate(sizes):
        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        label = np.zeros((h, w), np.uint8)
        label[h // 2 :, : w // 2] = 1
        label[h // 3 : h // 2, w // 3 :] = 2
        label[: h // 4, w // 2 :] = 3
        label[0, :] = VOID  # a void border, as VOC's object outlines
        image[label == 1] //= 3  # classes look a little different
        Image.fromarray(image).save(root / "JPEGImages" / f"im{i}.jpg")
        palette_image(label, palette, (224, 224, 192)).save(root / "SegmentationClass" / f"im{i}.png")
        ids.append(f"im{i}")
    lists = root / "ImageSets" / "Segmentation"
    (lists / "train.txt").write_text("".join(f"{i}\n" for i in ids[:-val]))
    (lists / "val.txt").write_text("".join(f"{i}\n" for i in ids[-val:]))
    (root / "labelmap.txt").write_text(write_labelmap(list(classes), palette))
    return root


def torchvision_like(folder: Path, arch: str = "lraspp_mobilenet_v3_large", size: int = 64) -> Path:
    """A random model folder laid out like an imported torchvision model: the shorter side goes
    to ``size`` (torchvision's 520, scaled down for a test), capped longer side."""
    torch.manual_seed(0)
    net = build_segmenter(arch, len(TINY_CLASSES))
    calibrate_batchnorm(net, size)
    layer = "features.16" if "mobilenet" in arch else "layer4"
    _, h, w = SplitSegmenter(net, layer).feature_shape((size, size))
    config = ModelConfig(arch=arch, classes=list(TINY_CLASSES), palette=[list(c) for c in TINY_PALETTE], input_size=size,
                         split_layer=layer, guide={"variant": "guide", "alpha_size": h, "beta_size": w}, resize="shorter",
                         max_side=2 * size, name=f"tiny-{arch}")
    return save_model(folder, config, net)


@pytest.fixture(scope="module")
def voc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_voc(tmp_path_factory.mktemp("voc") / "dataset")


@pytest.fixture(scope="module")
def shorter_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return torchvision_like(tmp_path_factory.mktemp("models") / "tv")


def run(argv: list[str]) -> int:
    from guide.__main__ import main

    return main(["train-guide", *argv])


def common(model: Path, voc: Path, out: Path, work: Path) -> list[str]:
    return ["--model", str(model), "--data", "voc", "--root", str(voc), "--split", "train", "--out", str(out),
            "--work-dir", str(work), "--ops", "both", "--batch", "3", "--hidden", "16", "--threads", "1", "--val", "2"]


def test_crop_to_input_keeps_the_use_scale() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (48, 80, 3), dtype=np.uint8)
    label = np.tile(np.arange(80, dtype=np.uint8), (48, 1))  # label = column
    # shorter side 48 -> 64: 64 x 107, a 64 x 64 window of it, no padding
    img, lab = crop_to_input(image, label, (64, 107), 64, np.random.default_rng(1))
    assert img.shape == (64, 64, 3) and lab.shape == (64, 64) and (lab != VOID).all()
    assert (np.diff(lab.astype(int), axis=1) >= 0).all() and lab[0, -1] - lab[0, 0] >= 40  # a window, not squeezed
    offsets = {int(crop_to_input(image, label, (64, 107), 64, np.random.default_rng(s))[1][0, 0]) for s in range(8)}
    assert len(offsets) > 2  # the window moves with the seed
    # a capped longer side leaves the shorter one below the input size: padded with VOID below
    img, lab = crop_to_input(image, label, (40, 66), 64, np.random.default_rng(1))
    assert (lab[40:] == VOID).all() and (lab[:40] != VOID).all() and (img[40:] == 0).all()


def test_train_guide_on_a_mixed_size_voc_folder(shorter_model: Path, voc: Path, tmp_path: Path) -> None:
    out, work = tmp_path / "taught", tmp_path / "work"
    assert run([*common(shorter_model, voc, out, work), "--steps", "4"]) == 0
    model = load_model(out, device="cpu")
    assert model.text_guide is not None and model.config.text_guide["trained"]["steps"] == 4
    assert model.config.resize == "shorter"  # the segmenter's preprocessing travels with it
    log = json.loads((out / "train_log.json").read_text())
    assert log["images"] == len(SIZES) - 2 and log["val"]["images"] == 2 and log["features_cached"]
    card = (out / "README.md").read_text()
    assert "train-guide" in card and str(voc) in card and f"{len(SIZES) - 2} images" in card
    assert "| val split of the data set, find/remove hints, 1 run (the guide alone: no place mask or class scope) | 2 |" in card
    # the text guide reads typed hints on an image of another aspect ratio
    from guide.dialogue.session import GuideSession

    session = GuideSession(model)
    session.set_image(np.random.default_rng(3).integers(0, 255, (30, 90, 3), dtype=np.uint8))
    before = session.predict()
    session.add_text("find the shirt on the top left")
    assert session.predict().shape == before.shape == (30, 90)


def test_features_recomputed_per_step_train_the_same_guide(shorter_model: Path, voc: Path, tmp_path: Path) -> None:
    """--cache-mb bounds memory: over it, each step recomputes its scenes' features; the guide is the same."""
    cached, streamed = tmp_path / "cached", tmp_path / "streamed"
    assert run([*common(shorter_model, voc, cached, tmp_path / "w1"), "--steps", "3", "--val", "0"]) == 0
    assert run([*common(shorter_model, voc, streamed, tmp_path / "w2"), "--steps", "3", "--val", "0", "--cache-mb", "0"]) == 0
    logs = [json.loads((f / "train_log.json").read_text()) for f in (cached, streamed)]
    assert logs[0]["features_cached"] is True and logs[1]["features_cached"] is False
    # the same scenes, crops and hints: the same losses (the cache holds float16 features, hence the tolerance)
    assert logs[1]["final_loss"] == pytest.approx(logs[0]["final_loss"], rel=1e-3)
    a, b = (load_file(str(f / "text_guide.safetensors")) for f in (cached, streamed))
    assert a.keys() == b.keys()


def test_time_limit_and_resume_on_voc(shorter_model: Path, voc: Path, tmp_path: Path) -> None:
    out, work = tmp_path / "o", tmp_path / "w"
    assert run([*common(shorter_model, voc, out, work), "--steps", "5", "--stop-at", "2", "--val", "0"]) == 0
    assert json.loads((work / "state.json").read_text())["step"] == 2
    assert run([*common(shorter_model, voc, out, work), "--steps", "5", "--resume", "--val", "0"]) == 0
    assert json.loads((work / "state.json").read_text())["step"] == 5
    assert run([*common(shorter_model, voc, tmp_path / "t", tmp_path / "wt"), "--steps", "100000", "--time-limit", "0.001",
                "--val", "0"]) == 0
    assert json.loads((tmp_path / "t" / "config.json").read_text())["text_guide"]["trained"]["steps"] < 100000


def test_bad_data_sets_are_refused_with_a_message(shorter_model: Path, voc: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    empty = write_voc(tmp_path / "empty", sizes=[(40, 40)], val=1)  # nothing saved for training
    (empty / "ImageSets" / "Segmentation" / "train.txt").write_text("")
    assert run(common(shorter_model, empty, tmp_path / "o1", tmp_path / "w1") + ["--steps", "2"]) == 2
    assert "no images" in capsys.readouterr().err
    other = write_voc(tmp_path / "other", classes=["a", "b", "c", "d"])  # made with another model's classes
    assert run(common(shorter_model, other, tmp_path / "o2", tmp_path / "w2") + ["--steps", "2"]) == 2
    assert "classes" in capsys.readouterr().err
    assert run(common(shorter_model, tmp_path / "nowhere", tmp_path / "o3", tmp_path / "w3") + ["--steps", "2"]) == 2
    assert "error:" in capsys.readouterr().err
    assert not any((tmp_path / o).exists() for o in ("o1", "o2", "o3"))


def app_dataset(root: Path, photos: Path) -> Path:
    """A data set written by the app's data-set code (guide/annotation/dataset.py: train / val /
    trainval lists, no guide-train), every image saved with a label map."""
    from guide.annotation.dataset import AnnotationDataset

    photos.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i, (h, w) in enumerate(SIZES):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(photos / f"photo_{i}.png")
    ds = AnnotationDataset(root, TINY_CLASSES, TINY_PALETTE, {"name": "tiny", "source": "test"})
    assert len(ds.add([photos]).added) == len(SIZES)
    for image_id, (h, w) in zip(ds.ids, SIZES, strict=True):
        label = np.zeros((h, w), np.uint8)
        label[h // 2 :, : w // 2] = 1
        label[: h // 3, w // 2 :] = 3
        ds.save(image_id, label, None)
    return root


def test_readme_command_on_a_data_set_the_app_wrote(shorter_model: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """README's `train-guide --model MODEL --data voc --root DATASET --out FOLDER` (no --split) on the app's
    data set trains on its train list and says so in one line; a split list that is missing names those
    there are and --split."""
    root = app_dataset(tmp_path / "dataset", tmp_path / "photos")
    lists = sorted(p.name for p in (root / "ImageSets" / "Segmentation").iterdir())
    assert lists == ["train.txt", "trainval.txt", "val.txt"]
    train_ids = (root / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    out = tmp_path / "taught"
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    command = "python -m guide train-guide --model MODEL --data voc --root DATASET --out FOLDER"
    assert f"`{command}`" in readme, "README's train-guide command changed: update this test"
    words = {"MODEL": str(shorter_model), "DATASET": str(root), "FOLDER": str(out)}
    argv = [words.get(w, w) for w in command.split()[4:]]  # README's words, then small-run settings
    argv += ["--work-dir", str(tmp_path / "work"), "--steps", "2", "--batch", "3", "--hidden", "16", "--threads", "1", "--val", "0"]
    assert run(argv) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "guide-train" in line]
    assert said == [f"voc {root}: no guide-train split, training on split train ({len(train_ids)} images; --split picks another)"]
    assert f"split `train`: {len(train_ids)} images" in (out / "README.md").read_text()
    assert load_model(out, device="cpu").config.text_guide["trained"]["split"] == "train"

    assert run([*argv, "--split", "guide-train", "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: VOC split list ") and err.count("\n") == 1
    assert "this data set has the split lists train, trainval, val: pick one with --split (e.g. --split train)" in err
    assert not (tmp_path / "o2").exists()


@pytest.mark.parametrize("arch", ["deeplabv3_mobilenet_v3_large", "fcn_resnet50"])
def test_other_architectures_train_on_voc(arch: str, voc: Path, tmp_path: Path) -> None:
    model = torchvision_like(tmp_path / "m", arch, size=48)
    out = tmp_path / "o"
    assert run([*common(model, voc, out, tmp_path / "w"), "--steps", "2", "--val", "0", "--batch", "2"]) == 0
    assert load_model(out, device="cpu").text_guide is not None


@pytest.mark.slow  # a training run on photos (the fast tier, -m "not slow", leaves it out)
def test_real_photo_path_end_to_end(hub_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """torchvision's LR-ASPP from the torch hub cache (random weights in the real layout) ->
    photos of mixed sizes annotated with the app's data-set code -> train-guide at the real
    520 px -> a folder with a text guide and a model card -> typed hints with multi-word VOC
    class names guide it, in a session and in a conversation."""
    from guide.annotation.dataset import AnnotationDataset
    from guide.dialogue.conversation import Conversation
    from guide.dialogue.session import GuideSession

    monkeypatch.setenv("TORCH_HOME", str(hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = "torchvision:lraspp_mobilenet_v3_large"
    model = load_model(spec, device="cpu")
    assert model.text_guide is None and model.config.input_size == 520 and "potted plant" in model.classes
    pics = tmp_path / "pics"
    pics.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(375, 500), (500, 333), (300, 300), (240, 620), (420, 560)]):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(pics / f"photo{i}.png")
    ds = AnnotationDataset.for_model(tmp_path / "dataset", model)
    plant, tv = model.classes.index("potted plant"), model.classes.index("tv monitor")
    for image_id in ds.add(sorted(pics.glob("*.png"))).added:
        e = ds.entry(image_id)
        labels = np.zeros((e["height"], e["width"]), np.uint8)
        labels[: e["height"] // 2, : e["width"] // 3] = plant
        labels[e["height"] // 2 :, -e["width"] // 3 :] = tv
        labels[e["height"] // 2 - 2 : e["height"] // 2 + 2] = VOID
        ds.save(image_id, labels, {"test": True})
    lists = ds.root / "ImageSets" / "Segmentation"
    (lists / "train.txt").write_text((lists / "trainval.txt").read_text())  # all five for training, one also for val
    (lists / "val.txt").write_text((lists / "trainval.txt").read_text().split()[0] + "\n")
    out = tmp_path / "lraspp-words"
    assert run(["--model", spec, "--data", "voc", "--root", str(ds.root), "--split", "train", "--out", str(out),
                "--work-dir", str(tmp_path / "work"), "--ops", "both", "--steps", "2", "--batch", "2", "--hidden", "16",
                "--threads", "1", "--val", "1"]) == 0
    taught = load_model(out, device="cpu")
    assert taught.text_guide is not None and taught.config.input_size == 520 and taught.config.resize == "shorter"
    assert taught.config.text_guide["alpha_size"] == model.config.guide["alpha_size"]  # 520 px features: 33 rows
    card = (out / "README.md").read_text()
    assert "5 images" in card and spec in card and "| val split of the data set, find/remove hints, 1 run (the guide alone: no place mask or class scope) | 1 |" in card
    photo = rng.integers(0, 255, (300, 450, 3), dtype=np.uint8)
    # the guide alone (no place mask or class scope: random weights predict no potted plant to scope to)
    session = GuideSession(taught, text_place_mask=None, text_class_scope=None)
    session.set_image(photo)
    before = session.logits().clone()
    session.add_text("find the potted plant on the top left")
    assert not torch.equal(session.logits(), before)  # the words reached the network
    conv = Conversation(taught)
    conv.set_image(photo)
    reply = conv.say("there is no tv monitor on the bottom right")
    assert "no text guide" not in reply.text.lower() and "tv monitor" in reply.text.lower()


def test_a_longer_side_model_pads_as_fit_square_and_trains(voc: Path, tmp_path: Path) -> None:
    """The embedded kind of model (longer side to the input size): the training view is the whole
    image, scaled and padded (guide.data.fit_square), and train-guide runs on the mixed-size folder."""
    from conftest import make_model_folder

    from guide.data import fit_square

    folder = make_model_folder(tmp_path / "longer")
    model = load_model(folder, device="cpu")
    rng = np.random.default_rng(0)
    for h, w in SIZES:
        image, label = rng.integers(0, 255, (h, w, 3), dtype=np.uint8), rng.integers(0, 4, (h, w), dtype=np.uint8)
        a = crop_to_input(image, label, model.network_size(h, w), 64, np.random.default_rng(5))
        b = fit_square(image, label, 64)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    out = tmp_path / "o"
    assert run([*common(folder, voc, out, tmp_path / "w"), "--steps", "2", "--val", "0"]) == 0
    assert load_model(out, device="cpu").text_guide is not None
