"""torchvision's pretrained segmenters (guide/models/pretrained.py) from a locally laid-out torch hub cache.

The cache holds state dicts with the real key layout (aux classifiers included) and
random values, saved with torch.save under the weights' real file names, so everything
but the numbers is what torchvision publishes.
"""

from __future__ import annotations

import http.server
import json
import pickle
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import CACHED, file_name
from PIL import Image
from torchvision import transforms as T

from guide.core.backprop import BackpropSettings
from guide.core.guided import ModelLoadError, network_size
from guide.dialogue.session import GuideSession
from guide.models import pretrained
from guide.models.architectures import ARCHITECTURES, build_segmenter, has_aux
from guide.models.hub import describe_model, load_model, model_choices

VOC_WORDS = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train", "tv monitor",
]


@pytest.fixture
def offline_cache(hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """That cache as TORCH_HOME, with downloads off: loading must not need the network."""
    monkeypatch.setenv("TORCH_HOME", str(hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return hub_cache


@pytest.fixture
def photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, size=(60, 90, 3), dtype=np.uint8)
    image[:20] = [120, 180, 240]
    return image


@pytest.mark.parametrize("arch", CACHED)
def test_loads_offline_from_the_torch_hub_cache(offline_cache, arch):
    model = load_model(f"torchvision:{arch}", device="cpu")
    assert model.classes == VOC_WORDS
    assert model.config.palette[:3] == [[0, 0, 0], [128, 0, 0], [0, 128, 0]]  # the VOC colour map
    assert (model.config.input_size, model.config.resize) == (520, "shorter")
    assert model.config.mean == [0.485, 0.456, 0.406] and model.config.std == [0.229, 0.224, 0.225]
    assert model.config.split_layer == ("layer4" if "resnet" in arch else "features.16")  # paper: res5c / smallest
    assert model.config.domain == "photos (COCO with VOC labels)"
    assert model.text_guide is None
    assert str(offline_cache) in model.source
    # Strictly loaded, aux classifier dropped: every remaining weight is the file's.
    saved = torch.load(offline_cache / "hub" / "checkpoints" / file_name(arch), weights_only=True)
    mine = model.segmenter.model.state_dict()
    assert not any(k.startswith("aux_classifier") for k in mine)
    assert all(torch.equal(mine[k], saved[k]) for k in mine)
    assert has_aux(arch) == any(k.startswith("aux_classifier") for k in saved)


def test_all_six_architectures_name_their_file_classes_and_scores():
    for arch in ARCHITECTURES:
        w = pretrained.weights(arch)
        assert pretrained.class_names(w.meta["categories"]) == VOC_WORDS
        assert pretrained.checkpoint_path(arch).name == file_name(arch)
        assert set(pretrained.metrics(arch)) == {"miou", "pixel_acc"}
    assert pretrained.metrics("lraspp_mobilenet_v3_large") == {"miou": 57.9, "pixel_acc": 91.2}
    with pytest.raises(ModelLoadError, match="deeplabv3_resnet101"):
        load_model("torchvision:resnet50")


def test_model_choices_name_every_model(offline_cache):
    choices = dict((spec, label) for label, spec in model_choices())
    assert "scenes-lraspp" in choices and "synthetic scenes" in choices["scenes-lraspp"]
    assert {f"torchvision:{a}" for a in ARCHITECTURES} <= set(choices)
    assert "mIoU 57.9" in choices["torchvision:lraspp_mobilenet_v3_large"]
    assert "MB download" not in choices["torchvision:lraspp_mobilenet_v3_large"]  # cached
    assert "233 MB download" in choices["torchvision:deeplabv3_resnet101"]  # not cached
    assert describe_model("someone/else@main") == "someone/else@main"


def test_preprocessing_is_the_weights_own(offline_cache, photo):
    model = load_model("torchvision:lraspp_mobilenet_v3_large", device="cpu")
    theirs = pretrained.weights("lraspp_mobilenet_v3_large").transforms()(Image.fromarray(photo))[None]
    mine = model.preprocess(photo)
    assert mine.shape == theirs.shape == (1, 3, 520, 780)  # shorter side 520
    assert torch.allclose(mine, theirs, atol=1e-5)
    # Elongated images: the longer side is capped, as Resize(520, max_size=1024) does.
    for h, w in [(100, 800), (800, 100), (520, 520), (37, 1000)]:
        expected = T.Resize(520, max_size=pretrained.INPUT_MAX_SIDE)(Image.new("RGB", (w, h))).size[::-1]
        assert network_size(model.config, h, w) == expected


def test_a_malicious_pickle_is_refused_without_running(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = folder / file_name("lraspp_mobilenet_v3_large")
    for save in (torch.save, lambda obj, p: p.write_bytes(pickle.dumps(obj, protocol=2))):  # zip and plain pickle
        save({"backbone.0.0.weight": Evil()}, path)
        with pytest.raises(ModelLoadError, match="refused .*lraspp_mobilenet_v3_large-d234d4ea.pth"):
            load_model("torchvision:lraspp_mobilenet_v3_large", device="cpu")
        assert not marker.exists()
    pickle.loads(pickle.dumps(Evil()))  # the same object does run when unpickled: the test can fail
    assert marker.exists()


def test_a_file_of_the_wrong_layout_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    arch = "deeplabv3_mobilenet_v3_large"
    torch.save(build_segmenter(arch, 21, aux_loss=False).state_dict(), folder / file_name(arch))  # no aux
    with pytest.raises(ModelLoadError, match="does not match torchvision's deeplabv3_mobilenet_v3_large"):
        load_model(f"torchvision:{arch}", device="cpu")


def test_missing_file_offline_is_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ModelLoadError) as e:
        load_model("torchvision:deeplabv3_mobilenet_v3_large", device="cpu")
    message = str(e.value)
    assert "deeplabv3_mobilenet_v3_large-fc3c493d.pth" in message
    assert "https://download.pytorch.org/models/deeplabv3_mobilenet_v3_large-fc3c493d.pth" in message
    assert str(tmp_path / "hub" / "checkpoints" / "deeplabv3_mobilenet_v3_large-fc3c493d.pth") in message
    assert time.monotonic() - start < 10


def fake_weights(url: str, real):
    return SimpleNamespace(url=url, meta=real.meta, transforms=real.transforms)


def test_unreachable_host_fails_fast_and_reachable_host_downloads(tmp_path, monkeypatch, hub_cache):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    arch = "lraspp_mobilenet_v3_large"
    real = pretrained.weights(arch)
    name = file_name(arch)
    monkeypatch.setattr(pretrained, "weights", lambda a: fake_weights(f"http://127.0.0.1:9/models/{name}", real))
    start = time.monotonic()
    with pytest.raises(ModelLoadError, match="127.0.0.1 cannot be reached.*put it at"):
        load_model(f"torchvision:{arch}", device="cpu")
    assert time.monotonic() - start < 10

    # A server that has the file (its name carries the first hex digits of its SHA-256).
    import hashlib

    body = (hub_cache / "hub" / "checkpoints" / name).read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:8]
    served = f"lraspp_mobilenet_v3_large-{digest}.pth"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path.endswith(served) else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/models/{served}"
        monkeypatch.setattr(pretrained, "weights", lambda a: fake_weights(url, real))
        model = load_model(f"torchvision:{arch}", device="cpu")
    finally:
        server.shutdown()
    assert (tmp_path / "home" / "hub" / "checkpoints" / served).read_bytes() == body
    assert model.classes == VOC_WORDS


def test_import_writes_a_folder_that_loads_back_identically(offline_cache, tmp_path, photo):
    from guide.__main__ import main

    photo = photo[:, :60]  # square: the smallest 520 px network input

    out = tmp_path / "lraspp-voc"
    assert main(["import", "torchvision:lraspp_mobilenet_v3_large", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((out / "config.json").read_text())
    assert (config["resize"], config["input_size"], config["max_side"]) == ("shorter", 520, 1024)
    assert config["classes"] == VOC_WORDS and config["domain"] == "photos (COCO with VOC labels)"
    card = (out / "README.md").read_text()
    for words in ["license: bsd-3-clause", "57.9", "91.2", "COCO-val2017-VOC-labels",
                  "python -m guide import torchvision:lraspp_mobilenet_v3_large --out", "no text guide"]:
        assert words in card

    original = load_model("torchvision:lraspp_mobilenet_v3_large", device="cpu")
    again = load_model(out, device="cpu")
    # torchvision's own way: build, load the file's state dict, predict.
    plain = build_segmenter("lraspp_mobilenet_v3_large", 21).eval()
    plain.load_state_dict(torch.load(offline_cache / "hub" / "checkpoints" / file_name("lraspp_mobilenet_v3_large")))
    x = original.preprocess(photo)
    with torch.no_grad():
        expected = plain(x)["out"]
        assert torch.equal(original.segmenter(x), expected)
        assert torch.equal(again.segmenter(again.preprocess(photo)), expected)

    # A model folder without a text guide is a first-class model: clicks and questions work
    # (a few L-BFGS steps keep this fast on a CPU).
    session = GuideSession(again, BackpropSettings(optimizer="lbfgs", max_steps=3))
    session.set_image(photo)
    before = session.predict()
    assert before.shape == photo.shape[:2]
    y, x = session.ask()
    target = 15 if before[y, x] != 15 else 8  # person (or cat)
    p_before = session.probabilities()[target, y, x]
    session.add_clicks([(y, x, target)])
    # Three steps move a random network's confident prediction a long way (in log-odds).
    assert np.log(session.probabilities()[target, y, x]) > np.log(p_before) + 1
    assert session.undo() and np.array_equal(session.predict(), before)


def test_import_without_the_weights_says_what_to_do(tmp_path, monkeypatch, capsys):
    from guide.__main__ import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["import", "torchvision:fcn_resnet101", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "fcn_resnet101_coco-7ecb50ca.pth" in err and "https://download.pytorch.org/models/" in err
    assert not (tmp_path / "out").exists()
