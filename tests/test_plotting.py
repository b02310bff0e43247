import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from skquant import ColorQuantizer  # noqa: E402
from skquant.plotting import plot_before_after, plot_palette  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted(china):
    image = china[::4, ::4]
    quantizer = ColorQuantizer(n_colors=12, random_state=0).fit(image)
    return image, quantizer


def _swatch_colors(ax):
    """The colours drawn by plot_palette, row by row, as uint8 RGBA."""
    grid = ax.images[0].get_array()
    return np.rint(np.asarray(grid).reshape(-1, 4) * 255).astype(np.uint8)


def test_palette_swatches_keep_the_given_order(fitted):
    _, quantizer = fitted
    ax = plot_palette(quantizer.palette_)
    drawn = _swatch_colors(ax)
    assert np.array_equal(drawn[:, :3], quantizer.palette_)
    assert np.all(drawn[:, 3] == 255)
    assert ax.get_xticks().size == 0 and ax.get_yticks().size == 0


def test_palette_labels_are_hex_codes_in_a_readable_colour():
    palette = np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8)
    ax = plot_palette(palette, labels=True)
    texts = ax.texts
    assert [t.get_text() for t in texts] == ["#ffffff", "#000000", "#ff0000"]
    assert texts[0].get_color() == "black"
    assert texts[1].get_color() == "white"


def test_palette_alpha_is_shown_in_labels():
    palette = np.array([[10, 20, 30, 0], [10, 20, 30, 255]], np.uint8)
    ax = plot_palette(palette, labels=True)
    assert [t.get_text() for t in ax.texts] == ["#0a141e00", "#0a141e"]


def test_large_palette_wraps_into_rows_of_16():
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, size=(40, 3), dtype=np.uint8)
    ax = plot_palette(palette)
    grid = ax.images[0].get_array()
    assert grid.shape == (3, 16, 4)
    drawn = _swatch_colors(ax)
    assert np.array_equal(drawn[:40, :3], palette)
    assert np.all(drawn[40:, 3] == 0)  # empty cells are transparent


@pytest.mark.parametrize(
    "palette",
    [
        np.array([[0.0, 0.5, 1.0], [1.0, 1.0, 1.0]]),
        np.array([[0, 32896, 65535], [65535, 65535, 65535]], dtype=np.uint16),
        np.array([[0], [255]], dtype=np.uint8),
    ],
    ids=["float", "uint16", "gray"],
)
def test_palette_dtypes(palette):
    ax = plot_palette(palette)
    assert _swatch_colors(ax).shape == (2, 4)


def test_palette_draws_on_given_axes():
    fig, ax = plt.subplots()
    assert plot_palette(np.eye(3), ax=ax) is ax
    assert len(fig.axes) == 1


@pytest.mark.parametrize(
    "palette", [np.zeros((0, 3)), np.zeros((3, 2)), np.zeros(3), np.zeros((2, 3), int)]
)
def test_palette_refuses_bad_input(palette):
    with pytest.raises(ValueError, match="palette"):
        plot_palette(palette)


def test_before_after_with_palette(fitted):
    image, quantizer = fitted
    quantized = quantizer.transform(image)
    axes = plot_before_after(image, quantized, palette=quantizer.palette_)
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes[:2]] == ["Original", "12 colours"]
    assert np.array_equal(axes[0].images[0].get_array(), image)
    assert np.array_equal(axes[1].images[0].get_array(), quantized)
    assert np.array_equal(_swatch_colors(axes[2])[:12, :3], quantizer.palette_)
    assert len({ax.figure for ax in axes}) == 1


def test_before_after_counts_colours_without_palette(fitted):
    image, quantizer = fitted
    axes = plot_before_after(image, quantizer.transform(image), titles=("a", "b"))
    assert len(axes) == 2
    assert [ax.get_title() for ax in axes] == ["a", "b"]
    axes = plot_before_after(image, quantizer.transform(image))
    assert axes[1].get_title() == f"{quantizer.n_colors_} colours"


def test_before_after_on_given_axes_and_16_bit_gray():
    image = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    quantized = (image // 16384) * 16384
    fig, axes = plt.subplots(1, 2)
    out = plot_before_after(image, quantized[:, :, None], axes=axes)
    assert list(out) == list(axes)
    shown = out[0].images[0].get_array()
    assert shown.max() == pytest.approx(1.0)
    assert out[0].images[0].get_cmap().name == "gray"


def test_before_after_refuses_wrong_axes_and_titles(fitted):
    image, quantizer = fitted
    quantized = quantizer.transform(image)
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="3 Axes"):
        plot_before_after(image, quantized, palette=quantizer.palette_, axes=axes)
    with pytest.raises(ValueError, match="titles"):
        plot_before_after(image, quantized, titles="one")
    with pytest.raises(ValueError, match="image"):
        plot_before_after(image[:, :, :2], quantized)


def test_import_does_not_load_matplotlib():
    code = "import sys, skquant.plotting; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_float_data_on_another_scale_is_refused(fitted):
    """0-255 floats (astype(np.float32)) were clipped to 1: all white."""
    image, quantizer = fitted
    with pytest.raises(ValueError, match=r"palette is float .* to 2\d\d.*255"):
        plot_palette(quantizer.palette_.astype(np.float32))
    as_float = image.astype(np.float32)
    with pytest.raises(ValueError, match=r"image is float .*divide by 255"):
        plot_before_after(as_float, quantizer.transform(image) / 255.0)
    # within the contract: drawn, a small overshoot clipped
    ax = plot_palette(quantizer.palette_ / 255.0 * 1.05 - 0.01)
    assert _swatch_colors(ax).shape == (12, 4)
    plot_before_after(image / 255.0, quantizer.transform(image) / 255.0)
