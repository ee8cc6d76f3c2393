"""Model folders: ``config.json`` + ``model.safetensors`` (+ ``text_guide.safetensors``, ``README.md``).

A model is named by a local folder path, a folder name under ``checkpoints/``, or a
Hugging Face Hub repo id with an optional revision: ``owner/name@rev``. Hub models
are fetched with ``huggingface_hub`` at the pinned revision; when the Hub cannot be
reached (or ``HF_HUB_OFFLINE=1``) the local HF cache is used, then ``checkpoints/``,
and the returned model's ``source`` says which. Weights are read with safetensors
only, never pickle.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

# Bound the Hub's network waits so an unreachable Hub fails fast instead of hanging
# (huggingface_hub reads these at import time; users' own settings win).
os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "20")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors import SafetensorError  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from .block import GuidingBlock  # noqa: E402
from .models import build_segmenter  # noqa: E402
from .split import SplitSegmenter  # noqa: E402

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = REPO_ROOT / "checkpoints"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TEXT_GUIDE_NAME = "text_guide.safetensors"
CARD_NAME = "README.md"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class ModelLoadError(RuntimeError):
    """A model folder could not be found or read; the message names the file and the fix."""


@dataclass
class ModelConfig:
    """Everything needed to rebuild and use a guided segmenter (stored as config.json)."""

    arch: str
    classes: list[str]
    palette: list[list[int]]
    input_size: int  # longer image side fed to the network, in pixels
    split_layer: str
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    # Guiding block used by backprop: variant and lengths of alpha (rows) / beta (columns).
    guide: dict[str, Any] = field(default_factory=lambda: {"variant": "guide", "alpha_size": 10, "beta_size": 10})
    text_guide: dict[str, Any] | None = None
    name: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any], where: str = CONFIG_NAME) -> ModelConfig:
        required = ("arch", "classes", "palette", "input_size", "split_layer")
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelLoadError(f"{where} lacks {missing}; a model config needs {list(required)}")
        known = {k: v for k, v in data.items() if k in ModelConfig.__dataclass_fields__}
        config = ModelConfig(**known)
        if len(config.palette) < config.num_classes:
            raise ModelLoadError(f"{where}: palette has {len(config.palette)} colours for {config.num_classes} classes")
        return config


def default_device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class GuidedModel:
    """A frozen segmenter split for guiding, its guiding block, and optionally a text guide."""

    def __init__(
        self,
        config: ModelConfig,
        net: nn.Module,
        text_guide: nn.Module | None = None,
        device: torch.device | str | None = None,
        source: str = "",
        folder: Path | None = None,
    ) -> None:
        self.config = config
        self.device = torch.device(device) if device is not None else default_device()
        self.source = source
        self.folder = folder
        net.eval().requires_grad_(False)  # frozen: guiding never changes network weights
        self.segmenter = SplitSegmenter(net, config.split_layer).to(self.device)
        channels, _, _ = self.segmenter.feature_shape((config.input_size, config.input_size))
        g = config.guide
        self.block = GuidingBlock(channels, int(g["alpha_size"]), int(g["beta_size"]), g.get("variant", "guide"))
        self.text_guide = text_guide.to(self.device).eval().requires_grad_(False) if text_guide is not None else None
        self._mean = torch.tensor(config.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(config.std, device=self.device).view(1, 3, 1, 1)

    @property
    def classes(self) -> list[str]:
        return self.config.classes

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def network_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) fed to the network for an HxW image: longer side = config.input_size."""
        scale = self.config.input_size / max(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))

    def preprocess(self, image: np.ndarray) -> Tensor:
        """HxWx3 uint8 RGB image -> 1x3xhxw normalised tensor on the model's device."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} array of shape {image.shape}")
        h, w = self.network_size(image.shape[0], image.shape[1])
        if (h, w) != image.shape[:2]:
            image = np.asarray(Image.fromarray(image).resize((w, h), Image.BILINEAR))
        return self.normalize(torch.from_numpy(np.array(image, dtype=np.uint8))[None])

    def normalize(self, images: Tensor) -> Tensor:
        """BxHxWx3 uint8 tensor -> Bx3xHxW float tensor, normalised, on the model's device."""
        x = images.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        return (x - self._mean) / self._std


# ---------------------------------------------------------------- resolving names


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"owner/name@rev"`` -> ("owner/name", "rev"); no ``@`` -> revision None."""
    repo, _, revision = spec.partition("@")
    return repo, (revision or None)


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub answers at all (False at once under HF_HUB_OFFLINE=1).

    huggingface_hub retries failed requests with back-off (~25 s here with no
    network); one quick connection attempt avoids that wait when offline.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _hub_folder(repo_id: str, revision: str | None) -> tuple[Path, str]:
    from huggingface_hub import snapshot_download

    patterns = [CONFIG_NAME, "*.safetensors", CARD_NAME]
    try:
        if not hub_reachable():
            raise ConnectionError("the Hugging Face Hub is not reachable (or HF_HUB_OFFLINE=1)")
        path = snapshot_download(repo_id, revision=revision, allow_patterns=patterns)
        return Path(path), f"Hub {repo_id}@{revision or 'main'}"
    except Exception as online_error:  # offline, unreachable, unknown repo...
        try:
            path = snapshot_download(repo_id, revision=revision, allow_patterns=patterns, local_files_only=True)
        except Exception:
            raise ModelLoadError(
                f"could not fetch {repo_id}@{revision or 'main'} from the Hugging Face Hub "
                f"({type(online_error).__name__}) and it is not in the local cache"
            ) from online_error
        log.warning("Hub unreachable (%s); using the local cache for %s", type(online_error).__name__, repo_id)
        return Path(path), f"local HF cache of {repo_id}@{revision or 'main'} (Hub unreachable)"


def resolve_model_folder(spec: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Find the folder for ``spec``; returns (folder, human-readable source)."""
    from . import DEFAULT_MODEL

    spec = str(spec) if spec is not None else DEFAULT_MODEL
    local = Path(spec).expanduser()
    if local.is_dir():
        return local, f"local folder {local}"
    if (CHECKPOINTS / spec).is_dir():
        return CHECKPOINTS / spec, f"embedded checkpoints/{spec}"
    repo_id, revision = parse_spec(spec)
    if repo_id.count("/") != 1:
        raise ModelLoadError(
            f"no model folder {spec!r}: give a local folder, one of checkpoints/ {available_models()}, "
            "or a Hub repo id like owner/name@revision"
        )
    try:
        return _hub_folder(repo_id, revision)
    except ModelLoadError:
        fallback = CHECKPOINTS / repo_id.split("/")[1]
        if fallback.is_dir():
            log.warning("using embedded checkpoints/%s instead of %s", fallback.name, spec)
            return fallback, f"embedded checkpoints/{fallback.name} (Hub and cache unavailable for {spec})"
        raise


def available_models() -> list[str]:
    """Names of the model folders shipped in checkpoints/."""
    return sorted(p.name for p in CHECKPOINTS.glob("*") if (p / CONFIG_NAME).is_file())


# ---------------------------------------------------------------- reading and writing


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
    if not path.is_file():
        raise ModelLoadError(f"weights file {path} not found")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelLoadError(f"weights file {path} is corrupted or not safetensors: {e}") from e
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[0:3]
        raise ModelLoadError(f"weights file {path} does not match the architecture in its config.json: {' '.join(first)}") from e


def load_model(spec: str | os.PathLike | None = None, device: torch.device | str | None = None) -> GuidedModel:
    """Load a model folder (local path, checkpoints/ name, or Hub ``owner/name@rev``)."""
    folder, source = resolve_model_folder(spec)
    config = read_config(folder)
    net = build_segmenter(config.arch, config.num_classes)
    load_weights(net, folder / WEIGHTS_NAME)
    text_guide = None
    if config.text_guide is not None and (folder / TEXT_GUIDE_NAME).is_file():
        from .text.encoder import build_text_guide

        text_guide = build_text_guide(config.text_guide)
        load_weights(text_guide, folder / TEXT_GUIDE_NAME)
    return GuidedModel(config, net, text_guide, device=device, source=source, folder=folder)


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
