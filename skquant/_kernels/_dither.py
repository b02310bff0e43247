"""Dithering: error diffusion in linear light and ordered (Bayer) dithering.

The entry point is :func:`dither_labels`, which maps an image ``(H, W, C)``
onto a palette and returns the palette index of every pixel, spreading the
quantization error so that the average colour over a small neighbourhood
stays close to the original.

How colour data is dithered
---------------------------
For sRGB colour data (3 channels with a known full scale), every pixel is
decoded to *linear light* and the error carried from its neighbours is added
there. The nearest palette colour to that corrected value (clamped to the
RGB cube) is chosen exactly in the *working space* (``'rgb'`` is
sRGB-encoded, ``'lab'`` CIELAB, ``'oklab'`` OKLab, ``'din99o'`` DIN99o), and
the error ``corrected - chosen`` is passed on in linear light, which is where
the eye averages neighbouring pixels. The scalar conversions are compiled here and
checked against :mod:`skquant._color`.

Other data (any number of channels, or values that are not sRGB in
``[0, scale]``) is dithered in its own units: the error is diffused on the
values as given, the range is that of the image and the palette, and the
nearest colour is the Euclidean nearest.

Error diffusion scans rows in serpentine order (left to right, then right to
left, mirroring the kernel), in fixed bands of rows that run on several
threads (see :data:`WARMUP_ROWS`). Ordered dithering ('bayer') mixes two
palette colours per pixel with an 8 x 8 Bayer matrix (see
:func:`dither_labels`); its pixels are independent.

Nearest palette colour
----------------------
Each corrected pixel needs the exact nearest palette entry, so brute force
over 256 colours for 12 million pixels is out. For three channels the
working space is cut into a grid of ``G**3`` cells; each cell keeps only the
palette entries that can be the nearest to *some* point of the cell (ruled
out exactly, see :func:`_build_grid`), sorted by their distance to the cell
so that the search stops early; most cells keep one to three entries. Points
outside the grid fall back to brute force. Other channel counts use the
palette sorted along its principal axis, searched outwards from the query's
projection until the projected gap exceeds the best distance.
"""

import numba
import numpy as np

from skquant import _color
from skquant._kernels import _checks

# numba's on-disk cache does not notice changes to functions of other modules
# that a cached kernel calls: after editing this one, clear __pycache__.
from skquant._kernels._assign import (
    _lab_to_din99o,
    _take_rows,
    kernel_threads,
    run_parallel,
)

__all__ = ["DITHER_METHODS", "dither_labels", "dither_map", "nearest_labels"]

# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------

#: Error-diffusion kernels for a left-to-right scan:
#: ``name -> ((row offset, column offset, weight), ...), divisor``.
#: Rows below the current one are positive offsets; the current pixel is (0, 0).
ERROR_DIFFUSION_KERNELS = {
    "floyd-steinberg": (
        ((0, 1, 7), (1, -1, 3), (1, 0, 5), (1, 1, 1)),
        16,
    ),
    # Atkinson spreads only 6/8 of the error: highlights and shadows clip,
    # which is the kernel's character, not a bug.
    "atkinson": (
        ((0, 1, 1), (0, 2, 1), (1, -1, 1), (1, 0, 1), (1, 1, 1), (2, 0, 1)),
        8,
    ),
    "jarvis-judice-ninke": (
        (
            (0, 1, 7),
            (0, 2, 5),
            (1, -2, 3),
            (1, -1, 5),
            (1, 0, 7),
            (1, 1, 5),
            (1, 2, 3),
            (2, -2, 1),
            (2, -1, 3),
            (2, 0, 5),
            (2, 1, 3),
            (2, 2, 1),
        ),
        48,
    ),  # fmt: skip
    "stucki": (
        (
            (0, 1, 8),
            (0, 2, 4),
            (1, -2, 2),
            (1, -1, 4),
            (1, 0, 8),
            (1, 1, 4),
            (1, 2, 2),
            (2, -2, 1),
            (2, -1, 2),
            (2, 0, 4),
            (2, 1, 2),
            (2, 2, 1),
        ),
        42,
    ),  # fmt: skip
    "burkes": (
        (
            (0, 1, 8),
            (0, 2, 4),
            (1, -2, 2),
            (1, -1, 4),
            (1, 0, 8),
            (1, 1, 4),
            (1, 2, 2),
        ),
        32,
    ),  # fmt: skip
    "sierra": (
        (
            (0, 1, 5),
            (0, 2, 3),
            (1, -2, 2),
            (1, -1, 4),
            (1, 0, 5),
            (1, 1, 4),
            (1, 2, 2),
            (2, -1, 2),
            (2, 0, 3),
            (2, 1, 2),
        ),
        32,
    ),  # fmt: skip
    "sierra-two-row": (
        (
            (0, 1, 4),
            (0, 2, 3),
            (1, -2, 1),
            (1, -1, 2),
            (1, 0, 3),
            (1, 1, 2),
            (1, 2, 1),
        ),
        16,
    ),  # fmt: skip
    "sierra-lite": (
        ((0, 1, 2), (1, -1, 1), (1, 0, 1)),
        4,
    ),
}

#: Ordered-dithering methods.
ORDERED_METHODS = ("bayer",)

#: Every method :func:`dither_labels` accepts.
DITHER_METHODS = tuple(ERROR_DIFFUSION_KERNELS) + ORDERED_METHODS


def _bayer_matrix(order):
    """Bayer index matrix of size ``2**order``, values ``0 .. 4**order - 1``."""
    m = np.zeros((1, 1), dtype=np.int64)
    for _ in range(order):
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return m


#: 8 x 8 Bayer thresholds ``(index + 0.5) / 64``, in (0, 1).
BAYER_8X8 = (_bayer_matrix(3) + 0.5) / 64.0
BAYER_8X8.flags.writeable = False

# Working-space codes understood by the kernels.
_SPACE_SRGB = 0  # linear light in, sRGB-encoded working values
_SPACE_LAB = 1
_SPACE_OKLAB = 2
_SPACE_IDENTITY = 3  # working values are the diffused values themselves
_SPACE_DIN99O = 4  # CIELAB, then DIN99o
_SPACE_CODES = {
    "rgb": _SPACE_SRGB,
    "lab": _SPACE_LAB,
    "oklab": _SPACE_OKLAB,
    "din99o": _SPACE_DIN99O,
}

# Conversion constants handed to the kernels as a tuple (values from _color,
# so the compiled code cannot drift from the NumPy conversions):
# sRGB encoded knee, linear knee, slope, offset, gamma; CIELAB epsilon,
# slope, f offset, L offset.
_CONSTANTS = (
    float(_color._SRGB_ENCODED_KNEE),
    float(_color._SRGB_LINEAR_KNEE),
    float(_color._SRGB_SLOPE),
    float(_color._SRGB_OFFSET),
    float(_color._SRGB_GAMMA),
    float(_color._LAB_EPSILON),
    float(_color._LAB_SLOPE),
    float(_color._LAB_F_OFFSET),
    float(_color._LAB_L_OFFSET),
)

# work = M2 @ g(M1 @ linear) (- L offset for CIELAB), g = CIELAB f or cbrt.
_MATRICES = {
    _SPACE_LAB: (_color._XYZN_FROM_LINEAR, _color._LAB_FROM_F),
    _SPACE_OKLAB: (_color._LMS_FROM_LINEAR, _color._OKLAB_M2),
    _SPACE_DIN99O: (_color._XYZN_FROM_LINEAR, _color._LAB_FROM_F),
}

#: Cells per axis of the nearest-colour grid: ``GRID_PER_CBRT_K *
#: cbrt(n_colors)``, but no more than ``cbrt(n_pixels / GRID_PIXELS_PER_CELL)``
#: (building the grid must stay cheap next to the image) nor ``GRID_MAX``.
GRID_PER_CBRT_K = 4.0
GRID_PIXELS_PER_CELL = 8
GRID_MAX = 48

#: Candidate lists up to this long are pruned pair by pair (exactly).
_PRUNE_PAIRS_UP_TO = 64

#: Largest error passed on by a pixel, in units of the distance from its
#: palette colour to the nearest other palette colour (see dither_labels).
ERROR_LIMIT = 2.5

#: How far beyond the valid range (in units of its width) the pixel plus its
#: carried error may go before it is clamped (see dither_labels).
CARRY_MARGIN = 0.5

#: Rows per band handed to a thread by the ordered kernel.
ORDERED_BAND_ROWS = 64

#: Rows per band of error diffusion. Bands are fixed (not one per thread),
#: so the result does not depend on the number of threads.
DIFFUSION_BAND_ROWS = 256

#: Rows above its band that error diffusion re-runs, unwritten, so that the
#: band starts with the carried error a single pass would have brought: the
#: error pattern forgets its start within a few rows, and the bands leave no
#: visible seam.
WARMUP_ROWS = 16

# ---------------------------------------------------------------------------
# Scalar colour conversions (numba), consistent with skquant._color
# ---------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _cbrt(t):
    """Cube root to full double precision, faster than libm's here.

    A single-precision guess refined by one Halley step (cubic convergence:
    ~1e-7 relative error in, ~1e-16 out).
    """
    if not 1e-30 < abs(t) < 1e30:  # zero, NaN, or beyond single precision
        return np.cbrt(t)
    y = np.float64(np.float32(abs(t)) ** np.float32(1.0 / 3.0))
    if t < 0.0:
        y = -y
    y3 = y * y * y
    return y * (y3 + 2.0 * t) / (2.0 * y3 + t)


@numba.njit(cache=True, nogil=True)
def _srgb_decode(v, k):
    """sRGB-encoded -> linear light, sign-symmetric like _color."""
    m = abs(v)
    if m <= k[0]:
        out = m / k[2]
    else:
        out = ((m + k[3]) / (1.0 + k[3])) ** k[4]
    return out if v >= 0.0 else -out


@numba.njit(cache=True, nogil=True)
def _srgb_encode(v, k):
    """Linear light -> sRGB-encoded, sign-symmetric like _color."""
    m = abs(v)
    if m <= k[1]:
        out = m * k[2]
    else:
        out = (1.0 + k[3]) * m ** (1.0 / k[4]) - k[3]
    return out if v >= 0.0 else -out


@numba.njit(cache=True, nogil=True)
def _lab_f(t, k):
    if t <= k[5]:
        return k[6] * t + k[7]
    return _cbrt(t)


@numba.njit(cache=True, nogil=True)
def _to_work3(r, g, b, space, m1, m2, k):
    """Working-space value of the linear colour ``(r, g, b)``, as a tuple.

    Scalars and tuples only: helpers that take arrays cost reference-count
    traffic on every call, which in the per-pixel loop was most of the time.
    """
    if space == _SPACE_SRGB:
        return _srgb_encode(r, k), _srgb_encode(g, k), _srgb_encode(b, k)
    if space == _SPACE_IDENTITY:
        return r, g, b
    t0 = m1[0] * r + m1[1] * g + m1[2] * b
    t1 = m1[3] * r + m1[4] * g + m1[5] * b
    t2 = m1[6] * r + m1[7] * g + m1[8] * b
    if space == _SPACE_OKLAB:
        f0, f1, f2 = _cbrt(t0), _cbrt(t1), _cbrt(t2)
    else:
        f0, f1, f2 = _lab_f(t0, k), _lab_f(t1, k), _lab_f(t2, k)
    w0 = m2[0] * f0 + m2[1] * f1 + m2[2] * f2
    w1 = m2[3] * f0 + m2[4] * f1 + m2[5] * f2
    w2 = m2[6] * f0 + m2[7] * f1 + m2[8] * f2
    if space == _SPACE_OKLAB:
        return w0, w1, w2
    w0 -= k[8]
    if space == _SPACE_DIN99O:
        return _lab_to_din99o(w0, w1, w2)
    return w0, w1, w2


@numba.njit(cache=True, nogil=True)
def _to_work_array(lin, space, m1, m2, k):
    """:func:`_to_work3` on every row of ``(n, 3)`` (tests and set-up)."""
    out = np.empty(lin.shape, dtype=np.float64)
    for i in range(lin.shape[0]):
        out[i, 0], out[i, 1], out[i, 2] = _to_work3(
            lin[i, 0], lin[i, 1], lin[i, 2], space, m1, m2, k
        )
    return out


@numba.njit(cache=True, nogil=True)
def _srgb_decode_array(values, k):
    out = np.empty(values.size, dtype=np.float64)
    flat = values.ravel()
    for i in range(values.size):
        out[i] = _srgb_decode(flat[i], k)
    return out.reshape(values.shape)


def _space_args(space_code):
    """The two 3 x 3 matrices of a working space, as 9-tuples."""
    m1, m2 = _MATRICES.get(space_code, (np.eye(3), np.eye(3)))
    return tuple(float(v) for v in m1.ravel()), tuple(float(v) for v in m2.ravel())


def linear_to_work(lin, space):
    """Compiled linear-light -> working-space conversion on ``(n, 3)`` floats.

    The same scalar code the dithering kernels run, exposed so that tests can
    hold it against :func:`skquant._color.linear_to_working`.
    """
    code = _SPACE_CODES[space]
    m1, m2 = _space_args(code)
    lin = np.ascontiguousarray(lin, dtype=np.float64)
    return _to_work_array(lin, code, m1, m2, _CONSTANTS)


def srgb_decode(values):
    """Compiled sRGB -> linear-light decoding (elementwise, float64)."""
    return _srgb_decode_array(
        np.ascontiguousarray(values, dtype=np.float64), _CONSTANTS
    )


# ---------------------------------------------------------------------------
# Exact nearest palette entry
# ---------------------------------------------------------------------------

# Index kinds.
_INDEX_GRID = 0
_INDEX_AXIS = 1


@numba.njit(cache=True, nogil=True)
def _axis_tables(palette_work, lo, width, g):
    """Per-axis squared min/max distances from every cell slab to every entry."""
    n_colors, d = palette_work.shape
    dmin = np.empty((d, g, n_colors), dtype=np.float64)
    dmax = np.empty((d, g, n_colors), dtype=np.float64)
    for a in range(d):
        for i in range(g):
            b0 = lo[a] + i * width[a]
            b1 = b0 + width[a]
            for j in range(n_colors):
                x = palette_work[j, a]
                if x < b0:
                    m = b0 - x
                elif x > b1:
                    m = x - b1
                else:
                    m = 0.0
                dmin[a, i, j] = m * m
                far = max(abs(x - b0), abs(x - b1))
                dmax[a, i, j] = far * far
    return dmin, dmax


@numba.njit(cache=True, nogil=True)
def _beaten(palette_work, p, q, centre, half):
    """Whether entry ``q`` is strictly nearer than ``p`` everywhere in a box.

    ``|x - p|**2 - |x - q|**2`` is linear in ``x``: its minimum over the box
    of centre ``c`` and half-widths ``h`` is
    ``|c - p|**2 - |c - q|**2 - 2 * sum(h * |p - q|)``. A small margin keeps
    rounding from dropping an entry that ties.
    """
    dp = 0.0
    dq = 0.0
    spread = 0.0
    for a in range(3):
        u = centre[a] - palette_work[p, a]
        v = centre[a] - palette_work[q, a]
        dp += u * u
        dq += v * v
        spread += half[a] * abs(palette_work[p, a] - palette_work[q, a])
    return dp - dq - 2.0 * spread > 1e-9 * (dp + dq) + 1e-300


@numba.njit(cache=True, nogil=True)
def _build_grid(palette_work, lo, width, g):
    """Candidate lists of a ``g**3`` grid, in CSR form, sorted by box distance.

    An entry is a candidate of a cell unless it is ruled out exactly: first
    by the box bound (its smallest squared distance to the cell exceeds the
    smallest, over all entries, of the largest squared distance), then, for
    short lists, by another candidate being strictly nearer everywhere in
    the cell (:func:`_beaten`). The lists are sorted by the box bound, so a
    search can stop at the first entry whose bound exceeds its best distance.
    """
    n_colors = palette_work.shape[0]
    dmin, dmax = _axis_tables(palette_work, lo, width, g)
    n_cells = g * g * g
    start = np.empty(n_cells + 1, dtype=np.int64)
    capacity = max(n_cells * 4, 1024)
    items = np.empty(capacity, dtype=np.int32)
    bounds = np.empty(capacity, dtype=np.float64)
    mind = np.empty(n_colors, dtype=np.float64)
    cand = np.empty(n_colors, dtype=np.int32)
    keep = np.empty(n_colors, dtype=np.bool_)
    centre = np.empty(3, dtype=np.float64)
    half = 0.5 * width
    n_items = 0
    cell = 0
    for i0 in range(g):
        for i1 in range(g):
            for i2 in range(g):
                best_far = np.inf
                for j in range(n_colors):
                    far = dmax[0, i0, j] + dmax[1, i1, j] + dmax[2, i2, j]
                    if far < best_far:
                        best_far = far
                    mind[j] = dmin[0, i0, j] + dmin[1, i1, j] + dmin[2, i2, j]
                count = 0
                for j in range(n_colors):
                    if mind[j] <= best_far:
                        cand[count] = j
                        count += 1
                if 1 < count <= _PRUNE_PAIRS_UP_TO:
                    centre[0] = lo[0] + (i0 + 0.5) * width[0]
                    centre[1] = lo[1] + (i1 + 0.5) * width[1]
                    centre[2] = lo[2] + (i2 + 0.5) * width[2]
                    for a in range(count):
                        keep[a] = True
                        for b in range(count):
                            if b != a and _beaten(
                                palette_work, cand[a], cand[b], centre, half
                            ):
                                keep[a] = False
                                break
                    # Being beaten is transitive: dropping all at once is safe.
                    n_kept = 0
                    for a in range(count):
                        if keep[a]:
                            cand[n_kept] = cand[a]
                            n_kept += 1
                    count = n_kept
                if n_items + count > capacity:
                    capacity = max(2 * capacity, n_items + count)
                    grown = np.empty(capacity, dtype=np.int32)
                    grown[:n_items] = items[:n_items]
                    items = grown
                    grown_b = np.empty(capacity, dtype=np.float64)
                    grown_b[:n_items] = bounds[:n_items]
                    bounds = grown_b
                keys = np.empty(count, dtype=np.float64)
                for t in range(count):
                    keys[t] = mind[cand[t]]
                order = np.argsort(keys, kind="mergesort")
                start[cell] = n_items
                for t in range(count):
                    items[n_items + t] = cand[order[t]]
                    bounds[n_items + t] = keys[order[t]]
                n_items += count
                cell += 1
    start[n_cells] = n_items
    return start, items[:n_items].copy(), bounds[:n_items].copy()


@numba.njit(cache=True, nogil=True)
def _nearest_brute3(x0, x1, x2, palette_work):
    """Nearest entry by brute force (grid fallback for points outside it)."""
    best = np.inf
    best_j = 0
    for j in range(palette_work.shape[0]):
        d0 = x0 - palette_work[j, 0]
        d1 = x1 - palette_work[j, 1]
        d2 = x2 - palette_work[j, 2]
        d = d0 * d0 + d1 * d1 + d2 * d2
        if d < best:
            best = d
            best_j = j
    return best_j


@numba.njit(cache=True, nogil=True)
def _nearest_brute(x, palette_work):
    """Nearest entry to ``x`` by brute force (NaN distances never win)."""
    best = np.inf
    best_j = 0
    for j in range(palette_work.shape[0]):
        d = 0.0
        for c in range(x.shape[0]):
            u = x[c] - palette_work[j, c]
            d += u * u
        if d < best:
            best = d
            best_j = j
    return best_j


@numba.njit(cache=True, nogil=True)
def _nearest_axis(x, palette_work, axis, order, proj):
    """Exact nearest entry, searching outwards along the principal axis.

    ``order`` sorts the palette along ``axis`` and ``proj`` holds the sorted
    projections; an entry whose projection is farther from the query's than
    the best distance so far cannot be nearer, nor can any beyond it.
    """
    n_colors = order.shape[0]
    p = 0.0
    for c in range(x.shape[0]):
        p += x[c] * axis[c]
    if not abs(p) < np.inf:  # NaN or infinite: no order to search in
        return _nearest_brute(x, palette_work)
    right = np.searchsorted(proj, p)
    left = right - 1
    best = np.inf
    best_j = 0
    while left >= 0 or right < n_colors:
        gap_left = p - proj[left] if left >= 0 else np.inf
        gap_right = proj[right] - p if right < n_colors else np.inf
        if gap_left <= gap_right:
            t, gap = left, gap_left
            left -= 1
        else:
            t, gap = right, gap_right
            right += 1
        if gap * gap > best:
            break
        j = order[t]
        d = 0.0
        for c in range(x.shape[0]):
            u = x[c] - palette_work[j, c]
            d += u * u
        if d < best or (d == best and j < best_j):
            best = d
            best_j = j
    return best_j


def _grid_size(n_colors, n_pixels):
    """Cells per axis: finer for more colours, coarser for small images."""
    by_colors = GRID_PER_CBRT_K * n_colors ** (1 / 3)
    by_pixels = (n_pixels / GRID_PIXELS_PER_CELL) ** (1 / 3)
    return int(min(GRID_MAX, max(2, round(min(by_colors, by_pixels)))))


def _build_index(palette_work, lo, hi, n_pixels):
    """Search structure for the exact nearest entry of ``palette_work``.

    ``lo`` and ``hi`` bound the working values that will be queried (for
    three channels: the grid's extent; values outside still get the exact
    answer, by brute force).
    """
    palette_work = np.ascontiguousarray(palette_work, dtype=np.float64)
    n_colors, n_channels = palette_work.shape
    if n_channels == 3:
        lo = np.minimum(lo, palette_work.min(axis=0))
        hi = np.maximum(hi, palette_work.max(axis=0))
        g = _grid_size(n_colors, n_pixels)
        extent = hi - lo
        extent[extent <= 0] = 1.0
        width = extent / g
        start, items, bounds = _build_grid(palette_work, lo, width, g)
        return (_INDEX_GRID, lo, hi, 1.0 / width, g, start, items, bounds)
    centred = palette_work - palette_work.mean(axis=0)
    if n_colors > 1 and np.any(centred):
        axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    else:
        axis = np.eye(n_channels)[0]
    proj = palette_work @ axis
    order = np.argsort(proj, kind="stable")
    empty = np.zeros(n_channels)
    return (
        _INDEX_AXIS,
        np.ascontiguousarray(axis),
        empty,
        empty,
        0,
        np.zeros(1, dtype=np.int64),
        order.astype(np.int32),
        np.ascontiguousarray(proj[order]),
    )


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------


# Ordered modes of the kernel.
_NOT_ORDERED = 0
_ORDERED_PAIR = 1

#: Steps of the ray walk of pair mixing. The walk starts half-way from the
#: first colour to its nearest other colour (or at the pixel's reflection,
#: if farther) and doubles: 7 steps reach 64 times farther, beyond which the
#: mix would be below the Bayer matrix's 1/64 resolution.
_PAIR_MAX_STEPS = 7


@numba.njit(cache=True, nogil=True)
def _dither_rows(
    image,
    y0,
    y_write,
    y1,
    labels,
    lut,
    decode,
    inv_scale,
    k,
    valid_lo,
    valid_hi,
    carry_lo,
    carry_hi,
    palette_lin,
    error_limit2,
    gap2,
    palette_work,
    space,
    m1,
    m2,
    taps_dy,
    taps_dx,
    taps_w,
    threshold,
    ordered,
    kind,
    lo,
    hi,
    inv_width,
    g,
    start,
    items,
    bounds,
):
    """Dither rows ``y0:y1`` of ``image``; ``labels[y - y_write]`` gets row ``y``.

    Rows before ``y_write`` only warm the carried error up (see
    :data:`WARMUP_ROWS`).

    Error diffusion when ``taps_*`` are not empty (serpentine scan), ordered
    pair mixing when ``ordered`` is ``_ORDERED_PAIR``, plain nearest colour
    otherwise. Pixels are read as ``lut[value]`` when ``lut`` is not empty,
    else sRGB-decoded from ``value * inv_scale`` when ``decode``, else taken
    as they are. The pixel plus carried error is clamped to ``carry_lo..hi``
    (the error it passes on stays exact), and the colour is looked up for
    that value clamped to ``valid_lo..hi``. Everything in the pixel loop is
    written out here rather than in helpers taking arrays, whose reference
    counting would dominate the run time.
    """
    width, n_channels = image.shape[1], image.shape[2]
    n_taps = taps_dy.shape[0]
    n_rows = 1
    pad = 0
    for t in range(n_taps):
        n_rows = max(n_rows, taps_dy[t] + 1)
        pad = max(pad, abs(taps_dx[t]))
    err = np.zeros((n_rows, width + 2 * pad, n_channels), dtype=np.float64)
    tap_rows = np.empty(n_taps, dtype=np.int64)
    tap_cols = np.empty(n_taps, dtype=np.int64)
    cur = np.empty(n_channels, dtype=np.float64)
    query = np.empty(n_channels, dtype=np.float64)
    use_lut = lut.shape[0] > 0
    pair = ordered == _ORDERED_PAIR
    tn = threshold.shape[0]
    j = 0
    for y in range(y0, y1):
        row = y % n_rows
        forward = n_taps == 0 or y % 2 == 0
        step = 1 if forward else -1
        for t in range(n_taps):
            tap_rows[t] = (y + taps_dy[t]) % n_rows
            tap_cols[t] = pad + step * taps_dx[t]
        for i in range(width):
            x = i if forward else width - 1 - i
            # The pixel in diffusion units, plus carried error, clamped.
            for c in range(n_channels):
                v = image[y, x, c]
                if use_lut:
                    u = lut[np.int64(v)]
                elif decode:
                    u = _srgb_decode(np.float64(v) * inv_scale, k)
                else:
                    u = np.float64(v)
                if n_taps > 0:
                    u += err[row, x + pad, c]
                    u = min(max(u, carry_lo[c]), carry_hi[c])
                cur[c] = u
                query[c] = min(max(u, valid_lo[c]), valid_hi[c])
            # Nearest colour of the query; for pair mixing, walk on along the
            # ray from that colour through the pixel (steps doubling) until
            # another colour is nearest, or the ray leaves the valid range.
            j_first = -1
            scale_step = 1.0
            n_steps = 0
            while True:
                if kind == _INDEX_GRID:
                    w0, w1, w2 = _to_work3(
                        query[0], query[1], query[2], space, m1, m2, k
                    )
                    inside = (
                        w0 >= lo[0]
                        and w0 <= hi[0]
                        and w1 >= lo[1]
                        and w1 <= hi[1]
                        and w2 >= lo[2]
                        and w2 <= hi[2]
                    )
                    if inside:
                        i0 = min(int((w0 - lo[0]) * inv_width[0]), g - 1)
                        i1 = min(int((w1 - lo[1]) * inv_width[1]), g - 1)
                        i2 = min(int((w2 - lo[2]) * inv_width[2]), g - 1)
                        code = (i0 * g + i1) * g + i2
                        # Start from the previous answer (neighbours mostly
                        # share a colour): fewer candidates pass the bound.
                        d0 = w0 - palette_work[j, 0]
                        d1 = w1 - palette_work[j, 1]
                        d2 = w2 - palette_work[j, 2]
                        best = d0 * d0 + d1 * d1 + d2 * d2
                        for t in range(start[code], start[code + 1]):
                            if bounds[t] > best:
                                break
                            jj = items[t]
                            d0 = w0 - palette_work[jj, 0]
                            d1 = w1 - palette_work[jj, 1]
                            d2 = w2 - palette_work[jj, 2]
                            d = d0 * d0 + d1 * d1 + d2 * d2
                            if d < best or (d == best and jj < j):
                                best = d
                                j = jj
                    else:
                        j = _nearest_brute3(w0, w1, w2, palette_work)
                else:
                    j = _nearest_axis(query, palette_work, lo, items, bounds)
                if not pair:
                    break
                if j_first < 0:
                    j_first = j
                    # First probe half-way to the nearest other colour:
                    # nearer, the first colour is still the nearest.
                    off2 = 0.0
                    for c in range(n_channels):
                        d = cur[c] - palette_lin[j_first, c]
                        off2 += d * d
                    if off2 > 0.0:
                        scale_step = max(1.0, 0.5 * np.sqrt(gap2[j_first] / off2))
                elif j != j_first or n_steps == _PAIR_MAX_STEPS:
                    break
                clipped = False
                moved = False
                for c in range(n_channels):
                    d = cur[c] - palette_lin[j_first, c]
                    moved = moved or d != 0.0
                    u = cur[c] + scale_step * d
                    if u < valid_lo[c]:
                        u = valid_lo[c]
                        clipped = True
                    elif u > valid_hi[c]:
                        u = valid_hi[c]
                        clipped = True
                    query[c] = u
                if not moved:
                    break
                scale_step *= 2.0
                # One last look at the edge of the valid range.
                n_steps = _PAIR_MAX_STEPS if clipped else n_steps + 1
            if pair and j != j_first:
                # Show the second colour in the proportion that puts the
                # mean (linear light) at the pixel's projection on the
                # segment between the two, the Bayer threshold deciding
                # which one this pixel shows.
                num = 0.0
                den = 0.0
                for c in range(n_channels):
                    a = palette_lin[j_first, c]
                    ba = palette_lin[j, c] - a
                    num += (cur[c] - a) * ba
                    den += ba * ba
                if not threshold[y % tn, x % tn] * den < num:
                    j = j_first
            if y >= y_write:
                labels[y - y_write, x] = j
            if n_taps > 0:
                size2 = 0.0
                for c in range(n_channels):
                    e = cur[c] - palette_lin[j, c]
                    size2 += e * e
                gain = 1.0
                if size2 > error_limit2[j]:
                    gain = np.sqrt(error_limit2[j] / size2)
                for c in range(n_channels):
                    e = gain * (cur[c] - palette_lin[j, c])
                    for t in range(n_taps):
                        err[tap_rows[t], x + tap_cols[t], c] += taps_w[t] * e
        if n_taps > 0:
            err[row, :, :] = 0.0


# ---------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------


def _nearest_other_sq(points):
    """Squared distance from each point to its nearest other point."""
    n = len(points)
    out = np.full(n, np.inf)
    # Per row of a block: the differences (n x channels) and the distances.
    rows = _checks.rows_within(8 * n * (points.shape[1] + 1))
    for i in range(0, n, rows):
        block = points[i : i + rows]
        d2 = ((block[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
        d2[np.arange(len(block)), np.arange(i, i + len(block))] = np.inf
        out[i : i + rows] = d2.min(axis=1)
    return out


def _kernel_taps(method):
    taps, divisor = ERROR_DIFFUSION_KERNELS[method]
    taps = np.asarray(taps, dtype=np.int64)
    return (
        np.ascontiguousarray(taps[:, 0]),
        np.ascontiguousarray(taps[:, 1]),
        taps[:, 2].astype(np.float64) / divisor,
    )


def _working_bounds(space_code):
    """Bounding box of the working-space image of the linear RGB cube."""
    if space_code == _SPACE_SRGB:
        return np.zeros(3), np.ones(3)
    # The extremes of a smooth map of the cube lie on its surface: sample the
    # six faces densely and add a margin. Points outside are still exact.
    s = np.linspace(0.0, 1.0, 65)
    u, v = (a.ravel() for a in np.meshgrid(s, s))
    faces = []
    for axis in range(3):
        for value in (0.0, 1.0):
            face = np.empty((u.size, 3))
            others = [a for a in range(3) if a != axis]
            face[:, axis] = value
            face[:, others[0]] = u
            face[:, others[1]] = v
            faces.append(face)
    m1, m2 = _space_args(space_code)
    work = _to_work_array(np.concatenate(faces), space_code, m1, m2, _CONSTANTS)
    lo, hi = work.min(axis=0), work.max(axis=0)
    margin = 1e-3 * (hi - lo)
    return lo - margin, hi + margin


def _check_args(pixels_image, palette, method, space, scale):
    if method not in DITHER_METHODS:
        raise ValueError(
            f"method must be one of {DITHER_METHODS}, got method={method!r}."
        )
    if space not in _SPACE_CODES:
        raise ValueError(
            f"space must be one of {tuple(_SPACE_CODES)}, got space={space!r}."
        )
    image = _checks.real_array(pixels_image, "pixels_image", 3, "(H, W, C)")
    if image.shape[2] == 0:
        raise ValueError("pixels_image must have at least one channel, got 0.")
    palette = _checks.palette_for(palette, image.shape[2])
    _checks.space_for(space, image.shape[2], scale)
    if space != "rgb" and scale is None:
        raise ValueError(f"space={space!r} needs the full-scale value, got None.")
    return image, palette


def _is_srgb(image, palette, scale):
    """Whether 3-channel 'rgb' data can be read as sRGB in ``[0, scale]``.

    A rounding error's worth of overshoot (a float palette at 1.0000001) is
    allowed; values beyond are not sRGB, and are dithered as they are.
    """
    if image.size == 0:
        return True
    flat = image.reshape(-1, image.shape[-1])
    lo = min(min(flat[:, c].min() for c in range(flat.shape[1])), palette.min())
    hi = max(max(flat[:, c].max() for c in range(flat.shape[1])), palette.max())
    slack = 1e-6 * scale
    return bool(lo >= -slack and hi <= scale + slack)


def dither_labels(pixels_image, palette, *, method, space, scale, random_state=None):
    """Palette index of every pixel of an image, with dithering.

    Parameters
    ----------
    pixels_image : ndarray of shape (H, W, C)
        The image in the input's units (uint8, uint16, float...). Not
        modified.
    palette : ndarray of shape (n_colors, C)
        The palette in the input's units.
    method : str
        One of :data:`DITHER_METHODS`: an error-diffusion kernel
        (``'floyd-steinberg'``, ``'atkinson'``, ``'jarvis-judice-ninke'``,
        ``'stucki'``, ``'burkes'``, ``'sierra'``, ``'sierra-two-row'``,
        ``'sierra-lite'``), scanned in serpentine order, or ``'bayer'``
        (ordered, 8 x 8 Bayer matrix).
    space : {'rgb', 'lab', 'oklab', 'din99o'}
        Working space in which the nearest palette colour is chosen.
        The perceptual spaces need 3-channel sRGB data.
    scale : float or None
        Full-scale value of the input (255 for uint8, 65535 for uint16, 1.0
        for float sRGB). ``None`` means the values are not sRGB: they are
        dithered in their own units.
    random_state : None
        Unused: every method is deterministic. Accepted so that callers can
        pass their seed along.

    Returns
    -------
    labels : ndarray of shape (H, W), dtype int32
        Index into ``palette`` of every pixel.

    Notes
    -----
    Colour data (3 channels, ``scale`` given, and for ``space='rgb'`` every
    value of the image and the palette in ``[0, scale]``) is diffused in
    linear light; the nearest palette colour is chosen in ``space``.
    Anything else is diffused in the input's units, with the Euclidean
    nearest colour. In both cases the *valid range* is ``[0, 1]`` (linear
    light) or the per-channel range of the image and the palette.

    Clamping, and how much error is passed on:

    - the pixel plus its carried error is clamped to the valid range widened
      by ``CARRY_MARGIN`` (half its width) on each side, and its colour is
      looked up for that value clamped to the valid range. The error passed
      on is taken from the widened value, so near black and white it is not
      lost: a flat grey dithered with black and white shows white on the
      fraction of pixels equal to its linear-light value.
    - error that no palette colour can absorb (a colour outside the
      palette's range) would pile up and bleed across edges as streaks of
      stray dots, so the error a pixel passes on is capped at
      ``ERROR_LIMIT`` (2.5) times the distance from its palette colour to
      the nearest other palette colour; larger errors are scaled down to
      that length. On photographs this lowers the blurred CIEDE2000 of
      Floyd-Steinberg by 2 to 10 % and removes the cases where dithering
      did worse than none.

    Ordered dithering ('bayer') mixes two palette colours per pixel, with no
    global strength to tune. ``a`` is the nearest colour to the pixel ``p``
    (in the working space). ``b`` is the first other colour met walking from
    ``p`` away from ``a``: the nearest colour to ``p + s (p - a)`` for
    ``s = 1, 2, 4, ... 64`` (diffusion units, clamped to the valid range),
    or none. ``alpha`` is the position of the projection of ``p`` on the
    segment ``[a, b]`` (0 at ``a``, 1 at ``b``, linear light for colour
    data). The pixel shows ``b`` when its Bayer threshold
    ``(index + 0.5) / 64`` is below ``alpha``, else ``a``. Over an 8 x 8
    tile the two colours then appear in the proportion
    ``1 - alpha : alpha``, whose mean is ``p`` when ``p`` lies between them:
    the dither amplitude is the palette's local spacing where the pixel is.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._kernels import dither_labels
    >>> grey = np.full((64, 64, 3), 188, dtype=np.uint8)  # linear light 0.503
    >>> palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    >>> labels = dither_labels(
    ...     grey, palette, method="floyd-steinberg", space="lab", scale=255.0
    ... )
    >>> labels.shape, labels.dtype
    ((64, 64), dtype('int32'))
    >>> round(float(labels.mean()), 1)  # half the pixels are white
    0.5
    """
    image, palette = _check_args(pixels_image, palette, method, space, scale)
    if method in ERROR_DIFFUSION_KERNELS:
        return _run(image, palette, space, scale, _kernel_taps(method), _NOT_ORDERED)
    return _run(image, palette, space, scale, _NO_TAPS, _ORDERED_PAIR)


def dither_map(pixels_image, palette, colors, *, method, space, scale):
    """``colors[dither_labels(...)]``, without a label array for the image.

    The labels of each band of rows go to a small per-thread buffer and are
    turned into colours at once: the peak memory is the output.

    Parameters
    ----------
    pixels_image, palette, method, space, scale
        As for :func:`dither_labels`.
    colors : ndarray of shape (n_colors, n_out)
        What each palette entry maps to (for example the palette in the
        image's dtype).

    Returns
    -------
    mapped : ndarray of shape (H, W, n_out), dtype of ``colors``
    """
    image, palette = _check_args(pixels_image, palette, method, space, scale)
    colors = _checks.real_array(colors, "colors", 2)
    if colors.shape[0] != palette.shape[0]:
        raise ValueError(
            f"colors must have one row per palette entry ({palette.shape[0]}), "
            f"got shape={colors.shape}."
        )
    colors = np.ascontiguousarray(colors)
    if method in ERROR_DIFFUSION_KERNELS:
        taps, ordered = _kernel_taps(method), _NOT_ORDERED
    else:
        taps, ordered = _NO_TAPS, _ORDERED_PAIR
    if colors.dtype not in _COLOR_DTYPES:  # rare: no kernel for it
        return colors[_run(image, palette, space, scale, taps, ordered)]
    return _run(image, palette, space, scale, taps, ordered, colors)


#: Dtypes of ``colors`` that :func:`dither_map` writes with a kernel.
_COLOR_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


def nearest_labels(pixels_image, palette, *, space, scale):
    """Palette index of every pixel, without dithering.

    The exact nearest palette colour in the working space, found with the
    same search structure and the same pixel handling as
    :func:`dither_labels` (for colour data: decoded, clamped to the RGB cube,
    converted to ``space``). Used by the tests to check the search against
    brute force, and as the undithered reference.

    Parameters
    ----------
    pixels_image : ndarray of shape (H, W, C)
    palette : ndarray of shape (n_colors, C)
    space : {'rgb', 'lab', 'oklab', 'din99o'}
    scale : float or None

    Returns
    -------
    labels : ndarray of shape (H, W), dtype int32
    """
    image, palette = _check_args(pixels_image, palette, DITHER_METHODS[0], space, scale)
    return _run(image, palette, space, scale, _NO_TAPS, _NOT_ORDERED)


_NO_TAPS = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


def _run(image, palette, space, scale, taps, ordered, colors=None):
    """Set up the kernel arguments for validated input and run it.

    Returns the labels, or with ``colors`` the image of ``colors[labels]``
    (written band by band: no label array for the whole image).
    """
    height, width, n_channels = image.shape
    if colors is None:
        labels = np.zeros((height, width), dtype=np.int32)
    else:
        out = np.empty((height, width, colors.shape[1]), colors.dtype)
    if image.size == 0 or palette.shape[0] == 1:
        if colors is None:
            return labels
        out[...] = colors[0]
        return out
    image = np.ascontiguousarray(image)
    if image.dtype.kind not in "uif":
        image = image.astype(np.float64)

    palette_f = palette.astype(np.float64)
    color = (
        n_channels == 3
        and scale is not None
        and (space != "rgb" or _is_srgb(image, palette_f, scale))
    )
    lut = np.zeros(0)
    if color:
        space_code = _SPACE_CODES[space]
        palette_lin = srgb_decode(palette_f / scale)
        palette_work = _color.to_working(palette_f / scale, space)
        valid_lo, valid_hi = np.zeros(3), np.ones(3)
        lo, hi = _working_bounds(space_code)
        if image.dtype.kind == "u" and scale == np.iinfo(image.dtype).max <= 65535:
            lut = srgb_decode(np.arange(int(scale) + 1) / scale)
    else:
        space_code = _SPACE_IDENTITY
        palette_lin = palette_work = palette_f
        flat = image.reshape(-1, n_channels)
        valid_lo = np.minimum(flat.min(axis=0), palette_f.min(axis=0)).astype(float)
        valid_hi = np.maximum(flat.max(axis=0), palette_f.max(axis=0)).astype(float)
        if not (np.isfinite(valid_lo).all() and np.isfinite(valid_hi).all()):
            raise ValueError(
                "pixels_image must be finite to be dithered (it holds NaN or "
                "infinite values); replace them first, or use dither=None."
            )
        lo, hi = valid_lo, valid_hi
    margin = CARRY_MARGIN * (valid_hi - valid_lo)
    m1, m2 = _space_args(space_code)
    palette_lin = np.ascontiguousarray(palette_lin, dtype=np.float64)
    gap2 = _nearest_other_sq(palette_lin)
    index = _build_index(
        palette_work, np.asarray(lo, float), np.asarray(hi, float), height * width
    )
    args = (
        lut,
        color,
        1.0 / scale if scale is not None else 1.0,
        _CONSTANTS,
        valid_lo,
        valid_hi,
        valid_lo - margin,
        valid_hi + margin,
        np.ascontiguousarray(palette_lin, dtype=np.float64),
        ERROR_LIMIT**2 * gap2,
        gap2,
        np.ascontiguousarray(palette_work, dtype=np.float64),
        space_code,
        m1,
        m2,
        *taps,
        BAYER_8X8,
        ordered,
        *index,
    )
    if taps[0].shape[0] > 0:
        # Error diffusion runs down each band of rows in order; a band first
        # re-runs the WARMUP_ROWS rows above it so that its first row gets
        # the carried error it would have had in one sequential pass.
        band_rows, warmup = DIFFUSION_BAND_ROWS, WARMUP_ROWS
    else:
        band_rows, warmup = ORDERED_BAND_ROWS, 0
    n_bands = -(-height // band_rows)
    n_threads = min(kernel_threads(height * width), n_bands)
    if colors is not None:
        buffers = [np.empty((band_rows, width), np.int32) for _ in range(n_threads)]

    def task(worker, first, stop):
        # Fixed bands whatever the number of threads: the same result.
        for y0 in range(first, stop, band_rows):
            y1 = min(y0 + band_rows, stop)
            rows = labels[y0:y1] if colors is None else buffers[worker][: y1 - y0]
            _dither_rows(image, max(y0 - warmup, 0), y0, y1, rows, *args)
            if colors is not None:
                n = rows.size
                flat = out[y0:y1].reshape(n, colors.shape[1])
                _take_rows(colors, rows.reshape(n), 0, n, flat)

    run_parallel(task, height, n_threads, chunk=band_rows)
    return labels if colors is None else out
