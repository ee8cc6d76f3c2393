"""What an annotator's actions cost in seconds: a cost model from published annotation studies.

Each interaction kind of the app has a price in seconds of a person's time; the
simulated annotators of guide/evaluation/simulated.py pay these prices, and the app shows the
time spent on an image with them. Sources (docs/annotation-effort.md has the
numbers taken and what was assumed where no study measured it):

* Bearman, Russakovsky, Ferrari, Fei-Fei, *What's the point*, ECCV 2016: a full
  per-pixel PASCAL VOC image takes 239.7 s; point-level supervision 22.1 s per
  image; one object outline 54 s (Jain & Grauman 2013) to 79 s (COCO).
* Lin et al., *Microsoft COCO*, ECCV 2014: ~79-80 s per polygon instance.
* Papadopoulos et al., *Extreme clicking*, ICCV 2017: 7 s for 4 clicks on an
  object's extreme points (1.75 s a click, no class chosen).
* Benenson, Popov, Ferrari, *Large-scale interactive object segmentation with
  human annotators*, CVPR 2019: corrective clicks make masks 3x faster than
  polygon drawing.

Lengths are in image pixels; ``reference`` is the image side the per-pixel speeds
are stated for (a brush traces a fixed fraction of the image per second, whatever
its resolution). All functions are pure; the defaults are :data:`COST`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class CostModel:
    """Seconds per interaction kind (see the module docstring and docs/annotation-effort.md)."""

    click: float = 2.4  # a point with its class (Bearman et al. 2016; extreme clicks 1.75 s without a class)
    answer: float = 2.4  # answer "what is here?" for a shown pixel: choose its class (priced as a click)
    hint_think: float = 2.0  # assumed: deciding what to say before typing
    hint_word: float = 1.5  # typing at 40 words per minute
    relabel: float = 2.4  # one click on a predicted segment with the class to give it (a click)
    superpixel: float = 0.6  # assumed: each further superpixel the snapping brush sweeps after its first click
    polygon_vertex: float = 1.5  # assumed: one vertex of a polygon (COCO: ~79 s per instance of a few dozen vertices)
    polygon_close: float = 2.4  # choosing the class and closing the polygon (a click)
    brush_start: float = 2.4  # choosing the class and placing the brush (a click)
    brush_speed: float = 0.25  # assumed: image sides traced per second along a region's outline, brush at the edge
    ideal_brush: float = 2.4  # lower bound: one whole wrong region painted exactly in one interaction
    undo: float = 1.0  # assumed: seeing a change was wrong and pressing Undo
    full_image: float = 239.7  # a full per-pixel VOC image by polygons (Bearman et al. 2016), for scale
    polygon_tolerance: float = 1.5  # pixels: how far a polygon may stray from the outline (approximate_polygon)

    def hint(self, text: str) -> float:
        """A typed hint: thinking plus typing its words."""
        return self.hint_think + self.hint_word * len(text.split())

    def superpixel_brush(self, segments: int) -> float:
        """A snapping brush that sweeps ``segments`` superpixels (one click, then a drag)."""
        return self.click + self.superpixel * max(int(segments) - 1, 0)

    def polygon(self, vertices: int) -> float:
        return self.polygon_close + self.polygon_vertex * int(vertices)

    def brush(self, outline: float, side: int) -> float:
        """A freehand brush that must trace ``outline`` pixels of edge on an image of side ``side``."""
        return self.brush_start + float(outline) / (self.brush_speed * max(int(side), 1))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


COST = CostModel()


def outline_length(mask: np.ndarray) -> float:
    """Pixels of boundary of ``mask`` (HxW bool): its pixels with a 4-neighbour outside it.
    The image border does not count (a brush need not trace the frame)."""
    mask = np.asarray(mask, dtype=bool)
    inner = ndimage.binary_erosion(mask, border_value=1)
    return float((mask & ~inner).sum())


def polygon_vertices(mask: np.ndarray, tolerance: float = COST.polygon_tolerance) -> list[np.ndarray]:
    """Polygons (each Nx2 (row, col) vertices, not repeating the first) around each 8-connected
    part of ``mask``, simplified to ``tolerance`` pixels (Douglas-Peucker,
    ``skimage.measure.approximate_polygon``). Holes are not outlined (a person draws the
    hole's own polygon in the other class, which the simulated annotator does as a further region)."""
    from skimage.measure import approximate_polygon, find_contours

    mask = np.asarray(mask, dtype=bool)
    parts, n = ndimage.label(mask, structure=np.ones((3, 3)))
    polygons = []
    for k in range(1, n + 1):
        part = np.pad(parts == k, 1)
        contours = find_contours(part.astype(np.float32), 0.5)
        outer = max(contours, key=len)  # the outer contour is the longest
        poly = approximate_polygon(outer, tolerance) - 1  # back to unpadded coordinates
        if len(poly) > 1 and np.allclose(poly[0], poly[-1]):
            poly = poly[:-1]
        polygons.append(poly)
    return polygons


def step_seconds(step: dict, cost: CostModel = COST) -> float:
    """Seconds one Conversation step cost: its ``seconds`` when a priced action made it, else
    an estimate from what it said: a sketch or marked points as one click per class named,
    a hand paint as one brush stroke per class, an answer ("It's ...") as an answer, other
    guided steps as a typed hint."""
    if "seconds" in step:
        return float(step["seconds"])
    said = str(step.get("said", ""))
    head, _, rest = said.partition(") ")
    if said.startswith("(painted)") or said.startswith("(marked)"):
        return cost.click * max(len(rest.rsplit(" (", 1)[0].split(", ")), 1)
    if said.startswith("(set by hand)"):
        return cost.brush_start * max(len(step.get("marks", ())), 1)
    if said.startswith("It's ") and said.endswith("."):
        return cost.answer
    return cost.hint(said)


def scratch_seconds(labels: np.ndarray, cost: CostModel = COST, min_pixels: int = 4) -> float:
    """Seconds to draw ``labels`` (HxW class indices; ``VOID`` = 255 skipped) from scratch with
    polygons: one polygon per 4-connected region of one class (regions under ``min_pixels``
    skipped), at ``cost.polygon_tolerance``."""
    labels = np.asarray(labels)
    total = 0.0
    for k in np.unique(labels):
        if k == 255:
            continue
        comp, n = ndimage.label(labels == k)
        sizes = ndimage.sum(np.ones_like(comp), comp, index=np.arange(1, n + 1))
        for i in np.flatnonzero(sizes >= min_pixels):
            total += sum(cost.polygon(len(p)) for p in polygon_vertices(comp == i + 1, cost.polygon_tolerance))
    return total


HAND_MIN_PIXELS = 16  # changed regions smaller than this are not counted as a fix a person would draw by hand


def hand_seconds(mask: np.ndarray, cost: CostModel = COST, min_pixels: int = HAND_MIN_PIXELS) -> float:
    """Seconds to set the pixels of ``mask`` (HxW bool) by hand: each 4-connected region of at
    least ``min_pixels`` with the cheaper of a polygon around it (:func:`polygon_vertices`) and a
    freehand brush tracing its outline (:func:`outline_length`, the image border not counted).
    Each region is cut out with a one-pixel margin, so the cost grows with the regions, not the image."""
    mask = np.asarray(mask, dtype=bool)
    comp, _ = ndimage.label(mask)
    side, (H, W) = max(mask.shape), mask.shape
    total = 0.0
    for i, box in enumerate(ndimage.find_objects(comp), 1):
        if box is None:
            continue
        rows = slice(max(box[0].start - 1, 0), min(box[0].stop + 1, H))
        cols = slice(max(box[1].start - 1, 0), min(box[1].stop + 1, W))
        part = comp[rows, cols] == i
        if part.sum() < min_pixels:
            continue
        # The cut's own edge is the image border only where the region touches it: pad elsewhere with "outside".
        pad = ((int(rows.start > 0), int(rows.stop < H)), (int(cols.start > 0), int(cols.stop < W)))
        outline = outline_length(np.pad(part, pad)) if any(any(p) for p in pad) else outline_length(part)
        polygon = sum(cost.polygon(len(p)) for p in polygon_vertices(part, cost.polygon_tolerance))
        total += min(cost.brush(outline, side), polygon)
    return total


@lru_cache(maxsize=512)
def _changed_hand_seconds(counts: str, size: tuple[int, int], cost: CostModel) -> float:
    from guide.core.export import rle_decode

    return hand_seconds(rle_decode({"size": list(size), "counts": counts}), cost)


def step_hand_seconds(step: dict, cost: CostModel = COST) -> float:
    """Seconds the same fix as one Conversation step would take by hand: a hand step (``"paint"``)
    what it cost; a guided step :func:`hand_seconds` of the pixels it changed (its ``"changed"`` RLE)."""
    if step.get("kind") == "paint":
        return step_seconds(step, cost)
    changed = step.get("changed")
    if not isinstance(changed, dict) or not isinstance(changed.get("counts"), str):
        return 0.0
    return _changed_hand_seconds(changed["counts"], tuple(int(v) for v in changed["size"]), cost)


def effort(steps: list[dict], cost: CostModel = COST) -> dict[str, float]:
    """Time spent on an image and the time its fixes would take by hand, from a Conversation's
    steps alone (plain data, no label map needed) -> ``{"seconds_spent", "hand_seconds",
    "seconds_saved"}`` (saved = hand - spent; negative when guiding cost more than it fixed)."""
    spent = float(sum(step_seconds(s, cost) for s in steps))
    hand = float(sum(step_hand_seconds(s, cost) for s in steps))
    return {"seconds_spent": round(spent, 2), "hand_seconds": round(hand, 2), "seconds_saved": round(hand - spent, 2)}
