"""Linear light -> working space by tables, for Floyd-Steinberg's pixel loop.

Each pixel of error diffusion waits for the conversion of the previous one
(its error depends on the colour chosen), and the powers, cube roots and
logarithms of :mod:`skquant._kernels._colorspace` are most of that wait.
Here each of those functions is a piecewise cubic on a fixed range: the
segment is found from the argument, four coefficients and a few products
give its value (``(c0 u + c1) u^2 + (c2 u + c3)``: its two halves at
once), a few times faster. The sRGB encoding and the cube root bend most
near 0, so their segments are octave-spaced (64 equal ones per octave,
read off the float's exponent and leading mantissa bits: one table and no
product to find the row); DIN99o's lightness and chroma factor are smooth
and have equal segments. Outside its range (and on the linear segments of
sRGB and CIELAB) a function falls back to the exact code, so any input is
converted.

Tolerance
---------
The cubics are least-squares fits at eight Chebyshev nodes per segment.
Against the exact conversions (:func:`max_error`, over 3 million colours of
the RGB cube, tested in ``tests/kernels/test_dither_fast.py``) the working
values differ by at most 2e-11 ('rgb'), 7e-11 ('oklab'), 5e-9
('perceptual'), 1.5e-8 ('lab') and 2.4e-8 ('din99o', whose L runs 0-100),
at most 2.4e-10 of the range of the space, well within :data:`TOLERANCE`
(1e-8 of that range). The colour chosen is then the exact nearest one
unless two palette colours are within that distance of a tie: on the test
photos the labels are those of the exact conversions, bit for bit.
"""

import math

import numpy as np
from numba import types
from numba.extending import overload

from skquant._kernels._cache import kernel
from skquant._kernels._colorspace import (
    _DIN99O_C_RATE,
    _DIN99O_C_SCALE,
    _DIN99O_D00,
    _DIN99O_D01,
    _DIN99O_D10,
    _DIN99O_D11,
    _DIN99O_L_RATE,
    _DIN99O_L_SCALE,
    _LAB_EPSILON,
    _LAB_F_OFFSET,
    _LAB_L_OFFSET,
    _LAB_SLOPE,
    _M1,
    _M2,
    _PERCEPTUAL_C,
    _PERCEPTUAL_M,
    _PERCEPTUAL_W,
    _SRGB_LINEAR_KNEE,
    _SRGB_SLOPE,
    DIN99O,
    IDENTITY,
    LAB,
    OKLAB,
    PERCEPTUAL,
    RGB,
    cbrt,
    lab_to_din99o,
    srgb_encode,
)
from skquant._kernels._lanes import (
    LANES,
    OCTAVE_BITS,
    SEGMENT_SHIFT,
    cubic_octaves,
    cubic_rows,
    lane,
    no_lane,
    octave_segment,
    select,
    splat,
    vsqrt,
    with_lane,
)

#: Largest difference from the exact conversion, relative to the range of
#: the working space (checked by the tests with :func:`max_error`).
TOLERANCE = 1e-8

#: Chebyshev nodes (in 0..1) at which each segment's cubic is fitted.
_NODES = 0.5 - 0.5 * np.cos(np.pi * (np.arange(8) + 0.5) / 8)
_FIT = np.linalg.pinv(np.vander(_NODES, 4))


def _cubics(func, lo, hi, n):
    """``(n, 4)`` cubic coefficients (highest first, in the segment's own
    coordinate 0..1) of ``func`` on ``n`` equal segments of ``[lo, hi]``."""
    width = (hi - lo) / n
    x = lo + width * (np.arange(n)[:, None] + _NODES[None, :])
    return np.ascontiguousarray((_FIT @ func(x).T).T)


@kernel(inline="always")
def _cubic(tables, part, t):
    """Value at ``t`` (segments of width 1 from 0) of the table of cubics
    ``part`` (``(first row, number of rows)``) of ``tables``: its two
    halves at once (Estrin's scheme), where Horner's rule waits for each
    product; the vector lanes (``_lanes.cubic_rows``) do the same."""
    i = part[0] + min(np.int64(t), part[1] - 1)
    f = t - (i - part[0])
    high = tables[i, 0] * f + tables[i, 1]
    low = tables[i, 2] * f + tables[i, 3]
    return high * (f * f) + low


@kernel(inline="always")
def _cubic_octaves(tables, part, x):
    """Value at ``x`` (within ``part[1] .. part[2]``) of the table of cubics
    on octave-spaced segments ``part`` (see :func:`_octave_part`); the
    vector lanes (``_lanes.cubic_octaves``) do the same."""
    segment, u = octave_segment(x)
    i = part[0] + segment
    high = tables[i, 0] * u + tables[i, 1]
    low = tables[i, 2] * u + tables[i, 3]
    return high * (u * u) + low


def _octave_cubics(func, lo_exp, hi_exp):
    """Cubic coefficients (highest first) of ``func`` on ``2**OCTAVE_BITS``
    equal segments of each octave from ``2**lo_exp`` to ``2**hi_exp``, in
    the offset from the segment's start (:func:`_lanes.octave_segment`):
    a relative width of 1/64 at most, where the function bends most."""
    per = 1 << OCTAVE_BITS
    exps = np.arange(lo_exp, hi_exp)
    width = np.repeat(2.0**exps / per, per)
    start = np.repeat(2.0**exps, per) + width * np.tile(np.arange(per), len(exps))
    x = start[:, None] + width[:, None] * _NODES[None, :]
    fitted = (_FIT @ func(x).T).T
    return np.ascontiguousarray(fitted / (width[:, None] ** np.arange(3, -1, -1)))


def _octave_part(part, lo_exp, hi_exp):
    """``(row of segment 0, lowest, highest)`` of an octave table stacked at
    ``part`` (``(first row, rows)``) covering ``2**lo_exp .. 2**hi_exp``:
    the argument of :func:`_cubic_octaves` and ``_lanes.cubic_octaves``."""
    lowest = 2.0**lo_exp
    first_segment = int(np.float64(lowest).view(np.int64) >> SEGMENT_SHIFT)
    highest = float(np.nextafter(2.0**hi_exp, 0.0))
    return part[0] - first_segment, lowest, highest


def _encoded(x):
    return 1.055 * x ** (1.0 / 2.4) - 0.055


# sRGB encoding above its linear knee (0.0031), up to 1: octaves 2**-9 .. 2.
_ENC_EXPS = (-9, 1)
_ENC = _octave_cubics(_encoded, *_ENC_EXPS)

# Cube root from 2**-30 (below: exact) to just above 1 (an error carried
# over the gamut's edge): octaves 2**-30 .. 2.
_CBRT_LO = 2.0**-30
_CBRT_HI = 1.0625
_CBRT_EXPS = (-30, 1)
_CBRT = _octave_cubics(np.cbrt, *_CBRT_EXPS)

# DIN99o: lightness from L* in [0, 100], and C99o / G for G in [0, 256).
_L_MAX = 100.0 + 1e-6
_G_MAX = 256.0
_DIN_L = _cubics(
    lambda light: _DIN99O_L_SCALE * np.log1p(_DIN99O_L_RATE * light), 0, _L_MAX, 256
)
_DIN_L_SCALE = 256 / _L_MAX


def _ratio(g):
    g = np.maximum(g, 1e-300)
    small = g < 1e-8
    safe = np.log1p(_DIN99O_C_RATE * g) / (_DIN99O_C_SCALE * g)
    return np.where(small, _DIN99O_C_RATE / _DIN99O_C_SCALE, safe)


_DIN_C = _cubics(_ratio, 0.0, _G_MAX, 512)
_DIN_C_SCALE = 512 / _G_MAX


def _stacked(*tables):
    """One array of all the tables, and each one's ``(first row, rows)``."""
    starts = np.cumsum([0] + [len(t) for t in tables])
    parts = [(int(a), len(t)) for a, t in zip(starts[:-1], tables, strict=True)]
    return np.ascontiguousarray(np.concatenate(tables)), parts


#: Every table in one ``(n, 4)`` array, an argument of the kernels that use
#: it: numba freezes a global array into the machine code as a constant,
#: which costs about 0.5 s of compilation per use (13 s for the dithering
#: kernel), an argument nothing.
TABLES, (_ENC, _CBRT, _DIN_L, _DIN_C) = _stacked(_ENC, _CBRT, _DIN_L, _DIN_C)
TABLES.flags.writeable = False
_ENC = _octave_part(_ENC, *_ENC_EXPS)
_CBRT = _octave_part(_CBRT, *_CBRT_EXPS)

# 'perceptual': the sRGB part's matrix, applied as m @ x.
_PERCEPTUAL_MT = np.ascontiguousarray(_PERCEPTUAL_M.T)


@kernel(inline="always")
def fast_encode(x, tables):
    """:func:`~skquant._kernels._colorspace.srgb_encode` by tables on [0, 1]."""
    if x <= _SRGB_LINEAR_KNEE or x > 1.0:
        return srgb_encode(x)
    return _cubic_octaves(tables, _ENC, x)


@kernel(inline="always")
def fast_cbrt(t, tables):
    """:func:`~skquant._kernels._colorspace.cbrt` by tables near [0, 1]."""
    if not _CBRT_LO <= t <= _CBRT_HI:
        return cbrt(t)
    return _cubic_octaves(tables, _CBRT, t)


@kernel(inline="always")
def _lab_f(t, tables):
    if t <= _LAB_EPSILON:
        return _LAB_SLOPE * t + _LAB_F_OFFSET
    return fast_cbrt(t, tables)


@kernel(inline="always")
def _times(m, x0, x1, x2):
    """``m @ (x0, x1, x2)`` for a 3 x 3 matrix ``m``, as a tuple."""
    return (
        m[0, 0] * x0 + m[0, 1] * x1 + m[0, 2] * x2,
        m[1, 0] * x0 + m[1, 1] * x1 + m[1, 2] * x2,
        m[2, 0] * x0 + m[2, 1] * x1 + m[2, 2] * x2,
    )


@kernel(inline="always")
def _fast_rgb(r, g, b, tables):
    return fast_encode(r, tables), fast_encode(g, tables), fast_encode(b, tables)


@kernel(inline="always")
def _fast_lab(r, g, b, tables):
    t0, t1, t2 = _times(_M1[LAB], r, g, b)
    f0, f1, f2 = _lab_f(t0, tables), _lab_f(t1, tables), _lab_f(t2, tables)
    w0, w1, w2 = _times(_M2[LAB], f0, f1, f2)
    return w0 - _LAB_L_OFFSET, w1, w2


@kernel(inline="always")
def _fast_oklab(r, g, b, tables):
    t0, t1, t2 = _times(_M1[OKLAB], r, g, b)
    c0, c1, c2 = fast_cbrt(t0, tables), fast_cbrt(t1, tables), fast_cbrt(t2, tables)
    return _times(_M2[OKLAB], c0, c1, c2)


@kernel(inline="always")
def _fast_din99o(r, g, b, tables):
    light, a, bb = _fast_lab(r, g, b, tables)  # (DIN99O's matrices are LAB's)
    e = _DIN99O_D00 * a + _DIN99O_D01 * bb
    f = _DIN99O_D10 * a + _DIN99O_D11 * bb
    chroma = math.sqrt(e * e + f * f)
    if not (0.0 <= light <= _L_MAX and chroma < _G_MAX):
        return lab_to_din99o(light, a, bb)
    ratio = _cubic(tables, _DIN_C, chroma * _DIN_C_SCALE)
    return _cubic(tables, _DIN_L, light * _DIN_L_SCALE), e * ratio, f * ratio


@kernel(inline="always")
def _fast_perceptual(r, g, b, tables):
    d0, d1, d2 = _fast_din99o(r, g, b, tables)
    e0, e1, e2 = _fast_rgb(r, g, b, tables)
    s0, s1, s2 = _times(_PERCEPTUAL_MT, e0, e1, e2)
    w = _PERCEPTUAL_W
    c = _PERCEPTUAL_C
    return s0 + c[0] + w * d0, s1 + c[1] + w * d1, s2 + c[2] + w * d2


@kernel(inline="always")
def _fast_identity(r, g, b, tables):
    return r, g, b


#: The converter of each space code.
FAST_CONVERTERS = {
    RGB: _fast_rgb,
    LAB: _fast_lab,
    OKLAB: _fast_oklab,
    DIN99O: _fast_din99o,
    PERCEPTUAL: _fast_perceptual,
    IDENTITY: _fast_identity,
}


def fast_to_work(r, g, b, space, tables):
    """Working-space value of a linear-light colour, by tables (:data:`TABLES`).

    :func:`~skquant._kernels._colorspace.linear_to_work` within
    :data:`TOLERANCE`. Compiled code only: a
    :class:`~skquant._kernels._colorspace.SpaceCode` ``space`` (a literal)
    compiles the one converter of that space (all five cost 12 s of
    compilation in the dithering kernel), an integer variable all of them.
    """
    raise TypeError("fast_to_work is called from compiled kernels only.")


@overload(fast_to_work, prefer_literal=True, inline="always")
def _fast_to_work_typed(r, g, b, space, tables):
    if isinstance(space, types.IntegerLiteral):
        convert = FAST_CONVERTERS[space.literal_value]
        return lambda r, g, b, space, tables: convert(r, g, b, tables)
    return lambda r, g, b, space, tables: _fast_to_work_any(r, g, b, space, tables)


@kernel
def _fast_to_work_any(r, g, b, space, tables):
    """:func:`fast_to_work` for a space known at run time only."""
    if space == RGB:
        return _fast_rgb(r, g, b, tables)
    if space == LAB:
        return _fast_lab(r, g, b, tables)
    if space == OKLAB:
        return _fast_oklab(r, g, b, tables)
    if space == DIN99O:
        return _fast_din99o(r, g, b, tables)
    if space == PERCEPTUAL:
        return _fast_perceptual(r, g, b, tables)
    return r, g, b


# ---------------------------------------------------------------------------
# Four colours at once (see skquant._kernels._lanes)
# ---------------------------------------------------------------------------
# The same arithmetic as the scalar converters above, lane by lane, on the
# tables' common path only. Each returns the working-space value and a mask
# of the lanes off that path (beyond a table's range, or on the exact
# fall-backs), which :func:`off_lanes` converts again one by one with
# :func:`fast_to_work`: every lane gets the scalar converter's bits.


@kernel(inline="always")
def _encode4(x, tables):
    """:func:`fast_encode` of each lane, and the lanes beyond 1 (exact code)."""
    value = cubic_octaves(tables, _ENC, x)
    linear = x <= splat(_SRGB_LINEAR_KNEE)
    # (|x| <= the knee: the linear segment; beyond -knee or 1, or NaN: off)
    off = ~((x >= splat(-_SRGB_LINEAR_KNEE)) & (x <= splat(1.0)))
    return select(linear, x * splat(_SRGB_SLOPE), value), off


@kernel(inline="always")
def _cbrt4(t, tables):
    """:func:`fast_cbrt` of each lane, and the lanes off its tables."""
    root = cubic_octaves(tables, _CBRT, t)
    off = ~((t >= splat(_CBRT_LO)) & (t <= splat(_CBRT_HI)))
    return root, off


@kernel(inline="always")
def _cbrt4_or_zero(t, tables):
    """:func:`_cbrt4` that also takes the lanes at 0 (LMS of black in
    OKLab), whose root is 0 as ``cbrt`` gives it, sign included: a black
    area would otherwise send every lane to the scalar code (12 % of the
    time of 'oklab' on astronaut's black backdrop)."""
    root, off = _cbrt4(t, tables)
    zero = t == splat(0.0)
    return select(zero, t, root), off & ~zero


@kernel(inline="always")
def _lab_f4(t, tables):
    root, off = _cbrt4(t, tables)
    linear = t <= splat(_LAB_EPSILON)
    value = select(linear, splat(_LAB_SLOPE) * t + splat(_LAB_F_OFFSET), root)
    return value, off & ~linear


@kernel(inline="always")
def _times4(m, x0, x1, x2):
    """:func:`_times` on vectors."""
    return (
        splat(m[0, 0]) * x0 + splat(m[0, 1]) * x1 + splat(m[0, 2]) * x2,
        splat(m[1, 0]) * x0 + splat(m[1, 1]) * x1 + splat(m[1, 2]) * x2,
        splat(m[2, 0]) * x0 + splat(m[2, 1]) * x1 + splat(m[2, 2]) * x2,
    )


@kernel(inline="always")
def _fast_rgb4(r, g, b, tables):
    e0, off0 = _encode4(r, tables)
    e1, off1 = _encode4(g, tables)
    e2, off2 = _encode4(b, tables)
    return e0, e1, e2, off0 | off1 | off2


@kernel(inline="always")
def _fast_lab4(r, g, b, tables):
    t0, t1, t2 = _times4(_M1[LAB], r, g, b)
    f0, off0 = _lab_f4(t0, tables)
    f1, off1 = _lab_f4(t1, tables)
    f2, off2 = _lab_f4(t2, tables)
    w0, w1, w2 = _times4(_M2[LAB], f0, f1, f2)
    return w0 - splat(_LAB_L_OFFSET), w1, w2, off0 | off1 | off2


@kernel(inline="always")
def _fast_oklab4(r, g, b, tables):
    t0, t1, t2 = _times4(_M1[OKLAB], r, g, b)
    c0, off0 = _cbrt4_or_zero(t0, tables)
    c1, off1 = _cbrt4_or_zero(t1, tables)
    c2, off2 = _cbrt4_or_zero(t2, tables)
    w0, w1, w2 = _times4(_M2[OKLAB], c0, c1, c2)
    return w0, w1, w2, off0 | off1 | off2


@kernel(inline="always")
def _fast_din99o4(r, g, b, tables):
    light, a, bb, off = _fast_lab4(r, g, b, tables)
    e = splat(_DIN99O_D00) * a + splat(_DIN99O_D01) * bb
    f = splat(_DIN99O_D10) * a + splat(_DIN99O_D11) * bb
    chroma = vsqrt(e * e + f * f)
    inside = (light >= splat(0.0)) & (light <= splat(_L_MAX)) & (chroma < splat(_G_MAX))
    ratio = cubic_rows(tables, _DIN_C, chroma * splat(_DIN_C_SCALE))
    w0 = cubic_rows(tables, _DIN_L, light * splat(_DIN_L_SCALE))
    return w0, e * ratio, f * ratio, off | ~inside


@kernel(inline="always")
def _fast_perceptual4(r, g, b, tables):
    d0, d1, d2, off_d = _fast_din99o4(r, g, b, tables)
    e0, e1, e2, off_e = _fast_rgb4(r, g, b, tables)
    s0, s1, s2 = _times4(_PERCEPTUAL_MT, e0, e1, e2)
    w = splat(_PERCEPTUAL_W)
    c = _PERCEPTUAL_C
    w0 = s0 + splat(c[0]) + w * d0
    w1 = s1 + splat(c[1]) + w * d1
    w2 = s2 + splat(c[2]) + w * d2
    return w0, w1, w2, off_d | off_e


@kernel(inline="always")
def _fast_identity4(r, g, b, tables):
    return r, g, b, no_lane()


# One compiled function per space, called from the pixel loop; the parts
# above are inlined into it. (Parts compiled apart and called from one
# another cost a call, and a reference count of ``tables``, each: din99o
# and 'perceptual' made seven to eleven calls per pixel.) Written out one
# by one: functions made by a factory would share one name in numba's
# on-disk cache.


@kernel
def _rgb4_apart(r, g, b, tables):
    return _fast_rgb4(r, g, b, tables)


@kernel
def _lab4_apart(r, g, b, tables):
    return _fast_lab4(r, g, b, tables)


@kernel
def _oklab4_apart(r, g, b, tables):
    return _fast_oklab4(r, g, b, tables)


@kernel
def _din99o4_apart(r, g, b, tables):
    return _fast_din99o4(r, g, b, tables)


@kernel
def _perceptual4_apart(r, g, b, tables):
    return _fast_perceptual4(r, g, b, tables)


_FAST_CONVERTERS4 = {
    RGB: _rgb4_apart,
    LAB: _lab4_apart,
    OKLAB: _oklab4_apart,
    DIN99O: _din99o4_apart,
    PERCEPTUAL: _perceptual4_apart,
    IDENTITY: _fast_identity4,
}


def fast_to_work4(r, g, b, space, at):
    """:func:`fast_to_work` of four colours (``f4`` channels) on the tables'
    common path, and the mask of the lanes off it, which
    :func:`off_lanes` converts: then every lane has the scalar converter's
    bits. Compiled code only, ``space`` a literal
    :class:`~skquant._kernels._colorspace.SpaceCode`, ``at`` the address of
    the tables (:func:`~skquant._kernels._lanes.address`).

    The caller handles the lanes off the path, and takes the address once,
    outside its pixel loop: an array handed to an inlined function is
    reference-counted at every call, two calls of the runtime per pixel
    that save and restore every vector register around them (1-8 % of
    Floyd-Steinberg's time in the vector lanes).
    """
    raise TypeError("fast_to_work4 is called from compiled kernels only.")


@overload(fast_to_work4, prefer_literal=True, inline="always")
def _fast_to_work4_typed(r, g, b, space, at):
    if not isinstance(space, types.IntegerLiteral):
        return None
    convert = _FAST_CONVERTERS4[space.literal_value]
    return lambda r, g, b, space, at: convert(r, g, b, at)


@kernel
def off_lanes(r, g, b, off, w0, w1, w2, space, tables):
    """``w*`` with the lanes ``off`` converted by :func:`fast_to_work`."""
    for k in range(LANES):
        if lane(off, k):
            x0, x1, x2 = fast_to_work(lane(r, k), lane(g, k), lane(b, k), space, tables)
            w0 = with_lane(w0, k, x0)
            w1 = with_lane(w1, k, x1)
            w2 = with_lane(w2, k, x2)
    return w0, w1, w2


@kernel
def _fast_rows(lin, space, tables):
    out = np.empty(lin.shape)
    for i in range(lin.shape[0]):
        r, g, b = lin[i, 0], lin[i, 1], lin[i, 2]
        out[i, 0], out[i, 1], out[i, 2] = fast_to_work(r, g, b, space, tables)
    return out


def max_error(space, n=1 << 20, seed=0):
    """Largest difference per channel between :func:`fast_to_work` and the
    exact conversion, over ``n`` random linear-light colours and the grey
    axis (NumPy in, for the tests)."""
    from skquant._kernels._colorspace import SPACE_CODES, linear_to_work_rows

    rng = np.random.default_rng(seed)
    lin = np.concatenate([rng.random((n, 3)), rng.random((n, 3)) ** 4])
    lin = np.concatenate([lin, np.repeat(np.linspace(0, 1, n)[:, None], 3, 1)])
    fast = _fast_rows(lin, SPACE_CODES[space], TABLES)
    return np.abs(fast - linear_to_work_rows(lin, space)).max(axis=0)
