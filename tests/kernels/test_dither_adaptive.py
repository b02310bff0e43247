"""Adaptive error diffusion: calm flat areas at no cost from a distance."""

import numpy as np
import pytest
from scipy.ndimage import uniform_filter
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.filters import gaussian

from skquant import ColorQuantizer, _color, quantize
from skquant._kernels import dither_labels, nearest_labels


def blurred_lab(image):
    lin = _color.srgb_to_linear(image / 255.0)
    blurred = gaussian(lin, sigma=1.5, channel_axis=-1)
    return rgb2lab(np.clip(_color.linear_to_srgb(blurred), 0.0, 1.0))


def flat_noise(original, result):
    """RMS of the high-frequency part of the CIELAB error where the
    original's 7 x 7 neighbourhood is flat (the measure of
    benchmarks/bench_dither.py)."""
    lab = rgb2lab(original)
    mean = uniform_filter(lab, size=(7, 7, 1))
    var = uniform_filter(lab**2, size=(7, 7, 1)) - mean**2
    flat = np.sqrt(np.clip(var, 0, None).sum(axis=-1)) < 1.5
    error = rgb2lab(result) - lab
    high = error - gaussian(error, sigma=1.5, channel_axis=-1)
    return float(np.sqrt((high**2).sum(axis=-1)[flat].mean()))


@pytest.fixture(scope="module")
def fitted(photos):
    return [
        (photo, ColorQuantizer(16, random_state=0).fit(photo).palette_)
        for photo in photos
    ]


def dithered(image, palette, adaptive, space="rgb", strength=1.0):
    labels = dither_labels(
        image,
        palette,
        method="floyd-steinberg",
        space=space,
        scale=255.0,
        strength=strength,
        adaptive=adaptive,
    )
    return palette[labels]


def test_adaptive_is_calmer_on_flat_areas_and_as_good_from_a_distance(fitted):
    noise = {False: [], True: []}
    blur = {False: [], True: []}
    for image, palette in fitted:
        reference = blurred_lab(image)
        for adaptive in (False, True):
            result = dithered(image, palette, adaptive)
            noise[adaptive].append(flat_noise(image, result))
            blur[adaptive].append(
                float(deltaE_ciede2000(reference, blurred_lab(result)).mean())
            )
    # calmer on every photo (here: china -17 %, the others -4 to -5 %), and
    # from a distance within 1 % on the median (here -0.2 %: china +1.3 %,
    # coffee -3.3 %; see the dithering guide)
    calm, plain = np.array(noise[True]), np.array(noise[False])
    assert np.all(calm < plain), noise
    assert np.median(calm) < 0.95 * np.median(plain), noise
    assert np.median(blur[True]) <= 1.01 * np.median(blur[False]), blur


def test_adaptive_ramp_keeps_its_linear_light_mean():
    """A smooth grey ramp is flat everywhere: the lowest limit applies, and
    each column still averages to its linear-light value, nearly as plain
    Floyd-Steinberg does (a pixel always passes on its own error)."""
    srgb = np.arange(256, dtype=np.uint8)
    image = np.repeat(np.repeat(srgb[None, :, None], 3, axis=2), 160, axis=0)
    greys = np.array([0, 60, 140, 200, 255], dtype=np.uint8)
    palette = np.repeat(greys[:, None], 3, axis=1)
    lin = _color.srgb_to_linear(palette / 255.0)[:, 0]
    truth = _color.srgb_to_linear(image[0] / 255.0)[:, 0]
    for adaptive in (False, True):
        labels = dither_labels(
            image,
            palette,
            method="floyd-steinberg",
            space="rgb",
            scale=255.0,
            adaptive=adaptive,
        )
        # mean over rows and 16-column blocks, past the first rows
        mean = lin[labels[16:]].mean(axis=0).reshape(-1, 16).mean(axis=1)
        error = np.abs(mean - truth.reshape(-1, 16).mean(axis=1))
        # adaptive: a sixteenth of the error is dropped at each pixel, which
        # pulls colours very near a palette grey onto it (0.008 at the
        # white end here)
        assert error.max() < (0.01 if adaptive else 0.005), (adaptive, error)


@pytest.mark.parametrize("space", ["rgb", "din99o"])
def test_adaptive_at_strength_zero_is_undithered(fitted, space):
    image, palette = fitted[0]
    plain = nearest_labels(image, palette, space=space, scale=255.0)
    labels = dither_labels(
        image,
        palette,
        method="atkinson",
        space=space,
        scale=255.0,
        strength=0.0,
        adaptive=True,
    )
    np.testing.assert_array_equal(labels, plain)


def test_estimator_and_quantize_pass_it_on(fitted):
    """Adaptive diffusion is the default; dither_adaptive=False is plain."""
    image, _ = fitted[1]
    image = np.ascontiguousarray(image[::2, ::2])
    q = ColorQuantizer(16, dither="floyd-steinberg", random_state=0).fit(image)
    assert q.dither_adaptive is True
    expected = dithered(image, q.palette_, True)
    np.testing.assert_array_equal(q.transform(image), expected)
    np.testing.assert_array_equal(
        quantize(image, 16, dither="floyd-steinberg", random_state=0), expected
    )
    q.set_params(palette=q.palette_, dither_adaptive=False).fit(image)
    plain = dithered(image, q.palette_, False)
    np.testing.assert_array_equal(q.transform(image), plain)
    assert not np.array_equal(plain, expected)


def test_ordered_dithering_ignores_adaptive(fitted):
    """'bayer' has no error to diffuse: dither_adaptive leaves it as it is
    (it used to scale the share of the second colour by 15/16)."""
    image, palette = fitted[0]
    image = np.ascontiguousarray(image[::2, ::2])
    results = [
        ColorQuantizer(palette=palette, dither="bayer", dither_adaptive=adaptive)
        .fit(image)
        .transform(image)
        for adaptive in (True, False)
    ]
    np.testing.assert_array_equal(results[0], results[1])
    labels = dither_labels(
        image, palette, method="bayer", space="rgb", scale=255.0, adaptive=False
    )
    np.testing.assert_array_equal(results[0], palette[labels])


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_bad_adaptive_is_named(fitted, bad):
    image, _ = fitted[0]
    with pytest.raises(ValueError, match="dither_adaptive must be a bool"):
        quantize(image[:32, :32], 4, dither="floyd-steinberg", dither_adaptive=bad)
