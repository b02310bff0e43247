"""Metadata carried from an input file to an output: the ICC profile (its
bytes, unchanged: see :mod:`skquant.io._profiles` for conversions), PNG
text chunks and the resolution (dpi)."""

import contextlib

from PIL import Image

#: Formats Pillow writes an ICC profile into, and a resolution into.
ICC_FORMATS = ("PNG", "JPEG", "TIFF", "WEBP")
_DPI_FORMATS = ("PNG", "JPEG", "TIFF")


def read_metadata(path):
    """The metadata of an image file that an output can carry, as a dict.

    Keys, each present only when the file has it: ``'icc_profile'`` (bytes),
    ``'dpi'`` (x, y) and ``'text'`` (a dict of the PNG text chunks found
    before the pixel data). Nothing is decoded; an unreadable file gives an
    empty dict (reading its pixels reports the problem).
    """
    metadata = {}
    with contextlib.suppress(OSError, SyntaxError, ValueError), Image.open(path) as im:
        info = im.info
        if info.get("icc_profile"):
            metadata["icc_profile"] = bytes(info["icc_profile"])
        if "dpi" in info:
            metadata["dpi"] = tuple(float(v) for v in info["dpi"])
        if im.format == "PNG":
            text = {k: v for k, v in info.items() if isinstance(v, str)}
            if text:
                metadata["text"] = text
    return metadata


def save_params(fmt, metadata):
    """Pillow ``save`` arguments that write ``metadata`` into format ``fmt``."""
    params = {}
    if not metadata:
        return params
    if metadata.get("icc_profile") and fmt in ICC_FORMATS:
        params["icc_profile"] = metadata["icc_profile"]
    if metadata.get("dpi") and fmt in _DPI_FORMATS:
        params["dpi"] = tuple(metadata["dpi"])
    if metadata.get("text") and fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        chunks = PngInfo()
        for key, value in metadata["text"].items():
            chunks.add_text(key, value)
        params["pnginfo"] = chunks
    return params
