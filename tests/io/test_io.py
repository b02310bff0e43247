"""Tests for skquant.io: palette files, image files, indexed PNG/GIF output."""

import json
import os
import stat
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import GifImagePlugin, Image
from skimage import data
from sklearn.datasets import load_sample_image

from skquant.io import (
    read_image,
    read_palette,
    write_animated_gif,
    write_image,
    write_indexed,
    write_palette,
)

# =============================================================================
# Fixtures and helpers
# =============================================================================

ORIENTATION_TRANSPOSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@pytest.fixture(scope="module")
def astro():
    return data.astronaut()


@pytest.fixture(scope="module")
def china_photo():
    return load_sample_image("china.jpg")


@pytest.fixture(scope="module")
def astro_quantized(astro):
    """Labels (512, 512) and a 64-colour uint8 palette of a real photo."""
    quantized = Image.fromarray(astro).quantize(64)
    labels = np.array(quantized)
    palette = np.array(quantized.getpalette()[: 64 * 3], np.uint8).reshape(64, 3)
    return labels, palette


@pytest.fixture
def gif_keeps_palette_mode(monkeypatch):
    """Make Pillow keep later GIF frames in mode "P" when the palette is shared."""
    monkeypatch.setattr(
        GifImagePlugin,
        "LOADING_STRATEGY",
        GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY,
    )


def png_chunk(kind, payload):
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_claiming(width, height):
    """A PNG whose IHDR claims a size its (tiny) pixel data does not have."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def with_exif_orientation(png_bytes, orientation):
    """Insert an eXIf chunk with the given orientation right after IHDR."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()
    payload = payload.removeprefix(b"Exif\x00\x00")
    end_of_ihdr = 8 + 4 + 4 + 13 + 4
    return (
        png_bytes[:end_of_ihdr] + png_chunk(b"eXIf", payload) + png_bytes[end_of_ihdr:]
    )


def gif_structure(raw):
    """Parse a GIF: (global colour table bytes, n_images, n_local_tables)."""
    assert raw[:6] in (b"GIF87a", b"GIF89a")
    flags = raw[10]
    pos = 13
    global_table = b""
    if flags & 0x80:
        size = 3 * (2 << (flags & 7))
        global_table = raw[pos : pos + size]
        pos += size
    n_images = n_local = 0
    while raw[pos] != 0x3B:
        if raw[pos] == 0x21:  # extension: label, then sub-blocks
            pos += 2
        elif raw[pos] == 0x2C:  # image descriptor
            n_images += 1
            image_flags = raw[pos + 9]
            pos += 10
            if image_flags & 0x80:
                n_local += 1
                pos += 3 * (2 << (image_flags & 7))
            pos += 1  # LZW minimum code size
        else:
            raise AssertionError(f"unexpected GIF block {raw[pos]:#x} at {pos}")
        while raw[pos]:
            pos += raw[pos] + 1
        pos += 1
    return global_table, n_images, n_local


def folder_listing(folder):
    return sorted(os.listdir(folder))


# =============================================================================
# Palette files
# =============================================================================

PALETTE_EXTENSIONS = [".gpl", ".json", ".hex", ".txt", ".act", ".GPL", ".Json"]


@pytest.mark.parametrize("ext", PALETTE_EXTENSIONS)
def test_palette_round_trip_keeps_order(tmp_path, astro_quantized, ext):
    _, palette = astro_quantized
    # Reversed order and duplicates must survive as they are.
    palette = np.vstack([palette[::-1], palette[:3], [[0, 0, 0], [255, 255, 255]]])
    path = tmp_path / f"astronaut{ext}"
    write_palette(path, palette)
    back = read_palette(path)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, palette)


@pytest.mark.parametrize("ext", [".gpl", ".json", ".hex", ".txt", ".act"])
def test_palette_single_colour_and_str_path(tmp_path, ext):
    path = str(tmp_path / f"one{ext}")
    write_palette(path, [[12, 34, 56]])
    np.testing.assert_array_equal(read_palette(path), [[12, 34, 56]])


def test_gpl_layout_and_name(tmp_path):
    path = tmp_path / "p.gpl"
    write_palette(path, np.array([[255, 0, 0], [0, 128, 255]], np.uint8), name="Hot")
    lines = path.read_text().splitlines()
    assert lines[:2] == ["GIMP Palette", "Name: Hot"]
    assert lines[-1] == "  0 128 255\t#0080ff"
    write_palette(path, [[1, 2, 3]])
    assert path.read_text().splitlines()[1] == "Name: p"


def test_read_gpl_written_by_hand(tmp_path):
    path = tmp_path / "hand.gpl"
    path.write_text(
        "\ufeffGIMP Palette\r\n"
        "Name: Hand made\r\n"
        "Columns: 4\r\n"
        "# a comment\r\n"
        "\r\n"
        "255   0   0\tRed\r\n"
        "  0 255   0 Green with spaces\r\n"
        "0 0 255\r\n",
        encoding="utf-8",
        newline="",
    )
    np.testing.assert_array_equal(
        read_palette(path), [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    )


def test_read_hex_variants(tmp_path):
    path = tmp_path / "lospec.HEX"
    path.write_text("; comment\n// another\n\n#FF8800\n  2a1b3c  \n")
    np.testing.assert_array_equal(read_palette(path), [[255, 136, 0], [42, 27, 60]])


def test_read_json_variants(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(["#ff0000", "00ff00"]))
    np.testing.assert_array_equal(read_palette(path), [[255, 0, 0], [0, 255, 0]])
    path.write_text(json.dumps([[1, 2, 3], [4, 5, 6]]))
    np.testing.assert_array_equal(read_palette(path), [[1, 2, 3], [4, 5, 6]])
    # One entry with alpha makes the whole palette RGBA, others opaque.
    path.write_text(json.dumps({"name": "x", "colors": ["#ff000080", [0, 0, 255]]}))
    np.testing.assert_array_equal(
        read_palette(path), [[255, 0, 0, 128], [0, 0, 255, 255]]
    )


def test_json_rgba_round_trip(tmp_path, astro_quantized):
    _, palette = astro_quantized
    alpha = np.arange(64, dtype=np.uint8) * 4
    rgba = np.column_stack([palette, alpha])
    path = tmp_path / "alpha.json"
    write_palette(path, rgba, name="With alpha")
    document = json.loads(path.read_text())
    assert document["name"] == "With alpha"
    assert document["colors"][1] == "#" + bytes(rgba[1]).hex()
    np.testing.assert_array_equal(read_palette(path), rgba)


def test_act_layout(tmp_path, astro_quantized):
    _, palette = astro_quantized
    path = tmp_path / "p.act"
    write_palette(path, palette)
    raw = path.read_bytes()
    assert len(raw) == 772
    assert struct.unpack(">HH", raw[768:]) == (64, 0xFFFF)
    assert raw[64 * 3 : 768] == bytes(768 - 64 * 3)

    full = np.repeat(palette, 4, axis=0)
    write_palette(path, full)
    assert len(path.read_bytes()) == 768
    np.testing.assert_array_equal(read_palette(path), full)

    path.write_bytes(bytes(range(256)) * 3)  # no footer: always 256 colours
    assert read_palette(path).shape == (256, 3)


def test_act_transparent_index_round_trip(tmp_path, astro_quantized):
    _, palette = astro_quantized
    rgba = np.column_stack([palette, np.full(64, 255, np.uint8)])
    rgba[7, 3] = 0
    path = tmp_path / "t.act"
    write_palette(path, rgba)
    assert struct.unpack(">HH", path.read_bytes()[768:]) == (64, 7)
    np.testing.assert_array_equal(read_palette(path), rgba)


def test_write_palette_scales_uint16_and_float(tmp_path):
    path = tmp_path / "p.hex"
    write_palette(path, np.array([[0, 128, 129, 65535, 257, 32896]], np.uint16)[:, :3])
    np.testing.assert_array_equal(read_palette(path), [[0, 0, 1]])
    write_palette(path, np.array([[65535, 257, 32896]], np.uint16))
    np.testing.assert_array_equal(read_palette(path), [[255, 1, 128]])
    write_palette(path, np.array([[0.0, 0.5, 1.0], [0.2, 0.001, 0.999]]))
    np.testing.assert_array_equal(read_palette(path), [[0, 128, 255], [51, 0, 255]])
    write_palette(path, np.array([[0.25, 0.5, 0.75]], np.float32))
    np.testing.assert_array_equal(read_palette(path), [[64, 128, 191]])


def test_rgb_formats_take_opaque_rgba_only(tmp_path):
    rgba = np.array([[1, 2, 3, 255], [4, 5, 6, 255]], np.uint8)
    write_palette(tmp_path / "p.gpl", rgba)
    np.testing.assert_array_equal(read_palette(tmp_path / "p.gpl"), rgba[:, :3])
    rgba[1, 3] = 10
    for name in ("p.gpl", "p.hex", "p.txt"):
        with pytest.raises(ValueError, match="cannot store alpha.*min=10"):
            write_palette(tmp_path / name, rgba)
    with pytest.raises(ValueError, match=r"one fully transparent entry.*\[10\]"):
        write_palette(tmp_path / "p.act", rgba)


@pytest.mark.parametrize(
    ("palette", "match"),
    [
        (np.zeros((257, 3), np.uint8), "at most 256 colours, got 257"),
        (np.zeros((0, 3), np.uint8), "palette is empty"),
        (np.zeros((4, 2), np.uint8), r"shape \(n_colors, 3\).*got shape \(4, 2\)"),
        (np.zeros(3, np.uint8), r"got shape \(3,\)"),
        (np.array([[0.0, 1.5, 0.2]]), "in \\[0, 1\\], got min=0, max=1.5"),
        (np.array([[0.0, np.nan, 0.2]]), "NaN"),
        (np.array([[0, 300, 2]]), r"\[0, 255\], got min=0, max=300.*uint16"),
        (np.array([[True, False, True]]), "dtype bool is not supported"),
    ],
)
def test_write_palette_rejects_bad_palettes(tmp_path, palette, match):
    with pytest.raises(ValueError, match=match):
        write_palette(tmp_path / "bad.act", palette)
    assert folder_listing(tmp_path) == []


def test_palette_unsupported_extension(tmp_path):
    with pytest.raises(ValueError, match=r"unsupported palette.*'\.aco'.*\.gpl"):
        write_palette(tmp_path / "p.aco", [[0, 0, 0]])
    with pytest.raises(ValueError, match=r"unsupported palette.*''"):
        read_palette(tmp_path / "noextension")


def test_read_palette_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_palette(tmp_path / "missing.gpl")


MALFORMED_PALETTES = [
    ("bad.gpl", "JASC-PAL\n0100\n", r"line 1: expected the header.*'JASC-PAL'"),
    (
        "bad.gpl",
        "GIMP Palette\nName: x\n# ok\n255 0 0 red\n12 34\n",
        r"line 5: expected 'R G B \[name\]', got '12 34'",
    ),
    (
        "bad.gpl",
        "GIMP Palette\n1 2 256\tx\n",
        r"line 2: .*\[0, 255\], got \(1, 2, 256\)",
    ),
    ("bad.gpl", "GIMP Palette\n1 -2 3\n", "line 2: expected 'R G B"),
    ("empty.gpl", "GIMP Palette\nName: empty\n", "contains no colours"),
    ("bad.hex", "ff0000\n\n#00ff0\n", r"line 3: expected '#rrggbb'.*'#00ff0'"),
    ("bad.txt", "; ok\nff0000ff\n", r"line 2: .*'ff0000ff'"),
    ("empty.hex", "", "contains no colours"),
    ("bad.json", '{"colors": [\n"#ff0000",\n]}', r"line 3: "),
    ("bad.json", '{"colours": []}', r"no 'colors' key \(keys: \['colours'\]\)"),
    ("bad.json", '{"colors": "#ff0000"}', "expected a list of colours, got str"),
    ("bad.json", '["#ff0000", [1, 2, 300]]', r"entry \[1\].*\[1, 2, 300\]"),
    ("bad.json", '{"colors": ["#ff0000", "red"]}', r"entry colors\[1\].*'\"red\"'"),
    ("bad.json", "[[1, 2, 3.5]]", r"entry \[0\]"),
    ("bad.json", "[[true, 2, 3]]", r"entry \[0\]"),
]


@pytest.mark.parametrize(("name", "text", "match"), MALFORMED_PALETTES)
def test_read_malformed_text_palettes(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_palette(path)
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "has 0 bytes, expected 768 or 772"),
        (bytes(770), "has 770 bytes"),
        (bytes(768) + struct.pack(">HH", 0, 0xFFFF), r"in \[1, 256\], got 0"),
        (bytes(768) + struct.pack(">HH", 300, 0xFFFF), r"got 300"),
        (bytes(768) + struct.pack(">HH", 4, 4), "transparent index 4 is not below"),
    ],
)
def test_read_malformed_act(tmp_path, raw, match):
    path = tmp_path / "bad.act"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=match):
        read_palette(path)


# =============================================================================
# Reading and writing images
# =============================================================================


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


# =============================================================================
# Atomic writes
# =============================================================================


def test_failed_encoder_leaves_existing_file_untouched(tmp_path, astro, monkeypatch):
    path = tmp_path / "keep.png"
    write_image(path, astro)
    before = path.read_bytes()

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"half an image")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="simulated"):
        write_image(path, astro[::-1])
    with pytest.raises(OSError, match="simulated"):
        write_indexed(path, np.zeros((4, 4), int), [[0, 0, 0]])
    with pytest.raises(OSError, match="simulated"):
        write_image(tmp_path / "new.png", astro)
    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == ["keep.png"]


def test_failed_rename_leaves_no_temporary_file(tmp_path, astro, monkeypatch):
    path = tmp_path / "keep.png"
    write_image(path, astro)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise PermissionError("rename refused (simulated)")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PermissionError, match="simulated"):
        write_image(path, astro[::-1].astype(np.uint16))
    with pytest.raises(PermissionError, match="simulated"):
        write_palette(tmp_path / "keep.gpl", [[0, 0, 0]])
    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == ["keep.png"]


def test_overwrite_false(tmp_path, astro, astro_quantized):
    labels, palette = astro_quantized
    path = tmp_path / "a.png"
    write_image(path, astro, overwrite=False)
    write_animated_gif(path.with_suffix(".gif"), [labels], palette, overwrite=False)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="already exists and overwrite=False"):
        write_image(path, astro[::-1], overwrite=False)
    with pytest.raises(FileExistsError):
        write_indexed(path, labels, palette, overwrite=False)
    with pytest.raises(FileExistsError):
        write_animated_gif(path.with_suffix(".gif"), [labels], palette, overwrite=False)
    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == ["a.gif", "a.png"]


def test_overwrite_false_never_replaces_a_file_that_appears(
    tmp_path, astro, monkeypatch
):
    # Another process creates the file after the early existence check.
    path = tmp_path / "race.png"
    path.write_bytes(b"theirs")
    monkeypatch.setattr(os.path, "lexists", lambda p: False)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        write_image(path, astro, overwrite=False)
    assert path.read_bytes() == b"theirs"
    assert folder_listing(tmp_path) == ["race.png"]


def test_overwrite_keeps_permissions(tmp_path, astro):
    path = tmp_path / "a.png"
    write_image(path, astro)
    os.chmod(path, 0o640)
    write_image(path, astro[::-1])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    np.testing.assert_array_equal(read_image(path), astro[::-1])


# =============================================================================
# Indexed PNG and GIF
# =============================================================================


def test_indexed_png_read_back(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    path = tmp_path / "indexed.png"
    write_indexed(path, labels, palette)
    with Image.open(path) as im:
        assert im.mode == "P"
        assert im.getpalette() == palette.ravel().tolist()
        assert "transparency" not in im.info
        np.testing.assert_array_equal(np.array(im), labels)


def test_indexed_png_per_entry_alpha(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    alpha = np.full(64, 255, np.uint8)
    alpha[[3, 10]] = [0, 77]
    path = tmp_path / "alpha.png"
    write_indexed(path, labels, np.column_stack([palette, alpha]), transparent_index=20)
    alpha[20] = 0
    with Image.open(path) as im:
        assert im.mode == "P"
        assert im.getpalette() == palette.ravel().tolist()
        assert im.info["transparency"] == alpha[:21].tobytes()
        np.testing.assert_array_equal(np.array(im), labels)
    rgba = read_image(path)
    np.testing.assert_array_equal(rgba[:, :, :3], palette[labels])
    np.testing.assert_array_equal(rgba[:, :, 3], alpha[labels])


@pytest.mark.parametrize("n_colors", [1, 2, 5, 16, 17, 256])
def test_indexed_palette_sizes(tmp_path, n_colors, gif_keeps_palette_mode):
    rng = np.random.default_rng(n_colors)
    palette = rng.integers(0, 256, (n_colors, 3), dtype=np.uint8)
    labels = rng.integers(0, n_colors, (37, 53))
    for name in ("i.png", "i.GIF"):
        write_indexed(tmp_path / name, labels, palette)
        with Image.open(tmp_path / name) as im:
            assert im.mode == "P"
            colors = im.getpalette()
            assert colors[: 3 * n_colors] == palette.ravel().tolist()
            if name == "i.png":
                assert len(colors) == 3 * n_colors
            else:  # GIF pads its table to a power of two with black
                assert set(colors[3 * n_colors :]) <= {0}
            np.testing.assert_array_equal(np.array(im), labels)


def test_indexed_gif_read_back(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    path = tmp_path / "indexed.gif"
    write_indexed(path, labels, palette, transparent_index=5)
    raw = path.read_bytes()
    global_table, n_images, n_local = gif_structure(raw)
    assert (n_images, n_local) == (1, 0)
    assert global_table == palette.tobytes()
    with Image.open(path) as im:
        assert im.mode == "P"
        assert im.info["transparency"] == 5
        assert im.getpalette() == palette.ravel().tolist()
        np.testing.assert_array_equal(np.array(im), labels)


def test_indexed_gif_alpha_rules(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    rgba = np.column_stack([palette, np.full(64, 255, np.uint8)])
    rgba[9, 3] = 0
    write_indexed(tmp_path / "a.gif", labels, rgba)
    with Image.open(tmp_path / "a.gif") as im:
        assert im.info["transparency"] == 9
    with pytest.raises(ValueError, match=r"entries \[4, 9\] have alpha 0"):
        write_indexed(tmp_path / "b.gif", labels, rgba, transparent_index=4)
    rgba[9, 3] = 100
    with pytest.raises(ValueError, match=r"partial alpha values \[100\]"):
        write_indexed(tmp_path / "c.gif", labels, rgba)
    assert folder_listing(tmp_path) == ["a.gif"]


def test_indexed_duplicate_colours_keep_labels(tmp_path, gif_keeps_palette_mode):
    palette = np.array([[10, 20, 30], [10, 20, 30], [0, 0, 0], [10, 20, 30]], np.uint8)
    labels = np.arange(4 * 6).reshape(4, 6) % 4
    for name in ("d.png", "d.gif"):
        write_indexed(tmp_path / name, labels, palette)
        with Image.open(tmp_path / name) as im:
            np.testing.assert_array_equal(np.array(im), labels)
    write_animated_gif(tmp_path / "d2.gif", [labels, labels[::-1]], palette)
    with Image.open(tmp_path / "d2.gif") as im:
        for i, frame in enumerate([labels, labels[::-1]]):
            im.seek(i)
            np.testing.assert_array_equal(np.array(im), frame)


@pytest.mark.parametrize(
    ("labels", "palette", "kwargs", "match"),
    [
        (
            np.zeros((4, 4), int),
            np.zeros((257, 3), np.uint8),
            {},
            "at most 256 colours, got 257",
        ),
        (np.full((4, 4), 3), np.zeros((3, 3), np.uint8), {}, r"\[0, 2\].*min=3, max=3"),
        (np.full((4, 4), -1), np.zeros((3, 3), np.uint8), {}, "min=-1"),
        (
            np.zeros((4, 4)),
            np.zeros((3, 3), np.uint8),
            {},
            "integers, got dtype float64",
        ),
        (
            np.zeros((4, 4, 1), int),
            np.zeros((3, 3), np.uint8),
            {},
            r"got shape \(4, 4, 1\)",
        ),
        (np.zeros((0, 4), int), np.zeros((3, 3), np.uint8), {}, "labels is empty"),
        (
            np.zeros((4, 4), int),
            np.zeros((3, 3), np.uint8),
            {"transparent_index": 3},
            r"transparent_index must be an integer in \[0, 2\], got 3",
        ),
    ],
)
def test_write_indexed_errors(tmp_path, labels, palette, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_indexed(tmp_path / "x.png", labels, palette, **kwargs)
    with pytest.raises(ValueError, match=r"'\.jpg'.*use \.png, \.gif"):
        write_indexed(tmp_path / "x.jpg", np.zeros((2, 2), int), [[0, 0, 0]])
    assert folder_listing(tmp_path) == []


# =============================================================================
# Animated GIF
# =============================================================================


def test_animated_gif_single_global_palette(
    tmp_path, astro_quantized, gif_keeps_palette_mode
):
    labels, palette = astro_quantized
    frames = [np.roll(labels, 32 * i, axis=1) for i in range(5)]
    durations = [40, 80, 120, 160, 200]
    path = tmp_path / "pan.gif"
    write_animated_gif(path, frames, palette, duration=durations, loop=0)

    global_table, n_images, n_local = gif_structure(path.read_bytes())
    assert global_table == palette.tobytes()
    assert (n_images, n_local) == (5, 0)

    with Image.open(path) as im:
        assert im.n_frames == 5
        assert im.info["loop"] == 0
        for i, frame in enumerate(frames):
            im.seek(i)
            assert im.mode == "P"
            assert im.getpalette() == palette.ravel().tolist()
            assert im.info["duration"] == durations[i]
            np.testing.assert_array_equal(np.array(im), frame)


def test_animated_gif_transparency(tmp_path, astro_quantized, gif_keeps_palette_mode):
    labels, palette = astro_quantized
    frames = np.stack([labels, labels.T, labels[::-1]])
    frames[1, :100] = 7  # a transparent band that must not show frame 0
    path = tmp_path / "t.gif"
    write_animated_gif(path, frames, palette, transparent_index=7, loop=None)
    _, n_images, n_local = gif_structure(path.read_bytes())
    assert (n_images, n_local) == (3, 0)
    with Image.open(path) as im:
        assert "loop" not in im.info
        for i, frame in enumerate(frames):
            im.seek(i)
            assert im.info["transparency"] == 7
            assert im.disposal_method == 2
            np.testing.assert_array_equal(np.array(im), frame)
    rgba = read_image(path)  # first frame
    np.testing.assert_array_equal(rgba[:, :, 3], np.where(labels == 7, 0, 255))


def test_animated_gif_identical_frames_are_merged(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    path = tmp_path / "still.gif"
    write_animated_gif(path, [labels, labels, labels[::-1]], palette, duration=100)
    with Image.open(path) as im:
        assert im.n_frames == 2
        assert im.info["duration"] == 200


def test_animated_gif_errors(tmp_path, astro_quantized):
    labels, palette = astro_quantized
    with pytest.raises(ValueError, match="frames_labels is empty"):
        write_animated_gif(tmp_path / "a.gif", [], palette)
    with pytest.raises(ValueError, match=r"same shape.*\(256, 512\), \(512, 512\)"):
        write_animated_gif(tmp_path / "a.gif", [labels, labels[:256]], palette)
    with pytest.raises(ValueError, match=r"frames_labels\[1\] must be in \[0, 63\]"):
        write_animated_gif(tmp_path / "a.gif", [labels, labels + 1], palette)
    with pytest.raises(ValueError, match="duration has 1 values for 2 frames"):
        write_animated_gif(
            tmp_path / "a.gif", [labels, labels.T], palette, duration=[5]
        )
    with pytest.raises(ValueError, match=r"'\.png'.*use \.gif\."):
        write_animated_gif(tmp_path / "a.png", [labels], palette)
    rgba = np.column_stack([palette, np.full(64, 200, np.uint8)])
    with pytest.raises(ValueError, match=r"partial alpha values \[200\]"):
        write_animated_gif(tmp_path / "a.gif", [labels], rgba)
    assert folder_listing(tmp_path) == []
