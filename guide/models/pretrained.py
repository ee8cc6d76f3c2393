"""torchvision's pretrained segmenters as Guide Me models: ``load_model("torchvision:ARCH")``.

The six architectures of guide/models/architectures.py with their ``COCO_WITH_VOC_LABELS_V1`` weights
(trained by torchvision on the COCO images showing the 20 Pascal VOC classes): 21 classes
named from the weights' ``meta["categories"]`` as people type them ("dining table"), the
VOC palette, the weights' own preprocessing (read from ``weights.transforms()``: shorter
side 520, ImageNet mean/std), split at the paper's layer (res5c = ``layer4`` for ResNets,
the last, smallest-resolution block ``features.16`` for MobileNetV3).

Weights come from torch's hub cache, ``$TORCH_HOME/hub/checkpoints/<file name of the
weights' URL>`` (``torch.hub.get_dir()``), the same file torchvision itself would use, or
are downloaded there when the network allows (``HF_HUB_OFFLINE=1`` turns downloads off).
They are read with ``torch.load(weights_only=True)``: torchvision's own loader unpickles
with ``weights_only=False``, which lets a tampered cache file run code.

``python -m guide import torchvision:ARCH --out FOLDER`` turns one into a model folder
(safetensors + config.json + model card) that loads without torchvision's weights file.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import Tensor, nn
from torchvision.models import get_model_weights

from guide.core.guided import GuidedModel, ModelConfig, ModelLoadError
from guide.core.labels import voc_palette
from guide.core.online import offline, reachable
from guide.core.split import SplitSegmenter, default_layer
from guide.models.architectures import ARCHITECTURES, build_segmenter, drop_aux, has_aux
from guide.models.folder import TORCHVISION, WEIGHTS_NAME, load_segmenter, read_safetensors, save_model

WEIGHTS = "COCO_WITH_VOC_LABELS_V1"
DOMAIN = "photos (COCO with VOC labels)"
LICENSE = "bsd-3-clause"  # torchvision's licence, which covers its published weights
METRICS_KEY = "COCO-val2017-VOC-labels"
# The longer network-input side is capped here, so an elongated photo (the app keeps
# uploads within 1024 px) does not turn into a 520 x 2600 input.
INPUT_MAX_SIDE = 1024  # ModelConfig.max_side: the network input, not the upload (pagevalues.MAX_SIDE)
# VOC's category names run words together; these are the words people type.
WORDS = {"__background__": "background", "diningtable": "dining table", "pottedplant": "potted plant", "tvmonitor": "tv monitor"}


def weights(arch: str):
    """The ``COCO_WITH_VOC_LABELS_V1`` weights entry of ``arch`` (torchvision metadata, no download)."""
    if arch not in ARCHITECTURES:
        raise ModelLoadError(f"unknown torchvision architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    return getattr(get_model_weights(ARCHITECTURES[arch]), WEIGHTS)


def class_names(categories: list[str]) -> list[str]:
    """torchvision's category names as words people type: "diningtable" -> "dining table"."""
    return [WORDS.get(c, c.strip("_").replace("_", " ")) for c in categories]


def checkpoint_path(arch: str) -> Path:
    """Where torch's hub cache keeps ``arch``'s weights: $TORCH_HOME/hub/checkpoints/<file name>."""
    name = os.path.basename(urlparse(weights(arch).url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def metrics(arch: str) -> dict[str, float]:
    """The weights' reported COCO-val2017 (VOC labels) scores: {"miou": ..., "pixel_acc": ...}."""
    return dict(weights(arch).meta["_metrics"][METRICS_KEY])


def describe(arch: str) -> str:
    """A short label for the model selector (metadata only: builds and reads nothing)."""
    try:
        w = weights(arch)
    except ModelLoadError:
        return TORCHVISION + arch
    label = f"torchvision {arch} · {DOMAIN} · {len(w.meta['categories'])} classes · mIoU {metrics(arch)['miou']}"
    if not checkpoint_path(arch).is_file():
        label += f" · {w.meta['_file_size']:.0f} MB download"
    return label


def fetch(arch: str, timeout: float = 5.0) -> Path:
    """The cached weights file of ``arch``, downloaded into torch's hub cache if missing.

    Never hangs offline: with ``HF_HUB_OFFLINE=1``, or when the download host does not
    accept a connection within ``timeout`` seconds, raises one ModelLoadError naming the
    file, its URL and where to put it.
    """
    path = checkpoint_path(arch)
    if path.is_file():
        return path
    url = weights(arch).url
    fix = f"download {url} and put it at {path} (torch's hub cache: $TORCH_HOME/hub/checkpoints, now {path.parent})"
    if offline():
        raise ModelLoadError(f"{path.name} is not in torch's hub cache and downloads are off (HF_HUB_OFFLINE=1): {fix}")
    if not reachable(url, timeout):
        raise ModelLoadError(f"{path.name} is not in torch's hub cache and {urlparse(url).hostname} cannot be reached: {fix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # torchvision's file names end in the first hex digits of the file's SHA-256.
    digest = path.stem.rsplit("-", 1)[-1]
    try:  # writes to a temporary file and moves it into place only once the hash matches
        torch.hub.download_url_to_file(url, str(path), hash_prefix=digest, progress=sys.stderr.isatty())
    except Exception as e:
        raise ModelLoadError(f"downloading {url} failed ({type(e).__name__}: {e}); {fix}") from e
    return path


def read_state_dict(path: Path, url: str = "") -> dict[str, Tensor]:
    """A plain state dict from a torch.save file, with ``weights_only=True``: anything
    but tensors and plain containers (e.g. a pickle that would run code) is refused
    before it runs."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle.UnpicklingError for a forbidden object, RuntimeError for a damaged file
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ModelLoadError(
            f"refused {path}: it is not a plain state dict of tensors ({reason}). It may be damaged or "
            f"tampered with; delete it{' and download ' + url + ' again' if url else ''}."
        ) from e
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ModelLoadError(f"refused {path}: it holds a {type(state).__name__}, not a state dict of tensors")
    return state


def paper_layer(net: nn.Module) -> str:
    """The paper's split: res5c (= ``layer4``) for ResNets, the last block for MobileNetV3."""
    last = default_layer(net)
    return last.split(".")[0] if last.startswith("layer") else last


def pretrained_config(arch: str, net: nn.Module, split_layer: str | None = None) -> ModelConfig:
    """The config of ``arch``'s pretrained model, from the weights' metadata and transforms."""
    w = weights(arch)
    transform = w.transforms()  # torchvision's SemanticSegmentation preset: the weights' own preprocessing
    classes = class_names(w.meta["categories"])
    layer = split_layer or paper_layer(net)
    size = int(transform.resize_size[0])
    # One guiding parameter per feature row / column at the nominal input, as in the paper
    # (alpha in R^H, beta in R^W; the block interpolates them for other image shapes).
    # On a meta-device net this is shape arithmetic only.
    _, h, wd = SplitSegmenter(net, layer).feature_shape((size, size))
    return ModelConfig(
        arch=arch,
        classes=classes,
        palette=[list(c) for c in voc_palette(len(classes))],
        input_size=size,
        split_layer=layer,
        mean=[float(v) for v in transform.mean],
        std=[float(v) for v in transform.std],
        resize="shorter",
        max_side=INPUT_MAX_SIDE,
        domain=DOMAIN,
        guide={"variant": "guide", "alpha_size": h, "beta_size": wd},
        name=f"{arch}-voc",
    )


def load_pretrained(arch: str, device: torch.device | str | None = None, split_layer: str | None = None) -> GuidedModel:
    """``load_model("torchvision:ARCH")``: the pretrained segmenter as a GuidedModel (no text
    guide). The weights file is loaded strictly (aux classifier included), then the aux
    classifier, a training-time loss, is dropped."""
    w = weights(arch)
    path = fetch(arch)
    state = read_state_dict(path, w.url)
    with torch.device("meta"):  # no random initialisation; the config's shapes come for free
        net = build_segmenter(arch, len(w.meta["categories"]), aux_loss=has_aux(arch))
    config = pretrained_config(arch, net, split_layer)
    load_segmenter(net, state, path, f"torchvision's {arch} with {len(w.meta['categories'])} classes")
    drop_aux(net)
    return GuidedModel(config, net, device=device, source=f"torchvision {arch} {WEIGHTS} ({path})")


# ---------------------------------------------------------------- python -m guide import


def write_card(folder: Path, arch: str, config: ModelConfig, command: str) -> Path:
    """The model card (README.md) of an imported torchvision model folder."""
    from guide.models.card import write_model_card

    w = weights(arch)
    scores = metrics(arch)
    docs = " ".join(w.meta.get("_docs", "").split())
    return write_model_card(
        folder,
        config,
        title=f"{config.name}: torchvision's {arch} ({WEIGHTS}) for Guide Me",
        license=LICENSE,
        summary=(
            f"torchvision's pretrained `{arch}` segmenter, weights `{w.url}`, converted to a Guide Me model folder "
            f"(safetensors, aux classifier dropped). {docs} Licence: BSD-3-Clause (torchvision)."
        ),
        metrics_table=[
            ("dataset", "mIoU", "pixel accuracy"),
            (f"{METRICS_KEY} (reported by torchvision, not re-measured here)", f"{scores['miou']}", f"{scores['pixel_acc']}"),
        ],
        command=command,
        links={"training recipe": w.meta.get("recipe", ""), "weights": w.url},
    )


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(
        prog="python -m guide import",
        description="Write a model folder (config.json, model.safetensors, README.md) from torchvision's pretrained weights.",
    )
    p.add_argument("spec", help=f"torchvision:ARCH, ARCH one of {', '.join(ARCHITECTURES)}")
    p.add_argument("--out", required=True, help="folder to write (created if needed)")
    p.add_argument("--split", default=None, help="split layer (default: the paper's, res5c = layer4 / features.16)")
    args = p.parse_args(argv)
    arch = args.spec[len(TORCHVISION) :] if args.spec.startswith(TORCHVISION) else args.spec
    model = load_pretrained(arch, device="cpu", split_layer=args.split)
    out = save_model(args.out, model.config, model.segmenter.model)
    command = "python -m guide import " + " ".join(shlex.quote(a) for a in argv)
    write_card(out, arch, model.config, command)

    # read back: the folder must hold exactly these weights
    mine, theirs = model.segmenter.model.state_dict(), read_safetensors(out / WEIGHTS_NAME)
    if mine.keys() != theirs.keys() or not all(torch.equal(mine[k], theirs[k]) for k in mine):
        raise ModelLoadError(f"{out} does not read back identically")
    print(f"wrote {out} ({len(mine)} tensors, read back identically): load it with load_model({str(out)!r})")
    print(f"publish it: hf upload OWNER/NAME {out} . --commit-message 'Guide Me: {arch}'")
