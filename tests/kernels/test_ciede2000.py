"""Compiled CIEDE2000 (skquant._kernels._ciede2000) against scikit-image."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from skimage.color import deltaE_ciede2000, rgb2lab
from threadpoolctl import threadpool_limits

from skquant import ColorQuantizer
from skquant._kernels import _ciede2000, ciede2000_sum
from tests.metrics._oracles import SHARMA_2005


def _skimage_sum(true, test, scale):
    true = np.asarray(true, dtype=np.float64)[:, :3] / scale
    test = np.asarray(test, dtype=np.float64)[:, :3] / scale
    return float(np.sum(deltaE_ciede2000(rgb2lab(true), rgb2lab(test))))


@pytest.mark.parametrize("formula", ["delta_e", "delta_e_rows"])
def test_formula_on_lab_pairs_including_the_awkward_cases(formula):
    """Greys (no hue), hues either side of 0 / 2 pi, (nearly) opposite hues,
    equal colours, large and tiny differences: every branch of the formula."""
    rng = np.random.default_rng(0)
    lab1 = rng.uniform([0, -128, -128], [100, 128, 128], size=(4000, 3))
    lab2 = lab1 + rng.normal(0, 4, size=lab1.shape)
    lab2[::5] = rng.uniform([0, -128, -128], [100, 128, 128], size=lab2[::5].shape)
    lab1[::7, 1:] = 0.0  # grey reference
    lab2[::11, 1:] = 0.0  # grey test
    lab1[::13] = lab2[::13]  # identical
    lab1[1::17, 2], lab2[1::17, 2] = 1e-3, -1e-3  # hues either side of 0
    lab1[2::19, 1:], lab2[2::19, 1:] = (30, 5), (-30, -5)  # opposite hues
    for offset, gap in enumerate([1e-9, 1e-6, 1e-4, 1e-2]):  # nearly opposite
        angle = rng.uniform(0, 2 * np.pi, size=lab1[3 + offset :: 23].shape[0])
        other = angle + np.pi + rng.choice([-gap, gap], size=angle.shape)
        lab1[3 + offset :: 23, 1] = 40 * np.cos(angle)
        lab1[3 + offset :: 23, 2] = 40 * np.sin(angle)
        lab2[3 + offset :: 23, 1] = 25 * np.cos(other)
        lab2[3 + offset :: 23, 2] = 25 * np.sin(other)
    expected = deltaE_ciede2000(lab1, lab2)
    if formula == "delta_e":
        function = _ciede2000.delta_e
        got = np.array([function(*a, *b) for a, b in zip(lab1, lab2, strict=True)])
    else:  # the SIMD blocks of mean_delta_e, with their fallbacks
        got = _ciede2000.delta_e_rows(lab1, lab2)
    # the shortcuts lose a few digits where hues nearly cancel
    rtol = 1e-12 if formula == "delta_e" else 1e-10
    assert_allclose(got, expected, rtol=rtol, atol=1e-11)


def test_sharma_2005_pairs_both_ways():
    """The published test pairs (every branch of the formula), to their 4
    decimals, and to scikit-image's values to 1e-12, in both orders."""
    lab1, lab2, published = SHARMA_2005[:, :3], SHARMA_2005[:, 3:6], SHARMA_2005[:, 6]
    for first, second in ((lab1, lab2), (lab2, lab1)):
        rows = _ciede2000.delta_e_rows(first, second)
        one_by_one = [
            _ciede2000.delta_e(*a, *b) for a, b in zip(first, second, strict=True)
        ]
        assert_allclose(rows, published, atol=5e-5)
        assert_allclose(rows, deltaE_ciede2000(first, second), rtol=1e-12)
        assert_allclose(one_by_one, deltaE_ciede2000(first, second), rtol=1e-12)


def test_sum_of_lab_pairs_in_blocks():
    """Pairs across SIMD block edges, greys among them: the sum of
    delta_e_rows is the sum of scikit-image's values. (Exactly opposite hues
    sit on the formula's discontinuity, where the last bit of an arc
    tangent picks the branch: see the awkward cases above.)"""
    rng = np.random.default_rng(3)
    n_rows = 3 * _ciede2000.CHUNK + 7
    lab1 = rng.uniform([0, -100, -100], [100, 100, 100], size=(n_rows, 3))
    lab2 = np.roll(lab1, 1, axis=0)
    lab1[::9, 1:] = 0.0
    lab2[1::11, 1:] = 0.0
    assert_allclose(
        np.sum(_ciede2000.delta_e_rows(lab1, lab2)),
        np.sum(deltaE_ciede2000(lab1, lab2)),
        rtol=1e-13,
    )
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        _ciede2000.delta_e_rows(lab1[:4, :2], lab2[:4, :2])


def test_beyond_float32_range():
    """Huge values (a tiny data_range) take libm's cube root, not the
    float32 guess: still scikit-image's value."""
    rng = np.random.default_rng(4)
    true = rng.uniform(0, 1, size=(700, 3))
    test = rng.uniform(0, 1, size=(700, 3))
    true[::3] *= 1e14  # X/Xn beyond 1e30 after decoding (x ** 2.4)
    total, _ = ciede2000_sum(true, test, scale=1.0)
    assert_allclose(total, _skimage_sum(true, test, 1.0), rtol=1e-11)


@pytest.mark.parametrize("levels", [3, 16])
def test_photos_equal_scikit_image(photos, levels):
    for photo in photos:
        true = photo.reshape(-1, 3)
        test = (true // (256 // levels) * (256 // levels)).astype(np.uint8)
        total, count = ciede2000_sum(true, test, scale=255)
        assert count == true.shape[0]
        assert_allclose(total, _skimage_sum(true, test, 255), rtol=1e-11)


def test_quantized_and_dithered_photo(china):
    """Many repeated pairs (mapped) and few (dithered)."""
    for dither in (None, "floyd-steinberg"):
        quantizer = ColorQuantizer(32, dither=dither, random_state=0).fit(china)
        test = quantizer.transform(china).reshape(-1, 3)
        true = china.reshape(-1, 3)
        total, _ = ciede2000_sum(true, test, scale=255)
        assert_allclose(total, _skimage_sum(true, test, 255), rtol=1e-11)


def test_many_distinct_pairs_in_any_order():
    """Random colours, each pair three times in a random order."""
    rng = np.random.default_rng(1)
    true = rng.integers(0, 256, size=(50_000, 3), dtype=np.uint8)
    test = rng.integers(0, 256, size=(50_000, 3), dtype=np.uint8)
    order = rng.permutation(np.tile(np.arange(50_000), 3))
    total, count = ciede2000_sum(true[order], test[order], scale=255)
    assert count == order.size
    assert_allclose(total, 3 * _skimage_sum(true, test, 255), rtol=1e-11)


@pytest.mark.parametrize(
    "dtype, scale", [(np.uint16, 65535), (np.float32, 1.0), (np.float64, 2.0)]
)
def test_other_dtypes_and_scales(astronaut, dtype, scale):
    pixels = astronaut.reshape(-1, 3)
    true = (pixels / 255 * scale).astype(dtype)
    test = (np.roll(pixels, 1, axis=0) / 255 * scale).astype(dtype)
    total, _ = ciede2000_sum(true, test, scale=scale)
    assert_allclose(total, _skimage_sum(true, test, scale), rtol=1e-11)


def test_mixed_dtypes_out_of_range_and_extra_channels(coffee):
    true = coffee.reshape(-1, 3)
    test = true.astype(np.float64) * 1.1 - 10  # beyond [0, 255] both ways
    total, _ = ciede2000_sum(true, test, scale=255)
    assert_allclose(total, _skimage_sum(true, test, 255), rtol=1e-11)
    # a 4th channel is not read
    rgba = np.concatenate([true, np.zeros_like(true[:, :1])], axis=1)
    assert ciede2000_sum(rgba, rgba[::-1], scale=255) == ciede2000_sum(
        true, true[::-1], scale=255
    )


def test_keep_mask_and_chunks(astronaut, monkeypatch):
    true = astronaut.reshape(-1, 3)
    test = true[::-1]
    keep = np.random.default_rng(2).random(true.shape[0]) < 0.3
    total, count = ciede2000_sum(true, test, scale=255, keep=keep)
    assert count == keep.sum()
    assert_allclose(total, _skimage_sum(true[keep], test[keep], 255), rtol=1e-11)
    monkeypatch.setattr(_ciede2000, "CHUNK", 999)
    assert_allclose(ciede2000_sum(true, test, scale=255, keep=keep)[0], total, 1e-12)


def test_threads_give_the_same_sum(china):
    big = np.tile(china.reshape(-1, 3), (3, 1))  # 0.8 MP: two threads
    test = big // 16 * 16
    many = ciede2000_sum(big, test, scale=255)
    with threadpool_limits(1):
        one = ciede2000_sum(big, test, scale=255)
    assert many == one


def test_boundary_checks():
    pixels = np.zeros((10, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"\(10, 3\) and \(9, 3\)"):
        ciede2000_sum(pixels, pixels[:9], scale=255)
    with pytest.raises(ValueError, match="n_pixels, >= 3"):
        ciede2000_sum(pixels[:, :2], pixels[:, :2], scale=255)
    with pytest.raises(ValueError, match=r"keep must have shape \(10,\)"):
        ciede2000_sum(pixels, pixels, scale=255, keep=np.ones(3, bool))
    with pytest.raises(ValueError, match="scale must be a positive"):
        ciede2000_sum(pixels, pixels, scale=0)
    assert ciede2000_sum(pixels[:0], pixels[:0], scale=255) == (0.0, 0)


def test_uint8_images_compile_only_what_they_use():
    """A first mean CIEDE2000 of uint8 images compiles (or loads) the code
    decoding and the difference kernels, one specialisation each, never the
    float decoding (cold compile: 9 s of CPU before, 2.4 s)."""
    script = (
        "import numpy as np\n"
        "from skquant._kernels import _ciede2000 as m\n"
        "a = np.arange(3000, dtype=np.uint8).reshape(-1, 3)\n"
        "m.ciede2000_sum(a, a[::-1], scale=255)\n"
        "m.ciede2000_sum(a[:, ::-1], a, scale=255)\n"
        "print([len(k.signatures) for k in (m._codes_lab, m._lab_floats,"
        " m._delta_e_lab, m._chunk_total)])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[1,", "0,", "1,", "1]"]
