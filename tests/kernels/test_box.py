"""The box the grid covers (skquant._kernels._box): ranges, the RGBA cone."""

import numpy as np
import pytest

from skquant._kernels._box import column_range, pixel_box


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


def test_column_range_ignores_nan_in_any_layout():
    """NaN never widens the range (an all-NaN or empty column gives inf,
    -inf), in C order, in other layouts and across the folded rows."""
    rng = np.random.default_rng(3)
    pixels = rng.normal(size=(5000, 3))
    pixels[::3, 0] = np.nan
    pixels[:, 2] = np.nan
    expected_lo = [np.nanmin(pixels[:, 0]), pixels[:, 1].min(), np.inf]
    expected_hi = [np.nanmax(pixels[:, 0]), pixels[:, 1].max(), -np.inf]
    for data in (pixels, np.asfortranarray(pixels), pixels[:1025], pixels[:7]):
        lo, hi = column_range(data)
        if len(data) == len(pixels):
            np.testing.assert_array_equal(lo, expected_lo)
            np.testing.assert_array_equal(hi, expected_hi)
        assert lo[2] == np.inf and hi[2] == -np.inf
        np.testing.assert_array_equal(lo[1], data[:, 1].min())
    lo, hi = column_range(np.zeros((0, 4), np.uint8))
    assert np.all(lo == np.inf) and np.all(hi == -np.inf)


def test_rgba_box_holds_every_premultiplied_pixel(astronaut):
    """The box and the cone hold each pixel's premultiplied point."""
    pixels = np.concatenate([astronaut, astronaut[..., :1] // 2 + 60], axis=2).reshape(
        -1, 4
    )
    lo, hi, cone = pixel_box(pixels, "rgb", (255.0, 100.0))
    values = pixels.astype(np.float64)
    opacity = values[:, 3:] / 255.0
    points = np.concatenate([values[:, :3] * opacity, opacity * 100.0], axis=1)
    assert np.all(points >= lo) and np.all(points <= hi)
    colour_lo, colour_hi, weight = cone[:3], cone[3:6], cone[6]
    assert np.all(colour_lo <= values[:, :3].min(0))
    assert np.all(colour_hi >= values[:, :3].max(0))
    assert weight == 100.0
    assert pixel_box(pixels[:, :3], "rgb")[2] is None
