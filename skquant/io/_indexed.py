"""Indexed files: labels and a palette as a true mode "P" PNG or GIF
(:func:`write_indexed`), and animated GIFs with one global palette
(:func:`write_animated_gif`)."""

import numbers
import os

import numpy as np
from PIL import Image

from skquant._unique import distinct
from skquant.io import _pillow
from skquant.io._arrays import _palette_as_uint8
from skquant.io._files import _atomic_write
from skquant.io._metadata import save_params

#: The longest display time of a GIF frame, in milliseconds.
_MAX_GIF_DURATION = 655350


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


def _indexable(fmt, arr):
    """``(labels, palette)`` when ``arr`` goes to an indexed PNG or GIF: uint8
    RGB, or RGBA with some transparency (an opaque RGBA image stays RGBA, so
    that it reads back with 4 channels), holding at most 256 colours."""
    if fmt not in ("PNG", "GIF") or arr.dtype != np.uint8:
        return None
    if arr.shape[2] != 3 and not (arr.shape[2] == 4 and fmt == "PNG"):
        return None
    if arr.shape[2] == 4 and arr[:, :, 3].min() == 255:
        return None
    return _few_colors(arr)


def _few_colors(arr, limit=256):
    """``(labels, palette)`` of a uint8 RGB(A) image with at most ``limit``
    colours, else None.

    RGB colours are marked in a table of the 2**24 possible ones (linear
    time); RGBA ones are sorted. A sample of the pixels rejects photos early.
    """
    n_channels = arr.shape[2]
    flat = arr.reshape(-1, n_channels)
    codes = np.zeros(flat.shape[0], dtype=np.uint32)
    for channel in range(n_channels):
        codes <<= 8
        codes |= flat[:, channel]
    sample = codes[:: max(1, codes.size // 65536)]
    if distinct(sample).size > limit:
        return None
    if n_channels == 3:
        present = np.zeros(1 << 24, dtype=bool)
        present[codes] = True
        colors = np.flatnonzero(present)
        if colors.size > limit:
            return None
        table = np.zeros(1 << 24, dtype=np.uint8)
        table[colors] = np.arange(colors.size, dtype=np.uint8)
        labels = table[codes]
    else:
        colors, labels = np.unique(codes, return_inverse=True)
        if colors.size > limit:
            return None
        labels = labels.astype(np.uint8)
    shifts = 8 * np.arange(n_channels - 1, -1, -1, dtype=np.uint32)
    palette = ((colors[:, None] >> shifts) & 0xFF).astype(np.uint8)
    return labels.reshape(arr.shape[:2]), palette


def write_indexed(
    path, labels, palette, *, transparent_index=None, overwrite=True, metadata=None
):
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
    metadata : dict, default=None
        Metadata to store in a PNG: ``'icc_profile'`` (bytes, unchanged),
        ``'dpi'`` (x, y) and ``'text'`` (a dict of str, as text chunks); a
        GIF stores none of it.

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
    write = indexed_writer(path, labels, palette, transparent_index, metadata)
    _atomic_write(path, write, overwrite=overwrite)


def indexed_writer(path, labels, palette, transparent_index=None, metadata=None):
    """``write(fp)``: encodes labels and a palette as :func:`write_indexed`
    writes them to ``path`` into any binary file object."""
    fmt = _pillow._save_format(path, allowed=("PNG", "GIF"))
    rgb, alpha = _indexed_palette(palette, transparent_index)
    labels = _labels_as_uint8(labels, rgb.shape[0])
    im = _p_image(labels, rgb)
    if fmt == "PNG":
        params = {"optimize": False, **save_params(fmt, metadata)}
        opaque_tail = np.flatnonzero(alpha != 255)
        if opaque_tail.size:
            params["transparency"] = alpha[: opaque_tail[-1] + 1].tobytes()
    else:
        params = {"optimize": False, "palette": rgb.tobytes()}
        gif_transparent = _gif_transparency(alpha)
        if gif_transparent is not None:
            params["transparency"] = gif_transparent
    return lambda fp: _pillow._pil_save(im, fp, fmt, **params)


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
    fmt = _pillow._save_format(path, allowed=("GIF",))
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
        path,
        lambda fp: _pillow._pil_save(images[0], fp, fmt, **params),
        overwrite=overwrite,
    )
