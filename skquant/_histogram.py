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

#: Upper bound on the number of cells, whatever the channel count.
MAX_CELLS = 1 << 18


def cells_per_channel(n_channels, bins):
    """Bins per channel for ``n_channels``: ``bins`` for RGB, same budget otherwise."""
    budget = min(bins**3, MAX_CELLS)
    return max(2, int(round(budget ** (1.0 / n_channels) + 1e-9)))


@numba.njit(cache=True, nogil=True)
def _pool_kernel(pixels, lo, inv_width, bins):
    n, d = pixels.shape
    n_cells = bins**d
    counts = np.zeros(n_cells, np.int64)
    sums = np.zeros((n_cells, d), np.float64)
    first = np.empty(n_cells, np.int64)
    mixed = np.zeros(n_cells, np.bool_)
    for i in range(n):
        code = 0
        for j in range(d):
            b = int((np.float64(pixels[i, j]) - lo[j]) * inv_width[j])
            if b < 0:
                b = 0
            elif b >= bins:
                b = bins - 1
            code = code * bins + b
        c = counts[code]
        if c == 0:
            first[code] = i
        elif not mixed[code]:
            f = first[code]
            for j in range(d):
                if pixels[i, j] != pixels[f, j]:
                    mixed[code] = True
                    break
        counts[code] = c + 1
        for j in range(d):
            sums[code, j] += pixels[i, j]
    return counts, sums, mixed


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
    """
    pixels = np.ascontiguousarray(pixels)
    n_channels = pixels.shape[1]
    per_channel = cells_per_channel(n_channels, bins)
    lo = pixels.min(axis=0).astype(np.float64)
    hi = pixels.max(axis=0).astype(np.float64)
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
    counts, sums, mixed = _pool_kernel(pixels, lo, inv_width, per_channel)
    occupied = np.flatnonzero(counts)
    weights = counts[occupied].astype(np.float64)
    points = sums[occupied] / weights[:, None]
    return points, weights, not bool(mixed[occupied].any())


def distinct_colors(pixels):
    """Exact distinct rows of ``pixels`` and their counts (float64)."""
    points, weights = np.unique(pixels, axis=0, return_counts=True)
    return points.astype(np.float64), weights.astype(np.float64)
