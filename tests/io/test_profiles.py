"""ICC profiles: which ones are sRGB, conversions checked against ImageCms
itself, and 16-bit PNGs that keep their profile."""

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from skquant.io import read_image, write_image
from skquant.io._profiles import convert_colors, profile_of
from tests.io._profiles import WIDE_GAMUT

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC


def imagecms(rgb, source, target):
    """The oracle: Pillow's profile-to-profile conversion of an RGB image."""
    im = ImageCms.profileToProfile(
        Image.fromarray(rgb), source, target, renderingIntent=INTENT
    )
    return np.asarray(im)


def test_profile_kinds():
    assert profile_of(SRGB.tobytes())[0] == "srgb"
    kind, profile, name = profile_of(WIDE_GAMUT)
    assert kind == "rgb" and "wide-gamut" in name
    assert profile.profile.is_matrix_shaper
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    assert profile_of(lab)[0] == "other" and "(Lab)" in profile_of(lab)[2]
    assert profile_of(b"not a profile")[0] == "unreadable"


def test_the_test_profile_is_adobe_rgb():
    # Published: sRGB's primaries in Adobe RGB (1998) are (219, 0, 0),
    # (144, 255, 60) and (0, 0, 250) at 8 bits.
    primaries = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    wide = ImageCms.ImageCmsProfile(io.BytesIO(WIDE_GAMUT))
    np.testing.assert_allclose(
        imagecms(primaries, SRGB, wide)[0],
        [[219, 0, 0], [144, 255, 60], [0, 0, 250]],
        atol=1,
    )


def test_convert_colors_is_imagecms(china_photo):
    wide = ImageCms.ImageCmsProfile(io.BytesIO(WIDE_GAMUT))
    photo = china_photo[::2, ::2]
    converted = convert_colors(photo, WIDE_GAMUT, to_srgb=True)
    np.testing.assert_array_equal(converted, imagecms(photo, wide, SRGB))
    assert not np.array_equal(converted, photo)
    back = convert_colors(photo, WIDE_GAMUT, to_srgb=False)
    np.testing.assert_array_equal(back, imagecms(photo, SRGB, wide))
    # A palette (n_colors, 4): alpha kept, the colours as in the image.
    palette = np.dstack([photo, np.full(photo.shape[:2], 7, np.uint8)])[0]
    out = convert_colors(palette, WIDE_GAMUT, to_srgb=True)
    assert out.shape == palette.shape and (out[:, 3] == 7).all()
    np.testing.assert_array_equal(out[:, :3], converted[0])
    # uint16: converted at 8 bits, scaled back.
    deep = photo.astype(np.uint16) * 257
    out16 = convert_colors(deep, WIDE_GAMUT, to_srgb=True)
    assert out16.dtype == np.uint16
    np.testing.assert_array_equal(out16, converted.astype(np.uint16) * 257)
    assert np.array_equal(photo, china_photo[::2, ::2])  # input untouched


@pytest.mark.parametrize("n_channels", [3, 4])
def test_16bit_png_keeps_its_profile(tmp_path, china_photo, n_channels):
    deep = china_photo[:64, :80].astype(np.uint16) * 257 + 3
    if n_channels == 4:
        deep = np.dstack([deep, np.full(deep.shape[:2], 40000, np.uint16)])
    path = tmp_path / "deep.png"
    write_image(path, deep, metadata={"icc_profile": WIDE_GAMUT})
    with Image.open(path) as im:
        assert im.info.get("icc_profile") == WIDE_GAMUT
    np.testing.assert_array_equal(read_image(path), deep)
