"""Palette files: read_palette and write_palette in every format."""

import json
import struct

import numpy as np
import pytest

from skquant.io import (
    read_palette,
    write_palette,
)
from tests.io._formats import folder_listing

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
