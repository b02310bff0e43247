"""Dither strength (pngquant's ``--floyd=0.5``) in the dithering kernel."""

import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant._kernels._dither import (
    DITHER_METHODS,
    dither_labels,
    dither_map,
    nearest_labels,
)

SPACES = ("rgb", "lab", "oklab", "din99o")


@pytest.fixture(scope="module")
def china_16(china):
    image = np.ascontiguousarray(china[100:260, 200:400])
    palette = ColorQuantizer(16, random_state=0).fit(image).palette_
    return image, palette


@pytest.mark.parametrize("method", DITHER_METHODS)
def test_strength_zero_is_the_undithered_mapping(china_16, method):
    image, palette = china_16
    for space in SPACES:
        plain = nearest_labels(image, palette, space=space, scale=255.0)
        labels = dither_labels(
            image, palette, method=method, space=space, scale=255.0, strength=0.0
        )
        np.testing.assert_array_equal(labels, plain)


@pytest.mark.parametrize("method", ["floyd-steinberg", "atkinson", "bayer"])
def test_more_strength_moves_more_pixels_off_their_nearest_colour(china_16, method):
    image, palette = china_16
    plain = nearest_labels(image, palette, space="lab", scale=255.0)
    moved = [
        np.mean(
            dither_labels(
                image, palette, method=method, space="lab", scale=255.0, strength=s
            )
            != plain
        )
        for s in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    assert moved[0] == 0.0
    assert np.all(np.diff(moved) > 0), moved


def test_full_strength_is_the_default(china_16):
    image, palette = china_16
    default = dither_map(
        image, palette, palette, method="floyd-steinberg", space="din99o", scale=255.0
    )
    full = dither_map(
        image,
        palette,
        palette,
        method="floyd-steinberg",
        space="din99o",
        scale=255.0,
        strength=1,
    )
    np.testing.assert_array_equal(default, full)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bad_strength_is_named(china_16, bad):
    image, palette = china_16
    with pytest.raises(ValueError, match=rf"strength={bad!r}"):
        dither_labels(
            image,
            palette,
            method="floyd-steinberg",
            space="rgb",
            scale=255.0,
            strength=bad,
        )
