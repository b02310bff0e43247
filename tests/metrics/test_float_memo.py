"""The memo of float pixel pairs behind mean_delta_e
(skquant._kernels._pair_memo, keyed by the values' bits): it skips work on
float images, never changes a value beyond the order of a sum."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from threadpoolctl import threadpool_limits

from skquant import ColorQuantizer
from skquant._kernels import _pair_memo, ciede2000_sum
from skquant._kernels._ciede2000 import CHUNK
from skquant.metrics import mean_delta_e

from ._oracles import skimage_delta_e


def _without_memo(monkeypatch, true, test, scale=1.0, **options):
    """ciede2000_sum with the memo paused for good: every pair computed."""
    with monkeypatch.context() as patch:
        patch.setattr(_pair_memo, "MEMO_MIN_HITS", 2.0)  # every chunk pauses
        patch.setattr(_pair_memo, "MEMO_PAUSE", 1 << 40)
        stats = {}
        result = ciede2000_sum(true, test, scale=scale, stats=stats, **options)
    assert stats["memo_pixels"] <= 4 * CHUNK  # two chunks a thread, then none
    return result


def _skimage_mean(true, test):
    """scikit-image's mean on the same values in float64 (its rgb2lab keeps
    float32 as float32)."""
    true = np.asarray(true, dtype=np.float64)
    return float(skimage_delta_e(true, np.asarray(test, dtype=np.float64)).mean())


@pytest.fixture(scope="module")
def quantized_floats(china, coffee):
    """Float photos (``photo / 255`` as float32 and float64) and their
    quantizations by ColorQuantizer, mapped (K=16, K=256) and dithered."""
    cases = []
    for photo, k, dither in (
        (china, 16, None),
        (coffee, 256, None),
        (china, 16, "floyd-steinberg"),
    ):
        for dtype in (np.float32, np.float64):
            image = (photo / 255.0).astype(dtype)
            quantizer = ColorQuantizer(k, dither=dither, random_state=0)
            cases.append((image, quantizer.fit(image[::4, ::4]).transform(image)))
    return cases


def test_float_memo_finds_pairs_and_keeps_the_value(quantized_floats, monkeypatch):
    """Quantized float photos: the memo finds most pairs (the speed-up is
    there), the sum is that of every pair computed, on one thread or two,
    with pixels left out or not; the caller's arrays are not modified."""
    for image, out in quantized_floats:
        true, test = image.reshape(-1, 3), out.reshape(-1, 3)
        saved = true.copy(), test.copy()
        keep = np.random.default_rng(0).random(true.shape[0]) < 0.9
        for options in ({}, {"keep": keep}):
            expected = _without_memo(monkeypatch, true, test, **options)
            stats = {}
            total, count = ciede2000_sum(true, test, scale=1.0, stats=stats, **options)
            assert count == expected[1]
            assert_allclose(total, expected[0], rtol=1e-12)
            assert stats["memo_pixels"] > 0.5 * true.shape[0]
            assert stats["memo_hits"] > 0.2 * stats["memo_pixels"]
            # the values of the pairs not found: photo / 255 and a palette
            assert stats["curve_hits"] > 0.75 * stats["curve_values"]
            with threadpool_limits(1):
                one = ciede2000_sum(true, test, scale=1.0, **options)
            assert_allclose(one[0], expected[0], rtol=1e-12)
        np.testing.assert_array_equal(true, saved[0])
        np.testing.assert_array_equal(test, saved[1])


def test_float_memo_matches_skimage(quantized_floats):
    """mean_delta_e of quantized float photos: scikit-image's mean."""
    for image, out in quantized_floats[:2]:
        assert_allclose(mean_delta_e(image, out), _skimage_mean(image, out), rtol=1e-10)


def test_float_memo_layouts_rgba_and_lists(quantized_floats):
    """Pixels (n, 3), images, batches, lists, one pixel (3,), RGBA with
    transparent pixels: the values of scikit-image on the same pixels."""
    image, out = quantized_floats[1]  # float64
    expected = _skimage_mean(image, out)
    assert_allclose(
        mean_delta_e(image.reshape(-1, 3), out.reshape(-1, 3)), expected, rtol=1e-10
    )
    batch_true, batch_test = np.stack([image, out]), np.stack([out, image])
    assert_allclose(mean_delta_e(batch_true, batch_test), expected, rtol=1e-10)
    assert_allclose(mean_delta_e([image, out], [out, image]), expected, rtol=1e-10)
    assert_allclose(
        mean_delta_e(image[7, 9], out[7, 9]),
        _skimage_mean(image[7, 9], out[7, 9]),
        rtol=1e-10,
    )
    alpha = (np.random.default_rng(3).random(image.shape[:2] + (1,)) < 0.7).astype(
        image.dtype
    )
    visible = alpha[..., 0] > 0
    rgba_true = np.concatenate([image, alpha], axis=-1)
    rgba_test = np.concatenate([out, np.ones_like(alpha)], axis=-1)
    assert_allclose(
        mean_delta_e(rgba_true, rgba_test),
        _skimage_mean(image[visible], out[visible]),
        rtol=1e-10,
    )


def test_float_memo_pauses_on_noise_and_comes_back(monkeypatch):
    """All pairs distinct (noise), then a flat area of a few pairs: the memo
    pauses on the noise, finds the flat pairs again, and the sum is that of
    every pair computed."""
    rng = np.random.default_rng(1)
    noise = rng.random((2, 18 * CHUNK, 3))
    runs = np.repeat(rng.integers(0, 20, 3 * CHUNK), rng.integers(1, 4, 3 * CHUNK))
    true = np.concatenate([noise[0], noise[0][runs]]).astype(np.float32)
    test = np.concatenate([noise[1], noise[1][runs]]).astype(np.float32)
    stats = {}
    with threadpool_limits(1):
        total, count = ciede2000_sum(true, test, scale=1.0, stats=stats)
    expected = _without_memo(monkeypatch, true, test)
    assert count == expected[1]
    assert_allclose(total, expected[0], rtol=1e-12)
    # two chunks of noise, then a pause of 16: the flat area, every chunk
    assert stats["memo_pixels"] == 2 * CHUNK + runs.size
    assert stats["memo_hits"] > 0.5 * runs.size
    # the memo of the sRGB curve: the values of two chunks of noise (both
    # images: 6 a pixel), then paused for 16 chunks; in the flat area, the
    # values of the pairs not found (a value is found from the next chunk
    # on: those of the first flat chunk are all decoded)
    noise_values = 6 * 2 * CHUNK
    assert noise_values < stats["curve_values"] < noise_values + 6 * runs.size


def test_float_memo_pauses_longer_after_each_poor_try(monkeypatch):
    """The float memo doubles its pause after each poor try (up to
    FLOAT_PAUSE_DOUBLINGS times); a good chunk resets it; the 8-bit memo
    always pauses for MEMO_PAUSE chunks."""
    for floats, pauses in ((True, [16, 32, 64, 128, 256, 256, 16]), (False, [16] * 7)):
        memo = _pair_memo.PairMemo(floats)
        seen = []
        for poor in (True,) * 7 + (False, True, True):
            memo.count(100, 100 if poor else 0)
            if memo.pause:
                seen.append(memo.pause)
            memo.pause = 0
        assert seen == pauses


def test_float_memo_collisions_repeats_nan_and_tiny_scale(monkeypatch):
    """A memo of 16 entries (pairs evict one another), pairs that repeat
    side by side and further apart, -0.0 beside 0.0, NaN (never found: its
    difference is computed again) and a tiny scale (values beyond float32:
    NumPy's conversion of the pairs not found): every pair's sum."""
    rng = np.random.default_rng(2)
    colours = rng.random((40, 3))
    colours[0] = [0.0, 0.5, 0.5]
    colours[1] = [-0.0, 0.5, 0.5]
    order = np.repeat(rng.integers(0, 40, 30_000), rng.integers(1, 4, 30_000))
    true, test = colours[order], colours[(order * 7) % 40]
    monkeypatch.setattr(_pair_memo, "FLOAT_MEMO_BITS", 4)
    for scale in (1.0, 1e-14):
        expected = _without_memo(monkeypatch, true, test, scale)
        stats = {}
        total, count = ciede2000_sum(true, test, scale=scale, stats=stats)
        assert count == expected[1]
        assert_allclose(total, expected[0], rtol=1e-12)
        assert 0 < stats["memo_hits"] < stats["memo_pixels"]
    assert_allclose(total / count, _skimage_mean(true * 1e14, test * 1e14), rtol=1e-10)
    with_nan = true.copy()
    with_nan[::1000, 1] = np.nan
    total, count = ciede2000_sum(with_nan, test, scale=1.0)
    assert np.isnan(total) and np.isnan(_without_memo(monkeypatch, with_nan, test)[0])
