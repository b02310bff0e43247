"""The one colour histogram (skquant._histogram) and its pooling kernel.

The binning rule lives in :class:`skquant._histogram.Grid` only; it is tested
here on its documented edges, and the oracle groups pixels by
``Grid.cells`` (NumPy) to check the compiled kernel's counts, cell means and
``exact`` flag.
"""

import pickle

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skquant._histogram import (
    Grid,
    Histogram,
    cells_per_channel,
    distinct_colors,
    pool,
    pool_pixels,
)


def pool_oracle(pixels, bins, weights=None):
    """(points, weights, exact) by numpy, in cell order."""
    pixels = np.asarray(pixels)
    grid = Grid(
        pixels.min(axis=0),
        pixels.max(axis=0),
        bins=bins,
        integer=pixels.dtype.kind in "iu",
    )
    occupied, inverse = np.unique(grid.cells(pixels), return_inverse=True)
    inverse = inverse.ravel()
    w = np.ones(len(pixels)) if weights is None else weights
    counts = np.bincount(inverse, weights=w)
    sums = np.zeros((len(occupied), pixels.shape[1]))
    np.add.at(sums, inverse, pixels.astype(np.float64) * w[:, None])
    n_distinct = len(np.unique(pixels, axis=0))
    return sums / counts[:, None], counts, n_distinct == len(counts)


def test_the_binning_rule():
    grid = Grid([0.0, 10.0], [1.0, 20.0], bins=4, integer=False)
    assert grid.per_channel == cells_per_channel(2, 4) == 8
    # lo in the first cell, hi in the last, equal widths between
    codes = grid.cells(np.array([[0.0, 10.0], [1.0, 20.0], [0.3, 12.6], [-5, 99]]))
    np.testing.assert_array_equal(codes, [0, 63, 2 * 8 + 2, 7])
    # integers whose range fits: one cell per value
    exact = Grid([3], [9], bins=64, integer=True)
    assert exact.per_channel == 7
    np.testing.assert_array_equal(exact.cells(np.arange(3, 10)[:, None]), range(7))


def assert_same_pool(result, expected, *, exact_sums):
    points, weights, exact = result
    ref_points, ref_weights, ref_exact = expected
    assert points.dtype == np.float64 and weights.dtype == np.float64
    np.testing.assert_array_equal(weights, ref_weights)
    if exact_sums:
        np.testing.assert_array_equal(points, ref_points)
    else:
        np.testing.assert_allclose(points, ref_points, rtol=1e-12)
    assert exact is ref_exact


@pytest.mark.parametrize("bins", [64, 16])
def test_photos(photos, bins):
    for image in photos:
        pixels = image.reshape(-1, 3)
        assert_same_pool(
            pool_pixels(pixels, bins=bins), pool_oracle(pixels, bins), exact_sums=True
        )


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_photo_in_other_dtypes(astronaut, dtype):
    pixels = astronaut.reshape(-1, 3)
    if dtype == np.uint16:
        pixels = pixels.astype(np.uint16) * 257
    else:
        pixels = (pixels / 255.0).astype(dtype)
    assert_same_pool(
        pool_pixels(pixels), pool_oracle(pixels, 64), exact_sums=dtype == np.uint16
    )


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int16, np.int32, np.uint32, np.int64, np.float16]
)
def test_other_dtypes(dtype):
    rng = np.random.default_rng(0)
    pixels = rng.integers(-100, 100, size=(50_000, 3))
    if np.dtype(dtype).kind == "u":
        pixels += 100
    pixels = pixels.astype(dtype)
    assert_same_pool(pool_pixels(pixels), pool_oracle(pixels, 64), exact_sums=True)


@pytest.mark.parametrize("n_channels", [1, 2, 4, 6])
def test_channel_counts(n_channels):
    rng = np.random.default_rng(n_channels)
    pixels = rng.integers(0, 256, size=(300_000, n_channels)).astype(np.uint8)
    assert_same_pool(pool_pixels(pixels), pool_oracle(pixels, 64), exact_sums=True)
    floats = rng.normal(size=(300_000, n_channels))
    assert_same_pool(pool_pixels(floats), pool_oracle(floats, 64), exact_sums=False)


def test_exact_when_cells_hold_one_colour():
    """Few distinct colours, or integers whose range fits: cells are colours."""
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 256, size=(50, 3)).astype(np.uint8)
    pixels = colours[rng.integers(0, 50, 400_000)]
    points, weights, exact = pool_pixels(pixels)
    assert exact
    ref_points, ref_weights = distinct_colors(pixels)
    order = np.lexsort(points.T[::-1])
    np.testing.assert_array_equal(points[order], ref_points)
    np.testing.assert_array_equal(weights[order], ref_weights)
    small = rng.integers(10, 40, size=(400_000, 3)).astype(np.uint8)  # range 30
    assert pool_pixels(small)[2]


def test_mixed_across_threads():
    """Two halves that each see one colour in a cell, but different ones."""
    pixels = np.zeros((1 << 20, 3), np.uint8)
    pixels[:, 0] = np.arange(1 << 20) % 256  # full range: 4 values per cell
    pixels[: 1 << 19, 1] = 0
    pixels[1 << 19 :, 1] = 1  # same cell (bin width 4), other colour
    pixels[:, 1][-1] = 255
    expected = pool_oracle(pixels, 64)  # the same for any number of threads
    for n_threads in (1, 2):
        previous = numba.get_num_threads()
        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        try:
            result = pool_pixels(pixels)
        finally:
            numba.set_num_threads(previous)
        assert not result[2]
        assert_same_pool(result, expected, exact_sums=True)


def test_threads_do_not_change_the_result(china):
    pixels = china.reshape(-1, 3)
    default = pool_pixels(pixels)
    with threadpool_limits(limits=1):
        single = pool_pixels(pixels)
    for a, b in zip(default[:2], single[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    assert default[2] == single[2]


def test_non_contiguous_and_unmodified(flower):
    pixels = flower.reshape(-1, 3)
    before = pixels.copy()
    view = pixels[::2, ::-1]
    assert_same_pool(pool_pixels(view), pool_oracle(view, 64), exact_sums=True)
    np.testing.assert_array_equal(pixels, before)


def test_constant_and_tiny_inputs():
    one = np.full((10, 3), 7, np.uint8)
    points, weights, exact = pool_pixels(one)
    np.testing.assert_array_equal(points, [[7.0, 7.0, 7.0]])
    np.testing.assert_array_equal(weights, [10.0])
    assert exact
    floats = np.array([[0.5, 0.25, 1.0]])
    points, weights, exact = pool_pixels(floats)
    np.testing.assert_array_equal(points, floats)
    assert exact and weights.tolist() == [1.0]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_weighted_pooling(china, dtype):
    pixels = china.reshape(-1, 3).astype(dtype)
    weights = np.random.default_rng(0).random(len(pixels))
    weights[::7] = 0  # zero weights add nothing
    result = pool_pixels(pixels, weights=weights)
    expected = pool_oracle(pixels[weights > 0], 64, weights[weights > 0])
    np.testing.assert_allclose(result[0], expected[0], rtol=1e-10)
    np.testing.assert_allclose(result[1], expected[1], rtol=1e-12)


def test_merging_batches_is_pooling_at_once(photos):
    pixels = np.concatenate([p.reshape(-1, 3) for p in photos])
    grid = Grid.for_pixels(pixels, bins=32)
    whole = Histogram.of(pixels, grid=grid)
    merged = Histogram.of(pixels[:0], grid=grid)
    for part in np.array_split(pixels, 7):
        merged = merged.merge(Histogram.of(part, grid=grid))
    for a, b in zip(whole.points(), merged.points(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.codes, merged.codes)


def test_exactness_is_stated_per_cell():
    """Exact: each cell's colour itself (not a rounded mean of copies)."""
    values = np.array([[0.1, 0.2, 0.3]] * 3 + [[0.7, 0.1, 0.9]])
    points, weights, exact = pool_pixels(values)
    assert exact
    np.testing.assert_array_equal(points, [[0.1, 0.2, 0.3], [0.7, 0.1, 0.9]])
    # two colours meeting in one cell, in different batches, make it mixed
    grid = Grid([0, 0, 0], [255, 255, 255], bins=4, integer=True)
    a = Histogram.of(np.array([[0, 0, 0]], np.uint8), grid=grid)
    b = Histogram.of(np.array([[1, 1, 1]], np.uint8), grid=grid)
    assert a.exact and b.exact and not a.merge(b).exact
    assert a.merge(a).exact


def test_histogram_by_colour_for_streams():
    """grid=None: every distinct colour is a cell, merged by colour."""
    pixels = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 1], [255, 255, 255]], np.uint8)
    first = Histogram.of(pixels[:2], grid=None)
    both = first.merge(Histogram.of(pixels[2:], grid=None))
    points, weights, exact = both.points()
    assert exact
    np.testing.assert_array_equal(points, [[0, 0, 0], [0, 0, 1], [255, 255, 255]])
    np.testing.assert_array_equal(weights, [1, 2, 1])
    floats = Histogram.of(np.array([[0.1, 0.2], [0.1, 0.2]]), grid=None)
    np.testing.assert_array_equal(floats.points()[0], [[0.1, 0.2]])


def test_histogram_pickles_its_occupied_cells_only(china):
    hist = pool(china.reshape(-1, 3))
    assert len(pickle.dumps(hist)) < 70 * len(hist.codes) + 10_000


@pytest.mark.parametrize(
    "dtype, n_channels, high",
    [
        (np.uint8, 3, 256),
        (np.uint8, 1, 256),
        (np.uint8, 4, 4),
        (np.uint8, 8, 3),  # 64 bits exactly
        (np.uint8, 9, 3),  # too wide to pack: rows sorted as before
        (np.uint16, 3, 1 << 16),
        (np.uint16, 4, 1 << 16),
        (np.uint32, 2, 1 << 32),
        (np.uint64, 1, 1 << 64),
        (np.int16, 3, 50),  # signed: not packed
        (np.float32, 3, 50),
    ],
)
def test_distinct_colors_equal_numpy_unique_rows(dtype, n_channels, high):
    """Packed codes keep np.unique(axis=0)'s rows, order and weights."""
    rng = np.random.default_rng(n_channels)
    if high > 1 << 60:  # the top bit set too: unsigned order, not signed
        pixels = rng.integers(0, 1 << 62, size=(2000, n_channels), dtype=np.uint64)
        pixels[::3] |= np.uint64(1 << 63)
    else:
        pixels = rng.integers(0, high, size=(2000, n_channels), dtype=np.int64)
    pixels = np.concatenate([pixels, pixels[:700]]).astype(dtype)  # repeats
    weights = rng.random(len(pixels)) * (rng.random(len(pixels)) > 0.3)
    before = pixels.copy()
    for w in (None, weights):
        points, counts = distinct_colors(pixels, w)
        ref, inverse = np.unique(pixels, axis=0, return_inverse=True)
        ref_counts = np.bincount(inverse.ravel(), weights=w, minlength=len(ref))
        np.testing.assert_array_equal(points, ref.astype(np.float64))
        np.testing.assert_allclose(counts, ref_counts, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(pixels, before)


def test_distinct_colors_of_a_photo():
    """8-bit RGB of a real photo: the same colours and counts as NumPy."""
    from skimage import data

    pixels = data.coffee().reshape(-1, 3)
    points, counts = distinct_colors(pixels)
    ref, ref_counts = np.unique(pixels, axis=0, return_counts=True)
    np.testing.assert_array_equal(points, ref)
    np.testing.assert_array_equal(counts, ref_counts)
    assert counts.sum() == len(pixels)


# %% the exact colours a histogram carries while they are few ------------------------


def _unique_oracle(pixels, weights=None):
    """np.unique's rows and their (weighted) counts, zero weights left out."""
    colours, inverse = np.unique(pixels, axis=0, return_inverse=True)
    w = np.ones(len(pixels)) if weights is None else weights
    totals = np.bincount(inverse.ravel(), weights=w, minlength=len(colours))
    return colours[totals > 0].astype(np.float64), totals[totals > 0]


def _logo():
    from skimage import data

    return np.ascontiguousarray(data.logo()[..., :3])


@pytest.mark.parametrize("case", ["uint8", "weighted", "float32", "rgba", "narrow"])
@pytest.mark.parametrize("threads", [1, 2])
def test_colours_are_numpy_unique_rows(case, threads):
    """scikit-image's logo (2,139 colours in 545 mixed and pure cells): on
    every path (uint8 RGB masks, the hash table for weights, floats and 4
    channels) the colours and their weights are np.unique's, on one thread
    or two (500,000 pixels: each thread's table, then one)."""
    pixels, weights = np.tile(_logo().reshape(-1, 3), (2, 1)), None
    if case == "weighted":
        weights = np.random.default_rng(0).integers(0, 4, len(pixels)).astype(float)
    elif case == "float32":
        pixels = pixels.astype(np.float32) / 255
    elif case == "rgba":
        alpha = np.where(pixels[:, :1] > 128, 255, 200).astype(np.uint8)
        pixels = np.hstack([pixels, alpha])
    elif case == "narrow":  # a grid of 4 values a cell over part of the range
        pixels = pixels[pixels.max(axis=1) < 200]
    with threadpool_limits(threads):
        hist = pool(pixels, weights)
    assert not hist.exact
    colours, totals = _unique_oracle(pixels, weights)
    np.testing.assert_array_equal(hist.colours.first, colours)
    np.testing.assert_array_equal(hist.colours.weights, totals)


def test_colours_of_an_exact_histogram_are_its_cells(photos):
    pixels = (photos[0][::4, ::4].reshape(-1, 3) // 16).astype(np.uint8)
    hist = pool(pixels)
    assert hist.exact
    colours, counts = _unique_oracle(pixels)
    np.testing.assert_array_equal(hist.colours.first, colours)
    np.testing.assert_array_equal(hist.colours.weights, counts)


def test_photos_keep_no_colours_at_any_size(photos):
    """A photo holds more colours than the byte budget: none kept, and not
    counted either (the uint8 masks know it; other data stop early)."""
    from skquant import _histogram

    for photo in photos:
        pixels = photo.reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > _histogram.max_colours(3)
        assert pool(pixels).colours is None
        assert pool(pixels.astype(np.float32)).colours is None
        assert pool(np.tile(pixels, (8, 1))).colours is None


def test_the_budget_is_bytes_and_merging_drops_colours_beyond_it(monkeypatch):
    """Colours are dropped once more than COLOURS_BYTES would hold them, in a
    batch or after merging batches (each within it), and stay dropped."""
    from skquant import _histogram

    pixels = _logo().reshape(-1, 3)
    n_colours = len(np.unique(pixels, axis=0))
    per_colour = 17 + 16 * 3
    assert _histogram.max_colours(3) == _histogram.COLOURS_BYTES // per_colour
    assert _histogram.max_colours(4) < _histogram.max_colours(3)
    monkeypatch.setattr(_histogram, "COLOURS_BYTES", (n_colours - 1) * per_colour)
    assert pool(pixels).colours is None
    assert pool(pixels, np.ones(len(pixels))).colours is None  # the hash table
    grid = Grid.for_pixels(pixels, bins=64)
    top, bottom = pixels[: len(pixels) // 2], pixels[len(pixels) // 2 :]
    a, b = Histogram.of(top, grid=grid), Histogram.of(bottom, grid=grid)
    assert a.colours is not None and b.colours is not None
    merged = a.merge(b)
    assert merged.colours is None
    assert merged.merge(a).colours is None
    monkeypatch.setattr(_histogram, "COLOURS_BYTES", n_colours * per_colour)
    np.testing.assert_array_equal(pool(pixels).colours.first, _unique_oracle(pixels)[0])


@pytest.mark.parametrize("weighted", [False, True])
def test_merged_colours_are_pooling_at_once(weighted):
    pixels = _logo().reshape(-1, 3)
    weights = None
    if weighted:
        weights = np.random.default_rng(1).integers(0, 3, len(pixels)).astype(float)
    grid = Grid.for_pixels(pixels, bins=64)
    merged = Histogram.of(pixels[:0], grid=grid)
    for part in np.array_split(np.arange(len(pixels)), 5):
        w = None if weights is None else weights[part]
        merged = merged.merge(Histogram.of(pixels[part], w, grid=grid))
    at_once = Histogram.of(pixels, weights, grid=grid)
    np.testing.assert_array_equal(merged.colours.first, at_once.colours.first)
    np.testing.assert_array_equal(merged.colours.weights, at_once.colours.weights)


def test_colours_below_skips_counting_when_the_cells_are_many():
    pixels = _logo().reshape(-1, 3)
    n_cells = len(pool(pixels).codes)
    assert pool(pixels, colours_below=n_cells).colours is None
    assert pool(pixels, colours_below=n_cells + 1).colours is not None
    weights = np.ones(len(pixels))
    assert pool(pixels, weights, colours_below=n_cells).colours is None
    assert pool(pixels, weights, colours_below=n_cells + 1).colours is not None


def test_histogram_by_colour_carries_no_second_copy():
    pixels = _logo().reshape(-1, 3)
    assert Histogram.of(pixels, grid=None).colours is None


@pytest.mark.parametrize(
    ("dtype", "n_channels"),
    [(np.uint8, 1), (np.uint8, 3), (np.uint8, 4), (np.uint16, 3), (np.uint32, 2)],
)
def test_distinct_colors_without_weights_counts_runs_of_sorted_codes(dtype, n_channels):
    """The path without weights (no inverse): the rows and counts of np.unique."""
    from skquant._histogram import distinct_colors

    rng = np.random.default_rng(n_channels)
    pixels = rng.integers(0, 5, (3000, n_channels)).astype(dtype)
    pixels[0] = np.iinfo(dtype).max  # the top bit of the codes
    points, counts = distinct_colors(pixels)
    expected, expected_counts = np.unique(pixels, axis=0, return_counts=True)
    np.testing.assert_array_equal(points, expected)
    np.testing.assert_array_equal(counts, expected_counts)
    assert points.dtype == counts.dtype == np.float64
    weighted, weights = distinct_colors(pixels, np.ones(len(pixels)))
    np.testing.assert_array_equal(weighted, points)
    np.testing.assert_array_equal(weights, counts)
    empty, none = distinct_colors(pixels[:0])
    assert empty.shape == (0, n_channels) and none.shape == (0,)
