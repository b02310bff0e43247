"""The written-out Floyd-Steinberg kernel gives the general kernel's labels.

:func:`skquant._kernels._diffusion._fs_rows` is a faster copy of
:func:`~skquant._kernels._diffusion._dither_rows` for Floyd-Steinberg on three
channels, converting colours by the tables of
:mod:`skquant._kernels._fastconv`; the general kernel (``_run(...,
fast=False)``, exact conversions) is the oracle, bit for bit, on real photos
in every working space and input type: the tables' tolerance decides no
label there.
"""

import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant._kernels import _dither, _fastconv
from skquant._kernels._colorspace import gamut_bounds
from skquant._kernels._dither import _NOT_ORDERED, _adapt, _kernel_taps

SPACES = ("rgb", "lab", "oklab", "din99o", "perceptual")
FS = _kernel_taps("floyd-steinberg")


def both(image, palette, space, scale=255.0, **options):
    """Labels of the written-out kernel and of the general one."""
    image, palette = _dither._check_args(
        image, palette, "floyd-steinberg", space, scale
    )
    args = (image, palette, space, scale, FS, _NOT_ORDERED)
    fast = _dither._run(*args, **options)
    general = _dither._run(*args, fast=False, **options)
    return fast, general


def sampled_palette(image, n_colors, seed=0):
    """``n_colors`` distinct colours of the photo, drawn at random."""
    colors = np.unique(image.reshape(-1, 3), axis=0)
    rng = np.random.default_rng(seed)
    return colors[rng.choice(len(colors), n_colors, replace=False)]


@pytest.fixture(scope="module")
def palettes(china, coffee):
    out = {}
    for name, image in (("china", china), ("coffee", coffee)):
        for n_colors in (2, 16, 256):
            q = ColorQuantizer(n_colors, random_state=0).fit(image[::2, ::2])
            out[name, n_colors] = image, q.palette_
    return out


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("n_colors", [2, 16, 256])
@pytest.mark.parametrize("name", ["china", "coffee"])
def test_same_labels_as_the_general_kernel(palettes, name, n_colors, space):
    image, palette = palettes[name, n_colors]
    fast, general = both(image, palette, space)
    np.testing.assert_array_equal(fast, general)
    # Dithered: not the undithered labels.
    assert (
        np.mean(
            fast != _dither.nearest_labels(image, palette, space=space, scale=255.0)
        )
        > 0.01
    )


@pytest.mark.parametrize("space", ["rgb", "din99o"])
def test_same_labels_with_strength_and_adaptive(palettes, space):
    image, palette = palettes["china", 16]
    for options in (_adapt(False, 0.5), _adapt(True, 1.0), _adapt(True, 0.7)):
        fast, general = both(image, palette, space, **options)
        np.testing.assert_array_equal(fast, general)


# Each (dtype, space) pair compiles both kernels anew: 'rgb' runs every
# input type, 'oklab' float32 in the fast suite and all with -m slow.
INPUT_TYPES = ("uint16", "float64", "float32", "not sRGB")


@pytest.mark.parametrize(
    ("space", "kinds"),
    [
        pytest.param("rgb", INPUT_TYPES, id="rgb"),
        pytest.param("oklab", ("float32",), id="oklab"),
        pytest.param("oklab", INPUT_TYPES, marks=pytest.mark.slow, id="oklab-all"),
    ],
)
def test_same_labels_for_other_input_types(palettes, space, kinds):
    image, palette = palettes["coffee", 16]
    image = image[:200, :300]
    cases = {
        "uint16": (
            image.astype(np.uint16) * 257,
            palette.astype(np.uint16) * 257,
            65535.0,
        ),
        "float64": (image / 255.0, palette / 255.0, 1.0),
        "float32": (
            image.astype(np.float32) / 255,
            palette.astype(np.float32) / 255,
            1.0,
        ),
        "not sRGB": (image / 255.0, palette / 255.0, None),  # input units
    }
    for kind in kinds:
        im, pal, scale = cases[kind]
        if scale is None and space != "rgb":
            continue
        fast, general = both(im, pal, space, scale)
        np.testing.assert_array_equal(fast, general, err_msg=kind)


@pytest.mark.parametrize("width", [1, 2, 3])
def test_same_labels_on_narrow_images(palettes, width):
    image, palette = palettes["china", 16]
    fast, general = both(
        np.ascontiguousarray(image[:300, 100 : 100 + width]), palette, "lab"
    )
    np.testing.assert_array_equal(fast, general)


@pytest.mark.slow
@pytest.mark.parametrize("space", SPACES)
def test_same_labels_with_4096_colours(china, space):
    palette = sampled_palette(china, 4096)
    fast, general = both(china, palette, space)
    np.testing.assert_array_equal(fast, general)


@pytest.mark.parametrize("space", SPACES)
def test_table_conversions_within_their_tolerance(space):
    lo, hi = gamut_bounds(space)
    error = _fastconv.max_error(space).max()
    assert error <= _fastconv.TOLERANCE * (hi - lo).max()
    # Not a trivially exact copy either: tables, not the exact functions.
    assert error > 0.0


@pytest.mark.parametrize("space", SPACES)
def test_table_conversion_of_a_literal_space_is_that_space_alone(space):
    """A kernel given a space code compiles that space's converter only (all
    five in the dithering kernel took 12 s to compile instead of 1-2 s)."""
    from numba import types

    from skquant._kernels._colorspace import SPACE_CODES

    code = SPACE_CODES[space]
    f64 = types.float64
    tables = types.Array(f64, 2, "C", readonly=True)
    typed = _fastconv._fast_to_work_typed
    literal = typed(f64, f64, f64, types.IntegerLiteral(int(code)), tables)
    variable = typed(f64, f64, f64, types.int64, tables)
    converter = _fastconv.FAST_CONVERTERS[code]
    assert literal.__closure__[0].cell_contents is converter
    assert "_fast_to_work_any" in variable.__code__.co_names


def test_full_scan_gives_the_grid_labels_and_the_lowest_index_of_ties(
    china, monkeypatch
):
    # Palettes of up to FS_FULL_SCAN colours are searched in full, larger
    # ones on the grid: the same labels, the lowest index of exact ties.
    image = china[::2, ::2]
    base = sampled_palette(image, 6)
    palette = np.concatenate([base, base[::-1]])  # entry 6 + i repeats 5 - i
    labels = {}
    for full_scan in (0, 16):
        monkeypatch.setattr(_dither, "FS_FULL_SCAN", full_scan)
        labels[full_scan] = _dither.dither_labels(
            image, palette, method="floyd-steinberg", space="rgb", scale=255.0
        )
    np.testing.assert_array_equal(labels[16], labels[0])
    assert labels[16].max() < len(base)
    assert len(np.unique(labels[16])) == len(base)


@pytest.mark.parametrize(
    ("dtype", "scale", "palette_top"),
    [
        ("uint8", 255.0, 255),  # in range by the dtype: only the palette read
        ("uint8", 255.0, 256),  # a palette beyond the scale
        ("uint16", 65535.0, 65535),
        ("uint16", 255.0, 255),  # the dtype holds more than the scale
        ("uint16", 1000.0, 1000),
        ("float32", 1.0, 1),
    ],
)
def test_srgb_test_reads_the_image_only_where_its_dtype_can_exceed_the_scale(
    china, dtype, scale, palette_top
):
    """``_is_srgb`` skips the image's minimum and maximum for unsigned
    integers that cannot exceed ``scale``, with the answer of reading them."""
    image = china.astype(dtype) if dtype != "float32" else china / np.float32(255)
    if dtype == "uint16" and scale < 65535:
        image = image * np.uint16(4)  # values up to 1020: beyond either scale
    palette = np.array([[0, 0, 0], [palette_top] * 3], dtype=np.float64)
    flat = image.reshape(-1, 3)
    slack = 1e-6 * scale
    lo, hi = min(flat.min(), palette.min()), max(flat.max(), palette.max())
    expected = bool(lo >= -slack and hi <= scale + slack)
    assert _dither._is_srgb(image, palette, scale) is expected
