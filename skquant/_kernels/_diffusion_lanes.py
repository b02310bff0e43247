"""Floyd-Steinberg on four bands of rows at once, one band per vector lane.

Compiled code only. Error diffusion is a chain: each pixel waits for the
error of the one before, so one band runs on one core at the speed of that
chain's scalar code (:func:`skquant._kernels._diffusion._fs_rows`). Bands
are independent (see :data:`~skquant._kernels._diffusion.WARMUP_ROWS`):
:func:`_fs_lanes` advances four of them in step, pixel ``x`` of row ``r``
of each band in the four lanes of the vectors of :mod:`skquant._kernels._lanes`.
Every lane does the arithmetic of ``_fs_rows`` in the same order, so each
band gets the labels that ``_fs_rows`` gives it, bit for bit (the tests
check it); the four cost about as much as one band in ``_fs_rows``.

:func:`lane_groups` plans which bands run together and :func:`check_lanes`
checks, in Python, what the kernel is handed; everything else here is
compiled code.

Where the lanes cannot share one instruction, they are taken one by one
with the scalar code: a colour off the tables of the conversion (see
:func:`~skquant._kernels._fastconv.fast_to_work4`), a step where a lane's
colour is outside the search grid, a float image (decoded with ``pow``).
"""

import numpy as np

from skquant._kernels._cache import kernel
from skquant._kernels._colorspace import srgb_decode
from skquant._kernels._diffusion import (
    _BELOW_OWN,
    _FS_AHEAD,
    _FS_BEHIND,
    _FS_BELOW,
    _FS_DIAGONAL,
)
from skquant._kernels._fastconv import fast_to_work4, off_lanes
from skquant._kernels._grid import nearest3
from skquant._kernels._lanes import (
    LANES,
    address,
    any_lane,
    gather,
    lane,
    load,
    rows4_at,
    select,
    splat,
    store,
    to_i4,
    vmax,
    vmin,
    vsqrt,
    vtrunc,
    with_lane,
)


@kernel
def _channel(flat, at, c, lut, decode, inv_scale):
    """Channel ``c`` of the pixels ``at`` (``i4``, indices of pixels in the
    flat image) in diffusion units, as ``_fs_rows`` reads them."""
    if lut.shape[0] > 0:
        return gather(lut, gather(flat, at, 3, c, False), 1, 0, True)
    value = gather(flat, at, 3, c, True)
    if decode:
        for k in range(LANES):
            value = with_lane(value, k, srgb_decode(lane(value, k) * inv_scale))
    return value


@kernel(inline="always")
def _label_row(spans, k, r):
    """The row of ``labels`` that lane ``k`` writes at step ``r`` (see
    :func:`_fs_lanes`), or -1 (a warm-up row, or past its band)."""
    y = spans[k, 0] + r
    if spans[k, 1] <= y < spans[k, 2]:
        return y + spans[k, 3]
    return -1


@kernel
def _fs_lanes(
    image,
    spans,
    steps,
    carry,
    labels,
    pixel,
    space,
    grid,
    strength,
    tables,
    full_scan_max,
    offsets,
    maps,
):
    """:func:`~skquant._kernels._diffusion._fs_rows` on four bands at once.

    ``spans`` (int64, ``(4, 4)``) holds each lane's ``(first_row, y_write,
    y1, offset)``: the first three as ``_fs_rows``'s ``span`` (a lane with
    ``y1 == first_row`` is idle; every ``first_row`` has the same parity, so
    that rows run in the same direction in every lane). This call runs the
    rows ``first_row + r`` for ``r`` in ``range(*steps)``; lane ``k`` writes
    the labels of row ``y`` (from ``y_write`` on) to ``labels[y + offset]``
    and reads its adaptive limits (when ``maps`` is not empty) from
    ``maps[k, y - first_row]``. ``carry`` (float64, ``(2, 12 * width)``,
    zeros before the first row) holds the error carried from one row to the
    next between calls: a band can run in several calls, each writing a
    few rows of labels. ``pixel``, ``space``,
    ``grid``, ``strength``, ``tables`` and ``full_scan_max`` are
    ``_fs_rows``'s; ``offsets`` is ``grid``'s lists as :func:`lane_offsets`
    gives them. The caller checks the shapes (:func:`check_lanes`).
    """
    lut, decode, inv_scale, valid_lo, valid_hi, carry_lo, carry_hi = pixel[:7]
    palette_lin, error_limit2, error_limit = pixel[7], pixel[8], pixel[9]
    width = image.shape[1]
    flat = image.reshape(-1)
    map_flat = maps.reshape(-1)
    use_map = maps.shape[0] > 0
    palette_work, grid_lo, grid_scale, n_grid = grid[0], grid[1], grid[2], grid[3]
    grid_start = grid[4]
    n_colors = palette_work.shape[0]
    full_scan = n_colors <= full_scan_max
    n_offsets = offsets.shape[0]
    tables_at = address(tables)  # (see fast_to_work4)
    work = palette_work.reshape(-1)
    # Rows of four float64, read one load per lane (rows4): the working
    # colours, and the linear ones with the error limit of each colour.
    work4 = np.zeros((n_colors, 4))
    lin4 = np.empty((n_colors, 4))
    for p in range(n_colors):
        for c in range(3):
            work4[p, c] = palette_work[p, c]
            lin4[p, c] = palette_lin[p, c]
        lin4[p, 3] = error_limit[p] if use_map else error_limit2[p]

    # Each lane's first row, last row (as an offset from its first) and
    # where its adaptive limits start in map_flat; idle lanes read row 0.
    first4 = splat(0)
    last4 = splat(0)
    map4 = splat(0)
    n_steps = 0
    for k in range(LANES):
        n_rows = spans[k, 2] - spans[k, 0]
        if n_rows > 0:
            first4 = with_lane(first4, k, spans[k, 0])
            last4 = with_lane(last4, k, n_rows - 1)
        map4 = with_lane(map4, k, k * maps.shape[1] * width)
        n_steps = max(n_steps, n_rows)

    zero = splat(0.0)
    lo0, lo1, lo2 = splat(valid_lo[0]), splat(valid_lo[1]), splat(valid_lo[2])
    hi0, hi1, hi2 = splat(valid_hi[0]), splat(valid_hi[1]), splat(valid_hi[2])
    clo0, clo1, clo2 = splat(carry_lo[0]), splat(carry_lo[1]), splat(carry_lo[2])
    chi0, chi1, chi2 = splat(carry_hi[0]), splat(carry_hi[1]), splat(carry_hi[2])
    ahead, behind = splat(_FS_AHEAD), splat(_FS_BEHIND)
    below, diagonal = splat(_FS_BELOW), splat(_FS_DIAGONAL)
    gl0, gl1, gl2 = splat(grid_lo[0]), splat(grid_lo[1]), splat(grid_lo[2])
    gs0, gs1, gs2 = splat(grid_scale[0]), splat(grid_scale[1]), splat(grid_scale[2])
    cells_f = splat(np.float64(n_grid))
    # The colour chosen in each lane, as the offset of its row in work4 and
    # lin4 (four times its index: see rows4_at).
    j4 = splat(0)
    for r in range(steps[0], min(steps[1], n_steps)):
        forward = (spans[0, 0] + r) % 2 == 0
        # Error carried into this row, and into the next one: position x,
        # channel c of lane k at [12 x + 4 c + k].
        err_here, err_below = carry[r % 2], carry[(r + 1) % 2]
        row4 = select(last4 < splat(r), last4, splat(r))
        pixels4 = (first4 + row4) * splat(width)
        limits4 = map4 + row4 * splat(width)
        a0 = a1 = a2 = b0 = b1 = b2 = c0 = c1 = c2 = zero
        # the row of labels each lane writes (-1: none), once per row
        out0, out1 = _label_row(spans, 0, r), _label_row(spans, 1, r)
        out2, out3 = _label_row(spans, 2, r), _label_row(spans, 3, r)
        for i in range(width):
            x = i if forward else width - 1 - i
            at = pixels4 + splat(x)
            u0 = _channel(flat, at, 0, lut, decode, inv_scale)
            u1 = _channel(flat, at, 1, lut, decode, inv_scale)
            u2 = _channel(flat, at, 2, lut, decode, inv_scale)
            s0, s1, s2 = u0, u1, u2  # the pixel's own value
            t0, t1, t2 = (
                load(err_here, 12 * x),
                load(err_here, 12 * x + 4),
                load(err_here, 12 * x + 8),
            )
            if i > 0:
                t0, t1, t2 = t0 + a0, t1 + a1, t2 + a2
            u0 = vmin(vmax(u0 + t0, clo0), chi0)
            u1 = vmin(vmax(u1 + t1, clo1), chi1)
            u2 = vmin(vmax(u2 + t2, clo2), chi2)
            v0 = vmin(vmax(u0, lo0), hi0)
            v1 = vmin(vmax(u1, lo1), hi1)
            v2 = vmin(vmax(u2, lo2), hi2)
            w0, w1, w2, off = fast_to_work4(v0, v1, v2, space, tables_at)
            if any_lane(off):  # rare: those lanes by the scalar code
                w0, w1, w2 = off_lanes(v0, v1, v2, off, w0, w1, w2, space, tables)
            if full_scan:
                d0, d1, d2 = (
                    w0 - splat(work[0]),
                    w1 - splat(work[1]),
                    w2 - splat(work[2]),
                )
                best = d0 * d0 + d1 * d1 + d2 * d2
                j4 = splat(0)
                for p in range(1, n_colors):
                    d0 = w0 - splat(work[3 * p])
                    d1 = w1 - splat(work[3 * p + 1])
                    d2 = w2 - splat(work[3 * p + 2])
                    dist = d0 * d0 + d1 * d1 + d2 * d2
                    better = dist < best
                    best = select(better, dist, best)
                    j4 = select(better, splat(4 * p), j4)
            else:
                g0, g1, g2 = (w0 - gl0) * gs0, (w1 - gl1) * gs1, (w2 - gl2) * gs2
                outside = ~(
                    (g0 >= zero)
                    & (g0 < cells_f)
                    & (g1 >= zero)
                    & (g1 < cells_f)
                    & (g2 >= zero)
                    & (g2 < cells_f)
                )
                longest = top = 0
                start = length = splat(0)
                if not any_lane(outside):
                    # (The cell index in float64, exact below 2**53: AVX2
                    # has no packed int64 product.)
                    cell = to_i4(
                        (vtrunc(g0) * cells_f + vtrunc(g1)) * cells_f + vtrunc(g2)
                    )
                    start = gather(grid_start, cell, 1, 0, False)
                    length = gather(grid_start, cell, 1, 1, False) - start
                    for k in range(LANES):
                        longest = max(longest, lane(length, k))
                        top = max(top, lane(start, k))
                # Each lane reads `longest` slots from its list's start. Past
                # the end of a shorter list it reads the next lists' entries:
                # palette colours all the same, which cannot be nearer than
                # the nearest its own list holds (a list holds every colour
                # that can be nearest in its cell, ties included), and an as
                # near one wins only by a lower index, as in nearest3. The
                # same answer, without a mask per slot; `offsets` is padded
                # so that no read goes past its end (checked here: else, and
                # outside the grid or for an empty list, lane by lane).
                if (
                    any_lane(outside)
                    or top + longest > n_offsets
                    or any_lane(length < splat(1))
                ):
                    for k in range(LANES):  # rare: lane by lane
                        hint = lane(j4, k) >> 2
                        found = nearest3(
                            lane(w0, k), lane(w1, k), lane(w2, k), hint, grid
                        )
                        j4 = with_lane(j4, k, 4 * found)
                else:
                    # The grid's search (nearest3) in every lane: the hint,
                    # then the slots, without nearest3's early stop on the
                    # lower bounds: here it saved almost no slot (the lanes
                    # wait for the longest list) and cost a fifth of each.
                    q0, q1, q2, _ = rows4_at(work4, j4)
                    d0, d1, d2 = w0 - q0, w1 - q1, w2 - q2
                    best = d0 * d0 + d1 * d1 + d2 * d2
                    for s in range(longest):
                        entry = gather(offsets, start, 1, s, False)
                        q0, q1, q2, _ = rows4_at(work4, entry)
                        d0, d1, d2 = w0 - q0, w1 - q1, w2 - q2
                        dist = d0 * d0 + d1 * d1 + d2 * d2
                        better = (dist < best) | ((dist == best) & (entry < j4))
                        best = select(better, dist, best)
                        j4 = select(better, entry, j4)
            if out0 >= 0:
                labels[out0, x] = lane(j4, 0) >> 2
            if out1 >= 0:
                labels[out1, x] = lane(j4, 1) >> 2
            if out2 >= 0:
                labels[out2, x] = lane(j4, 2) >> 2
            if out3 >= 0:
                labels[out3, x] = lane(j4, 3) >> 2
            p0, p1, p2, colour_limit = rows4_at(lin4, j4)
            e0, e1, e2 = u0 - p0, u1 - p1, u2 - p2
            size2 = e0 * e0 + e1 * e1 + e2 * e2
            gain = splat(strength)
            if use_map:  # as in _fs_rows
                own0, own1, own2 = s0 - p0, s1 - p1, s2 - p2
                own = own0 * own0 + own1 * own1
                own = own + own2 * own2
                above = size2 > own * splat(_BELOW_OWN)
                if any_lane(above):
                    share = gather(map_flat, limits4 + splat(x), 1, 0, True)
                    cap = vsqrt(own) + share * colour_limit
                    over = above & (size2 > cap * cap)
                    gain = select(over, (gain * cap) / vsqrt(size2), gain)
            else:
                # (a branch, rarely taken: the division and the square root
                # only where a lane needs them)
                over = size2 > colour_limit
                if any_lane(over):
                    cut = gain * vsqrt(colour_limit / size2)
                    gain = select(over, cut, gain)
            e0, e1, e2 = gain * e0, gain * e1, gain * e2
            a0, a1, a2 = ahead * e0, ahead * e1, ahead * e2
            if i > 0:
                # The previous position of the row below is complete.
                p = 12 * (x - 1 if forward else x + 1)
                store(err_below, p, b0 + behind * e0)
                store(err_below, p + 4, b1 + behind * e1)
                store(err_below, p + 8, b2 + behind * e2)
            b0, b1, b2 = c0 + below * e0, c1 + below * e1, c2 + below * e2
            c0, c1, c2 = (
                zero + diagonal * e0,
                zero + diagonal * e1,
                zero + diagonal * e2,
            )
        last = 12 * (width - 1 if forward else 0)
        store(err_below, last, b0)
        store(err_below, last + 4, b1)
        store(err_below, last + 8, b2)


def lane_groups(n_bands, n_threads):
    """Bands ``0 .. n_bands - 1`` in groups of at most :data:`LANES`
    consecutive bands.

    Floyd-Steinberg dithers the bands of a group at once, one per vector
    lane (:func:`_fs_lanes`), and a group takes about as long as one band.
    So the groups are as few as the lanes allow, and at least one per
    thread when there are bands enough; their sizes differ by one at most
    (9 bands on 8 threads: one group of 2 and seven of 1, not five of 2).
    The threads take the groups' pieces in turn (see
    :func:`~skquant._kernels._runner.run_chains`): 12 bands on 2 threads,
    3 groups of 4, take one and a half groups' time. Each band's labels
    are the same in any grouping.
    """
    n_groups = min(n_bands, max(-(-n_bands // LANES), n_threads))
    size, extra = divmod(n_bands, n_groups)
    groups, band = [], 0
    for g in range(n_groups):
        stop = band + size + (g < extra)
        groups.append(tuple(range(band, stop)))
        band = stop
    return groups


def lane_offsets(grid):
    """The candidate lists of ``grid`` (:func:`~skquant._kernels._grid.grid_for`)
    as :func:`_fs_lanes` reads them: each entry as the offset of its row in
    a table of four columns (four times the entry), and after the last list
    as many zeros as the longest list holds, so that reading that many slots
    from any list's start stays within the array. Read-only, as the grid's
    arrays (one compiled type)."""
    start, cand = grid[4], grid[5]
    longest = int(np.diff(start).max()) if start.shape[0] > 1 else 0
    offsets = np.zeros(cand.shape[0] + longest, np.int32)
    np.multiply(cand, 4, out=offsets[: cand.shape[0]])
    offsets.flags.writeable = False
    return offsets


def check_lanes(image, spans, steps, carry, rows, maps):
    """Check what :func:`_fs_lanes` is handed: its rows within the image,
    the labels it writes within ``rows``, the carried error and the
    adaptive maps (a kernel must not read or write out of bounds)."""
    height, width = image.shape[:2]
    first_row, y_write, y1, offset = (np.asarray(c) for c in spans.T)
    active = y1 > first_row
    lo = np.maximum(y_write, first_row + steps[0])
    hi = np.minimum(y1, first_row + steps[1])
    writes = active & (hi > lo)
    ok = (
        spans.shape == (LANES, 4)
        and image.flags.c_contiguous
        and rows.shape[1] == width
        and 0 <= steps[0] <= steps[1]
        and carry.shape == (2, 3 * LANES * width)
        and carry.dtype == np.float64
        and carry.flags.c_contiguous
        and bool(np.all((0 <= first_row) & (first_row <= y_write) & (y_write <= y1)))
        and bool(np.all(y1 <= height))
        and bool(np.all(lo[writes] + offset[writes] >= 0))
        and bool(np.all(hi[writes] + offset[writes] <= rows.shape[0]))
        and (not active.any() or active[0])
        and len(set((first_row[active] % 2).tolist())) <= 1
        and (
            maps.shape[0] == 0
            or (
                maps.shape[0] == LANES
                and maps.shape[2] == width
                and bool(np.all(y1 - first_row <= maps.shape[1]))
            )
        )
    )
    if not ok:
        raise ValueError(f"inconsistent bands for the vector kernel: {spans.tolist()}")
