"""What images a model knows (``ModelConfig.domain``): the note for a person whose image is
outside it, and example images inside it.

The embedded model was trained on synthetic scenes (Fashion-MNIST items on texture
photos); on a person's own photo its guesses are poor, and the first reply should say so
and how to load a real model. Real models (torchvision's VOC-label weights) get real
photos as examples: scikit-image ships a few with permissive licences (``PHOTOS``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from guide.core.guided import ModelConfig
from guide.models.folder import REPO_ROOT

SYNTHETIC = "synthetic scenes"
REAL_MODEL = "torchvision:deeplabv3_mobilenet_v3_large"
CACHE = REPO_ROOT / ".cache" / "examples"

# name -> (skimage.data function, source and licence as scikit-image's docstrings state them)
PHOTOS: dict[str, tuple[str, str]] = {
    "astronaut": ("astronaut", "Eileen Collins, NASA Great Images database; public domain"),
    "cat": ("chelsea", "Chelsea the cat, photo by Stefan van der Walt; CC0"),
    "coffee": ("coffee", "coffee cup, photo by Rachel Michetti, courtesy of Pikolo Espresso Bar; CC0"),
    "motorcycle": (
        "stereo_motorcycle",
        "left view of the Middlebury 2014 stereo benchmark (Scharstein et al., GCPR 2014), downsampled "
        "by scikit-image; scikit-image states no licence for it: cite the benchmark",
    ),
}


def is_synthetic(config: ModelConfig) -> bool:
    """Whether the model was trained on synthetic images only (its domain says so)."""
    return config.domain.strip().lower().startswith("synthetic")


def domain_note(config: ModelConfig) -> str | None:
    """The first reply's sentence when a synthetic-domain model is given a person's own
    image: what it knows and how to load a model for real photos. None for other models."""
    if not is_synthetic(config):
        return None
    return (
        f"Heads-up: I was trained only on {config.domain}, not on real photos, and I know just "
        f"{config.num_classes} classes ({', '.join(config.classes)}), so on your image my guesses will be rough. "
        f"For real photos, start the app with a model trained on them: `GUIDE_MODEL={REAL_MODEL} python app.py`."
    )


def example_images(config: ModelConfig, folder: str | Path | None = None, n: int = 12) -> list[Path]:
    """Example image paths in the model's domain: scenes for a synthetic-scenes model, real
    photos (``PHOTOS``) for others. Files are written to ``folder`` (default ``.cache/examples``)
    when they are not there yet; examples that cannot be made are left out."""
    folder = Path(folder) if folder is not None else CACHE
    if is_synthetic(config):
        return _scenes(folder, n)
    return _photos(folder)[:n]


def scene_examples(n: int = 12, folder: str | Path | None = None) -> list[Path]:
    """Example scenes (what the embedded synthetic model knows), whatever a model's config says."""
    return _scenes(Path(folder) if folder is not None else CACHE, n)


def _scenes(folder: Path, n: int) -> list[Path]:
    shipped = sorted((REPO_ROOT / "examples").glob("scene_[0-9][0-9].png"))
    if shipped:
        return shipped[:n]
    paths = [folder / f"scene_{i:02d}.png" for i in range(n)]
    if not all(p.is_file() for p in paths):
        try:
            from guide.data import SceneDataset

            folder.mkdir(parents=True, exist_ok=True)
            scenes = SceneDataset("test")
            for i, p in enumerate(paths):
                Image.fromarray(scenes[i][0]).save(p)
        except Exception:  # the scenes need skimage + Fashion-MNIST; a model works without examples
            return [p for p in paths if p.is_file()]
    return paths


def _photos(folder: Path) -> list[Path]:
    out = []
    for name, (function, _) in PHOTOS.items():
        path = folder / f"{name}.png"
        if not path.is_file():
            try:
                from skimage import data

                image = getattr(data, function)()
                image = image[0] if isinstance(image, tuple) else image  # stereo pair: the left view
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB").save(path)
            except Exception:  # skimage missing, or a photo it would have to download offline
                continue
        out.append(path)
    return out
