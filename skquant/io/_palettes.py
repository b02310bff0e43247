"""Palette files: GIMP (.gpl), JSON, hex lists (.hex, .txt), Adobe Color
Tables (.act), read and written by :func:`read_palette` and
:func:`write_palette`."""

import json
import os
import re
import stat
import struct

import numpy as np

from skquant.io._arrays import _palette_as_uint8, _short_repr
from skquant.io._files import _atomic_write, _open_for_reading

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
