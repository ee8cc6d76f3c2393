"""Shared fixtures: tiny, randomly initialised model folders (no shipped weights needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from guide.hub import ModelConfig, save_model
from guide.models import build_segmenter

TINY_CLASSES = ["sky", "grass", "coat", "shirt"]
TINY_PALETTE = [[135, 206, 235], [60, 180, 75], [230, 25, 75], [255, 225, 25]]


def make_model_folder(folder: Path, arch: str = "lraspp_mobilenet_v3_large", input_size: int = 64, seed: int = 0) -> Path:
    """A random segmenter saved as a model folder (config.json + model.safetensors)."""
    torch.manual_seed(seed)
    net = build_segmenter(arch, len(TINY_CLASSES))
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


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_folder(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path):
    from guide.hub import load_model

    return load_model(tiny_model_dir, device="cpu")


@pytest.fixture
def image() -> np.ndarray:
    """A 48x64 RGB test image with some structure (rows differ from columns)."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
    img[:16] = [120, 180, 240]  # a "sky" band on top
    return img
