"""The embedded "scenes" benchmark: real photo textures + real product photos.

No segmentation data set can be downloaded where this project is built, so it
makes its own from real imagery shipped by package registries:

* **stuff** (indices 0-5): scikit-image's texture photographs ``grass.png``,
  ``gravel.png``, ``brick.png`` (wall) and ``moon.png`` (a rough stone wall),
  colourised with per-scene jittered duotones, plus procedural textures where no
  photo exists (sky gradient with clouds, water with waves, rippled sand). The
  layout has plausible structure: sky above a (tilted, slightly wavy) horizon,
  ground below it, sometimes a wall (full background, a building on one side or
  a low wall along the horizon); the ground may be split left/right or near/far
  (e.g. water far, sand near), so "top left" / "bottom right" hints mean
  something. About 15% of scenes are top-down views with no horizon.
* **things** (indices 6-15): Fashion-MNIST product photos (Debian package
  ``dataset-fashion-mnist``), scaled to 30-90 px (on a 160 px scene), tinted
  with colours drawn independently of the class, with soft drop shadows, 1-4
  per scene; a later (nearer, lower) item occludes earlier ones.

Labels are pixel-exact: the composite uses the item's alpha (its silhouette from
the Fashion-MNIST intensity, intensity >= 12 with specks removed and small
enclosed holes filled, bilinearly resampled); pixels with alpha >= 0.7 get the
item's class, ambiguous anti-aliased borders (0.3 < alpha < 0.7) get ``VOID``
(255), the rest keep the label beneath (stuff pixels where faint borders of
several items add up to more than 0.3 are void too). About 1.2% of the pixels
are void, in bands at most ~4 px thick. Post-processing (lighting gradient,
sensor noise, sometimes a slight blur) changes pixel values only.

Splits mirror the paper's protocol (segmenter and guide see disjoint data):

==============  ==============================  ==================================
split           Fashion-MNIST items             texture photo parts
==============  ==============================  ==================================
``seg-train``   train 0..29999                  left and top bands
``guide-train`` train 30000..59999              left and top bands
``val``         t10k 0..4999                    bottom-right square, 30% (held back)
``test``        t10k 5000..9999                 bottom-right square, 30% (held back)
==============  ==============================  ==================================

Procedural textures are generated from a per-split seed. Every scene is a pure
function of ``(seed, split, i, size)`` (its own ``numpy`` generator), so access
order, workers and processes do not matter.

Speed (``python -m guide.data.scenes --bench``, 2-core build machine): about
1.3-1.5 ms per 160x160 scene with a core to itself, 1.7-2.1 ms of CPU (about 3 ms
wall) while a training job shares the two cores; plus a one-off ~0.7 s per
process (per split) to decode Fashion-MNIST and build the texture banks.

Coordinates are (y, x) = (row, column); images are H x W x 3 uint8 RGB, labels
H x W uint8.
"""

from __future__ import annotations

import argparse
import colorsys
import functools
import importlib.util
import os
import time
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from guide.core.labels import VOID, palette_image
from guide.data.fashion_mnist import FASHION_CLASSES, PART_SIZES, load_fashion_mnist

CLASSES: list[str] = [
    "sky", "grass", "gravel", "wall", "water", "sand",
    "t-shirt", "trousers", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
]
SKY, GRASS, GRAVEL, WALL, WATER, SAND = range(6)
STUFF_CLASSES: tuple[int, ...] = (SKY, GRASS, GRAVEL, WALL, WATER, SAND)
#: Fashion-MNIST label k is scene class ``THING_OFFSET + k``.
THING_OFFSET = 6
THING_CLASSES: tuple[int, ...] = tuple(range(THING_OFFSET, THING_OFFSET + 10))

#: One RGB triple per class (index = class), distinct and readable on a label map.
PALETTE: list[tuple[int, int, int]] = [
    (135, 206, 235),  # sky: sky blue
    (60, 180, 75),    # grass: green
    (128, 128, 128),  # gravel: grey
    (220, 190, 255),  # wall: lavender
    (0, 0, 128),      # water: navy
    (210, 180, 140),  # sand: tan
    (230, 25, 75),    # t-shirt: red
    (245, 130, 48),   # trousers: orange
    (145, 30, 180),   # pullover: purple
    (240, 50, 230),   # dress: magenta
    (0, 128, 128),    # coat: teal
    (255, 225, 25),   # sandal: yellow
    (70, 240, 240),   # shirt: cyan
    (128, 0, 0),      # sneaker: maroon
    (170, 110, 40),   # bag: brown
    (250, 190, 212),  # ankle boot: pink
]

SPLITS: tuple[str, ...] = ("seg-train", "guide-train", "val", "test")
SPLIT_LENGTHS: dict[str, int] = {"seg-train": 20000, "guide-train": 10000, "val": 200, "test": 300}
#: split -> (Fashion-MNIST part, first item, end item (exclusive))
SPLIT_ITEMS: dict[str, tuple[str, int, int]] = {
    "seg-train": ("train", 0, 30000),
    "guide-train": ("train", 30000, 60000),
    "val": ("t10k", 0, 5000),
    "test": ("t10k", 5000, 10000),
}
#: Global item ids returned by :meth:`SceneDataset.item_ids`: train item k is k,
#: t10k item k is ``T10K_OFFSET + k``.
T10K_OFFSET = PART_SIZES["train"]

ALPHA_LO = 0.3  # alpha <= ALPHA_LO: the pixel keeps the label beneath
MAX_HOLE = 10  # enclosed background holes up to this many 28x28 pixels belong to the item
ALPHA_HI = 0.7  # alpha >= ALPHA_HI: the pixel gets the item's class; in between: VOID
HELDOUT_AREA = 0.3  # val/test crop texture photos from a bottom-right square with 30% of the area

assert len(CLASSES) == len(PALETTE) == 16
assert [CLASSES[THING_OFFSET + k] for k in range(10)] == list(FASHION_CLASSES)


# --------------------------------------------------------------------------- textures


def _skimage_data_dir() -> str:
    """scikit-image's bundled data folder, found without importing skimage."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-image is not installed (pip install scikit-image)")
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


@functools.lru_cache(maxsize=None)
def _photo(name: str) -> np.ndarray:
    """A grey texture photo, H x W float32, normalised to mean 0.5 / std 0.17, in [0, 1]."""
    path = os.path.join(_skimage_data_dir(), name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"texture photo {path} missing (reinstall scikit-image)")
    a = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0
    a = (a - a.mean()) / (a.std() + 1e-6) * 0.17 + 0.5
    return np.clip(a, 0.0, 1.0)


def _resize_f(a: np.ndarray, h: int, w: int, resample: int = Image.BICUBIC) -> np.ndarray:
    """Resize an H x W float32 array to h x w."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(a, dtype=np.float32)).resize((w, h), resample))


def _mirror_to(a: np.ndarray, min_h: int, min_w: int) -> np.ndarray:
    """Mirror-tile an H x W array until it is at least min_h x min_w."""
    while a.shape[0] < min_h:
        a = np.concatenate([a, a[::-1]], axis=0)
    while a.shape[1] < min_w:
        a = np.concatenate([a, a[:, ::-1]], axis=1)
    return np.ascontiguousarray(a)


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(a, [1, 99])
    return np.clip((a - lo) / (hi - lo + 1e-6), 0.0, 1.0).astype(np.float32)


def _fractal(rng: np.random.Generator, h: int, w: int, cells: int = 3, octaves: int = 5,
             persistence: float = 0.55, aniso: float = 1.0) -> np.ndarray:
    """Fractal value noise, h x w float32 in [0, 1]; aniso > 1 stretches features along x."""
    out = np.zeros((h, w), np.float32)
    amp = 1.0
    for o in range(octaves):
        cy = cells * 2 ** o
        cx = max(1, int(round(cy * w / h / aniso)))
        small = rng.random((cy + 3, cx + 3)).astype(np.float32)
        up = _resize_f(small, (cy + 3) * h // cy, (cx + 3) * w // cx)
        out += amp * up[h // cy:h // cy + h, w // cx:w // cx + w]
        amp *= persistence
    return _normalise(out)


@dataclass(frozen=True)
class _Bank:
    """Per-split grey texture banks (all float32 in [0, 1])."""

    photos: dict[int, tuple[np.ndarray, ...]]  # stuff class -> textures at several scales
    clouds: np.ndarray
    water: tuple[np.ndarray, ...]
    sand: tuple[np.ndarray, ...]
    noise: np.ndarray  # 3 x N x N standard normal


_PHOTOS: dict[int, tuple[str, ...]] = {GRASS: ("grass.png",), GRAVEL: ("gravel.png",), WALL: ("brick.png", "moon.png")}
_SCALES = (0.6, 0.8, 1.0, 1.25)  # photo scales for 160 px scenes (multiplied by size / 160)
_BANK = 512  # side of procedural texture banks for 160 px scenes


def _photo_regions(p: np.ndarray, group: str) -> list[np.ndarray]:
    """Parts of an H x W photo: "heldout" is the bottom-right square with HELDOUT_AREA of the
    area; "train" is the left and top bands that do not touch it."""
    h, w = p.shape
    side = int(round(np.sqrt(HELDOUT_AREA * h * w)))
    if group == "heldout":
        return [p[h - side:, w - side:]]
    return [p[:, :w - side], p[:h - side, :]]


@functools.lru_cache(maxsize=None)
def _photo_bank(group: str, size: int) -> dict[int, tuple[np.ndarray, ...]]:
    """Grey texture photos of ``group`` ("train" / "heldout") at several scales, per stuff class."""
    k = size / 160.0
    out: dict[int, tuple[np.ndarray, ...]] = {}
    for cls, names in _PHOTOS.items():
        texs = []
        for name in names:
            for part in _photo_regions(_photo(name), group):
                for s in _SCALES:
                    h, w = max(8, round(part.shape[0] * s * k)), max(8, round(part.shape[1] * s * k))
                    texs.append(_mirror_to(_resize_f(part, h, w), size, size))
        out[cls] = tuple(texs)
    return out


@functools.lru_cache(maxsize=None)
def _bank(split: str, size: int) -> _Bank:
    """Texture banks of one split for ``size`` px scenes (procedural ones seeded by the split name)."""
    rng = np.random.default_rng(zlib.crc32(split.encode()))
    k = max(1.0, size / 160.0)
    n = int(round(_BANK * k))
    clouds = _fractal(rng, n, 2 * n, cells=2, octaves=6, persistence=0.6, aniso=2.5)
    yy = np.arange(n, dtype=np.float32)[:, None]
    xx = np.arange(n, dtype=np.float32)[None, :]
    water = []
    for _ in range(3):
        streaks = _fractal(rng, n, n, cells=8, octaves=4, persistence=0.6, aniso=6.0)
        warp = _fractal(rng, n, n, cells=2, octaves=3)
        period = rng.uniform(4.0, 9.0) * k
        waves = 0.5 + 0.5 * np.sin(2 * np.pi * (yy / period + 1.5 * warp + 0.02 * xx / period))
        water.append(_normalise(0.55 * streaks + 0.45 * waves * streaks))
    sand = []
    for _ in range(3):
        low = _fractal(rng, n, n, cells=3, octaves=4)
        g = int(round(_BANK / 2))
        grain = _resize_f(rng.random((g, g)).astype(np.float32), n, n, Image.BILINEAR)
        warp = _fractal(rng, n, n, cells=2, octaves=3)
        theta = rng.uniform(0, np.pi)
        period = rng.uniform(7.0, 16.0) * k
        ripples = 0.5 + 0.5 * np.sin(2 * np.pi * ((xx * np.cos(theta) + yy * np.sin(theta)) / period + 2.0 * warp))
        amount = rng.uniform(0.1, 0.4)
        sand.append(_normalise(0.45 * low + 0.35 * grain + amount * ripples))
    noise = rng.standard_normal((3, n, n)).astype(np.float32)
    group = "train" if split in ("seg-train", "guide-train") else "heldout"
    return _Bank(_photo_bank(group, size), clouds, tuple(water), tuple(sand), noise)


def _crop(tex: np.ndarray, h: int, w: int, rng: np.random.Generator, orient: bool = True) -> np.ndarray:
    """A random h x w crop (random flips / transpose when ``orient``) of a texture bank."""
    t = tex
    if orient:
        k = int(rng.integers(8))
        if k & 1:
            t = t[:, ::-1]
        if k & 2:
            t = t[::-1]
        if k & 4:
            t = t.swapaxes(0, 1)
    else:
        if rng.random() < 0.5:
            t = t[:, ::-1]
    if t.shape[0] < h or t.shape[1] < w:
        t = _mirror_to(t, h, w)
    y = int(rng.integers(0, t.shape[0] - h + 1))
    x = int(rng.integers(0, t.shape[1] - w + 1))
    return t[y:y + h, x:x + w]


# ------------------------------------------------------------------------- colours

_Pair = tuple[tuple[float, float, float], tuple[float, float, float]]
# (dark, light) duotone prototypes per textured stuff class.
_DUOTONES: dict[int, tuple[_Pair, ...]] = {
    GRASS: (((25, 55, 15), (140, 190, 70)), ((50, 60, 20), (190, 180, 95)), ((12, 38, 18), (85, 150, 60)),
            ((35, 60, 25), (160, 200, 110))),
    GRAVEL: (((55, 52, 50), (200, 195, 185)), ((70, 58, 45), (210, 190, 160)), ((95, 82, 62), (228, 208, 165)),
             ((45, 45, 50), (165, 165, 175))),
    WALL: (((75, 25, 20), (205, 110, 80)), ((60, 55, 50), (190, 185, 175)), ((95, 75, 55), (228, 205, 165)),
           ((50, 30, 25), (160, 95, 70)), ((70, 70, 80), (200, 205, 215))),
    SAND: (((150, 118, 78), (242, 215, 165)), ((115, 95, 70), (205, 185, 150)), ((170, 150, 120), (248, 238, 212)),
           ((135, 110, 85), (225, 195, 150))),
    WATER: (((10, 35, 70), (70, 135, 185)), ((8, 50, 55), (60, 145, 140)), ((30, 40, 48), (125, 140, 148)),
            ((18, 45, 30), (80, 125, 95)), ((15, 30, 60), (110, 150, 200))),
}
_SKIES: tuple[tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]], ...] = (
    # (top, horizon, cloud colour)
    ((45, 95, 195), (155, 195, 238), (245, 245, 250)),   # clear blue
    ((70, 125, 215), (185, 210, 235), (240, 240, 245)),  # light blue
    ((120, 160, 210), (212, 222, 232), (235, 235, 240)),  # hazy
    ((140, 145, 158), (200, 200, 206), (170, 172, 180)),  # overcast
    ((55, 65, 135), (242, 165, 105), (250, 205, 175)),   # dusk
)


def _jitter(rng: np.random.Generator, rgb: tuple[float, float, float], amount: float = 0.12) -> np.ndarray:
    """Per-scene colour jitter: a global brightness and small per-channel factors."""
    return np.asarray(rgb, np.float32) * np.float32(rng.uniform(0.8, 1.18)) * \
        rng.uniform(1 - amount, 1 + amount, 3).astype(np.float32)


def _duotone(grey: np.ndarray, dark: np.ndarray, light: np.ndarray) -> np.ndarray:
    """h x w grey in [0, 1] -> 3 x h x w float32 (channel-first) colour between ``dark`` and ``light``."""
    return dark[:, None, None] + grey[None] * (light - dark)[:, None, None]


def _random_tint(rng: np.random.Generator) -> np.ndarray:
    """An item colour, drawn independently of its class: any hue, mostly muted."""
    h = rng.random()
    s = rng.uniform(0.0, 0.85) ** 1.3
    v = rng.uniform(0.3, 1.0)
    return np.asarray(colorsys.hsv_to_rgb(h, s, v), np.float32) * 255.0


# --------------------------------------------------------------------------- scenes


@dataclass
class SceneLayers:
    """Intermediate layers of one scene (for tests and debugging).

    ``background``: H x W x 3 float32, stuff with the items' shadows (0..255).
    ``stuff_label``: H x W uint8, the stuff class of every pixel.
    ``coverage``: H x W float32, combined alpha of all items (0 = no item).
    ``clean``: H x W x 3 float32, items composited over the background, before the
    lighting gradient, noise and blur. ``image`` / ``label``: the final sample.
    ``items``: per drawn item (in drawing order) ``(class, global item id, y0, x0, h, w)``.
    """

    background: np.ndarray
    stuff_label: np.ndarray
    coverage: np.ndarray
    clean: np.ndarray
    image: np.ndarray
    label: np.ndarray
    items: list[tuple[int, int, int, int, int, int]]


def _silhouette(img28: np.ndarray) -> np.ndarray:
    """28x28 bool mask of an item: intensity >= 12, isolated background specks dropped,
    small enclosed holes (black print on the product, <= MAX_HOLE pixels) filled."""
    m = img28 >= 12
    p = np.zeros((30, 30), np.uint8)
    p[1:-1, 1:-1] = m
    nb = p[:-2, :-2] + p[:-2, 1:-1] + p[:-2, 2:] + p[1:-1, :-2] + p[1:-1, 2:] + p[2:, :-2] + p[2:, 1:-1] + p[2:, 2:]
    m &= nb >= 2  # drop isolated background specks (fewer than 2 of 8 neighbours on)
    p[1:-1, 1:-1] = m
    holes, n = ndimage.label(p == 0)  # 4-connected; the padded border is component 1
    if n > 1:
        sizes = np.bincount(holes.ravel())
        small = sizes <= MAX_HOLE
        small[0] = small[holes[0, 0]] = False
        m |= small[holes[1:-1, 1:-1]]
    return m


def _thing_alpha_shade(img28: np.ndarray, h: int, w: int, flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """Silhouette alpha and shading (both h x w float32 in [0, 1]) of a 28x28 item."""
    m = _silhouette(img28)
    src = img28
    if flip:
        m, src = m[:, ::-1], src[:, ::-1]
    alpha = np.asarray(Image.fromarray(np.ascontiguousarray(m, dtype=np.uint8) * 255).resize((w, h), Image.BILINEAR),
                       dtype=np.float32) * np.float32(1 / 255)
    shade = np.asarray(Image.fromarray(np.ascontiguousarray(src)).resize((w, h), Image.BILINEAR), dtype=np.float32)
    top = np.float32(max(float(src.max()), 1.0))
    return alpha, shade / top


class SceneDataset:
    """The scenes benchmark: ``dataset[i] -> (image H x W x 3 uint8, label H x W uint8)``.

    ``split`` is one of :data:`SPLITS`; ``size`` the side of the square scenes;
    ``length`` defaults to ``SPLIT_LENGTHS[split]``; ``seed`` changes every scene.
    Labels index :data:`CLASSES`; ``VOID`` (255) marks ambiguous item borders.
    """

    classes: list[str] = CLASSES
    palette: list[tuple[int, int, int]] = PALETTE
    void: int = VOID

    def __init__(self, split: str, size: int = 160, length: int | None = None, seed: int = 0) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown scenes split {split!r}; choose from {', '.join(SPLITS)}")
        if size < 32:
            raise ValueError(f"scene size must be >= 32 px, got {size}")
        self.split = split
        self.size = int(size)
        self.length = SPLIT_LENGTHS[split] if length is None else int(length)
        self.seed = int(seed)
        self._split_index = SPLITS.index(split)
        self._part, self._lo, self._hi = SPLIT_ITEMS[split]
        load_fashion_mnist(self._part)  # fail early with the install hint

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        return f"SceneDataset(split={self.split!r}, size={self.size}, length={self.length}, seed={self.seed})"

    def _index(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += self.length
        if not 0 <= i < self.length:
            raise IndexError(f"scene index {i} out of range for {self!r}")
        return i

    def _rngs(self, i: int) -> tuple[np.random.Generator, np.random.Generator]:
        root = np.random.SeedSequence([self.seed, self._split_index, i, 20180618])
        a, b = root.spawn(2)
        return np.random.default_rng(a), np.random.default_rng(b)

    def _items(self, i: int, rng: np.random.Generator) -> list[int]:
        n = int(rng.choice(4, p=(0.3, 0.3, 0.25, 0.15))) + 1
        return [int(k) for k in rng.integers(self._lo, self._hi, n)]

    def item_ids(self, i: int) -> tuple[int, ...]:
        """Global Fashion-MNIST ids of the items in scene ``i`` (train k -> k, t10k k -> 60000 + k)."""
        i = self._index(i)
        idx = self._items(i, self._rngs(i)[0])
        off = T10K_OFFSET if self._part == "t10k" else 0
        return tuple(off + k for k in idx)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        layers = self._render(self._index(i), keep_layers=False)
        return layers.image, layers.label

    def layers(self, i: int) -> SceneLayers:
        """All intermediate layers of scene ``i`` (same image/label as ``self[i]``)."""
        return self._render(self._index(i), keep_layers=True)

    # ------------------------------------------------------------------ rendering

    def _stuff(self, rng: np.random.Generator, bank: _Bank) -> tuple[np.ndarray, np.ndarray, float]:
        """Stuff layout and texture: (3 x H x W float32 channel-first, H x W uint8 label, horizon row)."""
        S = self.size
        ys = np.arange(S, dtype=np.float32)[:, None]
        xs = np.arange(S, dtype=np.float32)[None, :]
        label = np.empty((S, S), np.uint8)
        classes: list[int] = []

        # horizon: row of the boundary at every column (tilted, slightly wavy)
        if rng.random() < 0.15:
            h0 = -1.0
            hy = np.full((1, S), -1.0, np.float32)
        else:
            h0 = float(rng.uniform(0.12, 0.7) * S)
            slope = rng.uniform(-0.15, 0.15)
            amp = rng.uniform(0, 0.02 * S) if rng.random() < 0.6 else 0.0
            hy = (h0 + slope * (xs - S / 2) + amp * np.sin(xs / S * rng.uniform(2, 9) + rng.uniform(0, 6.3)))
        upper = ys < hy  # S x S
        lower = ~upper

        # ground: one class, left/right split or far/near bands
        ground = [GRASS, GRAVEL, WATER, SAND]
        a = int(rng.choice(ground))
        label[:] = a
        classes.append(a)
        r = rng.random()
        if r < 0.35:  # left / right
            b = int(rng.choice([g for g in ground if g != a]))
            x0 = rng.uniform(0.25, 0.75) * S
            xb = x0 + rng.uniform(-0.6, 0.6) * (ys - S / 2)
            label[(xs >= xb) & lower] = b
            classes.append(b)
        elif r < 0.65:  # far band / near band
            b = int(rng.choice([g for g in ground if g != a]))
            top = max(h0, 0.0)
            yb = top + rng.uniform(0.2, 0.65) * (S - top) + rng.uniform(-0.1, 0.1) * (xs - S / 2)
            label[(ys >= yb) & lower] = b
            classes.append(b)

        # upper part: sky, sometimes a wall
        if h0 >= 0:
            label[upper] = SKY
            classes.append(SKY)
            if rng.random() < 0.35:
                kind = rng.random()
                if kind < 0.35:  # background wall, no sky
                    label[upper] = WALL
                elif kind < 0.75:  # building on one side
                    xw = rng.uniform(0.25, 0.75) * S
                    yt = rng.uniform(0.0, 0.7) * h0
                    side = (xs < xw) if rng.random() < 0.5 else (xs >= xw)
                    label[upper & side & (ys >= yt)] = WALL
                else:  # low wall along the horizon
                    band = rng.uniform(0.08, 0.3) * S
                    label[upper & (ys >= hy - band)] = WALL
                classes.append(WALL)

        # textures, rendered only over the rows each class occupies
        img = np.empty((3, S, S), np.float32)
        for cls in classes:
            m = label == cls
            rows = np.flatnonzero(m.any(axis=1))
            if rows.size == 0:
                continue
            r0, r1 = int(rows[0]), int(rows[-1]) + 1
            tex = self._texture(cls, rng, bank, r0, r1, max(h0, 0.0))
            sub = m[r0:r1]
            for ch in range(3):
                np.copyto(img[ch, r0:r1], tex[ch], where=sub)
        return img, label, h0

    def _texture(self, cls: int, rng: np.random.Generator, bank: _Bank, r0: int, r1: int, h0: float) -> np.ndarray:
        """Colour texture of stuff ``cls`` for rows r0..r1 of the scene (3 x (r1-r0) x S float32)."""
        S = self.size
        h = r1 - r0
        if cls == SKY:
            top, hor, cloud = (np.asarray(c, np.float32)[:, None, None] for c in _SKIES[int(rng.integers(len(_SKIES)))])
            f = np.float32(rng.uniform(0.88, 1.1))
            top, hor, cloud = top * f, hor * f * np.float32(rng.uniform(0.95, 1.05)), cloud * f
            t = np.clip((np.arange(r0, r1, dtype=np.float32) / max(h0, 1.0)) ** rng.uniform(0.6, 1.4), 0, 1)
            grad = top + t[None, :, None] * (hor - top)  # 3 x h x 1
            cover = rng.uniform(0.3, 1.05)  # higher: fewer clouds
            n = _crop(bank.clouds, h, S, rng, orient=False)
            ca = np.clip((n - cover) * np.float32(rng.uniform(2.5, 5.0)), 0, 1)
            ca *= np.float32(rng.uniform(0.6, 1.0))
            return grad + ca[None] * (cloud - grad)
        if cls == WATER:
            tex = bank.water[int(rng.integers(len(bank.water)))]
            grey = _crop(tex, h, S, rng, orient=False)
        elif cls == SAND:
            tex = bank.sand[int(rng.integers(len(bank.sand)))]
            grey = _crop(tex, h, S, rng)
        else:
            texs = bank.photos[cls]
            grey = _crop(texs[int(rng.integers(len(texs)))], h, S, rng)
        dark, light = _DUOTONES[cls][int(rng.integers(len(_DUOTONES[cls])))]
        dark_j, light_j = _jitter(rng, dark), _jitter(rng, light)
        c = np.float32(rng.uniform(0.75, 1.25))  # contrast
        mid = (dark_j + light_j) * 0.5
        return _duotone(grey, mid + c * (dark_j - mid), mid + c * (light_j - mid))

    def _render(self, i: int, keep_layers: bool) -> SceneLayers:
        S = self.size
        rng_items, rng = self._rngs(i)
        idx = self._items(i, rng_items)
        images, labels = load_fashion_mnist(self._part)
        bank = _bank(self.split, S)

        img, label, h0 = self._stuff(rng, bank)
        stuff_label = label.copy() if keep_layers else label

        # item geometry: size, position; nearer (lower) items are drawn later
        k = S / 160.0
        placed = []
        ground_top = max(h0, 0.0)
        for item in idx:
            s = rng.uniform(30, 90) * k
            hh = int(round(s))
            ww = int(round(s * rng.uniform(0.85, 1.15)))
            cx = rng.uniform(0.2 * ww, S - 0.2 * ww)
            if rng.random() < 0.75 and ground_top < S - 0.3 * hh:  # standing on the ground
                cy = rng.uniform(max(ground_top, 0.2 * hh), S - 0.2 * hh)
            else:
                cy = rng.uniform(0.2 * hh, S - 0.2 * hh)
            y0, x0 = int(round(cy - hh / 2)), int(round(cx - ww / 2))
            placed.append((y0 + hh, item, y0, x0, hh, ww))
        placed.sort(key=lambda p: p[0])

        renders = []
        for _, item, y0, x0, hh, ww in placed:
            alpha, shade = _thing_alpha_shade(images[item], hh, ww, bool(rng.random() < 0.5))
            renders.append((item, y0, x0, hh, ww, alpha, shade))

        # shadows first (they darken the stuff only), then the items
        for item, y0, x0, hh, ww, alpha, _ in renders:
            if rng.random() < 0.6:
                dy = int(rng.integers(1, max(2, hh // 10)))
                dx = int(rng.integers(-max(1, ww // 10), max(2, ww // 10)))
                soft = _resize_f(_resize_f(alpha, max(2, hh // 6), max(2, ww // 6), Image.BILINEAR), hh, ww,
                                 Image.BILINEAR)
                self._paste(img, None, np.clip(soft, 0, 1) * np.float32(rng.uniform(0.2, 0.45)), None,
                            y0 + dy, x0 + dx, shadow=True)
        background = img.copy() if keep_layers else img
        coverage = np.zeros((S, S), np.float32)
        items_info = []
        off = T10K_OFFSET if self._part == "t10k" else 0
        for item, y0, x0, hh, ww, alpha, shade in renders:
            cls = THING_OFFSET + int(labels[item])
            colour = shade * np.float32(rng.uniform(0.8, 1.15)) + np.float32(rng.uniform(0.15, 0.35))
            tint = _random_tint(rng)
            rgb = np.clip(colour[None] * tint[:, None, None], 0, 255)  # 3 x hh x ww
            if rng.random() < 0.2:  # stripes
                period = rng.uniform(4, 10) * k
                vertical = rng.random() < 0.5
                ax = np.arange(ww if vertical else hh, dtype=np.float32)
                band = (np.sin(2 * np.pi * ax / period) > 0).astype(np.float32)
                band = band[None, :] if vertical else band[:, None]
                rgb2 = np.clip(colour[None] * _random_tint(rng)[:, None, None], 0, 255)
                rgb = rgb + band[None] * (rgb2 - rgb)
            self._paste(img, label, alpha, rgb, y0, x0, cls=cls, coverage=coverage)
            items_info.append((cls, off + item, y0, x0, hh, ww))
        clean = img.copy() if keep_layers else img

        # post-processing: lighting gradient, noise, sometimes a slight blur
        gy, gx = rng.uniform(-0.25, 0.25, 2).astype(np.float32)
        light = np.float32(rng.uniform(0.85, 1.12)) + gy * (np.arange(S, dtype=np.float32)[:, None] / S - 0.5) \
            + gx * (np.arange(S, dtype=np.float32)[None, :] / S - 0.5)
        out = img * light[None]
        sigma = np.float32(rng.uniform(0.0, 6.0))
        ny, nx = (int(rng.integers(0, n - S + 1)) if n > S else 0 for n in bank.noise.shape[1:])
        noise = bank.noise[:, ny:ny + S, nx:nx + S]
        if noise.shape[1:] != (S, S):
            noise = np.stack([_mirror_to(c, S, S)[:S, :S] for c in noise])
        out += sigma * noise
        if rng.random() < 0.3:  # binomial 3x3 blur, blended
            w = np.float32(rng.uniform(0.4, 1.0))
            b = out.copy()
            b[:, 1:-1] = (out[:, :-2] + 2 * out[:, 1:-1] + out[:, 2:]) * 0.25
            c = b.copy()
            c[:, :, 1:-1] = (b[:, :, :-2] + 2 * b[:, :, 1:-1] + b[:, :, 2:]) * 0.25
            out += w * (c - out)
        np.clip(out, 0, 255, out=out)
        image = np.dstack(out.astype(np.uint8))
        if not keep_layers:
            return SceneLayers(img, label, img, img, image, label, items_info)
        return SceneLayers(np.dstack(background), stuff_label, coverage, np.dstack(clean), image, label, items_info)

    def _paste(self, img: np.ndarray, label: np.ndarray | None, alpha: np.ndarray, rgb: np.ndarray | None,
               y0: int, x0: int, cls: int = 0, coverage: np.ndarray | None = None, shadow: bool = False) -> None:
        """Alpha-composite an h x w item (rgb: 3 x h x w) or darken by a shadow at top-left (y0, x0).

        ``img`` is the 3 x S x S channel-first canvas; everything is clipped to the scene.
        """
        S = self.size
        h, w = alpha.shape
        ya, xa = max(0, y0), max(0, x0)
        yb, xb = min(S, y0 + h), min(S, x0 + w)
        if ya >= yb or xa >= xb:
            return
        a = alpha[ya - y0:yb - y0, xa - x0:xb - x0]
        dst = img[:, ya:yb, xa:xb]
        if shadow:
            dst *= (1 - a)[None]
            return
        assert rgb is not None and label is not None
        src = rgb[:, ya - y0:yb - y0, xa - x0:xb - x0]
        dst += a[None] * (src - dst)
        lab = label[ya:yb, xa:xb]
        lab[a >= ALPHA_HI] = cls
        lab[(a > ALPHA_LO) & (a < ALPHA_HI)] = VOID
        assert coverage is not None
        cov = coverage[ya:yb, xa:xb]
        cov += a * (1 - cov)
        # faint borders of several items can add up: stuff mixed with > ALPHA_LO of items is void too
        lab[(lab < THING_OFFSET) & (cov > ALPHA_LO)] = VOID


# ------------------------------------------------------------------------ utilities


def label_to_png(label: np.ndarray) -> Image.Image:
    """H x W uint8 label -> palette-mode PIL image (class colours, void 255 black)."""
    return palette_image(label, PALETTE)


def write_examples(out_dir: str = "examples", n: int = 12, size: int = 160) -> list[str]:
    """Write ``scene_XX.png`` and palette ``scene_XX_label.png`` for test scenes 0..n-1; returns paths."""
    os.makedirs(out_dir, exist_ok=True)
    ds = SceneDataset("test", size=size)
    paths = []
    for i in range(n):
        image, label = ds[i]
        p = os.path.join(out_dir, f"scene_{i:02d}.png")
        Image.fromarray(image).save(p, optimize=True)
        q = os.path.join(out_dir, f"scene_{i:02d}_label.png")
        label_to_png(label).save(q, optimize=True)
        paths += [p, q]
    return paths


def benchmark(n: int = 300, size: int = 160, split: str = "seg-train") -> tuple[float, float]:
    """(wall ms, CPU ms) per scene, averaged over ``n`` scenes after a warm-up."""
    ds = SceneDataset(split, size=size)
    ds[0]
    t, c = time.perf_counter(), time.process_time()
    for i in range(1, n + 1):
        ds[i]
    return (time.perf_counter() - t) / n * 1000, (time.process_time() - c) / n * 1000


def class_frequencies(split: str = "seg-train", n: int = 500, size: int = 160) -> dict[str, tuple[float, float]]:
    """class name -> (fraction of scenes containing it, fraction of labelled pixels); plus "void"."""
    ds = SceneDataset(split, size=size)
    present = np.zeros(256, np.int64)
    pixels = np.zeros(256, np.int64)
    for i in range(n):
        _, lab = ds[i]
        cnt = np.bincount(lab.ravel(), minlength=256)
        pixels += cnt
        present += cnt > 0
    total = pixels.sum()
    out = {name: (present[c] / n, pixels[c] / total) for c, name in enumerate(CLASSES)}
    out["void"] = (present[VOID] / n, pixels[VOID] / total)
    return out


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    """``python -m guide examples``: write test scenes and their labels for the app."""
    ap = argparse.ArgumentParser(
        prog="python -m guide examples",
        description="Write test scenes (scene_XX.png) and their palette labels (scene_XX_label.png) for the app.",
    )
    ap.add_argument("--out", default="examples", help="folder to write (default: examples)")
    ap.add_argument("--count", type=_positive, default=12, help="how many scenes, test scenes 0..N-1 (default: 12)")
    ap.add_argument("--size", type=_positive, default=160, help="scene side in pixels (default: 160)")
    args = ap.parse_args(argv)
    print("\n".join(write_examples(args.out, n=args.count, size=args.size)))


def _utilities() -> None:
    """``python -m guide.data.scenes``: timing and class statistics of the generator."""
    ap = argparse.ArgumentParser(description="scenes benchmark utilities (examples: python -m guide examples)")
    ap.add_argument("--bench", action="store_true", help="time scene generation")
    ap.add_argument("--freq", type=int, metavar="N", help="class frequencies over N seg-train scenes")
    args = ap.parse_args()
    if args.bench:
        t = time.perf_counter()
        SceneDataset("seg-train")[0]
        print(f"first scene (loading + banks): {time.perf_counter() - t:.2f} s")
        wall, cpu = benchmark()
        print(f"{wall:.2f} ms wall, {cpu:.2f} ms CPU per 160x160 scene")
    if args.freq:
        for name, (scenes, px) in class_frequencies(n=args.freq).items():
            print(f"{name:12s} in {100 * scenes:5.1f}% of scenes, {100 * px:5.2f}% of pixels")


if __name__ == "__main__":
    _utilities()
