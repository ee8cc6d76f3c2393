"""guide/render.py: the overlay is drawn at the image's own size (at most DISPLAY_SIDE), the
crosshair lands on the asked pixel, the "what changed" highlight dims the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from guide.render import DISPLAY_SIDE, display_size, overlay_size, render_overlay

PALETTE = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], np.uint8)


def test_overlay_keeps_small_images_and_shrinks_large_ones() -> None:
    assert overlay_size(160, 160) == (160, 160)  # the browser upscales it
    assert display_size(160, 160) == (DISPLAY_SIDE, DISPLAY_SIDE)  # the sketch editor still shows it large
    assert overlay_size(1000, 2000) == (DISPLAY_SIDE // 2, DISPLAY_SIDE)
    assert overlay_size(3000, 1500) == (DISPLAY_SIDE, DISPLAY_SIDE // 2)


def test_overlay_blends_labels_at_the_image_resolution() -> None:
    image = np.full((40, 60, 3), 100, np.uint8)
    labels = np.zeros((40, 60), np.uint8)
    labels[:, 30:] = 1
    out = render_overlay(image, labels, PALETTE, opacity=1.0)
    assert out.shape == (40, 60, 3)
    assert (out[:, :30] == 0).all() and (out[:, 30:] == [255, 0, 0]).all()
    half = render_overlay(image, labels, PALETTE, opacity=0.5)
    np.testing.assert_allclose(half[0, 0], [50, 50, 50], atol=1)

    big = render_overlay(np.zeros((1024, 2048, 3), np.uint8), np.ones((1024, 2048), np.uint8), PALETTE, opacity=1.0)
    assert big.shape == (256, 512, 3) and (big == [255, 0, 0]).all()


def test_crosshair_and_changed_highlight() -> None:
    image = np.full((160, 160, 3), 128, np.uint8)
    labels = np.zeros((160, 160), np.uint8)
    plain = render_overlay(image, labels, PALETTE, 0.5)
    marked = render_overlay(image, labels, PALETTE, 0.5, marker=(40, 120))
    diff = np.argwhere((marked != plain).any(-1))
    assert len(diff) > 0
    centre = diff.mean(0)
    assert abs(centre[0] - 40.5) < 3 and abs(centre[1] - 120.5) < 3  # ring and arms centred on the pixel
    changed = np.zeros((160, 160), bool)
    changed[:80] = True
    lit = render_overlay(image, labels, PALETTE, 0.5, changed=changed)
    assert lit[100:].mean() < plain[100:].mean()  # the unchanged half is dimmed


def test_editor_background_is_written_once_per_image_and_bounded() -> None:
    from PIL import Image

    from guide.render import EditorBackgrounds, resize

    backgrounds = EditorBackgrounds(size=2)
    images = [np.full((160, 160, 3), v, np.uint8) for v in (10, 20, 30)]
    first = backgrounds.path(images[0])
    assert backgrounds.path(images[0].copy()) == first  # same content: the same file, not re-encoded
    np.testing.assert_array_equal(np.asarray(Image.open(first)), resize(images[0], display_size(160, 160)))
    backgrounds.path(images[1])
    backgrounds.path(images[2])  # over the bound: the least recently used file goes
    assert not Path(first).exists() and len(list(backgrounds.folder.iterdir())) == 2
