"""Image files: :func:`read_image` and :func:`write_image`."""

import numbers
import os
import re
import stat
import struct
import warnings
import zlib

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from skquant.io import _pillow
from skquant.io._arrays import _image_as_array, _uint16_to_uint8
from skquant.io._files import _atomic_write, _open_for_reading
from skquant.io._indexed import _indexable, indexed_writer
from skquant.io._metadata import save_params

# Pillow refuses any image above 2 * PIL.Image.MAX_IMAGE_PIXELS (about 179
# megapixels by default) on its own, so a larger default would never be reached.
_DEFAULT_MAX_PIXELS = 2**27

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Errors that Pillow's plugins and decoders raise on a corrupt or truncated
# file (after the file itself was opened successfully).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    zlib.error,
)


# =============================================================================
# Reading images
# =============================================================================


def _png_header(fp):
    """Return (bit_depth, colour_type) from a PNG's IHDR, or None."""
    position = fp.tell()
    try:
        fp.seek(0)
        head = fp.read(26)
    finally:
        fp.seek(position)
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


# EXIF orientation -> the numpy operation equal to ImageOps.exif_transpose.
_ORIENTATIONS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def _check_png_chunks(data):
    """Raise OSError unless every chunk of a PNG is complete, with a good CRC.

    libpng prints its own "libpng error: ..." line on stderr when OpenCV
    decodes a truncated or corrupt file; checking the chunks first (one CRC
    pass over the file) turns the usual cases into a quiet, clear error.
    Returns the set of chunk types.
    """
    view = memoryview(data)
    pos = len(_PNG_SIGNATURE)
    kinds = set()
    while True:
        if pos + 8 > len(view):
            raise OSError("image file is truncated (no IEND chunk)")
        length, kind = struct.unpack_from(">I4s", view, pos)
        end = pos + 8 + length
        if end + 4 > len(view):
            raise OSError(f"image file is truncated (in a {kind!r} chunk)")
        (crc,) = struct.unpack_from(">I", view, end)
        if zlib.crc32(view[pos + 4 : end]) != crc:
            raise OSError(f"broken PNG data: CRC error in a {kind!r} chunk")
        kinds.add(kind)
        if kind == b"IEND":
            return kinds
        pos = end + 4


def _read_png16_color(fp, im):
    """Decode a 16-bit colour PNG with OpenCV, as RGB(A) uint16."""
    # OpenCV is imported here only: few files need it.
    import cv2

    fp.seek(0)
    data = fp.read()
    _check_png_chunks(data)
    encoded = np.frombuffer(data, dtype=np.uint8)
    bgr = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    del data, encoded
    if bgr is None:
        raise OSError(
            "OpenCV could not decode the 16-bit PNG data (truncated or corrupt)"
        )
    if bgr.ndim == 2:
        bgr = bgr[:, :, np.newaxis]
    else:  # BGR(A) -> RGB(A) in place, a strip at a time
        for strip in _strips(bgr):
            strip[..., [0, 2]] = strip[..., [2, 0]]
    orientation = im.getexif().get(0x0112, 1)
    transpose = _ORIENTATIONS.get(orientation)
    if transpose is not None:
        bgr = np.ascontiguousarray(transpose(bgr))
    return bgr


def _strips(arr, nbytes=4 << 20):
    """Views of consecutive rows of ``arr``, about ``nbytes`` each."""
    rows = max(1, nbytes // max(1, arr[:1].nbytes))
    return [arr[top : top + rows] for top in range(0, arr.shape[0], rows)]


#: Pillow mode -> (mode of its pixel storage, bytes stored, channels kept).
_DIRECT_MODES = {
    "L": ("L", 1, 1),
    "P": ("L", 1, 1),
    "RGB": ("RGBX", 4, 3),
    "RGBA": ("RGBA", 4, 4),
}


def _decode_into_array(im):
    """Let Pillow decode a PNG or JPEG straight into a NumPy array.

    Pillow stores RGB with 4 bytes per pixel; decoding into its own memory
    and copying out peaks at 2.3 times the image (3.3 through
    ``np.array(im)``). Here Pillow's pixel storage is mapped onto an array
    before decoding (``Image.core.map_buffer``, the mechanism behind
    ``Image.frombuffer``); RGB is then packed to 3 bytes in place and the
    array shrunk: the peak is the file's decoder state plus 4/3 of the image.
    Returns None where this does not apply (other modes and formats,
    transparency to convert, a Pillow without these internals); the caller
    then takes the usual path.
    """
    layout = _DIRECT_MODES.get(im.mode)
    if (
        layout is None
        or im.format not in ("PNG", "JPEG")
        or "transparency" in im.info
        or (im.mode == "P" and im.palette.mode not in ("RGB", "RGBA"))
        or getattr(im, "_im", True) is not None
        or not hasattr(Image.core, "map_buffer")
    ):
        return None
    storage, stored, channels = layout
    width, height = im.size
    flat = np.empty(width * height * stored, dtype=np.uint8)
    try:
        im._im = Image.core.map_buffer(flat, im.size, "raw", 0, (storage, 0, 1))
    except (AttributeError, TypeError, ValueError):
        return None
    try:
        im.load()
        orientation = im.getexif().get(0x0112, 1)
        entries = im.getpalette("RGB") if im.mode == "P" else None
    finally:
        im._im = None  # Pillow lets go of ``flat``
    if stored != channels:  # RGBX -> RGB, a strip at a time, front to back
        packed = flat[: width * height * channels].reshape(height, width, channels)
        source = flat.reshape(height, width, stored)
        rows = max(1, (4 << 20) // (width * stored))
        for top in range(0, height, rows):
            packed[top : top + rows] = source[top : top + rows, :, :channels]
        del packed, source
        flat.resize(width * height * channels, refcheck=False)
    arr = flat.reshape(height, width, channels)
    transpose = _ORIENTATIONS.get(orientation)
    if transpose is not None:
        arr = np.ascontiguousarray(transpose(arr))
    if im.mode == "P":  # indices decoded: look them up in the palette
        return _palette_array(im, arr[:, :, 0], entries)
    return arr


def _pil_array(im):
    """A copy of a Pillow image as an array, made a strip at a time.

    ``np.array(im)`` goes through ``im.tobytes()``: a second full copy next
    to Pillow's own; strips keep that to a few megabytes.
    """
    first = np.asarray(im.crop((0, 0, im.width, min(1, im.height))))
    out = np.empty((im.height, *first.shape[1:]), dtype=first.dtype)
    top = 0
    for strip in _strips(out):
        bottom = top + len(strip)
        strip[...] = np.asarray(im.crop((0, top, im.width, bottom)))
        top = bottom
    return out


def _palette_array(im, indices=None, entries=None):
    """An opaque indexed (mode ``"P"``) image as RGB, a strip at a time.

    ``im.convert("RGB")`` makes a 4-byte-per-pixel RGB copy beside the
    indices before the array is copied out (2.9x the RGB image at peak);
    looking the indices up in the palette strip by strip keeps the peak at
    the indices plus the array. ``indices`` is the decoded index array
    (:func:`_decode_into_array`, with the palette ``entries`` it read), else
    strips are cropped from ``im``.
    """
    palette = np.zeros((256, 3), dtype=np.uint8)
    if entries is None:
        entries = im.getpalette("RGB")
    entries = np.asarray(entries or [], dtype=np.uint8)
    entries = entries[: entries.size // 3 * 3].reshape(-1, 3)[:256]
    palette[: len(entries)] = entries
    height, width = (im.height, im.width) if indices is None else indices.shape
    out = np.empty((height, width, 3), dtype=np.uint8)
    top = 0
    # np.take turns the indices into intp: 8 bytes per pixel of a strip
    for strip in _strips(out, nbytes=1 << 20):
        bottom = top + len(strip)
        if indices is None:
            rows = np.asarray(im.crop((0, top, width, bottom)))
        else:
            rows = indices[top:bottom]
        np.take(palette, rows, axis=0, out=strip)
        top = bottom
    return out


def _pil_to_array(im):
    """Convert an opened Pillow image to (H, W, C) uint8 or uint16."""
    im.load()
    ImageOps.exif_transpose(im, in_place=True)
    mode = im.mode
    has_transparency = "transparency" in im.info
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return _pil_array(im).astype(np.uint16)[:, :, np.newaxis]
    if mode == "I":
        arr = _pil_array(im)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ValueError(
                "32-bit integer images outside the 16-bit range are not supported"
            )
        return arr.astype(np.uint16)[:, :, np.newaxis]
    if mode == "F":
        raise ValueError("32-bit float images are not supported")
    if mode == "P" and not has_transparency and im.palette.mode in ("RGB", "RGBA"):
        return _palette_array(im)
    if mode == "1":
        im = im.convert("L")
    elif mode in ("L", "RGB", "P") and has_transparency:
        im = im.convert("RGBA")
    elif mode in ("LA", "La", "PA", "RGBa"):
        im = im.convert("RGBA")
    elif mode not in ("L", "RGB", "RGBA"):
        im = im.convert("RGB")
    arr = _pil_array(im)
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    return arr


def _bomb_message(path, exc, max_pixels):
    match = re.search(r"\((\d+) pixels\)", str(exc))
    claimed = f"{int(match.group(1))} pixels" if match else "too many pixels"
    limit = 2 * Image.MAX_IMAGE_PIXELS
    if max_pixels is None or (match and int(match.group(1)) <= max_pixels):
        return (
            f"image {path!r} claims {claimed}, more than Pillow's limit of "
            f"{limit} pixels (2 * PIL.Image.MAX_IMAGE_PIXELS); raise "
            "PIL.Image.MAX_IMAGE_PIXELS to read it."
        )
    return (
        f"image {path!r} claims {claimed}, more than max_pixels={max_pixels}; "
        "it may be a decompression bomb."
    )


def _unreadable(path, exc, fp):
    if isinstance(exc, UnidentifiedImageError):
        status = os.fstat(fp.fileno())
        if stat.S_ISREG(status.st_mode) and status.st_size == 0:
            reason = "the file is empty"
        else:
            reason = "not a recognised image format"
    else:
        reason = str(exc) or type(exc).__name__
    return ValueError(f"cannot read image {path!r}: {reason}.")


def _convert_mode(arr, mode):
    """Convert (H, W, C) to the requested channel layout, keeping dtype."""
    n_channels = arr.shape[2]
    if mode is None:
        return arr
    if mode == "gray":
        if n_channels == 1:
            return arr
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        gray = np.rint(arr[:, :, :3] @ weights).astype(arr.dtype)
        return gray[:, :, np.newaxis]
    rgb = np.repeat(arr, 3, axis=2) if n_channels == 1 else arr[:, :, :3]
    if mode == "rgb":
        return np.ascontiguousarray(rgb)
    if n_channels == 4:
        return arr
    opaque = np.full(arr.shape[:2] + (1,), np.iinfo(arr.dtype).max, arr.dtype)
    return np.concatenate([rgb, opaque], axis=2)


def read_image(path, *, mode=None, max_pixels=_DEFAULT_MAX_PIXELS):
    """Read an image file into an array.

    Parameters
    ----------
    path : str or os.PathLike
        The image file, in any format Pillow reads.
    mode : {'rgb', 'rgba', 'gray'}, default=None
        Channel layout of the result. None keeps the file's own: 1 channel for
        grayscale, 3 for colour, 4 for colour or grayscale with alpha (palette
        images included). ``'rgb'`` drops alpha (no compositing) and repeats
        gray; ``'rgba'`` adds an opaque alpha channel; ``'gray'`` takes the
        ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B``, rounded, and drops
        alpha.
    max_pixels : int or None, default=134217728
        Refuse images whose header claims more than this many pixels
        (width * height), before decoding them. None disables this check.
        ``2**27`` pixels is about 134 megapixels.

    Returns
    -------
    image : ndarray of shape (height, width, n_channels)
        Channels in RGB(A) order, with the EXIF orientation applied. uint16 for
        16-bit PNGs (grayscale or colour), uint8 otherwise.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the image claims more than ``max_pixels`` pixels, or the file is
        empty, truncated, corrupt or not an image (the message starts with
        ``cannot read image '<path>'``).

    See Also
    --------
    write_image : Write an image array.

    Notes
    -----
    Pillow opens 16-bit colour PNGs at 8 bits, so those are decoded with
    OpenCV instead to keep all 16 bits. Large plain 8-bit PNGs (gray, RGB or
    RGBA without a tRNS chunk, not interlaced, 32 MiB of pixels or more) are
    decoded with OpenCV too, straight into the result: the peak memory is
    then the file plus the image (Pillow's own copy, 4 bytes per RGB pixel,
    would come on top), with the same pixels. Pillow's own size guard also applies:
    images above ``2 * PIL.Image.MAX_IMAGE_PIXELS`` pixels (about 179
    megapixels by default) are refused even when ``max_pixels`` is larger,
    and Pillow's ``DecompressionBombWarning`` is silenced because
    ``max_pixels`` takes its place. Only the first frame of an animation is
    read.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from skquant.io import read_image, write_image
    >>> image = np.zeros((2, 3, 3), dtype=np.uint8)
    >>> image[0, 0] = [255, 0, 0]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "tiny.png")
    ...     write_image(path, image)
    ...     back = read_image(path)
    ...     gray = read_image(path, mode="gray")
    >>> back.shape, back.dtype
    ((2, 3, 3), dtype('uint8'))
    >>> np.array_equal(back, image)
    True
    >>> gray[:, :, 0]
    array([[76,  0,  0],
           [ 0,  0,  0]], dtype=uint8)
    """
    path = os.fspath(path)
    if mode not in (None, "rgb", "rgba", "gray"):
        raise ValueError(f"mode must be None, 'rgb', 'rgba' or 'gray', got {mode!r}.")
    if max_pixels is not None and (
        not isinstance(max_pixels, numbers.Integral)
        or isinstance(max_pixels, bool)
        or max_pixels < 1
    ):
        raise ValueError(
            f"max_pixels must be a positive integer or None, got {max_pixels!r}."
        )
    with _open_for_reading(path) as fp, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(fp)
        except Image.DecompressionBombError as exc:
            raise ValueError(_bomb_message(path, exc, max_pixels)) from None
        except _DECODE_ERRORS as exc:
            raise _unreadable(path, exc, fp) from exc
        with im:
            width, height = im.size
            if max_pixels is not None and width * height > max_pixels:
                raise ValueError(
                    f"image {path!r} claims {width}x{height} = {width * height} "
                    f"pixels, more than max_pixels={max_pixels}; it may be a "
                    "decompression bomb."
                )
            try:
                header = _png_header(fp) if im.format == "PNG" else None
                if header is not None and header[0] == 16 and header[1] != 0:
                    arr = _read_png16_color(fp, im)
                else:
                    arr = _decode_into_array(im)
                    if arr is None:
                        arr = _pil_to_array(im)
            except Image.DecompressionBombError as exc:
                raise ValueError(_bomb_message(path, exc, max_pixels)) from None
            except _DECODE_ERRORS as exc:
                raise _unreadable(path, exc, fp) from exc
    return _convert_mode(arr, mode)


# =============================================================================
# Writing images
# =============================================================================


def _encode_png16_color(arr, icc_profile=None):
    """Encode RGB(A) uint16 as a 16-bit PNG with OpenCV, with an iCCP chunk
    holding ``icc_profile`` when given."""
    # OpenCV is imported here only: Pillow cannot write 16-bit colour.
    import cv2

    code = cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(arr), code))
    if not ok:
        raise OSError("OpenCV could not encode the 16-bit PNG")
    data = encoded.tobytes()
    if not icc_profile:
        return data
    # iCCP: a name, compression method 0 (zlib), the compressed profile; it
    # goes right after IHDR (before PLTE and IDAT, as the PNG spec asks).
    body = b"iCCP" + b"ICC profile\0\0" + zlib.compress(icc_profile)
    chunk = struct.pack(">I", len(body) - 4) + body
    chunk += struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    end_of_ihdr = len(_PNG_SIGNATURE) + 8 + 13 + 4
    return data[:end_of_ihdr] + chunk + data[end_of_ihdr:]


def write_image(path, image, *, overwrite=True, metadata=None):
    """Write an image array to a file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its extension selects the format (any format Pillow
        writes: ``.png``, ``.jpg``, ``.tif``, ``.webp``, ``.bmp``, ...).
    image : array-like of shape (height, width) or (height, width, n_channels)
        Grayscale (1 channel), RGB (3) or RGBA (4). uint8 and uint16 are
        written as is (see Notes for uint16); floats must be in [0, 1] and are
        scaled to uint8 with rounding (``round(v * 255)``).
    overwrite : bool, default=True
        Replace an existing file. If False and ``path`` exists, raise
        FileExistsError and leave it untouched.
    metadata : dict, default=None
        Metadata to store: ``'icc_profile'`` (bytes, written unchanged: no
        colour is converted) into PNG, JPEG, TIFF and WebP; ``'dpi'`` (x, y)
        into PNG, JPEG and TIFF; ``'text'`` (a dict of str) as PNG text
        chunks. 16-bit colour PNGs store the profile only; other formats
        store none of it.

    Raises
    ------
    FileExistsError
        If ``overwrite=False`` and ``path`` exists.
    ValueError
        If the extension is not a writable image format, the image has the
        wrong shape, dtype or value range, or the format cannot store it (for
        example RGBA as JPEG).

    See Also
    --------
    read_image : Read an image file.
    write_indexed : Write labels and a palette as an indexed PNG or GIF.

    Notes
    -----
    A uint8 RGB image (or RGBA with some transparency) of at most 256
    colours is written to PNG and GIF as an indexed (mode ``"P"``) file, as
    :func:`write_indexed` writes it: the same pixels in a smaller file. Its
    colour table is sorted by colour value.

    Only PNG keeps 16 bits per channel. For any other format uint16 images
    are scaled down to 8 bits with rounding (``round(v / 257)``), without a
    warning. 16-bit colour PNGs are encoded with OpenCV, as Pillow cannot
    write them.

    The image is written to a temporary file in the same folder that then
    replaces ``path`` with :func:`os.replace`: a failed write leaves no
    partial file and does not damage an existing file. A replaced file keeps
    its permission bits.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from skquant.io import read_image, write_image
    >>> ramp = np.linspace(0, 65535, 12, dtype=np.uint16).reshape(3, 4)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "ramp16.png")
    ...     write_image(path, ramp)
    ...     back = read_image(path)
    >>> back.shape, back.dtype
    ((3, 4, 1), dtype('uint16'))
    >>> np.array_equal(back[:, :, 0], ramp)
    True
    """
    path = os.fspath(path)
    _atomic_write(path, image_writer(path, image, metadata), overwrite=overwrite)


def image_writer(path, image, metadata=None):
    """``write(fp)``: encodes ``image`` as :func:`write_image` writes it to
    ``path`` (its extension picks the format) into any binary file object."""
    fmt = _pillow._save_format(path)
    arr = _image_as_array(image)
    if arr.dtype == np.uint16 and fmt != "PNG":
        arr = _uint16_to_uint8(arr)

    indexed = _indexable(fmt, arr)
    if indexed is not None:
        return indexed_writer(path, *indexed, metadata=metadata)

    if arr.dtype == np.uint16 and arr.shape[2] in (3, 4):
        data = _encode_png16_color(arr, (metadata or {}).get("icc_profile"))

        def write(fp):
            fp.write(data)

    else:
        pil_image = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
        params = save_params(fmt, metadata)

        def write(fp):
            _pillow._pil_save(pil_image, fp, fmt, **params)

    return write
