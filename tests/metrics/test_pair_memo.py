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
