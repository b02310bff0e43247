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
    """
    height, width, n_channels = image.shape
    # Per column: the sums of the values and of their squares over the
    # window's rows, carried from row to row (one row in, one row out).
    col_sum = np.zeros((width, n_channels))
    col_sq = np.zeros((width, n_channels))
    for yy in range(max(y0 - radius, 0), min(y0 + radius, height)):
        _add_row(image, yy, norm, 1.0, col_sum, col_sq)
    row_sum = np.empty(n_channels)
    row_sq = np.empty(n_channels)
    for y in range(y0, y1):
        if y + radius < height:
            _add_row(image, y + radius, norm, 1.0, col_sum, col_sq)
        if y > y0 and y - radius - 1 >= 0:
            _add_row(image, y - radius - 1, norm, -1.0, col_sum, col_sq)
        n_rows = min(y + radius + 1, height) - max(y - radius, 0)
        # Along the row: the window's sums, one column in, one column out.
        row_sum[:] = 0.0
        row_sq[:] = 0.0
        for xx in range(min(radius, width)):
            for c in range(n_channels):
                row_sum[c] += col_sum[xx, c]
                row_sq[c] += col_sq[xx, c]
        for x in range(width):
            if x + radius < width:
                for c in range(n_channels):
                    row_sum[c] += col_sum[x + radius, c]
                    row_sq[c] += col_sq[x + radius, c]
            if x - radius - 1 >= 0:
                for c in range(n_channels):
                    row_sum[c] -= col_sum[x - radius - 1, c]
                    row_sq[c] -= col_sq[x - radius - 1, c]
            n = n_rows * (min(x + radius + 1, width) - max(x - radius, 0))
            var = 0.0
            for c in range(n_channels):
                mean = row_sum[c] / n
                var += max(row_sq[c] / n - mean * mean, 0.0)
            t = (np.sqrt(var) - flat) / (textured - flat)
            out[y - y0, x] = low + (1.0 - low) * min(max(t, 0.0), 1.0)


@kernel
def limit_map_rows3(image, y0, y1, norm, radius, flat, textured, low, out):
    """:func:`limit_map_rows` for 3 channels: the same sums in the same
    order (the same map, bit for bit), the window's sums along the row in
    registers rather than arrays (a loop-carried chain through memory), and
    rows added and removed by separate loops: 2-3 times faster."""
    height, width = image.shape[0], image.shape[1]
    col_sum = np.zeros((width, 3))
    col_sq = np.zeros((width, 3))
    for yy in range(max(y0 - radius, 0), min(y0 + radius, height)):
        _add_row3(image, yy, norm, col_sum, col_sq, False)
    for y in range(y0, y1):
        if y + radius < height:
            _add_row3(image, y + radius, norm, col_sum, col_sq, False)
        if y > y0 and y - radius - 1 >= 0:
            _add_row3(image, y - radius - 1, norm, col_sum, col_sq, True)
        n_rows = min(y + radius + 1, height) - max(y - radius, 0)
        s0 = s1 = s2 = 0.0
        q0 = q1 = q2 = 0.0
        for xx in range(min(radius, width)):
            s0 += col_sum[xx, 0]
            s1 += col_sum[xx, 1]
            s2 += col_sum[xx, 2]
            q0 += col_sq[xx, 0]
            q1 += col_sq[xx, 1]
            q2 += col_sq[xx, 2]
        for x in range(width):
            if x + radius < width:
                s0 += col_sum[x + radius, 0]
                s1 += col_sum[x + radius, 1]
                s2 += col_sum[x + radius, 2]
                q0 += col_sq[x + radius, 0]
                q1 += col_sq[x + radius, 1]
                q2 += col_sq[x + radius, 2]
            if x - radius - 1 >= 0:
                s0 -= col_sum[x - radius - 1, 0]
                s1 -= col_sum[x - radius - 1, 1]
                s2 -= col_sum[x - radius - 1, 2]
                q0 -= col_sq[x - radius - 1, 0]
                q1 -= col_sq[x - radius - 1, 1]
                q2 -= col_sq[x - radius - 1, 2]
            n = n_rows * (min(x + radius + 1, width) - max(x - radius, 0))
            m0, m1, m2 = s0 / n, s1 / n, s2 / n
            var = 0.0 + max(q0 / n - m0 * m0, 0.0)
            var += max(q1 / n - m1 * m1, 0.0)
            var += max(q2 / n - m2 * m2, 0.0)
            t = (np.sqrt(var) - flat) / (textured - flat)
            out[y - y0, x] = low + (1.0 - low) * min(max(t, 0.0), 1.0)


@kernel
def _add_row3(image, y, norm, col_sum, col_sq, remove):
    """:func:`_add_row` for 3 channels, a row in or out (``remove``):
    ``x + (-1.0) * v`` is ``x - v`` exactly."""
    n0, n1, n2 = norm[0], norm[1], norm[2]
    for x in range(image.shape[1]):
        v0 = np.float64(image[y, x, 0]) * n0
        v1 = np.float64(image[y, x, 1]) * n1
        v2 = np.float64(image[y, x, 2]) * n2
        if remove:
            col_sum[x, 0] -= v0
            col_sum[x, 1] -= v1
            col_sum[x, 2] -= v2
            col_sq[x, 0] -= v0 * v0
            col_sq[x, 1] -= v1 * v1
            col_sq[x, 2] -= v2 * v2
        else:
            col_sum[x, 0] += v0
            col_sum[x, 1] += v1
            col_sum[x, 2] += v2
            col_sq[x, 0] += v0 * v0
            col_sq[x, 1] += v1 * v1
            col_sq[x, 2] += v2 * v2


@kernel
def _add_row(image, y, norm, sign, col_sum, col_sq):
    """Add (``sign`` 1) or remove (-1) row ``y`` to the column sums."""
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
    image = np.ascontiguousarray(image)
    if image.dtype.kind not in "uif":
        image = image.astype(np.float64)
    height, width = image.shape[:2]
    # float32, as in dithering (the same compiled kernel)
    out = np.empty((height, width), np.float32)
    if image.size == 0:
        return np.zeros(0)
    # limit_map gives low + (1 - low) t (t = 0 flat, 1 textured); with
    # low = 1 / FIT_TEXTURED_WEIGHT that is the weight over FIT_TEXTURED_WEIGHT.
    low = 1.0 / FIT_TEXTURED_WEIGHT

    def task(worker, start, stop):
        limit_map(
            image, start, stop, norm, FIT_RADIUS, FIT_FLAT, FIT_TEXTURED, low,
            out[start:stop],
        )  # fmt: skip

    n_threads = min(kernel_threads(height * width), -(-height // FIT_BAND_ROWS))
    run_parallel(task, height, n_threads, chunk=FIT_BAND_ROWS)
    weights = out.ravel().astype(np.float64)
    weights *= FIT_TEXTURED_WEIGHT
    return weights
