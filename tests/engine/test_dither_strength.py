"""``dither_strength`` on ColorQuantizer and quantize()."""

import numpy as np
import pytest

from skquant import ColorQuantizer, quantize


@pytest.fixture(scope="module")
def photo(coffee):
    return np.ascontiguousarray(coffee[::3, ::3])


def test_strength_zero_equals_no_dithering(photo):
    plain = quantize(photo, 16, color_space="lab")
    for method in ("floyd-steinberg", "bayer"):
        zero = quantize(
            photo, 16, color_space="lab", dither=method, dither_strength=0.0
        )
        np.testing.assert_array_equal(zero, plain)


def test_half_strength_lies_between(photo):
    def fitted(strength):
        return ColorQuantizer(
            16, dither="floyd-steinberg", dither_strength=strength, random_state=0
        ).fit(photo)

    plain = fitted(0.0).predict(photo)
    changed = [np.mean(fitted(s).predict(photo) != plain) for s in (0.5, 1.0)]
    assert 0 < changed[0] < changed[1]
    # transform and predict agree at any strength
    q = fitted(0.5)
    np.testing.assert_array_equal(q.transform(photo), q.palette_[q.predict(photo)])


@pytest.mark.parametrize("bad", [-0.5, 2, float("nan"), "half", True, None])
def test_bad_strength_names_the_value(photo, bad):
    with pytest.raises(ValueError, match=rf"dither_strength={bad!r}"):
        quantize(photo, 4, dither="floyd-steinberg", dither_strength=bad)
    with pytest.raises(ValueError, match=rf"dither_strength={bad!r}"):
        ColorQuantizer(4, dither_strength=bad).fit(photo)
