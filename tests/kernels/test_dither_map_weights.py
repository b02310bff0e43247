"""The flatness weights of a fit for adaptive dithering, against NumPy."""

import numba
import numpy as np
import pytest

from skquant._kernels import flat_weights
from skquant._kernels._dither_map import FIT_FLAT, FIT_TEXTURED, FIT_TEXTURED_WEIGHT
from tests.kernels.test_dither_adaptive_map import spread_oracle


def weights_oracle(image, norm):
    """1 where the spread over a pixel's window is at most FIT_FLAT,
    FIT_TEXTURED_WEIGHT from FIT_TEXTURED, linear in between."""
    spread = spread_oracle(image, norm)
    t = np.clip((spread - FIT_FLAT) / (FIT_TEXTURED - FIT_FLAT), 0.0, 1.0)
    return (1.0 - (1.0 - FIT_TEXTURED_WEIGHT) * t).ravel()


@pytest.mark.parametrize("n_threads", [1, 2])
def test_weights_are_the_ramp_of_the_local_spread(china, n_threads):
    # 427 rows: two bands of rows, on one and on two threads
    image = np.ascontiguousarray(china[:, 100:300])
    norm = np.full(3, 1.0 / 255.0)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        weights = flat_weights(image, norm)
    finally:
        numba.set_num_threads(previous)
    expected = weights_oracle(image, norm)
    assert weights.dtype == np.float64 and weights.shape == (427 * 200,)
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-6)
    # the sky is flat, the roof and trees are textured, and some in between
    low = np.isclose(expected, FIT_TEXTURED_WEIGHT)
    assert (expected == 1.0).any() and low.any()
    assert ((expected < 1.0) & ~low).any()


def test_weights_of_other_units_and_dtypes(china):
    """Float data in its own units gives the same weights."""
    image = np.ascontiguousarray(china[40:120, 150:260])
    expected = flat_weights(image, np.full(3, 1.0 / 255.0))
    np.testing.assert_allclose(
        flat_weights(image / 255.0, np.ones(3)), expected, atol=1e-5
    )
    assert flat_weights(image[:0], np.ones(3)).shape == (0,)


def test_bad_arguments_are_named(china):
    with pytest.raises(ValueError, match=r"image must have shape \(H, W, C\)"):
        flat_weights(china[0], np.ones(3))
    with pytest.raises(ValueError, match="one factor per channel"):
        flat_weights(china, np.ones(4))
