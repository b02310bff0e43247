"""Lloyd's k-means on pooled colours (skquant._kernels._lloyd) against scikit-learn."""

import numpy as np
import pytest
from sklearn.cluster import KMeans, kmeans_plusplus
from threadpoolctl import threadpool_limits

from skquant._histogram import pool_pixels
from skquant._kernels import _lloyd
from skquant._kernels._lloyd import lloyd_kmeans
from tests.kernels._oracle import (
    check_nearest,
)

SPACES = ["rgb", "lab", "oklab", "din99o"]
SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


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


def test_lloyd_reassign_is_exact_from_any_labels():
    """Starting from arbitrary labels, one step gives the nearest centres."""
    rng = np.random.default_rng(7)
    points = rng.normal(size=(5000, 3))
    centers = rng.normal(size=(40, 3))
    labels = rng.integers(0, 40, 5000).astype(np.int32)
    order = np.tile(np.arange(40), (40, 1))
    upper, lower = np.full(5000, np.inf), np.zeros(5000)
    near = np.empty((40, 40))
    groups = _lloyd.groups_for(5000, 40)
    _lloyd._reassign(
        points,
        centers,
        labels,
        order,
        near,
        upper,
        lower,
        np.zeros(40),
        True,
        groups,
        False,
    )
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
    _lloyd._reassign(
        points,
        moved_centers,
        labels,
        order,
        near,
        upper,
        lower,
        moved,
        False,
        groups,
        False,
    )
    check_nearest(labels, points, moved_centers)


def test_guessed_first_labels_give_the_same_iterations(china):
    """Labels guessed from a coarser k-means (the fit's coarse start) are
    made exact before the first step: the same centres and labels as the
    grid search's first labels, from any guess."""
    from skquant._histogram import pool

    hist = pool(china.reshape(-1, 3), bins=64)
    points, weights, _ = hist.points()
    init = points[np.random.default_rng(3).choice(len(points), 48, replace=False)]
    ref = lloyd_kmeans(points, weights, init, max_iter=15)
    nearest = ((points[:, None] - init[None]) ** 2).sum(-1).argmin(axis=1)
    groups = hist.coarse_groups()
    coarse = nearest[np.unique(groups, return_index=True)[1]]  # one per group
    for guess in (coarse[groups], np.zeros(len(points), np.int64), nearest):
        kept = guess.copy()
        got = lloyd_kmeans(points, weights, init, max_iter=15, labels=guess)
        np.testing.assert_array_equal(guess, kept)  # the caller's array
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
        assert got[2] == ref[2]
    with pytest.raises(ValueError, match="labels must lie in"):
        lloyd_kmeans(points, weights, init, labels=np.full(len(points), 48))
    with pytest.raises(ValueError, match="labels has shape"):
        lloyd_kmeans(points, weights, init, labels=np.zeros(3, int))


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


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("n_colors", [64, 300])
def test_many_centres_use_buckets_not_k_by_k_tables(
    photos, space, n_colors, monkeypatch
):
    """Beyond LLOYD_TABLE_BYTES, the centres go into buckets: same iterations.

    The (K, K) tables of the incremental step took 4 GiB at K=16384 (and
    their first sort O(K**3)); the bucket path gives the same centres,
    labels, step count and inertia (exact assignments both ways).
    """
    from skquant import _color

    for seed, photo in enumerate(photos[:2]):
        points, weights, _ = pool_pixels(photo.reshape(-1, 3), bins=32)
        if space != "rgb":
            points = _color.to_working(points / 255.0, space)
        init, _ = kmeans_plusplus(
            points, n_colors, sample_weight=weights, random_state=seed
        )
        monkeypatch.setattr(_lloyd, "LLOYD_TABLE_BYTES", 1 << 40)
        tables = lloyd_kmeans(points, weights, init)
        monkeypatch.setattr(_lloyd, "LLOYD_TABLE_BYTES", 0)
        buckets = lloyd_kmeans(points, weights, init)
        np.testing.assert_allclose(buckets[0], tables[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(buckets[1], tables[1])
        assert buckets[2] == tables[2]
        np.testing.assert_allclose(buckets[3], tables[3], rtol=1e-12)


@pytest.mark.parametrize("n_features", [1, 2, 4])
def test_buckets_other_dimensions_and_empty_clusters(n_features, monkeypatch):
    monkeypatch.setattr(_lloyd, "LLOYD_TABLE_BYTES", 0)
    rng = np.random.default_rng(n_features)
    points = rng.normal(size=(4000, n_features)) ** 3  # dense core, far tails
    init = np.repeat(points[:1], 40, axis=0)  # all clusters but one empty
    init[1:] += 1e-9 * np.arange(1, 40)[:, None]
    centers, labels, _, inertia = lloyd_kmeans(points, None, init, tol=0)
    assert len(np.unique(labels)) == 40
    check_nearest(labels, points, centers)
    monkeypatch.setattr(_lloyd, "LLOYD_TABLE_BYTES", 1 << 40)
    ref = lloyd_kmeans(points, None, init, tol=0)
    np.testing.assert_array_equal(labels, ref[1])
    np.testing.assert_allclose(inertia, ref[3], rtol=1e-12)


def test_first_labels_and_bounds_from_buckets(china):
    """Nearest centre of every point; upper and lower bounds that hold."""
    from skquant._kernels import _lloyd_large

    points, _, _ = pool_pixels(china.reshape(-1, 3), bins=32)
    rng = np.random.default_rng(3)
    centers = points[rng.choice(len(points), 700, replace=False)] + 0.25
    centers[:5] = centers[5]  # exact duplicates
    n = len(points)
    labels = np.empty(n, np.int32)
    upper, lower = np.empty(n), np.empty(n)
    _lloyd_large.first_labels(points, centers, labels, upper, lower)
    check_nearest(labels, points, centers)
    dist = np.sqrt(((points[:, None] - centers[None]) ** 2).sum(-1))
    np.testing.assert_allclose(upper, dist[np.arange(n), labels], rtol=1e-12)
    dist[np.arange(n), labels] = np.inf
    assert np.all(lower <= dist.min(axis=1) * (1 + 1e-12))


@pytest.mark.slow
def test_thousands_of_centres_match_the_grid_search_steps(astronaut):
    """K=3000: the bucket steps against steps assigning with the grid search."""
    from skquant._kernels import _grid, assign_labels

    points, weights, _ = pool_pixels(astronaut.reshape(-1, 3))
    init, _ = kmeans_plusplus(points, 3000, sample_weight=weights, random_state=1)
    centers, labels, n_iter, inertia = lloyd_kmeans(points, weights, init)
    ref = np.array(init, dtype=np.float64)
    ref_labels = assign_labels(points, ref)
    tol = float(np.mean(np.var(points, axis=0)) * 1e-4)
    state = _lloyd._state(len(points), len(ref), 3)
    step, changed, shift = 0, 1, np.inf
    while step < 300 and changed and shift > tol:
        step += 1
        shift = _lloyd._move_centers(points, weights, ref, ref_labels, state)
        _grid._grid_cache.clear()
        new = assign_labels(points, ref)
        changed = np.count_nonzero(new != ref_labels)
        ref_labels[:] = new
    assert n_iter == step
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(centers, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n_centers", [1, 2, 16, 64, 600])
def test_relabeller_matches_assign_labels_for_any_sequence(coffee, n_centers):
    """Centres that move a little, jump, change number: labels from scratch."""
    from skquant._kernels import assign_labels
    from skquant._kernels._lloyd import Relabeller

    points, _, _ = pool_pixels(coffee.reshape(-1, 3), bins=32)
    rng = np.random.default_rng(n_centers)
    centers = points[rng.choice(len(points), n_centers, replace=False)]
    centers = centers + rng.normal(scale=2.0, size=centers.shape)
    relabel = Relabeller(points)
    sequence = [centers]
    for scale in (0.5, 0.1, 0.0, 30.0, 0.2):  # small moves, none, a jump
        sequence.append(sequence[-1] + rng.normal(scale=scale, size=centers.shape))
    moved = sequence[-1].copy()
    moved[0] = moved[-1]  # one centre onto another: ties
    sequence += [moved, moved[: max(1, n_centers // 2)], moved]
    previous = None
    for step in sequence:
        labels = relabel(step)
        assert labels.dtype == np.int32
        np.testing.assert_array_equal(labels, assign_labels(points, step))
        check_nearest(labels, points, step)
        if previous is not None:
            assert labels is not previous  # a new array each time
        previous = labels


def test_relabeller_ties_go_to_the_lowest_index():
    """Duplicate centres and points half-way: the lowest index, as from scratch."""
    from skquant._kernels import assign_labels
    from skquant._kernels._lloyd import Relabeller

    points = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [0.5, 0, 0]])
    first = np.array([[2.0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    tied = np.array([[2.0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 0]])
    relabel = Relabeller(points)
    relabel(first)
    np.testing.assert_array_equal(relabel(tied), [1, 3, 0, 1])
    np.testing.assert_array_equal(assign_labels(points, tied), [1, 3, 0, 1])


def test_relabeller_refuses_what_would_read_outside_its_arrays():
    """Other channel counts, non-finite points or centres: refused."""
    from skquant._kernels._lloyd import Relabeller

    with pytest.raises(ValueError, match="finite"):
        Relabeller(np.full((5, 3), np.nan))
    relabel = Relabeller(np.zeros((5, 3)))
    relabel(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        relabel(np.zeros((2, 2)))
    with pytest.raises(ValueError):
        relabel(np.full((2, 3), np.inf))
    with pytest.raises(ValueError):
        relabel(np.zeros((0, 3)))
    np.testing.assert_array_equal(relabel(np.ones((2, 3))), np.zeros(5))
