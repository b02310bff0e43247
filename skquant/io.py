"""Reading and writing images and palettes.

Images
    :func:`read_image` returns an RGB(A) or grayscale array with the EXIF
    orientation applied, keeping 16-bit PNGs at 16 bits; :func:`write_image`
    writes such an array. :func:`write_indexed` writes a true indexed (mode
    ``"P"``) PNG or GIF from labels and a palette, and
    :func:`write_animated_gif` writes several label images as one animated GIF
    that shares a single global palette.

Palettes
    :func:`read_palette` and :func:`write_palette` handle GIMP palettes
    (``.gpl``), JSON (``.json``), plain hex lists (``.hex``, ``.txt``) and
    Adobe Color Tables (``.act``), chosen by the file extension.

Every writer writes atomically: the data go to a temporary file in the target
folder which then replaces the target with :func:`os.replace`, so a failed
write never leaves a partial file behind and never damages an existing one.
"""

import contextlib
import errno
import json
import numbers
import os
import re
import secrets
import stat
import struct
import warnings
import zlib

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "read_image",
    "read_palette",
    "write_animated_gif",
    "write_image",
    "write_indexed",
    "write_palette",
]

# Pillow refuses any image above 2 * PIL.Image.MAX_IMAGE_PIXELS (about 179
# megapixels by default) on its own, so a larger default would never be reached.
_DEFAULT_MAX_PIXELS = 2**27

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: The longest display time of a GIF frame, in milliseconds.
_MAX_GIF_DURATION = 655350

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
# Shared validation and conversion
# =============================================================================


def _short_repr(text, limit=60):
    """Return ``repr(text)``, shortened to about ``limit`` characters."""
    if len(text) > limit:
        return repr(text[:limit]) + "..."
    return repr(text)


def _check_unit_float(arr, what):
    """Raise ValueError unless every value of a float array is in [0, 1]."""
    if arr.size == 0:
        return
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"float {what} contains NaN or infinite values.")
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"float {what} must have values in [0, 1], got min={low:g}, max={high:g}."
        )


def _uint16_to_uint8(arr):
    """Scale 16-bit values to 8 bits with rounding (65535 / 255 == 257)."""
    return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _float_to_uint8(arr):
    """Scale floats in [0, 1] to 8 bits with rounding."""
    return np.rint(arr * 255).astype(np.uint8)


def _palette_as_uint8(palette):
    """Validate a palette and return it as uint8 of shape (n_colors, 3 or 4)."""
    arr = np.asarray(palette)
    if arr.ndim != 2 or arr.shape[1] not in (3, 4):
        raise ValueError(
            "palette must have shape (n_colors, 3) or (n_colors, 4), "
            f"got shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"palette is empty (shape {arr.shape}).")
    if arr.dtype == np.uint8:
        return arr.copy()
    if arr.dtype == np.uint16:
        return _uint16_to_uint8(arr)
    if np.issubdtype(arr.dtype, np.floating):
        _check_unit_float(arr, "palette")
        return _float_to_uint8(arr)
    if np.issubdtype(arr.dtype, np.integer):
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high > 255:
            raise ValueError(
                f"integer palette of dtype {arr.dtype} must have values in "
                f"[0, 255], got min={low}, max={high}; pass a uint16 array for "
                "16-bit colours."
            )
        return arr.astype(np.uint8)
    raise ValueError(
        f"palette dtype {arr.dtype} is not supported; use uint8, uint16, "
        "integers in [0, 255] or floats in [0, 1]."
    )


def _image_as_array(image):
    """Validate an image; return uint8 or uint16 of shape (H, W, 1, 3 or 4)."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(
            "image must have shape (height, width) or (height, width, n_channels) "
            f"with n_channels in (1, 3, 4), got shape {arr.shape}."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image is empty (shape {arr.shape}).")
    if arr.dtype in (np.uint8, np.uint16):
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        _check_unit_float(arr, "image")
        return _float_to_uint8(arr)
    raise ValueError(
        f"image dtype {arr.dtype} is not supported; use uint8, uint16 or floats "
        "in [0, 1]."
    )


# =============================================================================
# Atomic writes
# =============================================================================


def _open_temporary(folder, base):
    """Create a new file next to the target; the umask applies as for open()."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        # base[:200]: stay below the usual 255-byte limit on file names.
        tmp = os.path.join(folder, f".{base[:200]}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        return tmp, os.fdopen(fd, "wb")
    raise FileExistsError(f"cannot create a temporary file in {folder!r}.")


def _about_target(exc, path):
    """The same OSError, naming ``path`` (not the temporary file) when it has
    an errno; other exceptions are returned unchanged."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), path)
    return exc


def _exists_error(path):
    return FileExistsError(f"{path!r} already exists and overwrite=False.")


def _atomic_write(path, write, *, overwrite):
    """Write ``path`` through ``write(fp)`` via a temporary file and a rename.

    The temporary file is removed on any failure, so the target is either the
    old file untouched or the complete new file. Without ``overwrite`` the
    final step creates ``path`` without replacing anything (a hard link), so a
    file that appears while the data are written is kept. Errors of the file
    system (read-only folder, full disk) name ``path``, not the temporary file.
    """
    if not overwrite and os.path.lexists(path):
        raise _exists_error(path)
    folder, base = os.path.split(os.path.abspath(path))
    try:
        tmp, fp = _open_temporary(folder, base)
    except OSError as exc:
        raise _about_target(exc, path) from None
    try:
        with fp:
            write(fp)
            fp.flush()
            os.fsync(fp.fileno())
        if overwrite:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
            os.replace(tmp, path)
            return
        try:
            # A hard link refuses to replace a file that appeared meanwhile.
            os.link(tmp, path)
        except FileExistsError:
            raise _exists_error(path) from None
        except OSError:
            # No hard links here: O_EXCL on the final name keeps the promise.
            _copy_exclusive(tmp, path)
    except OSError as exc:
        named = _about_target(exc, path)
        if named is exc or exc.filename == path:
            raise
        raise named from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _copy_exclusive(tmp, path):
    """Copy ``tmp`` to a new file ``path`` that must not exist yet."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except FileExistsError:
        raise _exists_error(path) from None
    try:
        with os.fdopen(fd, "wb") as out, open(tmp, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


# =============================================================================
# Palette files
# =============================================================================


_HEX6 = re.compile(r"#?([0-9a-fA-F]{6})")
_HEX6_OR_8 = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_UINT = re.compile(r"[0-9]+")


def _rows_to_palette(rows, path):
    """Stack colour tuples; 3-tuples get alpha 255 if any row has alpha."""
    if not rows:
        raise ValueError(f"palette file {path!r} contains no colours.")
    if any(len(row) == 4 for row in rows):
        rows = [row if len(row) == 4 else (*row, 255) for row in rows]
    return np.array(rows, dtype=np.uint8)


def _hex_to_tuple(digits):
    return tuple(int(digits[i : i + 2], 16) for i in range(0, len(digits), 2))


def _decode_text(data):
    # Names are the only free text in these formats: undecodable bytes become
    # U+FFFD instead of failing, and colour values are checked anyway.
    return data.decode("utf-8-sig", errors="replace")


def _parse_gpl(text, path):
    lines = text.split("\n")
    if lines[0].strip() != "GIMP Palette":
        raise ValueError(
            f"malformed GIMP palette {path!r}, line 1: expected the header "
            f"'GIMP Palette', got {_short_repr(lines[0].strip())}."
        )
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(("Name:", "Columns:")):
            continue
        parts = stripped.split(maxsplit=3)
        values = parts[:3]
        if len(values) < 3 or not all(_UINT.fullmatch(v) for v in values):
            raise ValueError(
                f"malformed GIMP palette {path!r}, line {lineno}: expected "
                f"'R G B [name]', got {_short_repr(stripped)}."
            )
        # Length first: int() refuses thousands of digits with its own message.
        if any(len(v.lstrip("0")) > 3 for v in values) or max(map(int, values)) > 255:
            shown = ", ".join(v if len(v) < 9 else v[:6] + "..." for v in values)
            raise ValueError(
                f"malformed GIMP palette {path!r}, line {lineno}: colour values "
                f"must be in [0, 255], got ({shown})."
            )
        rows.append(tuple(int(v) for v in values))
    return _rows_to_palette(rows, path)


def _parse_hex(text, path):
    rows = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith((";", "//")):
            continue
        match = _HEX6.fullmatch(stripped)
        if match is None:
            raise ValueError(
                f"malformed hex palette {path!r}, line {lineno}: expected "
                f"'#rrggbb' or 'rrggbb', got {_short_repr(stripped)}."
            )
        rows.append(_hex_to_tuple(match.group(1)))
    return _rows_to_palette(rows, path)


def _parse_json_entry(entry):
    """Return a colour tuple from a JSON entry, or None if it is invalid."""
    if isinstance(entry, str):
        match = _HEX6_OR_8.fullmatch(entry.strip())
        return None if match is None else _hex_to_tuple(match.group(1))
    if (
        isinstance(entry, list)
        and len(entry) in (3, 4)
        and all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255
            for v in entry
        )
    ):
        return tuple(entry)
    return None


def _json_int(digits):
    """JSON integers; a number too long for a colour stays text (refused)."""
    return int(digits) if len(digits) <= 20 else digits


def _parse_json(text, path):
    try:
        document = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"malformed JSON palette {path!r}, line {exc.lineno}: {exc.msg}."
        ) from None
    except RecursionError:
        raise ValueError(
            f"malformed JSON palette {path!r}: lists or objects nested too "
            "deeply; a palette is a list of colours."
        ) from None
    key = ""
    colors = document
    if isinstance(document, dict):
        if "colors" not in document:
            raise ValueError(
                f"malformed JSON palette {path!r}: the object has no 'colors' "
                f"key (keys: {sorted(document)})."
            )
        key, colors = "colors", document["colors"]
    if not isinstance(colors, list):
        raise ValueError(
            f"malformed JSON palette {path!r}: expected a list of colours, got "
            f"{type(colors).__name__}."
        )
    rows = []
    for i, entry in enumerate(colors):
        row = _parse_json_entry(entry)
        if row is None:
            raise ValueError(
                f"malformed JSON palette {path!r}, entry {key}[{i}]: expected "
                "'#rrggbb', '#rrggbbaa' or a list of 3 or 4 integers in "
                f"[0, 255], got {_short_repr(json.dumps(entry))}."
            )
        rows.append(row)
    return _rows_to_palette(rows, path)


def _parse_act(data, path):
    if len(data) not in (768, 772):
        raise ValueError(
            f"malformed Adobe Color Table {path!r}: the file has {len(data)} "
            "bytes, expected 768 or 772."
        )
    rgb = np.frombuffer(data, dtype=np.uint8, count=768).reshape(256, 3).copy()
    if len(data) == 768:
        return rgb
    count, transparent = struct.unpack(">HH", data[768:])
    if not 1 <= count <= 256:
        raise ValueError(
            f"malformed Adobe Color Table {path!r}: the colour count in the "
            f"footer must be in [1, 256], got {count}."
        )
    rgb = rgb[:count]
    if transparent == 0xFFFF:
        return rgb
    if transparent >= count:
        raise ValueError(
            f"malformed Adobe Color Table {path!r}: transparent index "
            f"{transparent} is not below the colour count {count}."
        )
    alpha = np.full((count, 1), 255, dtype=np.uint8)
    alpha[transparent] = 0
    return np.hstack([rgb, alpha])


def _opaque_rgb(palette, fmt):
    """Drop an all-opaque alpha column; refuse real alpha for RGB formats."""
    if palette.shape[1] == 3:
        return palette
    if np.any(palette[:, 3] != 255):
        raise ValueError(
            f"{fmt} palettes cannot store alpha, but the palette has alpha "
            f"values other than 255 (min={palette[:, 3].min()}); pass "
            "palette[:, :3] to drop it."
        )
    return palette[:, :3]


def _format_gpl(palette, name):
    rgb = _opaque_rgb(palette, ".gpl")
    if "\n" in name or "\r" in name:
        raise ValueError(f"a .gpl palette name must be one line, got {name!r}.")
    lines = ["GIMP Palette", f"Name: {name}", "#"]
    lines += [f"{r:3d} {g:3d} {b:3d}\t#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _format_hex(palette):
    rgb = _opaque_rgb(palette, ".hex and .txt")
    return "".join(f"{r:02x}{g:02x}{b:02x}\n" for r, g, b in rgb).encode("ascii")


def _format_json(palette, name):
    colors = ["#" + bytes(row).hex() for row in palette]
    return (json.dumps({"name": name, "colors": colors}, indent=2) + "\n").encode()


def _format_act(palette):
    n_colors = palette.shape[0]
    if n_colors > 256:
        raise ValueError(
            f"an Adobe Color Table holds at most 256 colours, got {n_colors}."
        )
    transparent = 0xFFFF
    if palette.shape[1] == 4:
        alpha = palette[:, 3]
        clear = np.flatnonzero(alpha == 0)
        if np.any((alpha != 0) & (alpha != 255)) or clear.size > 1:
            raise ValueError(
                ".act palettes store one fully transparent entry at most; the "
                "palette has alpha values "
                f"{sorted(set(alpha.tolist()) - {255})} below 255."
            )
        if clear.size == 1:
            transparent = int(clear[0])
    table = np.zeros((256, 3), dtype=np.uint8)
    table[:n_colors] = palette[:, :3]
    data = table.tobytes()
    if n_colors < 256 or transparent != 0xFFFF:
        data += struct.pack(">HH", n_colors, transparent)
    return data


_PALETTE_EXTENSIONS = (".gpl", ".json", ".hex", ".txt", ".act")


def _palette_extension(path):
    ext = os.path.splitext(path)[1].lower()
    if ext not in _PALETTE_EXTENSIONS:
        raise ValueError(
            f"unsupported palette file extension {ext!r} in {path!r}; use one of "
            f"{', '.join(_PALETTE_EXTENSIONS)}."
        )
    return ext


#: Palette files larger than this are refused before reading (a palette of
#: 65536 named colours in a .gpl file takes about 2 MiB).
_MAX_PALETTE_BYTES = 16 * 2**20


def _read_palette_bytes(path):
    """The bytes of a palette file: a regular file of bounded size."""
    with _open_for_reading(path) as fp:
        status = os.fstat(fp.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ValueError(
                f"palette file {path!r} is not a regular file (a device, pipe "
                "or socket); give a palette file."
            )
        data = fp.read(_MAX_PALETTE_BYTES + 1)
    if len(data) > _MAX_PALETTE_BYTES:
        raise ValueError(
            f"palette file {path!r} is larger than {_MAX_PALETTE_BYTES >> 20} "
            "MiB; it cannot be a palette."
        )
    return data


def read_palette(path):
    """Read a palette file.

    The format is chosen by the file extension, ignoring case:

    - ``.gpl``: GIMP palette, a ``GIMP Palette`` header line, optional
      ``Name:`` and ``Columns:`` lines, ``#`` comments and one ``R G B name``
      row per colour.
    - ``.json``: ``{"name": ..., "colors": ["#rrggbb", ...]}``, or a bare
      list; entries are ``"#rrggbb"``, ``"#rrggbbaa"`` or lists of 3 or 4
      integers.
    - ``.hex`` and ``.txt``: one ``#rrggbb`` or ``rrggbb`` colour per line;
      blank lines and lines starting with ``;`` or ``//`` are ignored.
    - ``.act``: Adobe Color Table, 256 RGB triplets optionally followed by the
      colour count and the transparent index.

    Parameters
    ----------
    path : str or os.PathLike
        The palette file.

    Returns
    -------
    palette : ndarray of shape (n_colors, 3) or (n_colors, 4), dtype uint8
        The colours in file order. Four columns (RGBA) when the file carries
        alpha: a JSON file with at least one ``#rrggbbaa`` or 4-element entry
        (the other entries get alpha 255), or an ``.act`` file with a
        transparent index (alpha 0 at that entry, 255 elsewhere).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the extension is not supported, the file is not a regular file or
        larger than 16 MiB, or it is malformed; the message names the line
        (the entry for JSON) and the offending text.

    See Also
    --------
    write_palette : Write a palette file.

    Notes
    -----
    An ``.act`` file without the 4-byte footer always yields 256 colours,
    including the unused (usually black) entries.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skquant.io import read_palette
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "sunset.hex")
    ...     _ = Path(path).write_text("; sunset\\n#ff8800\\n2a1b3c\\n")
    ...     palette = read_palette(path)
    >>> palette
    array([[255, 136,   0],
           [ 42,  27,  60]], dtype=uint8)
    """
    path = os.fspath(path)
    ext = _palette_extension(path)
    data = _read_palette_bytes(path)
    if ext == ".act":
        return _parse_act(data, path)
    text = _decode_text(data)
    if ext == ".gpl":
        return _parse_gpl(text, path)
    if ext == ".json":
        return _parse_json(text, path)
    return _parse_hex(text, path)


def write_palette(path, palette, *, name=None, overwrite=True):
    """Write a palette file, in the format given by the file extension.

    The formats are those of :func:`read_palette`. The colour order is kept
    exactly, duplicates included, so reading the file back returns the same
    palette.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its extension (``.gpl``, ``.json``, ``.hex``,
        ``.txt`` or ``.act``, any case) selects the format. An existing file is
        replaced.
    palette : array-like of shape (n_colors, 3) or (n_colors, 4)
        RGB or RGBA colours. uint8 is written as is; uint16 is scaled to 8 bits
        with rounding (``round(v / 257)``); floats must be in [0, 1] and are
        scaled with rounding (``round(v * 255)``); other integer types must
        hold values in [0, 255].
    name : str, default=None
        The palette name stored by ``.gpl`` and ``.json`` files. Defaults to
        the file name without its extension. Other formats have no name field
        and ignore it.
    overwrite : bool, default=True
        Replace an existing file. If False and ``path`` exists, or appears
        while the file is written, raise FileExistsError and leave it
        untouched.

    Raises
    ------
    FileExistsError
        If ``overwrite=False`` and ``path`` exists.
    ValueError
        If the extension is not supported, the palette has the wrong shape,
        dtype or value range, the format cannot store the palette's alpha, or
        an ``.act`` palette has more than 256 colours.

    See Also
    --------
    read_palette : Read a palette file.

    Notes
    -----
    Alpha: ``.json`` stores any alpha (as ``#rrggbbaa``). ``.gpl``, ``.hex``
    and ``.txt`` store RGB only, so an RGBA palette is accepted only when all
    its alpha values are 255, and it then reads back with 3 columns. ``.act``
    stores at most one fully transparent entry (alpha 0) as its transparent
    index; other alpha values below 255 are refused.

    An ``.act`` file gets the 4-byte footer (colour count and transparent
    index) when it has fewer than 256 colours or a transparent entry; the
    unused entries of the 256-entry table are zero.

    The file is written to a temporary file in the same folder that then
    replaces ``path``, so a failed write leaves any existing file untouched.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from skquant.io import read_palette, write_palette
    >>> palette = np.array([[255, 0, 0], [0, 128, 255]], dtype=np.uint8)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "two.gpl")
    ...     write_palette(path, palette, name="Two colours")
    ...     with open(path) as fp:
    ...         header = fp.read().splitlines()[:2]
    ...     back = read_palette(path)
    >>> header
    ['GIMP Palette', 'Name: Two colours']
    >>> np.array_equal(back, palette)
    True
    """
    path = os.fspath(path)
    ext = _palette_extension(path)
    palette = _palette_as_uint8(palette)
    if name is None:
        name = os.path.splitext(os.path.basename(path))[0]
    elif not isinstance(name, str):
        raise ValueError(f"name must be a string, got {name!r}.")
    if ext == ".gpl":
        data = _format_gpl(palette, name)
    elif ext == ".json":
        data = _format_json(palette, name)
    elif ext == ".act":
        data = _format_act(palette)
    else:
        data = _format_hex(palette)
    _atomic_write(path, lambda fp: fp.write(data), overwrite=overwrite)


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
_DIRECT_MODES = {"L": ("L", 1, 1), "RGB": ("RGBX", 4, 3), "RGBA": ("RGBA", 4, 4)}


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


def _open_for_reading(path):
    """Open ``path`` in binary mode without hanging on a named pipe.

    Opening a FIFO that no process writes to blocks forever; opening it
    non-blocking and then switching back to blocking reads gives end of file
    at once instead, while a pipe that has a writer reads as usual.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | nonblock)
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


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


def _save_format(path, allowed=None):
    """Return Pillow's format name for the extension of ``path``."""
    ext = os.path.splitext(path)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None or fmt not in Image.SAVE or (allowed and fmt not in allowed):
        choices = (
            ", ".join(f".{name.lower()}" for name in allowed)
            if allowed
            else "an extension Pillow can write (.png, .jpg, .tif, ...)"
        )
        raise ValueError(
            f"unsupported image file extension {ext!r} in {path!r}; use {choices}."
        )
    return fmt


def _pil_save(pil_image, fp, fmt, **params):
    try:
        pil_image.save(fp, format=fmt, **params)
    except OSError as exc:
        if "cannot write mode" in str(exc):
            raise ValueError(
                f"{fmt} cannot store a mode {pil_image.mode!r} image ({exc}); "
                "for example, drop alpha with image[..., :3]."
            ) from exc
        raise


def _encode_png16_color(arr):
    """Encode RGB(A) uint16 as a 16-bit PNG with OpenCV."""
    # OpenCV is imported here only: Pillow cannot write 16-bit colour.
    import cv2

    code = cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(arr), code))
    if not ok:
        raise OSError("OpenCV could not encode the 16-bit PNG")
    return encoded.tobytes()


def write_image(path, image, *, overwrite=True):
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
    fmt = _save_format(path)
    arr = _image_as_array(image)
    if arr.dtype == np.uint16 and fmt != "PNG":
        arr = _uint16_to_uint8(arr)

    if arr.dtype == np.uint16 and arr.shape[2] in (3, 4):
        data = _encode_png16_color(arr)

        def write(fp):
            fp.write(data)

    else:
        pil_image = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)

        def write(fp):
            _pil_save(pil_image, fp, fmt)

    _atomic_write(path, write, overwrite=overwrite)


# =============================================================================
# Indexed images
# =============================================================================


def _labels_as_uint8(labels, n_colors, what="labels"):
    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise ValueError(
            f"{what} must have shape (height, width), got shape {arr.shape}."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{what} is empty (shape {arr.shape}).")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must hold integers, got dtype {arr.dtype}.")
    low, high = int(arr.min()), int(arr.max())
    if low < 0 or high >= n_colors:
        raise ValueError(
            f"{what} must be in [0, {n_colors - 1}] for a palette of {n_colors} "
            f"colours, got min={low}, max={high}."
        )
    return arr.astype(np.uint8, copy=False)


def _indexed_palette(palette, transparent_index):
    """Validate; return (rgb uint8 (K, 3), alpha uint8 (K,))."""
    palette = _palette_as_uint8(palette)
    n_colors = palette.shape[0]
    if n_colors > 256:
        raise ValueError(f"an indexed image holds at most 256 colours, got {n_colors}.")
    alpha = (
        palette[:, 3].copy()
        if palette.shape[1] == 4
        else np.full(n_colors, 255, dtype=np.uint8)
    )
    if transparent_index is not None:
        if (
            not isinstance(transparent_index, numbers.Integral)
            or isinstance(transparent_index, bool)
            or not 0 <= transparent_index < n_colors
        ):
            raise ValueError(
                f"transparent_index must be an integer in [0, {n_colors - 1}], "
                f"got {transparent_index!r}."
            )
        alpha[int(transparent_index)] = 0
    return np.ascontiguousarray(palette[:, :3]), alpha


def _gif_transparency(alpha):
    """Return the single transparent GIF index, or None."""
    partial = sorted(set(alpha[(alpha != 0) & (alpha != 255)].tolist()))
    if partial:
        raise ValueError(
            "GIF stores one fully transparent entry only; the palette has "
            f"partial alpha values {partial}. Use a PNG, or set alpha to 0 or 255."
        )
    clear = np.flatnonzero(alpha == 0)
    if clear.size > 1:
        raise ValueError(
            "GIF stores one fully transparent entry only; palette entries "
            f"{clear.tolist()} have alpha 0."
        )
    return int(clear[0]) if clear.size else None


def _p_image(labels, rgb):
    """A mode "P" Pillow image with exactly the given palette entries."""
    im = Image.fromarray(labels)
    im.putpalette(rgb.tobytes(), "RGB")
    return im


def write_indexed(path, labels, palette, *, transparent_index=None, overwrite=True):
    """Write labels and a palette as an indexed (mode "P") PNG or GIF.

    Unlike :func:`write_image`, nothing is re-quantized: the file stores
    ``labels`` as the pixel indices and ``palette`` as the colour table, in
    the given order.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; ``.png`` or ``.gif`` (any case).
    labels : array-like of shape (height, width)
        Integer palette indices in ``[0, n_colors - 1]``.
    palette : array-like of shape (n_colors, 3) or (n_colors, 4)
        RGB or RGBA colours, at most 256. uint8 is written as is; uint16 and
        floats in [0, 1] are scaled to 8 bits as in :func:`write_palette`.
    transparent_index : int, default=None
        Palette entry to make fully transparent (alpha 0), on top of any
        alpha in ``palette``.
    overwrite : bool, default=True
        Replace an existing file. If False and ``path`` exists, raise
        FileExistsError.

    Raises
    ------
    FileExistsError
        If ``overwrite=False`` and ``path`` exists.
    ValueError
        If the extension is not ``.png`` or ``.gif``, the palette has more
        than 256 colours, a label is out of range, or a GIF is asked for alpha
        it cannot store.

    See Also
    --------
    write_animated_gif : Write several label images as an animated GIF.
    write_image : Write an RGB(A) or grayscale array.

    Notes
    -----
    PNG stores any alpha per palette entry (the tRNS chunk). GIF stores a
    single fully transparent entry: the palette may have at most one entry
    with alpha 0 (or ``transparent_index``) and no alpha strictly between 0
    and 255, otherwise ValueError.

    A GIF colour table has a power of two entries (at least 2): the file's
    table is the palette followed by black padding entries. PNG stores exactly
    ``n_colors`` entries.

    The write is atomic, as in :func:`write_image`.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skquant.io import write_indexed
    >>> labels = np.array([[0, 1, 2], [2, 1, 0]])
    >>> palette = np.array(
    ...     [[0, 0, 0, 0], [255, 0, 0, 255], [0, 0, 255, 128]], dtype=np.uint8
    ... )
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "labels.png")
    ...     write_indexed(path, labels, palette)
    ...     with Image.open(path) as im:
    ...         mode, colors = im.mode, im.getpalette()
    ...         alpha, pixels = im.info["transparency"], np.array(im)
    >>> mode, colors
    ('P', [0, 0, 0, 255, 0, 0, 0, 0, 255])
    >>> alpha
    b'\\x00\\xff\\x80'
    >>> np.array_equal(pixels, labels)
    True
    """
    path = os.fspath(path)
    fmt = _save_format(path, allowed=("PNG", "GIF"))
    rgb, alpha = _indexed_palette(palette, transparent_index)
    labels = _labels_as_uint8(labels, rgb.shape[0])
    im = _p_image(labels, rgb)
    if fmt == "PNG":
        params = {"optimize": False}
        opaque_tail = np.flatnonzero(alpha != 255)
        if opaque_tail.size:
            params["transparency"] = alpha[: opaque_tail[-1] + 1].tobytes()
    else:
        params = {"optimize": False, "palette": rgb.tobytes()}
        gif_transparent = _gif_transparency(alpha)
        if gif_transparent is not None:
            params["transparency"] = gif_transparent
    _atomic_write(
        path, lambda fp: _pil_save(im, fp, fmt, **params), overwrite=overwrite
    )


def write_animated_gif(
    path,
    frames_labels,
    palette,
    *,
    duration=100,
    loop=0,
    transparent_index=None,
    overwrite=True,
):
    """Write label images as an animated GIF with one global palette.

    Every frame uses the same colour table, stored once as the GIF's global
    colour table; frames get no local tables and the palette is not
    optimized or re-quantized.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; must end in ``.gif`` (any case).
    frames_labels : sequence of array-like of shape (height, width)
        Integer palette indices, one array per frame, all of the same shape
        (an array of shape (n_frames, height, width) works too).
    palette : array-like of shape (n_colors, 3) or (n_colors, 4)
        At most 256 colours, shared by all frames; alpha as in
        :func:`write_indexed` for GIF (one fully transparent entry at most).
    duration : int or sequence of int, default=100
        Display time of each frame in milliseconds, one value for all frames
        or one per frame. GIF stores hundredths of a second.
    loop : int or None, default=0
        Number of times to repeat the animation; 0 repeats forever and None
        plays it once (no loop extension).
    transparent_index : int, default=None
        Palette entry to make fully transparent.
    overwrite : bool, default=True
        Replace an existing file. If False and ``path`` exists, raise
        FileExistsError.

    Raises
    ------
    FileExistsError
        If ``overwrite=False`` and ``path`` exists.
    ValueError
        If the extension is not ``.gif``, there are no frames, frames differ
        in shape, a label is out of range, the palette has more than 256
        colours or alpha a GIF cannot store, or ``duration`` has the wrong
        length.

    See Also
    --------
    write_indexed : Write one indexed PNG or GIF.

    Notes
    -----
    Pillow stores each frame after the first as the rectangle that changed,
    and merges a frame identical to the previous one into it (adding their
    durations), so such frames do not count in the file. With a transparent
    entry, frames use disposal method 2 (restore to background), so that a
    transparent pixel never shows the previous frame through it.

    The write is atomic, as in :func:`write_image`.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skquant.io import write_animated_gif
    >>> palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    >>> frames = [np.eye(4, dtype=int), np.eye(4, dtype=int)[::-1]]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "blink.gif")
    ...     write_animated_gif(path, frames, palette, duration=250)
    ...     with Image.open(path) as im:
    ...         n_frames, duration = im.n_frames, im.info["duration"]
    >>> n_frames, duration
    (2, 250)
    """
    path = os.fspath(path)
    fmt = _save_format(path, allowed=("GIF",))
    rgb, alpha = _indexed_palette(palette, transparent_index)
    gif_transparent = _gif_transparency(alpha)
    frames = [
        _labels_as_uint8(frame, rgb.shape[0], what=f"frames_labels[{i}]")
        for i, frame in enumerate(frames_labels)
    ]
    if not frames:
        raise ValueError("frames_labels is empty; give at least one frame.")
    shapes = {frame.shape for frame in frames}
    if len(shapes) > 1:
        raise ValueError(
            f"all frames must have the same shape, got shapes {sorted(shapes)}."
        )
    if isinstance(duration, numbers.Real):
        duration = [duration] * len(frames)
    else:
        duration = list(duration)
        if len(duration) != len(frames):
            raise ValueError(
                f"duration has {len(duration)} values for {len(frames)} frames."
            )
    for value in duration:
        if not isinstance(value, numbers.Real) or not 0 <= value <= _MAX_GIF_DURATION:
            raise ValueError(
                "duration must be in [0, 655350] milliseconds (a GIF stores "
                f"at most 65535 hundredths of a second per frame), got {value!r}."
            )
    images = [_p_image(frame, rgb) for frame in frames]
    params = {
        "save_all": True,
        "append_images": images[1:],
        "duration": duration,
        "optimize": False,
        "palette": rgb.tobytes(),
    }
    if loop is not None:
        params["loop"] = loop
    if gif_transparent is not None:
        params["transparency"] = gif_transparent
        params["disposal"] = 2
    _atomic_write(
        path, lambda fp: _pil_save(images[0], fp, fmt, **params), overwrite=overwrite
    )
