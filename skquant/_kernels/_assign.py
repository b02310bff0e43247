"""Nearest-palette assignment: the hot path of ``predict`` and ``transform``.

Every function here takes pixel blocks ``(n_pixels, n_channels)`` and a
palette already expressed in the working colour space, and returns the index
of the nearest palette entry (squared Euclidean distance in the working
space) for each pixel, through the grid search of
:mod:`skquant._kernels._grid`: the brute-force answer in float64 whatever
the data (the lowest index among exact ties). Memory stays bounded: nothing
of shape ``(n_pixels, n_colors)`` is built, and beyond the grid's channel
count the brute force works in chunks of a fixed number of bytes.
:func:`take_rows` gathers the palette colours of the labels;
:func:`map_to_palette` does both without a label array.

Below ``MIN_GRID_QUERIES`` pixels (or little work, see
:func:`~skquant._kernels._grid.grid_for`) the grid would cost more than it
saves and every search is in full. 8-bit data with up to three channels (and opaque
8-bit RGBA pixels), from a megapixel on, also get a lookup table over all
codes (``2**24`` entries for RGB, allocated per call with ``np.zeros``,
which the OS backs page by page as the photo's colours touch it, and
indexed in Morton order so that similar colours share pages): each distinct
colour is converted to the working space and searched once, which makes the
perceptual spaces (``'lab'``, ``'oklab'``, ``'din99o'``) cost nearly the
same as ``'rgb'``. In ``'rgb'``, 8-bit RGB pixels first look up their cell
of 4 x 4 x 4 codes (:mod:`skquant._kernels._cells`), settled once per cell:
most need no search at all (a 12 MP photo: 2.6x less CPU at K=16, 1.3x at
K=64, 1.15x at K=256). Nothing is kept between calls.

Compiled specialisations are few (they dominate a cold start): the table
kernels read uint8, the others float64 or float32 as given; other dtypes
are converted to float64 a chunk at a time.
"""

import numpy as np

from skquant import _color
from skquant._kernels import _checks
from skquant._kernels._box import pixel_box
from skquant._kernels._cache import kernel
from skquant._kernels._cells import (
    CELL_SHIFT,
    MAX_CELL_COLORS,
    MAX_FIRST_SURVIVORS,
    UNSETTLED,
    cell_box,
    cell_code,
    cell_pick,
    fill_block,
    new_cells,
    pick,
    settle,
)
from skquant._kernels._colorspace import (
    IDENTITY,
    SPACE_CODES,
    linear_to_work,
    srgb_decode,
    srgb_decode_array,
)
from skquant._kernels._grid import (
    MAX_GRID_CHANNELS,
    grid_for,
    nearest,
    nearest3,
    no_grid,
)
from skquant._kernels._runner import TASK_CHUNK, kernel_threads, run_parallel

#: Largest palette for the int16 lookup table (labels are stored plus one).
MAX_LUT_COLORS = np.iinfo(np.int16).max - 1

#: Smallest 8-bit input that gets the lookup table. Each distinct colour costs
#: a cache miss in the 32 MiB table, which on photos below a megapixel costs
#: as much as searching every pixel (and the table would outweigh the image).
LUT_MIN_PIXELS = 1 << 20

#: Below this many pixels, building the grid costs more than a full search
#: (beyond, :func:`~skquant._kernels._grid.grid_for` decides by the work).
MIN_GRID_QUERIES = 1 << 12

#: Palettes from this size on are mapped by :func:`_assign_blocks`, which
#: writes the labels of cells with two to four survivors to the lookup
#: table. Transform of a 12 MP photo, CPU of one thread, paired with
#: :func:`_assign_cells` on a loaded machine: 0.91-0.96x at K=256, but
#: 1.03-1.11x at K=64 and 1.08-1.11x at K=16 (fewer pixels in such cells).
BLOCK_MIN_COLORS = 128

#: Pixels per chunk when the input must be copied (cast or made contiguous).
COPY_CHUNK = 1 << 16


def _morton_spread():
    """``table[v]``: the 8 bits of ``v`` moved to bits 0, 3, 6, ..., 21."""
    values = np.arange(256, dtype=np.int64)
    spread = np.zeros(256, dtype=np.int64)
    for bit in range(8):
        spread |= ((values >> bit) & 1) << (3 * bit)
    return spread


#: Bit spreading for the Morton-ordered table of 8-bit RGB codes.
_MORTON = _morton_spread()


# %% brute force ---------------------------------------------------------------


def nearest_brute(pixels, palette_work, *, to_working=None, out=None):
    """Exact nearest palette entry by chunked brute force.

    Parameters
    ----------
    pixels : ndarray of shape (n_pixels, n_channels)
        Pixels in the input's units.
    palette_work : ndarray of shape (n_colors, n_channels)
        Palette in the working space (float).
    to_working : callable or None
        Maps a chunk of pixels to the working space; ``None`` casts to the
        palette's float dtype.
    out : ndarray of shape (n_pixels,), dtype int32, optional

    Returns
    -------
    labels : ndarray of shape (n_pixels,), dtype int32
    """
    pixels = _checks.pixels_2d(pixels)
    palette_work = np.asarray(palette_work)
    if palette_work.dtype.kind != "f":
        palette_work = palette_work.astype(np.float64)
    n_colors = _checks.palette_for(palette_work, palette_work.shape[-1]).shape[0]
    if to_working is None:
        _checks.palette_for(palette_work, pixels.shape[1])
    n = pixels.shape[0]
    if out is None:
        labels = np.empty(n, dtype=np.int32)
    elif out.shape != (n,) or out.dtype != np.int32:
        raise ValueError(
            f"out must be int32 of shape ({n},), got {out.dtype} {out.shape}."
        )
    else:
        labels = out
    half_sq_norms = 0.5 * np.einsum("ij,ij->i", palette_work, palette_work)
    # Per row: the scores (n_colors), the working values and the chunk's copy.
    itemsize = palette_work.dtype.itemsize
    chunk = _checks.rows_within(itemsize * (n_colors + 2 * palette_work.shape[1] + 2))
    buffer = np.empty((min(chunk, n), n_colors), palette_work.dtype)
    for start in range(0, n, chunk):
        block = pixels[start : start + chunk]
        work = (
            block.astype(palette_work.dtype, copy=False)
            if to_working is None
            else to_working(block)
        )
        if work.shape != (block.shape[0], palette_work.shape[1]):
            raise ValueError(
                f"to_working gave shape {work.shape} for {block.shape[0]} pixels; "
                f"the palette has {palette_work.shape[1]} channels."
            )
        # argmin ||x - p||^2 = argmin (||p||^2 / 2 - x . p)
        scores = np.matmul(work, palette_work.T, out=buffer[: len(block)])
        np.subtract(half_sq_norms, scores, out=scores)
        scores.argmin(axis=1, out=labels[start : start + chunk])
    return labels


# %% kernels --------------------------------------------------------------------
#
# ``space`` is IDENTITY for 'rgb' (the values as given) or the code of a
# perceptual space (the values / scale are sRGB: decoded, then converted).
# Three channels get scalar code, several times faster than loops over a
# channel axis; other channel counts (1, 2, 4; 'rgb' only) the generic search.


@kernel(inline="always")
def _colour3(pixels, i, decode, scale, space):
    """Working value of the 3 first channels of pixel ``i``."""
    if decode.shape[0] > 0:
        x0 = decode[np.int64(pixels[i, 0])]
        x1 = decode[np.int64(pixels[i, 1])]
        x2 = decode[np.int64(pixels[i, 2])]
    elif space == IDENTITY:
        return (
            np.float64(pixels[i, 0]),
            np.float64(pixels[i, 1]),
            np.float64(pixels[i, 2]),
        )
    else:
        x0 = srgb_decode(pixels[i, 0] / scale)
        x1 = srgb_decode(pixels[i, 1] / scale)
        x2 = srgb_decode(pixels[i, 2] / scale)
    if space == IDENTITY:
        return x0, x1, x2
    return linear_to_work(x0, x1, x2, space)


@kernel(inline="always")
def _morton_code(pixels, i):
    return (
        (_MORTON[np.int64(pixels[i, 0])] << 2)
        | (_MORTON[np.int64(pixels[i, 1])] << 1)
        | _MORTON[np.int64(pixels[i, 2])]
    )


@kernel(inline="always")
def _recall(table, code):
    """Label remembered for ``code`` in a lookup table, -1 if not yet."""
    if table.shape[0] == 0:
        return np.int32(-1)
    return np.int32(table[code]) - 1


@kernel
def _assign3(pixels, first, stop, decode, scale, space, grid, table, labels):
    """Labels of 3-channel pixels, converting each to the working space.

    With a non-empty ``table`` (8-bit pixels), ``table[code]`` holds label +
    1 of the colour ``code`` once searched, 0 before; threads racing on one
    code write the same value. With a uint8 table, label + 1 = 256 wraps to
    0, so those colours are searched again. Codes interleave the bits of R,
    G and B (Morton order), so that nearby colours share memory pages and
    cache lines: a photo touches 2 to 3 times fewer pages of the table than
    with ``R << 16 | G << 8 | B``.
    """
    use_table = table.shape[0] > 0
    for i in range(first, stop):
        code = _morton_code(pixels, i) if use_table else 0
        v = _recall(table, code)
        if v < 0:
            x0, x1, x2 = _colour3(pixels, i, decode, scale, space)
            v = nearest3(x0, x1, x2, np.int64(-1), grid)
            if use_table:
                table[code] = v + 1
        labels[i] = v


@kernel
def _assign_cells(pixels, first, stop, grid, cells, table, labels):
    """Labels of 8-bit RGB pixels in the 'rgb' space, through settled cells.

    Most pixels get their label from their cell of ``cells`` (see
    :mod:`skquant._kernels._cells`); those of unsettled cells go through the
    lookup ``table`` and the grid as in :func:`_assign3`.
    """
    keep = np.empty(MAX_FIRST_SURVIVORS, np.int64)
    half = np.full(3, 1.5)
    use_table = table.shape[0] > 0
    palette = grid[0]
    for i in range(first, stop):
        cell = cell_code(pixels, i)
        entry = cells[cell]
        if entry == 0:
            entry = settle(cell, grid, keep, half)
            cells[cell] = entry
        v = cell_pick(pixels, i, palette, entry)
        if v < 0:
            code = _morton_code(pixels, i) if use_table else 0
            v = _recall(table, code)
            if v < 0:
                x0, x1, x2 = pixels[i, 0], pixels[i, 1], pixels[i, 2]
                v = nearest3(
                    np.float64(x0), np.float64(x1), np.float64(x2), np.int64(-1), grid
                )
                if use_table:
                    table[code] = v + 1
        labels[i] = v


@kernel
def _assign_blocks(pixels, first, stop, grid, cells, table, labels):
    """:func:`_assign_cells` for larger palettes: no distances per pixel.

    A pixel whose cell of ``cells`` has one survivor takes its label;
    otherwise its colour is looked up in ``table``, the Morton-ordered
    label + 1 (0: not known yet). A colour not known goes to
    :func:`_resolve`, which settles the cell and writes all 64 colours of a
    cell with two to four survivors to ``table`` at once (the colours of
    unsettled cells are searched on the grid one by one). At K=256, 57% of
    a 12 MP photo's pixels are in cells of several survivors.
    """
    scratch = (np.empty(MAX_FIRST_SURVIVORS, np.int64), np.empty(3, np.int64))
    for i in range(first, stop):
        entry = cells[cell_code(pixels, i)]
        n = entry & np.uint64(15)
        if n == 1:  # one survivor: the cell's label
            v = np.int64(entry >> np.uint64(4))
        else:
            code = _morton_code(pixels, i)
            v = np.int64(table[code]) - 1
            if v < 0:
                v = _resolve(pixels, i, code, grid, cells, table, scratch)
        labels[i] = v


@kernel
def _resolve(pixels, i, code, grid, cells, table, scratch):
    """Label of 8-bit RGB pixel ``i`` (Morton ``code``) not yet in ``table``.

    Not inlined: called once per cell and per colour of unsettled cells
    (binding the ``grid`` tuple costs reference counting of its arrays).
    """
    keep, corner = scratch
    palette = grid[0]
    cell = cell_code(pixels, i)
    entry = cells[cell]
    if entry == 0:
        entry = settle(cell, grid, keep, np.full(3, 1.5))
        cells[cell] = entry
        n = entry & np.uint64(15)
        if n != 1 and n != UNSETTLED:
            mask = (1 << CELL_SHIFT) - 1
            for j in range(3):
                corner[j] = np.int64(pixels[i, j]) & ~mask
            fill_block(table, code & ~np.int64(63), corner, palette, entry)
    x0 = np.float64(pixels[i, 0])
    x1 = np.float64(pixels[i, 1])
    x2 = np.float64(pixels[i, 2])
    v = pick(x0, x1, x2, palette, entry)
    if v < 0:
        v = nearest3(x0, x1, x2, np.int64(-1), grid)
        table[code] = v + 1
    return v


@kernel
def _assign_any(pixels, first, stop, grid, table, labels):
    """Labels of pixels of any channel count, values as given ('rgb').

    With a non-empty ``table`` (8-bit pixels, 1 or 2 channels), as
    :func:`_assign3` with plain codes.
    """
    d = pixels.shape[1]
    use_table = table.shape[0] > 0
    x = np.empty(d, np.float64)
    for i in range(first, stop):
        code = 0
        for j in range(d if use_table else 0):
            code = (code << 8) | np.int64(pixels[i, j])
        v = _recall(table, code)
        if v < 0:
            for j in range(d):
                x[j] = pixels[i, j]
            v = nearest(x, np.int64(-1), grid)
            if use_table:
                table[code] = v + 1
        labels[i] = v


@kernel
def _assign_alpha(
    pixels, first, stop, decode, scale, space, full, weight, grid, table, labels
):
    """Labels of RGBA pixels: premultiplied working colour plus opacity.

    The working point of ``(r, g, b, a)`` is ``(w0 o, w1 o, w2 o, weight o)``
    with ``o = a / full`` and ``w`` the colour in the working space (as in
    :func:`_assign3`). Opaque 8-bit pixels (``a == full`` and a non-empty
    ``table``) go through the lookup table of their RGB code, as in
    :func:`_assign3`: most pixels of most RGBA images.
    """
    use_table = table.shape[0] > 0
    x = np.empty(4, np.float64)
    for i in range(first, stop):
        a = np.float64(pixels[i, 3])
        opaque = use_table and a == full
        code = _morton_code(pixels, i) if opaque else 0
        v = _recall(table, code) if opaque else np.int32(-1)
        if v < 0:
            x0, x1, x2 = _colour3(pixels, i, decode, scale, space)
            o = a / full
            x[0] = x0 * o
            x[1] = x1 * o
            x[2] = x2 * o
            x[3] = o * weight
            v = nearest(x, np.int64(-1), grid)
            if opaque:
                table[code] = v + 1
        labels[i] = v


@kernel
def _take_rows(palette, labels, start, stop, out):
    for i in range(start, stop):
        row = labels[i]
        for j in range(palette.shape[1]):
            out[i, j] = palette[row, j]


# %% orchestration ---------------------------------------------------------------


def assign_labels(
    pixels, palette_work, *, space="rgb", scale=1.0, alpha=None, box=None
):
    """Index of the nearest palette entry for each pixel, in the working space.

    Exact: equal to a brute-force search with float64 distances, except that
    among equally near entries any may be returned. See the module docstring
    for how.

    Parameters
    ----------
    pixels : ndarray of shape (n_pixels, n_channels)
        Validated pixels in the input's units (any real dtype, any layout).
    palette_work : ndarray of shape (n_colors, n_channels)
        The palette in the working space, float32 or float64.
    space : {'rgb', 'lab', 'oklab', 'din99o'}
        Working space. ``'rgb'`` compares the input values themselves; the
        perceptual spaces first map ``pixels / scale`` (sRGB in [0, 1]).
    scale : float
        Full-scale value of the input dtype (255 for uint8, 1.0 for floats).
    alpha : (float, float) or None
        ``(full, weight)`` for RGBA pixels compared with their opacity: the
        working point of ``(r, g, b, a)`` is the colour's working value
        (as above) times the opacity ``o = a / full``, followed by
        ``weight * o``; ``palette_work`` has these four columns.
    box : (ndarray, ndarray) or None
        ``(lo, hi)``, each of shape ``(n_channels,)``: the range of the
        pixels' values in each channel, what
        :func:`~skquant._kernels._box.pixel_box` ``(pixels, 'rgb')`` gives,
        for callers that label the same pixels for many palettes (without
        ``alpha``, in ``'rgb'``). The grid is laid over it; pixels outside
        it are searched in full, so a wrong box costs time, never
        exactness. None: computed here.

    Returns
    -------
    labels : ndarray of shape (n_pixels,), dtype int32
    """
    pixels, palette = _check_assign(pixels, palette_work, space, scale, alpha)
    box = _check_box(box, pixels.shape[1], space, alpha)
    n_pixels, n_channels = pixels.shape
    n_colors = palette.shape[0]
    labels = np.zeros(n_pixels, dtype=np.int32)
    if n_pixels == 0 or n_colors == 1:
        return labels
    if n_channels > MAX_GRID_CHANNELS:
        return _assign_brute(pixels, palette, space, scale, labels)
    kernel, args, kernel_dtype, copy = _labeller(
        pixels, palette, space, scale, alpha, box
    )

    def task(worker, first, stop):
        if copy:
            block = np.ascontiguousarray(pixels[first:stop], kernel_dtype)
            kernel(block, 0, stop - first, *args, labels[first:stop])
        else:
            kernel(pixels, first, stop, *args, labels)

    n_threads = kernel_threads(n_pixels)
    run_parallel(task, n_pixels, n_threads, chunk=COPY_CHUNK if copy else TASK_CHUNK)
    return labels


def map_to_palette(
    pixels,
    palette_work,
    colors,
    *,
    space="rgb",
    scale=1.0,
    alpha=None,
    keep_clear=False,
):
    """``colors[assign_labels(pixels, palette_work, ...)]``, without the labels.

    The labels of each chunk of pixels go to a small per-thread buffer and
    are turned into colours at once, so no ``(n_pixels,)`` label array is
    written and read back: on a 12 MP photo that is 48 MB less memory
    traffic and page faults, and the peak memory is the output alone.

    Parameters
    ----------
    pixels : ndarray of shape (n_pixels, n_channels)
        As for :func:`assign_labels`.
    palette_work : ndarray of shape (n_colors, n_channels)
        The palette in the working space.
    colors : ndarray of shape (n_colors, n_out)
        What each palette entry maps to (the palette in the output dtype).
    space, scale, alpha
        As for :func:`assign_labels`.
    keep_clear : bool, default=False
        With ``alpha``: fully transparent pixels (alpha 0) keep their own
        first three channels (the colour entry's alpha is kept).

    Returns
    -------
    mapped : ndarray of shape (n_pixels, n_out), dtype of ``colors``
    """
    pixels, palette = _check_assign(pixels, palette_work, space, scale, alpha)
    n_pixels, n_channels = pixels.shape
    colors = _checks.colors_for(colors, palette.shape[0])
    if (
        n_pixels == 0
        or palette.shape[0] == 1
        or n_channels > MAX_GRID_CHANNELS
        or colors.dtype not in COLOR_DTYPES
    ):
        labels = assign_labels(pixels, palette, space=space, scale=scale, alpha=alpha)
        out = take_rows(colors, labels)
        if keep_clear and alpha is not None:
            _keep_clear(pixels, out)
        return out
    kernel, args, kernel_dtype, copy = _labeller(pixels, palette, space, scale, alpha)
    keep_clear = keep_clear and alpha is not None
    out = np.empty((n_pixels, colors.shape[1]), colors.dtype)
    chunk = COPY_CHUNK if copy else TASK_CHUNK
    n_threads = kernel_threads(n_pixels)
    buffers = [np.empty(min(chunk, n_pixels), np.int32) for _ in range(n_threads)]

    def task(worker, first, stop):
        n = stop - first
        labels = buffers[worker][:n]
        block = pixels[first:stop]
        if copy:
            block = np.ascontiguousarray(block, kernel_dtype)
        kernel(block, 0, n, *args, labels)
        _take_rows(colors, labels, 0, n, out[first:stop])
        if keep_clear:
            _keep_clear(pixels[first:stop], out[first:stop])

    if n_threads > 1:
        run_parallel(task, n_pixels, n_threads, chunk=chunk)
    else:
        for first in range(0, n_pixels, chunk):
            task(0, first, min(n_pixels, first + chunk))
    return out


def _keep_clear(pixels, out):
    """Fully transparent pixels keep their own colour channels in ``out``."""
    clear = pixels[:, 3] == 0
    if clear.any():
        out[clear, :3] = pixels[clear, :3]


def _check_assign(pixels, palette_work, space, scale, alpha=None):
    """Checked pixels and float64 palette for :func:`assign_labels`."""
    pixels = _checks.pixels_2d(pixels)
    palette = _checks.palette_for(palette_work, pixels.shape[1], "palette_work")
    if alpha is None:
        _checks.space_for(space, pixels.shape[1], scale)
    else:
        _checks.space_for(space, 3, scale)
        full, weight = alpha
        if pixels.shape[1] != 4 or not (np.isfinite([full, weight]).all()):
            raise ValueError(
                f"alpha needs RGBA pixels (4 channels) and finite (full, weight), "
                f"got {pixels.shape[1]} channels and alpha={alpha!r}."
            )
        if not (full > 0 and weight > 0):
            raise ValueError(f"alpha=(full, weight) must be > 0, got alpha={alpha!r}.")
    return pixels, np.ascontiguousarray(palette, dtype=np.float64)


def _check_box(box, n_channels, space, alpha):
    """``box`` for :func:`assign_labels` as two float64 arrays, or None.

    Each bound finite, or ``lo = inf`` / ``hi = -inf`` (no finite value in
    that channel, as :func:`~skquant._kernels._box.pixel_box` gives it);
    only for ``'rgb'`` without ``alpha``.
    """
    if box is None:
        return None
    if space != "rgb" or alpha is not None:
        raise ValueError(
            f"box is for space='rgb' without alpha, got space={space!r} and "
            f"alpha={alpha!r}."
        )
    lo, hi = (np.asarray(bound, dtype=np.float64) for bound in box)
    if lo.shape != (n_channels,) or hi.shape != (n_channels,):
        raise ValueError(
            f"box must be (lo, hi) of shape ({n_channels},) each, got shapes "
            f"{lo.shape} and {hi.shape}."
        )
    if not (
        np.all(np.isfinite(lo) | (lo == np.inf))
        and np.all(np.isfinite(hi) | (hi == -np.inf))
    ):
        raise ValueError(f"box bounds must be finite, got lo={lo} and hi={hi}.")
    return lo.copy(), hi.copy()


#: Dtypes of palettes and colours the gathering kernel is compiled for.
COLOR_DTYPES = _checks.IMAGE_DTYPES


def _labeller(pixels, palette, space, scale, alpha=None, box=None):
    """The kernel that labels ``pixels`` and its arguments.

    Builds what :func:`assign_labels` needs for these pixels and this
    palette: the grid, the lookup table for 8-bit data from a megapixel on,
    the colour conversion. Returns ``(kernel, args, kernel_dtype, copy)``:
    ``kernel(block, first, stop, *args, labels)`` labels rows ``first:stop``
    of ``block``, which must have ``kernel_dtype`` and be C-contiguous
    (``copy`` says whether ``pixels`` needs converting first).
    With ``alpha`` (RGBA pixels) and ``box``, see :func:`assign_labels`.
    """
    n_pixels, n_channels = pixels.shape
    n_colors = palette.shape[0]
    code = SPACE_CODES[space] if space != "rgb" else IDENTITY
    dtype = pixels.dtype
    lut = (
        dtype == np.uint8
        and (n_channels <= 3 or alpha is not None)
        and n_colors <= MAX_LUT_COLORS
        and n_pixels >= LUT_MIN_PIXELS
    )
    cells = lut and code == IDENTITY and n_channels == 3 and n_colors <= MAX_CELL_COLORS
    if n_pixels >= MIN_GRID_QUERIES:
        if box is None:
            lo, hi, cone = pixel_box(pixels, space, alpha)
        else:
            (lo, hi), cone = box, None
        if cells:
            lo, hi = cell_box()  # grid borders between cells
        # With the table, each distinct colour is searched once: a photo
        # has several pixels per distinct colour.
        n_queries = n_pixels // 8 if lut else n_pixels
        grid = grid_for(palette, lo, hi, n_queries, cone=cone)
    else:
        grid = no_grid(palette)
    table = np.zeros(0, np.uint8)
    if lut:
        # Zero-filled by the OS page by page as the photo's colours touch it.
        # Up to 256 colours, one byte per code: half the memory and 20% faster
        # on a 12 MP photo (label 255 is stored as 256 -> 0, "not searched
        # yet", so those colours are searched again each time: still exact).
        small = n_channels >= 3 and n_colors <= 256
        table = np.zeros(1 << (8 * min(n_channels, 3)), np.uint8 if small else np.int16)
    if cells:
        kernel = _assign_blocks if n_colors >= BLOCK_MIN_COLORS else _assign_cells
        args = (grid, new_cells(), table)
        return kernel, args, np.dtype(np.uint8), not pixels.flags.c_contiguous
    # Integer codes of the perceptual spaces: decoded once per code.
    decode = np.empty(0)
    if code != IDENTITY and dtype.kind == "u" and dtype.itemsize <= 2:
        decode = srgb_decode_array(np.arange(int(np.iinfo(dtype).max) + 1) / scale)
    if alpha is not None:
        full, weight = (float(v) for v in alpha)
        colour = (decode, float(scale), code, full, weight)
        kernel, args = _assign_alpha, (*colour, grid, table)
    elif n_channels == 3:
        kernel, args = _assign3, (decode, float(scale), code, grid, table)
    else:
        kernel, args = _assign_any, (grid, table)
    kernel_dtype = np.dtype(np.uint8 if lut else np.float64)
    if not lut and dtype == np.float32:
        kernel_dtype = dtype  # a float32 copy would cost more than compiling
    copy = dtype != kernel_dtype or not pixels.flags.c_contiguous
    return kernel, args, kernel_dtype, copy


def take_rows(palette, labels):
    """``palette[labels]`` for int32 labels, without numpy's index copy.

    numpy converts int32 indices to intp before gathering (``np.take``
    allocates twice the labels' size; fancy indexing is three times slower
    on a 12 MP image); this kernel reads them as they are, on
    :func:`kernel_threads` threads.

    Parameters
    ----------
    palette : ndarray of shape (n_colors, n_channels)
    labels : ndarray of shape (n_pixels,), integer

    Returns
    -------
    colors : ndarray of shape (n_pixels, n_channels), palette's dtype
    """
    palette = _checks.real_array(palette, "palette", 2)
    labels = _checks.labels_for(labels, palette.shape[0])
    if (
        palette.dtype not in COLOR_DTYPES
        or labels.dtype != np.int32
        or labels.ndim != 1
        or not labels.flags.c_contiguous
    ):
        return palette[labels]
    palette = np.ascontiguousarray(palette)
    out = np.empty((labels.shape[0], palette.shape[1]), palette.dtype)
    n = labels.shape[0]

    def task(worker, start, stop):
        _take_rows(palette, labels, start, stop, out)

    run_parallel(task, n, kernel_threads(n), chunk=TASK_CHUNK * 4)
    return out


def _assign_brute(pixels, palette, space, scale, labels):
    """Chunked brute force in float64, for more channels than the grid takes."""

    def to_working(chunk):
        work = chunk.astype(np.float64)
        if space == "rgb":
            return work
        return _color.to_working(work / scale, space)

    return nearest_brute(pixels, palette, to_working=to_working, out=labels)
