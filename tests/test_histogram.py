"""Pooling pixels into a weighted colour histogram (skquant._histogram).

The oracle bins every pixel with numpy, using the documented rule (cells of
equal width over each channel's range, one cell per value for integer data
whose range fits), and compares counts, cell means and the ``exact`` flag.
"""

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skquant._histogram import cells_per_channel, distinct_colors, pool_pixels


def pool_oracle(pixels, bins):
    """(points, weights, exact) by numpy, in cell order."""
    pixels = np.asarray(pixels)
    n_channels = pixels.shape[1]
    per_channel = cells_per_channel(n_channels, bins)
    lo = pixels.min(axis=0).astype(np.float64)
    span = pixels.max(axis=0).astype(np.float64) - lo
    if pixels.dtype.kind in "iu" and np.all(span + 1 <= per_channel):
        per_channel = int(span.max()) + 1
        inv_width = np.ones(n_channels)
    else:
        inv_width = np.divide(
            per_channel, span, out=np.zeros(n_channels), where=span > 0
        )
        inv_width *= 1.0 - 1e-12
    cells = ((pixels.astype(np.float64) - lo) * inv_width).astype(np.int64)
    cells = np.clip(cells, 0, per_channel - 1)
    codes = np.zeros(len(pixels), np.int64)
    for j in range(n_channels):
        codes = codes * per_channel + cells[:, j]
    occupied, inverse, counts = np.unique(
        codes, return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    sums = np.zeros((len(occupied), n_channels))
    np.add.at(sums, inverse, pixels.astype(np.float64))
    n_distinct = len(np.unique(pixels, axis=0))
    return sums / counts[:, None], counts.astype(np.float64), n_distinct == len(counts)


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
    for n_threads in (1, 2):
        previous = numba.get_num_threads()
        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        try:
            result = pool_pixels(pixels)
        finally:
            numba.set_num_threads(previous)
        assert not result[2]
        assert_same_pool(result, pool_oracle(pixels, 64), exact_sums=True)


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
