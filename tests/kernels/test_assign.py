"""Exact nearest-palette assignment (skquant._kernels._assign) against brute force.

The oracle converts pixels to the working space with :mod:`skquant._color` in
float64 and takes the argmin of float64 squared distances. Two entries at the
same distance are both correct, so the checks compare the *distance* of the
chosen entry with the smallest one (up to rounding), not the index.
"""

import numba
import numpy as np
import pytest
from sklearn.cluster import KMeans, kmeans_plusplus
from threadpoolctl import threadpool_limits

from skquant import _color
from skquant._histogram import pool_pixels
from skquant._kernels import _assign
from skquant._kernels._assign import (
    LUT_MIN_PIXELS,
    MIN_GRID_PIXELS,
    assign_labels,
    build_grid,
    column_range,
    kernel_threads,
    lloyd_kmeans,
    map_to_palette,
    nearest_brute,
    take_rows,
)

SPACES = ["rgb", "lab", "oklab", "din99o"]

#: Distances the oracle computes per check, at most (pixels x colours).
ORACLE_BUDGET = 3_000_000
SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


# %% oracle ------------------------------------------------------------------


def to_work64(pixels, space, scale):
    work = np.asarray(pixels, dtype=np.float64)
    if space != "rgb":
        work = _color.to_working(work / scale, space)
    return work


def nearest_d2(rows, palette):
    """Smallest float64 squared distance from each row to the palette."""
    best = np.full(len(rows), np.inf)
    block = max(1, (1 << 20) // max(len(rows), 1))
    for s in range(0, len(palette), block):
        d2 = ((rows[:, None, :] - palette[None, s : s + block]) ** 2).sum(axis=-1)
        np.minimum(best, d2.min(axis=1), out=best)
    return best


def check_nearest(labels, pixels, palette_work, space="rgb", scale=1.0, rtol=1e-9):
    """Every label is a nearest entry (float64 distances, ties allowed)."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    palette = np.asarray(palette_work, dtype=np.float64)
    labels = np.asarray(labels).ravel()
    assert labels.dtype == np.int32
    assert labels.shape == (flat.shape[0],)
    assert labels.min() >= 0 and labels.max() < len(palette)
    if flat.dtype == np.uint8 and flat.shape[1] == 3:
        # Photos repeat colours: check each distinct colour once, and that
        # it gets one label wherever it appears.
        codes = (flat.astype(np.int64) << [16, 8, 0]).sum(axis=1)
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        np.testing.assert_array_equal(labels, labels[first][inverse.ravel()])
        flat, labels = flat[first], labels[first]
    if len(flat) * len(palette) > ORACLE_BUDGET:
        # Big palettes: the oracle checks a random subset of the colours.
        keep = np.random.default_rng(0).choice(
            len(flat), ORACLE_BUDGET // len(palette), replace=False
        )
        flat, labels = flat[keep], labels[keep]
    work = to_work64(flat, space, scale)
    best = nearest_d2(work, palette)
    got = ((work - palette[labels]) ** 2).sum(axis=1)
    slack = rtol * (best + (work**2).sum(axis=1)) + 1e-300
    bad = np.flatnonzero(got > best + slack)
    assert bad.size == 0, (
        f"{bad.size} colours not mapped to their nearest entry, e.g. "
        f"{work[bad[0]]}: got d2={got[bad[0]]}, best d2={best[bad[0]]}"
    )


def palette_from(pixels, n_colors, space, scale, seed, jitter=0.0):
    """Working-space palette: random pixels of the data (dense where it is)."""
    rng = np.random.default_rng(seed)
    flat = pixels.reshape(-1, pixels.shape[-1])
    pick = flat[rng.choice(len(flat), n_colors, replace=len(flat) < n_colors)]
    work = to_work64(pick, space, scale)
    if jitter:
        work = work + rng.normal(scale=jitter * work.std(), size=work.shape)
    return work


# %% real photographs ------------------------------------------------------------


@pytest.mark.parametrize("table", [True, False], ids=["table", "no-table"])
@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("n_colors", [2, 16, 256])
def test_photos_uint8_all_spaces(photos, space, n_colors, table, monkeypatch):
    # The sample photos are below LUT_MIN_PIXELS: force the table path too.
    monkeypatch.setattr(_assign, "LUT_MIN_PIXELS", 0 if table else 1 << 62)
    for seed, image in enumerate(photos):
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


# %% Lloyd's k-means ------------------------------------------------------------


@pytest.mark.parametrize("n_colors", [1, 5, 64])
@pytest.mark.parametrize("seed", range(2))
def test_lloyd_kmeans_matches_sklearn(coffee, n_colors, seed):
    """Same init -> the same iterations as scikit-learn's Lloyd.

    On a pooled histogram, as the estimator uses it (cell means are not on
    the integer grid, so no point is exactly equidistant from two centres:
    on ties scikit-learn's GEMM-based distances and exact ones may differ).
    """
    points, weights, _ = pool_pixels(coffee.reshape(-1, 3), bins=32)
    init, _ = kmeans_plusplus(
        points, n_colors, sample_weight=weights, random_state=seed
    )
    with threadpool_limits(limits=1):
        ref = KMeans(n_colors, init=init, n_init=1).fit(points, sample_weight=weights)
    centers, labels, n_iter, inertia = lloyd_kmeans(points, weights, init)
    assert labels.dtype == np.int32
    # scikit-learn counts one more step when it stops because no label moved.
    assert n_iter in (ref.n_iter_, ref.n_iter_ - 1)
    np.testing.assert_allclose(centers, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(labels, ref.labels_)
    np.testing.assert_allclose(inertia, ref.inertia_, rtol=1e-9)


@pytest.mark.parametrize("n_init", [1, 3])
def test_sklearn_backend_runs_kmeans_iterations(coffee, n_init):
    """run_kmeans draws KMeans's seeds and keeps its best run: same result."""
    from skquant._kmeans import run_kmeans

    points, weights, _ = pool_pixels(coffee.reshape(-1, 3), bins=32)
    rng = np.random.RandomState(3)
    seed = np.random.RandomState(3).randint(np.iinfo(np.int32).max)
    centers, labels, _, inertia = run_kmeans(
        points,
        weights,
        24,
        backend="sklearn",
        init="k-means++",
        n_init=n_init,
        max_iter=300,
        tol=1e-4,
        rng=rng,
    )
    with threadpool_limits(limits=1):
        ref = KMeans(24, n_init=n_init, random_state=seed).fit(
            points, sample_weight=weights
        )
    np.testing.assert_allclose(centers, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(labels, ref.labels_)
    np.testing.assert_allclose(inertia, ref.inertia_, rtol=1e-9)


@pytest.mark.parametrize("n", [0, 1, 13, 500, 4096])
def test_shell_sort_sorts_keys_and_moves_values(n):
    rng = np.random.default_rng(n)
    key = rng.integers(0, 50, n + 3).astype(np.float64)  # ties included
    values = np.arange(n + 3, dtype=np.int32)
    before = dict(zip(values.tolist(), key.tolist(), strict=True))
    _assign._shell_sort(key, values, n)
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


def test_lloyd_reassign_is_exact_from_any_labels():
    """Starting from arbitrary labels, one step gives the nearest centres."""
    rng = np.random.default_rng(7)
    points = rng.normal(size=(5000, 3))
    centers = rng.normal(size=(40, 3))
    labels = rng.integers(0, 40, 5000).astype(np.int32)
    order = np.tile(np.arange(40), (40, 1))
    upper, lower = np.full(5000, np.inf), np.zeros(5000)
    _assign._reassign(points, centers, labels, order, upper, lower, np.zeros(40))
    assert all(sorted(row) == list(range(40)) for row in order)
    check_nearest(labels, points, centers)
    # The bounds it leaves hold: upper is the distance to the centre, lower
    # at most the distance to any other centre.
    dist = np.sqrt(((points[:, None] - centers[None]) ** 2).sum(-1))
    own = dist[np.arange(5000), labels]
    np.testing.assert_allclose(upper, own, rtol=1e-12)
    dist[np.arange(5000), labels] = np.inf
    assert np.all(lower <= dist.min(axis=1) * (1 + 1e-12))
    # Moving the centres a little: the bounds, loosened by how far they
    # moved, still give the exact nearest centres.
    moved_centers = centers + rng.normal(scale=0.05, size=centers.shape)
    moved = np.sqrt(((moved_centers - centers) ** 2).sum(-1))
    _assign._reassign(points, moved_centers, labels, order, upper, lower, moved)
    check_nearest(labels, points, moved_centers)


def test_lloyd_kmeans_empty_clusters_and_no_weights():
    rng = np.random.default_rng(8)
    points = rng.normal(size=(3000, 3))
    init = np.repeat(points[:1], 6, axis=0)  # all clusters but one start empty
    init[1:] += 1e-9 * np.arange(1, 6)[:, None]
    centers, labels, n_iter, inertia = lloyd_kmeans(points, None, init, tol=0)
    assert len(np.unique(labels)) == 6
    check_nearest(labels, points, centers)
    np.testing.assert_allclose(
        inertia, ((points - centers[labels]) ** 2).sum(), rtol=1e-9
    )


# %% threads -------------------------------------------------------------------------


def test_threads_follow_threadpoolctl_and_numba(china):
    assert kernel_threads(10) == 1  # small jobs stay on one thread
    big = 1 << 24
    with threadpool_limits(limits=1, user_api="openmp"):
        assert kernel_threads(big) == 1
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert kernel_threads(big) == 1
    finally:
        numba.set_num_threads(previous)
    assert kernel_threads(big) == min(previous, kernel_threads(big))

    pixels = china.reshape(-1, 3)
    palette = palette_from(china, 100, "oklab", 255.0, 0)
    default = assign_labels(pixels, palette, space="oklab", scale=255.0)
    with threadpool_limits(limits=1):
        single = assign_labels(pixels, palette, space="oklab", scale=255.0)
    np.testing.assert_array_equal(default, single)
    assert numba.get_num_threads() == previous  # restored


def test_grid_is_cached_for_repeated_palettes(china, monkeypatch):
    """Frames mapped onto one palette build its grid once; results unchanged."""
    built = []
    real = _assign.build_grid

    def counting(*args):
        built.append(args[3])
        return real(*args)

    monkeypatch.setattr(_assign, "build_grid", counting)
    monkeypatch.setattr(_assign, "_grid_cache", {})
    pixels = china.reshape(-1, 3)
    palette = palette_from(china, 200, "rgb", 255.0, 3)
    first = assign_labels(pixels, palette)
    second = assign_labels(pixels[::-1].copy(), palette)  # another "frame"
    assert len(built) == 1
    np.testing.assert_array_equal(second, first[::-1])
    check_nearest(first[::97], pixels[::97], palette)
    # Another palette builds its own; the table stays bounded.
    for seed in range(_assign.GRID_CACHE_SIZE + 2):
        assign_labels(pixels[:40000], palette_from(china, 50, "rgb", 255.0, seed))
    assert len(_assign._grid_cache) == _assign.GRID_CACHE_SIZE
    for grid in _assign._grid_cache.values():
        assert not any(array.flags.writeable for array in grid)


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

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (200_000, 5)).astype(np.uint8)
    palette = rng.random((4096, 5)) * 255
    tracemalloc.start()
    labels = nearest_brute(pixels, palette)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 48 << 20  # 32 MiB of scores plus the labels
    check = slice(0, 2000)
    d = ((pixels[check, None, :] - palette[None]) ** 2).sum(axis=-1)
    np.testing.assert_array_equal(labels[check], d.argmin(axis=1))
