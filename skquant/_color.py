"""Colour-space conversions on ``(..., 3)`` float arrays.

Every function here works on the last axis, accepts any number of leading
dimensions, and computes in the floating-point precision of its input:
float32 in gives float32 out, float64 in gives float64 out (float16 is
promoted to float32). Integer input is refused; callers scale to [0, 1]
first. Inputs are never modified.

Names carry their scale:

- ``rgb``: sRGB-encoded (gamma-compressed) components in [0, 1];
- ``linear`` / ``linear_rgb``: linear-light sRGB components in [0, 1];
- ``xyz``: CIE XYZ with Y = 1 for the reference white;
- ``lab``: CIELAB, D65 white, 2° observer, L* in [0, 100];
- ``oklab``: Björn Ottosson's OKLab, L in [0, 1];
- ``din99o``: DIN99o (DIN 6176), a CIELAB-based space in which Euclidean
  distance follows perceived colour difference; L99o in [0, 100].

The estimator uses the small dispatch API at the bottom of the module
(:data:`COLOR_SPACES`, :func:`to_working`, :func:`from_working`,
:func:`linear_to_working`, :func:`working_to_linear`).
"""

import numpy as np

__all__ = [
    "COLOR_SPACES",
    "din99o_to_lab",
    "din99o_to_linear_rgb",
    "din99o_to_rgb",
    "from_working",
    "lab_to_din99o",
    "lab_to_linear_rgb",
    "lab_to_rgb",
    "linear_rgb_to_din99o",
    "linear_rgb_to_lab",
    "linear_rgb_to_oklab",
    "linear_rgb_to_xyz",
    "linear_to_srgb",
    "linear_to_working",
    "oklab_to_linear_rgb",
    "rgb_to_din99o",
    "oklab_to_rgb",
    "oklab_to_xyz",
    "rgb_to_lab",
    "rgb_to_oklab",
    "srgb_to_linear",
    "srgb_u8_to_linear_table",
    "to_working",
    "working_to_linear",
    "xyz_to_linear_rgb",
    "xyz_to_oklab",
]

COLOR_SPACES = ("rgb", "lab", "oklab", "din99o")

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


def _by_dtype(matrix):
    """Return ``{dtype: matrix.T}`` ready for ``pixels @ matrix.T``."""
    return {
        np.dtype(np.float64): np.ascontiguousarray(matrix.T, dtype=np.float64),
        np.dtype(np.float32): np.ascontiguousarray(matrix.T, dtype=np.float32),
    }


_MT_XYZ_FROM_LINEAR = _by_dtype(_XYZ_FROM_LINEAR)
_MT_LINEAR_FROM_XYZ = _by_dtype(_LINEAR_FROM_XYZ)
_MT_XYZN_FROM_LINEAR = _by_dtype(_XYZN_FROM_LINEAR)
_MT_LINEAR_FROM_XYZN = _by_dtype(_LINEAR_FROM_XYZN)
_MT_LAB_FROM_F = _by_dtype(_LAB_FROM_F)
_MT_F_FROM_LAB = _by_dtype(_F_FROM_LAB)
_MT_OKLAB_M1 = _by_dtype(_OKLAB_M1)
_MT_OKLAB_M1_INV = _by_dtype(_OKLAB_M1_INV)
_MT_OKLAB_M2 = _by_dtype(_OKLAB_M2)
_MT_OKLAB_M2_INV = _by_dtype(_OKLAB_M2_INV)
_MT_LMS_FROM_LINEAR = _by_dtype(_LMS_FROM_LINEAR)
_MT_LINEAR_FROM_LMS = _by_dtype(_LINEAR_FROM_LMS)

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


def _matmul3(arr, matrices):
    """Apply a 3x3 matrix to the last axis; always returns a new array."""
    flat = arr.reshape(-1, 3)
    return (flat @ matrices[arr.dtype]).reshape(arr.shape)


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


# ---------------------------------------------------------------------------
# sRGB transfer function
# ---------------------------------------------------------------------------


def srgb_to_linear(rgb):
    """Decode sRGB components to linear light (IEC 61966-2-1).

    Parameters
    ----------
    rgb : array_like of shape (..., 3), float
        sRGB-encoded components, nominally in [0, 1].

    Returns
    -------
    lin : ndarray of shape (..., 3)
        Linear-light components, same float dtype as ``rgb``.

    See Also
    --------
    linear_to_srgb : The inverse.
    srgb_u8_to_linear_table : Lookup table for uint8 codes.

    Notes
    -----
    Values outside [0, 1] are handled by the sign-symmetric extension
    ``f(-x) = -f(x)``, so out-of-gamut inputs stay finite and the function
    stays invertible.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import srgb_to_linear
    >>> srgb_to_linear(np.array([0.0, 0.5, 1.0])).round(4)
    array([0.   , 0.214, 1.   ])
    """
    rgb = _as_float3(rgb, "rgb")
    mag = np.abs(rgb)
    small = mag <= _SRGB_ENCODED_KNEE
    out = mag + _SRGB_OFFSET
    out /= 1.0 + _SRGB_OFFSET
    np.power(out, _SRGB_GAMMA, out=out)
    np.divide(mag, _SRGB_SLOPE, out=out, where=small)
    return np.copysign(out, rgb, out=out)


def linear_to_srgb(lin):
    """Encode linear-light components with the sRGB transfer function.

    Parameters
    ----------
    lin : array_like of shape (..., 3), float
        Linear-light components, nominally in [0, 1].

    Returns
    -------
    rgb : ndarray of shape (..., 3)
        sRGB-encoded components, same float dtype as ``lin``.

    See Also
    --------
    srgb_to_linear : The inverse.

    Notes
    -----
    Negative values use the sign-symmetric extension ``f(-x) = -f(x)``; no
    clipping is done.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import linear_to_srgb
    >>> linear_to_srgb(np.array([0.0, 0.214, 1.0])).round(3)
    array([0. , 0.5, 1. ])
    """
    lin = _as_float3(lin, "lin")
    mag = np.abs(lin)
    small = mag <= _SRGB_LINEAR_KNEE
    out = np.power(mag, 1.0 / _SRGB_GAMMA)
    out *= 1.0 + _SRGB_OFFSET
    out -= _SRGB_OFFSET
    np.multiply(mag, _SRGB_SLOPE, out=out, where=small)
    return np.copysign(out, lin, out=out)


_SRGB_U8_TO_LINEAR = srgb_to_linear(
    np.repeat(np.arange(256, dtype=np.float64)[:, None] / 255.0, 3, axis=1)
)[:, 0].astype(np.float32)
_SRGB_U8_TO_LINEAR.flags.writeable = False


def srgb_u8_to_linear_table():
    """Lookup table from 8-bit sRGB codes to linear light.

    Returns
    -------
    table : ndarray of shape (256,), float32
        ``table[code]`` is the linear-light value of the sRGB code
        ``code / 255``. The array is shared and read-only; index it
        (``table[image]``) rather than modifying it.

    See Also
    --------
    srgb_to_linear : The general conversion.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import srgb_u8_to_linear_table
    >>> table = srgb_u8_to_linear_table()
    >>> table.shape, table.dtype
    ((256,), dtype('float32'))
    >>> image = np.array([[[0, 128, 255]]], dtype=np.uint8)
    >>> table[image].round(4)
    array([[[0.    , 0.2159, 1.    ]]], dtype=float32)
    """
    return _SRGB_U8_TO_LINEAR


# ---------------------------------------------------------------------------
# CIE XYZ and CIELAB
# ---------------------------------------------------------------------------


def linear_rgb_to_xyz(lin):
    """Convert linear-light sRGB to CIE XYZ (D65, Y = 1 for white).

    Parameters
    ----------
    lin : array_like of shape (..., 3), float
        Linear-light sRGB components.

    Returns
    -------
    xyz : ndarray of shape (..., 3)
        CIE XYZ tristimulus values, same float dtype as ``lin``.

    See Also
    --------
    xyz_to_linear_rgb : The inverse.

    Notes
    -----
    Uses the same matrix as :func:`skimage.color.rgb2xyz`.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import linear_rgb_to_xyz
    >>> linear_rgb_to_xyz(np.array([1.0, 1.0, 1.0])).round(4)
    array([0.9505, 1.    , 1.0888])
    """
    lin = _as_float3(lin, "lin")
    return _matmul3(lin, _MT_XYZ_FROM_LINEAR)


def xyz_to_linear_rgb(xyz):
    """Convert CIE XYZ (D65, Y = 1 for white) to linear-light sRGB.

    Parameters
    ----------
    xyz : array_like of shape (..., 3), float
        CIE XYZ tristimulus values.

    Returns
    -------
    lin : ndarray of shape (..., 3)
        Linear-light sRGB components, not clipped, same float dtype as
        ``xyz``.

    See Also
    --------
    linear_rgb_to_xyz : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import xyz_to_linear_rgb
    >>> xyz_to_linear_rgb(np.array([0.950456, 1.0, 1.088754])).round(6)
    array([1., 1., 1.])
    """
    xyz = _as_float3(xyz, "xyz")
    return _matmul3(xyz, _MT_LINEAR_FROM_XYZ)


def linear_rgb_to_lab(lin):
    """Convert linear-light sRGB to CIELAB (D65, 2° observer).

    Parameters
    ----------
    lin : array_like of shape (..., 3), float
        Linear-light sRGB components.

    Returns
    -------
    lab : ndarray of shape (..., 3)
        CIELAB ``(L*, a*, b*)``, same float dtype as ``lin``.

    See Also
    --------
    rgb_to_lab : The same from sRGB-encoded input.
    lab_to_linear_rgb : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import linear_rgb_to_lab
    >>> linear_rgb_to_lab(np.array([0.0, 0.0, 0.0])).round(9) + 0.0
    array([0., 0., 0.])
    """
    lin = _as_float3(lin, "lin")
    lab = _matmul3(_lab_f(_matmul3(lin, _MT_XYZN_FROM_LINEAR)), _MT_LAB_FROM_F)
    lab[..., 0] -= _LAB_L_OFFSET
    return lab


def lab_to_linear_rgb(lab):
    """Convert CIELAB (D65, 2° observer) to linear-light sRGB.

    Parameters
    ----------
    lab : array_like of shape (..., 3), float
        CIELAB ``(L*, a*, b*)``.

    Returns
    -------
    lin : ndarray of shape (..., 3)
        Linear-light sRGB components, not clipped, same float dtype as
        ``lab``.

    See Also
    --------
    lab_to_rgb : The same with sRGB-encoded output.
    linear_rgb_to_lab : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import lab_to_linear_rgb
    >>> lab_to_linear_rgb(np.array([50.0, 0.0, 0.0])).round(4)
    array([0.1842, 0.1842, 0.1842])
    """
    lab = _as_float3(lab, "lab")
    shifted = lab.copy()
    shifted[..., 0] += _LAB_L_OFFSET
    return _matmul3(_lab_f_inv(_matmul3(shifted, _MT_F_FROM_LAB)), _MT_LINEAR_FROM_XYZN)


def rgb_to_lab(rgb):
    """Convert sRGB to CIELAB (D65 white, 2° observer).

    Parameters
    ----------
    rgb : array_like of shape (..., 3), float
        sRGB-encoded components in [0, 1].

    Returns
    -------
    lab : ndarray of shape (..., 3)
        CIELAB ``(L*, a*, b*)`` with L* in [0, 100], same float dtype as
        ``rgb``.

    See Also
    --------
    lab_to_rgb : The inverse.
    skimage.color.rgb2lab : The reference implementation.

    Notes
    -----
    Matches :func:`skimage.color.rgb2lab`: same sRGB matrix, white point
    and rounded companding constants (knee 0.008856, slope 7.787; CIE 15
    gives 216/24389 and 24389/3132). With these numbers sRGB white maps to
    L* = 100 with a*, b* within 0.005 of zero. :func:`lab_to_rgb` is the
    exact inverse of this function.

    References
    ----------
    .. [1] CIE 15:2004, Colorimetry, section 8.2.1.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import rgb_to_lab
    >>> rgb_to_lab(np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5]])).round(2)
    array([[53.24, 80.09, 67.2 ],
           [53.39, -0.  ,  0.  ]])
    """
    return linear_rgb_to_lab(srgb_to_linear(rgb))


def lab_to_rgb(lab):
    """Convert CIELAB (D65 white, 2° observer) to sRGB.

    Parameters
    ----------
    lab : array_like of shape (..., 3), float
        CIELAB ``(L*, a*, b*)``.

    Returns
    -------
    rgb : ndarray of shape (..., 3)
        sRGB-encoded components, not clipped (out-of-gamut colours fall
        outside [0, 1]), same float dtype as ``lab``.

    See Also
    --------
    rgb_to_lab : The inverse.
    skimage.color.lab2rgb : The reference implementation (which clips).

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import lab_to_rgb
    >>> lab_to_rgb(np.array([50.0, 20.0, -10.0])).round(4)
    array([0.5691, 0.4212, 0.5345])
    """
    return linear_to_srgb(lab_to_linear_rgb(lab))


# ---------------------------------------------------------------------------
# OKLab
# ---------------------------------------------------------------------------


def _lms_to_oklab(lms):
    """Cube root then M2, in place on a fresh LMS array."""
    return _matmul3(np.cbrt(lms, out=lms), _MT_OKLAB_M2)


def _oklab_to_lms(lab):
    """M2 inverse then cube; returns a fresh array."""
    lms_ = _matmul3(lab, _MT_OKLAB_M2_INV)
    lms = lms_ * lms_
    lms *= lms_
    return lms


def xyz_to_oklab(xyz):
    """Convert CIE XYZ (D65, Y = 1 for white) to OKLab.

    Parameters
    ----------
    xyz : array_like of shape (..., 3), float
        CIE XYZ tristimulus values.

    Returns
    -------
    lab : ndarray of shape (..., 3)
        OKLab ``(L, a, b)``, same float dtype as ``xyz``.

    See Also
    --------
    oklab_to_xyz : The inverse.
    linear_rgb_to_oklab : The direct path from linear sRGB.

    References
    ----------
    .. [1] B. Ottosson, "A perceptual color space for image processing",
       2020. https://bottosson.github.io/posts/oklab/

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import xyz_to_oklab
    >>> xyz_to_oklab(np.array([0.0, 1.0, 0.0])).round(3)
    array([ 0.922, -0.671,  0.263])
    """
    xyz = _as_float3(xyz, "xyz")
    return _lms_to_oklab(_matmul3(xyz, _MT_OKLAB_M1))


def oklab_to_xyz(lab):
    """Convert OKLab to CIE XYZ (D65, Y = 1 for white).

    Parameters
    ----------
    lab : array_like of shape (..., 3), float
        OKLab ``(L, a, b)``.

    Returns
    -------
    xyz : ndarray of shape (..., 3)
        CIE XYZ tristimulus values, same float dtype as ``lab``.

    See Also
    --------
    xyz_to_oklab : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import oklab_to_xyz
    >>> oklab_to_xyz(np.array([1.0, 0.0, 0.0])).round(4)
    array([0.9505, 1.    , 1.0883])
    """
    lab = _as_float3(lab, "lab")
    return _matmul3(_oklab_to_lms(lab), _MT_OKLAB_M1_INV)


def linear_rgb_to_oklab(lin):
    """Convert linear-light sRGB to OKLab.

    Parameters
    ----------
    lin : array_like of shape (..., 3), float
        Linear-light sRGB components.

    Returns
    -------
    lab : ndarray of shape (..., 3)
        OKLab ``(L, a, b)``, same float dtype as ``lin``.

    See Also
    --------
    oklab_to_linear_rgb : The inverse.
    rgb_to_oklab : The same from sRGB-encoded input.

    Notes
    -----
    Uses Ottosson's published linear-sRGB-to-LMS matrix, whose rows sum to
    one: every grey has ``a = b = 0`` and white has ``L = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import linear_rgb_to_oklab
    >>> linear_rgb_to_oklab(np.array([1.0, 1.0, 1.0])).round(6)
    array([1., 0., 0.])
    """
    lin = _as_float3(lin, "lin")
    return _lms_to_oklab(_matmul3(lin, _MT_LMS_FROM_LINEAR))


def oklab_to_linear_rgb(lab):
    """Convert OKLab to linear-light sRGB.

    Parameters
    ----------
    lab : array_like of shape (..., 3), float
        OKLab ``(L, a, b)``.

    Returns
    -------
    lin : ndarray of shape (..., 3)
        Linear-light sRGB components, not clipped, same float dtype as
        ``lab``.

    See Also
    --------
    linear_rgb_to_oklab : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import oklab_to_linear_rgb
    >>> oklab_to_linear_rgb(np.array([1.0, 0.0, 0.0])).round(6)
    array([1., 1., 1.])
    """
    lab = _as_float3(lab, "lab")
    return _matmul3(_oklab_to_lms(lab), _MT_LINEAR_FROM_LMS)


def rgb_to_oklab(rgb):
    """Convert sRGB to OKLab.

    Parameters
    ----------
    rgb : array_like of shape (..., 3), float
        sRGB-encoded components in [0, 1].

    Returns
    -------
    lab : ndarray of shape (..., 3)
        OKLab ``(L, a, b)`` with L in [0, 1], same float dtype as ``rgb``.

    See Also
    --------
    oklab_to_rgb : The inverse.

    References
    ----------
    .. [1] B. Ottosson, "A perceptual color space for image processing",
       2020. https://bottosson.github.io/posts/oklab/

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import rgb_to_oklab
    >>> rgb_to_oklab(np.array([[1.0, 0.0, 0.0], [0.2, 0.4, 0.6]])).round(3)
    array([[ 0.628,  0.225,  0.126],
           [ 0.499, -0.033, -0.093]])
    """
    return linear_rgb_to_oklab(srgb_to_linear(rgb))


def oklab_to_rgb(lab):
    """Convert OKLab to sRGB.

    Parameters
    ----------
    lab : array_like of shape (..., 3), float
        OKLab ``(L, a, b)``.

    Returns
    -------
    rgb : ndarray of shape (..., 3)
        sRGB-encoded components, not clipped, same float dtype as ``lab``.

    See Also
    --------
    rgb_to_oklab : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import oklab_to_rgb
    >>> oklab_to_rgb(np.array([0.6, 0.1, 0.05])).round(3)
    array([0.728, 0.392, 0.36 ])
    """
    return linear_to_srgb(oklab_to_linear_rgb(lab))


# ---------------------------------------------------------------------------
# DIN99o
# ---------------------------------------------------------------------------


def lab_to_din99o(lab):
    """Convert CIELAB to DIN99o (DIN 6176:2001, kE = kCH = 1).

    Parameters
    ----------
    lab : array_like of shape (..., 3), float
        CIELAB ``(L*, a*, b*)`` (D65).

    Returns
    -------
    din : ndarray of shape (..., 3)
        ``(L99o, a99o, b99o)``, same float dtype as ``lab``; L99o in
        [0, 100] for L* in [0, 100], extended as an odd function to
        negative L* (out-of-gamut values).

    See Also
    --------
    din99o_to_lab : The inverse.

    Notes
    -----
    With ``e = a* cos 26° + b* sin 26°``, ``f = 0.83 (b* cos 26° - a* sin 26°)``
    and ``G = sqrt(e² + f²)``:

    ``L99o = 303.67 ln(1 + 0.0039 L*)``, ``C99o = ln(1 + 0.075 G) / 0.0435``,
    ``h99o = atan2(f, e) + 26°``, ``a99o = C99o cos h99o``,
    ``b99o = C99o sin h99o``.

    The Euclidean distance in DIN99o is a colour-difference formula of its
    own (ΔE99o), close to CIEDE2000 on small differences [1]_, which is why
    k-means in this space lowers CIEDE2000 more than k-means in CIELAB.

    References
    ----------
    .. [1] Cui, G., Luo, M. R., Rigg, B., Roesler, G. and Witt, K. (2002).
       Uniform colour spaces based on the DIN99 colour-difference formula.
       Color Research & Application 27(4), 282-290.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import lab_to_din99o
    >>> lab_to_din99o(np.array([[100.0, 0.0, 0.0], [50.0, 20.0, -10.0]])).round(3)
    array([[100.   ,   0.   ,   0.   ],
           [ 54.098,  19.654,  -7.668]])
    """
    lab = _as_float3(lab, "lab")
    dtype = lab.dtype.type
    out = np.empty_like(lab)
    # Odd extension below L* = 0 (out-of-gamut input), where the standard's
    # logarithm would be undefined from L* = -256 on.
    lightness = lab[..., 0]
    out[..., 0] = np.log1p(np.abs(lightness) * dtype(_DIN99O_L_RATE))
    out[..., 0] *= np.copysign(dtype(_DIN99O_L_SCALE), lightness)
    ab = lab[..., 1:] @ _DIN99O_EF_FROM_AB.T.astype(lab.dtype)
    g = np.hypot(ab[..., 0], ab[..., 1])
    # C99o / G, with its limit at G = 0.
    ratio = np.full_like(g, _DIN99O_C_RATE / _DIN99O_C_SCALE)
    positive = g > 0
    ratio[positive] = np.log1p(dtype(_DIN99O_C_RATE) * g[positive]) / (
        dtype(_DIN99O_C_SCALE) * g[positive]
    )
    out[..., 1:] = (ab @ _DIN99O_ROTATE.T.astype(lab.dtype)) * ratio[..., None]
    return out


def din99o_to_lab(din):
    """Convert DIN99o (DIN 6176:2001, kE = kCH = 1) to CIELAB.

    Parameters
    ----------
    din : array_like of shape (..., 3), float
        ``(L99o, a99o, b99o)``.

    Returns
    -------
    lab : ndarray of shape (..., 3)
        CIELAB ``(L*, a*, b*)``, same float dtype as ``din``.

    See Also
    --------
    lab_to_din99o : The inverse, with the formulas.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import din99o_to_lab, lab_to_din99o
    >>> lab = np.array([[50.0, 20.0, -10.0], [0.0, 0.0, 0.0]])
    >>> np.allclose(din99o_to_lab(lab_to_din99o(lab)), lab)
    True
    """
    din = _as_float3(din, "din")
    dtype = din.dtype.type
    out = np.empty_like(din)
    lightness = din[..., 0]
    out[..., 0] = np.expm1(np.abs(lightness) / dtype(_DIN99O_L_SCALE))
    out[..., 0] *= np.copysign(1 / dtype(_DIN99O_L_RATE), lightness)
    c = np.hypot(din[..., 1], din[..., 2])
    # G / C99o, with its limit at C99o = 0.
    ratio = np.full_like(c, _DIN99O_C_SCALE / _DIN99O_C_RATE)
    positive = c > 0
    ratio[positive] = np.expm1(dtype(_DIN99O_C_SCALE) * c[positive]) / (
        dtype(_DIN99O_C_RATE) * c[positive]
    )
    out[..., 1:] = (
        din[..., 1:] * ratio[..., None]
    ) @ _DIN99O_AB_DIRECTION_INV.T.astype(din.dtype)
    return out


def linear_rgb_to_din99o(lin):
    """Linear-light sRGB -> DIN99o (through CIELAB, D65)."""
    return lab_to_din99o(linear_rgb_to_lab(lin))


def din99o_to_linear_rgb(din):
    """DIN99o -> linear-light sRGB, not clipped."""
    return lab_to_linear_rgb(din99o_to_lab(din))


def rgb_to_din99o(rgb):
    """Convert sRGB in [0, 1] to DIN99o (through CIELAB, D65).

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import rgb_to_din99o
    >>> rgb_to_din99o(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])).round(1)
    array([[100.,  -0.,   0.],
           [  0.,  -0.,  -0.]])
    """
    return lab_to_din99o(rgb_to_lab(rgb))


def din99o_to_rgb(din):
    """Convert DIN99o to sRGB, not clipped (the inverse of :func:`rgb_to_din99o`)."""
    return lab_to_rgb(din99o_to_lab(din))


# ---------------------------------------------------------------------------
# Dispatch used by the estimator
# ---------------------------------------------------------------------------

_FROM_RGB = {"lab": rgb_to_lab, "oklab": rgb_to_oklab, "din99o": rgb_to_din99o}
_TO_RGB = {"lab": lab_to_rgb, "oklab": oklab_to_rgb, "din99o": din99o_to_rgb}
_FROM_LINEAR = {
    "rgb": linear_to_srgb,
    "lab": linear_rgb_to_lab,
    "oklab": linear_rgb_to_oklab,
    "din99o": linear_rgb_to_din99o,
}
_TO_LINEAR = {
    "rgb": srgb_to_linear,
    "lab": lab_to_linear_rgb,
    "oklab": oklab_to_linear_rgb,
    "din99o": din99o_to_linear_rgb,
}


def _check_space(space):
    if space not in COLOR_SPACES:
        raise ValueError(
            f"space={space!r} is not supported; use one of {COLOR_SPACES}."
        )


def to_working(rgb, space):
    """Convert sRGB in [0, 1] to a working colour space.

    Parameters
    ----------
    rgb : array_like of shape (..., 3), float
        sRGB-encoded components in [0, 1].
    space : {'rgb', 'lab', 'oklab', 'din99o'}
        Working colour space. ``'rgb'`` is the identity and returns ``rgb``
        itself (as an ndarray, without copying).

    Returns
    -------
    values : ndarray of shape (..., 3)
        Colours in the working space, same float dtype as ``rgb``.

    See Also
    --------
    from_working : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import to_working
    >>> rgb = np.array([[0.2, 0.4, 0.6]])
    >>> to_working(rgb, "rgb") is rgb
    True
    >>> to_working(rgb, "oklab").round(3)
    array([[ 0.499, -0.033, -0.093]])
    """
    _check_space(space)
    if space == "rgb":
        return _as_float3(rgb, "rgb")
    return _FROM_RGB[space](rgb)


def from_working(values, space):
    """Convert colours from a working space back to sRGB.

    Parameters
    ----------
    values : array_like of shape (..., 3), float
        Colours in the working space.
    space : {'rgb', 'lab', 'oklab', 'din99o'}
        Working colour space. ``'rgb'`` is the identity and returns
        ``values`` itself (as an ndarray, without copying).

    Returns
    -------
    rgb : ndarray of shape (..., 3)
        sRGB-encoded components, not clipped, same float dtype as
        ``values``.

    See Also
    --------
    to_working : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import from_working, to_working
    >>> rgb = np.array([[0.2, 0.4, 0.6]])
    >>> np.allclose(from_working(to_working(rgb, "lab"), "lab"), rgb)
    True
    """
    _check_space(space)
    if space == "rgb":
        return _as_float3(values, "values")
    return _TO_RGB[space](values)


def linear_to_working(lin, space):
    """Convert linear-light sRGB straight to a working colour space.

    Parameters
    ----------
    lin : array_like of shape (..., 3), float
        Linear-light sRGB components.
    space : {'rgb', 'lab', 'oklab', 'din99o'}
        Working colour space (``'rgb'`` means sRGB-encoded).

    Returns
    -------
    values : ndarray of shape (..., 3)
        Colours in the working space, same float dtype as ``lin``.

    See Also
    --------
    working_to_linear : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import linear_to_working
    >>> linear_to_working(np.array([1.0, 1.0, 1.0]), "rgb")
    array([1., 1., 1.])
    """
    _check_space(space)
    return _FROM_LINEAR[space](lin)


def working_to_linear(values, space):
    """Convert colours from a working space to linear-light sRGB.

    Parameters
    ----------
    values : array_like of shape (..., 3), float
        Colours in the working space.
    space : {'rgb', 'lab', 'oklab', 'din99o'}
        Working colour space (``'rgb'`` means sRGB-encoded).

    Returns
    -------
    lin : ndarray of shape (..., 3)
        Linear-light sRGB components, not clipped, same float dtype as
        ``values``.

    See Also
    --------
    linear_to_working : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import working_to_linear
    >>> working_to_linear(np.array([1.0, 0.0, 0.0]), "oklab").round(6)
    array([1., 1., 1.])
    """
    _check_space(space)
    return _TO_LINEAR[space](values)
