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
def _add_row(image, y, norm, sign, col_sum, col_sq):
    """Add (``sign`` 1) or remove (-1) row ``y`` to the column sums."""
    for x in range(image.shape[1]):
        for c in range(image.shape[2]):
            v = np.float64(image[y, x, c]) * norm[c]
            col_sum[x, c] += sign * v
            col_sq[x, c] += sign * v * v
