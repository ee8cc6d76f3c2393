"""guide/serving/render.py: the overlay is drawn at the image's own size (at most DISPLAY_SIDE), the
crosshair lands on the asked pixel, the "what changed" highlight dims the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from guide.serving.render import COLOUR_ALPHA, DISPLAY_SIDE, composite, display_size, overlay_size, render_layer

PALETTE = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], np.uint8)


def test_overlay_keeps_small_images_and_shrinks_large_ones() -> None:
    assert overlay_size(160, 160) == (160, 160)  # the browser upscales it
    assert display_size(160, 160) == (DISPLAY_SIDE, DISPLAY_SIDE)  # the sketch editor still shows it large
    assert overlay_size(1000, 2000) == (DISPLAY_SIDE // 2, DISPLAY_SIDE)
    assert overlay_size(3000, 1500) == (DISPLAY_SIDE, DISPLAY_SIDE // 2)


def test_layer_is_class_colours_at_the_image_resolution_and_the_page_blend_is_the_overlay() -> None:
    image = np.full((40, 60, 3), 100, np.uint8)
    labels = np.zeros((40, 60), np.uint8)
    labels[:, 30:] = 1
    layer = render_layer(labels, PALETTE)
    assert layer.shape == (40, 60, 4) and (layer[..., 3] == COLOUR_ALPHA).all()
    assert (layer[:, :30, :3] == 0).all() and (layer[:, 30:, :3] == [255, 0, 0]).all()
    assert (composite(image, layer, 1.0)[:, 30:] == [255, 0, 0]).all()
    np.testing.assert_allclose(composite(image, layer, 0.5)[0, 0], [50, 50, 50], atol=1)  # image * 0.5 + black * 0.5
    np.testing.assert_array_equal(composite(image, layer, 0.0), image)

    big = render_layer(np.ones((1024, 2048), np.uint8), PALETTE)
    assert big.shape == (256, 512, 4) and (big[..., :3] == [255, 0, 0]).all()
    assert composite(np.zeros((1024, 2048, 3), np.uint8), big, 1.0).shape == (256, 512, 3)  # the image follows the layer


def test_crosshair_and_changed_highlight() -> None:
    image = np.full((160, 160, 3), 128, np.uint8)
    labels = np.zeros((160, 160), np.uint8)
    plain = render_layer(labels, PALETTE)
    marked = render_layer(labels, PALETTE, marker=(40, 120))
    diff = np.argwhere((marked != plain).any(-1))
    assert len(diff) > 0 and set(np.unique(marked[..., 3])) == {COLOUR_ALPHA, 255}  # the crosshair alone is opaque
    cross = marked[..., 3] == 255
    opaque = composite(image, marked, 0.0)  # at opacity 0 the crosshair still shows, the colours do not
    assert (opaque[cross] != image[cross]).any(axis=-1).all() and (opaque[~cross] == image[~cross]).all()
    centre = diff.mean(0)
    assert abs(centre[0] - 40.5) < 3 and abs(centre[1] - 120.5) < 3  # ring and arms centred on the pixel
    changed = np.zeros((160, 160), bool)
    changed[:80] = True
    lit = render_layer(labels, PALETTE, changed=changed)
    assert (lit[:80, :, 3] == COLOUR_ALPHA).all() and (lit[100:, :, 3] < COLOUR_ALPHA).all()  # the unchanged half: translucent grey
    bright = np.full((160, 160, 3), 250, np.uint8)
    shown = composite(bright, lit, 1.0)
    np.testing.assert_allclose(shown[100:].astype(float), 250 * 0.35 + 40, atol=1.5)  # dimmed, the image still under it


def test_editor_background_is_written_once_per_image_and_bounded() -> None:
    from PIL import Image

    from guide.serving.render import EditorBackgrounds, resize

    backgrounds = EditorBackgrounds(size=2)
    images = [np.full((160, 160, 3), v, np.uint8) for v in (10, 20, 30)]
    first = backgrounds.path(images[0])
    assert backgrounds.path(images[0].copy()) == first  # same content: the same file, not re-encoded
    np.testing.assert_array_equal(np.asarray(Image.open(first)), resize(images[0], display_size(160, 160)))
    backgrounds.path(images[1])
    backgrounds.path(images[2])  # over the bound: the least recently used file goes
    assert not Path(first).exists() and len(list(backgrounds.folder.iterdir())) == 2


def test_two_tabs_opening_the_same_image_at_once_both_get_the_whole_png() -> None:
    """Concurrent first opens of one image each stage their own file (no shared .tmp name)."""
    import threading

    from PIL import Image

    from guide.serving.render import EditorBackgrounds

    image = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    errors, paths = [], []
    for _ in range(5):
        backgrounds = EditorBackgrounds()

        def open_it() -> None:
            try:
                paths.append(backgrounds.path(image))
            except Exception as e:  # the old shared staging name: FileNotFoundError on the second rename
                errors.append(e)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert [p.name for p in backgrounds.folder.iterdir()] == [Path(paths[-1]).name]  # no staging file left
        assert Image.open(paths[-1]).size == display_size(480, 640)[::-1]


def test_the_canvas_is_the_photo_under_the_class_colours_at_display_size_with_the_suggestion_ring() -> None:
    from PIL import Image

    from guide.serving.render import EditorBackgrounds

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (100, 160, 3), dtype=np.uint8)
    labels = np.zeros((100, 160), np.uint8)
    labels[:, 80:] = 1
    palette = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)
    plain = render_layer(labels, palette)
    ringed = render_layer(labels, palette, ring=(50, 40))
    assert (ringed[..., 3] == 255).any() and (ringed[..., 3] == 255).sum() < 0.05 * ringed[..., 0].size  # a small opaque ring
    assert (ringed[50, 40] == plain[50, 40]).all() and (ringed[:, 80:] == plain[:, 80:]).all()  # its centre and far away: colours
    shelf = EditorBackgrounds()
    path = shelf.canvas(image, plain, 1.0)
    picture = np.asarray(Image.open(path))
    assert picture.shape == (*display_size(100, 160), 3)  # the strokes' size (the editor's)
    assert (picture[:, : picture.shape[1] // 2 - 2] == [255, 0, 0]).all() and (picture[:, picture.shape[1] // 2 + 2 :] == [0, 0, 255]).all()
    assert shelf.canvas(image, plain, 1.0) == path and shelf.canvas(image, plain, 0.5) != path  # named by what it shows
    bare = np.asarray(Image.open(shelf.canvas(image, plain, 0.0)))
    assert (bare == np.asarray(Image.open(shelf.path(image)))).all()  # opacity 0: the bare photo
