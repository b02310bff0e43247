"""channel_order='bgr': OpenCV's channel order in, the same order out."""

import cv2
import numpy as np
import pytest
from sklearn.datasets import load_sample_image

from skquant import ColorQuantizer, quantize
from skquant._engine import check_params
from skquant.metrics import mean_delta_e


@pytest.fixture(scope="module")
def rgb():
    return np.ascontiguousarray(load_sample_image("flower.jpg")[::2, ::2])


@pytest.fixture(scope="module")
def bgr(rgb):
    """The photo as cv2.imread gives it (written and read back by OpenCV)."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(image, rgb[..., ::-1])
    return image


CASES = [
    {"color_space": "lab"},
    {"color_space": "din99o"},
    {"color_space": "oklab", "dither": "floyd-steinberg"},
    {"color_space": "din99o", "dither": "atkinson"},
    {"color_space": "rgb", "dither": "floyd-steinberg"},
    {"color_space": "lab", "dither": "bayer"},
    {"color_space": "lab", "backend": "opencv"},
    {"color_space": "lab", "histogram_bins": None, "sample_size": 5000},
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: "-".join(map(str, p.values())))
def test_bgr_result_is_the_rgb_result_reversed(rgb, bgr, params):
    ours = ColorQuantizer(12, channel_order="bgr", random_state=0, **params)
    ref = ColorQuantizer(12, random_state=0, **params)
    out = ours.fit_transform(bgr)
    expected = ref.fit_transform(rgb)
    np.testing.assert_array_equal(out, expected[..., ::-1])
    np.testing.assert_array_equal(ours.palette_, ref.palette_[:, ::-1])
    np.testing.assert_allclose(
        ours.cluster_centers_, ref.cluster_centers_[:, ::-1], rtol=1e-12
    )
    np.testing.assert_array_equal(ours.predict(bgr), ref.predict(rgb))
    np.testing.assert_array_equal(
        ours.inverse_transform(ours.predict(bgr)), expected[..., ::-1]
    )
    assert ours.score(bgr) == pytest.approx(ref.score(rgb), rel=1e-12)


@pytest.mark.parametrize("space", ["lab", "din99o"])
def test_bgr_read_as_rgb_gives_other_colours(rgb, bgr, space):
    """What channel_order fixes: the perceptual spaces read BGR wrongly."""
    wrong = quantize(bgr, 12, color_space=space)[..., ::-1]
    right = quantize(bgr, 12, color_space=space, channel_order="bgr")[..., ::-1]
    err = [mean_delta_e(rgb, x) for x in (wrong, right)]
    assert not np.array_equal(wrong, right)
    assert err[1] < err[0]  # CIEDE2000, what the perceptual spaces minimise


@pytest.mark.parametrize("bins", [64, None])
def test_partial_fit_bgr_is_the_rgb_result_reversed(rgb, bgr, bins):
    halves = np.array_split(np.arange(rgb.shape[0]), 2)
    ours = ColorQuantizer(
        12, color_space="lab", channel_order="bgr", histogram_bins=bins, random_state=0
    )
    ref = ColorQuantizer(12, color_space="lab", histogram_bins=bins, random_state=0)
    for rows in halves:
        ours.partial_fit(bgr[rows])
        ref.partial_fit(rgb[rows])
        np.testing.assert_array_equal(ours.palette_, ref.palette_[:, ::-1])
    np.testing.assert_array_equal(ours.transform(bgr), ref.transform(rgb)[..., ::-1])


def test_bgra_with_alpha_and_given_colours(rgb):
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:30] = 0
    alpha[30:60] = 128
    rgba = np.dstack([rgb, alpha])
    bgra = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])
    fixed = [[255, 0, 0, 255]]  # red, RGBA
    ref = ColorQuantizer(8, color_space="lab", fixed_colors=fixed, random_state=0).fit(
        rgba
    )
    ours = ColorQuantizer(
        8,
        color_space="lab",
        fixed_colors=[[0, 0, 255, 255]],  # the same red, BGRA
        channel_order="bgr",
        random_state=0,
    ).fit(bgra)
    np.testing.assert_array_equal(ours.palette_, ref.palette_[:, [2, 1, 0, 3]])
    np.testing.assert_array_equal(
        ours.transform(bgra), ref.transform(rgba)[..., [2, 1, 0, 3]]
    )


def test_given_palette_and_init_are_in_the_inputs_order(rgb, bgr):
    palette = np.array([[250, 10, 10], [10, 250, 10], [10, 10, 250], [0, 0, 0]])
    ref = quantize(rgb, 4, palette=palette, color_space="lab")
    ours = quantize(
        bgr, 4, palette=palette[:, ::-1], color_space="lab", channel_order="bgr"
    )
    np.testing.assert_array_equal(ours, ref[..., ::-1])
    ref = ColorQuantizer(4, init=palette, color_space="din99o").fit(rgb)
    ours = ColorQuantizer(
        4, init=palette[:, ::-1], color_space="din99o", channel_order="bgr"
    ).fit(bgr)
    np.testing.assert_array_equal(ours.palette_, ref.palette_[:, ::-1])


def test_caller_array_untouched(bgr):
    before = bgr.copy()
    quantize(bgr, 8, color_space="lab", dither="floyd-steinberg", channel_order="bgr")
    np.testing.assert_array_equal(bgr, before)


@pytest.mark.parametrize("bad", ["BGR", "grb", None, 1])
def test_bad_channel_order_is_named(bad):
    with pytest.raises(ValueError, match=r"channel_order must be one of"):
        check_params({"channel_order": bad}, 3)


def test_bgr_needs_three_or_four_channels():
    with pytest.raises(ValueError, match=r"channel_order='bgr' needs BGR or BGRA"):
        quantize(np.zeros((4, 4, 2), np.uint8), 2, channel_order="bgr")
