"""Distinct values and rows by sorting give np.unique's answers."""

import numpy as np
import pytest

from skquant._unique import distinct, unique_rows


@pytest.mark.parametrize("dtype", [np.uint8, np.uint32, np.int64, np.float64])
def test_distinct_is_np_unique(dtype):
    rng = np.random.default_rng(0)
    values = rng.integers(0, 300, 5000).astype(dtype)
    np.testing.assert_array_equal(distinct(values), np.unique(values))


@pytest.mark.parametrize("size", [0, 1, 2])
def test_distinct_of_tiny_arrays(size):
    values = np.arange(size, dtype=np.int64)[::-1]
    np.testing.assert_array_equal(distinct(values), np.arange(size))


def test_unique_rows_is_np_unique_on_a_photo(china):
    rows = china[::4, ::4].reshape(-1, 3)
    points, inverse = unique_rows(rows)
    expected, expected_inverse = np.unique(rows, axis=0, return_inverse=True)
    np.testing.assert_array_equal(points, expected)
    np.testing.assert_array_equal(inverse, expected_inverse.ravel())
    np.testing.assert_array_equal(points[inverse], rows)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_unique_rows_orders_numerically_first_column_first(dtype):
    # Multi-byte values: numeric order, not byte order.
    rows = np.array([[256, 1], [1, 300], [256, 0], [1, 300], [2, 0]], dtype)
    points, inverse = unique_rows(rows)
    np.testing.assert_array_equal(points, [[1, 300], [2, 0], [256, 0], [256, 1]])
    np.testing.assert_array_equal(points[inverse], rows)


def test_unique_rows_of_no_rows():
    points, inverse = unique_rows(np.zeros((0, 3), np.uint8))
    assert points.shape == (0, 3) and inverse.shape == (0,)
