"""Shared fixtures: tiny, randomly initialised model folders (no shipped weights needed)."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

# Gradio's file cache (GRADIO_TEMP_DIR, default /tmp/gradio) is shared by every process on the machine, and a
# server that shuts down deletes the cached files it made, which another process's server may be serving (same
# content, same path: a 403 there). Each test run gets a cache of its own, before Gradio is imported.
if "GRADIO_TEMP_DIR" not in os.environ:
    os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="guide-tests-gradio-")
    atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from guide.core.guided import ModelConfig  # noqa: E402
from guide.models.architectures import build_segmenter  # noqa: E402
from guide.models.hub import save_model  # noqa: E402

# The fast tier (python -m pytest -m "not slow") leaves these modules out: a real browser, servers in
# subprocesses, many tabs, long training runs.
SLOW_MODULES = {"test_browser", "test_browser_annotate", "test_browser_tools"}


# ...and the ResNet cases of tests run per architecture (the MobileNets and the embedded model take the
# same code paths in seconds less), plus the slowest single tests whose paths other fast tests cover.
SLOW_CASES = ("resnet50]", "resnet101]")
SLOW_TESTS = {
    "tests/test_annotate_durable.py::test_a_voc_zip_resumes_its_labels",
    "tests/test_app_models.py::test_guide_model_segments_a_real_photo_and_a_tab_switches_models",
    "tests/test_bench.py::test_cli_writes_json_for_an_arch",
    "tests/test_pretrained.py::test_import_writes_a_folder_that_loads_back_identically",
    "tests/test_train.py::test_train_segmenter_resumes_as_if_uninterrupted",
}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if (item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES or item.nodeid.endswith(SLOW_CASES)
                or item.nodeid in SLOW_TESTS):
            item.add_marker(pytest.mark.slow)


# The device the core tests run the tiny models on: "cpu" (CI), or "cuda" on a GPU machine
# (GUIDE_TEST_DEVICE=cuda python -m pytest tests/test_pointtail.py tests/test_session.py ...).
DEVICE = os.environ.get("GUIDE_TEST_DEVICE", "cpu")

TINY_CLASSES = ["sky", "grass", "coat", "shirt"]
TINY_PALETTE = [[135, 206, 235], [60, 180, 75], [230, 25, 75], [255, 225, 25]]


def make_model_folder(folder: Path, arch: str = "lraspp_mobilenet_v3_large", input_size: int = 64, seed: int = 0) -> Path:
    """A random segmenter saved as a model folder (config.json + model.safetensors)."""
    torch.manual_seed(seed)
    net = build_segmenter(arch, len(TINY_CLASSES))
    calibrate_batchnorm(net, input_size)
    config = ModelConfig(
        arch=arch,
        classes=list(TINY_CLASSES),
        palette=[list(c) for c in TINY_PALETTE],
        input_size=input_size,
        split_layer="features.16" if "mobilenet" in arch else "layer4",
        guide={"variant": "guide", "alpha_size": 4, "beta_size": 4},
        name="tiny",
    )
    return save_model(folder, config, net)


def calibrate_batchnorm(net: torch.nn.Module, input_size: int) -> None:
    """Give a random network's BatchNorm layers real statistics (from random images).

    With the default running statistics a random network's deep activations are ~1e-9,
    which no trained network has; calibrated, the tiny model behaves like a real one
    (activations of order one), so guiding it is a fair test.
    """
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(4, 3, input_size, input_size) * 4 - 2)
    for m in bns:
        m.momentum = 0.1
    net.eval()


# torchvision's pretrained weights in a locally laid-out torch hub cache (no network):
# state dicts of the real key layout (aux classifiers included), random values, saved
# under the weights' real file names.
CACHED = ["lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "fcn_resnet50"]


def file_name(arch: str) -> str:
    """The weights' real file name, from torchvision's own metadata."""
    import os
    from urllib.parse import urlparse

    from torchvision.models import get_model_weights

    from guide.models.architectures import ARCHITECTURES

    url = get_model_weights(ARCHITECTURES[arch]).COCO_WITH_VOC_LABELS_V1.url
    return os.path.basename(urlparse(url).path)


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TORCH_HOME whose hub/checkpoints holds random weights in the real layout."""
    from guide.models.architectures import has_aux

    home = tmp_path_factory.mktemp("torch-home")
    folder = home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    for arch in CACHED:
        torch.manual_seed(0)
        net = build_segmenter(arch, 21, aux_loss=has_aux(arch))
        if arch == "lraspp_mobilenet_v3_large":  # guided in tests: give it a real network's activations
            calibrate_batchnorm(net, 64)
        torch.save(net.state_dict(), folder / file_name(arch))
    return home


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_folder(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path):
    from guide.models.hub import load_model

    return load_model(tiny_model_dir, device=DEVICE)


@pytest.fixture
def image() -> np.ndarray:
    """A 48x64 RGB test image with some structure (rows differ from columns)."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
    img[:16] = [120, 180, 240]  # a "sky" band on top
    return img


# ---------------------------------------------------------------------------
# app.py fixtures (used by tests/test_app.py and tests/test_browser.py only)
# ---------------------------------------------------------------------------

APP_CLASSES = [
    "sky", "grass", "gravel", "wall", "water", "sand", "t-shirt", "trousers",
    "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
]


@pytest.fixture(scope="session")
def app_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random model folder with the scenes classes (input 64 px) and, when the
    text module is there, a tiny random text guide, so the app tests need no weights."""
    from guide.core.split import SplitSegmenter, default_layer
    from guide.data.scenes import PALETTE

    torch.manual_seed(0)
    net = build_segmenter("lraspp_mobilenet_v3_large", len(APP_CLASSES)).eval()
    channels, h, w = SplitSegmenter(net).feature_shape((64, 64))
    config = ModelConfig(
        arch="lraspp_mobilenet_v3_large",
        classes=list(APP_CLASSES),
        palette=[list(c) for c in PALETTE],
        input_size=64,
        split_layer=default_layer(net),
        guide={"variant": "guide", "alpha_size": h, "beta_size": w},
        name="tiny-app",
    )
    text_guide = None
    try:
        from guide.text.encoder import TextGuide

        text_guide = TextGuide(channels, h, w, hidden=32)
        torch.nn.init.normal_(text_guide.out.weight, std=0.5)  # non-zero: words change the prediction
        config.text_guide = text_guide.config()
    except ImportError:
        pass
    return save_model(tmp_path_factory.mktemp("app-model") / "tiny-app", config, net, text_guide)


@contextlib.contextmanager
def launched(demo):
    """Serve ``demo`` (app.build_demo's Blocks) on 127.0.0.1 at a free port with a small queue; yields its URL."""
    import socket

    import app
    from guide.ui.guard import patient_startup_probe

    patient_startup_probe()  # as app.py's main: a loaded machine may answer Gradio's first probe slowly
    demo.queue(default_concurrency_limit=2, max_size=16)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session")
def app_server(app_model_dir: Path):
    """The app (app.build_demo) on 127.0.0.1 at a free port; yields (url, demo)."""
    import app
    from guide.core.backprop import BackpropSettings
    from guide.models.hub import load_model

    model = load_model(app_model_dir, device="cpu")
    # L-BFGS with few steps: fast on CPU and moves the tiny model's prediction.
    demo = app.build_demo(model, BackpropSettings(optimizer="lbfgs", max_steps=5), bench=True)  # with the pings (test_browser)
    with launched(demo) as url:
        yield url, demo


REAL_MODEL = "torchvision:lraspp_mobilenet_v3_large"


@pytest.fixture(scope="module")  # closed after its module: two servers in one process share Gradio's file cache
def models_server(hub_cache: Path, app_model_dir: Path):
    """`python app.py` as a Space would start it: GUIDE_MODEL=torchvision:lraspp_mobilenet_v3_large
    (from a locally laid-out torch hub cache, offline) and GUIDE_MODELS naming the tiny app
    model too, so the model selector offers both; yields (url, demo, the tiny model's spec)."""

    import app

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(hub_cache))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("GUIDE_MODEL", REAL_MODEL)
        mp.setenv("GUIDE_MODELS", f"{REAL_MODEL}, {app_model_dir}")
        demo, _ = app.demo_from_args([])
        with launched(demo) as url:
            yield url, demo, str(app_model_dir)


@pytest.fixture(autouse=True)
def _private_store(tmp_path_factory, monkeypatch):
    """Each test's app keeps its durable state (guide/annotation/store.py) in a folder of its own, not
    in the machine's shared default store."""
    monkeypatch.setenv("GUIDE_STORE", str(tmp_path_factory.mktemp("store")))


@pytest.fixture(scope="module")
def text_model(app_model_dir: Path):
    """The app test model; its text guide is needed (skips, saying so, when the folder has none)."""
    from guide.models.hub import load_model

    model = load_model(app_model_dir, device="cpu")
    if model.text_guide is None:
        pytest.skip("the app test model has no text guide")
    return model


@pytest.fixture
def scene() -> np.ndarray:
    """A 64x64 test image: noise under a sky-blue top band."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, size=(64, 64, 3), dtype=np.uint8)
    img[:20] = [120, 180, 240]
    return img


@pytest.fixture(scope="module")
def example() -> str:
    """The first example scene the app offers."""
    import app

    paths = app.example_paths()
    if not paths:
        pytest.skip("no example scenes (examples/ missing and guide.data.scenes unavailable)")
    return paths[0]
