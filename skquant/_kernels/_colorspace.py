"""Colour conversions inside the kernels, written once.

Scalar functions (numbers and tuples in, tuples out: arrays would cost
reference counting in the per-pixel loops) that assignment and dithering
both call. One set of working-space codes (:data:`SPACE_CODES`), one sRGB
decoding, one cube root. The constants and matrices are those of
:mod:`skquant._color` (the readable NumPy reference the tests hold these
against), frozen into the machine code as module-level constants.

Compiled per space
------------------
A kernel compiles only the conversion of the space it is called with. The
space codes are :class:`SpaceCode` integers, which numba types as literals
(``Literal[int](1)``), not as ``int64``: a kernel taking ``space`` is then
compiled (and cached on disk) once per space it is used with, and
:func:`linear_to_work` resolves, while the kernel is typed, to the one
converter of that space (:data:`CONVERTERS`). A fit in ``'rgb'`` so never
compiles the CIELAB, OKLab, DIN99o and perceptual code (about half of the
assignment kernel's compile time). A plain integer code still works: it
compiles the conversion of every space, chosen at run time.
"""

import functools
import math

import numpy as np
from numba import types
from numba.extending import overload, typeof_impl

from skquant import _color
from skquant._kernels._cache import kernel


class SpaceCode(int):
    """A working-space code that numba types as a literal (see above)."""

    __slots__ = ()


@typeof_impl.register(SpaceCode)
def _typeof_space_code(value, context):
    return types.IntegerLiteral(int(value))


# Working-space codes. IDENTITY: the values as given (not colour data).
RGB, LAB, OKLAB, DIN99O, IDENTITY, PERCEPTUAL = (SpaceCode(i) for i in range(6))
SPACE_CODES = {
    "rgb": RGB,
    "lab": LAB,
    "oklab": OKLAB,
    "din99o": DIN99O,
    "perceptual": PERCEPTUAL,
}

# sRGB transfer function and CIELAB companding constants.
_SRGB_KNEE = float(_color._SRGB_ENCODED_KNEE)
_SRGB_LINEAR_KNEE = float(_color._SRGB_LINEAR_KNEE)
_SRGB_SLOPE = float(_color._SRGB_SLOPE)
_SRGB_OFFSET = float(_color._SRGB_OFFSET)
_SRGB_GAMMA = float(_color._SRGB_GAMMA)
_LAB_EPSILON = float(_color._LAB_EPSILON)
_LAB_SLOPE = float(_color._LAB_SLOPE)
_LAB_F_OFFSET = float(_color._LAB_F_OFFSET)
_LAB_L_OFFSET = float(_color._LAB_L_OFFSET)
_DIN99O_L_SCALE = float(_color._DIN99O_L_SCALE)
_DIN99O_L_RATE = float(_color._DIN99O_L_RATE)
_DIN99O_C_RATE = float(_color._DIN99O_C_RATE)
_DIN99O_C_SCALE = float(_color._DIN99O_C_SCALE)
# (a*, b*) -> (a99o, b99o) / (C99o / G), as four scalars.
_DIN99O_D00, _DIN99O_D01 = (float(v) for v in _color._DIN99O_AB_DIRECTION[0])
_DIN99O_D10, _DIN99O_D11 = (float(v) for v in _color._DIN99O_AB_DIRECTION[1])

# work = M2[space] @ f(M1[space] @ linear) (- 16 on L* for CIELAB and DIN99o),
# f = CIELAB companding, or the cube root for OKLab. Indexed by space code
# (rows for RGB, IDENTITY and PERCEPTUAL unused).
_M1 = np.stack(
    [np.eye(3), _color._XYZN_FROM_LINEAR, _color._LMS_FROM_LINEAR]
    + [_color._XYZN_FROM_LINEAR, np.eye(3), np.eye(3)]
)
_M2 = np.stack(
    [np.eye(3), _color._LAB_FROM_F, _color._OKLAB_M2, _color._LAB_FROM_F]
    + [np.eye(3), np.eye(3)]
)
# 'perceptual': (1 - w) * (srgb @ M + c) + w * din99o, w folded into M and c.
_PERCEPTUAL_W = float(_color.PERCEPTUAL_WEIGHT)
_PERCEPTUAL_M = (1.0 - _PERCEPTUAL_W) * _color._perceptual._PERCEPTUAL_RGB_MATRIX
_PERCEPTUAL_C = (1.0 - _PERCEPTUAL_W) * _color._perceptual._PERCEPTUAL_RGB_OFFSET


@kernel
def cbrt(t):
    """Cube root to full double precision, faster than libm's here.

    A single-precision guess refined by one Halley step (cubic convergence:
    ~1e-7 relative error in, ~1e-16 out).
    """
    if not 1e-30 < abs(t) < 1e30:  # zero, NaN, or beyond single precision
        return np.cbrt(t)
    y = np.float64(np.float32(abs(t)) ** np.float32(1.0 / 3.0))
    if t < 0.0:
        y = -y
    y3 = y * y * y
    return y * (y3 + 2.0 * t) / (2.0 * y3 + t)


@kernel
def srgb_decode(value):
    """sRGB-encoded -> linear light, sign-symmetric like :mod:`skquant._color`."""
    mag = abs(value)
    if mag <= _SRGB_KNEE:
        lin = mag / _SRGB_SLOPE
    else:
        lin = ((mag + _SRGB_OFFSET) / (1.0 + _SRGB_OFFSET)) ** _SRGB_GAMMA
    return lin if value >= 0.0 else -lin


@kernel(inline="always")
def srgb_encode(value):
    """Linear light -> sRGB-encoded, sign-symmetric like :mod:`skquant._color`."""
    mag = abs(value)
    if mag <= _SRGB_LINEAR_KNEE:
        out = mag * _SRGB_SLOPE
    else:
        out = (1.0 + _SRGB_OFFSET) * mag ** (1.0 / _SRGB_GAMMA) - _SRGB_OFFSET
    return out if value >= 0.0 else -out


@kernel
def _lab_f(t):
    if t <= _LAB_EPSILON:
        return _LAB_SLOPE * t + _LAB_F_OFFSET
    return cbrt(t)


@kernel
def lab_to_din99o(lightness, a, b):
    """CIELAB -> DIN99o for one colour (see :func:`skquant._color.lab_to_din99o`)."""
    e = _DIN99O_D00 * a + _DIN99O_D01 * b
    f = _DIN99O_D10 * a + _DIN99O_D11 * b
    # |(e, f)| is G, the chroma before compression: scale it to C99o.
    g = math.sqrt(e * e + f * f)
    if g > 0.0:
        ratio = math.log1p(_DIN99O_C_RATE * g) / (_DIN99O_C_SCALE * g)
    else:
        ratio = _DIN99O_C_RATE / _DIN99O_C_SCALE
    return (
        math.copysign(_DIN99O_L_SCALE, lightness)
        * math.log1p(_DIN99O_L_RATE * abs(lightness)),
        e * ratio,
        f * ratio,
    )


def linear_to_work(r, g, b, space):
    """Working-space value of the linear-light colour ``(r, g, b)``.

    ``RGB`` gives sRGB-encoded values, ``IDENTITY`` the values themselves.
    Compiled code only: a :class:`SpaceCode` ``space`` compiles the one
    converter of that space, an integer variable all of them.
    """
    raise TypeError("linear_to_work is called from compiled kernels only.")


@overload(linear_to_work, prefer_literal=True)
def _linear_to_work_typed(r, g, b, space):
    if isinstance(space, types.IntegerLiteral):
        convert = CONVERTERS[space.literal_value]
        return lambda r, g, b, space: convert(r, g, b)
    return lambda r, g, b, space: _linear_to_work_any(r, g, b, space)


@kernel
def _linear_to_work_any(r, g, b, space):
    """:func:`linear_to_work` for a space known at run time only."""
    if space == RGB:
        return _to_rgb(r, g, b)
    if space == IDENTITY:
        return r, g, b
    if space == PERCEPTUAL:
        return _perceptual(r, g, b)
    if space == DIN99O:
        return _to_din99o(r, g, b)
    if space == OKLAB:
        return _to_oklab(r, g, b)
    return _to_lab(r, g, b)


@kernel(inline="always")
def _to_rgb(r, g, b):
    return srgb_encode(r), srgb_encode(g), srgb_encode(b)


@kernel(inline="always")
def _to_identity(r, g, b):
    return r, g, b


@kernel(inline="always")
def _to_lab(r, g, b):
    return _companded(r, g, b, LAB)


@kernel(inline="always")
def _to_oklab(r, g, b):
    return _companded(r, g, b, OKLAB)


@kernel(inline="always")
def _to_din99o(r, g, b):
    w0, w1, w2 = _companded(r, g, b, DIN99O)
    return lab_to_din99o(w0, w1, w2)


@kernel
def _companded(r, g, b, space):
    """``M2 @ f(M1 @ linear)`` (less 16 on L* for CIELAB and DIN99o)."""
    t0 = _M1[space, 0, 0] * r + _M1[space, 0, 1] * g + _M1[space, 0, 2] * b
    t1 = _M1[space, 1, 0] * r + _M1[space, 1, 1] * g + _M1[space, 1, 2] * b
    t2 = _M1[space, 2, 0] * r + _M1[space, 2, 1] * g + _M1[space, 2, 2] * b
    if space == OKLAB:
        f0, f1, f2 = cbrt(t0), cbrt(t1), cbrt(t2)
    else:
        f0, f1, f2 = _lab_f(t0), _lab_f(t1), _lab_f(t2)
    w0 = _M2[space, 0, 0] * f0 + _M2[space, 0, 1] * f1 + _M2[space, 0, 2] * f2
    w1 = _M2[space, 1, 0] * f0 + _M2[space, 1, 1] * f1 + _M2[space, 1, 2] * f2
    w2 = _M2[space, 2, 0] * f0 + _M2[space, 2, 1] * f1 + _M2[space, 2, 2] * f2
    if space == OKLAB:
        return w0, w1, w2
    return w0 - _LAB_L_OFFSET, w1, w2


@kernel
def _perceptual(r, g, b):
    """The ``'perceptual'`` value of a linear-light colour."""
    d0, d1, d2 = _to_din99o(r, g, b)
    s0, s1, s2 = srgb_encode(r), srgb_encode(g), srgb_encode(b)
    w = _PERCEPTUAL_W
    m, c = _PERCEPTUAL_M, _PERCEPTUAL_C
    return (
        s0 * m[0, 0] + s1 * m[1, 0] + s2 * m[2, 0] + c[0] + w * d0,
        s0 * m[0, 1] + s1 * m[1, 1] + s2 * m[2, 1] + c[1] + w * d1,
        s0 * m[0, 2] + s1 * m[1, 2] + s2 * m[2, 2] + c[2] + w * d2,
    )


#: The converter of each space code (the same conversions as above).
CONVERTERS = {
    RGB: _to_rgb,
    LAB: _to_lab,
    OKLAB: _to_oklab,
    DIN99O: _to_din99o,
    IDENTITY: _to_identity,
    PERCEPTUAL: _perceptual,
}


@kernel
def _srgb_decode_flat(values):
    out = np.empty(values.shape[0], np.float64)
    for i in range(values.shape[0]):
        out[i] = srgb_decode(values[i])
    return out


def srgb_decode_array(values):
    """:func:`srgb_decode` on every value of a float array (float64 out).

    The decoding tables of integer codes are ``srgb_decode_array(codes /
    scale)``: the same numbers the per-pixel decoding gives.
    """
    values = np.asarray(values, dtype=np.float64)
    flat = np.ascontiguousarray(values.reshape(-1))
    return _srgb_decode_flat(flat).reshape(values.shape)


@kernel
def _linear_to_work_rows(lin, space):
    out = np.empty(lin.shape, np.float64)
    for i in range(lin.shape[0]):
        out[i, 0], out[i, 1], out[i, 2] = linear_to_work(
            lin[i, 0], lin[i, 1], lin[i, 2], space
        )
    return out


def linear_to_work_rows(lin, space):
    """:func:`linear_to_work` on every row of ``(n, 3)`` floats (for tests)."""
    lin = np.ascontiguousarray(lin, dtype=np.float64).reshape(-1, 3)
    return _linear_to_work_rows(lin, SPACE_CODES.get(space, space))


def gamut_bounds(space):
    """Bounding box of the sRGB cube in the working space (sampled, NumPy;
    computed once per space: 1.4 ms, which a dithering call of any size
    paid before its threads start). Two new arrays, the caller's to change."""
    lo, hi = _gamut_bounds(space)
    return lo.copy(), hi.copy()


@functools.cache
def _gamut_bounds(space):
    axis = np.linspace(0.0, 1.0, 17)
    cube = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)
    work = _color.to_working(cube.reshape(-1, 3), space)
    return work.min(axis=0), work.max(axis=0)
