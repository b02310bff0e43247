"""A palette fitted for adaptive dithering: flat areas weigh more."""

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000

from skquant import ColorQuantizer
from skquant._engine._palette import CALM_MIN_COLORS, even_share
from skquant._kernels import dither_labels, flat_weights
from tests.kernels.test_dither_adaptive import blurred_lab, flat_noise


def calm_weights_of(image, n_colors):
    """The weights of the guide: s + (1 - s) f / mean(f), s = min(1/2, 16 / K)."""
    f = flat_weights(image, np.full(3, 1.0 / 255.0))
    share = min(0.5, 16 / n_colors)
    assert share == even_share(n_colors)
    return share + (1.0 - share) * f / f.mean()


def palette(image, n_colors=64, sample_weight=None, **params):
    quantizer = ColorQuantizer(n_colors, random_state=0, **params)
    return quantizer.fit(image, sample_weight=sample_weight).palette_


@pytest.fixture(scope="module")
def crop(china):
    return np.ascontiguousarray(china[::2, ::2])


def test_dithered_fit_weighs_pixels_by_flatness(crop):
    for n_colors in (8, 16, 64):
        expected = palette(crop, n_colors, calm_weights_of(crop, n_colors))
        dithered = palette(crop, n_colors, dither="floyd-steinberg")
        np.testing.assert_array_equal(dithered, expected)
        assert not np.array_equal(expected, palette(crop, n_colors))
    # the caller's weights multiply them
    rng = np.random.default_rng(0)
    user = rng.uniform(0.5, 2.0, crop.shape[:2])
    both = user.ravel() * calm_weights_of(crop, 64)
    np.testing.assert_array_equal(
        palette(crop, sample_weight=user, dither="atkinson"),
        palette(crop, sample_weight=both),
    )


@pytest.mark.parametrize(
    "params",
    [
        {"n_colors": CALM_MIN_COLORS - 1, "dither": "floyd-steinberg"},
        {"dither": "floyd-steinberg", "dither_adaptive": False},
        {"dither": "floyd-steinberg", "dither_strength": 0.0},
        {"dither": "bayer"},
        {"dither": None},
    ],
)
def test_other_fits_are_unweighted(crop, params):
    params = {"n_colors": 64, **params}
    plain = palette(crop, params["n_colors"])
    np.testing.assert_array_equal(palette(crop, **params), plain)


def test_pixel_arrays_count_alike(crop):
    """Pixels (n, C) have no neighbours: weight 1, the undithered palette."""
    pixels = crop.reshape(-1, 3)
    np.testing.assert_array_equal(
        palette(pixels, dither="floyd-steinberg"), palette(pixels)
    )


@pytest.mark.parametrize("n_colors", [16, 64])
def test_calm_fit_is_calmer_and_as_close_from_a_distance(photos, n_colors):
    """At K=16 and 64 on four photos, the default dithering (adaptive
    diffusion on a palette fitted for it) against plain Floyd-Steinberg on
    the undithered palette: calmer flat areas, and closer from a distance,
    on the median (benchmarks/bench_dither.py on seven photos, blurred
    CIEDE2000 / flat noise: 2.080 / 3.161 against 2.078 / 4.102 at K=16,
    1.218 / 1.539 against 1.285 / 2.437 at K=64)."""
    noise = {"plain": [], "calm": []}
    blur = {"plain": [], "calm": []}
    for image in photos:
        reference = blurred_lab(image)
        plain_palette = palette(image, n_colors)
        labels = dither_labels(
            image, plain_palette, method="floyd-steinberg", space="rgb", scale=255.0,
            adaptive=False,
        )  # fmt: skip
        results = {
            "plain": plain_palette[labels],
            "calm": ColorQuantizer(n_colors, dither="floyd-steinberg", random_state=0)
            .fit(image)
            .transform(image),
        }
        for name, result in results.items():
            noise[name].append(flat_noise(image, result))
            blur[name].append(
                float(deltaE_ciede2000(reference, blurred_lab(result)).mean())
            )
    assert np.median(noise["calm"]) < 0.9 * np.median(noise["plain"]), noise
    assert np.median(blur["calm"]) <= np.median(blur["plain"]), blur


def test_partial_fit_weighs_each_batch_by_flatness(crop, china):
    """partial_fit for adaptive dithering weighs each batch as fit does."""
    batches = [crop, np.ascontiguousarray(china[1::2, 1::2])]

    def streamed(weights=None, **params):
        quantizer = ColorQuantizer(64, random_state=0, **params)
        for batch, weight in zip(batches, weights or [None, None], strict=True):
            quantizer.partial_fit(batch, sample_weight=weight)
        return quantizer.palette_

    expected = streamed([calm_weights_of(batch, 64) for batch in batches])
    np.testing.assert_array_equal(streamed(dither="floyd-steinberg"), expected)
    assert not np.array_equal(expected, streamed())
    plain = {"dither": "floyd-steinberg", "dither_adaptive": False}
    np.testing.assert_array_equal(streamed(**plain), streamed())


def test_flatness_weights_do_not_depend_on_the_thread_count(china):
    """The map's window sums run from the first row of each band (their
    rounding depends on it): the bands are fixed, so one thread and two
    give the same weights, bit for bit (a 1.1 MP image: two threads)."""
    import numba

    big = np.ascontiguousarray(np.repeat(np.repeat(china, 2, axis=0), 2, axis=1))
    norm = np.full(3, 1.0 / 255.0)
    default = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = flat_weights(big, norm)
    finally:
        numba.set_num_threads(default)
    np.testing.assert_array_equal(flat_weights(big, norm), one)
