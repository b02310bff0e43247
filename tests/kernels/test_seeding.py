"""k-means++ seeding (skquant._kernels._seeding) against scikit-learn's own."""

import numpy as np
import pytest
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
