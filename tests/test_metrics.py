"""Tests for skquant.metrics against scikit-image, and the scorers."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from skimage import color
from skimage import metrics as skmetrics
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GridSearchCV, KFold

import skquant
from skquant import metrics
from skquant._kernels import _ciede2000
from skquant.metrics import (
    delta_e_scorer,
    get_scorer,
    mean_delta_e,
    peak_signal_noise_ratio,
    psnr_scorer,
    ssim_scorer,
    structural_similarity,
)

METRICS = [peak_signal_noise_ratio, mean_delta_e, structural_similarity]


class GridQuantizer(TransformerMixin, BaseEstimator):
    """Stand-in quantizer: snaps every value to the centre of a coarse grid.

    ``levels`` values per channel; works on uint8, uint16 and float in
    [0, 1], and on lists of arrays (returned as lists), like ColorQuantizer.
    """

    def __init__(self, levels=4):
        self.levels = levels

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        if isinstance(X, list):
            return [self.transform(x) for x in X]
        X = np.asarray(X)
        full = 1.0 if X.dtype.kind == "f" else float(np.iinfo(X.dtype).max)
        cell = np.minimum(np.floor(X / full * self.levels), self.levels - 1)
        out = (cell + 0.5) * (full / self.levels)
        if X.dtype.kind != "f":
            out = np.rint(out)
        return out.astype(X.dtype)


def _skimage_delta_e(true, test):
    true, test = np.asarray(true), np.asarray(test)
    return color.deltaE_ciede2000(
        color.rgb2lab(true[..., :3]), color.rgb2lab(test[..., :3])
    )


@pytest.fixture(scope="module")
def noisy_pair():
    """Astronaut crop and a noisy copy (uint8)."""
    from skimage import data

    image = data.astronaut()[100:300, 150:400]
    rng = np.random.default_rng(0)
    noise = rng.integers(-25, 26, size=image.shape)
    noisy = np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)
    return image, noisy


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
    monkeypatch.setattr(metrics, "_PSNR_CHUNK_VALUES", 997)
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
    expected = _skimage_delta_e(image, quantized).mean()
    assert_allclose(mean_delta_e(image, quantized), expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
def test_delta_e_other_dtypes(noisy_pair, dtype):
    image, noisy = noisy_pair
    expected = _skimage_delta_e(image / 255.0, noisy / 255.0).mean()
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
        [_skimage_delta_e(a, b).ravel() for a, b in zip(photos, quantized, strict=True)]
    )
    assert_allclose(mean_delta_e(photos, quantized), all_pixels.mean(), rtol=1e-10)


def test_delta_e_chunking_does_not_change_value(noisy_pair, monkeypatch):
    image, noisy = noisy_pair
    expected = _skimage_delta_e(image, noisy).mean()
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
    monkeypatch.setattr(metrics, "_SSIM_STRIP_PIXELS", strip_pixels)
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
# Scorers
# ---------------------------------------------------------------------------

SCORERS = {
    "psnr": (psnr_scorer, peak_signal_noise_ratio, 1),
    "delta_e": (delta_e_scorer, mean_delta_e, -1),
    "ssim": (ssim_scorer, structural_similarity, 1),
}


def _layouts(photos):
    image = photos[2][::2, ::2]
    return {
        "pixels": image.reshape(-1, 3),
        "image": image,
        "batch": np.stack([p[:120, :160] for p in photos]),
        "list": [p[::3, ::3] for p in photos],
    }


@pytest.mark.parametrize("name", sorted(SCORERS))
@pytest.mark.parametrize("layout", ["pixels", "image", "batch", "list"])
def test_scorer_compares_x_with_transform(photos, name, layout):
    scorer, metric, sign = SCORERS[name]
    X = _layouts(photos)[layout]
    estimator = GridQuantizer(levels=5)
    if name == "ssim" and layout == "pixels":
        with pytest.raises(ValueError, match="needs an image"):
            scorer(estimator, X)
        return
    expected = sign * metric(X, estimator.transform(X))
    assert scorer(estimator, X) == expected
    assert scorer(estimator, X, None) == expected


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_scorers_higher_is_better(photos, name):
    scorer = get_scorer(name)
    X = _layouts(photos)["image"]
    assert scorer(GridQuantizer(levels=16), X) > scorer(GridQuantizer(levels=3), X)


def test_delta_e_scorer_is_negative(photos):
    X = _layouts(photos)["image"]
    assert delta_e_scorer(GridQuantizer(levels=4), X) < 0


def test_get_scorer():
    for name, (scorer, _, _) in SCORERS.items():
        assert get_scorer(name) is scorer
        assert pickle.loads(pickle.dumps(scorer)) is scorer
    with pytest.raises(ValueError, match="'mse' is not a quantization scorer"):
        get_scorer("mse")
    with pytest.raises(ValueError, match="not a quantization scorer"):
        get_scorer(["psnr"])


def test_public_names():
    expected = {
        "peak_signal_noise_ratio",
        "mean_delta_e",
        "structural_similarity",
        "psnr_scorer",
        "delta_e_scorer",
        "ssim_scorer",
        "get_scorer",
        "make_rate_distortion_scorer",
        "fewest_colors",
    }
    assert set(metrics.__all__) == expected
    for name in metrics.__all__:
        assert callable(getattr(metrics, name))


def test_grid_search_with_fake_quantizer(photos):
    images = [p[::4, ::4] for p in photos]
    search = GridSearchCV(
        GridQuantizer(),
        {"levels": [2, 8]},
        scoring={"psnr": psnr_scorer, "delta_e": delta_e_scorer, "ssim": ssim_scorer},
        refit="delta_e",
        cv=KFold(2),
    )
    search.fit(images)
    assert search.best_params_ == {"levels": 8}
    for key in ("psnr", "delta_e", "ssim"):
        scores = search.cv_results_[f"mean_test_{key}"]
        assert scores[1] > scores[0]


@pytest.mark.skipif(
    not hasattr(skquant, "ColorQuantizer"), reason="ColorQuantizer not available"
)
def test_grid_search_color_quantizer(photos):
    images = [p[::2, ::2] for p in photos]
    search = GridSearchCV(
        skquant.ColorQuantizer(random_state=0),
        {"n_colors": [4, 16]},
        scoring=psnr_scorer,
        cv=KFold(2),
    )
    search.fit(images)
    assert search.best_params_ == {"n_colors": 16}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


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
    monkeypatch.setattr(metrics, "_PSNR_CHUNK_VALUES", 1000)
    monkeypatch.setattr(_ciede2000, "CHUNK", 777)
    monkeypatch.setattr(metrics, "_SSIM_STRIP_PIXELS", 5000)
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


# ---------------------------------------------------------------------------
# fewest_colors when nothing reaches the target (issue 12)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_search():
    from sklearn.datasets import load_sample_image

    image = load_sample_image("china.jpg")[::8, ::8]
    search = GridSearchCV(
        skquant.ColorQuantizer(random_state=0),
        {"n_colors": [2, 4, 8]},
        scoring={"psnr": psnr_scorer, "delta_e": delta_e_scorer},
        refit=False,
        cv=KFold(2),
    ).fit(image)
    return image, search.cv_results_


def test_fewest_colors_reached(small_search):
    _, results = small_search
    psnr = results["mean_test_psnr"]
    threshold = float(psnr[1]) - 1e-9
    assert metrics.fewest_colors(threshold, scorer="psnr")(results) == 1


def test_fewest_colors_unreached_warns(small_search):
    image, results = small_search
    best = float(results["mean_test_psnr"].max())
    with pytest.warns(UserWarning, match=r"threshold=60\.0.*best mean test score"):
        index = metrics.fewest_colors(60.0, scorer="psnr")(results)
    assert index == int(np.argmax(results["mean_test_psnr"]))
    with pytest.warns(UserWarning, match=f"{best:.6g}"):
        metrics.fewest_colors(60.0, scorer="psnr")(results)
    # through GridSearchCV: the warning reaches the caller, best K refitted
    search = GridSearchCV(
        skquant.ColorQuantizer(random_state=0),
        {"n_colors": [2, 4]},
        scoring=psnr_scorer,
        refit=metrics.fewest_colors(60.0),
        cv=KFold(2),
    )
    with pytest.warns(UserWarning, match="No candidate reaches threshold=60.0"):
        search.fit(image)
    assert search.best_params_ == {"n_colors": 4}


def test_fewest_colors_sign_mistake_explained(small_search):
    _, results = small_search
    # "a mean CIEDE2000 of at most 3" written as +3 for a negated loss
    with pytest.warns(UserWarning, match=r"threshold=-3\b.*at most 3") as record:
        metrics.fewest_colors(3, scorer="delta_e")(results)
    assert "negated loss" in str(record[0].message)
    # the right sign picks the fewest colours reaching it, silently
    delta_e = -results["mean_test_delta_e"]
    target = float(delta_e[2]) + 1e-9
    assert metrics.fewest_colors(-target, scorer="delta_e")(results) == 2
    # an unreached negative target warns without the sign hint
    with pytest.warns(UserWarning) as record:
        metrics.fewest_colors(-0.01, scorer="delta_e")(results)
    assert "negated" not in str(record[0].message)


def test_fewest_colors_checks_its_arguments(small_search):
    _, results = small_search
    for bad in ("30", float("nan"), None, True):
        with pytest.raises(ValueError, match="threshold must be a finite number"):
            metrics.fewest_colors(bad)
    with pytest.raises(
        ValueError, match=r"no 'mean_test_score'.*\['delta_e', 'psnr'\]"
    ):
        metrics.fewest_colors(30)(results)
    with pytest.raises(ValueError, match=r"no 'param_k'.*\['n_colors'\]"):
        metrics.fewest_colors(30, scorer="psnr", param="k")(results)
