"""COCO-Stuff reader (the paper's data set, for users who bring it).

Two layouts are accepted under ``root``:

* **COCO-Stuff 10k** (the paper's version)::

      root/images/<id>.jpg
      root/annotations/<id>.mat      MATLAB file with matrix "S": 0 = unlabeled, 1..182 = classes
      root/imageLists/<split>.txt     one <id> per line (train / test / all)

  ``S`` is mapped to 0..181 (``S - 1``) and unlabeled to 255. If
  ``annotations/<id>.png`` exists instead of the ``.mat`` it is read as a
  COCO-Stuff-164k label map (below).
* **COCO-Stuff 164k** (``stuffthingmaps``)::

      root/images/<split>/<id>.jpg       e.g. split "val2017"
      root/annotations/<split>/<id>.png  grey PNG: 0..181 = classes, 255 = unlabeled

  (``split`` "train" / "val" also finds ``train2017`` / ``val2017``.)

``dataset[i] -> (image H x W x 3 uint8 RGB, label H x W uint8)`` at the native
resolution; labels index :data:`COCOSTUFF_CLASSES` (182 names, including the 11
thing ids that COCO never annotates), 255 is unlabeled.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from guide.core.labels import VOID, voc_palette
from guide.data.voc import read_label_png

#: The 182 COCO-Stuff classes in label order (official labels.txt ids 1..182 -> 0..181).
COCOSTUFF_CLASSES: list[str] = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "street sign", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep",
    "cow", "elephant", "bear", "zebra", "giraffe", "hat", "backpack", "umbrella", "shoe", "eye glasses",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
    "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "plate", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
    "donut", "cake", "chair", "couch", "potted plant", "bed", "mirror", "dining table", "window", "desk",
    "toilet", "door", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
    "toaster", "sink", "refrigerator", "blender", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush", "hair brush",
    "banner", "blanket", "branch", "bridge", "building-other", "bush", "cabinet", "cage", "cardboard", "carpet",
    "ceiling-other", "ceiling-tile", "cloth", "clothes", "clouds", "counter", "cupboard", "curtain",
    "desk-stuff", "dirt", "door-stuff", "fence", "floor-marble", "floor-other", "floor-stone", "floor-tile",
    "floor-wood", "flower", "fog", "food-other", "fruit", "furniture-other", "grass", "gravel", "ground-other",
    "hill", "house", "leaves", "light", "mat", "metal", "mirror-stuff", "moss", "mountain", "mud", "napkin",
    "net", "paper", "pavement", "pillow", "plant-other", "plastic", "platform", "playingfield", "railing",
    "railroad", "river", "road", "rock", "roof", "rug", "salad", "sand", "sea", "shelf", "sky-other",
    "skyscraper", "snow", "solid-other", "stairs", "stone", "straw", "structural-other", "table", "tent",
    "textile-other", "towel", "tree", "vegetable", "wall-brick", "wall-concrete", "wall-other", "wall-panel",
    "wall-stone", "wall-tile", "wall-wood", "water-other", "waterdrops", "window-blind", "window-other", "wood",
]
#: Indices 0..90 are things (91 COCO thing ids), 91..181 stuff.
NUM_THINGS = 91
COCOSTUFF_PALETTE: list[tuple[int, int, int]] = voc_palette(len(COCOSTUFF_CLASSES))

LAYOUT = ("COCO-Stuff 10k: images/<id>.jpg, annotations/<id>.mat (matrix S, 0 = unlabeled), "
          "imageLists/<split>.txt; or COCO-Stuff 164k: images/<split>/<id>.jpg, "
          "annotations/<split>/<id>.png (255 = unlabeled)")

assert len(COCOSTUFF_CLASSES) == 182


def mat_to_label(S: np.ndarray) -> np.ndarray:
    """COCO-Stuff 10k matrix S (0 = unlabeled, 1..182) -> H x W uint8 (0..181, unlabeled 255)."""
    S = np.asarray(S)
    out = S.astype(np.int64) - 1
    out[(S <= 0) | (S > len(COCOSTUFF_CLASSES))] = VOID
    return out.astype(np.uint8)


def read_mat_label(path: str) -> np.ndarray:
    """Read ``S`` from a COCO-Stuff 10k annotation .mat file as H x W uint8 (0..181, 255)."""
    from scipy.io import loadmat

    mat = loadmat(path, variable_names=["S"])
    if "S" not in mat:
        raise ValueError(f"{path}: no matrix 'S' in the annotation file")
    return mat_to_label(mat["S"])


class COCOStuff:
    """COCO-Stuff split: ``dataset[i] -> (H x W x 3 uint8, H x W uint8 in 0..181 / 255)``."""

    classes: list[str] = COCOSTUFF_CLASSES
    palette: list[tuple[int, int, int]] = COCOSTUFF_PALETTE
    void: int = VOID

    def __init__(self, root: str, split: str = "test") -> None:
        self.root = root
        self.split = split
        list_path = os.path.join(root, "imageLists", f"{split}.txt")
        if os.path.isfile(list_path):  # 10k layout
            self.image_dir = os.path.join(root, "images")
            self.ann_dir = os.path.join(root, "annotations")
            with open(list_path) as f:
                names = [line.strip() for line in f if line.strip()]
            self.ids: list[str] = [os.path.splitext(os.path.basename(n))[0] for n in names]
        else:  # 164k layout
            for sub in (split, f"{split}2017"):
                if os.path.isdir(os.path.join(root, "images", sub)) and os.path.isdir(
                        os.path.join(root, "annotations", sub)):
                    self.image_dir = os.path.join(root, "images", sub)
                    self.ann_dir = os.path.join(root, "annotations", sub)
                    break
            else:
                raise FileNotFoundError(f"{root!r} has no COCO-Stuff split {split!r}: expected {LAYOUT}")
            self.ids = sorted(os.path.splitext(n)[0] for n in os.listdir(self.ann_dir) if n.endswith(".png"))
        if not os.path.isdir(self.image_dir) or not os.path.isdir(self.ann_dir):
            raise FileNotFoundError(f"{root!r} does not look like COCO-Stuff: expected {LAYOUT}")

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"COCOStuff(root={self.root!r}, split={self.split!r}, n={len(self)})"

    def image_path(self, i: int) -> str:
        for ext in (".jpg", ".png", ".jpeg"):
            p = os.path.join(self.image_dir, self.ids[i] + ext)
            if os.path.isfile(p):
                return p
        raise FileNotFoundError(f"no image for {self.ids[i]!r} in {self.image_dir} (expected {LAYOUT})")

    def read_label(self, i: int) -> np.ndarray:
        """H x W uint8 label of item ``i`` (0..181, 255 unlabeled)."""
        base = os.path.join(self.ann_dir, self.ids[i])
        if os.path.isfile(base + ".mat"):
            return read_mat_label(base + ".mat")
        if os.path.isfile(base + ".png"):
            return read_label_png(base + ".png", self.palette)
        raise FileNotFoundError(f"no annotation {base}.mat or {base}.png (expected {LAYOUT})")

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {self!r}")
        image = np.asarray(Image.open(self.image_path(i)).convert("RGB"), dtype=np.uint8)
        label = self.read_label(i)
        if label.shape != image.shape[:2]:
            raise ValueError(f"{self.ids[i]}: label {label.shape} and image {image.shape[:2]} sizes differ")
        return image, label
