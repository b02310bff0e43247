"""The candidate grid (skquant._kernels._grid): lists, sorting, ranges, cache."""

import numpy as np
import pytest

from skquant._kernels import _grid
from skquant._kernels._assign import (
    assign_labels,
)
from skquant._kernels._grid import build_grid, column_range
from tests.kernels._oracle import (
    check_nearest,
    palette_from,
    to_work64,
)

SPACES = ["rgb", "lab", "oklab", "din99o"]
SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def test_grid_lists_every_possible_nearest_entry():
    """Each cell lists the true nearest entry of points sampled inside it."""
    rng = np.random.default_rng(6)
    palette = rng.uniform(0, 1, size=(100, 3))
    lo, span, g = np.zeros(3), np.ones(3), 8
    start, cand, lower = build_grid(palette, lo, span, g)
    points = rng.uniform(0, 1, size=(20_000, 3))
    cells = np.floor(points * g).astype(int) @ np.array([g * g, g, 1])
    nearest = ((points[:, None] - palette[None]) ** 2).sum(-1).argmin(1)
    for point_cell, entry in zip(cells, nearest, strict=True):
        assert entry in cand[start[point_cell] : start[point_cell + 1]]
    counts = np.diff(start)
    assert counts.min() >= 1 and counts.mean() < 8  # lists are short
    for c in range(g**3):  # sorted by their lower bound where it is used
        lows = lower[start[c] : start[c + 1]]
        if len(lows) > 12:
            assert np.all(np.diff(lows) >= 0)


@pytest.mark.parametrize("n", [0, 1, 13, 500, 4096])
def test_shell_sort_sorts_keys_and_moves_values(n):
    rng = np.random.default_rng(n)
    key = rng.integers(0, 50, n + 3).astype(np.float64)  # ties included
    values = np.arange(n + 3, dtype=np.int32)
    before = dict(zip(values.tolist(), key.tolist(), strict=True))
    _grid._shell_sort(key, values, n)
    assert np.all(np.diff(key[:n]) >= 0)
    assert sorted(values[:n].tolist()) == list(range(n))  # a permutation
    pairs = zip(values.tolist(), key.tolist(), strict=True)
    assert all(before[v] == k for v, k in pairs)
    assert values[n:].tolist() == list(range(n, n + 3))  # the rest untouched


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32])
def test_column_range_is_min_and_max(china, dtype):
    """Also when a column reaches the dtype's whole range (the early stop)."""
    pixels = china.reshape(-1, 3).astype(dtype)
    if dtype == np.uint16:
        pixels = pixels * np.uint16(257)
    pixels[100_000::7, 1] = np.iinfo(dtype).min if dtype != np.float32 else -7.5
    big = np.concatenate([pixels] * 8)  # several chunks and threads
    for data in (pixels, big, big[::-1].copy()):
        lo, hi = column_range(data)
        np.testing.assert_array_equal(lo, data.min(axis=0).astype(np.float64))
        np.testing.assert_array_equal(hi, data.max(axis=0).astype(np.float64))


def test_grid_is_cached_for_repeated_palettes(china, monkeypatch):
    """Frames mapped onto one palette build its grid once; results unchanged."""
    built = []
    real = _grid.build_grid

    def counting(*args):
        built.append(args[3])
        return real(*args)

    monkeypatch.setattr(_grid, "build_grid", counting)
    monkeypatch.setattr(_grid, "_grid_cache", {})
    pixels = china.reshape(-1, 3)
    palette = palette_from(china, 200, "rgb", 255.0, 3)
    first = assign_labels(pixels, palette)
    second = assign_labels(pixels[::-1].copy(), palette)  # another "frame"
    assert len(built) == 1
    np.testing.assert_array_equal(second, first[::-1])
    check_nearest(first[::97], pixels[::97], palette)
    # Another palette builds its own; the table stays bounded.
    for seed in range(_grid.GRID_CACHE_SIZE + 2):
        assign_labels(pixels[:40000], palette_from(china, 300, "rgb", 255.0, seed))
    assert len(_grid._grid_cache) == _grid.GRID_CACHE_SIZE
    for grid in _grid._grid_cache.values():
        assert not any(array.flags.writeable for array in grid)


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_exact_ties_go_to_the_lowest_index_like_argmin(china, space):
    """Duplicated entries tie exactly: the answer is numpy's argmin.

    The candidate lists longer than ``LONG_LIST`` are sorted by their lower
    bound; ties used to go to whichever came first there (an equally near
    entry, but not the brute force's). Dithering always took the lowest.
    """
    pixels = china.reshape(-1, 3)  # x 50 colours: enough work for the grid
    base = palette_from(china, 20, space, 255.0, 5)
    palette = np.concatenate([base[::-1], base, base[::2]])  # 3 copies
    labels = assign_labels(pixels, palette, space=space, scale=255.0)
    work = to_work64(pixels, space, 255.0)
    for block in range(0, len(work), 4096):
        d = ((work[block : block + 4096, None] - palette[None]) ** 2).sum(-1)
        np.testing.assert_array_equal(labels[block : block + 4096], d.argmin(1))
