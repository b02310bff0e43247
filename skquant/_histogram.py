"""Pooling pixels into a weighted colour histogram before clustering.

A 12-megapixel photo holds a few tens of thousands of occupied cells in a
64 x 64 x 64 grid over its colour range. Clustering the cell means, weighted by
their pixel counts, sees every pixel at a fraction of the cost of clustering the
pixels themselves, and the k-means objective differs only by the within-cell
scatter, a constant that does not move the centres much (cells are 1/64 of each
channel's range wide). When no cell holds two different colours the cells *are*
the distinct colours, and nothing is blended at all.
"""

import numba
import numpy as np

from skquant._kernels import TASK_CHUNK, column_range, kernel_threads, run_parallel

#: Upper bound on the number of cells, whatever the channel count.
MAX_CELLS = 1 << 18


def cells_per_channel(n_channels, bins):
    """Bins per channel for ``n_channels``: ``bins`` for RGB, same budget otherwise."""
    budget = min(bins**3, MAX_CELLS)
    return max(2, int(round(budget ** (1.0 / n_channels) + 1e-9)))


#: Integer dtypes whose values go through a per-channel cell table.
_TABLE_DTYPES = (np.uint8, np.uint16, np.int8, np.int16)

#: Kernel dtypes; others are cast to float64.
_KERNEL_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)

#: Pixels below which pooling runs on one thread.
MIN_PIXELS_PER_THREAD = 1 << 17

#: Memory for the per-thread partial histograms, at most.
MAX_PARTIAL_BYTES = 1 << 28


@numba.njit(cache=True, nogil=True)
def _cell_of(value, lo, inv_width, bins):
    b = int((np.float64(value) - lo) * inv_width)
    if b < 0:
        return 0
    if b >= bins:
        return bins - 1
    return b


@numba.njit(cache=True, nogil=True)
def _cell_tables(n_codes, offset, lo, inv_width, bins):
    """``table[j, v - offset]``: the cell of value ``v`` along channel ``j``."""
    d = lo.shape[0]
    table = np.empty((d, n_codes), np.int64)
    for j in range(d):
        for v in range(n_codes):
            table[j, v] = _cell_of(v + offset, lo[j], inv_width[j], bins)
    return table


@numba.njit(cache=True, nogil=True)
def _pool_rgb_codes(pixels, start, stop, tables, offset, bins, cnt, acc, fst, mix):
    """Pool ``pixels[start:stop]`` (3 integer channels) into one histogram."""
    t0, t1, t2 = tables[0], tables[1], tables[2]
    for i in range(start, stop):
        v0, v1, v2 = pixels[i, 0], pixels[i, 1], pixels[i, 2]
        code = (
            t0[np.int64(v0) - offset] * bins + t1[np.int64(v1) - offset]
        ) * bins + t2[np.int64(v2) - offset]
        c = cnt[code]
        if c == 0:
            fst[code, 0] = v0
            fst[code, 1] = v1
            fst[code, 2] = v2
        elif not mix[code]:
            mix[code] = v0 != fst[code, 0] or v1 != fst[code, 1] or v2 != fst[code, 2]
        cnt[code] = c + 1
        acc[code, 0] += v0
        acc[code, 1] += v1
        acc[code, 2] += v2


@numba.njit(cache=True, nogil=True)
def _pool_any(
    pixels, start, stop, lo, inv_width, tables, offset, bins, cnt, acc, fst, mix
):
    """Pool ``pixels[start:stop]`` (any channels and dtype) into one histogram."""
    d = pixels.shape[1]
    use_tables = tables.shape[1] > 0
    for i in range(start, stop):
        code = 0
        for j in range(d):
            if use_tables:
                b = tables[j, np.int64(pixels[i, j]) - offset]
            else:
                b = _cell_of(pixels[i, j], lo[j], inv_width[j], bins)
            code = code * bins + b
        c = cnt[code]
        if c == 0:
            for j in range(d):
                fst[code, j] = pixels[i, j]
        elif not mix[code]:
            for j in range(d):
                if pixels[i, j] != fst[code, j]:
                    mix[code] = True
        cnt[code] = c + 1
        for j in range(d):
            acc[code, j] += pixels[i, j]


@numba.njit(cache=True, nogil=True)
def _pool_block(pixels, first, stop, lo, inv_width, bins, tables, offset, hist):
    """Pool ``pixels[first:stop]`` into the histogram ``hist``.

    ``hist`` is ``(counts, sums, first_colour, mixed)``. ``tables`` maps
    integer codes to cells when it is not empty (the same cells as the float
    formula, computed once per code).
    """
    cnt, acc, fst, mix = hist
    if pixels.shape[1] == 3 and tables.shape[1] > 0:
        _pool_rgb_codes(pixels, first, stop, tables, offset, bins, cnt, acc, fst, mix)
    else:
        _pool_any(
            pixels, first, stop, lo, inv_width, tables, offset, bins, cnt, acc, fst, mix
        )


@numba.njit(cache=True, nogil=True)
def _merge_parts(counts, sums, first, mixed):
    """Sum per-thread histograms into part 0, in place.

    A cell is mixed when a part says so, or when two parts saw different
    colours in it (their first colours differ).
    """
    n_parts, n_cells = counts.shape
    d = sums.shape[2]
    for code in range(n_cells):
        ref = -1
        for part in range(n_parts):
            if counts[part, code] == 0:
                continue
            if ref < 0:
                ref = part
                if part > 0:
                    counts[0, code] = counts[part, code]
                    mixed[0, code] = mixed[part, code]
                    for j in range(d):
                        sums[0, code, j] = sums[part, code, j]
                continue
            counts[0, code] += counts[part, code]
            mixed[0, code] = mixed[0, code] or mixed[part, code]
            for j in range(d):
                sums[0, code, j] += sums[part, code, j]
                if first[part, code, j] != first[ref, code, j]:
                    mixed[0, code] = True


def pool_pixels(pixels, *, bins=64):
    """Pool ``pixels`` into weighted cell means.

    Parameters
    ----------
    pixels : ndarray of shape (n_pixels, n_channels)
        Any real dtype; values in the input's units.
    bins : int
        Cells per channel for 3-channel data; other channel counts get the
        same total budget (capped at ``MAX_CELLS``). Integer data whose range
        fits in the bins gets one cell per value, so it is pooled exactly.

    Returns
    -------
    points : ndarray of shape (n_cells, n_channels), float64
        Mean colour of each occupied cell.
    weights : ndarray of shape (n_cells,), float64
        Pixel count of each occupied cell.
    exact : bool
        True when every cell holds a single distinct colour, so ``points``
        are exactly the distinct colours of ``pixels``.

    Notes
    -----
    The pixels are split between threads (see
    :func:`skquant._kernels.kernel_threads`), each filling its own histogram;
    the histograms are summed at the end. Integer data give the same result
    whatever the number of threads; float sums may differ in the last bits.
    """
    n_pixels, n_channels = pixels.shape
    per_channel = cells_per_channel(n_channels, bins)
    lo, hi = column_range(pixels)
    span = hi - lo
    if pixels.dtype.kind in "iu" and np.all(span + 1 <= per_channel):
        per_channel = int(span.max()) + 1
        inv_width = np.ones(n_channels)
    else:
        inv_width = np.divide(
            per_channel, span, out=np.zeros(n_channels), where=span > 0
        )
        # Keep the top value inside the last cell.
        inv_width *= 1.0 - 1e-12
    if pixels.dtype in _TABLE_DTYPES:
        info = np.iinfo(pixels.dtype)
        offset = int(info.min)
        tables = _cell_tables(
            int(info.max) - offset + 1, offset, lo, inv_width, per_channel
        )
    else:
        offset = 0
        tables = np.empty((n_channels, 0), np.int64)
    if pixels.dtype not in _KERNEL_DTYPES:
        # Rare dtypes: one kernel for all (float64 holds their values exactly,
        # up to 2**53 for 64-bit integers).
        pixels = pixels.astype(np.float64)
    pixels = np.ascontiguousarray(pixels)
    n_cells = per_channel**n_channels
    part_bytes = n_cells * (9 + n_channels * (8 + pixels.dtype.itemsize))
    n_parts = kernel_threads(n_pixels, min_items=MIN_PIXELS_PER_THREAD)
    n_parts = max(1, min(n_parts, MAX_PARTIAL_BYTES // part_bytes))
    counts = np.zeros((n_parts, n_cells), np.int64)
    sums = np.zeros((n_parts, n_cells, n_channels))
    first = np.zeros((n_parts, n_cells, n_channels), pixels.dtype)
    mixed = np.zeros((n_parts, n_cells), np.bool_)
    # Sums of integers are exact, so the result does not depend on how the
    # pixels are split between the histograms.
    args = (lo, inv_width, per_channel, tables, offset)

    def task(worker, start, stop):
        hist = (counts[worker], sums[worker], first[worker], mixed[worker])
        _pool_block(pixels, start, stop, *args, hist)

    run_parallel(task, n_pixels, n_parts, chunk=TASK_CHUNK)
    if n_parts > 1:
        _merge_parts(counts, sums, first, mixed)
    counts, sums, mixed = counts[0], sums[0], mixed[0]
    occupied = np.flatnonzero(counts)
    weights = counts[occupied].astype(np.float64)
    points = sums[occupied] / weights[:, None]
    return points, weights, not bool(mixed[occupied].any())


def distinct_colors(pixels):
    """Exact distinct rows of ``pixels`` and their counts (float64)."""
    points, weights = np.unique(pixels, axis=0, return_counts=True)
    return points.astype(np.float64), weights.astype(np.float64)
