"""sRGB transfer function, CIE XYZ and CIELAB.

Part of :mod:`skquant._color` (see there for conventions).
"""

import numpy as np

from skquant._color._base import (
    _F_FROM_LAB,
    _LAB_FROM_F,
    _LAB_L_OFFSET,
    _LINEAR_FROM_XYZ,
    _LINEAR_FROM_XYZN,
    _SRGB_ENCODED_KNEE,
    _SRGB_GAMMA,
    _SRGB_LINEAR_KNEE,
    _SRGB_OFFSET,
    _SRGB_SLOPE,
    _XYZ_FROM_LINEAR,
    _XYZN_FROM_LINEAR,
    _as_float3,
    _lab_f,
    _lab_f_inv,
    _matmul3,
)

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
    return _matmul3(lin, _XYZ_FROM_LINEAR)


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
    return _matmul3(xyz, _LINEAR_FROM_XYZ)


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
    lab = _matmul3(_lab_f(_matmul3(lin, _XYZN_FROM_LINEAR)), _LAB_FROM_F)
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
    return _matmul3(_lab_f_inv(_matmul3(shifted, _F_FROM_LAB)), _LINEAR_FROM_XYZN)


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
