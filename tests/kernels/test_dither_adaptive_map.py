"""The dither map of adaptive error diffusion, against a NumPy oracle."""

import numba
import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from skquant import ColorQuantizer
from skquant._kernels import dither_labels
from skquant._kernels._dither_map import limit_map_rows, limit_map_rows3


def spread_oracle(image, norm, radius):
    """Spread of the colour over each pixel's window, cut at the border."""
    values = image.astype(np.float64) * norm
    size = (2 * radius + 1, 2 * radius + 1, 1)
    ones = np.ones(image.shape[:2] + (1,))
    # uniform_filter with zeros beyond the border, divided by the window's
    # share inside the image: the mean over the cut window
    inside = uniform_filter(ones, size=size, mode="constant")
    mean = uniform_filter(values, size=size, mode="constant") / inside
    mean_sq = uniform_filter(values**2, size=size, mode="constant") / inside
    return np.sqrt(np.clip(mean_sq - mean**2, 0.0, None).sum(axis=-1))


@pytest.mark.parametrize("rows", [(0, 40), (13, 29)])
def test_map_is_the_limit_ramp_of_the_local_spread(china, rows):
    image = np.ascontiguousarray(china[40:80, 150:210])  # sky and roof
    norm = np.full(3, 1.0 / 255.0)
    flat, textured, low = 0.005, 0.02, 0.5
    y0, y1 = rows
    out = np.empty((y1 - y0, image.shape[1]), np.float32)
    limit_map_rows(image, y0, y1, norm, 3, flat, textured, low, out)
    spread = spread_oracle(image, norm, 3)[y0:y1]
    t = np.clip((spread - flat) / (textured - flat), 0.0, 1.0)
    expected = low + (1.0 - low) * t
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    # a real crop: flat, textured and in-between pixels are all there
    assert (expected == low).any() and (expected == 1.0).any()
    assert ((expected > low) & (expected < 1.0)).any()


def test_adaptive_bands_do_not_depend_on_threads(china):
    """Each band computes its own map: threads do not change the result."""
    image = china[:600, :200]  # three bands of rows
    palette = ColorQuantizer(16, random_state=0).fit(image).palette_
    options = {"method": "floyd-steinberg", "space": "rgb", "scale": 255.0}
    previous = numba.get_num_threads()
    runs = []
    try:
        for n in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(n)
            runs.append(dither_labels(image, palette, adaptive=True, **options))
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("rows", [(0, 40), (13, 29)])
def test_three_channel_map_is_the_general_one_bit_for_bit(china, rows):
    """limit_map_rows3 does the general kernel's sums in the same order."""
    image = np.ascontiguousarray(china[40:80, 150:210])
    norm = np.full(3, 1.0 / 255.0)
    y0, y1 = rows
    maps = []
    for rows_kernel in (limit_map_rows, limit_map_rows3):
        out = np.empty((y1 - y0, image.shape[1]), np.float32)
        rows_kernel(image, y0, y1, norm, 3, 0.005, 0.02, 0.5, out)
        maps.append(out)
    np.testing.assert_array_equal(maps[0], maps[1])
    assert len(np.unique(maps[0])) > 10  # flat, textured and in between


@pytest.mark.parametrize("width", [1, 2, 3, 6, 7, 8, 9, 12])
def test_narrow_images_cut_the_window_at_both_borders(china, width):
    """Images narrower than the window, or with few whole windows: the
    border loops and the inner loop of limit_map_rows3 meet without a gap
    or an overlap, and both kernels follow the oracle."""
    image = np.ascontiguousarray(china[100:130, 200 : 200 + width])
    norm = np.full(3, 1.0 / 255.0)
    flat, textured, low = 0.005, 0.02, 0.5
    spread = spread_oracle(image, norm, 3)
    expected = low + (1.0 - low) * np.clip((spread - flat) / (textured - flat), 0, 1)
    maps = []
    for rows_kernel in (limit_map_rows, limit_map_rows3):
        out = np.full((image.shape[0], width), np.nan, np.float32)
        rows_kernel(image, 0, image.shape[0], norm, 3, flat, textured, low, out)
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
        maps.append(out)
    np.testing.assert_array_equal(maps[0], maps[1])
