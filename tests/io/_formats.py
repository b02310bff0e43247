"""Crafted image files and file-format parsers the io and command-line
tests share: PNG chunks, EXIF orientations, GIF structure."""

import os
import struct
import zlib

from PIL import Image

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
