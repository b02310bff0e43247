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
    """``out[y - y0, x]``: factor of the squared error limit at ``(y, x)``.

    For rows ``y0:y1`` of ``image`` (H, W, C): ``s`` is the spread of the
    colour over the window around the pixel, the values scaled by ``norm``
    (one factor per channel); the factor is ``low ** 2`` where ``s <=
    flat``, 1 where ``s >= textured``, and in between the limit itself
    (not its square) goes linearly from ``low`` to 1.
    """
    height, width, n_channels = image.shape
    # Per column: the sums of the values and of their squares over the
    # window's rows (float64: exact for any integer image).
    col_sum = np.empty((width, n_channels))
    col_sq = np.empty((width, n_channels))
    for y in range(y0, y1):
        top, bottom = max(y - radius, 0), min(y + radius + 1, height)
        col_sum[:] = 0.0
        col_sq[:] = 0.0
        for yy in range(top, bottom):
            for x in range(width):
                for c in range(n_channels):
                    v = np.float64(image[yy, x, c]) * norm[c]
                    col_sum[x, c] += v
                    col_sq[x, c] += v * v
        n_rows = bottom - top
        for x in range(width):
            left, right = max(x - radius, 0), min(x + radius + 1, width)
            n = n_rows * (right - left)
            var = 0.0
            for c in range(n_channels):
                s = 0.0
                q = 0.0
                for xx in range(left, right):
                    s += col_sum[xx, c]
                    q += col_sq[xx, c]
                mean = s / n
                var += max(q / n - mean * mean, 0.0)
            t = (np.sqrt(var) - flat) / (textured - flat)
            k = low + (1.0 - low) * min(max(t, 0.0), 1.0)
            out[y - y0, x] = k * k
