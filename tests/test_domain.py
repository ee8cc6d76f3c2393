"""What a model knows (guide/models/domain.py) and the config fields that say it (guide/core/guided.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guide.core.guided import ModelConfig, ModelLoadError, network_size
from guide.models.domain import PHOTOS, REAL_MODEL, domain_note, example_images, is_synthetic
from guide.models.hub import read_config

REPO = Path(__file__).resolve().parent.parent
EMBEDDED = REPO / "checkpoints" / "scenes-lraspp"


def photo_config(**changes) -> ModelConfig:
    fields = dict(arch="lraspp_mobilenet_v3_large", classes=["background", "person"], palette=[[0, 0, 0], [1, 2, 3]],
                  input_size=520, split_layer="features.16", resize="shorter", domain="photos (COCO with VOC labels)")
    return ModelConfig(**{**fields, **changes})


def test_the_embedded_model_says_it_knows_synthetic_scenes():
    config = read_config(EMBEDDED)
    assert config.domain == "synthetic scenes" and is_synthetic(config)
    note = domain_note(config)
    assert "synthetic scenes" in note and "16 classes" in note
    assert all(name in note for name in config.classes)
    assert f"GUIDE_MODEL={REAL_MODEL}" in note and REAL_MODEL == "torchvision:deeplabv3_mobilenet_v3_large"


def test_photo_models_and_unstated_domains_need_no_note():
    assert domain_note(photo_config()) is None
    assert domain_note(photo_config(domain="")) is None


def test_photo_examples_are_written_once(tmp_path):
    paths = example_images(photo_config(), folder=tmp_path)
    assert [p.name for p in paths] == ["astronaut.png", "cat.png", "coffee.png", "motorcycle.png"]
    sizes = [Image.open(p).size for p in paths]
    assert sizes == [(512, 512), (451, 300), (600, 400), (741, 500)]
    assert all(Image.open(p).mode == "RGB" for p in paths)
    stamps = [p.stat().st_mtime_ns for p in paths]
    assert example_images(photo_config(), folder=tmp_path) == paths
    assert [p.stat().st_mtime_ns for p in paths] == stamps
    assert all("CC0" in source or "public domain" in source or "licence" in source for _, source in PHOTOS.values())


def test_synthetic_examples_are_scenes(tmp_path):
    paths = example_images(read_config(EMBEDDED), folder=tmp_path, n=3)
    assert len(paths) == 3 and all(p.name.startswith("scene_") and p.is_file() for p in paths)


def test_resize_modes():
    longer = photo_config(resize="longer", input_size=160)
    assert network_size(longer, 300, 600) == (80, 160)
    assert network_size(photo_config(max_side=None), 300, 600) == (520, 1040)
    assert network_size(photo_config(max_side=1024), 300, 600) == (512, 1024)
    assert network_size(photo_config(max_side=1024), 600, 300) == (1024, 512)


def test_old_configs_keep_the_longer_side_and_bad_modes_are_refused():
    data = read_config(EMBEDDED).to_dict()
    for key in ("resize", "max_side", "domain"):
        data.pop(key)
    old = ModelConfig.from_dict(data)
    assert (old.resize, old.max_side, old.domain) == ("longer", None, "")
    with pytest.raises(ModelLoadError, match="resize is 'widest'"):
        ModelConfig.from_dict({**data, "resize": "widest"})


def test_preprocess_follows_the_resize_mode(tiny_model_dir):
    """The tiny model (input 64, longer side) is unchanged; "shorter" resizes the other side."""
    from guide.models.hub import load_model

    model = load_model(tiny_model_dir, device="cpu")
    image = np.zeros((30, 60, 3), np.uint8)
    assert tuple(model.preprocess(image).shape[-2:]) == (32, 64)
    model.config.resize = "shorter"
    assert tuple(model.preprocess(image).shape[-2:]) == (64, 128)
