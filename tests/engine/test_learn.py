"""What k-means runs on (skquant._engine._learn.fit_points)."""

import numpy as np
import pytest

from skquant._engine import check_params, check_random_state, fit_points
from skquant._histogram import pool_pixels


def points_for(pixels, weights=None, **params):
    settings = check_params({"random_state": 0, **params}, pixels.shape[1])
    return fit_points(pixels, weights, settings, 16, check_random_state(0))


@pytest.mark.parametrize("weighted", [False, True])
def test_without_bins_nothing_is_pooled_in_cells(china, weighted):
    # histogram_bins=None became 64 bins for weighted fits over 1 MP
    pixels = np.tile(china, (4, 1, 1)).reshape(-1, 3)
    assert len(pixels) > 1 << 20
    weights = np.linspace(0.5, 1.5, len(pixels)) if weighted else None
    points = points_for(pixels, weights, histogram_bins=None)
    assert len(points.points) == len(pixels) and not points.exact
    pooled = points_for(pixels, weights)
    assert len(pooled.points) == len(pool_pixels(pixels)[0])


def test_weighted_fits_pool_with_their_weights(china):
    pixels = china.reshape(-1, 3)
    weights = np.random.default_rng(0).random(len(pixels))
    points = points_for(pixels, weights)
    expected = pool_pixels(pixels, weights=weights)
    np.testing.assert_allclose(points.points, expected[0])
    np.testing.assert_allclose(points.weights, expected[1])
    assert points.weights.sum() == pytest.approx(weights.sum())


def test_sampled_points_say_so(china):
    points = points_for(china.reshape(-1, 3), sample_size=500)
    assert points.sampled == 500 and points.n_pixels == china.shape[0] * china.shape[1]
    assert points.describe(500).startswith("The sample of 500 pixels")
