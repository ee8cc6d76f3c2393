"""Text-guide training: loss weights, a step that lowers the loss, and an end-to-end smoke run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from guide.core.hints import FIND, REMOVE, TextHint
from guide.core.split import Features
from guide.text.encoder import TextGuide, encode_texts
from guide.training.text import GuideStep, guided_loss, hint_weights, subsample


def test_hint_weights_follow_the_paper() -> None:
    gt = np.array([[0, 0, 1, 1], [2, 2, 1, 255]], dtype=np.uint8)
    pred = np.array([[0, 1, 1, 2], [2, 0, 0, 1]], dtype=np.uint8)
    w = hint_weights(TextHint("find the grass", FIND, 1, (0,), 3), pred, gt)
    # hinted class (gt == 1) -> 1; other errors -> 0; initially correct -> 0.5; void -> 0
    np.testing.assert_array_equal(w, [[0.5, 0.0, 1.0, 1.0], [0.5, 0.0, 1.0, 0.0]])
    w = hint_weights(TextHint("remove the sky", REMOVE, 0, (0,), 3), pred, gt)
    # remove: pixels wrongly predicted as the class count too (gt 2 predicted 0 -> 1)
    np.testing.assert_array_equal(w, [[1.0, 1.0, 0.5, 0.0], [0.5, 1.0, 1.0, 0.0]])


def test_subsample_takes_centre_pixels() -> None:
    a = np.arange(16).reshape(4, 4)
    np.testing.assert_array_equal(subsample(a, 2), [[5, 7], [13, 15]])
    assert subsample(a, 4) is a


class TinyTail(nn.Module):
    """Stand-in segmenter tail: 1x1 conv to 3 classes, bilinear up to the input size."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.cls = nn.Conv2d(channels, 3, 1)

    def tail(self, features: Features, guided: Tensor | None = None) -> Tensor:
        x = features.guided if guided is None else guided
        return F.interpolate(self.cls(x), size=features.input_size, mode="bilinear", align_corners=False)


class Vec(dict):
    vector_size = 50


@pytest.mark.parametrize("residual", [False, True])
def test_training_steps_decrease_the_loss(residual: bool) -> None:
    torch.manual_seed(0)
    seg = TinyTail().requires_grad_(False)
    rng = np.random.default_rng(0)
    vec = Vec({w: rng.standard_normal(50).astype(np.float32) for w in "find the sky grass on left right".split()})
    tg = TextGuide(8, 4, 4, hidden=32, residual=residual)
    step = GuideStep(tg)
    feats = Features(torch.randn(4, 8, 4, 4), {}, (8, 8))
    emb, lengths, _ = encode_texts(["find the sky on the left", "find the grass", "find the sky", "grass on the right"], vec)
    labels = torch.randint(0, 3, (4, 8, 8))
    labels[0, 0, 0] = 255
    weights = torch.rand(4, 8, 8) * (labels != 255)
    opt = torch.optim.Adam(tg.parameters(), lr=1e-2)
    losses = []
    for _ in range(6):
        loss = guided_loss(step, seg, feats, emb, lengths, labels, weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[1] < losses[0]
    assert losses[-1] < 0.95 * losses[0]
    assert all(p.grad is None for p in seg.parameters())  # the segmenter stays frozen


@pytest.fixture(scope="module")
def tiny_model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (random-weight) LR-ASPP model folder at 64 px input, written by guide.models.hub."""
    from guide.core.guided import ModelConfig
    from guide.core.split import SplitSegmenter, default_layer
    from guide.data import CLASSES, PALETTE
    from guide.models.architectures import build_segmenter
    from guide.models.hub import save_model

    torch.manual_seed(0)
    net = build_segmenter("lraspp_mobilenet_v3_large", len(CLASSES)).eval()
    _, h, w = SplitSegmenter(net).feature_shape((64, 64))
    config = ModelConfig(
        arch="lraspp_mobilenet_v3_large", classes=list(CLASSES), palette=[list(map(int, c)) for c in PALETTE],
        input_size=64, split_layer=default_layer(net), guide={"variant": "guide", "alpha_size": h, "beta_size": w},
        name="tiny",
    )
    return save_model(tmp_path_factory.mktemp("models") / "tiny", config, net)


def test_train_guide_end_to_end_and_resume(tiny_model_folder: Path, tmp_path: Path) -> None:
    from guide.models.hub import load_model
    from guide.training.text import main

    out, work = tmp_path / "tiny-text", tmp_path / "work"
    common = ["--model", str(tiny_model_folder), "--out", str(out), "--work-dir", str(work), "--ops", "both",
              "--scenes", "6", "--batch", "3", "--hidden", "16", "--threads", "1", "--save-every", "2", "--val", "2"]
    main(common + ["--steps", "4", "--stop-at", "2"])
    state = json.loads((work / "state.json").read_text())
    assert state["step"] == 2
    main(common + ["--steps", "4", "--resume"])
    assert json.loads((work / "state.json").read_text())["step"] == 4
    config = json.loads((out / "config.json").read_text())
    tg = config["text_guide"]
    assert tg["hidden"] == 16 and tg["ops"] == ["find", "remove"] and tg["trained"]["steps"] == 4
    assert tg["layer"] == config["split_layer"] and tg["vectors"].startswith(("pypi:", "hub:"))
    log = json.loads((work / "train_log.json").read_text())
    assert log["val"]["hints"] == [0, 1] and len(log["val"]["miou"]) == 2
    model = load_model(out)
    assert model.text_guide is not None and model.text_guide.config()["channels"] == tg["channels"]
    # The stopped-and-resumed guide is the one an uninterrupted run trains.
    from safetensors.torch import load_file

    straight = tmp_path / "straight"
    main([*common[:2], "--out", str(straight), "--work-dir", str(tmp_path / "w-straight"), *common[6:], "--steps", "4"])
    a, b = (load_file(str(f / "text_guide.safetensors")) for f in (out, straight))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6, msg=k)


def test_resume_refuses_another_configuration(tiny_model_folder: Path, tmp_path: Path) -> None:
    from guide.training.text import main

    args = ["--model", str(tiny_model_folder), "--out", str(tmp_path / "o"), "--work-dir", str(tmp_path / "w"),
            "--scenes", "3", "--batch", "2", "--hidden", "8", "--threads", "1", "--val", "0"]
    main(args + ["--steps", "1"])
    with pytest.raises(SystemExit):
        main([*args[:-6], "--hidden", "12", "--threads", "1", "--val", "0", "--steps", "2", "--resume"])


def test_evaluate_text_cli(tiny_model_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guide.evaluation.text import main as evaluate
    from guide.training.text import main as train

    out = tmp_path / "m"
    train(["--model", str(tiny_model_folder), "--out", str(out), "--work-dir", str(tmp_path / "w"), "--scenes", "4",
           "--batch", "2", "--hidden", "8", "--steps", "2", "--threads", "1", "--val", "0", "--ops", "both"])
    for ablation, flags in (("none", []), ("wrong-class", ["--compose", "stack", "--place-mask", "none", "--class-scope", "none"])):
        report_path = tmp_path / f"{ablation}.json"
        evaluate(["--model", str(out), "--split", "val", "--limit", "2", "--runs", "2", "--hints", "0,1,3",
                  "--ablation", ablation, *flags, "--json", str(report_path)])
        report = json.loads(report_path.read_text())
        text = report["settings"]["text"]  # the flags reach the evaluation's settings (EvalSetup), and the report says so
        expected = ("stack", {}, []) if flags else ("delta", {"find": 0.25, "remove": 0.25}, ["find", "remove"])
        assert (text["compose"], text["place_mask"], list(text["class_scope"])) == expected
        assert report["hints"] == [0, 1, 3] and report["ops"] == ["find", "remove"]
        assert len(report["miou"]) == len(report["miou_std"]) == 3 and len(report["miou_runs"]) == 2
        assert all(0.0 <= v <= 1.0 for v in report["miou"])
    assert "mIoU" in capsys.readouterr().out


def test_init_fine_tunes_an_existing_guide_with_place_dropout(tiny_model_folder: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from guide.training.text import main

    common = ["--model", str(tiny_model_folder), "--scenes", "3", "--batch", "2", "--threads", "1", "--val", "0"]
    first = tmp_path / "first"
    main(common + ["--hidden", "8", "--steps", "2", "--out", str(first), "--work-dir", str(tmp_path / "w1")])
    tuned = tmp_path / "tuned"
    # lr 0: the fine-tuned guide must still be the one it started from, bit for bit.
    main(common + ["--hidden", "8", "--steps", "1", "--lr", "0", "--init", str(first), "--drop-place", "1",
                   "--out", str(tuned), "--work-dir", str(tmp_path / "w2")])
    a, b = (load_file(str(f / "text_guide.safetensors")) for f in (first, tuned))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    trained = json.loads((tuned / "config.json").read_text())["text_guide"]["trained"]
    assert trained["drop_place"] == 1.0 and trained["init"] == str(first)
    with pytest.raises(SystemExit, match="another shape"):
        main(common + ["--hidden", "12", "--steps", "1", "--init", str(first), "--out", str(tmp_path / "x"),
                       "--work-dir", str(tmp_path / "w3")])


def test_feature_cache_takes_pairs_of_mixed_sizes(tiny_model_folder: Path) -> None:
    """A data set of mixed image sizes (VOC, an annotated folder) caches at the model's input size:
    scaled and padded with VOID labels (the text trainer used to stack them and fail)."""
    from guide.core.labels import VOID
    from guide.models.hub import load_model
    from guide.training.text import build_cache

    model = load_model(tiny_model_folder, device="cpu")
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), rng.integers(0, 3, (h, w), dtype=np.uint8))
             for h, w in ((48, 80), (64, 64), (90, 30))]
    with pytest.raises(ValueError):  # without a size they cannot be stacked
        build_cache(model.segmenter, model.normalize, pairs, [0, 1, 2], progress=False)
    cache = build_cache(model.segmenter, model.normalize, pairs, [0, 1, 2], progress=False, size=64)
    assert cache.labels.shape == (3, 64, 64) and cache.preds.shape == (3, 64, 64)
    assert (cache.labels[0, 38:] == VOID).all() and (cache.labels[0, :38] != VOID).all()  # 48x80 -> 38x64, padded below
    assert (cache.labels[2, :, 21:] == VOID).all()  # 90x30 -> 64x21, padded on the right
