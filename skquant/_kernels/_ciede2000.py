"""CIEDE2000 colour differences of sRGB pixels, compiled, vectorized, threaded.

``ciede2000_sum`` is what :func:`skquant.metrics.mean_delta_e` runs on: the
sum of the CIEDE2000 differences between two sRGB pixel arrays, converted to
CIELAB (D65, 2 degree observer) chunk by chunk (:data:`CHUNK` pixels, so no
Lab copy of the image is made) with the constants of the package's one
conversion (:mod:`skquant._kernels._colorspace`). The difference follows
scikit-image's ``deltaE_ciede2000`` (kL = kC = kH = 1) in float64, to about
1e-12.

Small kernels, each a few loops that the compiler turns into SIMD code with
no call to a transcendental function: the conversions to CIELAB of
:mod:`skquant._kernels._lab_chunks` (``_codes_lab``: 8- and 16-bit codes,
decoded by a table, after the memo below; ``_lab_floats``: floats, the sRGB
curve by fifth roots), then :func:`_delta_e_lab` and :func:`_chunk_total`.
Python chains them per chunk: a kernel that called the others would have
numba optimize their code again inside it (a cold first call took 9 s of
CPU; now 2.4 s for uint8 images, 1.3 s more for floats). Both images' pixels
of a chunk are converted in one row (``lab[:, :m]``, then
``lab[:, m:2 m]``): one inlined conversion, not one per image in a loop,
which the compiler vectorized a third slower. The CIEDE2000 of a pair (:func:`_lane`)
takes no arc tangent, no cosine and no exponential in libm: the mean hue's
cosine and sine come from the sum of the two unit hue vectors, the hue
difference from their chord, T by multiple-angle formulas, and the hue
rotation term from a short series (:func:`_atan_small`, :func:`_exp_neg`,
:func:`_sin_small`); greys (no hue) zero the hue terms. (Nearly) opposite
hues, where the mean hue is undefined, take :func:`delta_e`, the literal
transcription of the formula, kept as the reference. Values beyond float32
(a tiny ``scale``) are converted by NumPy
(:func:`skquant._color.rgb_to_lab`).

8-bit pairs go through a memo per thread first
(:class:`skquant._kernels._pair_memo.PairMemo`): only the pairs it has
not met are converted and compared, in the same kernels, so the sum does
not change (a chunk's sum is taken by :func:`_chunk_total` whether the
memo ran or not). Float pairs go through a memo of their own, keyed by
their values' bits, read as float64 rows (a float32 chunk is widened
into the thread's buffers first): the pairs it has not met are gathered
and converted by ``_lab_floats_known``, which looks the sRGB curve
of each value up in a second memo (a quantized float image holds few
values a channel) and decodes only the values it has not met, by
``_decode_floats``: the same values as ``_lab_floats``, bit for
bit, at less than half its cost on a quantized photo (the fifth roots
were most of it).
"""

import math

import numpy as np

from skquant import _color
from skquant._kernels import _pair_memo
from skquant._kernels._cache import kernel
from skquant._kernels._lab_chunks import (
    _CURVE_BITS,
    _CURVE_PAUSE,
    _codes_lab,
    _lab_floats,
    _lab_floats_known,
)
from skquant._kernels._pair_memo import (
    PairMemo,
    float_memo_probe,
    float_memo_store,
    memo_store,
)

_TWO_PI = 2.0 * math.pi
_POW25_7 = 25.0**7
_RAD30 = math.radians(30.0)
_COS30, _SIN30 = math.cos(_RAD30), math.sin(_RAD30)
_COS6, _SIN6 = math.cos(math.radians(6.0)), math.sin(math.radians(6.0))
_COS63, _SIN63 = math.cos(math.radians(63.0)), math.sin(math.radians(63.0))
#: Squared length of the sum of two unit hue vectors below which the hues
#: count as opposite (within about 1e-5 rad) and :func:`delta_e` decides.
_OPPOSITE = 1e-10
#: The hue rotation term is below 1e-17 for a mean hue under 119 degrees.
_COS119 = math.cos(math.radians(119.0))
_COS275, _SIN275 = math.cos(math.radians(275.0)), math.sin(math.radians(275.0))
_PER_25_DEGREES = 1.0 / math.radians(25.0)
_TAN_PI_8 = math.tan(math.pi / 8)
_QUARTER_PI = math.pi / 4


#: Pixels per task of the parallel runner: the kernels' arrays of a chunk
#: (CIELAB of both images, differences, guesses: 68 bytes a pixel) stay in a
#: core's cache.
CHUNK = 1 << 14

#: Kernels of whole chunks; "numpy" errors: a division by zero gives inf
#: or nan (lanes that :func:`delta_e` redoes) instead of a branch.
_block_kernel = kernel(error_model="numpy")
#: The same with products and sums fused (FMA: 16% faster, rounded once
#: instead of twice), for the differences only: in the CIELAB conversion
#: fused rounding would give greys a chroma of 1e-15 instead of 0, and the
#: formula is discontinuous at zero chroma (scikit-image's greys have none).
_fused_kernel = kernel(error_model="numpy", fastmath={"contract"})
#: Helpers of the SIMD loops, inlined into them.
_inline = kernel(inline="always", error_model="numpy")


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


@_inline
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


#: atan(t) / t as a polynomial in t * t for abs(t) <= tan(pi / 8): a
#: Chebyshev fit of degree 9 (error below 1e-15; the Taylor series needs
#: degree 14).
_ATAN_FIT = (
    0.999999999999999,
    -0.3333333333322821,
    0.1999999997918535,
    -0.14285712701875805,
    0.11111049920801055,
    -0.09089546207646276,
    0.07673682461351493,
    -0.0650676323566778,
    0.05027002948401849,
    -0.025343338907591238,
)


@_inline
def _atan_small(t):
    """atan(t) for abs(t) <= tan(pi / 8) (error below 1e-15)."""
    t2 = t * t
    p = _ATAN_FIT[9]
    for k in range(8, -1, -1):  # unrolled by the compiler
        p = p * t2 + _ATAN_FIT[k]
    return p * t


@_inline
def _exp_neg(y):
    """exp(-y) for 0 <= y <= 52: exp(-y / 64) to x**9, squared 6 times (error
    below 1e-17 times exp(-y) up to y = 6, below 1e-17 beyond)."""
    r = -y * (1.0 / 64.0)
    p = 1.0
    for k in range(9, 0, -1):  # unrolled by the compiler
        p = 1.0 + p * r * (1.0 / k)
    for _ in range(6):
        p = p * p
    return p


@_inline
def _sin_small(x):
    """sin(x) for 0 <= x <= pi / 3 (Taylor to x**17: error below 1e-16)."""
    x2 = x * x
    p = 1.0
    for k in range(17, 1, -2):  # unrolled by the compiler
        p = 1.0 - p * x2 * (1.0 / (k * (k - 1)))
    return p * x


@_inline
def _pow7(x):
    x2 = x * x
    return x2 * x2 * x2 * x


@_inline
def _lane(l1, a1, b1, l2, a2, b2):
    """CIEDE2000 of one pair in SIMD form (10 square roots, 3 divisions), or
    -1 where :func:`delta_e` must decide ((nearly) opposite hues)."""
    c7 = _pow7(0.5 * (math.sqrt(a1 * a1 + b1 * b1) + math.sqrt(a2 * a2 + b2 * b2)))
    scale = 1.5 - 0.5 * math.sqrt(c7 / (c7 + _POW25_7))
    x1 = a1 * scale
    x2 = a2 * scale
    c1 = math.sqrt(x1 * x1 + b1 * b1)
    c2 = math.sqrt(x2 * x2 + b2 * b2)
    cc = c1 * c2
    # c1 c2 times the sum and the difference of the unit hue vectors: the
    # sum points at the mean hue H (the bisector of the smaller arc), the
    # difference (the chord) is 2 sin(dh / 2) long. A grey (cc = 0) has
    # neither: all of them are 0, and so are the hue terms
    sum_x, sum_y = x1 * c2 + x2 * c1, b1 * c2 + b2 * c1
    chord_x, chord_y = x2 * c1 - x1 * c2, b2 * c1 - b1 * c2
    sum2 = sum_x * sum_x + sum_y * sum_y
    sum_norm = math.sqrt(sum2)
    hue_den = sum_norm * cc
    inv = 1.0 / (hue_den if hue_den > 0.0 else 1.0)
    cos_h, sin_h = sum_x * cc * inv, sum_y * cc * inv
    chord2 = (chord_x * chord_x + chord_y * chord_y) * sum_norm * inv  # / cc

    tmp = 0.5 * (l1 + l2) - 50.0
    tmp = tmp * tmp
    root = math.sqrt(20.0 + tmp)
    s_l = root + 0.015 * tmp  # S_L times root
    c_mean = 0.5 * (c1 + c2)
    s_c = 1.0 + 0.045 * c_mean
    s_h = 1.0 + 0.015 * c_mean * _hue_weight(cos_h, sin_h)
    weights = s_l * s_c * s_h
    # hue rotation, for H in [119, 360) degrees: the angle H - 275 degrees
    # (only its size counts) as an arc tangent of a ratio in [0, tan(pi/8)]
    rot_c = _COS275 * cos_h + _SIN275 * sin_h
    rot_s = _COS275 * sin_h - _SIN275 * cos_h
    near, far = min(abs(rot_c), abs(rot_s)), max(abs(rot_c), abs(rot_s))
    beyond = near > _TAN_PI_8 * far  # atan = pi/4 + atan((n - f) / (n + f))
    ratio_num = near - far if beyond else near
    ratio_den = max(near + far if beyond else far, 1e-200)
    c7 = _pow7(c_mean)
    c7_den = c7 + _POW25_7
    # one division for the three weighted terms, the ratio and R_C
    inv = 1.0 / (weights * c7_den * ratio_den)
    per_weights = c7_den * ratio_den * inv
    l_term = (l2 - l1) * root * s_c * s_h * per_weights
    c_term = (c2 - c1) * s_l * s_h * per_weights
    h_weight = s_l * s_c * per_weights
    de2 = l_term * l_term + c_term * c_term + chord2 * h_weight * h_weight
    angle = _atan_small(ratio_num * weights * c7_den * inv)
    angle += _QUARTER_PI if beyond else 0.0
    angle = 0.5 * math.pi - angle if abs(rot_s) > abs(rot_c) else angle
    angle = math.pi - angle if rot_c < 0.0 else angle
    x = angle * _PER_25_DEGREES
    # R_C times the signed hue term: one square root for both
    rc_dh = 2.0 * h_weight * math.sqrt(c7 * weights * ratio_den * inv * chord2)
    rc_dh = math.copysign(rc_dh, x1 * b2 - b1 * x2)
    rotation = _sin_small(2.0 * _RAD30 * _exp_neg(x * x)) * c_term * rc_dh
    if sin_h < 0.0 or cos_h <= _COS119:
        de2 -= rotation
    value = math.sqrt(max(de2, 0.0))
    if sum2 < _OPPOSITE * cc * cc and cc > 0.0:
        value = -1.0
    return value


@_fused_kernel
def _delta_e_lab(lab, n, out):
    """CIEDE2000 of the first ``n`` pairs of CIELAB ``lab[:, j]``, ``lab[:, n
    + j]`` (``lab`` of shape ``(3, >= 2 n)``) into ``out[:n]``: SIMD lanes,
    then :func:`delta_e` where they cannot decide."""
    for j in range(n):
        out[j] = _lane(
            lab[0, j], lab[1, j], lab[2, j], lab[0, n + j], lab[1, n + j], lab[2, n + j]
        )
    for j in range(n):
        if out[j] < 0.0:
            out[j] = delta_e(
                lab[0, j],
                lab[1, j],
                lab[2, j],
                lab[0, n + j],
                lab[1, n + j],
                lab[2, n + j],
            )


@_block_kernel
def _chunk_total(
    use_memo, memo, memo_values, keys, slots, rows, values, m, out, n, keep, begin
):
    """Sum of the differences of a chunk of ``n`` rows: ``out`` as
    :func:`_codes_lab` left it, the ``m`` computed ones in ``values``
    (stored in the memo with ``use_memo``: :func:`memo_store`); only rows
    ``begin + j`` that ``keep`` keeps if it is not empty. Returns the sum
    and the number of rows kept; four running sums, in a fixed order."""
    if use_memo:
        memo_store(memo, memo_values, keys, slots, rows, values, m)
    for j in range(n):
        value = out[j]
        out[j] = value if value >= 0.0 else values[np.intp(-1.0 - value)]
    count = n
    if keep.shape[0]:
        count = 0
        for j in range(n):
            kept = keep[begin + j]
            out[j] = out[j] if kept else 0.0
            count += np.intp(kept)
    sum0 = sum1 = sum2 = sum3 = 0.0
    for j in range(0, n - 3, 4):
        sum0 += out[j]
        sum1 += out[j + 1]
        sum2 += out[j + 2]
        sum3 += out[j + 3]
    tail = n - n % 4
    sum0 += out[tail] if tail < n else 0.0
    sum1 += out[tail + 1] if tail + 1 < n else 0.0
    sum2 += out[tail + 2] if tail + 2 < n else 0.0
    return (sum0 + sum1) + (sum2 + sum3), count


class _Scratch:
    """Arrays of one thread for chunks of up to ``size`` pixels: the CIELAB
    of both images, the differences, the float32 roots' guesses, the keys
    and rows of the memo's chunks; with ``memo``, the thread's
    :class:`PairMemo` (else None). ``floats``: for float rows, whose
    memo's entries take 64 bytes (1 MiB), with its buffers: both images'
    rows as float64 (24 bytes a pixel each), the rows to convert (48), and
    the memo of the sRGB curve (128 KiB) with its values to decode, their
    linear light and their places (48 bytes a pixel each): 5 MiB more a
    thread for chunks of :data:`CHUNK`."""

    def __init__(self, size, memo=False, floats=False):
        rows = size if memo and floats else 0
        self.true64 = np.empty((rows, 3))
        self.test64 = np.empty((rows, 3))
        self.pixels = np.empty((2 * rows, 3))
        self.lab = np.empty((3, 2 * size))
        #: -1 - j: "row j's difference is values[j]" (:func:`_chunk_total`)
        self.indices = -np.arange(1.0, size + 1.0 if floats else 1.0)
        self.out = np.empty(size)
        self.values = np.empty(size)
        self.rows = np.empty(size + 1, np.intp)
        self.keys = np.empty(size if memo and not floats else 0, np.int64)
        self.slots = np.empty(size if memo else 0, np.int32)
        self.t32 = np.empty((3, 2 * size), np.float32)
        self.y32 = np.empty((3, 2 * size), np.float32)
        self.roots = (
            self.t32,
            self.y32,
            self.t32.view(np.int32),
            self.y32.view(np.int32),
        )
        self.memo = PairMemo(floats) if memo else None
        # the float memo's memo of the sRGB curve, its values to decode (3 a
        # row) and where they go: 128 KiB, then 48 + 48 + 48 bytes a pixel
        curve = 1 << _CURVE_BITS if rows else 0
        self.curve_shift = np.uint32(32 - _CURVE_BITS)
        self.known = np.full(curve, -1, np.int64)  # a NaN's bits: NaN's curve
        self.curve = np.full(curve, np.nan)
        self.todo = np.empty((2 * rows, 3))
        self.lin = np.empty((3, 2 * rows))
        self.where = np.empty(6 * rows, np.intp)
        self.curve_pause = self.curve_strikes = 0
        self.curve_values = self.curve_hits = 0  # for stats


def delta_e_rows(lab1, lab2):
    """CIEDE2000 of each pair of CIELAB rows ``(n, 3)`` (kL = kC = kH = 1).

    Equals :func:`skimage.color.deltaE_ciede2000` to about 1e-12.
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    if lab1.ndim != 2 or lab1.shape != lab2.shape or lab1.shape[1] != 3:
        raise ValueError(
            "delta_e_rows needs two CIELAB arrays (n, 3) of one shape, "
            f"got {lab1.shape} and {lab2.shape}."
        )
    out = np.empty(lab1.shape[0])
    lab = np.concatenate([lab1.T, lab2.T], axis=1)
    _delta_e_lab(lab, out.shape[0], out)
    return out


def _chunk_lab(true, test, begin, end, inv_scale, lab, roots):
    """CIELAB of float rows ``[begin, end)`` of ``true`` and then ``test``
    into ``lab[:, :2 (end - begin)]`` as float64 (one conversion);
    NumPy's beyond float32."""
    rows = np.concatenate([true[begin:end, :3], test[begin:end, :3]])
    if not _lab_floats(rows.astype(np.float64, copy=False), inv_scale, lab, *roots):
        _numpy_lab(true, test, begin, end, inv_scale, lab)


def _float64_rows(pixels, begin, end, buffer):
    """Rows ``[begin, end)`` of ``pixels`` (first 3 channels) as contiguous
    float64: a view where they are, else widened into ``buffer``."""
    rows = pixels[begin:end, :3]
    if rows.dtype == np.float64 and rows.flags.c_contiguous:
        return rows
    buffer = buffer[: end - begin]
    buffer[...] = rows
    return buffer


def _numpy_lab(true, test, begin, end, inv_scale, lab):
    """CIELAB of rows ``[begin, end)`` of ``true`` and then ``test`` by
    NumPy: absurd ranges (a tiny scale), where the SIMD guesses of the
    roots do not hold."""
    rows = np.concatenate([true[begin:end, :3], test[begin:end, :3]])
    lab[:, : rows.shape[0]] = _color.rgb_to_lab(rows.astype(np.float64) * inv_scale).T


def ciede2000_sum(true, test, *, scale, keep=None, stats=None):
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
    stats : dict, default=None
        If given, receives ``"memo_pixels"``, the pixels that went through
        the memo of 8-bit or float pairs, and ``"memo_hits"``, those of them
        whose difference was not computed; for floats, ``"curve_values"``,
        the values that went through the memo of the sRGB curve, and
        ``"curve_hits"``, those of them not decoded (for benchmarks and
        tests).

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
    if keep is not None:
        keep = np.ascontiguousarray(keep, dtype=np.bool_)
        if keep.shape != (true.shape[0],):
            raise ValueError(
                f"keep must have shape ({true.shape[0]},), got {keep.shape}."
            )
    scale = float(scale)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}.")
    n_pixels = true.shape[0]
    inv_scale = 1.0 / scale
    table = None
    if true.dtype == test.dtype and true.dtype in (np.uint8, np.uint16):
        # the kernel reads the first 3 channels of contiguous rows
        true = np.ascontiguousarray(true)
        test = np.ascontiguousarray(test)
        codes = np.arange(np.iinfo(true.dtype).max + 1, dtype=np.float64)
        rows = np.repeat(codes * inv_scale, 3).reshape(-1, 3)
        table = np.ascontiguousarray(_color.srgb_to_linear(rows)[:, 0])
    chunk = CHUNK
    n_threads = kernel_threads(n_pixels)
    n_chunks = max(1, -(-n_pixels // chunk))
    totals = np.zeros(n_chunks)
    counts = np.zeros(n_chunks, dtype=np.int64)
    scratch = {}
    # 8-bit pairs repeat (flat areas, few test colours): a memo per thread,
    # for tables in float32's range (a tiny scale: no SIMD guesses)
    memo = (
        table is not None
        and table.shape[0] == 256
        and n_pixels >= chunk
        and float(np.max(table)) < 1e20
    )
    # float pairs repeat as much, and cost more to convert: a memo of their
    # own, keyed by the bits of their values as float64
    floats = true.dtype.kind == "f" and test.dtype.kind == "f"
    memo = memo or (floats and n_pixels >= chunk)
    if table is not None:  # flat codes, 3 a pixel
        if true.shape[1] != 3:
            true = np.ascontiguousarray(true[:, :3])
            test = np.ascontiguousarray(test[:, :3])
        flat_true, flat_test = true.reshape(-1), test.reshape(-1)
    no_keep = np.zeros(0, np.bool_)
    no_memo = np.zeros(2, np.int64)

    def codes_chunk(mine, begin, end):
        """Sum and count of the code rows ``[begin, end)``."""
        thread_memo = mine.memo
        use = memo and thread_memo.ready()
        table_memo = thread_memo.memo if use else no_memo
        memo_values = table_memo.view(np.float64)
        shift = thread_memo.shift if use else np.uint32(0)
        m = _codes_lab(
            flat_true,
            flat_test,
            begin,
            end,
            table,
            use,
            table_memo,
            memo_values,
            shift,
            mine.keys,
            mine.slots,
            mine.out,
            mine.rows,
            mine.lab,
            *mine.roots,
        )
        if m < 0:  # absurd ranges (a tiny scale): NumPy's conversion
            m = end - begin
            _numpy_lab(true, test, begin, end, inv_scale, mine.lab)
        _delta_e_lab(mine.lab, m, mine.values)
        if use:
            thread_memo.count(end - begin, m)
        return _chunk_total(
            use,
            table_memo,
            memo_values,
            mine.keys,
            mine.slots,
            mine.rows,
            mine.values,
            m,
            mine.out,
            end - begin,
            no_keep if keep is None else keep,
            begin,
        )

    def floats_chunk(mine, begin, end):
        """Sum and count of the float rows ``[begin, end)``."""
        if memo and mine.memo.ready():
            return memo_chunk(mine, begin, end)
        n = end - begin
        if memo:  # the memo of the sRGB curve still serves
            rows = np.concatenate([true[begin:end, :3], test[begin:end, :3]])
            convert(mine, rows.astype(np.float64, copy=False))
        else:
            _chunk_lab(true, test, begin, end, inv_scale, mine.lab, mine.roots)
        _delta_e_lab(mine.lab, n, mine.values)
        mine.out[:n] = mine.indices[:n]  # every row its own difference
        return total(mine, n, n, begin)

    def memo_chunk(mine, begin, end):
        """Sum and count of the float rows ``[begin, end)``, through the
        thread's memo."""
        n = end - begin
        true64 = _float64_rows(true, begin, end, mine.true64)
        test64 = _float64_rows(test, begin, end, mine.test64)
        true_bits, test_bits = true64.view(np.int64), test64.view(np.int64)
        thread_memo = mine.memo
        table_memo, memo_values = thread_memo.memo, thread_memo.memo_values
        m = float_memo_probe(
            true64,
            test64,
            true_bits,
            test_bits,
            table_memo,
            memo_values,
            thread_memo.shift,
            mine.slots,
            mine.out,
            mine.rows,
            mine.pixels,
        )
        convert(mine, mine.pixels[: 2 * m])
        _delta_e_lab(mine.lab, m, mine.values)
        thread_memo.count(n, m)
        float_memo_store(
            true_bits,
            test_bits,
            table_memo,
            memo_values,
            mine.slots,
            mine.rows,
            mine.values,
            m,
        )
        return total(mine, m, n, begin)

    def convert(mine, pixels):
        """CIELAB of float64 rows ``pixels`` into ``mine.lab``, through the
        thread's memo of the sRGB curve unless it is paused."""
        if mine.curve_pause:
            mine.curve_pause -= 1
            new = 0 if _lab_floats(pixels, inv_scale, mine.lab, *mine.roots) else -1
        else:
            new = _lab_floats_known(
                pixels,
                pixels.view(np.int64),
                inv_scale,
                mine.lab,
                *mine.roots,
                mine.known,
                mine.curve,
                mine.curve_shift,
                mine.todo,
                mine.lin,
                mine.where,
            )
            mine.curve_values += pixels.size
            mine.curve_hits += pixels.size - max(new, 0)
            few = new > (1.0 - _pair_memo.MEMO_MIN_HITS) * pixels.size
            mine.curve_strikes = mine.curve_strikes + 1 if few else 0
            mine.curve_pause = _CURVE_PAUSE if mine.curve_strikes > 1 else 0
        if new < 0:  # absurd ranges (a tiny scale): NumPy's conversion
            mine.lab[:, : pixels.shape[0]] = _color.rgb_to_lab(pixels * inv_scale).T

    def total(mine, m, n, begin):
        """Sum and count of a chunk of float rows (:func:`_chunk_total`: the
        same sum whether the memo ran or not)."""
        return _chunk_total(
            False,
            no_memo,
            no_memo.view(np.float64),
            mine.keys,
            mine.slots,
            mine.rows,
            mine.values,
            m,
            mine.out,
            n,
            no_keep if keep is None else keep,
            begin,
        )

    def task(worker, start, stop):
        if worker not in scratch:
            scratch[worker] = _Scratch(min(chunk, n_pixels), memo, table is None)
        mine = scratch[worker]
        run = codes_chunk if table is not None else floats_chunk
        for begin in range(start, stop, chunk):
            end = min(stop, begin + chunk)
            totals[begin // chunk], counts[begin // chunk] = run(mine, begin, end)

    run_parallel(task, n_pixels, n_threads, chunk=chunk)
    if stats is not None:
        memos = [mine.memo for mine in scratch.values() if mine.memo is not None]
        stats["memo_pixels"] = sum(memo.pixels for memo in memos)
        stats["memo_hits"] = sum(memo.hits for memo in memos)
        stats["curve_values"] = sum(mine.curve_values for mine in scratch.values())
        stats["curve_hits"] = sum(mine.curve_hits for mine in scratch.values())
    # chunk by chunk in a fixed order: the same sum whatever the threads did
    return float(np.sum(totals)), int(np.sum(counts))
