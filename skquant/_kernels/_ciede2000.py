"""CIEDE2000 colour differences of sRGB pixels, compiled and threaded.

``ciede2000_sum`` is what :func:`skquant.metrics.mean_delta_e` runs on: the
sum of the CIEDE2000 differences between two sRGB pixel arrays, converted to
CIELAB (D65, 2 degree observer) inside the kernel with the package's one
conversion (:mod:`skquant._kernels._colorspace`), so no Lab copy of the
image is made. The difference follows scikit-image's ``deltaE_ciede2000``
formula for formula (kL = kC = kH = 1), in float64.

8- and 16-bit codes are decoded through a table, each thread remembers the
CIELAB of the last colours it met (a quantized image has few), and a pixel
pair equal to the previous one reuses its difference. The formula itself
takes one arc tangent instead of two and no cosine (``delta_e_fast``);
``delta_e`` is the literal transcription, kept as its reference and for
the cases where the shortcut is undefined.
"""

import math

import numpy as np

from skquant._kernels._cache import kernel
from skquant._kernels._colorspace import (
    LAB,
    linear_to_work,
    srgb_decode,
    srgb_decode_array,
)

_TWO_PI = 2.0 * math.pi
_POW25_7 = 25.0**7
_RAD30 = math.radians(30.0)
_COS30, _SIN30 = math.cos(_RAD30), math.sin(_RAD30)
_COS6, _SIN6 = math.cos(math.radians(6.0)), math.sin(math.radians(6.0))
_COS63, _SIN63 = math.cos(math.radians(63.0)), math.sin(math.radians(63.0))
#: Squared length of the sum of two unit hue vectors below which the hues
#: count as opposite (within about 1e-5 rad) and the exact branches decide.
_OPPOSITE = 1e-10
_COS119 = math.cos(math.radians(119.0))
#: Taylor coefficients of sin(x) / x in x**2: (-1)**k / (2k + 1)!
_SIN_TAYLOR = np.array([(-1) ** k / math.factorial(2 * k + 1) for k in range(10)])

# Helpers that take arrays are inlined (inline="always"): a call would
# count references to each array argument, which costs more than the
# helper's own work.

#: Pixels per task of the parallel runner, and entries of each thread's
#: CIELAB memo per image (a power of two).
CHUNK = 1 << 16
_MEMO_SIZE = 1 << 14


@kernel
def _polar(a, b):
    """Chroma and hue angle in [0, 2 pi)."""
    hue = math.atan2(b, a)
    if hue < 0.0:
        hue += _TWO_PI
    return math.hypot(a, b), hue


@kernel
def _lightness_term(l1, l2):
    """Lightness difference over its weight S_L."""
    tmp = (0.5 * (l1 + l2) - 50.0) ** 2
    return (l2 - l1) / (1.0 + 0.015 * tmp / math.sqrt(20.0 + tmp))


@kernel
def _hue_weight(cos1, sin1):
    """T of CIEDE2000 from the cosine and sine of the mean hue H: the
    cos(n H + phase) terms by multiple-angle formulas, no more trigonometry."""
    cos2, sin2 = 2.0 * cos1 * cos1 - 1.0, 2.0 * sin1 * cos1
    cos3, sin3 = cos2 * cos1 - sin2 * sin1, sin2 * cos1 + cos2 * sin1
    cos4, sin4 = 2.0 * cos2 * cos2 - 1.0, 2.0 * sin2 * cos2
    return (
        1.0
        - 0.17 * (cos1 * _COS30 + sin1 * _SIN30)
        + 0.24 * cos2
        + 0.32 * (cos3 * _COS6 - sin3 * _SIN6)
        - 0.20 * (cos4 * _COS63 + sin4 * _SIN63)
    )


@kernel
def delta_e(l1, a1, b1, l2, a2, b2):
    """CIEDE2000 between two CIELAB colours (kL = kC = kH = 1)."""
    c7 = (0.5 * (math.hypot(a1, b1) + math.hypot(a2, b2))) ** 7
    scale = 1.0 + 0.5 * (1.0 - math.sqrt(c7 / (c7 + _POW25_7)))
    c1, h1 = _polar(a1 * scale, b1)
    c2, h2 = _polar(a2 * scale, b2)

    l_term = _lightness_term(l1, l2)

    mean_c = 0.5 * (c1 + c2)
    c_term = (c2 - c1) / (1.0 + 0.045 * mean_c)

    h_diff = h2 - h1
    h_sum = h1 + h2
    cc = c1 * c2
    if cc == 0.0:
        d_hue = 0.0
        mean_h = h_sum  # doubled, then halved below
    else:
        d_hue = h_diff
        mean_h = h_sum
        if h_diff > math.pi:
            d_hue -= _TWO_PI
        elif h_diff < -math.pi:
            d_hue += _TWO_PI
        if abs(h_diff) > math.pi:
            mean_h += _TWO_PI if h_sum < _TWO_PI else -_TWO_PI
        mean_h *= 0.5
    dh_term = 2.0 * math.sqrt(cc) * math.sin(0.5 * d_hue)

    t = _hue_weight(math.cos(mean_h), math.sin(mean_h))
    h_term = dh_term / (1.0 + 0.015 * mean_c * t)

    c7 = mean_c**7
    rc = 2.0 * math.sqrt(c7 / (c7 + _POW25_7))
    dtheta = _RAD30 * math.exp(-(((math.degrees(mean_h) - 275.0) / 25.0) ** 2))
    r_term = -math.sin(2.0 * dtheta) * rc * c_term * h_term

    de2 = l_term * l_term + c_term * c_term + h_term * h_term + r_term
    return math.sqrt(max(de2, 0.0))


@kernel
def _pow7(x):
    x2 = x * x
    return x2 * x2 * x2 * x


@kernel
def delta_e_fast(l1, a1, b1, l2, a2, b2):
    """:func:`delta_e` with one arc tangent instead of two and no cosines.

    The mean hue of CIEDE2000 is the bisector of the smaller arc between the
    two hues, so its cosine and sine are those of the sum of the two unit
    hue vectors, and the half hue difference comes from their cross and dot
    products. Greys (no hue) and (nearly) opposite hues, where the bisector
    is undefined, take :func:`delta_e`'s branches.
    """
    c7 = _pow7(0.5 * (math.sqrt(a1 * a1 + b1 * b1) + math.sqrt(a2 * a2 + b2 * b2)))
    scale = 1.0 + 0.5 * (1.0 - math.sqrt(c7 / (c7 + _POW25_7)))
    x1 = a1 * scale
    x2 = a2 * scale
    c1 = math.sqrt(x1 * x1 + b1 * b1)
    c2 = math.sqrt(x2 * x2 + b2 * b2)
    if c1 == 0.0 or c2 == 0.0:
        return delta_e(l1, a1, b1, l2, a2, b2)
    inv1, inv2 = 1.0 / c1, 1.0 / c2
    u1x, u1y = x1 * inv1, b1 * inv1
    u2x, u2y = x2 * inv2, b2 * inv2
    sum_x, sum_y = u1x + u2x, u1y + u2y
    norm2 = sum_x * sum_x + sum_y * sum_y
    if norm2 < _OPPOSITE:
        return delta_e(l1, a1, b1, l2, a2, b2)
    inv_norm = 1.0 / math.sqrt(norm2)
    cos1, sin1 = sum_x * inv_norm, sum_y * inv_norm
    cross = u1x * u2y - u1y * u2x  # sin of the hue difference
    dot = u1x * u2x + u1y * u2y  # its cosine
    if dot >= 0.0:
        sin_half = cross / math.sqrt(2.0 * (1.0 + dot))
    else:
        sin_half = math.copysign(math.sqrt(0.5 * (1.0 - dot)), cross)
    dh_term = 2.0 * math.sqrt(c1 * c2) * sin_half

    l_term = _lightness_term(l1, l2)
    mean_c = 0.5 * (c1 + c2)
    c_term = (c2 - c1) / (1.0 + 0.045 * mean_c)

    h_term = dh_term / (1.0 + 0.015 * mean_c * _hue_weight(cos1, sin1))

    de2 = l_term * l_term + c_term * c_term + h_term * h_term
    # hue rotation: exp(-((H - 275 deg) / 25 deg)**2) is below 1e-17 for a
    # mean hue under 119 deg (no wrap: H runs over [0, 360) deg), which
    # leaves de2 unchanged in float64
    if sin1 < 0.0 or cos1 <= _COS119:
        mean_h = math.atan2(sin1, cos1)
        if mean_h < 0.0:
            mean_h += _TWO_PI
        c7 = _pow7(mean_c)
        rc = 2.0 * math.sqrt(c7 / (c7 + _POW25_7))
        x = (math.degrees(mean_h) - 275.0) / 25.0
        de2 -= _sin_small(2.0 * _RAD30 * math.exp(-x * x)) * rc * c_term * h_term
    return math.sqrt(max(de2, 0.0))


@kernel
def _sin_small(x):
    """sin(x) for 0 <= x <= pi / 3, to float64 rounding (Taylor to x**19)."""
    x2 = x * x
    total = _SIN_TAYLOR[-1]
    for k in range(_SIN_TAYLOR.shape[0] - 2, -1, -1):
        total = total * x2 + _SIN_TAYLOR[k]
    return total * x


@kernel(inline="always")
def _pixel_lab(pixels, i, table, inv_scale):
    """CIELAB of row ``i`` of sRGB ``pixels``: codes decoded by ``table``,
    or (empty table) floats of full scale ``1 / inv_scale``."""
    if table.shape[0] > 0:
        red = table[np.int64(pixels[i, 0])]
        green = table[np.int64(pixels[i, 1])]
        blue = table[np.int64(pixels[i, 2])]
    else:
        red = srgb_decode(pixels[i, 0] * inv_scale)
        green = srgb_decode(pixels[i, 1] * inv_scale)
        blue = srgb_decode(pixels[i, 2] * inv_scale)
    return linear_to_work(red, green, blue, LAB)


@kernel(inline="always")
def _cached_lab(pixels, keys, i, table, inv_scale, memo, labs):
    """:func:`_pixel_lab`, remembered by the pixel's ``keys`` (its 3 codes or
    the bits of its 3 floats) in ``memo``/``labs``."""
    k0, k1, k2 = np.int64(keys[i, 0]), np.int64(keys[i, 1]), np.int64(keys[i, 2])
    mixed = (k0 * 0x9E3779B1) ^ (k1 * 0x85EBCA77) ^ (k2 * 0xC2B2AE3D)
    slot = (mixed ^ (mixed >> 29)) & (memo.shape[0] - 1)
    if memo[slot, 0] != k0 or memo[slot, 1] != k1 or memo[slot, 2] != k2:
        memo[slot, 0], memo[slot, 1], memo[slot, 2] = k0, k1, k2
        labs[slot, 0], labs[slot, 1], labs[slot, 2] = _pixel_lab(
            pixels, i, table, inv_scale
        )
    return labs[slot, 0], labs[slot, 1], labs[slot, 2]


@kernel(inline="always")
def _same_row(keys, i, j):
    return (
        keys[i, 0] == keys[j, 0]
        and keys[i, 1] == keys[j, 1]
        and (keys[i, 2] == keys[j, 2])
    )


@kernel
def _sum_rows(pixels, keys, keep, table, inv_scale, memo, labs, start, stop):
    """Sum and count of the differences over rows ``[start, stop)``.

    ``pixels[0]``/``pixels[1]`` are the reference and test rows, ``keys``
    what identifies their colours (the rows themselves for codes, their
    bits for floats). ``memo[j]``/``labs[j]`` remember the CIELAB of recent
    colours of each image (a quantized image has few); a pixel pair equal
    to the previous one reuses its difference.
    """
    true, test = pixels
    true_keys, test_keys = keys
    memo_true, memo_test, labs_true, labs_test = memo[0], memo[1], labs[0], labs[1]
    total = 0.0
    count = 0
    use_keep = keep.shape[0] > 0
    last = -1
    value = 0.0
    for i in range(start, stop):
        if use_keep and not keep[i]:
            continue
        same = last >= 0 and _same_row(true_keys, i, last)
        if not (same and _same_row(test_keys, i, last)):
            l1, a1, b1 = _cached_lab(
                true, true_keys, i, table, inv_scale, memo_true, labs_true
            )
            l2, a2, b2 = _cached_lab(
                test, test_keys, i, table, inv_scale, memo_test, labs_test
            )
            value = delta_e_fast(l1, a1, b1, l2, a2, b2)
        last = i
        total += value
        count += 1
    return total, count


def ciede2000_sum(true, test, *, scale, keep=None):
    """Sum of the CIEDE2000 differences of two sRGB pixel arrays.

    Parameters
    ----------
    true, test : ndarray of shape (n_pixels, n_channels)
        sRGB pixels, ``n_channels >= 3`` (only the first 3 are read), the
        same shape; any real dtype.
    scale : float
        Full-scale value: pixels are divided by it to give sRGB in [0, 1].
    keep : ndarray of bool of shape (n_pixels,), default=None
        Pixels to count; ``None`` counts every pixel.

    Returns
    -------
    total : float
        Sum of the differences over the kept pixels.
    count : int
        Number of pixels kept.
    """
    from skquant._kernels import kernel_threads, run_parallel

    true, test = np.asarray(true), np.asarray(test)
    if true.ndim != 2 or true.shape != test.shape or true.shape[1] < 3:
        raise ValueError(
            "ciede2000_sum needs two pixel arrays (n_pixels, >= 3) of one shape, "
            f"got {true.shape} and {test.shape}."
        )
    if keep is None:
        keep = np.zeros(0, dtype=np.bool_)
    else:
        keep = np.ascontiguousarray(keep, dtype=np.bool_)
        if keep.shape != (true.shape[0],):
            raise ValueError(
                f"keep must have shape ({true.shape[0]},), got {keep.shape}."
            )
    scale = float(scale)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}.")
    n_pixels = true.shape[0]
    codes = true.dtype == test.dtype and true.dtype in (np.uint8, np.uint16)
    if codes:  # the kernel reads the first 3 channels of contiguous rows
        true = np.ascontiguousarray(true)
        test = np.ascontiguousarray(test)
        codes_range = np.arange(np.iinfo(true.dtype).max + 1, dtype=np.float64)
        table = srgb_decode_array(codes_range / scale)
    else:
        table = np.zeros(0)
    n_threads = kernel_threads(n_pixels)
    n_chunks = max(1, -(-n_pixels // CHUNK))
    totals = np.zeros(n_chunks)
    counts = np.zeros(n_chunks, dtype=np.int64)
    memos = [
        (np.full((2, _MEMO_SIZE, 3), -1, dtype=np.int64), np.zeros((2, _MEMO_SIZE, 3)))
        for _ in range(max(1, n_threads))
    ]

    def task(worker, start, stop):
        memo, labs = memos[worker]
        for begin in range(start, stop, CHUNK):
            end = min(stop, begin + CHUNK)
            if codes:
                pixels, first, last = (true, test), begin, end
                keys = pixels
                part = keep
            else:  # float64 rows of this chunk, identified by their bits
                pixels = (
                    np.ascontiguousarray(true[begin:end, :3], dtype=np.float64),
                    np.ascontiguousarray(test[begin:end, :3], dtype=np.float64),
                )
                keys = (pixels[0].view(np.int64), pixels[1].view(np.int64))
                first, last = 0, end - begin
                part = keep[begin:end] if keep.shape[0] else keep
            result = _sum_rows(
                pixels, keys, part, table, 1.0 / scale, memo, labs, first, last
            )
            totals[begin // CHUNK], counts[begin // CHUNK] = result

    run_parallel(task, n_pixels, n_threads, chunk=CHUNK)
    # chunk by chunk in a fixed order: the same sum whatever the threads did
    return float(np.sum(totals)), int(np.sum(counts))
