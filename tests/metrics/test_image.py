"""PSNR, mean CIEDE2000 and SSIM against scikit-image (skquant.metrics._image)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from skimage import metrics as skmetrics

from skquant._kernels import _ciede2000
from skquant.metrics import (
    _image,
    mean_delta_e,
    peak_signal_noise_ratio,
    structural_similarity,
)
from tests.metrics._oracles import GridQuantizer, skimage_delta_e

# ---------------------------------------------------------------------------
# PSNR
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["china", "flower", "astronaut", "coffee"])
def test_psnr_matches_skimage_on_photos(name, request):
    image = request.getfixturevalue(name)
    quantized = GridQuantizer(levels=6).transform(image)
    ours = peak_signal_noise_ratio(image, quantized)
    assert isinstance(ours, float)
    assert_allclose(
        ours, skmetrics.peak_signal_noise_ratio(image, quantized), rtol=1e-12
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
def test_psnr_matches_skimage_other_dtypes(noisy_pair, dtype):
    image, noisy = noisy_pair
    if dtype == np.uint16:
        image, noisy = image.astype(dtype) * 257, noisy.astype(dtype) * 257
    else:
        image, noisy = (image / 255).astype(dtype), (noisy / 255).astype(dtype)
    expected = skmetrics.peak_signal_noise_ratio(image, noisy)
    assert_allclose(peak_signal_noise_ratio(image, noisy), expected, rtol=1e-6)


def test_psnr_explicit_data_range(noisy_pair):
    image, noisy = noisy_pair
    expected = skmetrics.peak_signal_noise_ratio(image, noisy, data_range=100)
    assert_allclose(
        peak_signal_noise_ratio(image, noisy, data_range=100), expected, rtol=1e-12
    )


def test_psnr_identical_is_inf(astronaut):
    assert peak_signal_noise_ratio(astronaut, astronaut.copy()) == float("inf")
    assert peak_signal_noise_ratio([astronaut], [astronaut]) == float("inf")


def test_psnr_batch_matches_skimage(noisy_pair):
    image, noisy = noisy_pair
    batch_true = np.stack([image, image[::-1]])
    batch_test = np.stack([noisy, image[::-1]])
    assert_allclose(
        peak_signal_noise_ratio(batch_true, batch_test),
        skmetrics.peak_signal_noise_ratio(batch_true, batch_test),
        rtol=1e-12,
    )


def test_psnr_list_pools_squared_error(photos):
    quantized = GridQuantizer(levels=5).transform(photos)
    diffs = [
        (a.astype(np.float64) - b).ravel()
        for a, b in zip(photos, quantized, strict=True)
    ]
    mse = np.mean(np.concatenate(diffs) ** 2)
    expected = 10 * np.log10(255.0**2 / mse)
    assert_allclose(peak_signal_noise_ratio(photos, quantized), expected, rtol=1e-12)
    # Not the mean of the per-image PSNRs.
    per_image = [
        peak_signal_noise_ratio(a, b) for a, b in zip(photos, quantized, strict=True)
    ]
    assert abs(np.mean(per_image) - expected) > 1e-3


def test_psnr_list_mixed_dtypes_uses_each_range(noisy_pair):
    image, noisy = noisy_pair
    as_float = [image / 255.0, noisy / 255.0]
    value = peak_signal_noise_ratio([image, as_float[0]], [noisy, as_float[1]])
    assert_allclose(value, peak_signal_noise_ratio(image, noisy), rtol=1e-9)


def test_psnr_chunking_does_not_change_value(noisy_pair, monkeypatch):
    image, noisy = noisy_pair
    expected = peak_signal_noise_ratio(image, noisy)
    monkeypatch.setattr(_image, "_PSNR_CHUNK_VALUES", 997)
    assert_allclose(peak_signal_noise_ratio(image, noisy), expected, rtol=1e-12)


def test_psnr_non_contiguous_and_pixels(noisy_pair):
    image, noisy = noisy_pair
    view_true, view_test = image[::3, ::2], noisy[::3, ::2]
    assert_allclose(
        peak_signal_noise_ratio(view_true, view_test),
        skmetrics.peak_signal_noise_ratio(view_true, view_test),
        rtol=1e-12,
    )
    assert_allclose(
        peak_signal_noise_ratio(image.reshape(-1, 3), noisy.reshape(-1, 3)),
        peak_signal_noise_ratio(image, noisy),
        rtol=1e-12,
    )


# ---------------------------------------------------------------------------
# Mean CIEDE2000
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["china", "astronaut"])
def test_delta_e_matches_skimage_on_photos(name, request):
    image = request.getfixturevalue(name)
    quantized = GridQuantizer(levels=4).transform(image)
    expected = skimage_delta_e(image, quantized).mean()
    assert_allclose(mean_delta_e(image, quantized), expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
def test_delta_e_other_dtypes(noisy_pair, dtype):
    image, noisy = noisy_pair
    expected = skimage_delta_e(image / 255.0, noisy / 255.0).mean()
    if dtype == np.uint16:
        image, noisy = image.astype(dtype) * 257, noisy.astype(dtype) * 257
    else:
        image, noisy = (image / 255).astype(dtype), (noisy / 255).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    assert_allclose(mean_delta_e(image, noisy), expected, rtol=rtol)


def test_delta_e_explicit_data_range(noisy_pair):
    image, noisy = noisy_pair
    scaled_true, scaled_test = image * (2.0 / 255), noisy * (2.0 / 255)
    assert_allclose(
        mean_delta_e(scaled_true, scaled_test, data_range=2.0),
        mean_delta_e(image, noisy),
        rtol=1e-10,
    )


def test_delta_e_identical_is_zero(coffee):
    assert mean_delta_e(coffee, coffee.copy()) == 0.0


def test_delta_e_rgba_ignores_partial_alpha(noisy_pair):
    image, noisy = noisy_pair
    rng = np.random.default_rng(1)
    # no alpha 0 in the reference: every pixel is visible and counts fully
    alpha_true = rng.integers(1, 256, size=image.shape[:2] + (1,), dtype=np.uint8)
    alpha_test = rng.integers(0, 256, size=image.shape[:2] + (1,), dtype=np.uint8)
    rgba_true = np.concatenate([image, alpha_true], axis=-1)
    rgba_test = np.concatenate([noisy, alpha_test], axis=-1)
    assert_allclose(
        mean_delta_e(rgba_true, rgba_test), mean_delta_e(image, noisy), rtol=1e-12
    )


def test_delta_e_list_is_mean_over_all_pixels(photos):
    quantized = GridQuantizer(levels=3).transform(photos)
    all_pixels = np.concatenate(
        [skimage_delta_e(a, b).ravel() for a, b in zip(photos, quantized, strict=True)]
    )
    assert_allclose(mean_delta_e(photos, quantized), all_pixels.mean(), rtol=1e-10)


def test_delta_e_chunking_does_not_change_value(noisy_pair, monkeypatch):
    image, noisy = noisy_pair
    expected = skimage_delta_e(image, noisy).mean()
    monkeypatch.setattr(_ciede2000, "CHUNK", 1001)
    assert_allclose(mean_delta_e(image, noisy), expected, rtol=1e-10)
    batch_true, batch_test = np.stack([image, noisy]), np.stack([noisy, image])
    assert_allclose(
        mean_delta_e(batch_true, batch_test), expected, rtol=1e-10
    )  # CIEDE2000 is symmetric


@pytest.mark.parametrize("shape", [(10, 10, 1), (10, 10, 2), (10, 10, 5), (6,)])
def test_delta_e_needs_rgb(shape):
    image = np.zeros(shape, dtype=np.uint8)
    with pytest.raises(ValueError, match=r"3 channels .*" + str(shape[-1])):
        mean_delta_e(image, image)


# ---------------------------------------------------------------------------
# SSIM
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["china", "astronaut"])
def test_ssim_matches_skimage_on_photos(name, request):
    image = request.getfixturevalue(name)
    quantized = GridQuantizer(levels=4).transform(image)
    expected = skmetrics.structural_similarity(
        image, quantized, channel_axis=-1, data_range=255
    )
    assert_allclose(structural_similarity(image, quantized), expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ssim_float_uses_unit_range(noisy_pair, dtype):
    image, noisy = noisy_pair
    image, noisy = (image / 255).astype(dtype), (noisy / 255).astype(dtype)
    expected = skmetrics.structural_similarity(
        image, noisy, channel_axis=-1, data_range=1.0
    )
    assert_allclose(structural_similarity(image, noisy), expected, rtol=1e-5)


@pytest.mark.parametrize("strip_pixels", [1, 700, 5_000, 40_000])
def test_ssim_strips_match_whole_image(noisy_pair, monkeypatch, strip_pixels):
    image, noisy = noisy_pair
    expected = skmetrics.structural_similarity(
        image, noisy, channel_axis=-1, data_range=255
    )
    monkeypatch.setattr(_image, "_SSIM_STRIP_PIXELS", strip_pixels)
    assert_allclose(structural_similarity(image, noisy), expected, rtol=1e-10)


def test_ssim_identical_is_one(astronaut):
    assert structural_similarity(astronaut, astronaut.copy()) == pytest.approx(1.0)


def test_ssim_batch_and_list_average_images(photos):
    quantized = GridQuantizer(levels=4).transform(photos)
    per_image = [
        skmetrics.structural_similarity(a, b, channel_axis=-1, data_range=255)
        for a, b in zip(photos, quantized, strict=True)
    ]
    assert_allclose(
        structural_similarity(photos, quantized), np.mean(per_image), rtol=1e-10
    )
    same_size = [p[:200, :300] for p in photos]
    batch_true = np.stack(same_size)
    batch_test = GridQuantizer(levels=4).transform(batch_true)
    expected = np.mean(
        [
            skmetrics.structural_similarity(a, b, channel_axis=-1, data_range=255)
            for a, b in zip(batch_true, batch_test, strict=True)
        ]
    )
    assert_allclose(structural_similarity(batch_true, batch_test), expected, rtol=1e-10)


@pytest.mark.parametrize("shape", [(100, 3), (300,), (2, 2, 8, 8, 3)])
def test_ssim_needs_an_image(shape):
    pixels = np.zeros(shape, dtype=np.uint8)
    with pytest.raises(ValueError, match="needs an image"):
        structural_similarity(pixels, pixels)


def test_ssim_small_image_error_from_skimage():
    tiny = np.zeros((5, 5, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="win_size"):
        structural_similarity(tiny, tiny)
