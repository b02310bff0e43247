"""The dithering kernel: error diffusion and ordered pair mixing, row by row.

Compiled code only; :mod:`skquant._kernels._dither` prepares its arguments
and runs it band by band. Colours are converted with
:mod:`skquant._kernels._colorspace` (Floyd-Steinberg on colours: by the
tables of :mod:`skquant._kernels._fastconv`) and searched with the grid of
:mod:`skquant._kernels._grid`, the same code as assignment.
"""

import numpy as np

from skquant._kernels._cache import kernel
from skquant._kernels._colorspace import linear_to_work, srgb_decode
from skquant._kernels._fastconv import fast_to_work
from skquant._kernels._grid import nearest, nearest3

#: Rows per band handed to a thread by the ordered kernel.
ORDERED_BAND_ROWS = 64

#: Rows per band of error diffusion. Bands are fixed (not one per thread),
#: so the result does not depend on the number of threads. 128 rather than
#: 256 since Floyd-Steinberg dithers bands four at a time (see
#: :mod:`skquant._kernels._diffusion_lanes`): a 12 MP photo's 3000 rows
#: make 24 bands, three rounds of 4 lanes on 2 threads, where 12 bands
#: left a quarter of the lanes idle (12 MP, 2 threads: 'rgb' K=16 0.40 ->
#: 0.33 s, 'din99o' K=256 0.97 -> 0.64 s; the warm-up rows cost 12.5 %
#: of a band instead of 6 %).
DIFFUSION_BAND_ROWS = 128

#: Rows above its band that error diffusion re-runs, unwritten, so that the
#: band starts with the carried error a single pass would have brought: the
#: error pattern forgets its start within a few rows, and the bands leave no
#: visible seam. ``benchmarks/bench_seams.py`` (7 photos, K = 16 and 64,
#: plain and adaptive; rows within 4 of a seam over one pass), blurred
#: CIEDE2000 and flat-area noise over one pass's, and the labels changed
#: there (19 % anywhere in a band): no warm-up 1.024, 0.964, 22 %; 2 rows
#: 1.004, 0.988, 20 %; 4 rows 1.004, 0.992, 20 %; 8 rows 1.003, 0.998,
#: 19 %; 16 rows 1.004, 1.011, 18 %. From 2 rows on, the seams measure as
#: one pass within the spread of the measure; 4 rows keep a margin, and
#: each row more costs about 0.8 % of Floyd-Steinberg's time (a band of
#: 126 rows runs 130, where 8 rows made it 134).
WARMUP_ROWS = 4

# Ordered modes of the kernel.
_NOT_ORDERED = 0
_ORDERED_PAIR = 1

#: Steps of the ray walk of pair mixing. The walk starts half-way from the
#: first colour to its nearest other colour (or at the pixel's reflection,
#: if farther) and doubles: 7 steps reach 64 times farther, beyond which the
#: mix would be below the Bayer matrix's 1/64 resolution.
_PAIR_MAX_STEPS = 7


@kernel
def _dither_rows(
    image,
    span,
    labels,
    pixel,
    gap2,
    space,
    taps_dy,
    taps_dx,
    taps_w,
    threshold,
    ordered,
    grid,
    strength,
    limit_map,
):
    """Dither rows ``y0:y1`` of ``image``; ``labels[y - y_write]`` gets row ``y``.

    ``span`` is ``(y0, y_write, y1)``; rows before ``y_write`` only warm
    the carried error up (see :data:`WARMUP_ROWS`).

    Error diffusion when ``taps_*`` are not empty (serpentine scan), ordered
    pair mixing when ``ordered`` is ``_ORDERED_PAIR``, plain nearest colour
    otherwise. ``pixel`` is ``(lut, decode, inv_scale, valid_lo, valid_hi,
    carry_lo, carry_hi, palette_lin, error_limit2, error_limit)``
    (``error_limit`` its square root, for :func:`_fs_rows`): pixels are read as
    ``lut[value]`` when ``lut`` is not empty,
    else sRGB-decoded from ``value * inv_scale`` when ``decode``, else taken
    as they are. The pixel plus carried error is clamped to ``carry_lo..hi``
    (the error it passes on stays exact), and the colour is looked up for
    that value clamped to ``valid_lo..hi``, converted to the working space
    ``space`` (3 channels) and searched in ``grid``
    (:func:`skquant._kernels._grid.grid_for`). ``strength`` (0 to 1) scales
    the error passed on, and for pair mixing the share of the second colour.
    When ``limit_map`` is not empty (adaptive diffusion), pixel ``(y, x)``
    passes on at most its own error (its value minus its palette colour)
    plus ``limit_map[y - y0, x]`` times the usual limit
    (see :mod:`skquant._kernels._dither_map`).
    Everything in the pixel loop is written out here or in scalar helpers
    rather than in helpers taking arrays, whose reference counting would
    dominate the run time.
    """
    y0, y_write, y1 = span
    lut, decode, inv_scale, valid_lo, valid_hi, carry_lo, carry_hi = pixel[:7]
    palette_lin, error_limit2 = pixel[7], pixel[8]
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
    own = np.empty(n_channels, dtype=np.float64)
    use_lut = lut.shape[0] > 0
    use_map = limit_map.shape[0] > 0
    pair = ordered == _ORDERED_PAIR
    tn = threshold.shape[0]
    j = np.int64(0)
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
                    u = srgb_decode(np.float64(v) * inv_scale)
                else:
                    u = np.float64(v)
                own[c] = u
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
                # The exact nearest colour (the lowest index of exact ties),
                # from the previous answer: neighbours mostly share a colour.
                if n_channels == 3:
                    w0, w1, w2 = linear_to_work(query[0], query[1], query[2], space)
                    j = nearest3(w0, w1, w2, j, grid)
                else:
                    j = nearest(query, j, grid)
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
                if not threshold[y % tn, x % tn] * den < strength * num:
                    j = j_first
            if y >= y_write:
                labels[y - y_write, x] = j
            if n_taps > 0:
                size2 = 0.0
                for c in range(n_channels):
                    e = cur[c] - palette_lin[j, c]
                    size2 += e * e
                limit2 = error_limit2[j]
                if use_map:
                    # its own error plus a share of the limit (see limit_map)
                    own2 = 0.0
                    for c in range(n_channels):
                        own2 += (own[c] - palette_lin[j, c]) ** 2
                    cap = np.sqrt(own2) + limit_map[y - y0, x] * np.sqrt(limit2)
                    limit2 = cap * cap
                gain = strength
                if size2 > limit2:
                    if use_map:  # (both square roots at once: see _fs_rows)
                        gain = (gain * cap) / np.sqrt(size2)
                    else:
                        gain *= np.sqrt(limit2 / size2)
                for c in range(n_channels):
                    e = gain * (cur[c] - palette_lin[j, c])
                    for t in range(n_taps):
                        err[tap_rows[t], x + tap_cols[t], c] += taps_w[t] * e
        if n_taps > 0:
            err[row, :, :] = 0.0


#: ``size2 <= own2 * _BELOW_OWN`` proves ``size2 <= cap * cap`` as rounded
#: in _dither_rows (``cap = sqrt(own2) + m * limit``, ``m * limit >= 0``:
#: three roundings down lose less than 2**-50 of ``own2``), so _fs_rows
#: skips the cap there and passes on the same error.
_BELOW_OWN = 1.0 - 2.0**-48

# Floyd-Steinberg weights (7 right, 3 below behind, 5 below, 1 below ahead).
_FS_AHEAD = 7.0 / 16.0
_FS_BEHIND = 3.0 / 16.0
_FS_BELOW = 5.0 / 16.0
_FS_DIAGONAL = 1.0 / 16.0


@kernel
def _fs_rows(
    image, span, labels, pixel, space, grid, strength, tables, full_scan_max, limit_map
):
    """:func:`_dither_rows` for Floyd-Steinberg on 3 channels, written out.

    The same arithmetic in the same order, but the working-space value of
    a colour comes from the tables of :mod:`skquant._kernels._fastconv`
    (``tables``: its ``TABLES``)
    (within its ``TOLERANCE`` of the exact conversion, 25-45 % less time):
    the same labels unless two palette colours tie within that tolerance
    (on the test photos: the same labels bit for bit).
    The error passed to the next pixel and the partial sums of the row
    below stay in registers (each position of the row below is stored once,
    when its last contribution arrives), and the pixel loop handles three
    channels without arrays. Palettes of at most ``full_scan_max`` colours
    are searched in full (the same answer as the grid's: the distances in
    vector lanes, then the first nearest entry without a branch); larger ones as
    :func:`~skquant._kernels._grid.nearest3` searches them, its code written
    out here on the grid's arrays taken apart once: called in the loop,
    ``nearest3`` takes the grid's tuple apart at every pixel, and counting
    the references of its arrays cost 9-13 % of the time at K = 64-256.
    """
    y0, y_write, y1 = span
    lut, decode, inv_scale, valid_lo, valid_hi, carry_lo, carry_hi = pixel[:7]
    palette_lin, error_limit2, error_limit = pixel[7], pixel[8], pixel[9]
    width = image.shape[1]
    # err_here: the row being scanned, err_below: the next one (every
    # position of it is written during the row, none read before).
    err_here = np.zeros((width, 3), dtype=np.float64)
    err_below = np.zeros((width, 3), dtype=np.float64)
    lo0, lo1, lo2 = valid_lo[0], valid_lo[1], valid_lo[2]
    hi0, hi1, hi2 = valid_hi[0], valid_hi[1], valid_hi[2]
    use_lut = lut.shape[0] > 0
    use_map = limit_map.shape[0] > 0
    palette_work, grid_lo, grid_scale, n_grid = grid[0], grid[1], grid[2], grid[3]
    grid_start, grid_cand, grid_lower, long_list = grid[4], grid[5], grid[6], grid[7]
    grid_lo0, grid_lo1, grid_lo2 = grid_lo[0], grid_lo[1], grid_lo[2]
    grid_scale0, grid_scale1, grid_scale2 = grid_scale[0], grid_scale[1], grid_scale[2]
    full_scan = palette_work.shape[0] <= full_scan_max
    # The full scan's table (empty for the grid): the palette by channel,
    # then the distances; one array, so that the compiler sees the rows
    # apart and the distance loop runs in vector lanes (its length known at
    # run time only, so it is not unrolled into scalar code).
    n_scan = palette_work.shape[0] if full_scan else 0
    stride = max(n_scan, 1)
    scan = np.empty(4 * stride)
    for p in range(n_scan):
        for c in range(3):
            scan[c * stride + p] = palette_work[p, c]
    j = np.int64(0)
    for y in range(y0, y1):
        forward = y % 2 == 0
        # Error for the next pixel (a0..a2); partial sums of the row below
        # at the previous pixel's position (b*) and at this one's (c*).
        a0 = a1 = a2 = 0.0
        b0 = b1 = b2 = 0.0
        c0 = c1 = c2 = 0.0
        for i in range(width):
            x = i if forward else width - 1 - i
            v0, v1, v2 = image[y, x, 0], image[y, x, 1], image[y, x, 2]
            if use_lut:
                u0, u1, u2 = lut[np.int64(v0)], lut[np.int64(v1)], lut[np.int64(v2)]
            elif decode:
                u0 = srgb_decode(np.float64(v0) * inv_scale)
                u1 = srgb_decode(np.float64(v1) * inv_scale)
                u2 = srgb_decode(np.float64(v2) * inv_scale)
            else:
                u0, u1, u2 = np.float64(v0), np.float64(v1), np.float64(v2)
            # The carried error: the row above's sum, plus the previous
            # pixel's share added last (as the tap loop of _dither_rows).
            t0, t1, t2 = err_here[x, 0], err_here[x, 1], err_here[x, 2]
            s0, s1, s2 = u0, u1, u2  # the pixel's own value
            if i > 0:
                t0 += a0
                t1 += a1
                t2 += a2
            u0 = min(max(u0 + t0, carry_lo[0]), carry_hi[0])
            u1 = min(max(u1 + t1, carry_lo[1]), carry_hi[1])
            u2 = min(max(u2 + t2, carry_lo[2]), carry_hi[2])
            w0, w1, w2 = fast_to_work(
                min(max(u0, lo0), hi0),
                min(max(u1, lo1), hi1),
                min(max(u2, lo2), hi2),
                space,
                tables,
            )
            g0 = (w0 - grid_lo0) * grid_scale0
            g1 = (w1 - grid_lo1) * grid_scale1
            g2 = (w2 - grid_lo2) * grid_scale2
            if full_scan:
                for p in range(n_scan):
                    d0 = w0 - scan[p]
                    d1 = w1 - scan[stride + p]
                    d2 = w2 - scan[2 * stride + p]
                    scan[3 * stride + p] = d0 * d0 + d1 * d1 + d2 * d2
                best = scan[3 * stride]
                j = np.int64(0)
                for p in range(1, n_scan):
                    dist = scan[3 * stride + p]
                    better = dist < best
                    best = dist if better else best
                    j = p if better else j
            elif 0.0 <= g0 < n_grid and 0.0 <= g1 < n_grid and 0.0 <= g2 < n_grid:
                # nearest3's search of the cell, written out (see above).
                cell = (np.int64(g0) * n_grid + np.int64(g1)) * n_grid + np.int64(g2)
                d0 = w0 - palette_work[j, 0]
                d1 = w1 - palette_work[j, 1]
                d2 = w2 - palette_work[j, 2]
                best = d0 * d0 + d1 * d1 + d2 * d2
                first, stop = grid_start[cell], grid_start[cell + 1]
                sorted_search = stop - first > long_list
                for k in range(first, stop):
                    if sorted_search and grid_lower[k] > best:
                        break
                    entry = grid_cand[k]
                    d0 = w0 - palette_work[entry, 0]
                    d1 = w1 - palette_work[entry, 1]
                    d2 = w2 - palette_work[entry, 2]
                    dist = d0 * d0 + d1 * d1 + d2 * d2
                    if dist < best or (dist == best and entry < j):
                        best = dist
                        j = np.int64(entry)
            else:
                j = nearest3(w0, w1, w2, j, grid)
            if y >= y_write:
                labels[y - y_write, x] = j
            e0 = u0 - palette_lin[j, 0]
            e1 = u1 - palette_lin[j, 1]
            e2 = u2 - palette_lin[j, 2]
            size2 = e0 * e0 + e1 * e1 + e2 * e2
            limit2 = error_limit2[j]
            gain = strength
            if use_map:  # as in _dither_rows
                own2 = (s0 - palette_lin[j, 0]) ** 2 + (s1 - palette_lin[j, 1]) ** 2
                own2 += (s2 - palette_lin[j, 2]) ** 2
                # Below its own error the pixel passes on all of it (the cap
                # is at least its own error): no square roots.
                if size2 > own2 * _BELOW_OWN:
                    cap = np.sqrt(own2) + limit_map[y - y0, x] * error_limit[j]
                    if size2 > cap * cap:
                        # (cap / sqrt(size2), not sqrt(cap**2 / size2): the
                        # two square roots run side by side, where the
                        # other waits for one, then the division, on the
                        # pixel-to-pixel path: 3-8 % of the adaptive time)
                        gain = (gain * cap) / np.sqrt(size2)
            elif size2 > limit2:
                gain *= np.sqrt(limit2 / size2)
            e0, e1, e2 = gain * e0, gain * e1, gain * e2
            a0, a1, a2 = _FS_AHEAD * e0, _FS_AHEAD * e1, _FS_AHEAD * e2
            if i > 0:
                # The previous position of the row below is complete.
                p = x - 1 if forward else x + 1
                err_below[p, 0] = b0 + _FS_BEHIND * e0
                err_below[p, 1] = b1 + _FS_BEHIND * e1
                err_below[p, 2] = b2 + _FS_BEHIND * e2
            b0 = c0 + _FS_BELOW * e0
            b1 = c1 + _FS_BELOW * e1
            b2 = c2 + _FS_BELOW * e2
            c0 = 0.0 + _FS_DIAGONAL * e0
            c1 = 0.0 + _FS_DIAGONAL * e1
            c2 = 0.0 + _FS_DIAGONAL * e2
        last = width - 1 if forward else 0
        err_below[last, 0], err_below[last, 1], err_below[last, 2] = b0, b1, b2
        err_here, err_below = err_below, err_here
