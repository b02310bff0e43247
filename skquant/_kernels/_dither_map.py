"""The dither map of adaptive error diffusion: where the image is flat.

Compiled code only; :mod:`skquant._kernels._dither` computes the map of
each band of rows just before diffusing it, and
:mod:`skquant._kernels._diffusion` reads one factor per pixel from it.

Dither noise shows where the image is smooth at the scale of the dither
pattern and hides in texture. The map measures that scale directly: the
spread of the colour over the ``(2 r + 1) x (2 r + 1)`` window around each
pixel, the square root of the sum over channels of the variance of the
values (in units of the full scale), the window cut at the image's border.
"""

import numpy as np

from skquant._kernels._cache import kernel


def limit_map(image, y0, y1, norm, radius, flat, textured, low, out):
    """:func:`limit_map_rows`, by its 3-channel version for 3 channels (the
    same map, bit for bit). Called from Python: only the kernel used is
    compiled."""
    rows = limit_map_rows3 if image.shape[2] == 3 else limit_map_rows
    rows(image, y0, y1, norm, radius, flat, textured, low, out)


@kernel
def limit_map_rows(image, y0, y1, norm, radius, flat, textured, low, out):
    """``out[y - y0, x]``: factor of the error limit at ``(y, x)``.

    For rows ``y0:y1`` of ``image`` (H, W, C): ``s`` is the spread of the
    colour over the window around the pixel, the values scaled by ``norm``
    (one factor per channel); the factor is ``low`` where ``s <= flat``, 1
    where ``s >= textured``, linear in between.

    Per column, the sums over the window's rows of each channel and of its
    squares are carried from row to row (one row in, one
    out); along a row, the window's sums are differences of running sums,
    so that the pixels of a row are independent of each other (vector
    lanes).
    """
    height, width, n_channels = image.shape
    col_sum = np.zeros((width, n_channels))
    col_sq = np.zeros((width, n_channels))
    run_sum = np.zeros((width + 1, n_channels))
    run_sq = np.zeros(width + 1)
    for yy in range(max(y0 - radius, 0), min(y0 + radius, height)):
        _add_row(image, yy, norm, 1.0, col_sum, col_sq)
    sums = np.empty(n_channels)
    for y in range(y0, y1):
        if y + radius < height:
            _add_row(image, y + radius, norm, 1.0, col_sum, col_sq)
        if y > y0 and y - radius - 1 >= 0:
            _add_row(image, y - radius - 1, norm, -1.0, col_sum, col_sq)
        n_rows = min(y + radius + 1, height) - max(y - radius, 0)
        for x in range(width):
            sq = 0.0
            for c in range(n_channels):
                run_sum[x + 1, c] = run_sum[x, c] + col_sum[x, c]
                sq += col_sq[x, c]
            run_sq[x + 1] = run_sq[x] + sq
        for x in range(width):
            lo, hi = max(x - radius, 0), min(x + radius + 1, width)
            sum2 = 0.0
            for c in range(n_channels):
                sums[c] = run_sum[hi, c] - run_sum[lo, c]
                sum2 += sums[c] * sums[c]
            n = n_rows * (hi - lo)
            spread2 = n * (run_sq[hi] - run_sq[lo]) - sum2
            out[y - y0, x] = _ramp(spread2, 1.0 / n, flat, textured, low)


@kernel(inline="always")
def _ramp(spread2, inv_n, flat, textured, low):
    """The factor of a window of ``n`` pixels (``inv_n``: ``1 / n``) whose
    spread is ``sqrt(spread2) / n`` (``spread2``: ``n`` times the sum of the
    squares minus the square of the sums, over the channels)."""
    t = (np.sqrt(max(spread2, 0.0)) * inv_n - flat) / (textured - flat)
    return low + (1.0 - low) * min(max(t, 0.0), 1.0)


@kernel
def limit_map_rows3(image, y0, y1, norm, radius, flat, textured, low, out):
    """:func:`limit_map_rows` for 3 channels: the same sums in the same
    order (the same map, bit for bit), written out without loops over the
    channels, and the pixels away from the left and right borders (whose
    windows are whole) in a loop of their own that vectorizes."""
    height, width = image.shape[0], image.shape[1]
    # the sums of each value and of its square over the window's rows,
    # in the order of the values in a row of the image
    col_sum = np.zeros(width * 3)
    col_sq = np.zeros(width * 3)
    row_norm = np.empty(width * 3)
    for x in range(width):
        row_norm[3 * x], row_norm[3 * x + 1], row_norm[3 * x + 2] = (
            norm[0],
            norm[1],
            norm[2],
        )
    run0 = np.zeros(width + 1)
    run1 = np.zeros(width + 1)
    run2 = np.zeros(width + 1)
    run_sq = np.zeros(width + 1)
    for yy in range(max(y0 - radius, 0), min(y0 + radius, height)):
        _add_row3(image, yy, row_norm, col_sum, col_sq, False)
    inner_lo = min(radius, width)
    inner_hi = max(width - radius - 1, inner_lo)
    for y in range(y0, y1):
        if y + radius < height:
            _add_row3(image, y + radius, row_norm, col_sum, col_sq, False)
        if y > y0 and y - radius - 1 >= 0:
            _add_row3(image, y - radius - 1, row_norm, col_sum, col_sq, True)
        n_rows = min(y + radius + 1, height) - max(y - radius, 0)
        s0 = s1 = s2 = q = 0.0
        for x in range(width):
            s0 += col_sum[3 * x]
            s1 += col_sum[3 * x + 1]
            s2 += col_sum[3 * x + 2]
            sq = 0.0 + col_sq[3 * x]
            sq += col_sq[3 * x + 1]
            sq += col_sq[3 * x + 2]
            q += sq
            run0[x + 1], run1[x + 1], run2[x + 1], run_sq[x + 1] = s0, s1, s2, q
        row = out[y - y0]
        for x in range(inner_lo):
            _map_pixel3(run0, run1, run2, run_sq, x, radius, width, n_rows,
                        flat, textured, low, row)  # fmt: skip
        n = n_rows * (2 * radius + 1)
        inv_n = 1.0 / n
        for x in range(inner_lo, inner_hi):
            spread2 = _spread3(run0, run1, run2, run_sq, x - radius, x + radius + 1, n)
            row[x] = _ramp(spread2, inv_n, flat, textured, low)
        for x in range(inner_hi, width):
            _map_pixel3(run0, run1, run2, run_sq, x, radius, width, n_rows,
                        flat, textured, low, row)  # fmt: skip


@kernel(inline="always")
def _map_pixel3(run0, run1, run2, run_sq, x, radius, width, n_rows, flat,
                textured, low, row):  # fmt: skip
    """One pixel of :func:`limit_map_rows3` with its window cut at the border."""
    lo, hi = max(x - radius, 0), min(x + radius + 1, width)
    n = n_rows * (hi - lo)
    spread2 = _spread3(run0, run1, run2, run_sq, lo, hi, n)
    row[x] = _ramp(spread2, 1.0 / n, flat, textured, low)


@kernel(inline="always")
def _spread3(run0, run1, run2, run_sq, lo, hi, n):
    """The ``spread2`` of :func:`_ramp` for the window of columns ``lo:hi``
    (``n`` pixels), from the running sums of :func:`limit_map_rows3`."""
    a0 = run0[hi] - run0[lo]
    a1 = run1[hi] - run1[lo]
    a2 = run2[hi] - run2[lo]
    sum2 = 0.0 + a0 * a0
    sum2 += a1 * a1
    sum2 += a2 * a2
    return n * (run_sq[hi] - run_sq[lo]) - sum2


@kernel
def _add_row3(image, y, row_norm, col_sum, col_sq, remove):
    """:func:`_add_row` for 3 channels, a row in or out (``remove``), over
    the row's values in order (``row_norm``: their factors), which
    vectorizes: ``x + (-1.0) * v`` is ``x - v`` exactly."""
    values = image[y].reshape(col_sum.shape[0])
    if remove:
        for k in range(col_sum.shape[0]):
            v = np.float64(values[k]) * row_norm[k]
            col_sum[k] -= v
            col_sq[k] -= v * v
    else:
        for k in range(col_sum.shape[0]):
            v = np.float64(values[k]) * row_norm[k]
            col_sum[k] += v
            col_sq[k] += v * v


@kernel
def _add_row(image, y, norm, sign, col_sum, col_sq):
    """Add (``sign`` 1) or remove (-1) row ``y`` to the column sums of the
    values and of their squares."""
    for x in range(image.shape[1]):
        for c in range(image.shape[2]):
            v = np.float64(image[y, x, c]) * norm[c]
            col_sum[x, c] += sign * v
            col_sq[x, c] += sign * v * v


# ---------------------------------------------------------------------------
# Palette weights of an adaptively dithered fit
# ---------------------------------------------------------------------------

#: Weights of the pixels when a palette is fitted for adaptive dithering
#: (see :func:`flat_weights`): 1 where the spread of the colour over the
#: ``(2 FIT_RADIUS + 1)`` square window is at most FIT_FLAT (of the full
#: scale), FIT_TEXTURED_WEIGHT from FIT_TEXTURED, linear in between.
FIT_RADIUS = 3
FIT_FLAT = 0.005
FIT_TEXTURED = 0.02
FIT_TEXTURED_WEIGHT = 0.05

#: Rows of the image per task when the weights run on several threads.
FIT_BAND_ROWS = 256


def flat_weights(image, norm):
    """Weight of every pixel of ``image`` (H, W, C) in a fit for adaptive
    dithering: flat areas count more than texture.

    Parameters
    ----------
    image : ndarray of shape (H, W, C)
        Real values (any dtype numba reads); not modified.
    norm : ndarray of shape (C,)
        Factor of each channel that brings it to units of its full scale
        (``1 / 255`` for uint8 colour data).

    Returns
    -------
    weights : ndarray of shape (H * W,), float64
        From FIT_TEXTURED_WEIGHT (texture) to 1 (flat), in the order of
        ``image.reshape(-1, C)``.
    """
    from skquant._kernels import _checks
    from skquant._kernels._runner import kernel_threads, run_parallel

    image = _checks.real_array(image, "image", 3, "(H, W, C)")
    norm = np.ascontiguousarray(norm, dtype=np.float64)
    if norm.shape != (image.shape[2],):
        raise ValueError(
            f"norm must have one factor per channel ({image.shape[2]}), got shape "
            f"{norm.shape}."
        )
    image = _checks.kernel_image(image)
    height, width = image.shape[:2]
    # float32, as in dithering (the same compiled kernel)
    out = np.empty((height, width), np.float32)
    if image.size == 0:
        return np.zeros(0)
    # limit_map gives low + (1 - low) t (t = 0 flat, 1 textured); with
    # low = 1 / FIT_TEXTURED_WEIGHT that is the weight over FIT_TEXTURED_WEIGHT
    # (see flat_bands).

    def task(worker, start, stop):
        flat_bands(image, start, stop, norm, out[start:stop])

    n_threads = min(kernel_threads(height * width), -(-height // FIT_BAND_ROWS))
    run_parallel(task, height, n_threads, chunk=FIT_BAND_ROWS)
    weights = out.ravel().astype(np.float64)
    weights *= FIT_TEXTURED_WEIGHT
    return weights


def flat_bands(image, y0, y1, norm, out):
    """Rows ``y0:y1`` of the map behind :func:`flat_weights` (float32,
    before the scaling by FIT_TEXTURED_WEIGHT) into ``out``, in bands of
    FIT_BAND_ROWS rows from ``y0``.

    The window sums run from each band's first row (their rounding depends
    on it), so the bands are fixed: the same map on any number of threads,
    and for a Dask block of whole rows starting at a multiple of
    FIT_BAND_ROWS (with the 3 rows around it that its windows reach).
    Validated input only (see :func:`flat_weights`).
    """
    low = 1.0 / FIT_TEXTURED_WEIGHT
    for start in range(y0, y1, FIT_BAND_ROWS):
        stop = min(start + FIT_BAND_ROWS, y1)
        limit_map(
            image, start, stop, norm, FIT_RADIUS, FIT_FLAT, FIT_TEXTURED, low,
            out[start - y0 : stop - y0],
        )  # fmt: skip
