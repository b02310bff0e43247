"""The compiled colour conversions (skquant._kernels._colorspace) against
the NumPy reference, :mod:`skquant._color`."""

import numpy as np
import pytest

from skquant import _color
from skquant._kernels._colorspace import cbrt, linear_to_work_rows, srgb_decode_array

SPACES = ("rgb", "lab", "oklab", "din99o")


@pytest.mark.parametrize("space", SPACES)
def test_linear_to_work_matches_color_module(space):
    rng = np.random.default_rng(0)
    lin = np.concatenate(
        [
            rng.random((2000, 3)),
            np.eye(3),
            np.zeros((1, 3)),
            np.ones((1, 3)),
            # Around the sRGB and CIELAB knees.
            np.full((1, 3), _color._SRGB_LINEAR_KNEE),
            np.full((1, 3), 0.008856),
            rng.random((200, 3)) * 0.01,
        ]
    )
    expected = _color.linear_to_working(lin, space)
    np.testing.assert_allclose(linear_to_work_rows(lin, space), expected, atol=1e-12)


def test_fast_cube_root():
    values = np.concatenate(
        [
            [0.0, -0.0, 1.0, -8.0, 27.0, 1e-35, -1e-35, 1e35, 1e-300, np.inf],
            np.random.default_rng(0).random(10000) ** 4,
            -np.random.default_rng(1).random(1000) * 3,
        ]
    )
    got = np.array([cbrt(v) for v in values])
    np.testing.assert_allclose(got, np.cbrt(values), rtol=1e-15, atol=0)
    assert np.isnan(cbrt(np.nan))


def test_srgb_decode_matches_color_module():
    values = np.linspace(-0.2, 1.2, 1401).reshape(-1, 3)
    np.testing.assert_allclose(
        srgb_decode_array(values), _color.srgb_to_linear(values), rtol=1e-14, atol=1e-15
    )
