"""The box of the working space that pixels fill: what the grid covers.

:func:`column_range` is each channel's smallest and largest value (NumPy);
:func:`pixel_box` turns it into the box the candidate grid of
:mod:`skquant._kernels._grid` is laid over, and for RGBA into the cone of
premultiplied colours that the pixels can reach.
"""

import numpy as np

from skquant._kernels import _checks
from skquant._kernels._colorspace import gamut_bounds

#: Rows folded into one row of :func:`column_range`'s reductions.
FOLD_ROWS = 1024

#: Rows read before an integer image is checked for its dtype's whole range.
FIRST_ROWS = 1 << 16


def _fold_range(rows):
    """Per-column NaN-ignoring min and max of C-contiguous ``rows``.

    NumPy reduces an ``(n, 3)`` array along axis 0 with an inner loop of
    3 values, ten times slower than a compiled loop; viewed as
    ``(n / FOLD_ROWS, 3 * FOLD_ROWS)`` (no copy), the same reduction runs
    over wide rows (vectorised), then the ``FOLD_ROWS`` partial results are
    folded: as fast as the kernel this replaces, on one thread, with no
    compiled code to load (each loaded kernel costs the command line's
    start-up).
    """
    n_rows, n_channels = rows.shape
    whole = n_rows - n_rows % FOLD_ROWS
    lows = highs = rows
    if whole:
        wide = rows[:whole].reshape(-1, FOLD_ROWS * n_channels)
        rest = rows[whole:]
        lows = np.fmin.reduce(wide, axis=0).reshape(FOLD_ROWS, n_channels)
        highs = np.fmax.reduce(wide, axis=0).reshape(FOLD_ROWS, n_channels)
        lows, highs = np.concatenate([lows, rest]), np.concatenate([highs, rest])
    # fewer than 2 * FOLD_ROWS rows left: float64 costs nothing
    lows, highs = lows.astype(np.float64), highs.astype(np.float64)
    return (
        np.fmin.reduce(lows, axis=0, initial=np.inf),
        np.fmax.reduce(highs, axis=0, initial=-np.inf),
    )


def column_range(pixels):
    """Smallest and largest value of each column, as float64 arrays.

    NaN values are ignored (an all-NaN or empty column gives ``inf`` and
    ``-inf``). Integer pixels are read in two steps: the first
    :data:`FIRST_ROWS` rows, then the rest only if a column does not yet
    span the dtype's whole range (8-bit photos reach it within a few
    thousand pixels).
    """
    pixels = _checks.pixels_2d(pixels)
    n_channels = pixels.shape[1]
    if not pixels.flags.c_contiguous:
        lo = np.full(n_channels, np.inf)
        hi = np.full(n_channels, -np.inf)
        if len(pixels):
            for j in range(n_channels):
                lo[j] = np.fmin(lo[j], np.fmin.reduce(pixels[:, j]))
                hi[j] = np.fmax(hi[j], np.fmax.reduce(pixels[:, j]))
        return lo, hi
    if pixels.dtype.kind not in "iu" or len(pixels) <= FIRST_ROWS:
        return _fold_range(pixels)
    lo, hi = _fold_range(pixels[:FIRST_ROWS])
    info = np.iinfo(pixels.dtype)
    if np.all(lo <= info.min) and np.all(hi >= info.max):
        return lo, hi
    rest_lo, rest_hi = _fold_range(pixels[FIRST_ROWS:])
    return np.fmin(lo, rest_lo), np.fmax(hi, rest_hi)


def _value_range(pixels):
    """Per-channel range of the pixels' finite values (8-bit: the dtype's)."""
    if pixels.dtype == np.uint8:
        return np.zeros(pixels.shape[1]), np.full(pixels.shape[1], 255.0)
    lo, hi = column_range(pixels)
    # Infinite values are searched in full, outside the grid (NaN never
    # widens the range).
    return np.where(np.isfinite(lo), lo, np.inf), np.where(np.isfinite(hi), hi, -np.inf)


def pixel_box(pixels, space, alpha=None):
    """Box of the working space that the grid of these pixels covers.

    For ``'rgb'``, every pixel's values; for the perceptual spaces, the sRGB
    gamut (out-of-gamut points are searched in full). With
    ``alpha=(full, weight)`` the points are the colours premultiplied by the
    opacity ``a / full``, plus ``weight`` times the opacity. Returns
    ``(lo, hi, cone)``; :func:`grid_for` adds the palette. ``cone`` is None,
    or with ``alpha`` the colour bounds and weight that :func:`_reachable`
    reads.
    """
    if alpha is None:
        lo, hi = gamut_bounds(space) if space != "rgb" else _value_range(pixels)
        return lo, hi, None
    full, weight = alpha
    lo, hi = _value_range(pixels)
    opacity = np.array([lo[3], hi[3]]) / full
    if space != "rgb":
        lo[:3], hi[:3] = gamut_bounds(space)
    cone = np.concatenate([lo[:3], hi[:3], [weight]])
    corners = np.stack([bound * o for bound in (lo[:3], hi[:3]) for o in opacity])
    lo[:3], hi[:3] = corners.min(axis=0), corners.max(axis=0)
    lo[3], hi[3] = sorted(opacity * weight)
    if not np.isfinite(cone).all():
        cone = None  # no finite colour: every pixel is searched in full anyway
    return lo, hi, cone
