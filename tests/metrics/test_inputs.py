"""What the metrics accept (skquant.metrics._inputs): shapes, lists, data
ranges, the float data contract and transparent pixels."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from skimage import color
from skimage import metrics as skmetrics

import skquant
from skquant._kernels import _ciede2000
from skquant.metrics import (
    _image,
    mean_delta_e,
    peak_signal_noise_ratio,
    structural_similarity,
)
from tests.metrics._oracles import METRICS

# ---------------------------------------------------------------------------
# Validation shared by all metrics
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
def test_shape_mismatch_quotes_both_shapes(metric):
    a = np.zeros((8, 8, 3), dtype=np.uint8)
    b = np.zeros((8, 9, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"\(8, 8, 3\) and \(8, 9, 3\)"):
        metric(a, b)


@pytest.mark.parametrize("metric", METRICS)
def test_list_mismatches(metric):
    a = np.zeros((8, 8, 3), dtype=np.uint8)
    b = np.zeros((9, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="same number of images, got 2 and 1"):
        metric([a, b], [a])
    with pytest.raises(ValueError, match=r"image_true\[1\].*\(9, 8, 3\) and"):
        metric([a, b], [a, a])
    with pytest.raises(ValueError, match="list of images but image_test is an array"):
        metric([a], a)
    with pytest.raises(ValueError, match="empty lists"):
        metric([], [])


@pytest.mark.parametrize("metric", METRICS)
def test_dtype_ranges_must_agree(metric, noisy_pair):
    image, noisy = noisy_pair
    with pytest.raises(ValueError, match="uint8 .*float64.*data_range"):
        metric(image, noisy / 255.0)
    # float32 and float64 share the range 1.0.
    metric((image / 255).astype(np.float32), noisy / 255.0)


@pytest.mark.parametrize("metric", METRICS)
def test_unknown_integer_range_needs_data_range(metric, noisy_pair):
    image, noisy = noisy_pair
    image, noisy = image.astype(np.int32), noisy.astype(np.int32)
    with pytest.raises(ValueError, match="int32.*Pass data_range"):
        metric(image, noisy)
    assert np.isfinite(metric(image, noisy, data_range=255))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("data_range", [0, -1.0, float("nan"), "255", True])
def test_invalid_data_range(metric, data_range):
    image = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match="data_range must be a positive"):
        metric(image, image, data_range=data_range)


@pytest.mark.parametrize("metric", METRICS)
def test_boolean_images_refused(metric):
    image = np.zeros((8, 8, 3), dtype=bool)
    with pytest.raises(TypeError, match="dtype bool"):
        metric(image, image)


@pytest.mark.parametrize("metric", METRICS)
def test_inputs_not_modified(metric, noisy_pair):
    image, noisy = noisy_pair
    image_copy, noisy_copy = image.copy(), noisy.copy()
    metric(image, noisy)
    metric([image], [noisy])
    assert_array_equal(image, image_copy)
    assert_array_equal(noisy, noisy_copy)


# ---------------------------------------------------------------------------
# Data contract: floats on a 0-1 scale (issue 12)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_0_255_refused_with_what_to_do(metric, noisy_pair, dtype):
    # what the OpenCV tutorial's astype(np.float32) gives: PSNR was -24.7 dB
    image, noisy = noisy_pair
    as_float = image.astype(dtype), noisy.astype(dtype)
    with pytest.raises(ValueError, match="image_true is float with values") as info:
        metric(*as_float)
    message = str(info.value)
    for advice in ("divide it by 255", "uint8", "data_range=255", "0 to 255"):
        assert advice in message
    # only the test image out of range: named as such
    with pytest.raises(ValueError, match="image_test is float"):
        metric(image / 255.0, as_float[1])
    # the three ways out all give the uint8 value
    expected = metric(image, noisy)
    assert_allclose(metric(*as_float, data_range=255), expected, rtol=1e-5)
    assert_allclose(metric(image / 255.0, noisy / 255.0), expected, rtol=1e-5)


@pytest.mark.parametrize("metric", METRICS)
def test_float_range_advice_for_16_bit_and_signed(metric, noisy_pair):
    image, noisy = noisy_pair
    wide = image * 257.0, noisy * 257.0
    with pytest.raises(ValueError, match="data_range=65535"):
        metric(*wide)
    assert_allclose(metric(*wide, data_range=65535), metric(image, noisy), rtol=1e-6)
    signed = image / 127.5 - 1, noisy / 127.5 - 1
    with pytest.raises(ValueError, match="from -1 to 1.*pass data_range"):
        metric(*signed)
    with pytest.raises(ValueError, match=r"\[0\] is float"):
        metric([image * 1.0], [noisy / 255.0])


@pytest.mark.parametrize("metric", METRICS)
def test_float_small_excursions_accepted(metric, noisy_pair):
    # out-of-gamut conversions overshoot [0, 1] a little: still 0-1 data
    image, noisy = noisy_pair
    true = image / 255.0
    test = noisy / 255.0 * 1.04 - 0.02
    value = metric(true, test)
    assert np.isfinite(value)
    if metric is peak_signal_noise_ratio:
        expected = skmetrics.peak_signal_noise_ratio(true, test, data_range=1.0)
        assert_allclose(value, expected, rtol=1e-12)


# ---------------------------------------------------------------------------
# Transparent pixels are left out (issue 12)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rgba_quantized():
    """A photo with a fully transparent left third and graded alpha elsewhere,
    and its quantization by ColorQuantizer (transparent pixels come back as
    transparent black)."""
    from skimage import data

    rgb = data.chelsea()[::2, ::2]
    height, width = rgb.shape[:2]
    alpha = np.broadcast_to(
        np.linspace(40, 255, width).astype(np.uint8), (height, width)
    ).copy()
    alpha[:, : width // 3] = 0
    image = np.dstack([rgb, alpha])
    quantized = skquant.ColorQuantizer(n_colors=8, random_state=0).fit_transform(image)
    assert np.all(quantized[:, : width // 3] == 0)
    return image, quantized


def _visible_oracle(image, quantized):
    """The oracle: scikit-image's functions on the visible pixels only."""
    visible = image[..., 3] > 0
    true, test = image[visible], quantized[visible]
    psnr = skmetrics.peak_signal_noise_ratio(true, test, data_range=255)
    delta_e = color.deltaE_ciede2000(
        color.rgb2lab(true[:, :3] / 255), color.rgb2lab(test[:, :3] / 255)
    ).mean()
    # SSIM: hidden pixels 0 in both images, map averaged over visible pixels
    # inside scikit-image's border crop
    _, ssim_map = skmetrics.structural_similarity(
        np.where(visible[..., None], image, 0).astype(np.uint8),
        np.where(visible[..., None], quantized, 0).astype(np.uint8),
        channel_axis=-1,
        data_range=255,
        full=True,
    )
    crop = (slice(3, -3), slice(3, -3))
    ssim = ssim_map[crop][visible[crop]].mean()
    return psnr, delta_e, ssim


def test_transparent_pixels_left_out_of_every_metric(rgba_quantized):
    image, quantized = rgba_quantized
    psnr, delta_e, ssim = _visible_oracle(image, quantized)
    assert_allclose(peak_signal_noise_ratio(image, quantized), psnr, rtol=1e-12)
    assert_allclose(mean_delta_e(image, quantized), delta_e, rtol=1e-10)
    assert_allclose(structural_similarity(image, quantized), ssim, rtol=1e-10)
    # counting the transparent third (what the metrics did) is far worse
    everything = skmetrics.peak_signal_noise_ratio(image, quantized)
    assert psnr - everything > 3
    # the scorers and lists agree
    assert_allclose(
        peak_signal_noise_ratio([image, image], [quantized, quantized]),
        psnr,
        rtol=1e-12,
    )
    assert_allclose(
        mean_delta_e(np.stack([image, image]), np.stack([quantized, quantized])),
        delta_e,
        rtol=1e-10,
    )


def test_transparent_pixels_chunked_and_in_strips(rgba_quantized, monkeypatch):
    image, quantized = rgba_quantized
    expected = _visible_oracle(image, quantized)
    monkeypatch.setattr(_image, "_PSNR_CHUNK_VALUES", 1000)
    monkeypatch.setattr(_ciede2000, "CHUNK", 777)
    monkeypatch.setattr(_image, "_SSIM_STRIP_PIXELS", 5000)
    got = (
        peak_signal_noise_ratio(image, quantized),
        mean_delta_e(image, quantized),
        structural_similarity(image, quantized),
    )
    assert_allclose(got, expected, rtol=1e-10)


def test_transparent_pixels_the_reference_decides(rgba_quantized):
    image, quantized = rgba_quantized
    # a visible pixel made transparent by the test image still counts
    hidden_in_test = quantized.copy()
    hidden_in_test[:, -10:] = 0
    assert peak_signal_noise_ratio(image, hidden_in_test) < peak_signal_noise_ratio(
        image, quantized
    )
    # the colour under a transparent pixel of the reference changes nothing
    other = image.copy()
    other[:, :5, :3] = 255 - other[:, :5, :3]
    for metric in METRICS:
        assert metric(other, quantized) == metric(image, quantized)


def test_nothing_visible():
    clear = np.zeros((16, 16, 4), dtype=np.uint8)
    junk = np.full((16, 16, 4), 200, dtype=np.uint8)
    clear[..., :3] = 90
    assert peak_signal_noise_ratio(clear, junk) == float("inf")
    assert mean_delta_e(clear, junk) == 0.0
    assert structural_similarity(clear, junk) == 1.0
    # an image with nothing visible is left out of a list's SSIM
    from skimage import data

    image = np.dstack([data.astronaut()[:64, :64], np.full((64, 64), 255, np.uint8)])
    darker = image // 2
    assert structural_similarity([image, clear], [darker, junk]) == pytest.approx(
        structural_similarity(image, darker)
    )
