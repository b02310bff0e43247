"""Image files: read_image and write_image, round trips, modes, EXIF
orientation, hostile and broken files."""

import os

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from skquant.io import (
    read_image,
    write_image,
)
from tests.io._formats import (
    ORIENTATION_TRANSPOSE,
    folder_listing,
    png_claiming,
    with_exif_orientation,
)


def test_rgb_png_round_trip(tmp_path, astro):
    path = tmp_path / "astronaut.png"
    write_image(path, astro)
    back = read_image(path)
    assert back.dtype == np.uint8
    assert back.flags.writeable
    np.testing.assert_array_equal(back, astro)


def test_jpeg_round_trip_is_close(tmp_path, china_photo):
    path = tmp_path / "china.JPG"
    write_image(path, china_photo)
    back = read_image(path)
    assert back.shape == china_photo.shape
    assert back.dtype == np.uint8
    assert np.abs(back.astype(int) - china_photo).mean() < 8  # quality 75


def test_rgba_round_trip(tmp_path, astro):
    alpha = np.linspace(0, 255, astro.shape[1]).astype(np.uint8)
    rgba = np.dstack([astro, np.broadcast_to(alpha, astro.shape[:2])])
    for name in ("rgba.png", "rgba.webp", "rgba.tiff"):
        write_image(tmp_path / name, rgba)
        back = read_image(tmp_path / name)
        assert back.shape == rgba.shape
        if name != "rgba.webp":  # lossy
            np.testing.assert_array_equal(back, rgba)


def test_gray_round_trip(tmp_path):
    camera = data.camera()
    write_image(tmp_path / "camera.png", camera)
    back = read_image(tmp_path / "camera.png")
    assert back.shape == (*camera.shape, 1)
    np.testing.assert_array_equal(back[:, :, 0], camera)
    write_image(tmp_path / "camera1.png", camera[:, :, np.newaxis])
    np.testing.assert_array_equal(read_image(tmp_path / "camera1.png"), back)


@pytest.mark.parametrize("n_channels", [1, 3, 4])
def test_uint16_png_round_trip(tmp_path, astro, n_channels):
    rng = np.random.default_rng(n_channels)
    base = np.dstack([astro, astro[:, :, :1]])[:, :, :n_channels]
    low_bits = rng.integers(0, 256, base.shape)
    image16 = (base.astype(np.uint32) * 256 + low_bits).astype(np.uint16)
    path = tmp_path / "deep.png"
    write_image(path, image16)
    with Image.open(path) as im:  # a real 16-bit file: check the header
        assert path.read_bytes()[24] == 16
        assert im.size == (512, 512)
    back = read_image(path)
    assert back.dtype == np.uint16
    assert back.shape == image16.shape
    np.testing.assert_array_equal(back, image16)


def test_read_uint16_rgb_png_written_by_opencv(tmp_path, astro):
    rgb16 = (astro.astype(np.uint16) * 257)[::2, ::3]
    rgb16[0, 0] = [1, 2, 3]  # values that do not survive 8 bits
    path = tmp_path / "cv.png"
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb16[:, :, ::-1]))
    back = read_image(path)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, rgb16)


def test_uint16_downscaled_for_8_bit_formats(tmp_path, astro):
    image16 = astro.astype(np.uint16) * 257
    image16[0, 0] = [128, 129, 65535]
    write_image(tmp_path / "down.tif", image16)
    back = read_image(tmp_path / "down.tif")
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back[1:], astro[1:])
    np.testing.assert_array_equal(back[0, 0], [0, 1, 255])


def test_float_images_are_scaled(tmp_path, astro):
    image = astro / 255.0
    write_image(tmp_path / "f.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "f.png"), astro)
    write_image(tmp_path / "f32.png", image.astype(np.float32)[:, :, 0])
    np.testing.assert_array_equal(
        read_image(tmp_path / "f32.png")[:, :, 0], astro[:, :, 0]
    )


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (
            np.zeros((4, 4, 2), np.uint8),
            r"n_channels in \(1, 3, 4\), got shape \(4, 4, 2\)",
        ),
        (np.zeros((4,), np.uint8), r"got shape \(4,\)"),
        (np.zeros((0, 4, 3), np.uint8), "image is empty"),
        (np.zeros((4, 4, 3), np.int64), "dtype int64 is not supported"),
        (np.full((4, 4, 3), 2.0), r"\[0, 1\], got min=2, max=2"),
        (np.full((4, 4, 3), np.inf), "NaN or infinite"),
    ],
)
def test_write_image_rejects_bad_arrays(tmp_path, image, match):
    with pytest.raises(ValueError, match=match):
        write_image(tmp_path / "bad.png", image)
    assert folder_listing(tmp_path) == []


def test_write_image_format_errors(tmp_path, astro):
    with pytest.raises(ValueError, match=r"unsupported image file extension '\.xyz'"):
        write_image(tmp_path / "a.xyz", astro)
    rgba = np.dstack([astro, astro[:, :, 0]])
    with pytest.raises(
        ValueError, match=r"JPEG cannot store a mode 'RGBA'.*\[\.\.\., :3\]"
    ):
        write_image(tmp_path / "a.jpg", rgba)
    assert folder_listing(tmp_path) == []


def test_read_image_modes(tmp_path, astro):
    write_image(tmp_path / "a.png", astro)
    gray = read_image(tmp_path / "a.png", mode="gray")
    expected = np.rint(astro @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    assert gray.shape == (512, 512, 1)
    assert np.abs(gray[:, :, 0].astype(int) - expected).max() <= 1
    rgba = read_image(tmp_path / "a.png", mode="rgba")
    np.testing.assert_array_equal(rgba[:, :, :3], astro)
    assert (rgba[:, :, 3] == 255).all()
    write_image(tmp_path / "g.png", astro[:, :, 1])
    np.testing.assert_array_equal(
        read_image(tmp_path / "g.png", mode="rgb"), np.repeat(astro[:, :, 1:2], 3, 2)
    )
    write_image(tmp_path / "g16.png", astro[:, :, 1].astype(np.uint16) * 257)
    rgba16 = read_image(tmp_path / "g16.png", mode="rgba")
    assert rgba16.dtype == np.uint16
    assert (rgba16[:, :, 3] == 65535).all()
    np.testing.assert_array_equal(
        rgba16[:, :, 2], astro[:, :, 1].astype(np.uint16) * 257
    )
    with pytest.raises(ValueError, match="mode must be None.*got 'RGB'"):
        read_image(tmp_path / "a.png", mode="RGB")


def test_palette_images_become_rgb_or_rgba(tmp_path, astro):
    quantized = Image.fromarray(astro).quantize(32)
    quantized.save(tmp_path / "p.png")
    rgb = read_image(tmp_path / "p.png")
    np.testing.assert_array_equal(rgb, np.array(quantized.convert("RGB")))
    quantized.save(tmp_path / "p.gif")
    assert read_image(tmp_path / "p.gif").shape == (512, 512, 3)
    quantized.save(tmp_path / "pt.png", transparency=bytes([0, 128] + [255] * 30))
    rgba = read_image(tmp_path / "pt.png")
    assert rgba.shape == (512, 512, 4)
    labels = np.array(quantized)
    np.testing.assert_array_equal(rgba[:, :, 3][labels == 1], 128)
    np.testing.assert_array_equal(rgba[:, :, 3][labels == 0], 0)
    np.testing.assert_array_equal(rgba[:, :, 3][labels > 1], 255)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_png(tmp_path, china_photo, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(china_photo).save(tmp_path / "o.png", exif=exif)
    method = ORIENTATION_TRANSPOSE[orientation]
    expected = Image.fromarray(china_photo)
    if method is not None:
        expected = expected.transpose(method)
    np.testing.assert_array_equal(read_image(tmp_path / "o.png"), np.array(expected))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_uint16_rgb_png(tmp_path, china_photo, orientation):
    image16 = china_photo.astype(np.uint16) * 257
    ok, encoded = cv2.imencode(".png", image16[:, :, ::-1])
    assert ok
    path = tmp_path / "o16.png"
    path.write_bytes(with_exif_orientation(encoded.tobytes(), orientation))
    method = ORIENTATION_TRANSPOSE[orientation]
    expected = Image.fromarray(china_photo)
    if method is not None:
        expected = expected.transpose(method)
    back = read_image(path)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, np.array(expected).astype(np.uint16) * 257)


def test_exif_orientation_jpeg(tmp_path, china_photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90 degrees clockwise
    Image.fromarray(china_photo).save(tmp_path / "plain.jpg", quality=95)
    Image.fromarray(china_photo).save(tmp_path / "turned.jpg", quality=95, exif=exif)
    plain = read_image(tmp_path / "plain.jpg")
    turned = read_image(tmp_path / "turned.jpg")
    assert turned.shape == (640, 427, 3)
    np.testing.assert_array_equal(turned, np.rot90(plain, -1))


# =============================================================================
# Hostile and broken files
# =============================================================================


def test_decompression_bomb_is_a_value_error(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(100_000, 100_000))
    with pytest.raises(ValueError, match="claims 10000000000 pixels.*max_pixels"):
        read_image(path)
    with pytest.raises(ValueError, match="Pillow's limit.*MAX_IMAGE_PIXELS"):
        read_image(path, max_pixels=None)


def test_pillow_size_warning_does_not_leak(tmp_path):
    # Above Pillow's warning threshold but below its hard limit: Pillow would
    # warn (an error in this test suite); we refuse by max_pixels instead.
    width = height = 10_000
    assert width * height > Image.MAX_IMAGE_PIXELS
    path = tmp_path / "big.png"
    path.write_bytes(png_claiming(width, height))
    with pytest.raises(ValueError, match=r"claims 10000x10000 = 100000000 pixels"):
        read_image(path, max_pixels=10**6)


def test_max_pixels_on_a_real_photo(tmp_path, astro):
    write_image(tmp_path / "a.png", astro)
    with pytest.raises(ValueError, match=r"512x512 = 262144 pixels.*max_pixels=1000"):
        read_image(tmp_path / "a.png", max_pixels=1000)
    assert read_image(tmp_path / "a.png", max_pixels=512 * 512).shape == astro.shape
    for bad in (0, -5, 1.5, True, "10"):
        with pytest.raises(ValueError, match="max_pixels must be a positive integer"):
            read_image(tmp_path / "a.png", max_pixels=bad)


@pytest.mark.parametrize("name", ["cut.png", "cut.jpg", "cut16.png"])
def test_truncated_file(tmp_path, astro, name):
    image = astro.astype(np.uint16) * 257 if name == "cut16.png" else astro
    whole = tmp_path / ("whole" + os.path.splitext(name)[1])
    write_image(whole, image)
    raw = whole.read_bytes()
    path = tmp_path / name
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=f"cannot read image '.*{name}': .*truncated"):
        read_image(path)


def test_corrupt_pixel_data(tmp_path, astro):
    write_image(tmp_path / "a.png", astro)
    raw = bytearray((tmp_path / "a.png").read_bytes())
    raw[200:400] = bytes(200)
    (tmp_path / "bad.png").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="cannot read image '.*bad.png'"):
        read_image(tmp_path / "bad.png")


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(
        ValueError, match=r"cannot read image '.*empty.png': the file is empty"
    ):
        read_image(tmp_path / "empty.png")


def test_text_file_named_png(tmp_path):
    (tmp_path / "notes.png").write_text("this is not an image\n")
    with pytest.raises(
        ValueError, match=r"cannot read image '.*notes.png': not a recognised image"
    ):
        read_image(tmp_path / "notes.png")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "missing.png")


@pytest.mark.parametrize("ext", ["png", "gif"])
@pytest.mark.parametrize("n_colors", [2, 16, 256])
def test_indexed_files_read_as_pillow_converts_them(tmp_path, astronaut, ext, n_colors):
    # opaque indexed images are looked up in their palette strip by strip

    path = tmp_path / f"indexed.{ext}"
    Image.fromarray(astronaut).quantize(n_colors).save(path)
    with Image.open(path) as im:
        assert im.mode == "P"
        expected = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(read_image(path), expected)


def test_indexed_file_with_a_short_palette(tmp_path):

    im = Image.fromarray((np.arange(12, dtype=np.uint8) % 3).reshape(3, 4), "P")
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    im.save(tmp_path / "three.png")
    with Image.open(tmp_path / "three.png") as back:
        expected = np.asarray(back.convert("RGB"))
    np.testing.assert_array_equal(read_image(tmp_path / "three.png"), expected)
