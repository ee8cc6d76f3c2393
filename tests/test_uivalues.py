"""guide/serving/pagevalues.py: uploads, sketch layers and JSON points -> what a Conversation takes."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guide.dialogue.conversation import UserError
from guide.serving.pagevalues import MAX_LAYER_PIXELS, load_image, parse_points, strokes_to_points, subsample


def test_strokes_to_points_maps_colours_and_coordinates() -> None:
    palette = np.array([[135, 206, 235], [60, 180, 75], [0, 128, 128]], np.uint8)
    layer = np.zeros((100, 200, 4), np.uint8)  # display is 2x the 50x100 image
    layer[10, 20] = [60, 180, 75, 255]  # grass
    layer[60, 150] = [2, 125, 130, 255]  # nearly coat
    layer[80, 10] = [255, 0, 255, 255]  # no class
    layer[90, 90] = [60, 180, 75, 40]  # faint anti-aliased edge: ignored
    points, ignored = strokes_to_points([layer], (50, 100), palette)
    assert sorted(points) == [(5, 10, 1), (30, 75, 2)] and ignored == 1
    assert strokes_to_points([], (50, 100), palette) == ([], 0)


def test_subsample_keeps_every_class() -> None:
    pts = [(y, x, 0) for y in range(50) for x in range(50)] + [(0, x, 1) for x in range(5)]
    out = subsample(pts, 400)
    assert len(out) <= 400 and {p[2] for p in out} == {0, 1}
    assert subsample(pts[:10], 400) == pts[:10]


def test_load_image_guards(tmp_path: Path) -> None:
    rgba = tmp_path / "a.png"
    Image.new("RGBA", (30, 20), (255, 0, 0, 0)).save(rgba)
    img, note = load_image(rgba)
    assert img.shape == (20, 30, 3) and img.dtype == np.uint8 and (img == 255).all() and note == ""
    grey = tmp_path / "g.png"
    Image.new("L", (2000, 100), 7).save(grey)
    img, note = load_image(grey)
    assert img.shape == (51, 1024, 3) and "downscaled" in note
    with pytest.raises(UserError):
        load_image(None)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(UserError):
        load_image(bad)


def test_later_layers_win_and_layers_without_alpha_are_ignored(tmp_path: Path) -> None:
    palette = np.array([[135, 206, 235], [60, 180, 75], [0, 128, 128]], np.uint8)
    a = np.zeros((50, 100, 4), np.uint8)
    a[10:12, 10:20] = [60, 180, 75, 255]
    b = np.zeros((50, 100, 4), np.uint8)
    b[10, 10:15] = [0, 128, 128, 255]
    points, _ = strokes_to_points([a, b], (50, 100), palette)
    assert len(points) == 20 and {(10, x, 2) for x in range(10, 15)} <= set(points)
    rgb = tmp_path / "rgb.png"  # no alpha channel: says nothing about which pixels were painted
    Image.fromarray(np.full((50, 100, 3), [60, 180, 75], np.uint8)).save(rgb)
    assert strokes_to_points([str(rgb)], (50, 100), palette) == ([], 0)
    assert strokes_to_points([str(rgb), a], (50, 100), palette)[0] == strokes_to_points([a], (50, 100), palette)[0]


def test_huge_layer_refused_before_decoding(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    Image.new("RGBA", (3000, 3000), (60, 180, 75, 255)).save(big)
    with pytest.raises(UserError, match="3000x3000"):
        strokes_to_points([str(big)], (160, 160), np.zeros((2, 3), np.uint8))
    assert 3000 * 3000 > MAX_LAYER_PIXELS
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png")
    with pytest.raises(UserError, match="sketch could not be read"):
        strokes_to_points([str(junk)], (160, 160), np.zeros((2, 3), np.uint8))


def test_parse_points_bounds() -> None:
    classes = ["sky", "coat"]
    assert parse_points('[[1, 2, "coat"], [3, 4, 0], [5, 6, "Sky"]]', classes, (10, 10)) == [(1, 2, 1), (3, 4, 0), (5, 6, 0)]
    for text, match in [("[" * 20_000 + "]" * 20_000, "nested too deeply"), ("[" * 100_000 + "]" * 100_000, "characters of points"),
                        (str([[1, 1, 0]] * 10_001).replace(" ", ""), "10,001 points"), ('[[1, 2, {"a": 1}]]', "Unknown class"),
                        ("[[NaN, 2, 0]]", "must be numbers"), ('[[1, 2, "x' + "y" * 5000 + '"]]', "Unknown class")]:
        with pytest.raises(UserError, match=match) as e:
            parse_points(text, classes, (10, 10))
        assert len(str(e.value)) < 200
