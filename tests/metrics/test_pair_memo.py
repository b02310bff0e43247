"""The memo of 8-bit pixel pairs behind mean_delta_e
(skquant._kernels._pair_memo): it skips work, never changes a value."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skquant import ColorQuantizer
from skquant._kernels import _pair_memo, ciede2000_sum
from skquant._kernels._ciede2000 import CHUNK


def _without_memo(monkeypatch, true, test, **options):
    """ciede2000_sum with the memo paused for good: every pair computed."""
    with monkeypatch.context() as patch:
        patch.setattr(_pair_memo, "MEMO_MIN_HITS", 2.0)  # every chunk pauses
        patch.setattr(_pair_memo, "MEMO_PAUSE", 1 << 40)
        stats = {}
        result = ciede2000_sum(true, test, scale=255, stats=stats, **options)
    assert stats["memo_pixels"] <= 2 * CHUNK  # two chunks with few hits, then none
    return result


@pytest.mark.parametrize("dither", [None, "floyd-steinberg"])
def test_memo_finds_repeated_pairs_and_gives_the_same_sum(china, monkeypatch, dither):
    """A quantized photo: most pairs repeat, the sum is the same to the bit,
    on one thread or two, with transparent pixels left out or not."""
    quantizer = ColorQuantizer(16, dither=dither, random_state=0).fit(china)
    true = china.reshape(-1, 3)
    test = quantizer.transform(china).reshape(-1, 3)
    keep = np.random.default_rng(0).random(true.shape[0]) < 0.9
    for options in ({}, {"keep": keep}):
        expected = _without_memo(monkeypatch, true, test, **options)
        stats = {}
        assert ciede2000_sum(true, test, scale=255, stats=stats, **options) == (
            expected
        )
        assert stats["memo_hits"] > 0.3 * stats["memo_pixels"]
        assert stats["memo_pixels"] > 0.5 * true.shape[0]
        with threadpool_limits(1):
            assert ciede2000_sum(true, test, scale=255, **options) == expected


def test_memo_pauses_on_noise_and_comes_back(monkeypatch):
    """All pairs distinct (noise), then a flat area (a few pairs in runs):
    the memo pauses on the noise, finds the flat pairs again, and every
    value is kept."""
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, size=(2, 12 * CHUNK, 3), dtype=np.uint8)
    runs = np.repeat(rng.integers(0, 20, 6 * CHUNK), rng.integers(1, 4, 6 * CHUNK))
    true = np.concatenate([noise[0], noise[0][runs]])
    test = np.concatenate([noise[1], noise[1][runs]])
    stats = {}
    with threadpool_limits(1):
        total, count = ciede2000_sum(true, test, scale=255, stats=stats)
    assert (total, count) == _without_memo(monkeypatch, true, test)
    paused = true.shape[0] - stats["memo_pixels"]
    assert (
        _pair_memo.MEMO_PAUSE * CHUNK <= paused < (12 + _pair_memo.MEMO_PAUSE) * CHUNK
    )
    assert stats["memo_hits"] > 0.5 * (runs.size - _pair_memo.MEMO_PAUSE * CHUNK)


def test_memo_collisions_and_repeats_within_a_chunk(monkeypatch):
    """A memo of 16 entries: pairs evict one another, repeat next to each
    other and further apart in a chunk; the sum is unchanged."""
    rng = np.random.default_rng(2)
    colours = rng.integers(0, 256, size=(40, 3), dtype=np.uint8)
    order = np.repeat(rng.integers(0, 40, size=30_000), rng.integers(1, 4, 30_000))
    true, test = colours[order], colours[(order * 7) % 40]
    expected = _without_memo(monkeypatch, true, test)
    monkeypatch.setattr(_pair_memo, "MEMO_BITS", 4)
    stats = {}
    assert ciede2000_sum(true, test, scale=255, stats=stats) == expected
    assert 0 < stats["memo_hits"] < stats["memo_pixels"]


def _skimage_sum(true, test, scale=255):
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab_true = rgb2lab(true[:, :3].astype(np.float64) / scale)
    lab_test = rgb2lab(test[:, :3].astype(np.float64) / scale)
    return float(np.sum(deltaE_ciede2000(lab_true, lab_test)))


def test_memo_on_rgba_greys_and_opposite_hues(coffee):
    """Through the memo (more than a chunk): a photo against a copy with
    greys (no hue) and hues turned half way round (opposite, where the SIMD
    lanes hand over to the literal formula), RGBA (the codes read as 3
    flat bytes a pixel): scikit-image's sum, with the memo or without."""
    true = coffee.reshape(-1, 3)
    assert true.shape[0] > 2 * CHUNK
    test = true.copy()
    grey = np.mean(true, axis=1, keepdims=True).astype(np.uint8)
    test[::3] = grey[::3]  # grey test pixels
    test[1::3] = 255 - true[1::3]  # complementary: (nearly) opposite hues
    true = true.copy()
    true[2::7] = grey[2::7]  # grey true pixels, some against greys
    stats = {}
    total, count = ciede2000_sum(true, test, scale=255, stats=stats)
    assert stats["memo_pixels"] > 0
    np.testing.assert_allclose(total, _skimage_sum(true, test), rtol=1e-11)
    rgba = np.concatenate([true, np.full_like(true[:, :1], 9)], axis=1)
    rgba_test = np.concatenate([test, np.zeros_like(test[:, :1])], axis=1)
    assert ciede2000_sum(rgba, rgba_test, scale=255) == (total, count)


def test_no_memo_beyond_float32():
    """A tiny scale puts 8-bit codes beyond float32 (no SIMD roots): no memo,
    NumPy's conversion, scikit-image's value."""
    rng = np.random.default_rng(5)
    true = rng.integers(0, 256, size=(3 * CHUNK, 3), dtype=np.uint8)
    test = true[::-1].copy()
    stats = {}
    total, _ = ciede2000_sum(true, test, scale=1e-14, stats=stats)
    assert stats["memo_pixels"] == 0
    np.testing.assert_allclose(total, _skimage_sum(true, test, 1e-14), rtol=1e-11)
