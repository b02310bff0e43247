"""Colour spaces, dithering and transparency through ColorQuantizer."""

import numpy as np
import pytest
from skimage.filters import gaussian

from skquant import ColorQuantizer
from skquant.metrics import mean_delta_e
from tests.conftest import psnr


def blurred(image):
    return gaussian(image.astype(np.float64) / 255, sigma=1.5, channel_axis=-1)


def test_lab_lowers_delta_e_oklab_keeps_psnr(photos):
    for photo in photos[:2]:
        rgb = ColorQuantizer(16, random_state=0).fit_transform(photo)
        lab = ColorQuantizer(16, color_space="lab", random_state=0).fit_transform(photo)
        oklab = ColorQuantizer(16, color_space="oklab", random_state=0)
        out = oklab.fit_transform(photo)
        assert out.dtype == np.uint8 and out.shape == photo.shape
        assert oklab.palette_.dtype == np.uint8
        assert mean_delta_e(photo, lab) < mean_delta_e(photo, rgb)
        assert psnr(photo, out) > psnr(photo, rgb) - 1.5


@pytest.mark.parametrize("space", ["rgb", "lab", "oklab", "din99o"])
def test_labels_nearest_in_working_space(space, coffee):
    from skquant import _color

    q = ColorQuantizer(24, color_space=space, random_state=0).fit(coffee)
    pixels = coffee.reshape(-1, 3)[::50]
    labels = q.predict(pixels)
    work = _color.to_working(pixels / 255.0, space)
    pal = _color.to_working(q.palette_ / 255.0, space)
    d2 = ((work[:, None] - pal[None]) ** 2).sum(-1)
    np.testing.assert_allclose(d2[np.arange(len(labels)), labels], d2.min(1), atol=1e-6)


@pytest.mark.parametrize("space", ["lab", "oklab", "din99o"])
def test_perceptual_space_float_and_uint16(space, astronaut):
    for image in (astronaut / 255.0, (astronaut.astype(np.uint16) * 257)):
        q = ColorQuantizer(8, color_space=space, random_state=0).fit(image)
        out = q.transform(image)
        assert out.dtype == image.dtype
        scale = 1.0 if image.dtype.kind == "f" else 65535
        assert psnr(image, out, data_range=scale) > 20


def test_perceptual_space_needs_colour_data():
    with pytest.raises(ValueError, match="needs RGB or RGBA"):
        ColorQuantizer(4, color_space="lab").fit(
            np.random.default_rng(0).random((50, 2))
        )
    with pytest.raises(ValueError, match="colour scale"):
        ColorQuantizer(4, color_space="lab").fit(np.arange(300).reshape(100, 3))


@pytest.mark.parametrize(
    "method", ["floyd-steinberg", "atkinson", "jarvis-judice-ninke", "sierra", "bayer"]
)
def test_dithering_palette_only_and_closer_when_blurred(method, astronaut):
    crop = astronaut[:256, :256]
    plain = ColorQuantizer(8, random_state=0).fit(crop)
    dithered = ColorQuantizer(8, dither=method, random_state=0).fit(crop)
    out = dithered.transform(crop)
    np.testing.assert_array_equal(dithered.palette_, plain.palette_)
    colours = {tuple(c) for c in out.reshape(-1, 3)}
    assert colours <= {tuple(c) for c in dithered.palette_}
    np.testing.assert_array_equal(dithered.palette_[dithered.predict(crop)], out)
    err_plain = np.abs(blurred(plain.transform(crop)) - blurred(crop)).mean()
    err_dither = np.abs(blurred(out) - blurred(crop)).mean()
    assert err_dither < err_plain


def test_dithering_on_batch_and_list(china, flower):
    q = ColorQuantizer(8, dither="floyd-steinberg", random_state=0).fit(china)
    batch = np.stack([china, flower])
    out = q.transform(batch)
    np.testing.assert_array_equal(out[1], q.transform(flower))
    listed = q.transform([flower, china[:100]])
    np.testing.assert_array_equal(listed[0], out[1])
    # pixel arrays have no neighbours: nearest colour, no dithering
    pixels = flower.reshape(-1, 3)
    undithered = ColorQuantizer(8, random_state=0).fit(china)
    np.testing.assert_array_equal(q.transform(pixels), undithered.transform(pixels))


def test_bad_dither():
    with pytest.raises(ValueError, match="dither must be None or one of"):
        ColorQuantizer(4, dither="random").fit(np.random.default_rng(0).random((50, 3)))


# %% transparency ---------------------------------------------------------------


@pytest.fixture(scope="module")
def rgba(astronaut):
    alpha = np.full(astronaut.shape[:2], 255, np.uint8)
    alpha[:100] = 0
    alpha[100:200] = 128
    return np.dstack([astronaut, alpha])


@pytest.mark.parametrize("space", ["rgb", "lab", "oklab", "din99o"])
def test_transparent_pixels_share_one_entry(space, rgba):
    q = ColorQuantizer(16, color_space=space, random_state=0).fit(rgba)
    assert q.n_colors_ == 16 and q.palette_.shape == (16, 4)
    np.testing.assert_array_equal(q.palette_[-1], [0, 0, 0, 0])
    assert np.all(q.palette_[:-1, 3] > 0)  # no other entry is wasted on them
    out = q.transform(rgba)
    assert out.shape == rgba.shape and out.dtype == np.uint8
    assert np.all(out[:100] == 0)
    assert np.all(q.predict(rgba)[:100] == 15)
    # half-transparent pixels keep their opacity, opaque ones stay opaque
    np.testing.assert_array_equal(np.unique(out[100:200, :, 3]), [128])
    np.testing.assert_array_equal(np.unique(out[200:, :, 3]), [255])


def test_transparent_rgb_kept_when_asked(rgba):
    q = ColorQuantizer(8, keep_transparent_rgb=True, random_state=0).fit(rgba)
    out = q.transform(rgba)
    np.testing.assert_array_equal(out[:100, :, :3], rgba[:100, :, :3])
    assert np.all(out[:100, :, 3] == 0)


def test_opaque_rgba_has_no_transparent_entry(astronaut):
    image = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    q = ColorQuantizer(8, random_state=0).fit(image)
    assert np.all(q.palette_[:, 3] == 255) and q.n_colors_ == 8


def test_fully_transparent_image():
    image = np.zeros((10, 10, 4), np.uint8)
    image[..., 0] = 200
    q = ColorQuantizer(4).fit(image)
    np.testing.assert_array_equal(q.palette_, [[0, 0, 0, 0]])
    assert np.all(q.transform(image) == 0)


def test_rgba_pixels_are_plain_features_unless_asked(rgba):
    pixels = rgba.reshape(-1, 4)
    q = ColorQuantizer(8, random_state=0).fit(pixels)
    assert not np.all(q.palette_[-1] == 0)
    q = ColorQuantizer(8, alpha=True, random_state=0).fit(pixels)
    np.testing.assert_array_equal(q.palette_[-1], [0, 0, 0, 0])


def test_rgba_with_dither_is_refused(rgba):
    with pytest.raises(ValueError, match="not applied to images with alpha"):
        ColorQuantizer(4, dither="floyd-steinberg").fit(rgba)


def test_grayscale_image(astronaut):
    gray = (astronaut @ [0.299, 0.587, 0.114]).astype(np.uint8)[..., None]
    q = ColorQuantizer(6, random_state=0).fit(gray)
    out = q.transform(gray)
    assert out.shape == gray.shape and len(np.unique(out)) == 6
    assert psnr(gray, out) > 25
