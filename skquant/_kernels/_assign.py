"""Nearest-palette assignment: the hot path of ``predict`` and ``transform``.

Every function here takes validated pixel blocks ``(n_pixels, n_channels)`` and a
palette already expressed in the working colour space, and returns the index of
the nearest palette entry (squared Euclidean distance in the working space) for
each pixel. Memory stays bounded: nothing of shape ``(n_pixels, n_colors)`` is
ever built for a whole image, only for chunks. :func:`take_rows` gathers the
palette colours of the labels; :func:`lloyd_kmeans` runs scikit-learn's Lloyd
iterations with these exact, faster assignments on few low-dimensional points
(a pooled colour histogram).

How :func:`assign_labels` is exact and fast
-------------------------------------------
For up to four channels a coarse grid is laid over the working space. Each cell
carries the palette entries that can be nearest for *some* point of the cell:
an entry ``p`` is dropped when another entry ``q`` is strictly nearer for every
point of the cell, which is decided exactly from the cell's centre ``c`` and
half-widths ``h``::

    min over the cell of |x - p|**2 - |x - q|**2
        = |c - p|**2 - |c - q|**2 - 2 * sum_j h_j * |p_j - q_j|  >  0

(the difference of two squared distances is linear in ``x``). Cells are refined
coarse to fine, each child testing only its parent's survivors, so the grid
costs little even for thousands of colours. Cells keep one to a handful of
entries; long lists are sorted by their lower bound so that the search stops
early. Points outside the grid fall back to a full search, and so does
everything when there are fewer than ``MIN_GRID_PIXELS`` pixels (building
the grid would cost more): the result is the brute-force answer in float64
whatever the data, ties aside.

8-bit data with up to three channels, from a megapixel on, also get a lookup
table over all codes (``2**24`` int16 entries for RGB, allocated per call with
``np.zeros``, which the OS backs page by page as the photo's colours touch
it, and indexed in Morton order so that similar colours share pages): each
distinct colour is converted to the working space and searched once, which
makes the perceptual spaces (``'lab'``, ``'oklab'``, ``'din99o'``) cost
nearly the same as ``'rgb'``. Nothing is kept between calls.

Threads
-------
The kernels are serial numba functions compiled with ``nogil=True``;
:func:`run_parallel` runs them on chunks of pixels from a few Python threads,
which take the next chunk when they finish one (a thread the OS delays on a
busy machine simply does fewer). Compared with ``parallel=True`` and
``prange`` this compiles four to five times faster (about 1 s per kernel
specialisation instead of 5) and balances load dynamically. The number of
threads (:func:`kernel_threads`) is ``numba.get_num_threads()``, capped by
the OpenMP limit that :mod:`threadpoolctl` reports and by the work size
(``MIN_PIXELS_PER_THREAD`` pixels per thread at least), so both
``numba.set_num_threads(1)`` and ``threadpool_limits(1)`` make skquant's
kernels single-threaded. The handles of the loaded OpenMP runtimes are looked
up once (4 ms); their limits are read at every call.
"""

import functools
import itertools
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from skquant import _color
from skquant._kernels import _checks

#: Candidate lists longer than this are searched with an early stop on the
#: lower bounds; shorter ones are scanned in full, which avoids unpredictable
#: branches and is faster.
LONG_LIST = 12


#: Grid search is used up to this many channels; more fall back to brute force.
MAX_GRID_CHANNELS = 4

#: Upper bound on the number of grid cells.
MAX_GRID_CELLS = 1 << 18

#: Largest palette for the int16 lookup table (labels are stored plus one).
MAX_LUT_COLORS = np.iinfo(np.int16).max - 1

#: Smallest 8-bit input that gets the lookup table. Each distinct colour costs
#: a cache miss in the 32 MiB table, which on photos below a megapixel costs
#: as much as searching every pixel (and the table would outweigh the image).
LUT_MIN_PIXELS = 1 << 20

#: Below this many pixels, building the grid costs more than a full search.
MIN_GRID_PIXELS = 1 << 15

#: Pixels handed to a thread at a time.
TASK_CHUNK = 1 << 18

#: Cell tests (a few ns each) below which building a grid level uses one thread.
MIN_TESTS_PER_THREAD = 1 << 18

#: Below this many pixels per thread, an extra thread is not worth waking.
MIN_PIXELS_PER_THREAD = 1 << 18

# Working-space codes for the kernels.
_RGB, _LAB, _OKLAB, _DIN99O = 0, 1, 2, 3
_SPACE_CODES = {"rgb": _RGB, "lab": _LAB, "oklab": _OKLAB, "din99o": _DIN99O}

# sRGB decoding and CIELAB companding constants, as in skquant._color.
_SRGB_KNEE = _color._SRGB_ENCODED_KNEE
_SRGB_SLOPE = _color._SRGB_SLOPE
_SRGB_OFFSET = _color._SRGB_OFFSET
_SRGB_GAMMA = _color._SRGB_GAMMA
_LAB_EPSILON = _color._LAB_EPSILON
_LAB_SLOPE = _color._LAB_SLOPE
_LAB_F_OFFSET = _color._LAB_F_OFFSET
_DIN99O_L_SCALE = _color._DIN99O_L_SCALE
_DIN99O_L_RATE = _color._DIN99O_L_RATE
_DIN99O_C_RATE = _color._DIN99O_C_RATE
_DIN99O_C_SCALE = _color._DIN99O_C_SCALE
# (a*, b*) -> (a99o, b99o) / (C99o / G), as four scalars for the kernels.
_DIN99O_D00, _DIN99O_D01 = (float(v) for v in _color._DIN99O_AB_DIRECTION[0])
_DIN99O_D10, _DIN99O_D11 = (float(v) for v in _color._DIN99O_AB_DIRECTION[1])


def _morton_spread():
    """``table[v]``: the 8 bits of ``v`` moved to bits 0, 3, 6, ..., 21."""
    values = np.arange(256, dtype=np.int64)
    spread = np.zeros(256, dtype=np.int64)
    for bit in range(8):
        spread |= ((values >> bit) & 1) << (3 * bit)
    return spread


#: Bit spreading for the Morton-ordered table of 8-bit RGB codes.
_MORTON = _morton_spread()

# Linear light -> working space: work = M2 @ f(M1 @ linear) + offset.
_SPACE_MATRICES = {
    "rgb": (np.eye(3), np.eye(3), np.zeros(3)),
    "lab": (
        _color._XYZN_FROM_LINEAR,
        _color._LAB_FROM_F,
        np.array([-_color._LAB_L_OFFSET, 0.0, 0.0]),
    ),
    "oklab": (_color._LMS_FROM_LINEAR, _color._OKLAB_M2, np.zeros(3)),
}
# DIN99o: CIELAB first, then the scalar map in _lab_to_din99o.
_SPACE_MATRICES["din99o"] = _SPACE_MATRICES["lab"]


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


# %% threads -------------------------------------------------------------------


@functools.cache
def _openmp_libraries():
    # Built once: the handles of the OpenMP runtimes loaded with scikit-learn
    # and numba; their limits are read live at every call.
    return ThreadpoolController().select(user_api="openmp").lib_controllers


def kernel_threads(n_items, *, min_items=MIN_PIXELS_PER_THREAD):
    """Threads for a numba kernel over ``n_items`` items.

    ``numba.get_num_threads()``, capped by the OpenMP limit set through
    :mod:`threadpoolctl` and by ``n_items // min_items``.
    """
    n_threads = numba.get_num_threads()
    if n_items < 2 * min_items or n_threads == 1:
        return 1
    for lib in _openmp_libraries():
        limit = lib.get_num_threads()
        if limit is not None and limit >= 1:
            n_threads = min(n_threads, limit)
    return max(1, min(n_threads, n_items // min_items))


def run_parallel(task, n_items, n_threads, *, chunk):
    """Call ``task(worker, start, stop)`` over ``[0, n_items)`` in chunks.

    With one thread, a single call covers everything. Otherwise
    ``n_threads`` Python threads (the kernels release the GIL) take chunks
    of ``chunk`` items from a shared counter until none is left, so a thread
    that the OS delays on a busy machine simply takes fewer chunks.
    ``worker`` (0 to ``n_threads - 1``) lets a task keep per-thread state.
    """
    if n_threads <= 1 or n_items <= chunk:
        task(0, 0, n_items)
        return
    n_chunks = -(-n_items // chunk)
    counter = itertools.count()

    def work(worker):
        for c in iter(counter.__next__, None):
            if c >= n_chunks:
                return
            task(worker, c * chunk, min(n_items, (c + 1) * chunk))

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        # list() re-raises the first exception of any worker.
        list(pool.map(work, range(n_threads)))


# %% colour conversion inside the kernels ---------------------------------------


@numba.njit(cache=True, nogil=True)
def _srgb_decode(value):
    mag = abs(value)
    if mag <= _SRGB_KNEE:
        lin = mag / _SRGB_SLOPE
    else:
        lin = ((mag + _SRGB_OFFSET) / (1.0 + _SRGB_OFFSET)) ** _SRGB_GAMMA
    return math.copysign(lin, value)


@numba.njit(cache=True, nogil=True)
def _companding(t, space):
    if space != _OKLAB and t <= _LAB_EPSILON:
        return _LAB_SLOPE * t + _LAB_F_OFFSET
    return np.cbrt(t)


@numba.njit(cache=True, nogil=True, inline="always")
def _linear_to_work(l0, l1, l2, space, m1, m2, offset):
    """Linear-light RGB -> working space (``space`` is not ``_RGB``)."""
    f0 = _companding(m1[0, 0] * l0 + m1[0, 1] * l1 + m1[0, 2] * l2, space)
    f1 = _companding(m1[1, 0] * l0 + m1[1, 1] * l1 + m1[1, 2] * l2, space)
    f2 = _companding(m1[2, 0] * l0 + m1[2, 1] * l1 + m1[2, 2] * l2, space)
    w0 = m2[0, 0] * f0 + m2[0, 1] * f1 + m2[0, 2] * f2 + offset[0]
    w1 = m2[1, 0] * f0 + m2[1, 1] * f1 + m2[1, 2] * f2 + offset[1]
    w2 = m2[2, 0] * f0 + m2[2, 1] * f1 + m2[2, 2] * f2 + offset[2]
    if space == _DIN99O:
        return _lab_to_din99o(w0, w1, w2)
    return w0, w1, w2


@numba.njit(cache=True, nogil=True, inline="always")
def _lab_to_din99o(lightness, a, b):
    """CIELAB -> DIN99o for one colour (see :func:`skquant._color.lab_to_din99o`)."""
    e = _DIN99O_D00 * a + _DIN99O_D01 * b
    f = _DIN99O_D10 * a + _DIN99O_D11 * b
    # |(e, f)| is G, the chroma before compression: scale it to C99o.
    g = math.sqrt(e * e + f * f)
    if g > 0.0:
        ratio = math.log1p(_DIN99O_C_RATE * g) / (_DIN99O_C_SCALE * g)
    else:
        ratio = _DIN99O_C_RATE / _DIN99O_C_SCALE
    return (
        math.copysign(_DIN99O_L_SCALE, lightness)
        * math.log1p(_DIN99O_L_RATE * abs(lightness)),
        e * ratio,
        f * ratio,
    )


@numba.njit(cache=True, nogil=True)
def _decode_table(n_codes, scale, space):
    """Working value of each integer code: itself for 'rgb', else linear light."""
    table = np.empty(n_codes, np.float64)
    for code in range(n_codes):
        if space == _RGB:
            table[code] = code
        else:
            table[code] = _srgb_decode(code / scale)
    return table


# %% grid of candidate lists ---------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _beats(palette, q, p, half, dc_q, dc_p):
    """True when entry ``q`` is strictly nearer than ``p`` everywhere in a cell.

    ``dc_q`` and ``dc_p`` are their squared distances to the cell's centre and
    ``half`` its half-widths; the margin absorbs rounding errors.
    """
    spread = 0.0
    for j in range(palette.shape[1]):
        spread += half[j] * abs(palette[p, j] - palette[q, j])
    margin = dc_p - dc_q - 2.0 * spread
    return margin > 1e-9 * (dc_p + dc_q) + 1e-300


@numba.njit(cache=True, nogil=True)
def _cell_candidates(
    cell, g, factor, lo, width, pad, palette, p_start, p_cand, s, sort
):
    """Palette entries that can be nearest somewhere in grid cell ``cell``.

    ``s`` is a per-thread scratch: ``s.keep[:n]`` receives the entries and
    ``s.lower[:n]`` the squared distance from the cell to each, and ``n`` is
    returned. With ``sort``, lists longer than ``LONG_LIST`` are sorted by
    that lower bound.
    """
    keep, lower, dc, beaten, centre, half = s
    d = palette.shape[1]
    g_parent = g // factor
    rest = cell
    parent = 0
    stride = 1
    for j in range(d - 1, -1, -1):
        c = rest % g
        rest //= g
        parent += (c // factor) * stride
        stride *= g_parent
        centre[j] = lo[j] + (c + 0.5) * width[j]
        half[j] = 0.5 * width[j] + pad[j]
    start = p_start[parent]
    n = p_start[parent + 1] - start
    # q, the entry whose farthest point of the cell is nearest, beats most.
    best_far = np.inf
    q = 0
    for k in range(n):
        p = p_cand[start + k]
        near = 0.0
        far = 0.0
        centre_sq = 0.0
        for j in range(d):
            delta = abs(centre[j] - palette[p, j])
            centre_sq += delta * delta
            far += (delta + half[j]) ** 2
            gap = delta - half[j]
            if gap > 0.0:
                near += gap * gap
        keep[k] = p
        dc[k] = centre_sq
        lower[k] = near
        if far < best_far:
            best_far = far
            q = k
    m = 0
    for k in range(n):
        if k == q or not _beats(palette, keep[q], keep[k], half, dc[q], dc[k]):
            keep[m] = keep[k]
            lower[m] = lower[k]
            dc[m] = dc[k]
            m += 1
    # Few survivors left: drop those that another survivor beats (beating is
    # transitive, so dropping them all at once is safe).
    if 2 < m <= 64:
        for a in range(m):
            beaten[a] = False
            for b in range(m):
                if b != a and _beats(palette, keep[b], keep[a], half, dc[b], dc[a]):
                    beaten[a] = True
                    break
        n_kept = 0
        for a in range(m):
            if not beaten[a]:
                keep[n_kept] = keep[a]
                lower[n_kept] = lower[a]
                n_kept += 1
        m = n_kept
    # Long lists are searched in order of lower bound, stopping early.
    if sort and m > LONG_LIST:
        _shell_sort(lower, keep, m)
    return m


@numba.njit(cache=True, nogil=True)
def _shell_sort(key, values, n):
    """Sort ``key[:n]`` in place, moving ``values[:n]`` along (Knuth's gaps).

    Written out because ``np.argsort`` costs seconds of compilation on first
    use, and these lists are short (tens to a few thousand entries).
    """
    gap = 1
    while gap < n // 3:
        gap = 3 * gap + 1
    while gap > 0:
        for i in range(gap, n):
            k = key[i]
            v = values[i]
            j = i
            while j >= gap and key[j - gap] > k:
                key[j] = key[j - gap]
                values[j] = values[j - gap]
                j -= gap
            key[j] = k
            values[j] = v
        gap //= 3


@numba.njit(cache=True, nogil=True)
def _scratch(n, d):
    return (
        np.empty(n, np.int32),
        np.empty(n, np.float64),
        np.empty(n, np.float64),
        np.empty(n, np.bool_),
        np.empty(d, np.float64),
        np.empty(d, np.float64),
    )


@numba.njit(cache=True, nogil=True)
def _refine_cells(
    first, stop, palette, lo, span, g, factor, p_start, p_cand, fill, start, cand, lower
):
    """Candidate lists of cells ``first`` to ``stop - 1`` of a ``g`` grid.

    The parent grid has ``g // factor`` cells per axis and its lists in CSR
    form (``p_start``, ``p_cand``). The counting pass (``fill=False``) stores
    each cell's count in ``start[cell + 1]``; the filling pass writes the
    lists, sorted where long, to ``cand`` and ``lower`` from ``start[cell]``.
    """
    d = palette.shape[1]
    width = span / g
    pad = 1e-7 * width + 1e-12 * (np.abs(lo) + span)
    max_n = 0
    for c in range(p_start.shape[0] - 1):
        max_n = max(max_n, p_start[c + 1] - p_start[c])
    s = _scratch(max_n, d)
    for cell in range(first, stop):
        m = _cell_candidates(
            cell, g, factor, lo, width, pad, palette, p_start, p_cand, s, fill
        )
        if not fill:
            start[cell + 1] = m
            continue
        o = start[cell]
        for k in range(m):
            cand[o + k] = s[0][k]
            lower[o + k] = s[1][k]


def _refine(palette, lo, span, g, factor, p_start, p_cand):
    """Candidate lists of a ``g``-per-axis grid from its parent grid's.

    Returns the child's ``(start, cand, lower)`` in CSR form.
    """
    n_cells = g ** palette.shape[1]
    # Work ~ cells x candidates per parent cell (a few ns each).
    n_tests = n_cells * (len(p_cand) // (len(p_start) - 1))
    n_threads = kernel_threads(n_tests, min_items=MIN_TESTS_PER_THREAD)
    chunk = max(64, n_cells // (8 * n_threads))
    grid = (palette, lo, span, g, factor, p_start, p_cand)
    start = np.zeros(n_cells + 1, np.int64)
    empty = (np.empty(0, np.int32), np.empty(0))

    def count(worker, first, stop):
        _refine_cells(first, stop, *grid, False, start, *empty)

    run_parallel(count, n_cells, n_threads, chunk=chunk)
    np.cumsum(start, out=start)
    cand, lower = np.empty(start[-1], np.int32), np.empty(start[-1])

    def fill(worker, first, stop):
        _refine_cells(first, stop, *grid, True, start, cand, lower)

    run_parallel(fill, n_cells, n_threads, chunk=chunk)
    return start, cand, lower


# %% search ----------------------------------------------------------------------
#
# Three channels get scalar code (``_nearest3``, ``_assign_lut3``,
# ``_assign_direct3``): several times faster than loops over a channel axis.
# Other channel counts (1, 2, 4; 'rgb' only) use the generic versions.


@numba.njit(cache=True, nogil=True, inline="always")
def _nearest3(x0, x1, x2, palette, lo, inv_width, g, start, cand, lower):
    """Index of the palette entry nearest to the working-space point x."""
    t0 = (x0 - lo[0]) * inv_width[0]
    t1 = (x1 - lo[1]) * inv_width[1]
    t2 = (x2 - lo[2]) * inv_width[2]
    best = np.inf
    arg = 0
    if not (t0 >= 0.0 and t0 < g and t1 >= 0.0 and t1 < g and t2 >= 0.0 and t2 < g):
        # Outside the grid: full search.
        for p in range(palette.shape[0]):
            d0 = x0 - palette[p, 0]
            d1 = x1 - palette[p, 1]
            d2 = x2 - palette[p, 2]
            dist = d0 * d0 + d1 * d1 + d2 * d2
            if dist < best:
                best = dist
                arg = p
        return arg
    cell = (int(t0) * g + int(t1)) * g + int(t2)
    s = start[cell]
    e = start[cell + 1]
    sorted_search = e - s > LONG_LIST
    for k in range(s, e):
        if sorted_search and lower[k] > best:
            break
        p = cand[k]
        d0 = x0 - palette[p, 0]
        d1 = x1 - palette[p, 1]
        d2 = x2 - palette[p, 2]
        dist = d0 * d0 + d1 * d1 + d2 * d2
        if dist < best:
            best = dist
            arg = p
    return arg


@numba.njit(cache=True, nogil=True)
def _nearest(x, palette, lo, inv_width, g, start, cand, lower):
    """:func:`_nearest3` for any number of channels, ``x`` an array."""
    d = palette.shape[1]
    cell = 0
    s = 0
    e = palette.shape[0]
    inside = True
    for j in range(d):
        t = (x[j] - lo[j]) * inv_width[j]
        if not (t >= 0.0 and t < g):
            inside = False
            break
        cell = cell * g + int(t)
    if inside:
        s = start[cell]
        e = start[cell + 1]
    sorted_search = inside and e - s > LONG_LIST
    best = np.inf
    arg = 0
    for k in range(s, e):
        if sorted_search and lower[k] > best:
            break
        p = cand[k] if inside else k
        dist = 0.0
        for j in range(d):
            delta = x[j] - palette[p, j]
            dist += delta * delta
        if dist < best:
            best = dist
            arg = p
    return arg


@numba.njit(cache=True, nogil=True)
def _assign_lut3(
    pixels,
    first,
    stop,
    decode,
    space,
    m1,
    m2,
    offset,
    palette,
    lo,
    inv_width,
    g,
    start,
    cand,
    lower,
    table,
    labels,
):
    """Labels of 8-bit RGB pixels through a lazily filled table of all codes.

    ``table[code]`` holds label + 1 of the colour ``code`` once searched, 0
    before; threads racing on one code write the same value. With a uint8
    table, label + 1 = 256 wraps to 0, so those colours are searched again. Codes
    interleave the bits of R, G and B (Morton order), so that nearby colours
    share memory pages and cache lines: a photo touches 2 to 3 times fewer
    pages of the table than with ``R << 16 | G << 8 | B``.
    """
    for i in range(first, stop):
        r = pixels[i, 0]
        gr = pixels[i, 1]
        b = pixels[i, 2]
        code = (_MORTON[r] << 2) | (_MORTON[gr] << 1) | _MORTON[b]
        v = np.int32(table[code])
        if v == 0:
            x0, x1, x2 = decode[r], decode[gr], decode[b]
            if space != _RGB:
                x0, x1, x2 = _linear_to_work(x0, x1, x2, space, m1, m2, offset)
            v = _nearest3(x0, x1, x2, palette, lo, inv_width, g, start, cand, lower)
            v += 1
            table[code] = v
        labels[i] = v - 1


@numba.njit(cache=True, nogil=True)
def _assign_direct3(
    pixels,
    first,
    stop,
    decode,
    scale,
    space,
    m1,
    m2,
    offset,
    palette,
    lo,
    inv_width,
    g,
    start,
    cand,
    lower,
    labels,
):
    """Labels of 3-channel pixels, converting each to the working space.

    Integer codes go through ``decode`` when it is not empty; other values
    are taken as they are (``'rgb'``) or divided by ``scale`` and decoded.
    """
    use_table = decode.shape[0] > 0
    for i in range(first, stop):
        if use_table:
            x0 = decode[int(pixels[i, 0])]
            x1 = decode[int(pixels[i, 1])]
            x2 = decode[int(pixels[i, 2])]
        elif space == _RGB:
            x0 = np.float64(pixels[i, 0])
            x1 = np.float64(pixels[i, 1])
            x2 = np.float64(pixels[i, 2])
        else:
            x0 = _srgb_decode(np.float64(pixels[i, 0]) / scale)
            x1 = _srgb_decode(np.float64(pixels[i, 1]) / scale)
            x2 = _srgb_decode(np.float64(pixels[i, 2]) / scale)
        if space != _RGB:
            x0, x1, x2 = _linear_to_work(x0, x1, x2, space, m1, m2, offset)
        labels[i] = _nearest3(x0, x1, x2, palette, lo, inv_width, g, start, cand, lower)


@numba.njit(cache=True, nogil=True)
def _assign_lut(
    pixels, first, stop, palette, lo, inv_width, g, start, cand, lower, table, labels
):
    """:func:`_assign_lut3` for 1 or 2 channels of 8-bit data ('rgb' only)."""
    d = pixels.shape[1]
    x = np.empty(d, np.float64)
    for i in range(first, stop):
        code = 0
        for j in range(d):
            code = (code << 8) | np.int64(pixels[i, j])
        v = np.int32(table[code])
        if v == 0:
            for j in range(d):
                x[j] = pixels[i, j]
            v = _nearest(x, palette, lo, inv_width, g, start, cand, lower) + 1
            table[code] = v
        labels[i] = v - 1


@numba.njit(cache=True, nogil=True)
def _assign_direct(
    pixels, first, stop, palette, lo, inv_width, g, start, cand, lower, labels
):
    """:func:`_assign_direct3` for any number of channels ('rgb' only)."""
    d = pixels.shape[1]
    x = np.empty(d, np.float64)
    for i in range(first, stop):
        for j in range(d):
            x[j] = pixels[i, j]
        labels[i] = _nearest(x, palette, lo, inv_width, g, start, cand, lower)


@numba.njit(cache=True, nogil=True)
def _assign_alpha(
    pixels,
    first,
    stop,
    decode,
    scale,
    space,
    m1,
    m2,
    offset,
    full,
    weight,
    palette,
    lo,
    inv_width,
    g,
    start,
    cand,
    lower,
    table,
    labels,
):
    """Labels of RGBA pixels: premultiplied working colour plus opacity.

    The working point of ``(r, g, b, a)`` is ``(w0 o, w1 o, w2 o, weight o)``
    with ``o = a / full`` and ``w`` the colour in the working space (as in
    :func:`_assign_direct3`). Opaque 8-bit pixels (``a == full`` and a
    non-empty ``table``) go through the lookup table of their RGB code, as
    in :func:`_assign_lut3`: most pixels of most RGBA images.
    """
    use_decode = decode.shape[0] > 0
    use_table = table.shape[0] > 0
    x = np.empty(4, np.float64)
    for i in range(first, stop):
        a = np.float64(pixels[i, 3])
        opaque = use_table and a == full
        code = 0
        if opaque:
            code = (
                (_MORTON[np.int64(pixels[i, 0])] << 2)
                | (_MORTON[np.int64(pixels[i, 1])] << 1)
                | _MORTON[np.int64(pixels[i, 2])]
            )
            v = np.int32(table[code])
            if v != 0:
                labels[i] = v - 1
                continue
        if use_decode:
            x0 = decode[np.int64(pixels[i, 0])]
            x1 = decode[np.int64(pixels[i, 1])]
            x2 = decode[np.int64(pixels[i, 2])]
        elif space == _RGB:
            x0 = np.float64(pixels[i, 0])
            x1 = np.float64(pixels[i, 1])
            x2 = np.float64(pixels[i, 2])
        else:
            x0 = _srgb_decode(np.float64(pixels[i, 0]) / scale)
            x1 = _srgb_decode(np.float64(pixels[i, 1]) / scale)
            x2 = _srgb_decode(np.float64(pixels[i, 2]) / scale)
        if space != _RGB:
            x0, x1, x2 = _linear_to_work(x0, x1, x2, space, m1, m2, offset)
        o = a / full
        x[0] = x0 * o
        x[1] = x1 * o
        x[2] = x2 * o
        x[3] = o * weight
        v = _nearest(x, palette, lo, inv_width, g, start, cand, lower)
        if opaque:
            table[code] = v + 1
        labels[i] = v


# %% orchestration ---------------------------------------------------------------


#: Dtypes the pixel kernels are compiled for.
_KERNEL_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


def _kernel_dtype(dtype, lut, n_channels):
    """The dtype a kernel is compiled for that holds ``dtype``'s values.

    Few specialisations keep numba's compile time down: the table kernels
    take uint8; three channels uint16, float32 or float64; other channel
    counts float32 or float64. Other dtypes are cast chunk by chunk.
    """
    if lut:
        return np.dtype(np.uint8)
    if dtype in (np.float32, np.float64):
        return dtype
    if n_channels == 3 and dtype in (np.uint8, np.uint16):
        return np.dtype(np.uint16)
    if dtype.kind in "iu" and dtype.itemsize <= 2:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


#: Pixels per chunk when the input must be copied (cast or made contiguous).
COPY_CHUNK = 1 << 18


@numba.njit(cache=True, nogil=True)
def _column_range(pixels, start, stop, lo, hi, floor, ceil):
    """Per-column min/max of ``pixels[start:stop]`` into ``lo``, ``hi``.

    Stops early once every column spans ``floor`` to ``ceil`` (the dtype's
    whole range: 8-bit photos reach it within a few thousand pixels).
    """
    d = pixels.shape[1]
    for block in range(start, stop, 4096):
        for i in range(block, min(block + 4096, stop)):
            for j in range(d):
                v = np.float64(pixels[i, j])
                if v < lo[j]:
                    lo[j] = v
                if v > hi[j]:
                    hi[j] = v
        full = True
        for j in range(d):
            full = full and lo[j] <= floor and hi[j] >= ceil
        if full:
            return


def column_range(pixels):
    """Smallest and largest value of each column, as float64 arrays.

    One pass over the pixels (numpy reduces ``(n, 3)`` along axis 0 ten times
    slower than this, and three passes over columns take three times longer).
    """
    pixels = _checks.pixels_2d(pixels)
    n_pixels, n_channels = pixels.shape
    if n_pixels == 0:
        return np.full(n_channels, np.inf), np.full(n_channels, -np.inf)
    if pixels.dtype not in _KERNEL_DTYPES or not pixels.flags.c_contiguous:
        lo = np.array([pixels[:, j].min() for j in range(n_channels)], np.float64)
        hi = np.array([pixels[:, j].max() for j in range(n_channels)], np.float64)
        return lo, hi
    n_threads = kernel_threads(n_pixels, min_items=MIN_PIXELS_PER_THREAD * 4)
    lo = np.full((n_threads, n_channels), np.inf)
    hi = np.full((n_threads, n_channels), -np.inf)

    if pixels.dtype.kind in "iu":
        info = np.iinfo(pixels.dtype)
        floor, ceil = float(info.min), float(info.max)
    else:
        floor, ceil = -np.inf, np.inf

    def task(worker, start, stop):
        _column_range(pixels, start, stop, lo[worker], hi[worker], floor, ceil)

    run_parallel(task, n_pixels, n_threads, chunk=TASK_CHUNK * 4)
    return lo.min(axis=0), hi.max(axis=0)


def grid_size(n_colors, n_channels, n_queries):
    """Cells per axis of the finest grid, a power of two.

    A finer grid keeps fewer candidates per cell (a few ns saved per search)
    but costs about 0.3 us per cell to build. For RGB the size follows the
    number of colours: 8 cells per axis up to 32 colours, 16 up to 4096, 32
    beyond, the fastest measured on a 12 MP photo (through the lookup table)
    and on a 0.3 MP one (every pixel searched) from K=16 to 16384; finer grids
    were 10-40% slower. Other channel counts: about eight cells per entry
    along each axis, at most one cell per eight searches ``n_queries`` (and
    at most ``MAX_GRID_CELLS``).
    """
    if n_channels == 3:
        if n_colors <= 32:
            return 8
        return 16 if n_colors <= 4096 else 32
    target = 8.0 * n_colors ** (1.0 / n_channels)
    g = 1 << max(1, math.ceil(math.log2(target)))
    max_cells = min(MAX_GRID_CELLS, max(1 << 12, n_queries // 8))
    while g > 2 and g**n_channels > max_cells:
        g //= 2
    return g


def build_grid(palette_work, lo, span, g):
    """Candidate lists of a ``g``-per-axis grid over ``[lo, lo + span]``.

    Returns ``(start, cand, lower)`` in CSR form: the candidates of cell ``c``
    are ``cand[start[c]:start[c + 1]]``, sorted by their lower bound.
    """
    n_colors = palette_work.shape[0]
    start = np.array([0, n_colors], dtype=np.int64)
    cand = np.arange(n_colors, dtype=np.int32)
    lower = np.zeros(n_colors)
    size = 1
    while size < g:
        factor = 2
        size *= factor
        start, cand, lower = _refine(palette_work, lo, span, size, factor, start, cand)
    return start, cand, lower


#: Grids kept by :func:`cached_grid` (a few MiB at most each).
GRID_CACHE_SIZE = 8

_grid_cache = {}
_grid_cache_lock = threading.Lock()


def cached_grid(palette, lo, span, g):
    """:func:`build_grid`, remembered for the last few palettes and boxes.

    Mapping the frames of a video or a photo collection onto one palette
    asks for the same grid again and again (for 8-bit RGB and the
    perceptual spaces the box does not depend on the pixels): building it
    is most of the transform of a small frame at K=256 (about 10 ms of 25).
    The grid is a pure function of its arguments, kept in a small
    process-wide table keyed by their bytes (not on the estimator, which
    ``transform`` must leave unchanged); its arrays are read-only.
    """
    key = (palette.shape, palette.tobytes(), lo.tobytes(), span.tobytes(), int(g))
    with _grid_cache_lock:
        grid = _grid_cache.get(key)
    if grid is not None:
        return grid
    grid = build_grid(palette, lo, span, g)
    for array in grid:
        array.flags.writeable = False
    with _grid_cache_lock:
        while len(_grid_cache) >= GRID_CACHE_SIZE:
            _grid_cache.pop(next(iter(_grid_cache)))
        _grid_cache[key] = grid
    return grid


def _gamut_bounds(space):
    """Bounding box of the sRGB cube in the working space (sampled)."""
    axis = np.linspace(0.0, 1.0, 17)
    cube = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)
    work = _color.to_working(cube.reshape(-1, 3), space)
    return work.min(axis=0), work.max(axis=0)


def _value_range(pixels):
    """Per-channel range of the pixels' finite values (8-bit: the dtype's)."""
    if pixels.dtype == np.uint8:
        return np.zeros(pixels.shape[1]), np.full(pixels.shape[1], 255.0)
    lo, hi = column_range(pixels)
    # Infinite values are searched in full, outside the grid (NaN never
    # widens the range).
    return np.where(np.isfinite(lo), lo, np.inf), np.where(np.isfinite(hi), hi, -np.inf)


def _grid_bounds(pixels, palette_work, space, alpha=None):
    """Box of the working space covered by the grid.

    It holds the palette and, for ``'rgb'``, every pixel; for the perceptual
    spaces it holds the sRGB gamut (out-of-gamut points are searched in full).
    With ``alpha=(full, weight)`` the points are the colours premultiplied
    by the opacity ``a / full``, plus ``weight`` times the opacity.
    """
    if alpha is not None:
        full, weight = alpha
        lo, hi = _value_range(pixels)
        opacity = np.array([lo[3], hi[3]]) / full
        if space != "rgb":
            lo[:3], hi[:3] = _gamut_bounds(space)
        corners = np.stack(
            [lo[:3] * o for o in opacity] + [hi[:3] * o for o in opacity]
        )
        lo[:3], hi[:3] = corners.min(axis=0), corners.max(axis=0)
        lo[3], hi[3] = sorted(opacity * weight)
        lo, hi = np.nan_to_num(lo, nan=np.inf), np.nan_to_num(hi, nan=-np.inf)
    elif space != "rgb":
        lo, hi = _gamut_bounds(space)
    else:
        lo, hi = _value_range(pixels)
    lo = np.minimum(lo, palette_work.min(axis=0))
    hi = np.maximum(hi, palette_work.max(axis=0))
    span = hi - lo
    span[span == 0] = 1.0
    # A little margin, so the top values fall inside the last cell.
    lo = lo - 1e-6 * span
    span = span * (1.0 + 2e-6)
    return lo, span


def assign_labels(pixels, palette_work, *, space="rgb", scale=1.0, alpha=None):
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

    Returns
    -------
    labels : ndarray of shape (n_pixels,), dtype int32
    """
    pixels, palette = _check_assign(pixels, palette_work, space, scale, alpha)
    n_pixels, n_channels = pixels.shape
    n_colors = palette.shape[0]
    labels = np.zeros(n_pixels, dtype=np.int32)
    if n_pixels == 0 or n_colors == 1:
        return labels
    if n_channels > MAX_GRID_CHANNELS:
        return _assign_brute(pixels, palette, space, scale, labels)
    kernel, args, kernel_dtype, copy = _labeller(pixels, palette, space, scale, alpha)

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
    colors = _checks.real_array(colors, "colors", 2)
    if colors.shape[0] != palette.shape[0]:
        raise ValueError(
            f"colors must have one row per palette entry ({palette.shape[0]}), "
            f"got shape={colors.shape}."
        )
    colors = np.ascontiguousarray(colors)
    if (
        n_pixels == 0
        or palette.shape[0] == 1
        or n_channels > MAX_GRID_CHANNELS
        or colors.dtype not in _KERNEL_DTYPES
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


def _labeller(pixels, palette, space, scale, alpha=None):
    """The kernel that labels ``pixels`` and its arguments.

    Builds what :func:`assign_labels` needs for these pixels and this
    palette: the grid, the lookup table for 8-bit data from a megapixel on,
    the colour conversion. Returns ``(kernel, args, kernel_dtype, copy)``:
    ``kernel(block, first, stop, *args, labels)`` labels rows ``first:stop``
    of ``block``, which must have ``kernel_dtype`` and be C-contiguous
    (``copy`` says whether ``pixels`` needs converting first).
    With ``alpha`` (RGBA pixels), see :func:`assign_labels`.
    """
    n_pixels, n_channels = pixels.shape
    n_colors = palette.shape[0]
    code = _SPACE_CODES[space]
    m1, m2, offset = _SPACE_MATRICES[space]
    dtype = pixels.dtype
    lut = (
        dtype == np.uint8
        and (n_channels <= 3 or alpha is not None)
        and n_colors <= MAX_LUT_COLORS
        and n_pixels >= LUT_MIN_PIXELS
    )
    # With the table, each distinct colour is searched once: a photo has
    # several pixels per distinct colour.
    n_queries = n_pixels // 8 if lut else n_pixels
    if n_pixels >= MIN_GRID_PIXELS:
        lo, span = _grid_bounds(pixels, palette, space, alpha)
        g = grid_size(n_colors, n_channels, n_queries)
        start, cand, lower = cached_grid(palette, lo, span, g)
        inv_width = g / span
    else:
        # An empty grid: every point is outside, so every search is in full.
        g = 0
        lo, inv_width = np.zeros(n_channels), np.ones(n_channels)
        start, cand, lower = np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0)
    grid = (palette, lo, inv_width, g, start, cand, lower)

    if lut:
        # Zero-filled by the OS page by page as the photo's colours touch it.
        # Up to 256 colours, one byte per code: half the memory and 20% faster
        # on a 12 MP photo (label 255 is stored as 256 -> 0, "not searched
        # yet", so those colours are searched again each time: still exact).
        small = n_channels >= 3 and n_colors <= 256
        n_codes = 1 << (8 * min(n_channels, 3))
        table = np.zeros(n_codes, np.uint8 if small else np.int16)
    if alpha is not None:
        if code != _RGB and dtype.kind == "u" and dtype.itemsize <= 2:
            decode = _decode_table(int(np.iinfo(dtype).max) + 1, float(scale), code)
        elif lut:
            decode = _decode_table(256, 1.0, _RGB)
        else:
            decode = np.empty(0)
        full, weight = (float(v) for v in alpha)
        if not lut:
            table = np.zeros(0, np.int16)
        kernel = _assign_alpha
        args = (decode, float(scale), code, m1, m2, offset, full, weight, *grid, table)
        kernel_dtype = np.dtype(np.uint8) if lut else np.dtype(np.float64)
        copy = dtype != kernel_dtype or not pixels.flags.c_contiguous
        return kernel, args, kernel_dtype, copy
    if n_channels == 3:
        if code != _RGB and dtype in (np.uint8, np.uint16):
            n_codes = int(np.iinfo(dtype).max) + 1
            decode = _decode_table(n_codes, float(scale), code)
        elif lut:
            decode = _decode_table(256, 1.0, _RGB)
        else:
            decode = np.empty(0)
        colour = (decode, code, m1, m2, offset)
        if lut:
            kernel, args = _assign_lut3, (*colour, *grid, table)
        else:
            kernel, args = _assign_direct3, (decode, float(scale), *colour[1:], *grid)
    elif lut:
        kernel, args = _assign_lut, (*grid, table)
    else:
        kernel, args = _assign_direct, grid

    kernel_dtype = _kernel_dtype(dtype, lut, n_channels)
    copy = dtype != kernel_dtype or not pixels.flags.c_contiguous

    return kernel, args, kernel_dtype, copy


@numba.njit(cache=True, nogil=True)
def _take_rows(palette, labels, start, stop, out):
    for i in range(start, stop):
        row = labels[i]
        for j in range(palette.shape[1]):
            out[i, j] = palette[row, j]


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
        palette.dtype not in _KERNEL_DTYPES
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


# %% Lloyd's k-means on few points ---------------------------------------------
#
# k-means on a pooled histogram (tens of thousands of weighted colours) spends
# its time assigning points to centres. Between two Lloyd steps the centres
# move little, so each point starts from its previous centre ``a`` (at
# distance ``ra``): another centre ``c`` can only beat the best one so far (at
# ``rb``) if ``|c - a| < ra + rb``, so scanning ``a``'s neighbours by
# increasing distance stops after a handful (Orchard's method). Exact.


@numba.njit(cache=True, nogil=True)
def _sq_dist(points, i, centers, c):
    s = 0.0
    for j in range(points.shape[1]):
        t = points[i, j] - centers[c, j]
        s += t * t
    return s


@numba.njit(cache=True, nogil=True)
def _reassign(points, centers, labels, order, upper, lower, moved):
    """Move each point to its nearest centre, starting from its label.

    ``order[a]`` lists the centres by distance to centre ``a``; it is sorted
    again here, from its previous state (centres move little between Lloyd
    steps, so an insertion sort has almost nothing to do). ``upper[i]`` and
    ``lower[i]`` bound the distance from point ``i`` to its centre and to
    every other centre (Hamerly's bounds); ``moved[c]`` is how far centre
    ``c`` moved since they were set. A point whose bounds prove that its
    centre is still the nearest is skipped, which late Lloyd steps do for
    most points. The bounds are updated in place. Returns the number of
    labels that changed.
    """
    n, d = points.shape
    k = centers.shape[0]
    between = np.empty((k, k))
    for a in range(k):
        for c in range(k):
            s = 0.0
            for j in range(d):
                t = centers[a, j] - centers[c, j]
                s += t * t
            between[a, c] = np.sqrt(s)
    for a in range(k):
        row = order[a]
        for m in range(1, k):
            c = row[m]
            key = between[a, c]
            q = m - 1
            while q >= 0 and between[a, row[q]] > key:
                row[q + 1] = row[q]
                q -= 1
            row[q + 1] = c
    # Half the distance from each centre to its nearest other centre: a point
    # nearer than that to its centre has no nearer one.
    half_gap = np.full(k, np.inf)
    for a in range(k):
        for c in range(k):
            if c != a:
                half_gap[a] = min(half_gap[a], 0.5 * between[a, c])
    most, second_most, fastest = 0.0, 0.0, -1
    for c in range(k):
        if moved[c] > most:
            most, second_most, fastest = moved[c], most, c
        elif moved[c] > second_most:
            second_most = moved[c]
    changed = 0
    for i in range(n):
        a = labels[i]
        u = upper[i] + moved[a]
        low = lower[i] - (second_most if a == fastest else most)
        bound = max(low, half_gap[a])
        # The margins keep rounding errors from skipping a point.
        if u * (1.0 + 1e-10) < bound:
            upper[i] = u
            lower[i] = low
            continue
        s = 0.0
        for j in range(d):
            t = points[i, j] - centers[a, j]
            s += t * t
        ra = np.sqrt(s)
        if ra * (1.0 + 1e-10) < bound:
            upper[i] = ra
            lower[i] = low
            continue
        best, best_d2 = a, s
        second_d2 = np.inf
        beyond = np.inf  # lower bound on the distance to unscanned centres
        reach = 2.0 * ra  # ra + rb, the best distance rb starting at ra
        for m in range(k):
            c = order[a, m]
            if between[a, c] > reach * (1.0 + 1e-12) + 1e-300:
                beyond = between[a, c] - ra
                break
            if c == a:
                continue
            s = 0.0
            for j in range(d):
                t = points[i, j] - centers[c, j]
                s += t * t
            if s < best_d2:
                second_d2 = min(second_d2, best_d2)
                best, best_d2 = c, s
                reach = ra + np.sqrt(s)
            else:
                second_d2 = min(second_d2, s)
        upper[i] = np.sqrt(best_d2)
        lower[i] = min(np.sqrt(second_d2), beyond)
        if best != a:
            labels[i] = best
            changed += 1
    return changed


@numba.njit(cache=True, nogil=True)
def _lloyd(points, weights, centers, labels, max_iter, tol):
    """Weighted Lloyd iterations in place; returns (n_iter, inertia).

    Stops when no label changes or when the squared centre shift is at most
    ``tol`` (absolute), like :class:`sklearn.cluster.KMeans`; an empty
    cluster takes the point farthest from its centre.
    """
    # Plain loops only: slicing assignments and array expressions make numba
    # compile shape checks and error formatting, seconds on first use.
    n, d = points.shape
    k = centers.shape[0]
    sums = np.zeros((k, d))
    mass = np.zeros(k)
    far = np.empty(n)
    order = np.empty((k, k), np.int64)
    for a in range(k):
        for c in range(k):
            order[a, c] = c
    # Bounds for _reassign: nothing known yet.
    upper = np.full(n, np.inf)
    lower = np.zeros(n)
    moved = np.zeros(k)
    n_iter = 0
    for it in range(max_iter):
        n_iter = it + 1
        empty = False
        for c in range(k):
            mass[c] = 0.0
            for j in range(d):
                sums[c, j] = 0.0
        for i in range(n):
            a = labels[i]
            mass[a] += weights[i]
            for j in range(d):
                sums[a, j] += weights[i] * points[i, j]
        for c in range(k):
            empty = empty or mass[c] == 0.0
        if empty:
            for i in range(n):
                far[i] = _sq_dist(points, i, centers, labels[i])
            for c in range(k):
                if mass[c] == 0.0:
                    i = 0
                    for m in range(1, n):
                        if far[m] > far[i]:
                            i = m
                    far[i] = -1.0
                    a = labels[i]
                    mass[a] -= weights[i]
                    for j in range(d):
                        sums[a, j] -= weights[i] * points[i, j]
                        sums[c, j] = weights[i] * points[i, j]
                    mass[c] = weights[i]
                    labels[i] = c
                    upper[i] = np.inf  # look at it again
                    lower[i] = 0.0
        shift = 0.0
        for c in range(k):
            step = 0.0
            if mass[c] > 0.0:
                for j in range(d):
                    v = sums[c, j] / mass[c]
                    step += (v - centers[c, j]) ** 2
                    centers[c, j] = v
            shift += step
            moved[c] = np.sqrt(step)
        changed = _reassign(points, centers, labels, order, upper, lower, moved)
        if changed == 0 or shift <= tol:
            break
    inertia = 0.0
    for i in range(n):
        inertia += weights[i] * _sq_dist(points, i, centers, labels[i])
    return n_iter, inertia


def lloyd_kmeans(points, weights, init, *, max_iter=300, tol=1e-4):
    """Weighted Lloyd k-means from given centres, with exact assignments.

    The same iterations as :class:`sklearn.cluster.KMeans` with
    ``algorithm='lloyd'`` and ``init=init`` (same stopping rule, ``tol``
    relative to the mean variance of ``points``), faster on low-dimensional
    data such as colours because each step only compares a point with the
    neighbours of its previous centre.

    Parameters
    ----------
    points : ndarray of shape (n_points, n_features)
    weights : ndarray of shape (n_points,) or None
    init : ndarray of shape (n_clusters, n_features)
        Initial centres, for example from :func:`sklearn.cluster.kmeans_plusplus`.
    max_iter : int, default=300
    tol : float, default=1e-4

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), float64
    labels : ndarray of shape (n_points,), int32
    n_iter : int
    inertia : float
        Weighted sum of squared distances to the assigned centres.
    """
    points = _checks.finite_points(points)
    weights = _checks.weights_for(weights, points.shape[0], "weights")
    centers = np.array(
        _checks.palette_for(init, points.shape[1], "init"), dtype=np.float64, order="C"
    )
    if not (isinstance(max_iter, int | np.integer) and max_iter >= 1):
        raise ValueError(
            f"max_iter must be an integer >= 1, got max_iter={max_iter!r}."
        )
    labels = assign_labels(points, centers)
    tol_abs = float(np.mean(np.var(points, axis=0)) * tol) if tol else 0.0
    n_iter, inertia = _lloyd(points, weights, centers, labels, max_iter, tol_abs)
    return centers, labels, int(n_iter), float(inertia)


def _assign_brute(pixels, palette, space, scale, labels):
    """Chunked brute force in float64, for more channels than the grid takes."""

    def to_working(chunk):
        work = chunk.astype(np.float64)
        if space == "rgb":
            return work
        return _color.to_working(work / scale, space)

    return nearest_brute(pixels, palette, to_working=to_working, out=labels)
