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


def general_path(monkeypatch, *args, **kwargs):
    """``pool_cells`` through the general kernel (no packed uint8 tables)."""
    from skquant._kernels import _pool

    with monkeypatch.context() as patch:
        patch.setattr(_pool, "_rgb8_tables", lambda *grid: (None, None))
        return pool_cells(*args, **kwargs)


def assert_same_pooling(fast, general, *, exact):
    """codes, mixed and the colours of unmixed cells exactly; counts, sums
    and colour totals bit for bit (``exact``) or to float64 rounding."""
    same = (
        np.testing.assert_array_equal
        if exact
        else lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
    )
    codes, counts, sums, first, mixed = fast[:5]
    np.testing.assert_array_equal(codes, general[0])
    np.testing.assert_array_equal(mixed, general[4])
    same(counts, general[1])
    same(sums, general[2])
    assert first.dtype == general[3].dtype == np.float64
    np.testing.assert_array_equal(first[~mixed], general[3][~mixed])
    # a mixed cell's colour is one of its colours: in its cell
    lo, inv_width, per_channel = fast[-1]
    cells = np.clip(((first - lo) * inv_width).astype(np.int64), 0, per_channel - 1)
    np.testing.assert_array_equal(
        (cells[:, 0] * per_channel + cells[:, 1]) * per_channel + cells[:, 2], codes
    )
    if len(fast) == 7:  # max_colours given
        if general[5] is None:
            assert fast[5] is None
            return
        (rows, totals), (expected_rows, expected_totals) = fast[5], general[5]
        assert rows.dtype == expected_rows.dtype == np.uint8
        order, expected = np.lexsort(rows.T[::-1]), np.lexsort(expected_rows.T[::-1])
        np.testing.assert_array_equal(rows[order], expected_rows[expected])
        same(totals[order], expected_totals[expected])


def weights_for(pixels, kind, seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.random(len(pixels))
    if kind == "zeros":  # most pixels weigh nothing, some colours only so
        weights[rng.random(len(pixels)) < 0.7] = 0.0
        weights[pixels[:, 0] % 7 == 3] = 0.0
    elif kind == "flat":  # a few distinct values, many repeats
        weights = rng.choice([0.0, 0.25, 1.0, 3.5], size=len(pixels))
    return weights


@pytest.mark.parametrize("kind", ["random", "zeros", "flat"])
@pytest.mark.parametrize("per_channel", [64, 77, 101])
@pytest.mark.parametrize("max_colours", [None, 10**6, 5_000])
def test_weighted_uint8_rgb_matches_the_general_path(
    china, flower, astronaut, monkeypatch, kind, per_channel, max_colours
):
    # weighted uint8 RGB takes the packed-table path: the general kernel's
    # histogram and colours, bit for bit on one thread (the same additions
    # in the same order), to rounding on several
    from threadpoolctl import threadpool_limits

    for photo in (china, flower, astronaut):
        pixels = photo.reshape(-1, 3)
        weights = weights_for(pixels, kind)
        grid = (np.zeros(3), np.full(3, per_channel / 256.0), per_channel)
        kwargs = {} if max_colours is None else {"max_colours": max_colours}
        with threadpool_limits(1):
            fast = pool_cells(pixels, weights, *grid, **kwargs)
            general = general_path(monkeypatch, pixels, weights, *grid, **kwargs)
        assert_same_pooling((*fast, grid), general, exact=True)
        fast = pool_cells(pixels, weights, *grid, **kwargs)
        general = general_path(monkeypatch, pixels, weights, *grid, **kwargs)
        assert_same_pooling((*fast, grid), general, exact=False)


@pytest.mark.parametrize("max_cells", [None, 0, 10, 100_000])
def test_weighted_uint8_rgb_colours_and_budgets(photos, monkeypatch, max_cells):
    # a photo squeezed to few colours (mixed cells): the colours and their
    # weights, and None beyond max_colours or max_cells, as the general path
    for photo in photos[:2]:
        pixels = (photo[::2, ::2].reshape(-1, 3) // 2).astype(np.uint8)
        weights = weights_for(pixels, "zeros")
        args = (pixels, weights, *grid_args(pixels))
        grid = args[2:]
        fast = pool_cells(*args, max_colours=100_000, max_cells=max_cells)
        general = general_path(monkeypatch, *args, max_colours=100_000)
        assert fast[4].any()
        n_colours = len(general[5][0])
        if max_cells is None or max_cells >= len(fast[0]):
            assert_same_pooling((*fast, grid), general, exact=False)
            # colours of zero weight only are not there
            colours, index = np.unique(pixels, axis=0, return_inverse=True)
            total = np.bincount(index.ravel(), weights=weights)
            assert n_colours == np.count_nonzero(total) < len(colours)
        else:
            assert fast[5] is None
        for most in (n_colours, n_colours - 1):
            kept = pool_cells(*args, max_colours=most, max_cells=max_cells)[5]
            expected = general_path(monkeypatch, *args, max_colours=most)[5]
            assert (kept is None) == (
                expected is None or (max_cells is not None and max_cells < len(fast[0]))
            )


def test_weighted_uint8_rgb_against_numpy(photos):
    # counts and sums against np.bincount of the cells, weighted
    for photo in photos:
        pixels = photo.reshape(-1, 3)
        weights = weights_for(pixels, "zeros")
        grid = Grid.for_pixels(pixels, bins=64)
        codes, counts, sums, first, mixed = pool_cells(
            pixels, weights, grid.lo, grid.inv_width, grid.per_channel
        )
        cells = grid.cells(pixels)
        n = np.bincount(cells, weights=weights, minlength=grid.per_channel**3)
        occupied = np.flatnonzero(n)
        np.testing.assert_array_equal(codes, occupied)
        np.testing.assert_allclose(counts, n[occupied], rtol=1e-12)
        for j in range(3):
            s = np.bincount(cells, weights=weights * pixels[:, j], minlength=len(n))
            np.testing.assert_allclose(sums[:, j], s[occupied], rtol=1e-12)
        counted = weights > 0
        colours, index = np.unique(
            cells[counted] * 2**24 + pixels[counted] @ [65536, 256, 1],
            return_index=True,
        )
        distinct = np.bincount(cells[counted][index], minlength=len(n))[occupied]
        np.testing.assert_array_equal(mixed, distinct > 1)


def test_weighted_uint8_rgb_outside_the_grid(astronaut, monkeypatch):
    # values beyond the grid's range: the general path (edge cells), unless
    # only pixels of zero weight have them
    from skquant._kernels import _pool

    pixels = astronaut.reshape(-1, 3)
    grid = Grid((40, 40, 40), (200, 200, 200), bins=64, integer=True)
    args = (grid.lo, grid.inv_width, grid.per_channel)
    inside = np.all((pixels >= 40) & (pixels <= 200), axis=1)
    assert 0 < inside.mean() < 1
    declined = []
    fast_path = _pool._pool_cells_rgb8_weighted

    def spy(*a):
        result = fast_path(*a)
        declined.append(result is None)
        return result

    monkeypatch.setattr(_pool, "_pool_cells_rgb8_weighted", spy)
    for weights in (
        weights_for(pixels, "random"),
        weights_for(pixels, "random") * inside,
    ):
        fast = pool_cells(pixels, weights, *args, max_colours=10**6)
        general = general_path(monkeypatch, pixels, weights, *args, max_colours=10**6)
        assert_same_pooling((*fast, args), general, exact=False)
    assert declined == [True, False]


@pytest.mark.parametrize(
    "pixels, weights",
    [
        ([[0, 0, 0]], [2.0]),
        ([[0, 0, 0]], [0.0]),
        ([[1, 2, 3], [1, 2, 3], [0, 2, 3], [255, 255, 255]], [0.5, 0.25, 0.0, 1.0]),
        ([[1, 2, 3], [1, 2, 3], [0, 2, 3], [255, 255, 255]], [0.0, 0.0, 0.0, 0.0]),
        ([[4, 5, 6], [5, 5, 6], [7, 5, 6]], [1.0, 2.0, 0.0]),
    ],
)
def test_weighted_uint8_rgb_tiny(pixels, weights, monkeypatch):
    pixels = np.asarray(pixels, np.uint8)
    weights = np.asarray(weights)
    args = (np.zeros(3), np.full(3, 0.25), 64)
    fast = pool_cells(pixels, weights, *args, max_colours=10)
    general = general_path(monkeypatch, pixels, weights, *args, max_colours=10)
    assert_same_pooling((*fast, args), general, exact=True)
    assert fast[1].sum() == weights.sum()


def test_weighted_uint8_rgb_on_several_threads(china, monkeypatch):
    # 4.4 MP: the weighted uint8 path splits the pixels between threads (when
    # there are two) and adds their parts in order; one thread: bit for bit
    from threadpoolctl import threadpool_limits

    from skquant._kernels._runner import kernel_threads

    pixels = np.ascontiguousarray(np.tile(china, (4, 4, 1))).reshape(-1, 3)
    weights = weights_for(pixels, "zeros")
    grid = (np.zeros(3), np.full(3, 0.25), 64)
    threads = kernel_threads(len(pixels), min_items=8 * 64**3)
    fast = pool_cells(pixels, weights, *grid, max_colours=10**6)
    general = general_path(monkeypatch, pixels, weights, *grid, max_colours=10**6)
    assert_same_pooling((*fast, grid), general, exact=threads == 1)
    with threadpool_limits(1):
        one = pool_cells(pixels, weights, *grid, max_colours=10**6)
        general = general_path(monkeypatch, pixels, weights, *grid, max_colours=10**6)
    assert_same_pooling((*one, grid), general, exact=True)
    assert_same_pooling((*fast, grid), one, exact=threads == 1)
