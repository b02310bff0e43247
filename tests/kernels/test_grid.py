"""The candidate grid (skquant._kernels._grid): lists, sorting, ranges, cache."""

import numpy as np
import pytest

from skquant._kernels import _assign, _box, _grid
from skquant._kernels._assign import (
    assign_labels,
)
from skquant._kernels._grid import build_grid
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


@pytest.mark.parametrize("shell, ties", [(True, False), (False, False), (True, True)])
@pytest.mark.parametrize("n", [0, 1, 13, 500, 4096])
def test_shell_sort_sorts_keys_and_moves_values(n, shell, ties):
    rng = np.random.default_rng(n)
    key = rng.integers(0, 50, n + 3).astype(np.float64)  # ties included
    values = rng.permutation(n + 3).astype(np.int32)
    before = dict(zip(values.tolist(), key.tolist(), strict=True))
    expected = sorted(zip(key[:n].tolist(), values[:n].tolist(), strict=True))
    stable = sorted(range(n), key=lambda i: key[i])
    stable = [int(values[i]) for i in stable]
    rest = values[n:].tolist()
    _grid._shell_sort(key, values, n, shell, ties)
    assert np.all(np.diff(key[:n]) >= 0)
    if ties:  # ties ordered by value: one possible result
        assert list(zip(key[:n].tolist(), values[:n].tolist(), strict=True)) == expected
    if not shell:  # an insertion sort is stable
        assert values[:n].tolist() == stable
    assert sorted(values[:n].tolist()) == sorted(v for _, v in expected)
    pairs = zip(values.tolist(), key.tolist(), strict=True)
    assert all(before[v] == k for v, k in pairs)
    assert values[n:].tolist() == rest  # the rest untouched


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


# %% RGBA: the cone of premultiplied colours, the byte budget ------------------


def _rgba(photo, n_colors, seed=0):
    """RGBA pixels of ``photo`` (a faded band, a clear band) and a palette.

    Returns ``(pixels, palette)``: uint8 ``(n, 4)`` and ``n_colors``
    working-space entries (premultiplied colour, 255 x opacity) drawn from
    the pixels, a third of them semi-transparent.
    """
    height, width = photo.shape[:2]
    alpha = np.full((height, width, 1), 255, np.uint8)
    alpha[: height // 4, :, 0] = np.linspace(0, 255, width).astype(np.uint8)
    alpha[height // 4 : height // 3] = 0
    pixels = np.concatenate([photo, alpha], axis=2).reshape(-1, 4)
    rng = np.random.default_rng(seed)
    faded = np.flatnonzero((pixels[:, 3] > 0) & (pixels[:, 3] < 255))
    pick = np.concatenate(
        [
            rng.choice(faded, n_colors // 3, replace=False),
            rng.choice(len(pixels), n_colors - n_colors // 3, replace=False),
        ]
    )
    return pixels, _premultiplied(pixels[pick])


def _premultiplied(pixels):
    values = pixels.astype(np.float64)
    opacity = values[:, 3:] / 255.0
    return np.concatenate([values[:, :3] * opacity, opacity * 255.0], axis=1)


def _rgba_grid(pixels, palette, cone=True):
    lo, hi, box_cone = _box.pixel_box(pixels, "rgb", (255.0, 255.0))
    n_queries = len(pixels)
    return _grid.grid_for(palette, lo, hi, n_queries, cone=box_cone if cone else None)


def _cells_of(grid, points):
    _, lo, inv_width, g, *_ = grid
    t = np.floor((points - lo) * inv_width).astype(np.int64)
    cell = np.zeros(len(points), np.int64)
    for j in range(points.shape[1]):
        cell = cell * g + t[:, j]
    return cell


def test_rgba_grid_lists_only_cells_pixels_reach(astronaut, monkeypatch):
    """Issue 12: the RGBA grid repeated long lists along the opacity axis.

    A faint pixel has a dark premultiplied colour, so most cells of the 4-D
    box hold no pixel; they used to get lists all the same (98 MiB at
    K=16384). Now they get none, and every cell a real pixel falls in has
    its list.
    """
    monkeypatch.setattr(_grid, "_grid_cache", {})
    pixels, palette = _rgba(astronaut, 1024)
    pruned = _rgba_grid(pixels, palette)
    full = _rgba_grid(pixels, palette, cone=False)
    assert pruned[3] == full[3]  # same cells
    assert len(pruned[5]) < 0.75 * len(full[5])
    starts = pruned[4]
    cells = _cells_of(pruned, _premultiplied(pixels))
    assert np.all(starts[cells + 1] > starts[cells])  # pixels' cells: listed
    # Unlisted cells are searched in full: exact either way.
    labels = assign_labels(pixels, palette, alpha=(255.0, 255.0))
    check_nearest(labels, _premultiplied(pixels), palette)


def test_cells_without_a_list_are_searched_in_full(china, monkeypatch):
    """A cone that (almost) no pixel reaches: searches in full, still exact."""
    monkeypatch.setattr(_grid, "_grid_cache", {})
    pixels, palette = _rgba(china, 300, seed=3)
    real_box = _box.pixel_box

    def far_cone(*args):
        lo, hi, cone = real_box(*args)
        return lo, hi, np.array([1e6, 1e6, 1e6, 2e6, 2e6, 2e6, 255.0])

    monkeypatch.setattr(_assign, "pixel_box", far_cone)
    labels = assign_labels(pixels, palette, alpha=(255.0, 255.0))
    (start, _, _), _ = _only_cached_grid()
    work = _premultiplied(pixels)
    lo, hi, _ = real_box(pixels, "rgb", (255.0, 255.0))
    cells = _cells_of(_grid.grid_for(palette, lo, hi, len(pixels)), work)
    assert np.mean(start[cells + 1] == start[cells]) > 0.8  # mostly unlisted
    d = ((work[::37, None] - palette[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels[::37], d.argmin(1))


def test_grid_lists_fit_the_byte_budget(china, monkeypatch):
    """A level whose lists exceed GRID_BYTES is not built: a coarser grid."""
    pixels = china.reshape(-1, 3)
    palette = palette_from(china, 2000, "rgb", 255.0, 4, jitter=0.02)
    sizes = []
    for budget in (1 << 30, 1 << 18, 0):
        monkeypatch.setattr(_grid, "_grid_cache", {})
        monkeypatch.setattr(_grid, "GRID_BYTES", budget)
        labels = assign_labels(pixels, palette)
        (start, cand, lower), key = _only_cached_grid()
        assert start.nbytes + cand.nbytes + lower.nbytes <= max(
            budget, 8 * (len(palette) + 2)
        )
        sizes.append(len(start) - 1)
        check_nearest(labels, pixels, palette)
    assert sizes[0] > sizes[1] > sizes[2] == 1


def _only_cached_grid():
    (key, grid), *rest = _grid._grid_cache.items()
    assert not rest
    return grid, key


def test_stored_lower_bounds_are_never_above_the_true_ones():
    """float32 bounds are rounded down: the early stop stays exact."""
    rng = np.random.default_rng(8)
    palette = rng.uniform(0, 255, size=(3000, 3))
    lo, span, g = np.zeros(3), np.full(3, 255.0), 8
    start, cand, lower = build_grid(palette, lo, span, g, long_list=1)
    assert lower.dtype == np.float32
    width = span / g
    for cell in rng.choice(g**3, 40, replace=False):
        index = np.array(np.unravel_index(cell, (g, g, g)))
        box_lo, box_hi = lo + index * width, lo + (index + 1) * width
        entries = cand[start[cell] : start[cell + 1]]
        gap = np.maximum(
            0, np.maximum(box_lo - palette[entries], palette[entries] - box_hi)
        )
        exact = (gap**2).sum(1)
        assert np.all(lower[start[cell] : start[cell + 1]] <= exact)


@pytest.mark.slow
@pytest.mark.parametrize("n_colors", [4096, 16384])
def test_rgba_large_palettes_are_exact(astronaut, n_colors, monkeypatch):
    """K up to 16384 on an RGBA photo (the table path too): brute force."""
    monkeypatch.setattr(_grid, "_grid_cache", {})
    monkeypatch.setattr(_assign, "LUT_MIN_PIXELS", 0)
    pixels, palette = _rgba(astronaut, n_colors, seed=n_colors)
    labels = assign_labels(pixels, palette, alpha=(255.0, 255.0))
    check_nearest(labels, _premultiplied(pixels), palette)
    (start, cand, lower), _ = _only_cached_grid()
    assert start.nbytes + cand.nbytes + lower.nbytes <= _grid.GRID_BYTES
