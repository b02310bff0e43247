"""The pooling kernel's boundary (skquant._kernels.pool_cells)."""

import numpy as np
import pytest

from skquant._histogram import Grid
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
