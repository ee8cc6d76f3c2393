"""Model folders: ``config.json`` + ``model.safetensors`` (+ ``text_guide.safetensors``, ``README.md``).

A model is named by a local folder path, a folder name under ``checkpoints/``, a
Hugging Face Hub repo id with an optional revision: ``owner/name@rev``, or
``torchvision:ARCH`` for torchvision's pretrained VOC-label weights (guide/models/pretrained.py).
Hub models are fetched with ``huggingface_hub`` at the pinned revision (a full commit
hash already in the local HF cache is used without asking the Hub); when the Hub cannot
be reached (or ``HF_HUB_OFFLINE=1``) the local HF cache is used, then ``checkpoints/``,
and the returned model's ``source`` says which. Weights are read with safetensors
only, never pickle.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

# Bound the Hub's network waits so an unreachable Hub fails fast instead of hanging
# (huggingface_hub reads these at import time; users' own settings win).
os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "20")

import torch  # noqa: E402

from guide.core.guided import CONFIG_NAME, GuidedModel, ModelConfig, ModelLoadError  # noqa: E402,F401
from guide.core.online import hub_reachable, offline, reachable  # noqa: E402,F401 - the one Hub probe (guide/core/online.py)
from guide.models.architectures import ARCHITECTURES, build_segmenter  # noqa: E402
from guide.models.folder import (  # noqa: E402,F401 - the folder names and readers, also importable from here
    CARD_NAME,
    CHECKPOINTS,
    DEFAULT_MODEL,
    REPO_ROOT,
    TEXT_GUIDE_NAME,
    TORCHVISION,
    WEIGHTS_NAME,
    available_models,
    load_segmenter,
    load_state,
    load_weights,
    read_config,
    read_safetensors,
    save_model,
)

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- resolving names


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"owner/name@rev"`` -> ("owner/name", "rev"); no ``@`` -> revision None."""
    repo, _, revision = spec.partition("@")
    return repo, (revision or None)


def looks_like_path(spec: str) -> bool:
    """Whether ``spec`` can only be a local path: it starts with ``./``, ``../``, ``/`` or ``~``
    (or is ``.``/``..``), or holds a separator a Hub id never has (a backslash, two ``/``).
    A Hub repo id is ``owner/name``, whose parts never start with ``.``, ``/`` or ``~``."""
    seps = {"/", os.sep, os.altsep or "/"}
    return (spec in (".", "..", "~") or spec.startswith(("./", "../", "~", *seps))
            or any(s in spec for s in seps - {"/"}) or spec.partition("@")[0].count("/") > 1)


def _hub_folder(repo_id: str, revision: str | None) -> tuple[Path, str]:
    from huggingface_hub import snapshot_download

    patterns = [CONFIG_NAME, "*.safetensors", CARD_NAME]
    if revision is not None and re.fullmatch(r"[0-9a-f]{40}", revision):
        # A commit hash never changes: when it is cached, loading needs no network.
        try:
            path = snapshot_download(repo_id, revision=revision, allow_patterns=patterns, local_files_only=True)
            return Path(path), f"local HF cache of {repo_id}@{revision} (a pinned commit: the Hub was not asked)"
        except Exception:  # not cached yet: fetch it below
            pass
    try:
        if not hub_reachable():
            raise ConnectionError("the Hugging Face Hub is not reachable (or HF_HUB_OFFLINE=1)")
        path = snapshot_download(repo_id, revision=revision, allow_patterns=patterns)
        return Path(path), f"Hub {repo_id}@{revision or 'main'}"
    except Exception as online_error:  # offline, unreachable, unknown repo...
        try:
            path = snapshot_download(repo_id, revision=revision, allow_patterns=patterns, local_files_only=True)
        except Exception:
            raise ModelLoadError(_not_fetched(repo_id, revision, online_error)) from online_error
        log.warning("Hub unreachable (%s); using the local cache for %s", type(online_error).__name__, repo_id)
        return Path(path), f"local HF cache of {repo_id}@{revision or 'main'} (Hub unreachable)"


def _not_fetched(repo_id: str, revision: str | None, error: Exception) -> str:
    """Why ``repo_id`` could not be had, in words: downloads off, Hub unreachable, or the Hub's answer."""
    spec = f"{repo_id}@{revision or 'main'}"
    if offline():
        return (f"{spec} is not in the local cache and downloads are off (offline: HF_HUB_OFFLINE=1): "
                "unset HF_HUB_OFFLINE to fetch it from the Hugging Face Hub, or give a local model folder")
    if isinstance(error, ConnectionError):  # hub_reachable() said no
        return (f"could not fetch {spec}: the Hugging Face Hub ({os.environ.get('HF_ENDPOINT', 'https://huggingface.co')}) "
                "is not reachable and it is not in the local cache")
    name = type(error).__name__
    if name in ("RepositoryNotFoundError", "GatedRepoError", "RevisionNotFoundError"):
        return (f"could not fetch {spec} from the Hugging Face Hub ({name}: no such repository or revision, or it is "
                "private or gated: log in with `hf auth login`) and it is not in the local cache")
    return f"could not fetch {spec} from the Hugging Face Hub ({name}) and it is not in the local cache"


def resolve_model_folder(spec: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Find the folder for ``spec``; returns (folder, human-readable source)."""
    spec = str(spec) if spec is not None else DEFAULT_MODEL
    if spec.startswith(TORCHVISION):
        raise ModelLoadError(f"{spec} is not a model folder: load it with load_model({spec!r})")
    local = Path(spec).expanduser()
    if local.is_dir():
        return local, f"local folder {local}"
    if (CHECKPOINTS / spec).is_dir():
        return CHECKPOINTS / spec, f"embedded checkpoints/{spec}"
    if looks_like_path(spec):  # a typo in a folder path, not a Hub id: asking the Hub would only mislead
        what = "is a file, not a model folder" if local.exists() else "does not exist"
        raise ModelLoadError(f"model folder {spec} {what} ({local.resolve()}); a model folder holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    repo_id, revision = parse_spec(spec)
    if repo_id.count("/") != 1:
        raise ModelLoadError(
            f"no model folder {spec!r}: give a local folder, one of checkpoints/ {available_models()}, "
            f"a Hub repo id like owner/name@revision, or torchvision:ARCH ({', '.join(sorted(ARCHITECTURES))})"
        )
    try:
        return _hub_folder(repo_id, revision)
    except ModelLoadError as e:
        fallback = CHECKPOINTS / repo_id.split("/")[1]
        if fallback.is_dir():
            log.warning("using embedded checkpoints/%s instead of %s", fallback.name, spec)
            return fallback, f"embedded checkpoints/{fallback.name} (Hub and cache unavailable for {spec})"
        # owner/name is also a relative folder path (checkpoints/nope): say that it is not one, then the Hub's answer
        raise ModelLoadError(f"{_no_local_folder(spec, local)}; as a Hub repo id: {e}") from e.__cause__


def _no_local_folder(spec: str, local: Path) -> str:
    """Why ``spec`` is not a local model folder, naming the model folders its parent holds (if any)."""
    what = "is a file, not a model folder" if local.exists() else "does not exist"
    parent = local.parent
    if not parent.is_dir():
        return f"no model folder {spec} here ({local.resolve()} {what}, nor does its folder {parent}/)"
    found = sorted(p.name for p in parent.iterdir() if (p / CONFIG_NAME).is_file())
    shown = ", ".join(found[:12]) + (f" and {len(found) - 12} more" if len(found) > 12 else "")
    there = f"model folders in {parent}/: {shown}" if found else f"{parent}/ holds no model folder"
    return f"no model folder {spec} here ({local.resolve()} {what}; {there})"


def model_choices(extra: list[str] | tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(label, spec) for every model this install can name without the network: the
    embedded checkpoints/ folders, then torchvision's six pretrained segmenters, then
    ``extra`` specs (e.g. Hub ids from a config). Reads JSON and weights metadata only,
    builds nothing; a gr.Dropdown takes the list as its choices."""
    specs = [*available_models(), *(TORCHVISION + a for a in ARCHITECTURES), *extra]
    return [(describe_model(s), s) for s in dict.fromkeys(specs)]


def describe_model(spec: str) -> str:
    """A short human label for ``spec``, e.g. "scenes-lraspp · synthetic scenes · 16 classes"
    or "torchvision deeplabv3_mobilenet_v3_large · photos (COCO with VOC labels) · 21 classes
    · mIoU 60.3". Cheap (no network, no network weights); the spec itself when unknown."""
    spec = str(spec)
    if spec.startswith(TORCHVISION):
        from guide.models.pretrained import describe

        return describe(spec[len(TORCHVISION) :])
    for folder in (Path(spec).expanduser(), CHECKPOINTS / spec):
        if (folder / CONFIG_NAME).is_file():
            try:
                config = read_config(folder)
            except ModelLoadError:
                return spec
            parts = [config.name or folder.name, config.domain, f"{config.num_classes} classes"]
            if config.text_guide is None:
                parts.append("no text guide")
            return " · ".join(p for p in parts if p)
    return spec


# ---------------------------------------------------------------- loading


def load_model(spec: str | os.PathLike | None = None, device: torch.device | str | None = None) -> GuidedModel:
    """Load a model: a folder (local path, checkpoints/ name, or Hub ``owner/name@rev``) or
    ``torchvision:ARCH`` (torchvision's pretrained weights, from torch's hub cache)."""
    if spec is not None and str(spec).startswith(TORCHVISION):
        from guide.models.pretrained import load_pretrained

        return load_pretrained(str(spec)[len(TORCHVISION) :], device=device)
    folder, source = resolve_model_folder(spec)
    config = read_config(folder)
    path = folder / WEIGHTS_NAME
    state = read_safetensors(path)
    with torch.device("meta"):
        net = build_segmenter(config.arch, config.num_classes)
    load_segmenter(net, state, path, "the architecture in its config.json")
    text_guide = None
    if config.text_guide is not None and (folder / TEXT_GUIDE_NAME).is_file():
        from guide.text.encoder import build_text_guide

        text_guide = build_text_guide(config.text_guide)
        load_weights(text_guide, folder / TEXT_GUIDE_NAME)
    return GuidedModel(config, net, text_guide, device=device, source=source, folder=folder)
