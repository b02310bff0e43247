"""Exact nearest-palette assignment (skquant._kernels._assign) against brute force
(the oracle of :mod:`tests.kernels._oracle`)."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skquant import _color
from skquant._kernels import _assign
from skquant._kernels._assign import (
    LUT_MIN_PIXELS,
    assign_labels,
    map_to_palette,
    nearest_brute,
    take_rows,
)
from tests.kernels._oracle import (
    check_nearest,
    palette_from,
    to_work64,
)

SPACES = ["rgb", "lab", "oklab", "din99o"]

#: Pixels enough for a grid with a few hundred colours.
MIN_GRID_PIXELS = 1 << 15
SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


# %% real photographs ------------------------------------------------------------


@pytest.mark.parametrize("table", [True, False], ids=["table", "no-table"])
@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("n_colors", [2, 16, 256])
def test_photos_uint8_all_spaces(photos, space, n_colors, table, monkeypatch):
    # The sample photos are below LUT_MIN_PIXELS: force the table path too.
    monkeypatch.setattr(_assign, "LUT_MIN_PIXELS", 0 if table else 1 << 62)
    # Two photos (a float64 and a float32 palette): the other two take the
    # same paths; astronaut and coffee are in the tests below.
    for seed, image in enumerate(photos[:2]):
        palette = palette_from(image, n_colors, space, 255.0, seed, jitter=0.02)
        # The estimator's palettes are float32 (8-bit data) or float64.
        palette = palette.astype(np.float32 if seed % 2 else np.float64)
        labels = assign_labels(image.reshape(-1, 3), palette, space=space, scale=255.0)
        check_nearest(labels, image, palette, space, 255.0)


@pytest.mark.parametrize("space", SPACES)
def test_megapixel_photo_uses_the_table(china, space):
    """A photo above LUT_MIN_PIXELS (china tiled 2 x 2, flipped copies)."""
    image = np.block(
        [[[china], [china[:, ::-1]]], [[china[::-1]], [china[::-1, ::-1]]]]
    )
    assert image.shape[0] * image.shape[1] >= LUT_MIN_PIXELS
    palette = palette_from(image, 128, space, 255.0, 3, jitter=0.02)
    labels = assign_labels(image.reshape(-1, 3), palette, space=space, scale=255.0)
    check_nearest(labels, image, palette, space, 255.0)


@pytest.mark.parametrize("space", SPACES)
def test_photo_uint16_and_float(astronaut, space):
    image16 = astronaut.astype(np.uint16) * 257 + np.uint16(3)
    palette = palette_from(image16, 64, space, 65535.0, 0, jitter=0.05)
    labels = assign_labels(image16.reshape(-1, 3), palette, space=space, scale=65535.0)
    check_nearest(labels, image16, palette, space, 65535.0)

    for dtype in (np.float32, np.float64):
        image = (astronaut / 255.0).astype(dtype)
        if space == "rgb":
            image = image + np.float32(0.001)  # off the 8-bit grid
        palette = palette_from(image, 64, space, 1.0, 1, jitter=0.05)
        labels = assign_labels(image.reshape(-1, 3), palette, space=space, scale=1.0)
        check_nearest(labels, image, palette, space, 1.0)


@pytest.mark.parametrize("n_colors", [1, 3, 1000, 4096])
def test_photo_many_and_few_colours(coffee, n_colors):
    palette = palette_from(coffee, n_colors, "rgb", 255.0, 0, jitter=0.1)
    labels = assign_labels(coffee.reshape(-1, 3), palette)
    check_nearest(labels, coffee, palette)


@pytest.mark.parametrize("n_colors", [255, 256, 257])
def test_table_widths_and_the_last_label(astronaut, n_colors, monkeypatch):
    """One-byte table up to 256 colours (label 255 wraps to "not searched",
    so its colours are searched again), two bytes beyond."""
    monkeypatch.setattr(_assign, "LUT_MIN_PIXELS", 0)
    palette = palette_from(astronaut, n_colors, "rgb", 255.0, 0, jitter=0.05)
    palette[-1] = np.median(astronaut.reshape(-1, 3), axis=0)
    labels = assign_labels(astronaut.reshape(-1, 3), palette)
    assert np.count_nonzero(labels == n_colors - 1) > 100
    check_nearest(labels, astronaut, palette)


# %% random data -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n_channels", [1, 2, 3, 4, 5])
def test_random_float_any_channels(seed, n_channels):
    rng = np.random.default_rng(seed)
    n = MIN_GRID_PIXELS + 1000  # large enough for the grid
    pixels = rng.normal(size=(n, n_channels)) * rng.uniform(0.1, 10, n_channels)
    n_colors = int(rng.integers(2, 300))
    palette = rng.normal(size=(n_colors, n_channels)) * pixels.std(axis=0)
    for dtype in (np.float32, np.float64):
        data = pixels.astype(dtype)
        labels = assign_labels(data, palette)
        check_nearest(labels, data, palette)


@pytest.mark.parametrize("table", [True, False], ids=["table", "no-table"])
@pytest.mark.parametrize("n_channels", [1, 2, 4])
def test_uint8_other_channel_counts(n_channels, table, monkeypatch):
    monkeypatch.setattr(_assign, "LUT_MIN_PIXELS", 0 if table else 1 << 62)
    rng = np.random.default_rng(n_channels)
    pixels = rng.integers(
        0, 256, size=(MIN_GRID_PIXELS * 2, n_channels), dtype=np.uint8
    )
    palette = rng.uniform(0, 255, size=(40, n_channels))
    check_nearest(assign_labels(pixels, palette), pixels, palette)


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int16, np.int32, np.int64, np.uint32, np.float16]
)
def test_other_dtypes(dtype):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    lo, hi = (
        (-100, 100) if info is None else (max(info.min, -1000), min(info.max, 1000))
    )
    pixels = rng.integers(lo, hi, size=(MIN_GRID_PIXELS + 7, 3)).astype(dtype)
    palette = rng.uniform(lo, hi, size=(50, 3))
    check_nearest(assign_labels(pixels, palette), pixels, palette)


@pytest.mark.parametrize("space", SPACES)
def test_non_contiguous_blocks(china, space):
    palette = palette_from(china, 32, space, 255.0, 0, jitter=0.05)
    views = [
        china[:, ::2].reshape(-1, 3),  # copy by reshape
        china.reshape(-1, 3)[::3],  # strided rows
        china.reshape(-1, 3)[:, ::-1],  # reversed channels (BGR view)
        np.asfortranarray(china.reshape(-1, 3)),
    ]
    for view in views:
        labels = assign_labels(view, palette, space=space, scale=255.0)
        check_nearest(labels, view, palette, space, 255.0)
        contiguous = assign_labels(
            np.ascontiguousarray(view), palette, space=space, scale=255.0
        )
        np.testing.assert_array_equal(labels, contiguous)


# %% adversarial palettes ------------------------------------------------------------


def test_exact_ties_and_duplicates():
    """Pixels on bisectors, duplicated entries: any of the tied entries."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(MIN_GRID_PIXELS * 2, 3)).astype(np.uint8)
    base = rng.integers(0, 256, size=(20, 3)).astype(np.float64)
    # Pairs symmetric about integer points: every such point is a tie.
    offsets = rng.integers(-5, 6, size=(20, 3))
    palette = np.concatenate([base + offsets, base - offsets, base, base])
    labels = assign_labels(pixels, palette)
    check_nearest(labels, pixels, palette, rtol=0)
    # On the exact midpoints, both entries of a pair are at the same distance.
    mid = np.clip(base, 0, 255).astype(np.uint8)
    labels = assign_labels(np.repeat(mid, MIN_GRID_PIXELS // 10, axis=0), palette)
    check_nearest(labels, np.repeat(mid, MIN_GRID_PIXELS // 10, axis=0), palette)


@pytest.mark.parametrize("gap", [1e-3, 1e-7, 1e-10])
def test_near_ties(gap):
    """Entries a hair apart, pixels a hair from their bisectors."""
    rng = np.random.default_rng(1)
    centres = rng.uniform(0.2, 0.8, size=(30, 3))
    direction = rng.normal(size=(30, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    palette = np.concatenate([centres + gap * direction, centres - gap * direction])
    near = centres[rng.integers(0, 30, MIN_GRID_PIXELS * 2)]
    pixels = near + rng.normal(scale=gap, size=near.shape)
    labels = assign_labels(pixels, palette)
    check_nearest(labels, pixels, palette)


def test_clustered_palette_and_far_pixels():
    """A palette squeezed in a tiny box and pixels far outside it."""
    rng = np.random.default_rng(2)
    palette = 100.0 + rng.uniform(0, 1e-3, size=(200, 3))
    pixels = rng.uniform(-1e6, 1e6, size=(MIN_GRID_PIXELS * 2, 3))
    pixels[: len(pixels) // 2] = 100.0 + rng.uniform(0, 1e-3, (len(pixels) // 2, 3))
    check_nearest(assign_labels(pixels, palette), pixels, palette)


def test_points_on_a_line_and_constant_channel():
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 1, size=(MIN_GRID_PIXELS * 2, 1))
    pixels = np.hstack([t, 2 * t, np.full_like(t, 0.5)])
    palette = np.hstack([np.linspace(0, 1, 100)[:, None]] * 3) * [1, 2, 0] + [0, 0, 0.5]
    check_nearest(assign_labels(pixels, palette), pixels, palette)


@pytest.mark.parametrize("space", ["lab", "oklab", "din99o"])
def test_out_of_gamut_floats(space):
    """Float RGB beyond [0, 1] lies outside the grid: searched in full."""
    rng = np.random.default_rng(4)
    pixels = rng.uniform(-0.5, 1.5, size=(MIN_GRID_PIXELS * 2, 3))
    palette = to_work64(rng.uniform(0, 1, size=(64, 3)), space, 1.0)
    labels = assign_labels(pixels, palette, space=space, scale=1.0)
    check_nearest(labels, pixels, palette, space, 1.0)


def test_large_palette_beyond_int16_table():
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, size=(2000, 3)).astype(np.uint8)
    palette = rng.uniform(0, 255, size=(40_000, 3))
    check_nearest(assign_labels(pixels, palette), pixels, palette)


# %% contract ------------------------------------------------------------------------


def test_empty_and_single_colour():
    palette = np.array([[1.0, 2.0, 3.0]])
    assert assign_labels(np.zeros((0, 3), np.uint8), palette).shape == (0,)
    labels = assign_labels(np.zeros((5, 3), np.uint8), palette)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, 0)


def test_input_not_modified_and_deterministic(china):
    pixels = china.reshape(-1, 3)
    before = pixels.copy()
    palette = palette_from(china, 64, "lab", 255.0, 0)
    a = assign_labels(pixels, palette, space="lab", scale=255.0)
    b = assign_labels(pixels, palette, space="lab", scale=255.0)
    np.testing.assert_array_equal(pixels, before)
    np.testing.assert_array_equal(a, b)


def test_matches_brute_force_helper(flower):
    """Same answers as nearest_brute (float64), up to ties."""
    palette = palette_from(flower, 48, "rgb", 255.0, 0, jitter=0.05)
    pixels = flower.reshape(-1, 3)
    fast = assign_labels(pixels, palette)
    brute = nearest_brute(pixels, palette)
    agree = np.mean(fast == brute)
    assert agree > 0.999
    check_nearest(fast, pixels, palette)


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.uint16, np.float32, np.float64, np.int16]
)
def test_take_rows_is_palette_indexing(dtype):
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 200, size=(300, 4)).astype(dtype)
    labels = rng.integers(0, 300, size=MIN_GRID_PIXELS * 20).astype(np.int32)
    for lab in (labels, labels.astype(np.int64), labels[::2]):
        out = take_rows(palette, lab)
        assert out.dtype == palette.dtype
        np.testing.assert_array_equal(out, palette[lab])


@pytest.mark.parametrize("space", ["rgb", "din99o"])
@pytest.mark.parametrize("n_colors", [1, 16, 300])
def test_map_to_palette_is_gathered_labels(china, space, n_colors):
    """Chunked labels + gather equal the labels' colours, on every path."""
    big = np.concatenate([china.reshape(-1, 3)] * 4)  # past the table threshold
    palette = palette_from(china, n_colors, space, 255.0, 0)
    colors = np.random.default_rng(0).integers(0, 256, (n_colors, 3), np.uint8)
    cases = [big, big[::2], big[:5000], big.astype(np.float32)]
    for pixels in cases:
        scale = 255.0
        expected = colors[assign_labels(pixels, palette, space=space, scale=scale)]
        out = map_to_palette(pixels, palette, colors, space=space, scale=scale)
        assert out.dtype == colors.dtype and out.shape == (len(pixels), 3)
        np.testing.assert_array_equal(out, expected)
    with threadpool_limits(limits=1):  # one thread: still chunked
        out = map_to_palette(big, palette, colors, space=space, scale=255.0)
    np.testing.assert_array_equal(
        out, colors[assign_labels(big, palette, space=space, scale=255.0)]
    )


def test_map_to_palette_other_channels_and_dtypes():
    rng = np.random.default_rng(1)
    pixels = rng.random((20000, 5))
    palette = rng.random((7, 5))
    colors = rng.integers(-5, 5, (7, 2)).astype(np.int16)  # not a kernel dtype
    np.testing.assert_array_equal(
        map_to_palette(pixels, palette, colors), colors[assign_labels(pixels, palette)]
    )
    assert map_to_palette(pixels[:0], palette, colors).shape == (0, 2)


def _rgba_photo():
    """astronaut with an alpha channel: opaque, a gradient, a clear band."""
    from skimage import data

    rgb = data.astronaut()[::2, ::2]
    alpha = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
    alpha[:60, :, 0] = np.linspace(0, 255, rgb.shape[1]).astype(np.uint8)
    alpha[60:80] = 0
    return np.concatenate([rgb, alpha], axis=2).reshape(-1, 4)


@pytest.mark.parametrize("space", ["rgb", "lab"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("table", [False, True])
def test_rgba_is_the_nearest_premultiplied_colour(space, dtype, table, monkeypatch):
    # RGBA used to go through a chunked brute force (65,536 x K float
    # scores per chunk, 100x slower than RGB); now the grid kernels.
    monkeypatch.setattr(_assign, "LUT_MIN_PIXELS", 0 if table else 1 << 62)
    pixels = _rgba_photo()
    full = 255.0
    if dtype == np.float32:
        pixels, full = (pixels / 255.0).astype(np.float32), 1.0
    weight = 100.0 if space == "lab" else full
    scale = full if space == "lab" else 1.0

    def working(values):
        values = values.astype(np.float64)
        opacity = values[:, 3:] / full
        colour = values[:, :3]
        if space == "lab":
            colour = _color.to_working(colour / full, space)
        return np.concatenate([colour * opacity, opacity * weight], axis=1)

    rng = np.random.default_rng(0)
    palette = working(pixels[rng.choice(len(pixels), 64, replace=False)])
    alpha = (full, weight)
    labels = assign_labels(pixels, palette, space=space, scale=scale, alpha=alpha)
    work = working(pixels)
    expected = nearest_brute(work, palette)
    d = ((work[:, None, :] - palette[None]) ** 2).sum(axis=-1)
    n = np.arange(len(work))
    assert np.all(d[n, labels] <= d[n, expected] * (1 + 1e-12) + 1e-12)
    colors = (np.arange(64 * 4) % 251).astype(dtype).reshape(64, 4)
    mapped = map_to_palette(
        pixels, palette, colors, space=space, scale=scale, alpha=alpha, keep_clear=True
    )
    clear = pixels[:, 3] == 0
    assert clear.any()
    np.testing.assert_array_equal(mapped[~clear], colors[labels][~clear])
    np.testing.assert_array_equal(mapped[clear, :3], pixels[clear, :3])
    np.testing.assert_array_equal(mapped[clear, 3], colors[labels][clear, 3])


def test_brute_force_chunks_fit_a_byte_budget(monkeypatch):
    # 65,536 rows x K whatever K: 16384 colours took +8 GiB on an RGBA image.
    import tracemalloc

    # 70,000 rows x 1024 colours: unchunked float32 scores would be 274 MiB,
    # one chunk of 65,536 rows 256 MiB, both far above the budget.
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (70_000, 5)).astype(np.uint8)
    palette = rng.random((1024, 5)) * 255
    tracemalloc.start()
    labels = nearest_brute(pixels, palette)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 48 << 20  # 32 MiB of scores plus the labels
    check = slice(0, 2000)
    d = ((pixels[check, None, :] - palette[None]) ** 2).sum(axis=-1)
    np.testing.assert_array_equal(labels[check], d.argmin(axis=1))


@pytest.mark.parametrize("n_colors", [4, 16, 200])
def test_a_given_box_gives_the_same_labels(china, n_colors):
    """``box``: the pixel range known beforehand; a wrong one costs only time."""
    from skquant._color import rgb_to_perceptual
    from skquant._kernels._box import pixel_box

    rgb = np.unique(china.reshape(-1, 3), axis=0) / 255.0
    mapped = rgb_to_perceptual(rgb)
    rng = np.random.default_rng(n_colors)
    palette = mapped[rng.choice(len(mapped), n_colors, replace=False)]
    expected = assign_labels(mapped, palette)
    box = pixel_box(mapped, "rgb")[:2]
    np.testing.assert_array_equal(assign_labels(mapped, palette, box=box), expected)
    middle = mapped.mean(axis=0)
    narrow = (middle - 1.0, middle + 1.0)  # most pixels outside: searched in full
    np.testing.assert_array_equal(assign_labels(mapped, palette, box=narrow), expected)
    empty = (np.full(3, np.inf), np.full(3, -np.inf))
    np.testing.assert_array_equal(assign_labels(mapped, palette, box=empty), expected)


def test_a_bad_box_is_refused():
    pixels, palette = np.zeros((5, 3)), np.zeros((2, 3))
    with pytest.raises(ValueError, match="shape"):
        assign_labels(pixels, palette, box=(np.zeros(2), np.ones(2)))
    with pytest.raises(ValueError, match="finite"):
        assign_labels(pixels, palette, box=(np.full(3, np.nan), np.ones(3)))
    with pytest.raises(ValueError, match="finite"):
        assign_labels(pixels, palette, box=(np.full(3, -np.inf), np.ones(3)))
    with pytest.raises(ValueError, match="space='rgb'"):
        assign_labels(pixels, palette, space="lab", box=(np.zeros(3), np.ones(3)))
