"""The box of the working space that pixels fill: what the grid covers.

:func:`column_range` is each channel's smallest and largest value (one
pass, parallel); :func:`pixel_box` turns it into the box the candidate grid
of :mod:`skquant._kernels._grid` is laid over, and for RGBA into the cone
of premultiplied colours that the pixels can reach.
"""

import numpy as np

from skquant._kernels import _checks
from skquant._kernels._cache import kernel
from skquant._kernels._colorspace import gamut_bounds
from skquant._kernels._runner import (
    MIN_PIXELS_PER_THREAD,
    TASK_CHUNK,
    kernel_threads,
    run_parallel,
)

#: Dtypes :func:`column_range` reads with a kernel.
RANGE_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


@kernel
def _column_range(pixels, start, stop, lo, hi, floor, ceil):
    """Per-column min/max of ``pixels[start:stop]`` into ``lo``, ``hi``.

    Stops early once every column spans ``floor`` to ``ceil`` (the dtype's
    whole range: 8-bit photos reach it within a few thousand pixels).
    """
    d = pixels.shape[1]
    for block in range(start, stop, 4096):
        for i in range(block, min(block + 4096, stop)):
            for j in range(d):
                v = np.float64(pixels[i, j])
                if v < lo[j]:
                    lo[j] = v
                if v > hi[j]:
                    hi[j] = v
        full = True
        for j in range(d):
            full = full and lo[j] <= floor and hi[j] >= ceil
        if full:
            return


def column_range(pixels):
    """Smallest and largest value of each column, as float64 arrays.

    One pass over the pixels (numpy reduces ``(n, 3)`` along axis 0 ten times
    slower than this, and three passes over columns take three times longer).
    """
    pixels = _checks.pixels_2d(pixels)
    n_pixels, n_channels = pixels.shape
    if n_pixels == 0:
        return np.full(n_channels, np.inf), np.full(n_channels, -np.inf)
    if pixels.dtype not in RANGE_DTYPES or not pixels.flags.c_contiguous:
        lo = np.array([pixels[:, j].min() for j in range(n_channels)], np.float64)
        hi = np.array([pixels[:, j].max() for j in range(n_channels)], np.float64)
        return lo, hi
    n_threads = kernel_threads(n_pixels, min_items=MIN_PIXELS_PER_THREAD * 4)
    lo = np.full((n_threads, n_channels), np.inf)
    hi = np.full((n_threads, n_channels), -np.inf)

    if pixels.dtype.kind in "iu":
        info = np.iinfo(pixels.dtype)
        floor, ceil = float(info.min), float(info.max)
    else:
        floor, ceil = -np.inf, np.inf

    def task(worker, start, stop):
        _column_range(pixels, start, stop, lo[worker], hi[worker], floor, ceil)

    run_parallel(task, n_pixels, n_threads, chunk=TASK_CHUNK * 4)
    return lo.min(axis=0), hi.max(axis=0)


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
