"""The dither map of adaptive error diffusion, against a NumPy oracle."""

import numba
import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from skquant import ColorQuantizer
from skquant._kernels import dither_labels
from skquant._kernels._dither_map import limit_map_rows, limit_map_rows3, ramps


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
    limit_map_rows(image, y0, y1, norm, 3, ramps(flat, textured, low), out)
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
        rows_kernel(image, y0, y1, norm, 3, ramps(0.005, 0.02, 0.5), out)
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
        rows_kernel(image, 0, image.shape[0], norm, 3, ramps(flat, textured, low), out)
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
        maps.append(out)
    np.testing.assert_array_equal(maps[0], maps[1])


# The two-ramp map: a calmer ramp where the spread is noise, not a gradient.

CLEAN, NOISY, RHO = (0.005, 0.02, 0.5), (0.02, 0.08, 0.25), (0.3, 0.6)


def two_ramp_oracle(image, norm, radius):
    """The map by brute force: per pixel, the cut window's values, their
    spread, and a least-squares plane per channel (numpy.linalg.lstsq)."""
    values = image.astype(np.float64) * norm
    height, width, n_channels = values.shape
    out = np.empty((height, width))

    def ramp(spread, flat, textured, low):
        return low + (1.0 - low) * np.clip((spread - flat) / (textured - flat), 0, 1)

    for y in range(height):
        for x in range(width):
            ys = np.arange(max(y - radius, 0), min(y + radius + 1, height))
            xs = np.arange(max(x - radius, 0), min(x + radius + 1, width))
            yy, xx = np.meshgrid(ys, xs, indexing="ij")
            window = values[yy, xx].reshape(-1, n_channels)
            centred = window - window.mean(axis=0)
            total = (centred**2).sum()
            design = np.column_stack(
                [np.ones(yy.size), (xx - xx.mean()).ravel(), (yy - yy.mean()).ravel()]
            )
            fitted = design @ np.linalg.lstsq(design, window, rcond=None)[0]
            rest = ((window - fitted) ** 2).sum()
            spread = np.sqrt(total / yy.size)
            clean, noisy = ramp(spread, *CLEAN), ramp(spread, *NOISY)
            w = 0.0
            if spread > 1e-6:
                w = np.clip((np.sqrt(rest / total) - RHO[0]) / (RHO[1] - RHO[0]), 0, 1)
            out[y, x] = clean + w * (noisy - clean)
    return out


@pytest.mark.parametrize("width", [1, 2, 7, 9, 40])
def test_two_ramp_map_follows_the_plane_oracle(china, width):
    """Both kernels against brute force, on a real crop (sky, roof and
    their edge) and on narrow ones, and bit for bit against each other."""
    image = np.ascontiguousarray(china[40:70, 150 : 150 + width])
    norm = np.full(3, 1.0 / 255.0)
    expected = two_ramp_oracle(image, norm, 3)
    maps = []
    for rows_kernel in (limit_map_rows, limit_map_rows3):
        out = np.full(image.shape[:2], np.nan, np.float32)
        rows_kernel(image, 0, image.shape[0], norm, 3, ramps(*CLEAN, NOISY, RHO), out)
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=2e-6)
        maps.append(out)
    np.testing.assert_array_equal(maps[0], maps[1])
    if width == 40:  # the crop holds noise, gradient and texture
        low_clean, low_noisy = CLEAN[2], NOISY[2]
        assert ((expected > low_noisy) & (expected < low_clean)).any()
        assert (expected == low_noisy).any()


def test_a_clean_gradient_keeps_the_clean_ramp_and_noise_gets_the_calm_one():
    """A smooth 8-bit ramp is explained by the plane (the clean ramp, as
    without the noisy one); a flat colour with sensor-like noise of the
    same spread is not (the calmer ramp)."""
    norm = np.full(3, 1.0 / 255.0)
    ramp_image = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    ramp_image = np.ascontiguousarray(np.repeat(ramp_image, 20, axis=0))
    rng = np.random.default_rng(0)
    noise = np.clip(128 + rng.normal(0, 2.0, (20, 256, 3)), 0, 255).round()
    noise = noise.astype(np.uint8)
    for image, calm in ((ramp_image, False), (noise, True)):
        out, only_clean = (np.empty((20, 256), np.float32) for _ in range(2))
        limit_map_rows3(image, 0, 20, norm, 3, ramps(*CLEAN, NOISY, RHO), out)
        limit_map_rows3(image, 0, 20, norm, 3, ramps(*CLEAN), only_clean)
        inner = (slice(3, -3), slice(3, -3))
        if calm:
            assert np.all(out[inner] < only_clean[inner]), (out, only_clean)
        else:
            np.testing.assert_array_equal(out[inner], only_clean[inner])
