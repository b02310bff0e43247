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
  distance follows perceived colour difference; L99o in [0, 100];
- ``perceptual``: a space part way from (turned and scaled) sRGB to DIN99o,
  in DIN99o-like units (see :mod:`skquant._color._perceptual`).

The estimator uses the small dispatch API at the bottom of the module
(:data:`COLOR_SPACES`, :func:`to_working`, :func:`from_working`,
:func:`linear_to_working`, :func:`working_to_linear`).
"""

import functools

from skquant._color._base import (  # noqa: F401
    _DIN99O_AB_DIRECTION,
    _DIN99O_C_RATE,
    _DIN99O_C_SCALE,
    _DIN99O_L_RATE,
    _DIN99O_L_SCALE,
    _LAB_EPSILON,
    _LAB_F_OFFSET,
    _LAB_FROM_F,
    _LAB_L_OFFSET,
    _LAB_SLOPE,
    _LMS_FROM_LINEAR,
    _OKLAB_M2,
    _SRGB_ENCODED_KNEE,
    _SRGB_GAMMA,
    _SRGB_LINEAR_KNEE,
    _SRGB_OFFSET,
    _SRGB_SLOPE,
    _XYZN_FROM_LINEAR,
    _as_float3,
)
from skquant._color._oklab_din99o import (  # noqa: F401
    din99o_to_lab,
    din99o_to_linear_rgb,
    din99o_to_rgb,
    lab_to_din99o,
    linear_rgb_to_din99o,
    linear_rgb_to_oklab,
    oklab_to_linear_rgb,
    oklab_to_rgb,
    oklab_to_xyz,
    rgb_to_din99o,
    rgb_to_oklab,
    xyz_to_oklab,
)
from skquant._color._perceptual import (  # noqa: F401
    PERCEPTUAL_WEIGHT,
    linear_rgb_to_perceptual,
    perceptual_to_linear_rgb,
    perceptual_to_rgb,
    rgb_to_perceptual,
)
from skquant._color._srgb_lab import (  # noqa: F401
    lab_to_linear_rgb,
    lab_to_rgb,
    linear_rgb_to_lab,
    linear_rgb_to_xyz,
    linear_to_srgb,
    rgb_to_lab,
    srgb_to_linear,
    srgb_u8_to_linear_table,
    xyz_to_linear_rgb,
)

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
    "linear_rgb_to_perceptual",
    "linear_to_working",
    "oklab_to_linear_rgb",
    "rgb_to_din99o",
    "oklab_to_rgb",
    "oklab_to_xyz",
    "perceptual_to_linear_rgb",
    "perceptual_to_rgb",
    "rgb_to_lab",
    "rgb_to_oklab",
    "rgb_to_perceptual",
    "srgb_to_linear",
    "srgb_u8_to_linear_table",
    "to_working",
    "working_to_linear",
    "xyz_to_linear_rgb",
    "xyz_to_oklab",
]

COLOR_SPACES = ("rgb", "lab", "oklab", "din99o", "perceptual")

# ---------------------------------------------------------------------------
# Dispatch used by the estimator
# ---------------------------------------------------------------------------

# ``'rgb'`` to and from sRGB is the identity: the input, checked, not copied.
_FROM_RGB = {
    "rgb": functools.partial(_as_float3, name="rgb"),
    "lab": rgb_to_lab,
    "oklab": rgb_to_oklab,
    "din99o": rgb_to_din99o,
    "perceptual": rgb_to_perceptual,
}
_TO_RGB = {
    "rgb": functools.partial(_as_float3, name="values"),
    "lab": lab_to_rgb,
    "oklab": oklab_to_rgb,
    "din99o": din99o_to_rgb,
    "perceptual": perceptual_to_rgb,
}
_FROM_LINEAR = {
    "rgb": linear_to_srgb,
    "lab": linear_rgb_to_lab,
    "oklab": linear_rgb_to_oklab,
    "din99o": linear_rgb_to_din99o,
    "perceptual": linear_rgb_to_perceptual,
}
_TO_LINEAR = {
    "rgb": srgb_to_linear,
    "lab": lab_to_linear_rgb,
    "oklab": oklab_to_linear_rgb,
    "din99o": din99o_to_linear_rgb,
    "perceptual": perceptual_to_linear_rgb,
}


def _converter(table, space):
    """The conversion of ``table`` for ``space``; a ValueError names the choices."""
    if space not in COLOR_SPACES:
        raise ValueError(
            f"space={space!r} is not supported; use one of {COLOR_SPACES}."
        )
    return table[space]


def to_working(rgb, space):
    """Convert sRGB in [0, 1] to a working colour space.

    Parameters
    ----------
    rgb : array_like of shape (..., 3), float
        sRGB-encoded components in [0, 1].
    space : {'rgb', 'lab', 'oklab', 'din99o', 'perceptual'}
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
    return _converter(_FROM_RGB, space)(rgb)


def from_working(values, space):
    """Convert colours from a working space back to sRGB.

    Parameters
    ----------
    values : array_like of shape (..., 3), float
        Colours in the working space.
    space : {'rgb', 'lab', 'oklab', 'din99o', 'perceptual'}
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
    return _converter(_TO_RGB, space)(values)


def linear_to_working(lin, space):
    """Convert linear-light sRGB straight to a working colour space.

    Parameters
    ----------
    lin : array_like of shape (..., 3), float
        Linear-light sRGB components.
    space : {'rgb', 'lab', 'oklab', 'din99o', 'perceptual'}
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
    return _converter(_FROM_LINEAR, space)(lin)


def working_to_linear(values, space):
    """Convert colours from a working space to linear-light sRGB.

    Parameters
    ----------
    values : array_like of shape (..., 3), float
        Colours in the working space.
    space : {'rgb', 'lab', 'oklab', 'din99o', 'perceptual'}
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
    return _converter(_TO_LINEAR, space)(values)
