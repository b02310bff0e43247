"""A weighted colour histogram on a fixed grid, filled batch by batch.

``partial_fit`` learns one palette from frames or files that do not fit in
memory together: each batch is added to the same histogram (per-cell weight,
weighted sums and sums of squares), and k-means runs on the cell means. Per-pixel
``sample_weight`` goes through the same accumulator. Because the grid is fixed,
adding batches one by one gives the same histogram as adding them all at once.
"""

import numpy as np

from skquant._histogram import cells_per_channel


class ColorHistogram:
    """Weighted cell statistics over a fixed grid.

    Parameters
    ----------
    lo, hi : ndarray of shape (n_channels,)
        Grid range per channel; values outside fall into the edge cells
        (their sums keep the true values, so cell means stay right).
    bins : int
        Cells per channel for 3 channels (see ``cells_per_channel``).
    integer : bool
        Integer data whose range fits gets one cell per value (exact).
    """

    def __init__(self, lo, hi, *, bins, integer):
        lo = np.asarray(lo, dtype=np.float64)
        hi = np.asarray(hi, dtype=np.float64)
        n_channels = len(lo)
        per_channel = cells_per_channel(n_channels, bins)
        span = hi - lo
        if integer and np.all(span + 1 <= per_channel):
            per_channel = int(span.max()) + 1
            inv_width = np.ones(n_channels)
        else:
            inv_width = np.divide(
                per_channel, span, out=np.zeros(n_channels), where=span > 0
            ) * (1.0 - 1e-12)
        self.lo, self.inv_width, self.per_channel = lo, inv_width, per_channel
        n_cells = per_channel**n_channels
        self.weight = np.zeros(n_cells)
        self.sums = np.zeros((n_cells, n_channels))
        self.sumsq = np.zeros(n_cells)

    @classmethod
    def for_data(cls, pixels, *, bins, dtype_range=None):
        """A grid over ``dtype_range`` (lo, hi) or the range of ``pixels``."""
        if dtype_range is not None:
            n = pixels.shape[1]
            lo, hi = np.full(n, dtype_range[0]), np.full(n, dtype_range[1])
        else:
            lo, hi = pixels.min(axis=0), pixels.max(axis=0)
        return cls(lo, hi, bins=bins, integer=pixels.dtype.kind in "iu")

    def add(self, pixels, weights=None, *, chunk=1 << 20):
        """Add ``pixels`` (n, n_channels) with optional per-pixel ``weights``."""
        n_cells = len(self.weight)
        for start in range(0, pixels.shape[0], chunk):
            block = pixels[start : start + chunk].astype(np.float64)
            w = (
                np.ones(len(block))
                if weights is None
                else np.asarray(weights[start : start + chunk], dtype=np.float64)
            )
            code = np.zeros(len(block), dtype=np.intp)
            for j in range(block.shape[1]):
                cell = ((block[:, j] - self.lo[j]) * self.inv_width[j]).astype(np.intp)
                np.clip(cell, 0, self.per_channel - 1, out=cell)
                code *= self.per_channel
                code += cell
            self.weight += np.bincount(code, weights=w, minlength=n_cells)
            for j in range(block.shape[1]):
                self.sums[:, j] += np.bincount(
                    code, weights=w * block[:, j], minlength=n_cells
                )
            self.sumsq += np.bincount(
                code, weights=w * np.einsum("ij,ij->i", block, block), minlength=n_cells
            )
        return self

    def points(self):
        """Cell means, weights, and whether every cell holds one colour only."""
        occupied = np.flatnonzero(self.weight > 0)
        weight = self.weight[occupied]
        means = self.sums[occupied] / weight[:, None]
        scatter = self.sumsq[occupied] - weight * np.einsum("ij,ij->i", means, means)
        scale = np.maximum(self.sumsq[occupied], 1e-300)
        exact = bool(np.all(scatter <= 1e-9 * scale))
        return means, weight, exact
