"""The dither map of adaptive error diffusion: where the image is flat.

Compiled code only; :mod:`skquant._kernels._dither` computes the map of
each band of rows just before diffusing it, and
:mod:`skquant._kernels._diffusion` reads one factor per pixel from it.

Dither noise shows where the image is smooth at the scale of the dither
pattern and hides in texture. The map measures that scale directly: the
spread of the colour over a window of about 6 x 6 pixels around each
pixel, the square root of the sum over channels of the variance of the
values (in units of the full scale).

Blocks
------
The image is cut into blocks of 2 x 2 pixels from its top-left corner
(the last row or column of blocks is one pixel thin when the height or
width is odd), and every pixel of a block gets the factor of the block's
window: the 3 x 3 blocks around it (6 x 6 pixels), cut at the image's
border. The sums of each block (of the values, their squares, and of the
values of its second column and second row) are computed once and added
up in a fixed order, so a pixel's factor depends on the image alone, not
on the rows asked for: any band of rows gives the rows of the whole map,
bit for bit. The windows reach 3 rows above and below a pixel. Against
a window of 7 x 7 pixels centred on each pixel, which needs the sums of
each pixel's window, this costs about a sixth (``limit_map`` on a
12-megapixel photo: 0.036 s on one thread, from 0.23 s), and
the dithered photos measure the same (``benchmarks/bench_dither.py``).

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
from numba import types
from numba.extending import overload

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


def limit_map(image, y0, y1, norm, ramps, out):
    """The map of rows ``y0:y1`` of ``image`` into ``out`` (see
    :func:`limit_map_rows`), after checking what the kernel is handed."""
    ok = (
        isinstance(image, np.ndarray)
        and image.ndim == 3
        and image.flags.c_contiguous
        and isinstance(out, np.ndarray)
        and out.dtype == np.float32
        and out.ndim == 2
        and 0 <= y0 <= y1 <= image.shape[0]
        and out.shape[0] >= y1 - y0
        and out.shape[1] == image.shape[1]
        and np.shape(norm) == (image.shape[2],)
        and len(ramps) == 8
    )
    if not ok:
        raise ValueError(
            f"inconsistent dither map arguments: image {np.shape(image)}, rows "
            f"{y0}:{y1}, out {np.shape(out)} {getattr(out, 'dtype', None)}, norm "
            f"{np.shape(norm)}."
        )
    # The sums of a window of 8-bit values (of squares at most 36 * 255**2,
    # of x or y times the value at most 5 * 36 * 255) are integers below
    # 2**24, exact in float32: half the bytes to move and twice the vector
    # lanes; anything else sums in float64.
    exact32 = image.dtype == np.uint8
    accumulator = np.zeros(0, np.float32 if exact32 else np.float64)
    limit_map_rows(image, y0, y1, np.asarray(norm, np.float64), ramps, out, accumulator)


def _as_sum(x, sums):
    """``x`` in the dtype of the array ``sums``: the arithmetic of the
    sums runs in it (float32 for 8-bit images, whose sums it holds
    exactly: eight vector lanes, not four). Compiled code only."""
    raise TypeError("_as_sum is called from compiled kernels only.")


@overload(_as_sum, inline="always")
def _as_sum_typed(x, sums):
    if sums.dtype == types.float32:
        return lambda x, sums: np.float32(x)
    return lambda x, sums: np.float64(x)


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


@kernel(inline="always")
def _ramp(spread2, inv_n, flat, textured, low):
    """The factor of a window of ``n`` pixels (``inv_n``: ``1 / n``) whose
    spread is ``sqrt(spread2) / n`` (``spread2``: ``n`` times the sum of the
    squares minus the square of the sums, over the channels)."""
    t = (np.sqrt(max(spread2, 0.0)) * inv_n - flat) * (1.0 / (textured - flat))
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
    w = (np.sqrt(rest) - ramps[6]) * (1.0 / (ramps[7] - ramps[6]))
    w = min(max(w, 0.0), 1.0)
    w = w if spread > _NO_SPREAD else 0.0
    return clean + w * (noisy - clean)


@kernel
def limit_map_rows(image, y0, y1, norm, ramps, out, accumulator):
    """``out[y - y0, x]``: factor of the error limit at ``(y, x)``.

    For rows ``y0:y1`` of ``image`` (H, W, C): ``s`` is the spread of the
    colour over the window of the pixel's block (see the module's
    docstring), the values scaled by ``norm`` (one factor per channel);
    the factor is the clean ramp of ``ramps`` (see :func:`ramps`) at
    ``s``, blended towards the noisy one by how much of the spread a plane
    leaves over. The sums of blocks and windows are of the dtype of
    ``accumulator`` (an empty array; float32 only where they are exact).

    Row by row of blocks: the sums of each block (:func:`_block_sums`),
    of three rows of blocks (:func:`_columns`), then of three columns of
    those and the factor, in loops over one channel at a time whose
    blocks are independent (vector lanes).
    """
    height, width, n_channels = image.shape
    plane = _fits_plane(ramps)
    n_block_rows, n_blocks = (height + 1) // 2, (width + 1) // 2
    # the sums of three rows of blocks (row b at b % 3), and zeros for the
    # rows beyond the image
    sums = np.zeros((4, 4 * n_channels, n_blocks), accumulator.dtype)
    zeros = sums[3]
    # the sums of the rows of blocks above, at and below a row of blocks,
    # with a column of zeros on each side
    columns = np.zeros((4 * n_channels, n_blocks + 2), accumulator.dtype)
    spread2 = np.empty(n_blocks)
    explained = np.empty(n_blocks)
    factors = np.empty(n_blocks, np.float32)
    first, stop = y0 // 2, (y1 + 1) // 2
    planes = np.empty((2, n_channels, width), image.dtype)
    for b in range(max(first - 1, 0), min(first + 1, n_block_rows)):
        _block_sums(image, b, sums[b % 3], planes)
    # blocks 1 .. inner - 1 have whole windows of 6 columns (2 j + 4 <= width)
    inner = max((width - 4) // 2 + 1, 1)
    for i in range(first, stop):
        if first < i + 1 < n_block_rows:
            _block_sums(image, i + 1, sums[(i + 1) % 3], planes)
        above = sums[(i - 1) % 3] if i > 0 else zeros
        below = sums[(i + 1) % 3] if i + 1 < n_block_rows else zeros
        # (the window's rows from its first one: 2 below the row above)
        shift = 2.0 if i > 0 else 0.0
        _columns(above, sums[i % 3], below, shift, n_channels, columns)
        n_rows = min(2 * i + 4, height) - 2 * max(i - 1, 0)
        n = n_rows * 6
        inv_x, inv_y = _inverse_moments(n_rows, 6)
        spread2[:] = 0.0
        explained[:] = 0.0
        for c in range(n_channels):
            _whole_windows(columns, c, n_channels, norm[c] ** 2, n_rows, inner,
                           inv_x, inv_y, spread2, explained)  # fmt: skip
        inv_n = 1.0 / n
        for j in range(1, inner):
            factors[j] = _factor(spread2[j], n * explained[j], inv_n, ramps, plane)
        if n_blocks > 0:
            factors[0] = _cut_window(columns, 0, width, n_rows, norm, ramps, plane)
        for j in range(inner, n_blocks):
            factors[j] = _cut_window(columns, j, width, n_rows, norm, ramps, plane)
        for y in range(max(2 * i, y0), min(2 * i + 2, y1)):
            row = out[y - y0]
            for j in range(width >> 1):
                f = factors[j]
                row[2 * j] = f
                row[2 * j + 1] = f
            if width & 1:
                row[width - 1] = factors[width >> 1]


@kernel(inline="always")
def _split(row, planes):
    """``planes[c, x] = row[C x + c]``: a row of ``C`` interleaved
    channels, one row per channel (three channels written out, the loads
    of each step adjacent)."""
    n_channels, width = planes.shape
    if n_channels == 3:
        p0, p1, p2 = planes[0], planes[1], planes[2]
        for x in range(width):
            p0[x] = row[3 * x]
            p1[x] = row[3 * x + 1]
            p2[x] = row[3 * x + 2]
    else:
        for x in range(width):
            for c in range(n_channels):
                planes[c, x] = row[n_channels * x + c]


@kernel
def _block_sums(image, i, sums, planes):
    """The sums of the blocks of row ``i`` of blocks into ``sums``: per
    channel ``c``, of the values (row ``c``), of their squares (``C + c``),
    of the values of the block's second column (``2 C + c``) and of its
    second row (``3 C + c``), in the dtype of ``sums`` (see limit_map).
    The two rows are first split into one row per channel (``planes``,
    ``(2, C, W)`` of the image's dtype), then each channel is a loop over
    the blocks that vectorizes, in the dtype of ``sums`` (a stride of two
    channels' values between a block's pixels had kept the loads apart:
    this costs a third as much)."""
    height, width, n_channels = image.shape
    y = 2 * i
    two = y + 1 < height
    top = image[y].reshape(width * n_channels)
    bottom = image[y + 1 if two else y].reshape(width * n_channels)
    weight = 1.0 if two else 0.0  # (a last row of one pixel)
    pairs = width // 2
    _split(top, planes[0])
    _split(bottom, planes[1])
    w = _as_sum(weight, sums)
    for c in range(n_channels):
        s_row, q_row = sums[c], sums[n_channels + c]
        x_row, y_row = sums[2 * n_channels + c], sums[3 * n_channels + c]
        tc, bc = planes[0, c], planes[1, c]
        for j in range(pairs):
            a = _as_sum(tc[2 * j], sums)
            b = _as_sum(tc[2 * j + 1], sums)
            d = _as_sum(bc[2 * j], sums) * w
            e = _as_sum(bc[2 * j + 1], sums) * w
            s_row[j] = (a + b) + (d + e)
            q_row[j] = (a * a + b * b) + (d * d + e * e)
            x_row[j] = b + e
            y_row[j] = d + e
    if pairs < sums.shape[1]:  # a last column of one pixel
        k = 2 * n_channels * pairs
        for c in range(n_channels):
            a = np.float64(top[k + c])
            d = np.float64(bottom[k + c]) * weight
            sums[c, pairs] = a + d
            sums[n_channels + c, pairs] = a * a + d * d
            sums[2 * n_channels + c, pairs] = 0.0
            sums[3 * n_channels + c, pairs] = d


@kernel
def _columns(above, middle, below, shift, n_channels, columns):
    """``columns[:, j + 1]``: the sums of block ``j`` of three rows of
    blocks, the second-row sums turned into sums of the row within the
    window times the value (``shift``: the middle row's first row in the
    window)."""
    n_blocks = middle.shape[1]
    for q in range(3 * n_channels):
        a, m, b, out = above[q], middle[q], below[q], columns[q, 1:]
        for j in range(n_blocks):
            out[j] = a[j] + m[j] + b[j]
    first = _as_sum(shift, columns)
    second = _as_sum(shift + 2.0, columns)
    for c in range(n_channels):
        q = 3 * n_channels + c
        a, m, b, out = above[q], middle[q], below[q], columns[q, 1:]
        m_c, b_c = middle[c], below[c]
        for j in range(n_blocks):
            moved = first * m_c[j] + second * b_c[j]
            out[j] = (a[j] + m[j] + b[j]) + moved


@kernel(inline="always")
def _window(s_col, q_col, x_col, y_col, j, shift, x_mean, y_mean, n):
    """One channel of the window of block ``j``, from that channel's rows
    of :func:`_columns` (the sums of the values, of their squares, and of
    the column and the row times the value; ``shift`` as there): ``n``
    times the sum of the squares minus the square of the sum, and the sums
    of ``(x - x_mean) v`` and ``(y - y_mean) v``. The sums in their own
    dtype (exact for 8-bit images: the means are halves of integers),
    the products in float64."""
    first, second = _as_sum(shift, s_col), _as_sum(shift + 2.0, s_col)
    s = s_col[j] + s_col[j + 1] + s_col[j + 2]
    q = np.float64(q_col[j] + q_col[j + 1] + q_col[j + 2])
    x_sum = x_col[j] + x_col[j + 1] + x_col[j + 2]
    x_sum += first * s_col[j + 1] + second * s_col[j + 2]
    y_sum = y_col[j] + y_col[j + 1] + y_col[j + 2]
    sx = np.float64(x_sum - _as_sum(x_mean, s_col) * s)
    sy = np.float64(y_sum - _as_sum(y_mean, s_col) * s)
    s = np.float64(s)
    return n * q - s * s, sx, sy


@kernel
def _whole_windows(columns, c, n_channels, weight, n_rows, inner, inv_x, inv_y,
                   spread2, explained):  # fmt: skip
    """Channel ``c``'s share (``weight``: its factor squared) of the
    spread and of the plane of the blocks ``1 .. inner - 1``, whose
    windows have 6 whole columns."""
    s_col, q_col = columns[c], columns[n_channels + c]
    x_col, y_col = columns[2 * n_channels + c], columns[3 * n_channels + c]
    y_mean = 0.5 * (n_rows - 1)
    n = n_rows * 6
    for j in range(1, inner):
        s2, sx, sy = _window(s_col, q_col, x_col, y_col, j, 2.0, 2.5, y_mean, n)
        spread2[j] += weight * s2
        explained[j] += weight * (sx * sx * inv_x + sy * sy * inv_y)


@kernel
def _cut_window(columns, j, width, n_rows, norm, ramps, plane):
    """The factor of block ``j`` whose window the left or right border
    cuts (the channels in the order of :func:`_whole_windows`)."""
    n_channels = norm.shape[0]
    n_cols = min(2 * j + 4, width) - 2 * max(j - 1, 0)
    shift = 2.0 if j > 0 else 0.0
    n = n_rows * n_cols
    inv_x, inv_y = _inverse_moments(n_rows, n_cols)
    spread2 = explained = 0.0
    for c in range(n_channels):
        weight = norm[c] ** 2
        s2, sx, sy = _window(
            columns[c], columns[n_channels + c], columns[2 * n_channels + c],
            columns[3 * n_channels + c], j, shift, 0.5 * (n_cols - 1),
            0.5 * (n_rows - 1), n,
        )  # fmt: skip
        spread2 += weight * s2
        explained += weight * (sx * sx * inv_x + sy * sy * inv_y)
    return _factor(spread2, n * explained, 1.0 / n, ramps, plane)


# ---------------------------------------------------------------------------
# Palette weights of an adaptively dithered fit
# ---------------------------------------------------------------------------

#: Weights of the pixels when a palette is fitted for adaptive dithering
#: (see :func:`flat_weights`): 1 where the spread of the colour over the
#: window of the pixel's block (see the module's docstring) is at most
#: FIT_FLAT (of the full scale), FIT_TEXTURED_WEIGHT from FIT_TEXTURED,
#: linear in between.
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
    before the scaling by FIT_TEXTURED_WEIGHT) into ``out``.

    A pixel's value depends on the image alone (see the module's
    docstring): the same map on any number of threads, and for a Dask
    piece of whole rows that starts on an even row of the image (blocks
    start there) with the 3 rows above and below that the windows reach.
    Validated input only (see :func:`flat_weights`).
    """
    low = 1.0 / FIT_TEXTURED_WEIGHT
    limit_map(image, y0, y1, norm, ramps(FIT_FLAT, FIT_TEXTURED, low), out)
