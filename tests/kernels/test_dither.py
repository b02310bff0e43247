"""Tests for skquant._kernels._dither: error diffusion and ordered dithering."""

import numba
import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.filters import gaussian

from skquant import ColorQuantizer, _color
from skquant._kernels import _dither
from skquant._kernels._dither import (
    BAYER_8X8,
    DITHER_METHODS,
    ERROR_DIFFUSION_KERNELS,
    dither_labels,
    nearest_labels,
)

SPACES = ("rgb", "lab", "oklab", "din99o")
BLACK_WHITE = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)


# %% helpers -----------------------------------------------------------------


def crop(image, size=128):
    """Central ``size x size`` crop: small enough for a fast test file."""
    h, w = image.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(image[y : y + size, x : x + size])


def blurred_lab(image_u8):
    """CIELAB of the image Gaussian-blurred (sigma 1.5) in linear light.

    The blur stands for the eye at a distance: it averages light, so it is
    done on linear-light values.
    """
    lin = _color.srgb_to_linear(image_u8 / 255.0)
    blurred = gaussian(lin, sigma=1.5, channel_axis=-1)
    return rgb2lab(np.clip(_color.linear_to_srgb(blurred), 0.0, 1.0))


def blurred_delta_e(image, palette, labels, reference=None):
    """Mean CIEDE2000 between the blurred image and its blurred dithering."""
    if reference is None:
        reference = blurred_lab(image)
    return float(deltaE_ciede2000(reference, blurred_lab(palette[labels])).mean())


@pytest.fixture(scope="module")
def undithered(fitted):
    """Blurred reference and blurred error without dithering, per crop."""
    out = {}
    for key, (image, palette) in fitted.items():
        reference = blurred_lab(image)
        labels = nearest_labels(image, palette, space=key[1], scale=255.0)
        out[key] = reference, blurred_delta_e(image, palette, labels, reference)
    return out


@pytest.fixture(scope="module")
def fitted(photos):
    """Crops of four photographs with 8-colour palettes in each space."""
    out = {}
    for i, photo in enumerate(photos):
        image = crop(photo)
        for space in SPACES:
            q = ColorQuantizer(8, color_space=space, random_state=0).fit(image)
            out[i, space] = (image, q.palette_)
    return out


# %% exact nearest search -------------------------------------------------------


@pytest.mark.parametrize("n_colors", [1, 2, 7, 64, 256])
@pytest.mark.parametrize("n_channels", [1, 2, 3, 4])
def test_nearest_is_exact_in_input_units(n_colors, n_channels):
    rng = np.random.default_rng(n_colors * 10 + n_channels)
    palette = rng.normal(size=(n_colors, n_channels))
    if n_colors > 2:
        palette[1] = palette[0]  # duplicates: the lower index wins
    points = rng.normal(scale=1.5, size=(40, 50, n_channels))
    labels = nearest_labels(points, palette, space="rgb", scale=None)
    d2 = ((points[..., None, :] - palette) ** 2).sum(axis=-1)
    np.testing.assert_array_equal(labels, d2.argmin(axis=-1))


@pytest.mark.parametrize("space", SPACES)
def test_nearest_is_exact_in_working_space(space, astronaut):
    image = crop(astronaut, 128)
    palette = ColorQuantizer(256, color_space=space, random_state=0).fit(image).palette_
    labels = nearest_labels(image, palette, space=space, scale=255.0)
    work = _color.to_working(image / 255.0, space)
    palette_work = _color.to_working(palette / 255.0, space)
    d2 = ((work[..., None, :] - palette_work) ** 2).sum(axis=-1)
    best = d2.min(axis=-1)
    chosen = np.take_along_axis(d2, labels[..., None], axis=-1)[..., 0]
    # The nearest colour, or one tied with it up to the rounding of the
    # conversions (integer data makes exact ties common in 'rgb').
    np.testing.assert_allclose(chosen, best, rtol=0, atol=1e-9)


# %% dithering on photographs ---------------------------------------------------


@pytest.mark.parametrize("method", DITHER_METHODS)
@pytest.mark.parametrize("space", SPACES)
def test_labels_in_range(fitted, method, space):
    image, palette = fitted[0, space]
    labels = dither_labels(image, palette, method=method, space=space, scale=255.0)
    assert labels.shape == image.shape[:2]
    assert labels.dtype == np.int32
    assert labels.min() >= 0 and labels.max() < len(palette)
    # Dithering mixes colours: more of the palette is used than not.
    assert len(np.unique(labels)) >= len(
        np.unique(nearest_labels(image, palette, space=space, scale=255.0))
    )


@pytest.mark.parametrize("method", DITHER_METHODS)
@pytest.mark.parametrize("space", SPACES)
def test_dithering_lowers_blurred_delta_e(fitted, undithered, method, space):
    """Seen from a distance, the dithered images are closer to the originals.

    Averaged over the four photographs for every method; Floyd-Steinberg
    must also win on each one. (Where the undithered error is already small,
    sparse dots can cost more than they give: the blur does not melt them.)
    """
    plain, dithered = [], []
    for photo in range(4):
        image, palette = fitted[photo, space]
        reference, error = undithered[photo, space]
        plain.append(error)
        labels = dither_labels(image, palette, method=method, space=space, scale=255.0)
        dithered.append(blurred_delta_e(image, palette, labels, reference))
    assert np.mean(dithered) < 0.98 * np.mean(plain)
    if method == "floyd-steinberg":
        assert np.all(np.array(dithered) < np.array(plain))


# %% flat grey with black and white -----------------------------------------------

# Kernels that pass on all of the error; Atkinson keeps a quarter back.
FULL_ERROR = [m for m in ERROR_DIFFUSION_KERNELS if m != "atkinson"] + ["bayer"]


@pytest.mark.parametrize("method", FULL_ERROR)
@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("code", [188, 128, 60])
def test_grey_coverage_matches_linear_light(method, space, code):
    """White covers the fraction of the grey's linear-light value."""
    grey = np.full((64, 64, 3), code, dtype=np.uint8)
    labels = dither_labels(grey, BLACK_WHITE, method=method, space=space, scale=255.0)
    target = float(_color.srgb_u8_to_linear_table()[code])
    assert labels.mean() == pytest.approx(target, abs=0.02)


@pytest.mark.parametrize("space", SPACES)
def test_mid_grey_is_half_white(space):
    grey = np.full((64, 64, 3), 188, dtype=np.uint8)  # linear light 0.503
    for method in ("floyd-steinberg", "bayer"):
        labels = dither_labels(
            grey, BLACK_WHITE, method=method, space=space, scale=255.0
        )
        assert labels.mean() == pytest.approx(0.5, abs=0.01)
        # No large blobs: every 8 x 8 tile holds both colours.
        tiles = labels.reshape(8, 8, 8, 8).mean(axis=(1, 3))
        assert tiles.min() > 0.25 and tiles.max() < 0.75


def test_atkinson_on_grey_stays_close():
    grey = np.full((64, 64, 3), 188, dtype=np.uint8)
    labels = dither_labels(
        grey, BLACK_WHITE, method="atkinson", space="rgb", scale=255.0
    )
    assert 0.4 < labels.mean() < 0.7


def test_bayer_pattern_tiles():
    """Ordered dithering of a flat colour repeats with the 8 x 8 matrix."""
    grey = np.full((32, 48, 3), 150, dtype=np.uint8)
    labels = dither_labels(grey, BLACK_WHITE, method="bayer", space="lab", scale=255.0)
    np.testing.assert_array_equal(labels[:8, :8], labels[8:16, 16:24])
    assert sorted(np.unique(BAYER_8X8 * 64 - 0.5).astype(int)) == list(range(64))


# %% determinism, inputs, dtypes -------------------------------------------------


@pytest.mark.parametrize("method", ["floyd-steinberg", "sierra", "bayer"])
def test_deterministic_and_input_untouched(fitted, method):
    image, palette = fitted[1, "lab"]
    image_copy, palette_copy = image.copy(), palette.copy()
    first = dither_labels(
        image, palette, method=method, space="lab", scale=255.0, random_state=0
    )
    second = dither_labels(
        image, palette, method=method, space="lab", scale=255.0, random_state=1
    )
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(image, image_copy)
    np.testing.assert_array_equal(palette, palette_copy)


def test_non_contiguous_input(fitted):
    image, palette = fitted[2, "oklab"]
    flipped = image[:, ::-1]
    labels = dither_labels(
        flipped, palette, method="floyd-steinberg", space="oklab", scale=255.0
    )
    expected = dither_labels(
        flipped.copy(), palette, method="floyd-steinberg", space="oklab", scale=255.0
    )
    np.testing.assert_array_equal(labels, expected)


# Each (dtype, space) pair compiles the Floyd-Steinberg kernel anew (5-10 s):
# the dtypes' code (tables, decoding) does not depend on the space, nor the
# spaces' on the dtype. 'rgb' runs every dtype and 'din99o' one other than
# uint8 in the fast suite; the rest run with -m slow.
ALL_DTYPES = ("uint8", "uint16", "float32", "float64")
DTYPE_SPACES = [
    pytest.param("rgb", ALL_DTYPES, id="rgb"),
    pytest.param("din99o", ("uint8", "float32"), id="din99o"),
    pytest.param("din99o", ALL_DTYPES, marks=pytest.mark.slow, id="din99o-all"),
    *(
        pytest.param(space, ALL_DTYPES, marks=pytest.mark.slow, id=space)
        for space in SPACES
        if space not in ("rgb", "din99o")
    ),
]


@pytest.mark.parametrize(("space", "dtypes"), DTYPE_SPACES)
@pytest.mark.parametrize("method", ["floyd-steinberg", "bayer"])
def test_dtypes(fitted, space, dtypes, method):
    """uint8, uint16 and float images of the same picture dither alike."""
    image, palette = fitted[3, space]
    versions = {
        "uint8": (image, palette, 255.0),
        "uint16": (
            image.astype(np.uint16) * 257,
            palette.astype(np.uint16) * 257,
            65535.0,
        ),
        "float32": (
            image.astype(np.float32) / 255,
            palette.astype(np.float32) / 255,
            1.0,
        ),
        "float64": (image / 255.0, palette / 255.0, 1.0),
    }
    versions = {name: versions[name] for name in dtypes}
    reference = None
    for name, (img, pal, scale) in versions.items():
        labels = dither_labels(img, pal, method=method, space=space, scale=scale)
        assert labels.min() >= 0 and labels.max() < len(pal), name
        if reference is None:
            reference = labels
            reference_error = blurred_delta_e(image, palette, labels)
            continue
        # Error diffusion is chaotic: tiny rounding differences move dots
        # around, but the picture seen from a distance is the same.
        error = blurred_delta_e(image, palette, labels)
        assert error == pytest.approx(reference_error, rel=0.1), name
        if method == "bayer":
            assert np.mean(labels == reference) > 0.99, name


@pytest.mark.parametrize("method", ["floyd-steinberg", "bayer"])
def test_other_dtypes_dither_as_their_values(fitted, method):
    """float16 (which numba cannot read: it raised NotImplementedError) and
    integer dtypes without a kernel of their own dither as the same values
    in a kernel dtype: float32 for float16, float64 otherwise."""
    image, palette = fitted[3, "rgb"]
    half = (image / 255).astype(np.float16)
    labels = dither_labels(half, palette / 255, method=method, space="rgb", scale=1.0)
    expected = dither_labels(
        half.astype(np.float32), palette / 255, method=method, space="rgb", scale=1.0
    )
    np.testing.assert_array_equal(labels, expected)
    wide = image.astype(np.int32)
    labels = dither_labels(wide, palette, method=method, space="rgb", scale=255.0)
    expected = dither_labels(
        image.astype(np.float64), palette, method=method, space="rgb", scale=255.0
    )
    np.testing.assert_array_equal(labels, expected)


def test_float_rgb_out_of_range_is_dithered_as_given():
    """'rgb' values that cannot be sRGB in [0, scale] diffuse in their units."""
    rng = np.random.default_rng(0)
    image = rng.normal(size=(32, 32, 3)) * 100
    palette = rng.normal(size=(8, 3)) * 100
    labels = dither_labels(
        image, palette, method="floyd-steinberg", space="rgb", scale=1.0
    )
    assert labels.min() >= 0 and labels.max() < 8
    expected = dither_labels(
        image, palette, method="floyd-steinberg", space="rgb", scale=None
    )
    np.testing.assert_array_equal(labels, expected)


# %% palettes and channel counts --------------------------------------------------


@pytest.mark.parametrize("method", DITHER_METHODS)
def test_one_colour_palette(fitted, method):
    image, palette = fitted[0, "lab"]
    labels = dither_labels(image, palette[:1], method=method, space="lab", scale=255.0)
    assert labels.shape == image.shape[:2]
    assert not labels.any()


@pytest.mark.parametrize("method", DITHER_METHODS)
def test_grayscale(astronaut, method):
    gray = crop(astronaut)[..., 1:2].copy()  # (H, W, 1) uint8
    palette = np.array([[0], [85], [170], [255]], dtype=np.uint8)
    labels = dither_labels(gray, palette, method=method, space="rgb", scale=255.0)
    assert labels.shape == gray.shape[:2]
    assert labels.min() >= 0 and labels.max() < 4
    out = palette[labels].astype(float)
    # Diffused in the input's units: local means follow the image.
    mean = lambda a: gaussian(a, sigma=2.0, channel_axis=-1)  # noqa: E731
    plain = palette[nearest_labels(gray, palette, space="rgb", scale=255.0)]
    assert (
        np.abs(mean(out) - mean(gray.astype(float))).mean()
        < np.abs(mean(plain.astype(float)) - mean(gray.astype(float))).mean()
    )


def test_four_channels_in_input_units():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(20, 30, 4), dtype=np.uint8)
    palette = rng.integers(0, 256, size=(6, 4), dtype=np.uint8)
    labels = dither_labels(
        image, palette, method="floyd-steinberg", space="rgb", scale=255.0
    )
    assert labels.min() >= 0 and labels.max() < 6
    assert len(np.unique(labels)) > 1


def test_empty_image():
    image = np.zeros((0, 5, 3), dtype=np.uint8)
    labels = dither_labels(
        image, BLACK_WHITE, method="floyd-steinberg", space="lab", scale=255.0
    )
    assert labels.shape == (0, 5) and labels.dtype == np.int32


# %% errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "ordered"}, "method must be one of"),
        ({"space": "hsv"}, "space must be one of"),
        ({"scale": None, "space": "lab"}, "needs the full-scale value"),
        ({"scale": -1.0}, "scale must be finite and > 0"),
    ],
)
def test_bad_arguments(kwargs, match):
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    params = {"method": "floyd-steinberg", "space": "rgb", "scale": 255.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        dither_labels(image, BLACK_WHITE, **params)


def test_bad_shapes():
    with pytest.raises(ValueError, match="needs 3-channel"):
        dither_labels(
            np.zeros((4, 4, 2)),
            np.zeros((2, 2)),
            method="bayer",
            space="oklab",
            scale=1.0,
        )
    with pytest.raises(ValueError, match="palette must have shape"):
        dither_labels(
            np.zeros((4, 4, 3)),
            np.zeros((2, 4)),
            method="bayer",
            space="rgb",
            scale=1.0,
        )
    with pytest.raises(ValueError, match=r"shape \(H, W, C\)"):
        dither_labels(
            np.zeros((4, 3)), np.zeros((2, 3)), method="bayer", space="rgb", scale=1.0
        )


# %% bands and threads -----------------------------------------------------------


def test_bands_do_not_depend_on_threads(china):
    """Error diffusion runs in fixed bands: threads do not change the result."""
    image = china[:300, :200]  # two bands of rows
    palette = ColorQuantizer(8, color_space="lab", random_state=0).fit(image).palette_
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = dither_labels(
            image, palette, method="floyd-steinberg", space="lab", scale=255.0
        )
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = dither_labels(
            image, palette, method="floyd-steinberg", space="lab", scale=255.0
        )
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(one, two)


def test_bands_leave_no_seam(china, monkeypatch):
    """Bands with warm-up rows dither as well as one sequential pass."""
    image = china[:, :256]
    palette = ColorQuantizer(8, color_space="lab", random_state=0).fit(image).palette_
    banded = dither_labels(
        image, palette, method="floyd-steinberg", space="lab", scale=255.0
    )
    seam = _dither.diffusion_band_rows(image.shape[0])
    monkeypatch.setattr(_dither, "DIFFUSION_BAND_ROWS", 1 << 20)
    single = dither_labels(
        image, palette, method="floyd-steinberg", space="lab", scale=255.0
    )
    # Identical above the first seam, and as good overall.
    np.testing.assert_array_equal(banded[:seam], single[:seam])
    assert blurred_delta_e(image, palette, banded) == pytest.approx(
        blurred_delta_e(image, palette, single), rel=0.02
    )
    # Rows around the seam are no worse than in one pass.
    reference = blurred_lab(image)
    rows = slice(seam - 4, seam + 4)
    error_banded = deltaE_ciede2000(reference, blurred_lab(palette[banded]))[rows]
    error_single = deltaE_ciede2000(reference, blurred_lab(palette[single]))[rows]
    assert error_banded.mean() < 1.1 * error_single.mean()


def test_float_palette_rounding_overshoot_is_still_srgb(fitted):
    """A float palette a hair above 1.0 is still sRGB: linear-light path."""
    image, palette = fitted[0, "rgb"]
    image_f = image / 255.0
    palette_f = palette / 255.0
    palette_f[palette_f == palette_f.max()] += 1e-9
    nudged = dither_labels(
        image_f, palette_f, method="floyd-steinberg", space="rgb", scale=1.0
    )
    as_given = dither_labels(
        image_f, palette_f, method="floyd-steinberg", space="rgb", scale=None
    )
    exact = dither_labels(
        image_f, palette / 255.0, method="floyd-steinberg", space="rgb", scale=1.0
    )
    # Same path as the exact palette (error diffusion may move a few dots),
    # not the input-units one.
    assert blurred_delta_e(image, palette, nudged) == pytest.approx(
        blurred_delta_e(image, palette, exact), rel=0.05
    )
    assert np.mean(nudged == exact) > np.mean(nudged == as_given)


@pytest.mark.parametrize("method", ["floyd-steinberg", "bayer"])
@pytest.mark.parametrize("space", ["rgb", "oklab"])
def test_dither_map_equals_labels_then_colours(method, space, astronaut):
    from skquant._kernels import dither_map

    image = astronaut[:300, :200]
    palette = ColorQuantizer(n_colors=8, random_state=0).fit(image).palette_
    args = {"method": method, "space": space, "scale": 255.0}
    labels = dither_labels(image, palette, **args)
    mapped = dither_map(image, palette, palette, **args)
    assert mapped.dtype == palette.dtype and mapped.shape == image.shape
    np.testing.assert_array_equal(mapped, palette[labels])


def test_read_only_and_writable_images_share_one_compiled_kernel(china):
    """numba types read-only arrays apart: the kernels get one of them, and
    the caller's array keeps its flags."""
    from skquant._kernels._diffusion import _fs_rows

    image = np.ascontiguousarray(china[:48, :64])
    frozen = image.copy()
    frozen.flags.writeable = False
    palette = np.array([[0, 0, 0], [255, 255, 255], [200, 40, 40]], np.float64)
    options = {"method": "floyd-steinberg", "space": "rgb", "scale": 255.0}
    labels = dither_labels(image, palette, **options)
    compiled = len(_fs_rows.signatures)
    np.testing.assert_array_equal(dither_labels(frozen, palette, **options), labels)
    assert len(_fs_rows.signatures) == compiled
    assert image.flags.writeable and not frozen.flags.writeable
