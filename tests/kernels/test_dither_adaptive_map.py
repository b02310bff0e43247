"""The dither map of adaptive error diffusion, against NumPy oracles."""

import numba
import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant._kernels import dither_labels
from skquant._kernels._dither_map import limit_map, ramps


def block_windows(height, width):
    """For each pixel, the rows and columns of its window: the 3 x 3 blocks
    of 2 x 2 pixels around its block, cut at the border."""

    def span(i, size):
        return np.arange(max(2 * (i // 2) - 2, 0), min(2 * (i // 2) + 4, size))

    return [span(y, height) for y in range(height)], [
        span(x, width) for x in range(width)
    ]


def spread_oracle(image, norm):
    """Spread of the colour over each pixel's window (see block_windows)."""
    values = image.astype(np.float64) * norm
    rows, cols = block_windows(*image.shape[:2])
    out = np.empty(image.shape[:2])
    for y, ys in enumerate(rows):
        for x, xs in enumerate(cols):
            window = values[np.ix_(ys, xs)].reshape(-1, values.shape[2])
            out[y, x] = np.sqrt(window.var(axis=0).sum())
    return out


def clean_map(image, norm, flat, textured, low):
    spread = spread_oracle(image, norm)
    return low + (1.0 - low) * np.clip((spread - flat) / (textured - flat), 0, 1)


def run_map(image, norm, map_ramps, y0=0, y1=None):
    y1 = image.shape[0] if y1 is None else y1
    out = np.full((y1 - y0, image.shape[1]), np.nan, np.float32)
    limit_map(np.ascontiguousarray(image), y0, y1, norm, map_ramps, out)
    return out


@pytest.mark.parametrize("rows", [(0, 40), (13, 29), (14, 15)])
def test_map_is_the_limit_ramp_of_the_local_spread(china, rows):
    image = np.ascontiguousarray(china[40:80, 150:210])  # sky and roof
    norm = np.full(3, 1.0 / 255.0)
    flat, textured, low = 0.005, 0.02, 0.5
    out = run_map(image, norm, ramps(flat, textured, low), *rows)
    expected = clean_map(image, norm, flat, textured, low)
    np.testing.assert_allclose(out, expected[slice(*rows)], rtol=1e-5, atol=1e-6)
    # a real crop: flat, textured and in-between pixels are all there
    assert (expected == low).any() and (expected == 1.0).any()
    assert ((expected > low) & (expected < 1.0)).any()
    # every pixel of a block of 2 x 2 has its block's value
    whole = run_map(image, norm, ramps(flat, textured, low))
    assert np.array_equal(whole[::2, ::2], whole[1::2, 1::2])


def test_any_rows_give_the_rows_of_the_whole_map_bit_for_bit(china):
    """A pixel's factor depends on the image alone: bands of rows starting
    on odd or even rows, any number of channels, 8-bit, 16-bit and float."""
    rng = np.random.default_rng(0)
    crop = np.ascontiguousarray(china[30:61, 140:177])  # odd height and width
    images = [
        crop,
        crop[..., :1],
        np.concatenate([crop, crop[..., :1]], axis=-1),
        crop.astype(np.uint16) * 257,
        crop / 255.0,
    ]
    noisy = ramps(0.005, 0.02, 0.5, (0.02, 0.08, 0.25), (0.3, 0.6))
    for image in images:
        norm = np.full(image.shape[2], 1.0 / np.max(image))
        whole = run_map(image, norm, noisy)
        for _ in range(12):
            y0 = int(rng.integers(0, 31))
            y1 = int(rng.integers(y0, 32))
            part = run_map(image, norm, noisy, y0, y1)
            np.testing.assert_array_equal(part, whole[y0:y1])


def test_eight_bit_sums_in_float32_are_exact(china):
    """8-bit images sum their windows in float32 (exact below 2**24): the
    same map, bit for bit, as the same values summed in float64, on a
    photo and on the largest values (white next to black)."""
    noisy = ramps(0.005, 0.02, 0.5, (0.02, 0.08, 0.25), (0.3, 0.6))
    extreme = np.zeros((16, 16, 3), np.uint8)
    extreme[::2, ::3] = 255
    for image in (np.ascontiguousarray(china[100:160, 200:290]), extreme):
        norm = np.full(3, 1.0 / 255.0)
        np.testing.assert_array_equal(
            run_map(image, norm, noisy), run_map(image.astype(np.float64), norm, noisy)
        )


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


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 6, 7, 8, 9, 12])
@pytest.mark.parametrize("height", [1, 2, 3, 7])
def test_small_images_cut_the_window_at_every_border(china, width, height):
    """Images narrower or lower than the window, or with few whole windows:
    the border blocks and the whole windows meet without a gap or overlap."""
    image = np.ascontiguousarray(china[100 : 100 + height, 200 : 200 + width])
    norm = np.full(3, 1.0 / 255.0)
    flat, textured, low = 0.005, 0.02, 0.5
    out = run_map(image, norm, ramps(flat, textured, low))
    expected = clean_map(image, norm, flat, textured, low)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_refused_before_the_kernel(china):
    image = np.ascontiguousarray(china[:20, :30])
    norm, flat = np.full(3, 1.0 / 255.0), ramps(0.005, 0.02, 0.5)
    out = np.empty((20, 30), np.float32)
    bad = [
        (image, 0, 21, norm, flat, out),  # rows beyond the image
        (image, 5, 4, norm, flat, out),
        (image, 0, 20, norm, flat, out[:19]),  # out too short
        (image, 0, 20, norm, flat, np.empty((20, 29), np.float32)),
        (image, 0, 20, norm, flat, np.empty((20, 30))),  # float64 out
        (image, 0, 20, norm[:2], flat, out),
        (image[:, ::2], 0, 20, norm, flat, out[:, :15]),  # not contiguous
        (image[0], 0, 1, norm, flat, out[:1]),
    ]
    for args in bad:
        with pytest.raises(ValueError, match="inconsistent dither map arguments"):
            limit_map(*args)


# The two-ramp map: a calmer ramp where the spread is noise, not a gradient.

CLEAN, NOISY, RHO = (0.005, 0.02, 0.5), (0.02, 0.08, 0.25), (0.3, 0.6)


def two_ramp_oracle(image, norm):
    """The map by brute force: per pixel, its window's values, their spread,
    and a least-squares plane per channel (numpy.linalg.lstsq)."""
    values = image.astype(np.float64) * norm
    rows, cols = block_windows(*image.shape[:2])
    out = np.empty(image.shape[:2])

    def ramp(spread, flat, textured, low):
        return low + (1.0 - low) * np.clip((spread - flat) / (textured - flat), 0, 1)

    for y, ys in enumerate(rows):
        for x, xs in enumerate(cols):
            yy, xx = np.meshgrid(ys, xs, indexing="ij")
            window = values[yy, xx].reshape(-1, values.shape[2])
            total = ((window - window.mean(axis=0)) ** 2).sum()
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
    """Against brute force, on a real crop (sky, roof and their edge) and
    on narrow ones."""
    image = np.ascontiguousarray(china[40:71, 150 : 150 + width])
    norm = np.full(3, 1.0 / 255.0)
    expected = two_ramp_oracle(image, norm)
    out = run_map(image, norm, ramps(*CLEAN, NOISY, RHO))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=2e-6)
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
        out = run_map(image, norm, ramps(*CLEAN, NOISY, RHO))
        only_clean = run_map(image, norm, ramps(*CLEAN))
        inner = (slice(4, -4), slice(4, -4))
        if calm:
            assert np.all(out[inner] < only_clean[inner]), (out, only_clean)
        else:
            np.testing.assert_array_equal(out[inner], only_clean[inner])
