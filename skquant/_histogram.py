"""One weighted colour histogram, with one binning rule, for every fit.

A 12-megapixel photo holds a few tens of thousands of occupied cells in a
64 x 64 x 64 grid over its colour range. Clustering the cell means, weighted by
their pixel counts (or summed ``sample_weight``), sees every pixel at a
fraction of the cost of clustering the pixels themselves; the k-means
objective differs only by the within-cell scatter.

The binning rule (:class:`Grid`, the only place it is written)
--------------------------------------------------------------
Each channel's range ``[lo, hi]`` is cut into ``per_channel`` cells of equal
width, ``cell = clip(int((v - lo) * inv_width), 0, per_channel - 1)`` with
``inv_width = per_channel / (hi - lo) * (1 - 1e-12)`` (so ``hi`` falls in the
last cell). ``per_channel`` is ``bins`` for 3 channels; other channel counts
get the same cell budget (``bins**3``, at most ``MAX_CELLS``). Integer data
whose range fits gets one cell per value (``inv_width = 1``).

Exactness
---------
A cell is *mixed* when it holds two different colours. When no cell is mixed
the histogram is *exact*: its points are the distinct colours of the data
(each cell's one colour, not a rounded mean) with their summed weights, so
clustering it is clustering the data itself. This is tested for every dtype.

Exact colours
-------------
A histogram on a grid also carries the exact distinct colours of its data
and their summed weights (``colours``, a histogram by colour) while they
are few: at most :func:`max_colours`, a number set by a byte budget
(:data:`COLOURS_BYTES`), whatever the image size. They are found in the
pooling pass or a second one that is made only when it can succeed (see
:func:`skquant._kernels.pool_cells`), merged with the cells, and dropped
for good (None) once there are more. Graphics (logos, sprites, GIF frames:
a few thousand colours, a few hundred cells) keep them; photos do not. The
fit clusters them instead of the cell means where the cells are few for
the colours to learn (:data:`skquant._engine._learn.EXACT_CELLS_PER_COLOR`).

The same histogram serves the in-memory fit (:func:`pool`), ``partial_fit``
(:meth:`Histogram.merge` of batch after batch on a grid fixed by the first
batch or by the dtype's range), ``select_n_colors`` and the Dask fit (one
histogram per block, on the grid of the whole array, merged), so all of them
see the same points. It stores only occupied cells.
"""

import numpy as np

from skquant._kernels import column_range, pool_cells
from skquant._unique import unique_rows

#: Upper bound on the number of cells, whatever the channel count.
MAX_CELLS = 1 << 18

#: Finer grids than this are pooled by sorting codes, not by the kernel.
MAX_KERNEL_CELLS = 1 << 20

#: Memory for a histogram's exact colours (:attr:`Histogram.colours`): a
#: histogram by colour costs ``17 + 16 * n_channels`` bytes a colour, so
#: 1 MiB keeps up to 16,131 RGB colours, whatever the image size. Counting
#: them takes at most 3 MiB more while pooling (uint8 RGB: a 1 MiB cell
#: index and a row of 64 places per mixed cell; other data: a 512 KiB hash
#: table per thread). scikit-image's logo holds 2,139 colours, the ten
#: sample photos and four more 23,775 to 146,973: none keeps its colours.
COLOURS_BYTES = 1 << 20


def max_colours(n_channels):
    """Most exact colours a histogram keeps (:data:`COLOURS_BYTES`)."""
    return COLOURS_BYTES // (17 + 16 * n_channels)


def cells_per_channel(n_channels, bins):
    """Bins per channel for ``n_channels``: ``bins`` for RGB, same budget otherwise."""
    budget = min(bins**3, MAX_CELLS)
    return max(2, int(round(budget ** (1.0 / n_channels) + 1e-9)))


class Grid:
    """Which cell each colour falls in: the binning rule, written once.

    Parameters
    ----------
    lo, hi : array-like of shape (n_channels,)
        Range of each channel; values outside fall into the edge cells.
    bins : int
        Cells per channel for 3 channels (see :func:`cells_per_channel`).
    integer : bool
        Integer data whose range fits in the cells gets one cell per value.
    """

    def __init__(self, lo, hi, *, bins, integer):
        lo = np.asarray(lo, dtype=np.float64)
        span = np.asarray(hi, dtype=np.float64) - lo
        n_channels = len(lo)
        per_channel = cells_per_channel(n_channels, bins)
        if integer and np.all(span + 1 <= per_channel):
            per_channel = int(span.max()) + 1
            inv_width = np.ones(n_channels)
        else:
            inv_width = np.divide(
                per_channel, span, out=np.zeros(n_channels), where=span > 0
            )
            inv_width *= 1.0 - 1e-12  # the top value inside the last cell
        self.lo, self.inv_width, self.per_channel = lo, inv_width, per_channel

    @classmethod
    def for_pixels(cls, pixels, *, bins, value_range=None):
        """The grid over ``value_range`` (lo, hi) or over the range of ``pixels``."""
        if value_range is None:
            value_range = column_range(pixels)
        return cls(*value_range, bins=bins, integer=pixels.dtype.kind in "iu")

    def __eq__(self, other):
        return (
            isinstance(other, Grid)
            and self.per_channel == other.per_channel
            and np.array_equal(self.lo, other.lo)
            and np.array_equal(self.inv_width, other.inv_width)
        )

    def cells(self, pixels):
        """Cell code of each pixel (NumPy; the reference the kernel is tested on)."""
        pixels = np.asarray(pixels, dtype=np.float64)
        cells = ((pixels - self.lo) * self.inv_width).astype(np.int64)
        np.clip(cells, 0, self.per_channel - 1, out=cells)
        codes = np.zeros(len(pixels), np.int64)
        for j in range(pixels.shape[1]):
            codes = codes * self.per_channel + cells[:, j]
        return codes


class Histogram:
    """Weighted statistics of the occupied cells of a :class:`Grid`.

    Attributes
    ----------
    grid : Grid
    codes : ndarray of shape (n_cells,), int64, ascending
    weights : ndarray of shape (n_cells,), float64
    sums : ndarray of shape (n_cells, n_channels), float64
        Weighted sums of the colours in each cell.
    first : ndarray of shape (n_cells, n_channels), float64
        One colour of each cell (the cell's only colour when not mixed).
    mixed : ndarray of shape (n_cells,), bool
    colours : Histogram or None
        The exact distinct colours of the data (a histogram by colour: its
        ``first`` rows, ascending, and their ``weights``) while there are at
        most :func:`max_colours`; None when there are more, and for a
        histogram by colour (exact itself).
    """

    def __init__(self, grid, codes, weights, sums, first, mixed, colours=None):
        self.grid = grid
        self.codes, self.weights, self.sums = codes, weights, sums
        self.first, self.mixed = first, mixed
        self.colours = colours

    @classmethod
    def of(cls, pixels, weights=None, *, grid, colours_below=None):
        """Pool ``pixels`` (with optional per-pixel ``weights``) on ``grid``.

        ``grid=None`` keys cells by colour: every distinct colour is a cell
        (exact whatever the dtype; ``histogram_bins=None`` in ``partial_fit``).
        ``colours_below``: look for the exact colours only when there are
        fewer cells than this (a histogram that is neither kept nor merged,
        whose fit uses them only then); None: always.
        """
        if grid is None:
            colours, counts = distinct_colors(pixels, weights)
            return cls._by_colour(colours, counts)
        *parts, colours = pool_cells(
            pixels,
            weights,
            grid.lo,
            grid.inv_width,
            grid.per_channel,
            max_colours=max_colours(pixels.shape[1]),
            max_cells=None if colours_below is None else colours_below - 1,
        )
        if colours is not None:
            colours = cls._by_colour(*distinct_colors(*colours))
        return cls(grid, *parts, colours)

    @classmethod
    def _by_colour(cls, colours, weights):
        keep = weights > 0
        colours, weights = colours[keep], weights[keep]
        codes = np.arange(len(colours), dtype=np.int64)
        mixed = np.zeros(len(colours), bool)
        return cls(None, codes, weights, colours * weights[:, None], colours, mixed)

    @property
    def exact(self):
        """Whether every cell holds one distinct colour."""
        return not bool(self.mixed.any())

    def points(self):
        """(points, weights, exact): cell means, or each cell's colour if not mixed."""
        points = self.sums / self.weights[:, None]
        points[~self.mixed] = self.first[~self.mixed]
        return points, self.weights.copy(), self.exact

    def coarse_groups(self, factor=2):
        """Index of each occupied cell's cell on a grid ``factor`` times coarser.

        Cells ``factor`` apart along every channel share a coarse cell;
        the coarse cells are numbered 0, 1, ... in code order. None for a
        histogram keyed by colour (no grid).
        """
        if self.grid is None:
            return None
        per_channel = self.grid.per_channel
        n_channels = self.sums.shape[1]
        coarse_per_channel = -(-per_channel // factor)
        codes = self.codes.copy()
        coarse = np.zeros_like(codes)
        scale = 1
        for _ in range(n_channels):  # last channel first
            codes, cell = np.divmod(codes, per_channel)
            coarse += (cell // factor) * scale
            scale *= coarse_per_channel
        _, groups = np.unique(coarse, return_inverse=True)
        return groups.ravel()

    def merge(self, other):
        """The histogram of both (same grid); ``self`` is not modified."""
        if other.grid != self.grid:
            raise ValueError("histograms on different grids cannot be merged.")
        if self.grid is None:
            colours = np.concatenate([self.first, other.first])
            weights = np.concatenate([self.weights, other.weights])
            return Histogram._by_colour(*distinct_colors(colours, weights))
        codes = np.union1d(self.codes, other.codes)
        mine = np.searchsorted(codes, self.codes)
        theirs = np.searchsorted(codes, other.codes)
        weights = np.zeros(len(codes))
        sums = np.zeros((len(codes), self.sums.shape[1]))
        first = np.zeros_like(sums)
        mixed = np.zeros(len(codes), bool)
        for index, part in ((theirs, other), (mine, self)):
            weights[index] += part.weights
            sums[index] += part.sums
            first[index] = part.first  # self's colour wins where both have one
            mixed[index] |= part.mixed
        shared, in_mine, in_theirs = np.intersect1d(
            self.codes, other.codes, assume_unique=True, return_indices=True
        )
        differ = np.any(self.first[in_mine] != other.first[in_theirs], axis=1)
        mixed[np.searchsorted(codes, shared)] |= differ
        colours = None
        if self.colours is not None and other.colours is not None:
            colours = self.colours.merge(other.colours)
            if len(colours.codes) > max_colours(self.sums.shape[1]):
                colours = None
        return Histogram(self.grid, codes, weights, sums, first, mixed, colours)


def pool(pixels, weights=None, *, bins=64, value_range=None, colours_below=None):
    """The histogram of ``pixels`` on the grid over their range (or
    ``value_range``); ``colours_below``: see :meth:`Histogram.of`."""
    grid = Grid.for_pixels(pixels, bins=bins, value_range=value_range)
    return Histogram.of(pixels, weights, grid=grid, colours_below=colours_below)


def pool_pixels(pixels, *, bins=64, weights=None):
    """``pool(pixels, weights, bins=bins).points()``: (points, weights, exact).

    Parameters
    ----------
    pixels : ndarray of shape (n_pixels, n_channels)
        Any real dtype; values in the input's units.
    bins : int
        Cells per channel for 3-channel data (see :class:`Grid`).
    weights : ndarray of shape (n_pixels,) or None

    Returns
    -------
    points : ndarray of shape (n_cells, n_channels), float64
        Weighted mean colour of each occupied cell (its colour when exact).
    weights : ndarray of shape (n_cells,), float64
        Pixel count (or summed weight) of each occupied cell.
    exact : bool
        True when ``points`` are exactly the distinct colours of ``pixels``.
    """
    return pool(pixels, weights, bins=bins).points()


def distinct_colors(pixels, weights=None):
    """Exact distinct rows of ``pixels`` and their counts or summed weights.

    Rows in ascending order, first channel first (as ``np.unique(axis=0)``);
    every distinct row is listed, a zero total weight included. Unsigned
    integer rows of at most 8 bytes are packed into one integer code each
    (first channel in the high bits: the same order) and sorted as such,
    several times faster than sorting rows (measured in the commit that
    added it; counting over the 16 M possible 8-bit RGB codes was slower
    still, even for 2 MP). Without weights, the codes alone are sorted
    (narrowed to 32 bits when they fit) and each count is the length of
    its run: no permutation, no inverse; 2 M pixels of a photo (0.57 M
    colours) in 26 ms instead of 280 ms.
    """
    codes = _packed_codes(pixels)
    if codes is None:
        points, inverse = unique_rows(pixels)
    elif weights is None:
        bits = 8 * pixels.dtype.itemsize * pixels.shape[1]
        ordered = np.sort(codes.astype(np.uint32) if bits <= 32 else codes)
        first = np.empty(len(ordered), bool)
        first[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, len(ordered)))
        points = _unpack_codes(ordered[starts], pixels)
        return points.astype(np.float64), counts.astype(np.float64)
    else:
        present, inverse = np.unique(codes, return_inverse=True)
        points = _unpack_codes(present, pixels)
    counts = np.bincount(inverse, weights=weights, minlength=len(points))
    return points.astype(np.float64), counts.astype(np.float64)


def _packed_codes(pixels):
    """One uint64 per row of unsigned integers (None for other data)."""
    if pixels.dtype.kind != "u" or pixels.ndim != 2:
        return None
    bits = 8 * pixels.dtype.itemsize
    if bits * pixels.shape[1] > 64 or pixels.shape[1] == 0:
        return None
    codes = np.zeros(len(pixels), np.uint64)
    for channel in range(pixels.shape[1]):
        codes <<= np.uint64(bits)
        codes |= pixels[:, channel]
    return codes.astype(np.int64) if bits * pixels.shape[1] < 64 else codes


def _unpack_codes(codes, like):
    """The rows of ``like``'s dtype whose packed codes are ``codes``."""
    bits = 8 * like.dtype.itemsize
    n_channels = like.shape[1]
    codes = codes.astype(np.uint64)
    rows = np.empty((len(codes), n_channels), like.dtype)
    mask = np.uint64((1 << bits) - 1)
    for channel in range(n_channels - 1, -1, -1):
        rows[:, channel] = codes & mask
        codes = codes >> np.uint64(bits)
    return rows
