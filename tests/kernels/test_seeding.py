"""k-means++ seeding (skquant._kernels._seeding) against scikit-learn's own."""

import numpy as np
import pytest
from scipy.spatial import cKDTree
from sklearn.cluster import kmeans_plusplus as sklearn_plusplus

from skquant import _color
from skquant._histogram import pool_pixels
from skquant._kernels import initial_centers, kmeans_plusplus


@pytest.mark.parametrize("space", ["rgb", "din99o"])
@pytest.mark.parametrize("n_clusters", [1, 8, 100])
def test_same_seeds_as_scikit_learn(photos, space, n_clusters):
    """Same algorithm, same random stream: the same points, on real photos."""
    for seed, photo in enumerate(photos):
        points, weights, _ = pool_pixels(photo.reshape(-1, 3))
        if space != "rgb":
            points = _color.to_working(points / 255.0, space)
        ref, ref_idx = sklearn_plusplus(
            points, n_clusters, sample_weight=weights, random_state=seed
        )
        centers, idx = kmeans_plusplus(
            points,
            n_clusters,
            sample_weight=weights,
            random_state=np.random.RandomState(seed),
        )
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_array_equal(centers, ref)


def test_unweighted_and_other_dimensions():
    rng = np.random.default_rng(0)
    for n_features in (1, 2, 5):
        points = rng.normal(size=(3000, n_features))
        _, ref_idx = sklearn_plusplus(points, 20, random_state=4)
        _, idx = kmeans_plusplus(points, 20, random_state=np.random.RandomState(4))
        np.testing.assert_array_equal(idx, ref_idx)


def test_duplicates_and_input_untouched():
    """Fewer distinct points than centres: seeds repeat, nothing breaks."""
    points = np.repeat(np.eye(3), 10, axis=0)
    before = points.copy()
    centers, idx = kmeans_plusplus(points, 5, random_state=np.random.RandomState(0))
    assert centers.shape == (5, 3) and np.all(np.isfinite(centers))
    assert len({tuple(c) for c in centers[:3]}) == 3  # the distinct ones first
    np.testing.assert_array_equal(points, before)


def test_initial_centers_options(coffee):
    points = coffee.reshape(-1, 3)[::50].astype(np.float64)
    rs = np.random.RandomState
    random = initial_centers(points, 6, init="random", random_state=rs(1))
    assert random.shape == (6, 3)
    assert all(any((p == c).all() for p in points) for c in random)
    given = initial_centers(points, 2, init=points[:2], random_state=rs(1))
    np.testing.assert_array_equal(given, points[:2])
    plusplus = initial_centers(points, 6, init="k-means++", random_state=rs(1))
    np.testing.assert_array_equal(
        plusplus, sklearn_plusplus(points, 6, random_state=1)[0]
    )


def test_seeds_around_existing_centres():
    """With fixed colours, seeds go where those leave the most error."""
    rng = np.random.default_rng(2)
    blobs = [rng.normal(c, 0.1, size=(500, 3)) for c in ((0, 0, 0), (5, 5, 5))]
    points = np.concatenate(blobs)
    centers, idx = kmeans_plusplus(
        points, 1, random_state=np.random.RandomState(0), existing=[[0.0, 0, 0]]
    )
    assert idx[0] >= 500  # from the blob no existing centre covers
    np.testing.assert_array_equal(centers[0], points[idx[0]])
    none, none_idx = kmeans_plusplus(
        points, 0, random_state=np.random.RandomState(0), existing=[[0.0, 0, 0]]
    )
    assert none.shape == (0, 3) and none_idx.shape == (0,)


# %% many seeds: the grid of the points ------------------------------------------


def _cell_order(points):
    from skquant._kernels import _seeding

    _, cell = _seeding._point_grid(points)
    return np.argsort(cell, kind="stable")


@pytest.mark.parametrize("n_features", [1, 2, 3, 4])
def test_grid_seeds_are_the_scan_on_cell_ordered_points(photos, n_features):
    """The pruned trials and the block-cell-point draw are exact.

    With the same draws, the grid picks the same points as the full scan of
    every point (:func:`_plusplus`) visiting the points in the grid's cell
    order: a trial skips only blocks and cells whose points cannot move
    closer, and the draw lands where the cumulative potential does.
    """
    from skquant._kernels import _seeding

    for seed, photo in enumerate(photos):
        points, weights, _ = pool_pixels(photo.reshape(-1, 3))
        if n_features == 4:  # premultiplied colour and opacity
            opacity = np.linspace(0.2, 1.0, len(points))[:, None]
            points = np.concatenate([points * opacity, 255 * opacity], axis=1)
        points = np.ascontiguousarray(points[:, :n_features], dtype=np.float64)
        rng = np.random.RandomState(seed)
        n_seeds = 300
        first = rng.randint(len(points))
        closest = _seeding._closest(np.ascontiguousarray(points.T), points[[first]])
        uniforms = rng.uniform(size=(n_seeds, 2 + int(np.log(n_seeds))))
        got = _seeding._plusplus_grid(points, weights, closest.copy(), uniforms)
        order = _cell_order(points)
        columns = np.ascontiguousarray(points[order].T)
        ref = _seeding._plusplus(columns, weights[order], closest[order], uniforms)
        np.testing.assert_array_equal(got, order[ref])


def test_many_seeds_are_as_good_and_deterministic(astronaut, monkeypatch):
    """From GRID_SEEDS seeds on: same seeds for the same random_state, and
    the potential of the scan's seeds (another draw of the same law)."""
    from skquant._kernels import _seeding

    points, weights, _ = pool_pixels(astronaut.reshape(-1, 3))
    k = 1200
    monkeypatch.setattr(_seeding, "GRID_SEEDS", 1000)

    def potential(centers):
        # exact nearest distances by a k-d tree (a dense points x 1200 x 3
        # array took 7-9 s a call; same values up to 1e-16 relative)
        distances, _ = cKDTree(centers).query(points)
        return float(np.dot(weights, distances**2))

    def seeds(seed):
        rs = np.random.RandomState(seed)
        return kmeans_plusplus(points, k, sample_weight=weights, random_state=rs)

    grid, grid_idx = seeds(5)
    again, again_idx = seeds(5)
    np.testing.assert_array_equal(grid_idx, again_idx)
    assert len(set(grid_idx.tolist())) == k  # distinct points
    monkeypatch.setattr(_seeding, "GRID_SEEDS", 1 << 62)
    scans = [potential(seeds(s)[0]) for s in (5, 6)]
    grids = [potential(grid)]
    monkeypatch.setattr(_seeding, "GRID_SEEDS", 1000)
    grids.append(potential(seeds(6)[0]))
    assert 0.85 < np.mean(grids) / np.mean(scans) < 1.15


def test_many_seeds_around_existing_centres(china, monkeypatch):
    """The grid path with fixed colours: the scan's seeds, in cell order."""
    from skquant._kernels import _seeding

    points, weights, _ = pool_pixels(china.reshape(-1, 3))
    existing = points[:: len(points) // 20][:20] + 0.5
    monkeypatch.setattr(_seeding, "GRID_SEEDS", 100)
    rs = np.random.RandomState
    centers, idx = kmeans_plusplus(
        points, 150, sample_weight=weights, random_state=rs(2), existing=existing
    )
    monkeypatch.setattr(_seeding, "GRID_SEEDS", 1 << 62)
    order = _cell_order(points)
    _, ref = kmeans_plusplus(
        points[order],
        150,
        sample_weight=weights[order],
        random_state=rs(2),
        existing=existing,
    )
    np.testing.assert_array_equal(idx, order[ref])
    np.testing.assert_array_equal(centers, points[idx])
