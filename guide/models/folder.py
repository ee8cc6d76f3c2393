"""A model folder on disk: ``config.json`` + ``model.safetensors`` (+ ``text_guide.safetensors``,
``README.md``), read and written with safetensors only (never pickle).

The leaf of model loading: guide/models/hub.py resolves a name (a local folder, ``checkpoints/``, a
Hub repo) to a folder and loads it, guide/models/pretrained.py turns torchvision's weights into
one, guide/models/card.py writes its card; all three use these file names and readers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from guide.core.guided import CONFIG_NAME, ModelConfig, ModelLoadError

REPO_ROOT = Path(__file__).resolve().parents[2]  # guide/models/folder.py -> the repository
CHECKPOINTS = REPO_ROOT / "checkpoints"
DEFAULT_MODEL = "scenes-lraspp"  # the embedded model folder under checkpoints/
WEIGHTS_NAME = "model.safetensors"
TEXT_GUIDE_NAME = "text_guide.safetensors"
CARD_NAME = "README.md"
TORCHVISION = "torchvision:"  # spec prefix: torchvision's pretrained weights (guide/models/pretrained.py)


def available_models() -> list[str]:
    """Names of the model folders shipped in checkpoints/."""
    return sorted(p.name for p in CHECKPOINTS.glob("*") if (p / CONFIG_NAME).is_file())


def read_config(folder: Path) -> ModelConfig:
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise ModelLoadError(f"{path} not found: a model folder needs {CONFIG_NAME} and {WEIGHTS_NAME}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ModelLoadError(f"{path} is not valid JSON: {e}") from e
    return ModelConfig.from_dict(data, where=str(path))


def load_weights(module: nn.Module, path: Path) -> None:
    """Load safetensors weights into ``module``; clear errors naming ``path``."""
    load_state(module, read_safetensors(path), path, "the architecture in its config.json")


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; clear errors naming ``path``."""
    if not path.is_file():
        raise ModelLoadError(f"weights file {path} not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelLoadError(f"weights file {path} is corrupted or not safetensors: {e}") from e


def load_state(module: nn.Module, state: dict[str, torch.Tensor], path: Path, expected: str) -> None:
    """``module.load_state_dict(state, strict=True)``; a mismatch names ``path`` and ``expected``."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[0:3]
        raise ModelLoadError(f"weights file {path} does not match {expected}: {' '.join(first)}") from e


def load_segmenter(net: nn.Module, state: dict[str, torch.Tensor], path: Path, expected: str) -> nn.Module:
    """Fill ``net``, built on the meta device, with ``state`` (strictly) on the CPU.

    Building on the meta device skips random initialisation (seconds for a ResNet-101
    on a CPU). The weights are copied into fresh CPU tensors rather than adopted: the
    tensors a file yields may sit at unaligned addresses, and CPU kernels then round
    differently, so the same weights from two files would not predict identically.
    """
    net.to_empty(device="cpu")
    load_state(net, state, path, expected)
    return net


def save_model(folder: str | os.PathLike, config: ModelConfig, net: nn.Module, text_guide: nn.Module | None = None) -> Path:
    """Write config.json and safetensors weights into ``folder`` (created if needed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_NAME))
    if text_guide is not None:
        tstate = {k: v.detach().cpu().contiguous() for k, v in text_guide.state_dict().items()}
        save_file(tstate, str(folder / TEXT_GUIDE_NAME))
    (folder / CONFIG_NAME).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    return folder
