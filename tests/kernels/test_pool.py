"""The pooling kernel's boundary (skquant._kernels.pool_cells)."""

import numpy as np
import pytest

from skquant._histogram import Grid, pool
from skquant._kernels import pool_cells


def grid_args(pixels, bins=64):
    grid = Grid.for_pixels(pixels, bins=bins)
    return grid.lo, grid.inv_width, grid.per_channel


@pytest.mark.parametrize(
    "pixels, weights, args, match",
    [
        (np.zeros((4, 3, 1)), None, None, "real 2-D array"),
        (np.zeros((4, 3), complex), None, None, "real 2-D array"),
        (np.zeros((4, 3)), np.ones(3), None, r"weights has shape \(3,\)"),
        (np.zeros((4, 3)), None, (np.zeros(2), np.ones(2), 4), "bounds for 3"),
        (np.zeros((4, 3)), None, (np.zeros(3), np.ones(3), 1 << 8), "cells, more"),
    ],
)
def test_boundary_refuses_what_would_crash(pixels, weights, args, match):
    if args is None:
        args = (np.zeros(3), np.ones(3), 4)
    with pytest.raises(ValueError, match=match):
        pool_cells(pixels, weights, *args)


def test_occupied_cells_only(china):
    pixels = china.reshape(-1, 3)
    codes, counts, sums, first, mixed = pool_cells(pixels, None, *grid_args(pixels))
    assert np.all(np.diff(codes) > 0) and np.all(counts > 0)
    assert counts.sum() == len(pixels)
    np.testing.assert_array_equal(sums.sum(axis=0), pixels.sum(axis=0))
    assert first.dtype == np.float64 and mixed.dtype == bool


def cell_oracle(pixels, grid):
    """Per occupied cell: codes, counts, sums and distinct colours, by NumPy."""
    codes = grid.cells(pixels)
    occupied, inverse = np.unique(codes, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(occupied))
    sums = np.stack(
        [np.bincount(inverse, weights=pixels[:, j]) for j in range(3)], axis=1
    )
    colours, colour_index = np.unique(pixels, axis=0, return_index=True)
    distinct = np.bincount(codes[colour_index], minlength=codes.max() + 1)[occupied]
    return occupied, counts, sums, distinct


@pytest.mark.parametrize("value_range", [None, ((3, 0, 9), (250, 255, 240))])
def test_uint8_rgb_against_numpy(photos, value_range):
    # unweighted uint8 RGB takes the packed-table path: every statistic
    # against np.unique on real photos, and a cell's colour when it has one
    for photo in photos:
        pixels = photo.reshape(-1, 3)
        grid = Grid.for_pixels(pixels, bins=64, value_range=value_range)
        codes, counts, sums, first, mixed = pool_cells(
            pixels, None, grid.lo, grid.inv_width, grid.per_channel
        )
        occupied, n, s, distinct = cell_oracle(pixels, grid)
        np.testing.assert_array_equal(codes, occupied)
        np.testing.assert_array_equal(counts, n)
        np.testing.assert_array_equal(sums, s)
        np.testing.assert_array_equal(mixed, distinct > 1)
        one = ~mixed
        np.testing.assert_array_equal(first[one], s[one] / n[one, None])
        assert np.array_equal(grid.cells(first), codes)  # each colour in its cell


def test_uint8_rgb_matches_the_general_path(photos):
    # weights of one take the general kernel: same histogram
    for photo in photos:
        pixels = photo.reshape(-1, 3)
        args = grid_args(pixels)
        fast = pool_cells(pixels, None, *args)
        general = pool_cells(pixels, np.ones(len(pixels)), *args)
        for a, b in zip(fast[:3] + fast[4:], general[:3] + general[4:], strict=True):
            np.testing.assert_array_equal(a, b)
        one = ~fast[4]
        np.testing.assert_array_equal(fast[3][one], general[3][one])


def test_uint8_rgb_outside_the_grid(astronaut):
    # pixels beyond a given range fall into the edge cells, as in the rule
    pixels = astronaut.reshape(-1, 3)
    grid = Grid((40, 40, 40), (200, 200, 200), bins=64, integer=True)
    codes, counts, sums, first, mixed = pool_cells(
        pixels, None, grid.lo, grid.inv_width, grid.per_channel
    )
    occupied, n, s, distinct = cell_oracle(pixels, grid)
    np.testing.assert_array_equal(codes, occupied)
    np.testing.assert_array_equal(counts, n)
    np.testing.assert_array_equal(sums, s)
    np.testing.assert_array_equal(mixed, distinct > 1)


def test_exact_histogram_is_the_distinct_colours(photos):
    # a range of 64 values per channel: one cell per colour value, so the
    # pooled points are exactly np.unique's colours and counts
    for photo in photos:
        pixels = (photo.reshape(-1, 3) // 4).astype(np.uint8)
        hist = pool(pixels, bins=64)
        points, weights, exact = hist.points()
        colours, counts = np.unique(pixels, axis=0, return_counts=True)
        assert exact
        order = np.lexsort(points.T[::-1])
        np.testing.assert_array_equal(points[order], colours)
        np.testing.assert_array_equal(weights[order], counts)


def test_uint8_rgb_in_slabs_and_white_to_the_overflow_bound(photos, monkeypatch):
    # the uint32 sums of the uint8 RGB path are added to uint64 totals slab
    # by slab: small slabs give the same histogram as one, and a white
    # image of RGB8_SLAB + 1 pixels (sums beyond 2**32) is counted exactly
    from skquant._kernels import _pool

    for photo in photos[:2]:
        pixels = photo.reshape(-1, 3)
        args = grid_args(pixels)
        whole = pool_cells(pixels, None, *args)
        with monkeypatch.context() as patch:
            patch.setattr(_pool, "RGB8_SLAB", 50_000)
            slabs = pool_cells(pixels, None, *args)
        for a, b in zip(whole, slabs, strict=True):
            np.testing.assert_array_equal(a, b)
    white = np.full((_pool.RGB8_SLAB + 1, 3), 255, np.uint8)
    codes, counts, sums, first, mixed = pool_cells(white, None, *grid_args(white))
    assert counts.tolist() == [len(white)] and not mixed[0]
    np.testing.assert_array_equal(sums, [[255.0 * len(white)] * 3])
    np.testing.assert_array_equal(first, [[255.0] * 3])


def test_boundary_refuses_a_negative_colour_budget(china):
    pixels = china.reshape(-1, 3)
    with pytest.raises(ValueError, match="max_colours must be >= 0, got -1"):
        pool_cells(pixels, None, *grid_args(pixels), max_colours=-1)


def test_colours_of_the_uint8_path_match_the_general_path(photos):
    """The uint8 RGB masks and the hash table find the same colours (a photo
    squeezed to few colours, with mixed cells), and both stop at the budget."""
    for photo in photos[:2]:
        pixels = (photo[::2, ::2].reshape(-1, 3) // 2).astype(np.uint8)
        args = grid_args(pixels)
        fast = pool_cells(pixels, None, *args, max_colours=100_000)
        general = pool_cells(pixels, np.ones(len(pixels)), *args, max_colours=100_000)
        assert fast[4].any()  # mixed cells
        for rows, totals in (fast[5], general[5]):
            order = np.lexsort(rows.T[::-1])
            colours, counts = np.unique(pixels, axis=0, return_counts=True)
            np.testing.assert_array_equal(rows[order], colours)
            np.testing.assert_array_equal(totals[order], counts)
        n_colours = len(fast[5][0])
        for weights in (None, np.ones(len(pixels))):
            assert pool_cells(pixels, weights, *args, max_colours=n_colours)[5]
            assert (
                pool_cells(pixels, weights, *args, max_colours=n_colours - 1)[5] is None
            )
