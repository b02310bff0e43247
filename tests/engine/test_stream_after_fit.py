"""``partial_fit`` after ``fit`` continues from what the fit learned.

The fit keeps, for each palette colour, the weight of the pixels k-means
assigned to it (``FittedPalette.weights``); the stream that follows starts
its histogram from those weighted colours, so the fitted photo keeps its
weight, as scikit-learn's ``MiniBatchKMeans`` keeps its centres' counts.
Before, the stream started from the next batch alone and forgot the fit.
"""

import pickle

import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant.metrics import mean_delta_e


@pytest.fixture(scope="module")
def pair(china, flower):
    """china and flower at half size (real photos, 68k pixels each)."""
    return [np.ascontiguousarray(p[::2, ::2]) for p in (china, flower)]


def delta_e(quantizer, image):
    return mean_delta_e(image, quantizer.transform(image))


@pytest.mark.parametrize("backend", ["sklearn", "opencv"])
def test_partial_fit_after_fit_approaches_a_fit_on_both(pair, backend):
    china, flower = pair

    def quantizer():
        return ColorQuantizer(16, backend=backend, random_state=0)

    both = delta_e(quantizer().fit([china, flower]), china)
    flower_alone = delta_e(quantizer().fit(flower), china)
    continued = quantizer().fit(china).partial_fit(flower)
    # measured: both 7.3, flower alone 19.5, continued 7.2 (it was 19.2)
    assert abs(delta_e(continued, china) - both) < 0.1 * (flower_alone - both)
    # and the flower was learnt too: far better than the fit on china alone
    assert delta_e(continued, flower) < 0.6 * delta_e(quantizer().fit(china), flower)


def test_fitted_weights_are_the_assigned_pixel_counts(china):
    # histogram_bins=None on floats: k-means runs on the exact colours and
    # the palette is its centres, so predict assigns every pixel as it did
    pixels = np.ascontiguousarray(china[::4, ::4] / 255.0)
    n_pixels = pixels.shape[0] * pixels.shape[1]
    q = ColorQuantizer(16, histogram_bins=None, random_state=0).fit(pixels)
    counts = np.bincount(q.predict(pixels).ravel(), minlength=16)
    np.testing.assert_array_equal(q._fitted.weights, counts)
    assert q._fitted.weights.sum() == n_pixels
    weight = np.random.default_rng(0).uniform(0.5, 3.0, size=pixels.shape[:2])
    q.fit(pixels, sample_weight=weight)
    labels = q.predict(pixels).ravel()
    oracle = np.bincount(labels, weights=weight.ravel(), minlength=16)
    np.testing.assert_allclose(q._fitted.weights, oracle, rtol=1e-12)
    np.testing.assert_allclose(q._fitted.weights.sum(), weight.sum(), rtol=1e-12)


@pytest.mark.parametrize("params", [{}, {"backend": "opencv"}, {"sample_size": 5000}])
def test_fitted_weights_sum_to_the_weight_fitted(china, params):
    # pooled cells, or a sample (scaled to every pixel's weight)
    n_pixels = china.shape[0] * china.shape[1]
    q = ColorQuantizer(16, random_state=0, **params).fit(china)
    np.testing.assert_allclose(q._fitted.weights.sum(), n_pixels, rtol=1e-12)
    if "sample_size" not in params:  # (a sample's boundaries differ more)
        counts = np.bincount(q.predict(china).ravel(), minlength=16)
        # cells straddling a boundary go to one side: the counts are close
        np.testing.assert_allclose(q._fitted.weights, counts, rtol=0.1, atol=200)


def test_sample_weight_sets_the_fit_s_share(pair):
    china, flower = pair
    ones = np.ones(china.shape[:2])

    def continued(scale):
        q = ColorQuantizer(16, random_state=0).fit(china, sample_weight=scale * ones)
        return q.partial_fit(flower)

    # the same units as the batch's pixel counts: doubling every weight of
    # both calls changes nothing
    doubled = ColorQuantizer(16, random_state=0).fit(china, sample_weight=2 * ones)
    doubled.partial_fit(flower, sample_weight=2 * np.ones(flower.shape[:2]))
    np.testing.assert_array_equal(doubled.palette_, continued(1.0).palette_)
    # the fit's share follows its weight (measured, seeds 0-2: 9.5-9.7,
    # 7.2-7.4, 6.0-6.2)
    light, plain, heavy = (delta_e(continued(s), china) for s in (0.01, 1.0, 100.0))
    assert light > plain + 1.0 and plain > heavy + 0.5


def test_rgba_keeps_the_transparent_entry(pair):
    china, flower = pair
    alpha = np.full(china.shape[:2] + (1,), 255, np.uint8)
    alpha[: china.shape[0] // 4] = 0  # the top quarter fully transparent
    rgba = np.concatenate([china, alpha], axis=-1)
    opaque = np.concatenate(
        [flower, np.full(flower.shape[:2] + (1,), 255, np.uint8)], axis=-1
    )
    q = ColorQuantizer(16, random_state=0).fit(rgba)
    weights = q._fitted.weights
    assert weights[-1] == 0 and weights.sum() == np.count_nonzero(alpha)
    q.partial_fit(opaque)
    np.testing.assert_array_equal(q.palette_[-1], [0, 0, 0, 0])
    both = ColorQuantizer(16, random_state=0).fit([rgba, opaque])
    alone = ColorQuantizer(16, random_state=0).fit(opaque)
    gap = delta_e(q, rgba) - delta_e(both, rgba)
    assert abs(gap) < 0.1 * (delta_e(alone, rgba) - delta_e(both, rgba))


def test_bgr_continues_as_rgb_reversed(pair):
    china, flower = pair
    rgb = ColorQuantizer(12, color_space="lab", random_state=0)
    bgr = ColorQuantizer(12, color_space="lab", channel_order="bgr", random_state=0)
    rgb.fit(china).partial_fit(flower)
    bgr.fit(china[..., ::-1]).partial_fit(flower[..., ::-1])
    np.testing.assert_array_equal(bgr.palette_, rgb.palette_[:, ::-1])


def test_floats_continue_over_the_fit_s_range(pair):
    # the stream's grid spans the first batch's range and the fit's colours
    china, flower = (p / 255.0 for p in pair)
    dark = flower * 0.3  # a batch whose range misses most of the palette
    both = delta_e(ColorQuantizer(16, random_state=0).fit([china, dark]), china)
    continued = ColorQuantizer(16, random_state=0).fit(china).partial_fit(dark)
    alone = delta_e(ColorQuantizer(16, random_state=0).fit(dark), china)
    assert abs(delta_e(continued, china) - both) < 0.1 * (alone - both)


def test_pickled_fit_continues_the_same(pair):
    china, flower = pair
    fitted = ColorQuantizer(16, random_state=0).fit(china)
    size = len(pickle.dumps(fitted))
    assert size < 20_000, size  # K weights, no histogram
    again = pickle.loads(pickle.dumps(fitted)).partial_fit(flower)
    np.testing.assert_array_equal(again.palette_, fitted.partial_fit(flower).palette_)


def test_fit_after_partial_fit_starts_afresh_and_inputs_are_kept(pair):
    china, flower = pair
    copies = china.copy(), flower.copy()
    weight = np.ones(flower.shape[:2])
    q = ColorQuantizer(16, random_state=0).fit(china)
    q.partial_fit(flower, sample_weight=weight)
    np.testing.assert_array_equal(china, copies[0])
    np.testing.assert_array_equal(flower, copies[1])
    assert (weight == 1).all()
    q.fit(china)
    assert not hasattr(q, "_histogram")
    fresh = ColorQuantizer(16, random_state=0).fit(china)
    np.testing.assert_array_equal(q.palette_, fresh.palette_)
    np.testing.assert_array_equal(q._fitted.weights, fresh._fitted.weights)


def test_given_palette_and_other_data_start_afresh(pair):
    china, flower = pair
    given = ColorQuantizer(palette=[[0, 0, 0], [255, 255, 255]]).fit(china)
    assert given._fitted.weights is None
    given.set_params(palette=None, n_colors=16, random_state=0)
    given.partial_fit(flower)
    fresh = ColorQuantizer(16, random_state=0).partial_fit(flower)
    np.testing.assert_array_equal(given._histogram.weights, fresh._histogram.weights)
    # a fit in another colour space is not continued (the warm-start rule)
    lab = ColorQuantizer(16, color_space="lab", random_state=0).fit(china)
    lab.set_params(color_space="rgb").partial_fit(flower)
    np.testing.assert_array_equal(lab._histogram.weights, fresh._histogram.weights)
