"""Pooling pixels into the cells of a grid (compiled), weighted or not.

:func:`pool_cells` is the boundary: it checks what it hands to numba and
returns the occupied cells only, and, when asked (``max_colours``), the
exact distinct colours with their summed weights while they are at most
``max_colours``. The grid (which cell a value falls in) is
defined once, in :class:`skquant._histogram.Grid`; the kernels receive it as
``lo``, ``inv_width`` and ``per_channel`` and apply
``cell = clip(int((value - lo) * inv_width), 0, per_channel - 1)``.
"""

import numpy as np

from skquant._kernels._cache import kernel
from skquant._kernels._checks import IMAGE_DTYPES
from skquant._kernels._runner import TASK_CHUNK, kernel_threads, run_parallel

#: Integer dtypes whose values go through a per-channel cell table.
_TABLE_DTYPES = (np.uint8, np.uint16, np.int8, np.int16)

#: Kernel dtypes; others are cast to float64.
_KERNEL_DTYPES = IMAGE_DTYPES

#: Pixels below which pooling runs on one thread.
MIN_PIXELS_PER_THREAD = 1 << 17

#: Memory for the per-thread partial histograms, at most.
MAX_PARTIAL_BYTES = 1 << 28

#: Largest number of cells a grid may have (dense per-thread arrays; the
#: histogram's budget is 2**18, rounded per channel, so up to 23**4 cells).
MAX_CELLS = 1 << 20

#: Pixels pooled into the uint32 histograms of the uint8 RGB path before
#: they are added to uint64 totals: 255 * 2**24 < 2**32, no sum overflows.
RGB8_SLAB = 1 << 24

#: Values a cell may span per channel on the uint8 RGB path (2 bits each:
#: the colours present in a cell fit in one 64-bit mask).
RGB8_MAX_SPAN = 4


@kernel
def _cell_of(value, lo, inv_width, bins):
    b = int((np.float64(value) - lo) * inv_width)
    if b < 0:
        return 0
    if b >= bins:
        return bins - 1
    return b


@kernel
def _cell_tables(n_codes, offset, lo, inv_width, bins):
    """``table[j, v - offset]``: the cell of value ``v`` along channel ``j``."""
    d = lo.shape[0]
    table = np.empty((d, n_codes), np.int64)
    for j in range(d):
        for v in range(n_codes):
            table[j, v] = _cell_of(v + offset, lo[j], inv_width[j], bins)
    return table


@kernel
def _popcount(x):
    """Set bits of a uint64 (SWAR)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + (
        (x >> np.uint64(2)) & np.uint64(0x3333333333333333)
    )
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@kernel
def _hash_row(pixels, i):
    """A 64-bit hash of row ``i`` (equal rows, equal hashes; -0.0 as 0.0)."""
    h = np.uint64(0x9E3779B97F4A7C15)
    for j in range(pixels.shape[1]):
        h ^= np.uint64(np.int64(pixels[i, j] * 4096.0))
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(29)
    return h


@kernel
def _count_colours(pixels, weights, start, stop, slots, totals, state):
    """Add ``pixels[start:stop]`` to a table of distinct colours.

    ``slots`` (a power of two long, -1 when free, linear probing) holds the
    index of the first pixel of each colour met, ``totals`` its summed
    weight. ``state`` is ``(colours found, most colours)``; returns False,
    leaving the table incomplete, as soon as a colour more than the most
    would be added. Zero weights add nothing.
    """
    mask = np.uint64(slots.shape[0] - 1)
    d = pixels.shape[1]
    weighted = weights.shape[0] > 0
    n, most = state[0], state[1]
    for i in range(start, stop):
        w = weights[i] if weighted else 1.0
        if w == 0.0:
            continue
        s = np.int64(_hash_row(pixels, i) & mask)
        while True:
            k = slots[s]
            if k < 0:
                if n >= most:
                    state[0] = n
                    return False
                slots[s] = i
                totals[s] = w
                n += 1
                break
            same = True
            for j in range(d):
                if pixels[k, j] != pixels[i, j]:
                    same = False
                    break
            if same:
                totals[s] += w
                break
            s = np.int64((np.uint64(s) + np.uint64(1)) & mask)
    state[0] = n
    return True


@kernel
def _add(pixels, i, code, w, cnt, acc, fst, mix):
    """Add pixel ``i`` with weight ``w`` to cell ``code``."""
    d = pixels.shape[1]
    if cnt[code] == 0:
        for j in range(d):
            fst[code, j] = pixels[i, j]
    elif not mix[code]:
        for j in range(d):
            if pixels[i, j] != fst[code, j]:
                mix[code] = True
    cnt[code] += w
    for j in range(d):
        acc[code, j] += w * pixels[i, j]


@kernel
def _pool_rgb_codes(pixels, start, stop, tables, offset, bins, cnt, acc, fst, mix):
    """Unweighted ``pixels[start:stop]`` (3 integer channels): the hot path."""
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
        cnt[code] = c + 1.0
        acc[code, 0] += v0
        acc[code, 1] += v1
        acc[code, 2] += v2


@kernel
def _pool_rgb8(pixels, start, stop, packed, hist):
    """Unweighted uint8 RGB ``pixels[start:stop]``: integer sums, colour masks.

    ``packed[j, v]`` is the cell of value ``v`` along channel ``j`` already
    multiplied into the cell code, shifted left by 8, plus the value's place
    in its cell times ``4 ** (2 - j)``; summing the three gives the cell code
    and the colour's bit in the cell's 64-bit mask at once. ``hist[code]``
    is ``(count, sum0, sum1, sum2, mask_low, mask_high, -, -)`` in uint32:
    one 32-byte row per pixel (a part must take at most ``RGB8_SLAB``
    pixels, so that no sum overflows). Values outside the grid's range
    carry a flag (64) in ``packed``: returns the OR of the flags met (0:
    none).
    """
    flat = pixels.reshape(-1)
    t0, t1, t2 = packed[0], packed[1], packed[2]
    one = np.uint32(1)
    eight = np.uint32(8)
    flags = np.uint32(0)
    for i in range(start, stop):
        v0, v1, v2 = flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]
        key = t0[v0] + t1[v1] + t2[v2]
        row = hist[key >> eight]
        row[0] += one
        row[1] += v0
        row[2] += v1
        row[3] += v2
        row[4 + ((key >> np.uint32(5)) & one)] |= one << (key & np.uint32(31))
        flags |= key
    return flags & np.uint32(192)


@kernel
def _fold_rgb8(hist, total):
    """Add the parts of ``hist`` to ``total`` (uint64) and clear them."""
    for part in range(hist.shape[0]):
        for code in range(hist.shape[1]):
            if hist[part, code, 0] == 0:
                continue
            for j in range(6):
                if j < 4:
                    total[code, j] += np.uint64(hist[part, code, j])
                else:
                    total[code, j] |= np.uint64(hist[part, code, j])
                hist[part, code, j] = 0


@kernel
def _finish_rgb8(hist, total, bases, bins):
    """Occupied codes, counts, sums, one colour and mixedness, parts summed.

    ``hist`` holds one histogram per thread (see :func:`_pool_rgb8`), and
    ``total`` (uint64, no rows when unused) what earlier slabs folded in.
    ``bases[j, b]`` is the smallest value in cell ``b`` of channel ``j``; a
    cell's colour is read from the lowest bit of its mask (its only bit
    when the cell holds one colour). The last array returned holds each
    occupied cell's mask: which of its colours are present.
    """
    n_parts, n_cells = hist.shape[0], hist.shape[1]
    folded = total.shape[0] > 0
    m = 0
    for code in range(n_cells):
        seen = folded and total[code, 0] != 0
        for part in range(n_parts):
            seen = seen or hist[part, code, 0] != 0
        if seen:
            m += 1
    occupied, counts, sums, first, mixed, masks = _cell_arrays(m)
    zero, one = np.uint64(0), np.uint64(1)
    r = 0
    for code in range(n_cells):
        n = total[code, 0] if folded else zero
        low = total[code, 4] if folded else zero
        high = total[code, 5] if folded else zero
        for part in range(n_parts):
            n += np.uint64(hist[part, code, 0])
            low |= np.uint64(hist[part, code, 4])
            high |= np.uint64(hist[part, code, 5])
        if n == zero:
            continue
        mask = low | (high << np.uint64(32))
        occupied[r] = code
        counts[r] = np.float64(n)
        for j in range(3):
            s = total[code, 1 + j] if folded else zero
            for part in range(n_parts):
                s += np.uint64(hist[part, code, 1 + j])
            sums[r, j] = np.float64(s)
        mixed[r] = (mask & (mask - one)) != zero
        masks[r] = mask
        _lowest_colour(mask, code, bins, bases, first[r])
        r += 1
    return occupied, counts, sums, first, mixed, masks


@kernel(inline="always")
def _cell_arrays(m):
    """The arrays :func:`_finish_rgb8` returns, for ``m`` occupied cells."""
    return (
        np.empty(m, np.int64),
        np.empty(m),
        np.zeros((m, 3)),
        np.empty((m, 3)),
        np.empty(m, np.bool_),
        np.empty(m, np.uint64),
    )


@kernel(inline="always")
def _lowest_colour(mask, code, bins, bases, out):
    """``out`` (3,): the colour of the lowest set bit of cell ``code``'s
    ``mask`` (its only colour when the cell holds one; see
    :func:`_pool_rgb8`)."""
    one = np.uint64(1)
    bit = 0
    while (mask >> np.uint64(bit)) & one == np.uint64(0):
        bit += 1
    cells = (code // (bins * bins), (code // bins) % bins, code % bins)
    places = (bit >> 4, (bit >> 2) & 3, bit & 3)
    for j in range(3):
        out[j] = bases[j, cells[j]] + places[j]


@kernel
def _count_rgb8(pixels, start, stop, packed, rows, places, counts):
    """Count the colours of the mixed cells in uint8 RGB ``pixels[start:stop]``.

    ``rows[code]`` is the row of a mixed cell in ``places`` (-1: not
    mixed, its count is the cell's); ``places[row, bit]`` is the place of
    the cell's colour ``bit`` (see :func:`_pool_rgb8`) in ``counts``.
    """
    flat = pixels.reshape(-1)
    t0, t1, t2 = packed[0], packed[1], packed[2]
    low = np.uint32(63)
    eight = np.uint32(8)
    for i in range(start, stop):
        key = t0[flat[3 * i]] + t1[flat[3 * i + 1]] + t2[flat[3 * i + 2]]
        row = rows[key >> eight]
        if row >= 0:
            counts[places[row, key & low]] += 1


@kernel
def _pool_rgb8_weighted(pixels, weights, start, stop, packed, hist, masks):
    """Weighted uint8 RGB ``pixels[start:stop]``: float sums, colour masks.

    :func:`_pool_rgb8` with float64 sums: ``hist[code]`` is ``(count,
    sum0, sum1, sum2)`` (summed as :func:`_add` does, in pixel order) and
    ``masks[code]`` the cell's 64-bit mask of colours. Zero weights add
    nothing (no count, no colour, no flag). Returns the OR of the flags of
    the values outside the grid's range met (0: none).
    """
    flat = pixels.reshape(-1)
    t0, t1, t2 = packed[0], packed[1], packed[2]
    one = np.uint64(1)
    eight = np.uint32(8)
    low = np.uint32(63)
    flags = np.uint32(0)
    for i in range(start, stop):
        w = weights[i]
        if w == 0.0:
            continue
        v0, v1, v2 = flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]
        key = t0[v0] + t1[v1] + t2[v2]
        code = key >> eight
        row = hist[code]
        row[0] += w
        row[1] += w * v0
        row[2] += w * v1
        row[3] += w * v2
        masks[code] |= one << np.uint64(key & low)
        flags |= key
    return flags & np.uint32(192)


@kernel
def _finish_rgb8_weighted(hist, masks, bases, bins):
    """:func:`_finish_rgb8` for :func:`_pool_rgb8_weighted`'s parts: their
    sums added in part order (the general path's :func:`_merge_parts`)."""
    n_parts, n_cells = hist.shape[0], hist.shape[1]
    zero, one = np.uint64(0), np.uint64(1)
    m = 0
    for code in range(n_cells):
        mask = zero
        for part in range(n_parts):
            mask |= masks[part, code]
        if mask != zero:
            m += 1
    occupied, counts, sums, first, mixed, cell_masks = _cell_arrays(m)
    r = 0
    for code in range(n_cells):
        mask = zero
        for part in range(n_parts):
            mask |= masks[part, code]
        if mask == zero:
            continue
        occupied[r] = code
        for j in range(4):
            s = 0.0
            for part in range(n_parts):
                s += hist[part, code, j]
            if j == 0:
                counts[r] = s
            else:
                sums[r, j - 1] = s
        mixed[r] = (mask & (mask - one)) != zero
        cell_masks[r] = mask
        _lowest_colour(mask, code, bins, bases, first[r])
        r += 1
    return occupied, counts, sums, first, mixed, cell_masks


@kernel
def _count_rgb8_weighted(pixels, weights, start, stop, packed, rows, places, totals):
    """:func:`_count_rgb8` summing ``weights`` (zero weights add nothing)."""
    flat = pixels.reshape(-1)
    t0, t1, t2 = packed[0], packed[1], packed[2]
    low = np.uint32(63)
    eight = np.uint32(8)
    for i in range(start, stop):
        w = weights[i]
        if w == 0.0:
            continue
        key = t0[flat[3 * i]] + t1[flat[3 * i + 1]] + t2[flat[3 * i + 2]]
        row = rows[key >> eight]
        if row >= 0:
            totals[places[row, key & low]] += w


@kernel
def _rgb8_colours(occupied, masks, counts, bases, bins, rows, places):
    """``(colours, totals)``: the colours of the set bits of ``masks`` (cells
    ``occupied``), in cell then bit order, with the count of the cells of
    one colour (0 for the others); fills ``rows`` and ``places`` for
    :func:`_count_rgb8` (rows in the order of the mixed cells)."""
    zero, one = np.uint64(0), np.uint64(1)
    n = 0
    for r in range(len(masks)):
        n += np.int64(_popcount(masks[r]))
    colours = np.empty((n, 3), np.uint8)
    totals = np.zeros(n)
    k = 0
    row = 0
    for r in range(len(masks)):
        code = occupied[r]
        mask = masks[r]
        mixed = (mask & (mask - one)) != zero
        cells = (code // (bins * bins), (code // bins) % bins, code % bins)
        for bit in range(64):
            if (mask >> np.uint64(bit)) & one == zero:
                continue
            offsets = (bit >> 4, (bit >> 2) & 3, bit & 3)
            for j in range(3):
                colours[k, j] = bases[j, cells[j]] + offsets[j]
            if mixed:
                places[row, bit] = k
            else:
                totals[k] = counts[r]
            k += 1
        if mixed:
            rows[code] = row
            row += 1
    return colours, totals


@kernel
def _pool_block(
    pixels, weights, start, stop, lo, inv_width, bins, tables, offset, hist
):
    """Pool ``pixels[start:stop]`` into ``hist = (counts, sums, first, mixed)``.

    ``weights`` of length 0 means a weight of 1 for every pixel. ``tables``
    maps integer codes to cells when it is not empty (the same cells as
    ``_cell_of``, computed once per code). Zero weights add nothing.
    """
    cnt, acc, fst, mix = hist
    d = pixels.shape[1]
    weighted = weights.shape[0] > 0
    use_tables = tables.shape[1] > 0
    if d == 3 and use_tables and not weighted:
        _pool_rgb_codes(pixels, start, stop, tables, offset, bins, cnt, acc, fst, mix)
        return
    for i in range(start, stop):
        w = weights[i] if weighted else 1.0
        if w == 0.0:
            continue
        code = 0
        for j in range(d):
            if use_tables:
                b = tables[j, np.int64(pixels[i, j]) - offset]
            else:
                b = _cell_of(pixels[i, j], lo[j], inv_width[j], bins)
            code = code * bins + b
        _add(pixels, i, code, w, cnt, acc, fst, mix)


@kernel
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
                        first[0, code, j] = first[part, code, j]
                continue
            counts[0, code] += counts[part, code]
            mixed[0, code] = mixed[0, code] or mixed[part, code]
            for j in range(d):
                sums[0, code, j] += sums[part, code, j]
                if first[part, code, j] != first[ref, code, j]:
                    mixed[0, code] = True


def pool_cells(
    pixels, weights, lo, inv_width, per_channel, *, max_colours=None, max_cells=None
):
    """Weighted counts, sums and exactness of the occupied cells of a grid.

    Parameters
    ----------
    pixels : ndarray of shape (n_pixels, n_channels)
        Any real dtype.
    weights : ndarray of shape (n_pixels,) or None
        Finite, >= 0; None counts every pixel once.
    lo, inv_width : ndarray of shape (n_channels,)
        The grid (see :class:`skquant._histogram.Grid`).
    per_channel : int
        Cells per channel; ``per_channel ** n_channels <= MAX_CELLS``.
    max_colours : int or None
        When given, the distinct colours are returned too, while there are
        at most this many (see ``colours`` below).
    max_cells : int or None
        With ``max_colours``: the colours are looked for only when there
        are at most this many occupied cells (a caller that has no use for
        them otherwise).

    Returns
    -------
    codes : ndarray of shape (n_occupied,), int64, ascending
    counts : ndarray of shape (n_occupied,), float64
    sums : ndarray of shape (n_occupied, n_channels), float64
    first : ndarray of shape (n_occupied, n_channels), float64
        A colour of each cell: its only colour when the cell is not mixed.
    mixed : ndarray of shape (n_occupied,), bool
        Whether the cell holds more than one distinct colour.
    colours : tuple or None
        Only with ``max_colours``: ``(rows, totals)``, every distinct colour
        with a positive weight (in ``pixels``' dtype, in no particular order)
        and its summed weight; None when there are more than ``max_colours``
        (or more cells than ``max_cells``).

    Notes
    -----
    The pixels are split between threads, each filling its own histogram;
    they are summed at the end. Integer data without weights give the same
    result whatever the number of threads; float sums may differ in the last
    bits. Weighted uint8 RGB (cells of at most 4 values per channel, every
    pixel of nonzero weight within the grid's range) takes the packed
    tables of the unweighted path with float64 sums: the general kernel's
    cells, colours and weights, its sums in the same order (the same bits
    on one thread), 6-9 times faster.

    The colours cost nothing more when no cell is mixed (they are the
    cells'). Otherwise the colours of the mixed cells are counted in a
    second pass, made only when it can succeed. Unweighted uint8 RGB: the
    pooling pass already knows which colours each cell holds (a 64-bit
    mask), so their number; the pass reads each pixel's place in a table
    (as fast as the pooling: 12 MP in about 25 ms; weighted uint8 RGB the
    same way). Other data: there must
    be at most ``max_colours`` occupied cells, and a hash table per thread
    counts the colours, stopping at the first one too many (a photo meets
    that many within a few percent of its pixels).
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.dtype.kind not in "iuf":
        raise ValueError(
            f"pixels must be a real 2-D array, got {pixels.dtype} {pixels.shape}."
        )
    n_pixels, n_channels = pixels.shape
    lo = np.ascontiguousarray(lo, np.float64)
    inv_width = np.ascontiguousarray(inv_width, np.float64)
    per_channel = int(per_channel)
    n_cells = per_channel**n_channels
    if lo.shape != (n_channels,) or inv_width.shape != (n_channels,):
        raise ValueError(
            f"the grid has {lo.shape} / {inv_width.shape} bounds for "
            f"{n_channels} channels."
        )
    if per_channel < 1 or n_cells > MAX_CELLS:
        raise ValueError(
            f"a grid of {per_channel} cells per channel over {n_channels} channels "
            f"has {n_cells} cells, more than {MAX_CELLS}."
        )
    if weights is None:
        weights = np.zeros(0)
    else:
        weights = np.ascontiguousarray(weights, np.float64)
        if weights.shape != (n_pixels,):
            raise ValueError(
                f"weights has shape {weights.shape}, expected ({n_pixels},)."
            )
    if pixels.dtype in _TABLE_DTYPES:
        info = np.iinfo(pixels.dtype)
        offset = int(info.min)
        tables = _cell_tables(
            int(info.max) - offset + 1, offset, lo, inv_width, per_channel
        )
    else:
        offset = 0
        tables = np.empty((n_channels, 0), np.int64)
    if max_colours is not None:
        max_colours = int(max_colours)
        if max_colours < 0:
            raise ValueError(f"max_colours must be >= 0, got {max_colours}.")
        max_cells = max_colours if max_cells is None else int(max_cells)
    if pixels.dtype == np.uint8 and n_channels == 3:
        packed, bases = _rgb8_tables(lo, inv_width, per_channel)
        if packed is not None:
            pixels = np.ascontiguousarray(pixels)
            if len(weights):
                result = _pool_cells_rgb8_weighted(
                    pixels, weights, packed, bases, per_channel
                )
            else:
                result = _pool_cells_rgb8(pixels, packed, bases, per_channel)
            if result is not None:
                *cells, masks = result
                if max_colours is None:
                    return tuple(cells)
                colours = None
                if len(cells[0]) <= max_cells:
                    colours = _colours_rgb8(
                        pixels, weights, cells, masks, packed, bases, max_colours
                    )
                return (*cells, colours)
    if pixels.dtype not in _KERNEL_DTYPES:
        # Rare dtypes: float64 holds their values exactly (up to 2**53).
        pixels = pixels.astype(np.float64)
    pixels = np.ascontiguousarray(pixels)
    part_bytes = n_cells * (9 + n_channels * (8 + pixels.dtype.itemsize))
    n_parts = kernel_threads(n_pixels, min_items=MIN_PIXELS_PER_THREAD)
    n_parts = max(1, min(n_parts, MAX_PARTIAL_BYTES // part_bytes))
    counts = np.zeros((n_parts, n_cells))
    sums = np.zeros((n_parts, n_cells, n_channels))
    first = np.zeros((n_parts, n_cells, n_channels), pixels.dtype)
    mixed = np.zeros((n_parts, n_cells), np.bool_)
    args = (lo, inv_width, per_channel, tables, offset)

    def task(worker, start, stop):
        hist = (counts[worker], sums[worker], first[worker], mixed[worker])
        _pool_block(pixels, weights, start, stop, *args, hist)

    run_parallel(task, n_pixels, n_parts, chunk=TASK_CHUNK)
    if n_parts > 1:
        _merge_parts(counts, sums, first, mixed)
    occupied = np.flatnonzero(counts[0])
    cells = (
        occupied.astype(np.int64),
        counts[0, occupied],
        sums[0, occupied],
        first[0, occupied].astype(np.float64),
        mixed[0, occupied],
    )
    if max_colours is None:
        return cells
    colours = None
    if len(occupied) <= min(max_colours, max_cells):
        colours = _colours(pixels, weights, cells, max_colours)
    return (*cells, colours)


def _colours_rgb8(pixels, weights, cells, masks, packed, bases, max_colours):
    """:func:`_colours` for uint8 RGB, with the pooling's masks.

    The masks give the colours and their number: none is counted when
    there are too many. The colours of cells of one colour need no count;
    a pass counts those of the mixed cells (a place per pixel from its
    cell and its bit: a table read instead of a hash table's search),
    summing ``weights`` when there are some (length 0: none).
    """
    if np.unpackbits(masks.view(np.uint8)).sum() > max_colours:
        return None
    occupied, counts, _, _, mixed = cells
    per_channel = bases.shape[1]
    rows = np.full(per_channel**3, -1, np.int32)
    places = np.zeros((int(mixed.sum()), 64), np.int32)
    colours, totals = _rgb8_colours(
        occupied, masks, counts, bases, per_channel, rows, places
    )
    if len(places):
        n_parts = kernel_threads(len(pixels), min_items=MIN_PIXELS_PER_THREAD)
        weighted = len(weights) > 0
        found = np.zeros((n_parts, len(colours)), np.float64 if weighted else np.int64)
        packed = packed.astype(np.uint32)

        def task(worker, start, stop):
            if weighted:
                _count_rgb8_weighted(
                    pixels, weights, start, stop, packed, rows, places, found[worker]
                )
            else:
                _count_rgb8(pixels, start, stop, packed, rows, places, found[worker])

        run_parallel(task, len(pixels), n_parts, chunk=TASK_CHUNK)
        for part in found:  # in part order, as the general path's tables
            totals += part
    return colours, totals


def _colours(pixels, weights, cells, max_colours):
    """``(rows, totals)`` of the distinct colours of ``pixels``, or None when
    there are more than ``max_colours`` (see :func:`pool_cells`)."""
    _, counts, _, first, mixed = cells
    if not mixed.any():  # each cell is one colour
        return first.astype(pixels.dtype), counts.copy()
    n_pixels = len(pixels)
    n_slots = 1 << max(4, int(2 * max_colours).bit_length())  # load <= 1/2
    n_parts = kernel_threads(n_pixels, min_items=MIN_PIXELS_PER_THREAD)
    slots = np.full((n_parts, n_slots), -1, np.int64)
    totals = np.zeros((n_parts, n_slots))
    state = np.zeros((n_parts, 2), np.int64)
    state[:, 1] = max_colours
    over = np.zeros(1, np.bool_)

    def task(worker, start, stop):
        if not over[0] and not _count_colours(
            pixels, weights, start, stop, slots[worker], totals[worker], state[worker]
        ):
            over[0] = True

    run_parallel(task, n_pixels, n_parts, chunk=TASK_CHUNK)
    if over[0]:
        return None
    used = slots >= 0
    rows, row_totals = pixels[slots[used]], totals[used]
    if n_parts > 1:  # a colour may be in several threads' tables: one table
        slots, totals, state = slots[0], totals[0], state[0]
        slots[:], totals[:], state[0] = -1, 0.0, 0
        if not _count_colours(rows, row_totals, 0, len(rows), slots, totals, state):
            return None
        used = slots >= 0
        rows, row_totals = rows[slots[used]], totals[used]
    return rows, row_totals


def _rgb8_tables(lo, inv_width, per_channel):
    """``(packed, bases)`` for :func:`_pool_rgb8`, or ``(None, None)``.

    The cells are those of :func:`_cell_of` (the same rule, unclipped here:
    values that fall outside the grid get the flag 64 instead of a place).
    None when a cell spans more than :data:`RGB8_MAX_SPAN` values along a
    channel (its colours would not fit in a 64-bit mask).
    """
    values = np.arange(256)
    packed = np.zeros((3, 256), np.uint64)
    bases = np.zeros((3, per_channel), np.int64)
    for j in range(3):
        scaled = (values.astype(np.float64) - lo[j]) * inv_width[j]
        raw = scaled.astype(np.int64)  # truncated, as int() in _cell_of
        raw[scaled < 0] = -1  # int() rounds up to 0
        inside = (raw >= 0) & (raw < per_channel)
        cells = np.clip(raw, 0, per_channel - 1)
        # cells are non-decreasing in the value: each cell's smallest value
        first = inside & np.r_[True, raw[1:] != raw[:-1]]
        bases[j, cells[first]] = values[first]
        places = np.where(inside, values - bases[j, cells], 0)
        if places.max() >= RGB8_MAX_SPAN:
            return None, None
        place = places * RGB8_MAX_SPAN ** (2 - j) + np.where(inside, 0, 64)
        code = cells * per_channel ** (2 - j)
        packed[j] = (code.astype(np.uint64) << np.uint64(8)) | place.astype(np.uint64)
    return packed, bases


def _pool_cells_rgb8(pixels, packed, bases, per_channel):
    """:func:`pool_cells` for unweighted uint8 RGB on cells of at most 4 values,
    with each cell's mask of colours last (see :func:`_finish_rgb8`).

    None when a pixel falls outside the grid (the general path handles it).
    """
    pixels = np.ascontiguousarray(pixels)
    n_pixels = len(pixels)
    n_cells = per_channel**3
    # a thread's histogram costs about as much to read back as 8 pixels
    # per cell cost to pool: fewer pixels than that stay on one thread
    min_items = max(MIN_PIXELS_PER_THREAD, 8 * n_cells)
    n_parts = kernel_threads(n_pixels, min_items=min_items)
    n_parts = max(1, min(n_parts, MAX_PARTIAL_BYTES // (32 * n_cells)))
    hist = np.zeros((n_parts, n_cells, 8), np.uint32)
    total = np.zeros((n_cells if n_pixels > RGB8_SLAB else 0, 6), np.uint64)
    outside = np.zeros(n_parts, np.uint32)
    packed = packed.astype(np.uint32)  # codes below 2**26

    for first in range(0, n_pixels, RGB8_SLAB):
        slab = pixels[first : first + RGB8_SLAB]

        def task(worker, start, stop, slab=slab):
            outside[worker] |= _pool_rgb8(slab, start, stop, packed, hist[worker])

        run_parallel(task, len(slab), n_parts, chunk=TASK_CHUNK)
        if outside.any():
            return None
        if len(total):
            _fold_rgb8(hist, total)
    return _finish_rgb8(hist, total, bases, per_channel)


def _pool_cells_rgb8_weighted(pixels, weights, packed, bases, per_channel):
    """:func:`_pool_cells_rgb8` with ``weights``: float64 sums (no slabs:
    they cannot overflow), added pixel by pixel and part by part in the
    general path's order.

    None when a pixel of nonzero weight falls outside the grid.
    """
    n_pixels = len(pixels)
    n_cells = per_channel**3
    min_items = max(MIN_PIXELS_PER_THREAD, 8 * n_cells)
    n_parts = kernel_threads(n_pixels, min_items=min_items)
    n_parts = max(1, min(n_parts, MAX_PARTIAL_BYTES // (40 * n_cells)))
    hist = np.zeros((n_parts, n_cells, 4))
    masks = np.zeros((n_parts, n_cells), np.uint64)
    outside = np.zeros(n_parts, np.uint32)
    packed = packed.astype(np.uint32)  # codes below 2**26

    def task(worker, start, stop):
        outside[worker] |= _pool_rgb8_weighted(
            pixels, weights, start, stop, packed, hist[worker], masks[worker]
        )

    run_parallel(task, n_pixels, n_parts, chunk=TASK_CHUNK)
    if outside.any():
        return None
    return _finish_rgb8_weighted(hist, masks, bases, per_channel)
