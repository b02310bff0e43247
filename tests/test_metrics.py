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


def test_delta_e_rgba_ignores_alpha(noisy_pair):
    image, noisy = noisy_pair
    rng = np.random.default_rng(1)
    alpha_true = rng.integers(0, 256, size=image.shape[:2] + (1,), dtype=np.uint8)
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
    monkeypatch.setattr(metrics, "_DELTA_E_CHUNK_PIXELS", 1001)
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
