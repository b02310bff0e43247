"""The dither map of adaptive error diffusion: where the image is flat.

Compiled code only; :mod:`skquant._kernels._dither` computes the map of
each band of rows just before diffusing it, and
:mod:`skquant._kernels._diffusion` reads one factor per pixel from it.

Dither noise shows where the image is smooth at the scale of the dither
pattern and hides in texture. The map measures that scale directly: the
spread of the colour over the ``(2 r + 1) x (2 r + 1)`` window around each
pixel, the square root of the sum over channels of the variance of the
values (in units of the full scale), the window cut at the image's border.

Noise or gradient
-----------------
A small spread can be noise around a constant colour (a JPEG sky, a wall)
or a clean gradient. Capping the carried error calms the first, but on
the second it leaves colours near a palette colour undithered, which
shows as bands along the gradient. So the map can take two ramps (see
:func:`ramps`): the *clean* one, and a calmer *noisy* one, blended by how
much of the window's variance a plane does not explain. Per channel, the
least-squares plane over the window explains ``Sx^2 / Vx + Sy^2 / Vy``
of the summed squares (``Sx`` the sum of ``(x - mean x) v``, ``Vx`` the
sum of ``(x - mean x)^2``; the columns and rows of a rectangular window
are orthogonal); ``rho`` is the square root of the share left over: about
0.1-0.2 on a clean ramp (8-bit steps), 0.7-1 on sensor or JPEG noise. The
noisy ramp's weight is 0 up to ``rho0``, 1 from ``rho1``, linear between;
windows without any spread (a constant colour, or a shallow gradient
between its 8-bit steps) take the clean ramp.
"""

import numpy as np

from skquant._kernels._cache import kernel


def ramps(flat, textured, low, noisy=None, rho=(0.0, 1.0)):
    """The ``ramps`` argument of the map kernels.

    ``(flat, textured, low)``: the factor is ``low`` where the spread is
    at most ``flat``, 1 from ``textured``, linear between. ``noisy``: the
    same for windows whose spread is noise (None: the same ramp, and the
    plane is not fitted); ``rho``: ``(rho0, rho1)`` (see the module's
    docstring).
    """
    noisy = (flat, textured, low) if noisy is None else noisy
    values = (flat, textured, low, *noisy, *rho)
    return tuple(float(v) for v in values)


def limit_map(image, y0, y1, norm, radius, ramps, out):
    """:func:`limit_map_rows`, by its 3-channel version for 3 channels (the
    same map, bit for bit). Called from Python: only the kernel used is
    compiled."""
    rows = limit_map_rows3 if image.shape[2] == 3 else limit_map_rows
    rows(image, y0, y1, norm, radius, ramps, out)


@kernel(inline="always")
def _fits_plane(ramps):
    """Whether the noisy ramp differs from the clean one."""
    return not (ramps[3] == ramps[0] and ramps[4] == ramps[1] and ramps[5] == ramps[2])


@kernel(inline="always")
def _inverse_moments(n_rows, n_cols):
    """``1 / Vx``, ``1 / Vy`` of a window of ``n_rows`` x ``n_cols`` pixels
    (0 for a single column or row: no slope to fit)."""
    inv_x = inv_y = 0.0
    if n_cols > 1:
        inv_x = 12.0 / (n_rows * n_cols * (n_cols * n_cols - 1.0))
    if n_rows > 1:
        inv_y = 12.0 / (n_cols * n_rows * (n_rows * n_rows - 1.0))
    return inv_x, inv_y


@kernel
def limit_map_rows(image, y0, y1, norm, radius, ramps, out):
    """``out[y - y0, x]``: factor of the error limit at ``(y, x)``.

    For rows ``y0:y1`` of ``image`` (H, W, C): ``s`` is the spread of the
    colour over the window around the pixel, the values scaled by ``norm``
    (one factor per channel); the factor is the clean ramp of ``ramps``
    (see :func:`ramps`) at ``s``, blended towards the noisy one by how
    much of the spread a plane leaves over.

    Per column, the sums over the window's rows of each channel, of its
    squares and of ``(y - y0)`` times it are carried from row to row (one
    row in, one out); along a row, the window's sums are differences of
    running sums (those of ``x`` times the column sums too), so that the
    pixels of a row are independent of each other (vector lanes).
    """
    height, width, n_channels = image.shape
    plane = _fits_plane(ramps)
    col_sum = np.zeros((width, n_channels))
    col_sq = np.zeros((width, n_channels))
    col_ysum = np.zeros((width if plane else 0, n_channels))  # no plane: unused
    run_sum = np.zeros((width + 1, n_channels))
    run_sq = np.zeros(width + 1)
    run_x = np.zeros((width + 1 if plane else 0, n_channels))  # no plane: unused
    run_y = np.zeros((width + 1 if plane else 0, n_channels))
    for yy in range(max(y0 - radius, 0), min(y0 + radius, height)):
        _add_row(image, yy, norm, 1.0, yy - y0, col_sum, col_sq, col_ysum)
    for y in range(y0, y1):
        if y + radius < height:
            _add_row(image, y + radius, norm, 1.0, y + radius - y0, col_sum, col_sq,
                     col_ysum)  # fmt: skip
        if y > y0 and y - radius - 1 >= 0:
            _add_row(image, y - radius - 1, norm, -1.0, y - radius - 1 - y0, col_sum,
                     col_sq, col_ysum)  # fmt: skip
        first, stop = max(y - radius, 0), min(y + radius + 1, height)
        n_rows = stop - first
        y_mean = 0.5 * (first + stop - 1) - y0
        for x in range(width):
            sq = 0.0
            for c in range(n_channels):
                run_sum[x + 1, c] = run_sum[x, c] + col_sum[x, c]
                if plane:
                    run_x[x + 1, c] = run_x[x, c] + x * col_sum[x, c]
                    run_y[x + 1, c] = run_y[x, c] + col_ysum[x, c]
                sq += col_sq[x, c]
            run_sq[x + 1] = run_sq[x] + sq
        for x in range(width):
            lo, hi = max(x - radius, 0), min(x + radius + 1, width)
            n = n_rows * (hi - lo)
            inv_x, inv_y = _inverse_moments(n_rows, hi - lo)
            x_mean = 0.5 * (lo + hi - 1)
            sum2 = 0.0
            explained = 0.0
            for c in range(n_channels):
                a = run_sum[hi, c] - run_sum[lo, c]
                sum2 += a * a
                if plane:
                    sx = (run_x[hi, c] - run_x[lo, c]) - x_mean * a
                    sy = (run_y[hi, c] - run_y[lo, c]) - y_mean * a
                    explained += sx * sx * inv_x + sy * sy * inv_y
            spread2 = n * (run_sq[hi] - run_sq[lo]) - sum2
            out[y - y0, x] = _factor(spread2, n * explained, 1.0 / n, ramps, plane)


@kernel(inline="always")
def _ramp(spread2, inv_n, flat, textured, low):
    """The factor of a window of ``n`` pixels (``inv_n``: ``1 / n``) whose
    spread is ``sqrt(spread2) / n`` (``spread2``: ``n`` times the sum of the
    squares minus the square of the sums, over the channels)."""
    t = (np.sqrt(max(spread2, 0.0)) * inv_n - flat) / (textured - flat)
    return low + (1.0 - low) * min(max(t, 0.0), 1.0)


#: Below this spread (in units of the full scale) a window has none: the
#: rounding of its sums, not noise.
_NO_SPREAD = 1e-6


@kernel(inline="always")
def _factor(spread2, explained2, inv_n, ramps, plane):
    """The map's factor for a window: the clean ramp, blended towards the
    noisy one by the share of ``spread2`` that the plane (``explained2``, in
    the same units) leaves over (see the module's docstring)."""
    if not plane:
        return _ramp(spread2, inv_n, ramps[0], ramps[1], ramps[2])
    return _blend(spread2, explained2, inv_n, ramps)


@kernel(inline="always")
def _blend(spread2, explained2, inv_n, ramps):
    """:func:`_factor` with the plane, without a branch (vector lanes)."""
    clean = _ramp(spread2, inv_n, ramps[0], ramps[1], ramps[2])
    noisy = _ramp(spread2, inv_n, ramps[3], ramps[4], ramps[5])
    spread = np.sqrt(max(spread2, 0.0)) * inv_n
    rest = max(spread2 - explained2, 0.0) / max(spread2, 1e-300)
    w = (np.sqrt(rest) - ramps[6]) / (ramps[7] - ramps[6])
    w = min(max(w, 0.0), 1.0)
    w = w if spread > _NO_SPREAD else 0.0
    return clean + w * (noisy - clean)


@kernel
def limit_map_rows3(image, y0, y1, norm, radius, ramps, out):
    """:func:`limit_map_rows` for 3 channels: the same sums in the same
    order (the same map, bit for bit), written out without loops over the
    channels, and the pixels away from the left and right borders (whose
    windows are whole) in a loop of their own that vectorizes."""
    height, width = image.shape[0], image.shape[1]
    plane = _fits_plane(ramps)
    # the sums of each value, of its square and of (y - y0) times it over
    # the window's rows, in the order of the values in a row of the image
    col_sum = np.zeros(width * 3)
    col_sq = np.zeros(width * 3)
    col_ysum = np.zeros(width * 3 if plane else 0)  # no plane: not summed
    row_norm = np.empty(width * 3)
    for x in range(width):
        row_norm[3 * x], row_norm[3 * x + 1], row_norm[3 * x + 2] = (
            norm[0],
            norm[1],
            norm[2],
        )
    run = np.zeros((10, width + 1))  # sums 0-2, x-sums 3-5, y-sums 6-8, squares 9
    for yy in range(max(y0 - radius, 0), min(y0 + radius, height)):
        _add_row3(image, yy, row_norm, yy - y0, col_sum, col_sq, col_ysum, False)
    inner_lo = min(radius, width)
    inner_hi = max(width - radius - 1, inner_lo)
    for y in range(y0, y1):
        if y + radius < height:
            _add_row3(image, y + radius, row_norm, y + radius - y0, col_sum, col_sq,
                      col_ysum, False)  # fmt: skip
        if y > y0 and y - radius - 1 >= 0:
            _add_row3(image, y - radius - 1, row_norm, y - radius - 1 - y0, col_sum,
                      col_sq, col_ysum, True)  # fmt: skip
        first, stop = max(y - radius, 0), min(y + radius + 1, height)
        n_rows = stop - first
        y_mean = 0.5 * (first + stop - 1) - y0
        if not plane:
            _running_sums3(col_sum, col_sq, width, run)
        else:
            _running_sums3_plane(col_sum, col_sq, col_ysum, width, run)
        row = out[y - y0]
        for x in range(inner_lo):
            _map_pixel3(run, x, radius, width, n_rows, y_mean, ramps, plane, row)
        n_cols = 2 * radius + 1
        n = n_rows * n_cols
        inv_n = 1.0 / n
        inv_x, inv_y = _inverse_moments(n_rows, n_cols)
        if plane:
            for x in range(inner_lo, inner_hi):
                lo, hi = x - radius, x + radius + 1
                spread2, explained = _window3(run, lo, hi, n, 0.5 * (lo + hi - 1),
                                              y_mean, inv_x, inv_y)  # fmt: skip
                row[x] = _blend(spread2, n * explained, inv_n, ramps)
        else:
            for x in range(inner_lo, inner_hi):
                lo, hi = x - radius, x + radius + 1
                spread2, _ = _window3(run, lo, hi, n, 0.0, 0.0, 0.0, 0.0)
                row[x] = _ramp(spread2, inv_n, ramps[0], ramps[1], ramps[2])
        for x in range(inner_hi, width):
            _map_pixel3(run, x, radius, width, n_rows, y_mean, ramps, plane, row)


@kernel(inline="always")
def _running_sums3(col_sum, col_sq, width, run):
    """Running sums along a row of the column sums (``run`` rows 0-2) and
    of the column sums of squares (row 9) of :func:`limit_map_rows3`."""
    s0 = s1 = s2 = q = 0.0
    for x in range(width):
        s0 += col_sum[3 * x]
        s1 += col_sum[3 * x + 1]
        s2 += col_sum[3 * x + 2]
        sq = 0.0 + col_sq[3 * x]
        sq += col_sq[3 * x + 1]
        sq += col_sq[3 * x + 2]
        q += sq
        run[0, x + 1], run[1, x + 1], run[2, x + 1] = s0, s1, s2
        run[9, x + 1] = q


@kernel(inline="always")
def _running_sums3_plane(col_sum, col_sq, col_ysum, width, run):
    """:func:`_running_sums3`, then the running sums of ``x`` times the
    column sums (rows 3-5) and of the column sums of ``(y - y0)`` times the
    values (rows 6-8), for the plane (in one pass with the others: 1 %
    faster, within noise)."""
    _running_sums3(col_sum, col_sq, width, run)
    x0 = x1 = x2 = 0.0
    t0 = t1 = t2 = 0.0
    for x in range(width):
        x0 += x * col_sum[3 * x]
        x1 += x * col_sum[3 * x + 1]
        x2 += x * col_sum[3 * x + 2]
        t0 += col_ysum[3 * x]
        t1 += col_ysum[3 * x + 1]
        t2 += col_ysum[3 * x + 2]
        run[3, x + 1], run[4, x + 1], run[5, x + 1] = x0, x1, x2
        run[6, x + 1], run[7, x + 1], run[8, x + 1] = t0, t1, t2


@kernel(inline="always")
def _map_pixel3(run, x, radius, width, n_rows, y_mean, ramps, plane, row):
    """One pixel of :func:`limit_map_rows3` with its window cut at the border."""
    lo, hi = max(x - radius, 0), min(x + radius + 1, width)
    n = n_rows * (hi - lo)
    inv_x, inv_y = _inverse_moments(n_rows, hi - lo)
    spread2, explained = _window3(run, lo, hi, n, 0.5 * (lo + hi - 1), y_mean,
                                  inv_x, inv_y)  # fmt: skip
    row[x] = _factor(spread2, n * explained, 1.0 / n, ramps, plane)


@kernel(inline="always")
def _window3(run, lo, hi, n, x_mean, y_mean, inv_x, inv_y):
    """``spread2`` (see :func:`_ramp`) and the share of the summed squares
    the plane explains, over the window of columns ``lo:hi`` (``n``
    pixels), from the running sums of :func:`limit_map_rows3`, in the
    order of :func:`limit_map_rows`."""
    sum2 = 0.0
    explained = 0.0
    for c in range(3):
        a = run[c, hi] - run[c, lo]
        sum2 += a * a
        sx = (run[3 + c, hi] - run[3 + c, lo]) - x_mean * a
        sy = (run[6 + c, hi] - run[6 + c, lo]) - y_mean * a
        explained += sx * sx * inv_x + sy * sy * inv_y
    return n * (run[9, hi] - run[9, lo]) - sum2, explained


@kernel
def _add_row3(image, y, row_norm, dy, col_sum, col_sq, col_ysum, remove):
    """:func:`_add_row` for 3 channels, a row in or out (``remove``), over
    the row's values in order (``row_norm``: their factors), which
    vectorizes: ``x + (-1.0) * v`` is ``x - v`` exactly."""
    values = image[y].reshape(col_sum.shape[0])
    if col_ysum.shape[0] == 0:  # no plane
        sign = -1.0 if remove else 1.0
        for k in range(col_sum.shape[0]):
            v = np.float64(values[k]) * row_norm[k]
            col_sum[k] += sign * v
            col_sq[k] += sign * (v * v)
        return
    if remove:
        for k in range(col_sum.shape[0]):
            v = np.float64(values[k]) * row_norm[k]
            col_sum[k] -= v
            col_sq[k] -= v * v
            col_ysum[k] -= dy * v
    else:
        for k in range(col_sum.shape[0]):
            v = np.float64(values[k]) * row_norm[k]
            col_sum[k] += v
            col_sq[k] += v * v
            col_ysum[k] += dy * v


@kernel
def _add_row(image, y, norm, sign, dy, col_sum, col_sq, col_ysum):
    """Add (``sign`` 1) or remove (-1) row ``y`` (``dy`` rows below the
    band's first) to the column sums of the values, of their squares and
    of ``dy`` times them."""
    for x in range(image.shape[1]):
        for c in range(image.shape[2]):
            v = np.float64(image[y, x, c]) * norm[c]
            col_sum[x, c] += sign * v
            col_sq[x, c] += sign * v * v
            if col_ysum.shape[0] > 0:  # the plane's sums
                col_ysum[x, c] += sign * (dy * v)


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
            image, start, stop, norm, FIT_RADIUS,
            ramps(FIT_FLAT, FIT_TEXTURED, low), out[start - y0 : stop - y0],
        )  # fmt: skip
