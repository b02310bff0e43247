"""Constants of the colour spaces and the array helpers of :mod:`skquant._color`.

Part of :mod:`skquant._color` (see there for conventions).
"""

import numpy as np

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

# sRGB transfer function (IEC 61966-2-1).
_SRGB_ENCODED_KNEE = 0.04045  # knee on the encoded side
_SRGB_SLOPE = 12.92
# Knee on the linear side. The standard rounds it to 0.0031308; using the
# image of the encoded knee instead makes the two directions exact inverses.
_SRGB_LINEAR_KNEE = _SRGB_ENCODED_KNEE / _SRGB_SLOPE
_SRGB_OFFSET = 0.055
_SRGB_GAMMA = 2.4

# Linear sRGB -> XYZ (D65). These are the values scikit-image uses, so that
# our CIELAB agrees with ``skimage.color.rgb2lab``.
_XYZ_FROM_LINEAR = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_LINEAR_FROM_XYZ = np.linalg.inv(_XYZ_FROM_LINEAR)

# CIE D65 reference white, 2° observer (same as scikit-image).
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])

# CIELAB companding with the rounded constants scikit-image uses (the exact
# CIE values are 216/24389 and 24389/3132); with the exact ones a* would
# differ from ``skimage.color.rgb2lab`` by up to 1.6e-4 near the knee.
_LAB_EPSILON = 0.008856  # knee on the t = X/Xn side
_LAB_SLOPE = 7.787  # slope of the linear segment
_LAB_F_OFFSET = 16.0 / 116.0
# Knee on the f side: the start of the cube-root branch, so that the inverse
# below inverts the forward map exactly on both branches.
_LAB_F_KNEE = float(np.cbrt(_LAB_EPSILON))

# Linear sRGB -> XYZ/white, so that the white divide comes for free.
_XYZN_FROM_LINEAR = _XYZ_FROM_LINEAR / _D65_WHITE[:, None]
_LINEAR_FROM_XYZN = np.linalg.inv(_XYZN_FROM_LINEAR)

# (fx, fy, fz) -> (L* + 16, a*, b*); the +16 offset is applied separately.
_LAB_FROM_F = np.array(
    [
        [0.0, 116.0, 0.0],
        [500.0, -500.0, 0.0],
        [0.0, 200.0, -200.0],
    ]
)
_F_FROM_LAB = np.linalg.inv(_LAB_FROM_F)
_LAB_L_OFFSET = 16.0

# OKLab (Ottosson 2020). M1: XYZ -> LMS, M2: LMS' -> Lab.
_OKLAB_M1 = np.array(
    [
        [0.8189330101, 0.3618667424, -0.1288597137],
        [0.0329845436, 0.9293118715, 0.0361456387],
        [0.0482003018, 0.2643662691, 0.6338517070],
    ]
)
_OKLAB_M2 = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
# Linear sRGB -> LMS as published by Ottosson (M1 combined with his sRGB
# primaries); its rows sum to 1, so greys get a = b = 0.
_LMS_FROM_LINEAR = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
# DIN99o (DIN 6176:2001, parametric factors kE = kCH = 1): lightness
# L99o = A ln(1 + B L*); chroma rotated by 26 degrees, the rotated b axis
# scaled by 0.83, then compressed logarithmically, C99o = ln(1 + D G) / E.
_DIN99O_L_SCALE = 303.67
_DIN99O_L_RATE = 0.0039
_DIN99O_ANGLE = np.deg2rad(26.0)
_DIN99O_F_SCALE = 0.83
_DIN99O_C_RATE = 0.075
_DIN99O_C_SCALE = 0.0435
# (a*, b*) -> (e, f), and (e, f) -> rotated back by the same angle.
_DIN99O_EF_FROM_AB = np.array(
    [
        [np.cos(_DIN99O_ANGLE), np.sin(_DIN99O_ANGLE)],
        [
            -_DIN99O_F_SCALE * np.sin(_DIN99O_ANGLE),
            _DIN99O_F_SCALE * np.cos(_DIN99O_ANGLE),
        ],
    ]
)
_DIN99O_ROTATE = np.array(
    [
        [np.cos(_DIN99O_ANGLE), -np.sin(_DIN99O_ANGLE)],
        [np.sin(_DIN99O_ANGLE), np.cos(_DIN99O_ANGLE)],
    ]
)
# Composite (a*, b*) -> direction of (a99o, b99o): rotate (e, f) back by 26°.
_DIN99O_AB_DIRECTION = _DIN99O_ROTATE @ _DIN99O_EF_FROM_AB
_DIN99O_AB_DIRECTION_INV = np.linalg.inv(_DIN99O_AB_DIRECTION)

_OKLAB_M1_INV = np.linalg.inv(_OKLAB_M1)
_OKLAB_M2_INV = np.linalg.inv(_OKLAB_M2)
_LINEAR_FROM_LMS = np.linalg.inv(_LMS_FROM_LINEAR)


# ---------------------------------------------------------------------------
# Private helpers
# ---------------------------------------------------------------------------


def _as_float3(values, name):
    """Validate a ``(..., 3)`` float array without copying it.

    float16 is promoted to float32; anything that is not floating point is
    refused, because its scale is ambiguous.
    """
    arr = np.asarray(values)
    if arr.dtype.kind != "f":
        raise TypeError(
            f"{name} must be a floating-point array scaled to its nominal "
            f"range, got dtype={arr.dtype}. Scale integer images first "
            "(for example ``image / 255``)."
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32 if arr.dtype.itemsize < 4 else np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise ValueError(
            f"{name} must have shape (..., 3) with colour channels on the last "
            f"axis, got shape={arr.shape}."
        )
    return arr


def _matmul3(arr, matrix):
    """Apply a 3x3 matrix to the last axis, in the precision of ``arr``;
    always returns a new array."""
    flat = arr.reshape(-1, 3)
    return (flat @ np.ascontiguousarray(matrix.T, dtype=arr.dtype)).reshape(arr.shape)


def _lab_f(t):
    """CIELAB companding ``f(t)``, in place on a fresh array ``t``."""
    small = t <= _LAB_EPSILON
    linear_part = t[small]
    np.cbrt(t, out=t)
    linear_part *= _LAB_SLOPE
    linear_part += _LAB_F_OFFSET
    t[small] = linear_part
    return t


def _lab_f_inv(f):
    """Inverse of :func:`_lab_f`, in place on a fresh array ``f``."""
    small = f < _LAB_F_KNEE
    linear_part = f[small]
    cube = f * f
    cube *= f
    linear_part -= _LAB_F_OFFSET
    linear_part /= _LAB_SLOPE
    cube[small] = linear_part
    return cube
