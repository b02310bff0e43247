"""Indexed PNG and GIF files and animated GIFs with one global palette."""

import numpy as np
import pytest
from PIL import Image

from skquant.io import (
    read_image,
    write_animated_gif,
    write_indexed,
)
from tests.io._formats import (
    folder_listing,
    gif_structure,
)


def test_indexed_png_read_back(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    path = tmp_path / "indexed.png"
    write_indexed(path, labels, palette)
    with Image.open(path) as im:
        assert im.mode == "P"
        assert im.getpalette() == palette.ravel().tolist()
        assert "transparency" not in im.info
        np.testing.assert_array_equal(np.array(im), labels)


def test_indexed_png_per_entry_alpha(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    alpha = np.full(64, 255, np.uint8)
    alpha[[3, 10]] = [0, 77]
    path = tmp_path / "alpha.png"
    write_indexed(path, labels, np.column_stack([palette, alpha]), transparent_index=20)
    alpha[20] = 0
    with Image.open(path) as im:
        assert im.mode == "P"
        assert im.getpalette() == palette.ravel().tolist()
        assert im.info["transparency"] == alpha[:21].tobytes()
        np.testing.assert_array_equal(np.array(im), labels)
    rgba = read_image(path)
    np.testing.assert_array_equal(rgba[:, :, :3], palette[labels])
    np.testing.assert_array_equal(rgba[:, :, 3], alpha[labels])


@pytest.mark.parametrize("n_colors", [1, 2, 5, 16, 17, 256])
def test_indexed_palette_sizes(tmp_path, n_colors, gif_keeps_palette_mode):
    rng = np.random.default_rng(n_colors)
    palette = rng.integers(0, 256, (n_colors, 3), dtype=np.uint8)
    labels = rng.integers(0, n_colors, (37, 53))
    for name in ("i.png", "i.GIF"):
        write_indexed(tmp_path / name, labels, palette)
        with Image.open(tmp_path / name) as im:
            assert im.mode == "P"
            colors = im.getpalette()
            assert colors[: 3 * n_colors] == palette.ravel().tolist()
            if name == "i.png":
                assert len(colors) == 3 * n_colors
            else:  # GIF pads its table to a power of two with black
                assert set(colors[3 * n_colors :]) <= {0}
            np.testing.assert_array_equal(np.array(im), labels)


def test_indexed_gif_read_back(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    path = tmp_path / "indexed.gif"
    write_indexed(path, labels, palette, transparent_index=5)
    raw = path.read_bytes()
    global_table, n_images, n_local = gif_structure(raw)
    assert (n_images, n_local) == (1, 0)
    assert global_table == palette.tobytes()
    with Image.open(path) as im:
        assert im.mode == "P"
        assert im.info["transparency"] == 5
        assert im.getpalette() == palette.ravel().tolist()
        np.testing.assert_array_equal(np.array(im), labels)


def test_indexed_gif_alpha_rules(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    rgba = np.column_stack([palette, np.full(64, 255, np.uint8)])
    rgba[9, 3] = 0
    write_indexed(tmp_path / "a.gif", labels, rgba)
    with Image.open(tmp_path / "a.gif") as im:
        assert im.info["transparency"] == 9
    with pytest.raises(ValueError, match=r"entries \[4, 9\] have alpha 0"):
        write_indexed(tmp_path / "b.gif", labels, rgba, transparent_index=4)
    rgba[9, 3] = 100
    with pytest.raises(ValueError, match=r"partial alpha values \[100\]"):
        write_indexed(tmp_path / "c.gif", labels, rgba)
    assert folder_listing(tmp_path) == ["a.gif"]


def test_indexed_duplicate_colours_keep_labels(tmp_path, gif_keeps_palette_mode):
    palette = np.array([[10, 20, 30], [10, 20, 30], [0, 0, 0], [10, 20, 30]], np.uint8)
    labels = np.arange(4 * 6).reshape(4, 6) % 4
    for name in ("d.png", "d.gif"):
        write_indexed(tmp_path / name, labels, palette)
        with Image.open(tmp_path / name) as im:
            np.testing.assert_array_equal(np.array(im), labels)
    write_animated_gif(tmp_path / "d2.gif", [labels, labels[::-1]], palette)
    with Image.open(tmp_path / "d2.gif") as im:
        for i, frame in enumerate([labels, labels[::-1]]):
            im.seek(i)
            np.testing.assert_array_equal(np.array(im), frame)


@pytest.mark.parametrize(
    ("labels", "palette", "kwargs", "match"),
    [
        (
            np.zeros((4, 4), int),
            np.zeros((257, 3), np.uint8),
            {},
            "at most 256 colours, got 257",
        ),
        (np.full((4, 4), 3), np.zeros((3, 3), np.uint8), {}, r"\[0, 2\].*min=3, max=3"),
        (np.full((4, 4), -1), np.zeros((3, 3), np.uint8), {}, "min=-1"),
        (
            np.zeros((4, 4)),
            np.zeros((3, 3), np.uint8),
            {},
            "integers, got dtype float64",
        ),
        (
            np.zeros((4, 4, 1), int),
            np.zeros((3, 3), np.uint8),
            {},
            r"got shape \(4, 4, 1\)",
        ),
        (np.zeros((0, 4), int), np.zeros((3, 3), np.uint8), {}, "labels is empty"),
        (
            np.zeros((4, 4), int),
            np.zeros((3, 3), np.uint8),
            {"transparent_index": 3},
            r"transparent_index must be an integer in \[0, 2\], got 3",
        ),
    ],
)
def test_write_indexed_errors(tmp_path, labels, palette, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_indexed(tmp_path / "x.png", labels, palette, **kwargs)
    with pytest.raises(ValueError, match=r"'\.jpg'.*use \.png, \.gif"):
        write_indexed(tmp_path / "x.jpg", np.zeros((2, 2), int), [[0, 0, 0]])
    assert folder_listing(tmp_path) == []


# =============================================================================
# Animated GIF
# =============================================================================


def test_animated_gif_single_global_palette(
    tmp_path, astro_quantized, gif_keeps_palette_mode
):
    labels, palette = astro_quantized
    frames = [np.roll(labels, 32 * i, axis=1) for i in range(5)]
    durations = [40, 80, 120, 160, 200]
    path = tmp_path / "pan.gif"
    write_animated_gif(path, frames, palette, duration=durations, loop=0)

    global_table, n_images, n_local = gif_structure(path.read_bytes())
    assert global_table == palette.tobytes()
    assert (n_images, n_local) == (5, 0)

    with Image.open(path) as im:
        assert im.n_frames == 5
        assert im.info["loop"] == 0
        for i, frame in enumerate(frames):
            im.seek(i)
            assert im.mode == "P"
            assert im.getpalette() == palette.ravel().tolist()
            assert im.info["duration"] == durations[i]
            np.testing.assert_array_equal(np.array(im), frame)


def test_animated_gif_transparency(tmp_path, astro_quantized, gif_keeps_palette_mode):
    labels, palette = astro_quantized
    frames = np.stack([labels, labels.T, labels[::-1]])
    frames[1, :100] = 7  # a transparent band that must not show frame 0
    path = tmp_path / "t.gif"
    write_animated_gif(path, frames, palette, transparent_index=7, loop=None)
    _, n_images, n_local = gif_structure(path.read_bytes())
    assert (n_images, n_local) == (3, 0)
    with Image.open(path) as im:
        assert "loop" not in im.info
        for i, frame in enumerate(frames):
            im.seek(i)
            assert im.info["transparency"] == 7
            assert im.disposal_method == 2
            np.testing.assert_array_equal(np.array(im), frame)
    rgba = read_image(path)  # first frame
    np.testing.assert_array_equal(rgba[:, :, 3], np.where(labels == 7, 0, 255))


def test_animated_gif_identical_frames_are_merged(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    path = tmp_path / "still.gif"
    write_animated_gif(path, [labels, labels, labels[::-1]], palette, duration=100)
    with Image.open(path) as im:
        assert im.n_frames == 2
        assert im.info["duration"] == 200


def test_animated_gif_errors(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    with pytest.raises(ValueError, match="frames_labels is empty"):
        write_animated_gif(tmp_path / "a.gif", [], palette)
    with pytest.raises(ValueError, match=r"same shape.*\(256, 512\), \(512, 512\)"):
        write_animated_gif(tmp_path / "a.gif", [labels, labels[:256]], palette)
    with pytest.raises(ValueError, match=r"frames_labels\[1\] must be in \[0, 63\]"):
        write_animated_gif(tmp_path / "a.gif", [labels, labels + 1], palette)
    with pytest.raises(ValueError, match="duration has 1 values for 2 frames"):
        write_animated_gif(
            tmp_path / "a.gif", [labels, labels.T], palette, duration=[5]
        )
    with pytest.raises(ValueError, match=r"'\.png'.*use \.gif\."):
        write_animated_gif(tmp_path / "a.png", [labels], palette)
    rgba = np.column_stack([palette, np.full(64, 200, np.uint8)])
    with pytest.raises(ValueError, match=r"partial alpha values \[200\]"):
        write_animated_gif(tmp_path / "a.gif", [labels], rgba)
    assert folder_listing(tmp_path) == []
