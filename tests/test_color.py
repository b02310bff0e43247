"""Tests for skquant._color against scikit-image and published OKLab values."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from skimage import color, data
from sklearn.datasets import load_sample_images

from skquant._color import (
    COLOR_SPACES,
    din99o_to_lab,
    din99o_to_rgb,
    from_working,
    lab_to_din99o,
    lab_to_linear_rgb,
    lab_to_rgb,
    linear_rgb_to_lab,
    linear_rgb_to_oklab,
    linear_rgb_to_xyz,
    linear_to_srgb,
    linear_to_working,
    oklab_to_linear_rgb,
    oklab_to_rgb,
    oklab_to_xyz,
    rgb_to_din99o,
    rgb_to_lab,
    rgb_to_oklab,
    srgb_to_linear,
    srgb_u8_to_linear_table,
    to_working,
    working_to_linear,
    xyz_to_linear_rgb,
    xyz_to_oklab,
)

ALL_CONVERSIONS = [
    srgb_to_linear,
    linear_to_srgb,
    linear_rgb_to_xyz,
    xyz_to_linear_rgb,
    linear_rgb_to_lab,
    lab_to_linear_rgb,
    rgb_to_lab,
    lab_to_rgb,
    xyz_to_oklab,
    oklab_to_xyz,
    linear_rgb_to_oklab,
    oklab_to_linear_rgb,
    rgb_to_oklab,
    oklab_to_rgb,
    lab_to_din99o,
    din99o_to_lab,
    rgb_to_din99o,
    din99o_to_rgb,
]
SEEDS = [0, 1, 2, 3, 4]


def _photos():
    sample = load_sample_images().images
    return {
        "astronaut": data.astronaut(),
        "china": sample[0],
        "flower": sample[1],
    }


PHOTOS = _photos()


def _random_rgb(seed, shape=(2000, 3), low=0.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


# ---------------------------------------------------------------------------
# CIELAB against scikit-image
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_rgb_to_lab_matches_skimage_on_photos(name):
    rgb = PHOTOS[name] / 255.0
    assert_allclose(rgb_to_lab(rgb), color.rgb2lab(rgb), rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_lab_to_rgb_matches_skimage_on_photos(name):
    lab = color.rgb2lab(PHOTOS[name] / 255.0)
    assert_allclose(lab_to_rgb(lab), color.lab2rgb(lab), rtol=0, atol=1e-4)


def test_rgb_to_lab_matches_skimage_on_every_8bit_level():
    # Grey ramp plus primaries/secondaries ramps cover both companding branches.
    levels = np.arange(256) / 255.0
    zeros = np.zeros_like(levels)
    ramps = [
        np.stack([levels, levels, levels], axis=-1),
        np.stack([levels, zeros, zeros], axis=-1),
        np.stack([zeros, levels, zeros], axis=-1),
        np.stack([zeros, zeros, levels], axis=-1),
        np.stack([levels, levels, zeros], axis=-1),
    ]
    rgb = np.concatenate(ramps)
    assert_allclose(rgb_to_lab(rgb), color.rgb2lab(rgb), rtol=0, atol=1e-4)


def test_rgb_to_lab_matches_skimage_near_the_knee():
    # Dark colours straddle the X/Xn = 0.008856 knee of the companding.
    rgb = _random_rgb(0, shape=(20000, 3), high=0.15)
    assert_allclose(rgb_to_lab(rgb), color.rgb2lab(rgb), rtol=0, atol=1e-4)


def test_rgb_to_lab_float32_close_to_skimage():
    rgb = (PHOTOS["astronaut"] / 255.0).astype(np.float32)
    lab = rgb_to_lab(rgb)
    assert lab.dtype == np.float32
    assert_allclose(lab, color.rgb2lab(rgb.astype(np.float64)), rtol=0, atol=2e-3)


def test_lab_known_values():
    # Black is the origin; greys have (almost) no chroma; L* of white is 100.
    assert_allclose(rgb_to_lab(np.zeros(3)), np.zeros(3), atol=1e-12)
    grey = np.repeat(np.linspace(0, 1, 11)[:, None], 3, axis=1)
    lab = rgb_to_lab(grey)
    assert_allclose(lab[-1, 0], 100.0, atol=1e-3)
    assert np.all(np.abs(lab[:, 1:]) < 5e-3)
    assert np.all(np.diff(lab[:, 0]) > 0)


# ---------------------------------------------------------------------------
# DIN99o against the formulas of DIN 6176 and against CIEDE2000
# ---------------------------------------------------------------------------


def _din99o_reference(lab):
    """DIN 6176 as written: rotate by 26 degrees, scale f, log chroma, hue."""
    L, a, b = np.moveaxis(lab, -1, 0)
    angle = np.deg2rad(26.0)
    e = a * np.cos(angle) + b * np.sin(angle)
    f = 0.83 * (-a * np.sin(angle) + b * np.cos(angle))
    chroma = np.log(1 + 0.075 * np.sqrt(e**2 + f**2)) / 0.0435
    hue = np.arctan2(f, e) + angle
    return np.stack(
        [
            303.67 * np.log(1 + 0.0039 * L),
            chroma * np.cos(hue),
            chroma * np.sin(hue),
        ],
        axis=-1,
    )


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_din99o_matches_the_standard_formulas(name):
    lab = rgb_to_lab(PHOTOS[name].reshape(-1, 3)[::7] / 255.0)
    assert_allclose(lab_to_din99o(lab), _din99o_reference(lab), rtol=0, atol=1e-9)
    assert_allclose(din99o_to_lab(lab_to_din99o(lab)), lab, rtol=0, atol=1e-9)


def test_din99o_known_values():
    # Lightness: 0 -> 0, 100 -> 100 (to 4e-4, the rounding of 303.67);
    # greys keep zero chroma, also at exactly a* = b* = 0.
    grey = np.column_stack([np.linspace(0, 100, 11), np.zeros(11), np.zeros(11)])
    din = lab_to_din99o(grey)
    assert_allclose(din[[0, -1], 0], [0.0, 100.0], atol=4e-4)
    assert np.all(din[:, 1:] == 0) and np.all(np.diff(din[:, 0]) > 0)
    assert_array_equal(din99o_to_lab(din)[:, 1:], 0.0)
    # The hue is kept, up to the 26 degree rotation and the squeeze of f:
    # a colour on the rotated e axis keeps its direction.
    angle = np.deg2rad(26.0)
    on_e = np.array([50.0, 30 * np.cos(angle), 30 * np.sin(angle)])
    out = lab_to_din99o(on_e)
    assert_allclose(np.arctan2(out[2], out[1]), angle, atol=1e-12)
    assert_allclose(np.hypot(out[1], out[2]), np.log1p(0.075 * 30) / 0.0435)
    # Below L* = -256 the standard's log is undefined; out-of-gamut input
    # (negative float RGB) still converts and comes back (odd extension).
    dark = np.array([[-903.0, 0.05, -0.1], [-10.0, 3.0, 4.0]])
    assert np.all(np.isfinite(lab_to_din99o(dark)))
    assert_allclose(din99o_to_lab(lab_to_din99o(dark)), dark, atol=1e-9)
    assert_allclose(
        lab_to_din99o(-dark[:, :1] * [1, 0, 0])[:, 0], -lab_to_din99o(dark)[:, 0]
    )


def test_din99o_distance_follows_ciede2000():
    """What DIN99o is for: Euclidean distances close to CIEDE2000.

    On small differences between colours of real photos, the Euclidean
    distance in DIN99o correlates better with scikit-image's CIEDE2000
    than the CIELAB distance (CIE76) does.
    """
    rng = np.random.default_rng(0)
    rgb = PHOTOS["china"].reshape(-1, 3)[rng.choice(273280, 4000)] / 255.0
    other = np.clip(rgb + rng.normal(scale=0.03, size=rgb.shape), 0, 1)
    lab1, lab2 = rgb_to_lab(rgb), rgb_to_lab(other)
    de2000 = color.deltaE_ciede2000(lab1, lab2)
    de76 = np.linalg.norm(lab1 - lab2, axis=-1)
    de99 = np.linalg.norm(lab_to_din99o(lab1) - lab_to_din99o(lab2), axis=-1)
    r76 = np.corrcoef(de76, de2000)[0, 1]
    r99 = np.corrcoef(de99, de2000)[0, 1]
    assert r99 > 0.97 and r99 > r76 + 0.03, (r99, r76)


# ---------------------------------------------------------------------------
# OKLab against the published reference
# ---------------------------------------------------------------------------

# Björn Ottosson, "A perceptual color space for image processing" (2020),
# table of XYZ -> OKLab values, given to three decimals.
OKLAB_REFERENCE = [
    ((0.950, 1.000, 1.089), (1.000, 0.000, 0.000)),
    ((1.000, 0.000, 0.000), (0.450, 1.236, -0.019)),
    ((0.000, 1.000, 0.000), (0.922, -0.671, 0.263)),
    ((0.000, 0.000, 1.000), (0.153, -1.415, -0.449)),
]


@pytest.mark.parametrize(("xyz", "expected"), OKLAB_REFERENCE)
def test_xyz_to_oklab_published_values(xyz, expected):
    assert_allclose(xyz_to_oklab(np.array(xyz)), expected, rtol=0, atol=1e-3)


def test_oklab_to_xyz_published_values():
    xyz = np.array([row[0] for row in OKLAB_REFERENCE])
    assert_allclose(oklab_to_xyz(xyz_to_oklab(xyz)), xyz, rtol=0, atol=1e-10)
    lab = np.array([row[1] for row in OKLAB_REFERENCE])
    assert_allclose(xyz_to_oklab(oklab_to_xyz(lab)), lab, rtol=0, atol=1e-10)


def test_oklab_srgb_red_and_greys():
    # sRGB red, as given with the OKLab definition (and in CSS Color 4).
    assert_allclose(
        rgb_to_oklab(np.array([1.0, 0.0, 0.0])),
        [0.627955, 0.224863, 0.125846],
        rtol=0,
        atol=1e-4,
    )
    grey = np.repeat(np.linspace(0, 1, 11)[:, None], 3, axis=1)
    lab = rgb_to_oklab(grey)
    assert_allclose(lab[-1], [1.0, 0.0, 0.0], atol=1e-6)
    assert_allclose(lab[:, 1:], 0.0, atol=1e-6)


def test_direct_srgb_matrix_agrees_with_xyz_path():
    # The published linear-sRGB -> LMS matrix is M1 composed with sRGB -> XYZ;
    # the two paths differ only by the rounding of the sRGB primaries.
    lin = srgb_to_linear(_random_rgb(0))
    assert_allclose(
        linear_rgb_to_oklab(lin), xyz_to_oklab(linear_rgb_to_xyz(lin)), atol=2e-3
    )


# ---------------------------------------------------------------------------
# sRGB transfer function and lookup table
# ---------------------------------------------------------------------------


def test_srgb_transfer_function_values():
    x = np.array([0.0, 0.02, 0.04045, 0.5, 1.0])
    expected = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    rgb = np.stack([x, x, x], axis=-1)
    assert_allclose(srgb_to_linear(rgb), expected[:, None].repeat(3, 1), rtol=1e-12)
    assert_allclose(srgb_to_linear(np.full(3, 0.5)), 0.21404114, rtol=1e-7)


@pytest.mark.parametrize("seed", SEEDS)
def test_srgb_transfer_sign_symmetric_and_finite(seed):
    rgb = _random_rgb(seed, low=-3.0, high=3.0)
    lin = srgb_to_linear(rgb)
    assert np.all(np.isfinite(lin))
    assert_array_equal(srgb_to_linear(-rgb), -lin)
    assert_array_equal(linear_to_srgb(-lin), -linear_to_srgb(lin))
    assert_allclose(linear_to_srgb(lin), rgb, rtol=0, atol=1e-12)


def test_srgb_transfer_monotone_and_continuous():
    x = np.linspace(-0.1, 1.1, 30001)
    rgb = np.stack([x, x, x], axis=-1)
    lin = srgb_to_linear(rgb)[:, 0]
    assert np.all(np.diff(lin) > 0)
    back = linear_to_srgb(np.stack([x, x, x], axis=-1))[:, 0]
    assert np.all(np.diff(back) > 0)


def test_srgb_u8_table():
    table = srgb_u8_to_linear_table()
    assert table.shape == (256,)
    assert table.dtype == np.float32
    assert srgb_u8_to_linear_table() is table
    assert not table.flags.writeable
    levels = np.arange(256) / 255.0
    expected = srgb_to_linear(np.stack([levels] * 3, axis=-1))[:, 0]
    assert_allclose(table, expected, rtol=1e-7, atol=0)
    assert table[0] == 0.0
    assert table[255] == 1.0


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("space", COLOR_SPACES)
def test_working_round_trip_float64(space, seed):
    rgb = _random_rgb(seed)
    assert_allclose(from_working(to_working(rgb, space), space), rgb, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("space", COLOR_SPACES)
def test_working_round_trip_float32(space, seed):
    rgb = _random_rgb(seed).astype(np.float32)
    back = from_working(to_working(rgb, space), space)
    assert back.dtype == np.float32
    assert_allclose(back, rgb, atol=1e-4)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("space", COLOR_SPACES)
def test_linear_working_round_trip(space, seed):
    lin = _random_rgb(seed)
    back = working_to_linear(linear_to_working(lin, space), space)
    assert_allclose(back, lin, atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_round_trips_out_of_gamut(seed):
    # No clipping anywhere: slightly out-of-gamut colours come back unchanged.
    rgb = _random_rgb(seed, low=-0.2, high=1.2)
    assert_allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-9)
    assert_allclose(oklab_to_rgb(rgb_to_oklab(rgb)), rgb, atol=1e-9)
    assert_allclose(din99o_to_rgb(rgb_to_din99o(rgb)), rgb, atol=1e-9)
    assert_allclose(xyz_to_linear_rgb(linear_rgb_to_xyz(rgb)), rgb, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PHOTOS))
@pytest.mark.parametrize("space", ["lab", "oklab", "din99o"])
def test_round_trip_on_photos(name, space):
    rgb = PHOTOS[name] / 255.0
    assert_allclose(from_working(to_working(rgb, space), space), rgb, atol=1e-5)


@pytest.mark.parametrize("space", COLOR_SPACES)
def test_linear_to_working_equals_to_working(space):
    rgb = _random_rgb(0)
    assert_allclose(
        linear_to_working(srgb_to_linear(rgb), space),
        to_working(rgb, space),
        rtol=0,
        atol=1e-9,
    )


# ---------------------------------------------------------------------------
# Dispatch, dtypes, shapes, validation
# ---------------------------------------------------------------------------


def test_rgb_space_is_identity_without_copy():
    rgb = _random_rgb(0)
    assert to_working(rgb, "rgb") is rgb
    assert from_working(rgb, "rgb") is rgb
    rgb32 = rgb.astype(np.float32)
    assert to_working(rgb32, "rgb") is rgb32


def test_dispatch_matches_direct_functions():
    rgb = _random_rgb(0)
    assert_array_equal(to_working(rgb, "lab"), rgb_to_lab(rgb))
    assert_array_equal(to_working(rgb, "oklab"), rgb_to_oklab(rgb))
    lab = rgb_to_lab(rgb)
    assert_array_equal(from_working(lab, "lab"), lab_to_rgb(lab))
    oklab = rgb_to_oklab(rgb)
    assert_array_equal(from_working(oklab, "oklab"), oklab_to_rgb(oklab))
    assert_array_equal(linear_to_working(rgb, "lab"), linear_rgb_to_lab(rgb))
    assert_array_equal(working_to_linear(oklab, "oklab"), oklab_to_linear_rgb(oklab))
    assert_array_equal(to_working(rgb, "din99o"), rgb_to_din99o(rgb))
    din = rgb_to_din99o(rgb)
    assert_array_equal(from_working(din, "din99o"), din99o_to_rgb(din))


@pytest.mark.parametrize(
    "func", [to_working, from_working, linear_to_working, working_to_linear]
)
def test_unknown_space(func):
    with pytest.raises(ValueError, match="space='hsv'"):
        func(np.zeros((2, 3)), "hsv")


@pytest.mark.parametrize("func", ALL_CONVERSIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(func, dtype):
    values = _random_rgb(0, shape=(50, 3)).astype(dtype)
    assert func(values).dtype == dtype


@pytest.mark.parametrize("func", ALL_CONVERSIONS)
def test_float16_promoted_to_float32(func):
    values = _random_rgb(0, shape=(5, 3)).astype(np.float16)
    assert func(values).dtype == np.float32


@pytest.mark.parametrize("func", ALL_CONVERSIONS)
@pytest.mark.parametrize("shape", [(3,), (7, 3), (4, 5, 3), (2, 3, 4, 3)])
def test_any_leading_shape(func, shape):
    values = _random_rgb(1, shape=shape)
    out = func(values)
    assert out.shape == shape
    flat = func(values.reshape(-1, 3))
    assert_allclose(out.reshape(-1, 3), flat, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("func", ALL_CONVERSIONS)
def test_input_not_modified(func):
    values = _random_rgb(2, shape=(6, 5, 3), low=-0.1, high=1.1)
    original = values.copy()
    out = func(values)
    assert_array_equal(values, original)
    assert not np.shares_memory(out, values)


@pytest.mark.parametrize("func", ALL_CONVERSIONS)
def test_non_contiguous_input(func):
    values = _random_rgb(3, shape=(10, 8, 3))
    view = values[::2, ::3]
    assert_allclose(func(view), func(np.ascontiguousarray(view)), rtol=0, atol=0)


@pytest.mark.parametrize("func", ALL_CONVERSIONS)
def test_integer_input_refused(func):
    with pytest.raises(TypeError, match="dtype=uint8"):
        func(np.zeros((4, 3), dtype=np.uint8))


@pytest.mark.parametrize("func", ALL_CONVERSIONS)
@pytest.mark.parametrize("shape", [(4,), (5, 4), (2, 2, 1)])
def test_wrong_channel_count(func, shape):
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        func(np.zeros(shape))


def test_list_input_accepted():
    assert_allclose(rgb_to_lab([[0.5, 0.5, 0.5]]), rgb_to_lab(np.full((1, 3), 0.5)))
