"""ONE candidate-grid nearest-colour search: transform, predict, dithering, Lloyd.

A coarse grid is laid over the working space (up to four channels). Each
cell carries the palette entries that can be nearest for *some* point of the
cell: an entry ``p`` is dropped when another entry ``q`` is strictly nearer
for every point of the cell, which is decided exactly from the cell's centre
``c`` and half-widths ``h``::

    min over the cell of |x - p|**2 - |x - q|**2
        = |c - p|**2 - |c - q|**2 - 2 * sum_j h_j * |p_j - q_j|  >  0

(the difference of two squared distances is linear in ``x``). Cells are
refined coarse to fine, each child testing only its parent's survivors, so
the grid costs little even for thousands of colours. Cells keep one to a
handful of entries; long lists are sorted by their lower bound so that the
search stops early. Points outside the grid are searched in full.

:func:`nearest3` and :func:`nearest` return the exact nearest entry (float64
squared distances), the lowest index among exact ties, starting from a hint
(the previous answer) when given: whatever the grid, the answer is the
brute-force one. :func:`grid_for` gives the grid of a palette over a box
(built once, then recalled from :func:`cached_grid`).
"""

import math
import threading

import numpy as np

from skquant._kernels._cache import kernel
from skquant._kernels._runner import (
    kernel_threads,
    run_parallel,
)

#: Candidate lists longer than this are searched with an early stop on the
#: lower bounds; shorter ones are scanned in full, which avoids unpredictable
#: branches and is faster.
LONG_LIST = 12

#: Grid search is used up to this many channels; more search in full.
MAX_GRID_CHANNELS = 4

#: Upper bound on the number of grid cells.
MAX_GRID_CELLS = 1 << 18

#: Bytes the candidate lists of one grid may take (with the cell index): a
#: finer level that would need more is not built, its parent serves.
GRID_BYTES = 32 << 20

#: Bytes per listed candidate: its index (int32) and lower bound (float32,
#: rounded down so that it stays a lower bound).
ENTRY_BYTES = 8

#: Squared distances are scaled by this before they are rounded to float32
#: (relative precision 2**-24): the stored bound is never above the true one.
ROUND_DOWN = 1.0 - 2.0**-20

#: Cell tests (a few ns each) below which building a grid level uses one thread.
MIN_TESTS_PER_THREAD = 1 << 18

#: Below this many distances (queries x colours) a full search of every
#: query costs a few milliseconds, less than building a grid (and, on first
#: use, than compiling it: 3 s).
MIN_GRID_WORK = 1 << 23


@kernel
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


@kernel
def _cell_candidates(
    cell, g, factor, lo, width, pad, palette, p_start, p_cand, s, sort, long_list, cone
):
    """Palette entries that can be nearest somewhere in grid cell ``cell``.

    ``s`` is a per-thread scratch: ``s.keep[:n]`` receives the entries and
    ``s.lower[:n]`` the squared distance from the cell to each, and ``n`` is
    returned. With ``sort``, lists longer than ``long_list`` are sorted by
    that lower bound. A cell that no point of the ``cone`` (see
    :func:`_reachable`) can reach gets no list (``n = 0``).
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
    if cone.shape[0] > 0 and not _reachable(centre, half, cone):
        return 0
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
    if sort and m > long_list:
        _shell_sort(lower, keep, m, True, False)
    return m


@kernel
def _reachable(centre, half, cone):
    """Whether a premultiplied point can fall in the cell ``centre +- half``.

    ``cone`` is ``(lo_0 .. lo_m-1, hi_0 .. hi_m-1, weight)`` for points
    ``(c_0 o, .., c_m-1 o, weight o)`` with each colour value ``c_j`` in
    ``[lo_j, hi_j]``: a cell of opacities ``o`` in ``[o0, o1]`` is reached
    only where every colour axis meets ``[lo_j, hi_j] * [o0, o1]``. RGBA
    grids are mostly out of reach (a faint pixel has a dark premultiplied
    colour), and these cells would each repeat long candidate lists. The
    test may keep unreachable cells (each axis is tested alone), never the
    reverse matters for exactness: a point in a cell without a list is
    searched in full.
    """
    m = centre.shape[0] - 1
    weight = cone[2 * m]
    o0 = (centre[m] - half[m]) / weight
    o1 = (centre[m] + half[m]) / weight
    for j in range(m):
        a, b = cone[j] * o0, cone[j] * o1
        c, e = cone[m + j] * o0, cone[m + j] * o1
        low = min(min(a, b), min(c, e))
        high = max(max(a, b), max(c, e))
        slack = 1e-9 * (abs(low) + abs(high)) + 1e-300
        if centre[j] + half[j] < low - slack or centre[j] - half[j] > high + slack:
            return False
    return True


@kernel
def _shell_sort(key, values, n, shell, ties):
    """Sort ``key[:n]`` in place, moving ``values[:n]`` along.

    ``shell``: Knuth's gaps, then an insertion sort; otherwise the insertion
    sort alone (stable, and nearly free on nearly sorted keys). ``ties``:
    equal keys are ordered by value. Written out because ``np.argsort``
    costs seconds of compilation on first use, and these lists are short
    (tens to a few thousand entries).
    """
    gap = 1
    while shell and gap < n // 3:
        gap = 3 * gap + 1
    while gap > 0:
        for i in range(gap, n):
            k = key[i]
            v = values[i]
            j = i
            while j >= gap and (
                key[j - gap] > k or (ties and key[j - gap] == k and values[j - gap] > v)
            ):
                key[j] = key[j - gap]
                values[j] = values[j - gap]
                j -= gap
            key[j] = k
            values[j] = v
        gap //= 3


@kernel
def _scratch(n, d):
    return (
        np.empty(n, np.int32),
        np.empty(n, np.float64),
        np.empty(n, np.float64),
        np.empty(n, np.bool_),
        np.empty(d, np.float64),
        np.empty(d, np.float64),
    )


@kernel
def _refine_cells(
    first,
    stop,
    palette,
    lo,
    span,
    g,
    factor,
    p_start,
    p_cand,
    fill,
    long_list,
    cone,
    start,
    cand,
    lower,
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
            cell,
            g,
            factor,
            lo,
            width,
            pad,
            palette,
            p_start,
            p_cand,
            s,
            fill,
            long_list,
            cone,
        )
        if not fill:
            start[cell + 1] = m
            continue
        o = start[cell]
        for k in range(m):
            cand[o + k] = s[0][k]
            lower[o + k] = np.float32(s[1][k] * ROUND_DOWN)


def _refine(palette, lo, span, g, factor, parent, long_list, cone, budget):
    """Candidate lists of a ``g``-per-axis grid from its parent grid's.

    ``parent`` is the parent's ``(start, cand, lower)``. Returns the child's
    ``(start, cand, lower)`` in CSR form, or None when its lists would take
    more than ``budget`` bytes (counted before they are written).
    """
    p_start, p_cand = parent[0], parent[1]
    n_cells = g ** palette.shape[1]
    # Work ~ cells x candidates per parent cell (a few ns each).
    n_tests = n_cells * (len(p_cand) // (len(p_start) - 1) + 1)
    n_threads = kernel_threads(n_tests, min_items=MIN_TESTS_PER_THREAD)
    chunk = max(64, n_cells // (8 * n_threads))
    grid = (palette, lo, span, g, factor, p_start, p_cand)
    start = np.zeros(n_cells + 1, np.int64)
    empty = (np.empty(0, np.int32), np.empty(0, np.float32))

    def count(worker, first, stop):
        _refine_cells(first, stop, *grid, False, long_list, cone, start, *empty)

    run_parallel(count, n_cells, n_threads, chunk=chunk)
    np.cumsum(start, out=start)
    if start.nbytes + int(start[-1]) * ENTRY_BYTES > budget:
        return None
    cand, lower = np.empty(start[-1], np.int32), np.empty(start[-1], np.float32)

    def fill(worker, first, stop):
        _refine_cells(first, stop, *grid, True, long_list, cone, start, cand, lower)

    run_parallel(fill, n_cells, n_threads, chunk=chunk)
    return start, cand, lower


# %% search ----------------------------------------------------------------------


@kernel(inline="always")
def nearest3(x0, x1, x2, hint, grid):
    """Index of the palette entry nearest to the 3-channel point ``x``.

    ``grid`` is what :func:`grid_for` returns. ``hint`` (an entry, or -1) is
    where the search starts: neighbouring pixels mostly share a colour, so
    fewer candidates pass the bound.
    """
    palette, lo, inv_width, g, start, cand, lower, long_list = grid
    t0 = (x0 - lo[0]) * inv_width[0]
    t1 = (x1 - lo[1]) * inv_width[1]
    t2 = (x2 - lo[2]) * inv_width[2]
    best = np.inf
    arg = 0
    if not (t0 >= 0.0 and t0 < g and t1 >= 0.0 and t1 < g and t2 >= 0.0 and t2 < g):
        # Outside the grid: full search (the first of exact ties wins).
        for p in range(palette.shape[0]):
            d0 = x0 - palette[p, 0]
            d1 = x1 - palette[p, 1]
            d2 = x2 - palette[p, 2]
            dist = d0 * d0 + d1 * d1 + d2 * d2
            if dist < best:
                best = dist
                arg = p
        return arg
    if hint >= 0:
        d0 = x0 - palette[hint, 0]
        d1 = x1 - palette[hint, 1]
        d2 = x2 - palette[hint, 2]
        best = d0 * d0 + d1 * d1 + d2 * d2
        arg = hint
    cell = (int(t0) * g + int(t1)) * g + int(t2)
    s = start[cell]
    e = start[cell + 1]
    sorted_search = e - s > long_list
    for k in range(s, e):
        if sorted_search and lower[k] > best:
            break
        best, arg = closer3(x0, x1, x2, palette, cand[k], best, arg)
    return arg


@kernel(inline="always")
def closer3(x0, x1, x2, palette, p, best, arg):
    """``(distance, p)`` when entry ``p`` is nearer to ``x`` than ``best``
    (squared), or as near and of lower index than ``arg``; else ``(best, arg)``."""
    d0 = x0 - palette[p, 0]
    d1 = x1 - palette[p, 1]
    d2 = x2 - palette[p, 2]
    dist = d0 * d0 + d1 * d1 + d2 * d2
    if dist < best or (dist == best and p < arg):
        return dist, p
    return best, arg


@kernel
def nearest(x, hint, grid):
    """:func:`nearest3` for any number of channels, ``x`` an array.

    With ``g == 0`` (no grid), or in a cell without a list (see
    :func:`_reachable`), a full search.
    """
    palette, lo, inv_width, g, start, cand, lower, long_list = grid
    d = palette.shape[1]
    cell = 0
    inside = g > 0
    if inside:
        for j in range(d):
            t = (x[j] - lo[j]) * inv_width[j]
            if not (t >= 0.0 and t < g):
                inside = False
                break
            cell = cell * g + int(t)
    if inside and start[cell] == start[cell + 1]:
        inside = False  # a cell without a list (out of reach): full search
    s = start[cell] if inside else 0
    e = start[cell + 1] if inside else palette.shape[0]
    sorted_search = inside and e - s > long_list
    best = np.inf
    arg = 0
    if hint >= 0 and inside:
        best = 0.0
        for j in range(d):
            delta = x[j] - palette[hint, j]
            best += delta * delta
        arg = hint
    for k in range(s, e):
        if sorted_search and lower[k] > best:
            break
        p = cand[k] if inside else k
        dist = 0.0
        for j in range(d):
            delta = x[j] - palette[p, j]
            dist += delta * delta
        if dist < best or (dist == best and p < arg):
            best = dist
            arg = p
    return arg


def grid_for(palette, lo, hi, n_queries, *, hinted=False, cone=None):
    """The grid of ``palette`` (float64, C order) over the box ``[lo, hi]``.

    The box is widened to hold the palette, and a little beyond so that the
    top values fall inside the last cell. Returns the ``grid`` argument of
    :func:`nearest3`: ``(palette, lo, inv_width, g, start, cand, lower,
    long_list)``. ``hinted`` searches (dithering: each starts from the
    previous pixel's colour) get a finer grid whose lists are all sorted,
    so that the search stops at the first bound beyond the hint. ``cone``
    (RGBA, from :func:`~skquant._kernels._box.pixel_box`) leaves the cells
    that no query can reach without a list (:func:`_reachable`).

    More than four channels, or fewer than ``MIN_GRID_WORK`` distances for
    a full search of every query, get an empty grid (``g = 0``): every
    search is then in full, as fast there (a 0.27 MP photo at K=16 or 64:
    the same 21 ms in 'rgb', 46 ms in 'lab'), and the grid's code is not
    even compiled. The lists take at most ``GRID_BYTES``: a finer level
    that would need more is not built (``g`` is then smaller).
    """
    n_colors, n_channels = palette.shape
    if n_channels > MAX_GRID_CHANNELS or n_colors == 1:
        return no_grid(palette)
    if n_queries * n_colors < MIN_GRID_WORK:
        return no_grid(palette)
    lo = np.minimum(np.nan_to_num(lo, nan=np.inf), palette.min(axis=0))
    hi = np.maximum(np.nan_to_num(hi, nan=-np.inf), palette.max(axis=0))
    span = hi - lo
    span[~(span > 0)] = 1.0
    lo = lo - 1e-6 * span
    span = span * (1.0 + 2e-6)
    g = grid_size(n_colors, n_channels, n_queries)
    long_list = LONG_LIST
    if hinted:
        # About four cells per colour along each axis, as many as queries.
        finer = 4.0 * n_colors ** (1.0 / n_channels)
        finest = (n_queries / 8.0) ** (1.0 / n_channels)
        target = max(2.0, min(finer, finest, 32.0))
        g = max(g, 1 << math.ceil(math.log2(target)))
        long_list = 1
    cone = _NO_CONE if cone is None else np.asarray(cone, np.float64)
    start, cand, lower = cached_grid(palette, lo, span, g, long_list, cone)
    g = _cells_per_axis(len(start) - 1, n_channels)
    return palette, lo, g / span, g, start, cand, lower, long_list


def _cells_per_axis(n_cells, n_channels):
    """``g`` such that ``g ** n_channels == n_cells`` (a power of two)."""
    g = 1
    while g**n_channels < n_cells:
        g *= 2
    return g


#: No cone: every cell of the box can hold queries.
_NO_CONE = np.zeros(0)
_NO_CONE.flags.writeable = False


def no_grid(palette):
    """The ``grid`` of :func:`nearest` for a full search (an empty grid)."""
    d = palette.shape[1]
    return (palette, np.zeros(d), np.ones(d), 0, *_EMPTY_GRID, LONG_LIST)


#: The lists of an empty grid, read-only like those of :func:`cached_grid`
#: (so the kernels see the same types: one compiled specialisation).
_EMPTY_GRID = (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
for _array in _EMPTY_GRID:
    _array.flags.writeable = False


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


def build_grid(palette_work, lo, span, g, long_list=LONG_LIST, cone=_NO_CONE):
    """Candidate lists of a ``g``-per-axis grid over ``[lo, lo + span]``.

    Returns ``(start, cand, lower)`` in CSR form: the candidates of cell ``c``
    are ``cand[start[c]:start[c + 1]]``, sorted by their lower bound when
    there are more than ``long_list``. Levels are refined two cells per
    axis at a time while their lists fit in ``GRID_BYTES``: the grid
    returned may be coarser than ``g`` (``len(start) - 1`` cells). Cells
    out of the ``cone`` (see :func:`_reachable`) get empty lists.
    """
    n_colors = palette_work.shape[0]
    grid = (
        np.array([0, n_colors], dtype=np.int64),
        np.arange(n_colors, dtype=np.int32),
        np.zeros(n_colors, np.float32),
    )
    size = 1
    while size < g:
        finer = _refine(
            palette_work, lo, span, 2 * size, 2, grid, long_list, cone, GRID_BYTES
        )
        if finer is None:
            break
        grid, size = finer, 2 * size
    return grid


#: Grids kept by :func:`cached_grid` (a few MiB at most each).
GRID_CACHE_SIZE = 8

_grid_cache = {}
_grid_cache_lock = threading.Lock()


def cached_grid(palette, lo, span, g, long_list=LONG_LIST, cone=_NO_CONE):
    """:func:`build_grid`, remembered for the last few palettes and boxes.

    Mapping the frames of a video or a photo collection onto one palette
    asks for the same grid again and again (for 8-bit RGB and the
    perceptual spaces the box does not depend on the pixels): building it
    is most of the transform of a small frame at K=256 (about 10 ms of 25).
    The grid is a pure function of its arguments, kept in a small
    process-wide table keyed by their bytes (not on the estimator, which
    ``transform`` must leave unchanged); its arrays are read-only.
    """
    key = (palette.shape, palette.tobytes(), lo.tobytes(), span.tobytes())
    key += (g, long_list, cone.tobytes())
    with _grid_cache_lock:
        grid = _grid_cache.get(key)
    if grid is not None:
        return grid
    grid = build_grid(palette, lo, span, g, long_list, cone)
    for array in grid:
        array.flags.writeable = False
    with _grid_cache_lock:
        while len(_grid_cache) >= GRID_CACHE_SIZE:
            _grid_cache.pop(next(iter(_grid_cache)))
        _grid_cache[key] = grid
    return grid
