"""OKLab and DIN99o.

Part of :mod:`skquant._color` (see there for conventions).
"""

import numpy as np

from skquant._color._base import (
    _DIN99O_AB_DIRECTION_INV,
    _DIN99O_C_RATE,
    _DIN99O_C_SCALE,
    _DIN99O_EF_FROM_AB,
    _DIN99O_L_RATE,
    _DIN99O_L_SCALE,
    _DIN99O_ROTATE,
    _LINEAR_FROM_LMS,
    _LMS_FROM_LINEAR,
    _OKLAB_M1,
    _OKLAB_M1_INV,
    _OKLAB_M2,
    _OKLAB_M2_INV,
    _as_float3,
    _matmul3,
)
from skquant._color._srgb_lab import (
    lab_to_linear_rgb,
    lab_to_rgb,
    linear_rgb_to_lab,
    linear_to_srgb,
    rgb_to_lab,
    srgb_to_linear,
)

# ---------------------------------------------------------------------------
# OKLab
# ---------------------------------------------------------------------------


def _lms_to_oklab(lms):
    """Cube root then M2, in place on a fresh LMS array."""
    return _matmul3(np.cbrt(lms, out=lms), _OKLAB_M2)


def _oklab_to_lms(lab):
    """M2 inverse then cube; returns a fresh array."""
    lms_ = _matmul3(lab, _OKLAB_M2_INV)
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
    return _lms_to_oklab(_matmul3(xyz, _OKLAB_M1))


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
    return _matmul3(_oklab_to_lms(lab), _OKLAB_M1_INV)


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
    return _lms_to_oklab(_matmul3(lin, _LMS_FROM_LINEAR))


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
    return _matmul3(_oklab_to_lms(lab), _LINEAR_FROM_LMS)


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
