"""What the ``skquant`` command writes, the pngquant way: the default name
next to the input (``--ext``), stdout (``-o -``), ``--skip-if-larger``,
``--quality`` checks, ``--posterize``, the metadata kept unless
``--strip``, and when a result is an indexed image."""

import io
import os
import sys

import numpy as np

from skquant._cli._parser import DB_PER_QUALITY, INDEXED_EXTENSIONS, STDIO


def default_suffix(ext, dither):
    """pngquant's suffix: ``-fs8.png`` dithered, ``-or8.png`` otherwise."""
    if ext is not None:
        return ext
    return "-or8.png" if dither == "none" else "-fs8.png"


def default_output(source, suffix):
    """The output of ``source`` without ``-o``: next to it, stdout for stdin,
    the current folder for a sample photo."""
    if source.stdin:
        return STDIO
    if source.path is None:
        return source.stem + suffix
    return os.path.splitext(source.path)[0] + suffix


def format_path(path):
    """The name whose extension picks the format (stdout gets a PNG)."""
    return "stdout.png" if path == STDIO else path


def encoded(write):
    """The bytes that ``write(fp)`` writes (an io writer such as
    :func:`skquant.io._images.image_writer`), kept in memory so that the
    size is known before anything reaches the output (``--skip-if-larger``,
    stdout)."""
    buffer = io.BytesIO()
    write(buffer)
    return buffer.getvalue()


def deliver(path, data, overwrite):
    """Write ``data`` to ``path`` atomically, or to stdout for ``-``."""
    if path == STDIO:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from skquant.io._files import _atomic_write

    _atomic_write(path, lambda fp: fp.write(data), overwrite=overwrite)


def input_size(source):
    """The input file's size in bytes, or None (a sample photo)."""
    if source.path is None:
        return None
    try:
        return os.path.getsize(source.path)
    except OSError:
        return None


def source_metadata(source):
    """The input's metadata (see :func:`skquant.io._metadata.read_metadata`),
    or None for a sample photo."""
    if source.path is None:
        return None
    from skquant.io._metadata import read_metadata

    return read_metadata(source.path)


def quality_of(psnr):
    """A PSNR in dB on the 0-100 ``--quality`` scale."""
    return min(100.0, psnr / DB_PER_QUALITY)


def posterized(palette, bits):
    """A palette with the ``bits`` lowest bits of each 8-bit channel dropped
    (pngquant's ``--posterize``): each channel takes one of
    ``2 ** (8 - bits)`` evenly spread levels from 0 to full scale, the
    nearest one. Repeated colours are kept once, in order."""
    palette = np.asarray(palette)
    top = np.iinfo(palette.dtype).max if palette.dtype.kind in "ui" else 1.0
    steps = (1 << (8 - bits)) - 1
    levels = np.rint(palette.astype(np.float64) / top * steps) / steps * top
    out = (
        levels.astype(palette.dtype)
        if palette.dtype.kind == "f"
        else (np.rint(levels).astype(palette.dtype))
    )
    _, first = np.unique(out, axis=0, return_index=True)
    return out[np.sort(first)]


def result_labels(image, quantizer, dithered):
    """The palette index of every pixel, as ``transform`` maps it.

    uint8 for palettes of at most 256 colours. Without dithering each pixel
    maps on its own, so the image is mapped a strip of rows at a time and
    only the small labels are held (for a 100 MP photo, 0.33x the image
    instead of the 1.33x of int32 labels and the 1x of a mapped copy).
    """
    dtype = np.uint8 if len(quantizer.palette_) <= 256 else np.int32
    if dithered:  # error diffusion runs over the whole image
        return quantizer.predict(image).astype(dtype, copy=False)
    labels = np.empty(image.shape[:2], dtype=dtype)
    rows = max(1, (1 << 20) // max(1, image.shape[1]))
    for top in range(0, image.shape[0], rows):
        labels[top : top + rows] = quantizer.predict(image[top : top + rows])
    return labels


def is_indexed_output(path, image, quantizer, keep_16bit=False):
    """Whether ``path`` gets an indexed image: PNG or GIF with at most 256
    colours, whatever the input's depth (8-bit palette entries), except a
    16-bit input written as PNG with ``--keep-16bit``."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in INDEXED_EXTENSIONS:
        return False
    if ext == ".png" and image.dtype == np.uint16 and keep_16bit:
        return False
    k = len(quantizer.palette_)
    if ext == ".gif" and k > 256:
        raise ValueError(
            f"a GIF holds at most 256 colours, the palette has {k}; "
            "use -k 256 or less, or a PNG"
        )
    return k <= 256


def truecolour_note(path, k):
    """Why a PNG is written as truecolour: K > 256."""
    return (
        f"K={k} is more than the 256 colours of an indexed PNG: "
        f"{os.path.basename(path)} is written as truecolour RGB(A), a larger "
        "file (use -k 256 or less for an indexed one)"
    )
