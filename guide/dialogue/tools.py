"""Hand tools that work on top of the guided prediction: which pixels each one sets.

Every tool returns an HxW bool mask of the pixels it sets; :meth:`guide.dialogue.conversation.
Conversation.paint` then sets them (a class, or ``VOID`` = "unsure" for the eraser) over
the guided prediction as one undoable step. Coordinates are (row, col) = (y, x) in image
pixels; label maps are HxW class indices.

* :func:`segment_at` - one click relabels the whole connected predicted segment under it;
* :func:`superpixels` / :func:`superpixel_mask` - a brush that snaps to image edges: it
  takes every SLIC superpixel its stroke touches (scikit-image's ``slic``);
* :func:`polygon_mask` - a polygon, rasterised (``skimage.draw.polygon``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

SUPERPIXEL_SIZE = 40  # pixels per superpixel on average (~640 on a 160 px image): thin boundary strips stay reachable
SUPERPIXEL_COMPACTNESS = 10.0


def _inside(shape: tuple[int, int], row: int, col: int) -> bool:
    return 0 <= row < shape[0] and 0 <= col < shape[1]


def segment_at(labels: np.ndarray, row: int, col: int) -> np.ndarray:
    """HxW bool: the 4-connected region of ``labels`` with the label at (row, col)."""
    labels = np.asarray(labels)
    if not _inside(labels.shape, row, col):
        raise ValueError(f"({row}, {col}) is outside the {labels.shape[0]}x{labels.shape[1]} image")
    comp, _ = ndimage.label(labels == labels[row, col])
    return comp == comp[row, col]


def superpixels(image: np.ndarray, size: int = SUPERPIXEL_SIZE, compactness: float = SUPERPIXEL_COMPACTNESS) -> np.ndarray:
    """HxW int32 superpixel ids (0..n-1) of an HxWx3 uint8 image, about ``size`` pixels each (SLIC)."""
    from skimage.segmentation import slic

    image = np.asarray(image)
    n = max(int(image.shape[0] * image.shape[1] / size), 1)
    return slic(image, n_segments=n, compactness=compactness, start_label=0, channel_axis=-1).astype(np.int32)


def superpixel_mask(segments: np.ndarray, points: Sequence[Sequence[int]]) -> np.ndarray:
    """HxW bool: every superpixel of ``segments`` that one of ``points`` (row, col) falls in."""
    segments = np.asarray(segments)
    ids = [int(segments[r, c]) for r, c in ((int(p[0]), int(p[1])) for p in points) if _inside(segments.shape, r, c)]
    if not ids:
        raise ValueError("the stroke has no point inside the image")
    return np.isin(segments, ids)


def polygon_mask(vertices: Sequence[Sequence[float]], shape: tuple[int, int]) -> np.ndarray:
    """HxW bool: the pixels inside the polygon with ``vertices`` ((row, col), at least 3)."""
    from skimage.draw import polygon

    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
        raise ValueError("a polygon needs at least 3 (row, col) vertices")
    mask = np.zeros(shape, dtype=bool)
    # Rasterising costs memory in the polygon's extent (the outline is drawn as lines, pixel by
    # pixel, before ``shape`` crops them): corners at 1e9 took gigabytes. So the polygon is clipped
    # to a box one image side around the image (a polygon within it is drawn exactly as given;
    # one reaching further may differ by a pixel where its outline crosses the image's edge).
    m = float(max(shape))
    v = clip_polygon(v, (-m, -m, shape[0] + m, shape[1] + m))
    if len(v) < 3:  # nothing of it over the image
        return mask
    rr, cc = polygon(v[:, 0], v[:, 1], shape)
    mask[rr, cc] = True
    # The outline itself belongs to the polygon too (a thin polygon still sets its edge pixels).
    from skimage.draw import polygon_perimeter

    rr, cc = polygon_perimeter(v[:, 0], v[:, 1], shape)
    mask[rr, cc] = True
    return mask


def clip_polygon(v: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Nx2 (row, col) polygon -> the part of it inside ``box`` = (row0, col0, row1, col1), as a
    polygon (Sutherland-Hodgman; the box is convex, so the part inside is one polygon). Mx2."""
    for axis, bound, keep_above in ((0, box[0], True), (0, box[2], False), (1, box[1], True), (1, box[3], False)):
        if len(v) == 0:
            break
        inside = v[:, axis] >= bound if keep_above else v[:, axis] <= bound
        out = []
        for i in range(len(v)):
            j = i - 1  # the edge from the previous vertex to this one
            if inside[i] != inside[j]:  # it crosses the bound: keep the crossing
                t = (bound - v[j, axis]) / (v[i, axis] - v[j, axis])
                out.append(v[j] + t * (v[i] - v[j]))
            if inside[i]:
                out.append(v[i])
        v = np.asarray(out, dtype=np.float64).reshape(-1, 2)
    return v
