"""The ``'perceptual'`` working space: part way from sRGB to DIN99o.

Part of :mod:`skquant._color` (see there for conventions).

Euclidean distance between sRGB values is what PSNR measures; distance in
DIN99o follows CIEDE2000. This space mixes the two coordinates::

    perceptual(rgb) = (1 - w) * (rgb @ M + c) + w * din99o(rgb)

where ``rgb @ M + c`` is sRGB turned and scaled as a whole (``M`` is 71.79
times a rotation: distances there are sRGB distances times 71.79) so that it
lies as close as it can to DIN99o (an orthogonal Procrustes fit with scale,
on an 18 x 18 x 18 grid of the sRGB cube), and ``w`` is
:data:`PERCEPTUAL_WEIGHT`. With ``w = 0`` k-means here is k-means in sRGB,
with ``w = 1`` k-means in DIN99o. Near ``w = 0`` the sRGB error is at its
minimum, so a small step towards DIN99o costs little PSNR for a first-order
gain in CIEDE2000; :data:`PERCEPTUAL_WEIGHT` is the step that lowers mean
CIEDE2000 clearly while keeping PSNR above libimagequant's on the benchmark
photos (see ``docs/user_guide/color_spaces.rst``).

The inverse has no closed form: :func:`perceptual_to_rgb` solves for the
sRGB colour by Newton's method.
"""

import numpy as np

from skquant._color._base import _as_float3
from skquant._color._oklab_din99o import rgb_to_din99o
from skquant._color._srgb_lab import linear_to_srgb, srgb_to_linear

#: How far the space lies from sRGB (0) towards DIN99o (1).
PERCEPTUAL_WEIGHT = 0.25

# sRGB in [0, 1] -> the sRGB part of the space: rgb @ _PERCEPTUAL_M + _C.
# 71.794 times a rotation, fitted (with the offset) to DIN99o by least
# squares; ``tests/test_color.py`` recomputes it.
_PERCEPTUAL_RGB_MATRIX = np.array(
    [
        [38.89150920406872, 54.256090286646774, 26.42264341955369],
        [52.89071646961396, -45.78142764477932, 16.157410088765715],
        [29.059448201928337, 10.712910727382916, -64.77044789552082],
    ]
)
_PERCEPTUAL_RGB_OFFSET = np.array(
    [0.7640725375466815, -5.715015040731554, 13.592578466311931]
)

#: Newton steps of the inverse, and the step of its numerical Jacobian.
_NEWTON_STEPS = 30
_JACOBIAN_STEP = 1e-6


def procrustes_fit(n_grid=18):
    """``(M, c)``: the scaled rotation and offset taking sRGB closest to DIN99o.

    Minimises ``sum |rgb @ M + c - din99o(rgb)|**2`` over an ``n_grid``-point
    grid on each axis of the sRGB cube, ``M`` a rotation times a scale (the
    orthogonal Procrustes problem). The frozen constants of this module are
    this fit; ``tests/test_color.py`` checks it.
    """
    axis = np.linspace(0.0, 1.0, n_grid)
    rgb = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    din = rgb_to_din99o(rgb)
    x, y = rgb - rgb.mean(0), din - din.mean(0)
    u, s, vt = np.linalg.svd(x.T @ y)
    if np.linalg.det(u @ vt) < 0:
        u[:, -1] *= -1
        s[-1] *= -1
    matrix = (s.sum() / (x**2).sum()) * (u @ vt)
    return matrix, din.mean(0) - rgb.mean(0) @ matrix


def rgb_to_perceptual(rgb):
    """Convert sRGB in [0, 1] to the ``'perceptual'`` working space.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import rgb_to_perceptual
    >>> rgb_to_perceptual(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])).round(1)
    array([[116.2,  10.1,  -6.4],
           [  0.6,  -4.3,  10.2]])
    """
    rgb = _as_float3(rgb, "rgb")
    w = PERCEPTUAL_WEIGHT
    affine = rgb @ _PERCEPTUAL_RGB_MATRIX.astype(rgb.dtype) + _PERCEPTUAL_RGB_OFFSET
    return ((1.0 - w) * affine + w * rgb_to_din99o(rgb)).astype(rgb.dtype)


def perceptual_to_rgb(values):
    """Convert ``'perceptual'`` values to sRGB, not clipped.

    The inverse of :func:`rgb_to_perceptual`, by Newton's method from the
    inverse of its sRGB part. Values that no sRGB colour in ``[-0.5, 1.5]``
    reaches (far outside the gamut) give the nearest such colour found.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import perceptual_to_rgb, rgb_to_perceptual
    >>> rgb = np.array([[0.2, 0.4, 0.6], [1.0, 0.0, 0.0]])
    >>> np.allclose(perceptual_to_rgb(rgb_to_perceptual(rgb)), rgb)
    True
    """
    values = _as_float3(values, "values")
    dtype = values.dtype
    target = values.reshape(-1, 3).astype(np.float64)
    # start from the inverse of the sRGB part alone
    rgb = np.linalg.solve(
        _PERCEPTUAL_RGB_MATRIX.T, (target - _PERCEPTUAL_RGB_OFFSET).T
    ).T
    rgb = np.clip(rgb, -0.5, 1.5)
    eye = np.eye(3) * _JACOBIAN_STEP
    for _ in range(_NEWTON_STEPS):
        current = rgb_to_perceptual(rgb)
        residual = target - current
        if np.all(np.abs(residual) < 1e-10):
            break
        jacobian = np.stack(
            [
                (rgb_to_perceptual(rgb + eye[j]) - current) / _JACOBIAN_STEP
                for j in range(3)
            ],
            axis=-1,
        )
        # normal equations with a tiny ridge: never singular (the Jacobian's
        # singular values are 53-163 on the sRGB cube)
        normal = np.swapaxes(jacobian, -1, -2)
        step = np.linalg.solve(
            normal @ jacobian + 1e-9 * np.eye(3), normal @ residual[..., None]
        )[..., 0]
        rgb = np.clip(rgb + step, -0.5, 1.5)
    return rgb.reshape(values.shape).astype(dtype)


def linear_rgb_to_perceptual(lin):
    """Convert linear-light sRGB to the ``'perceptual'`` working space."""
    return rgb_to_perceptual(linear_to_srgb(lin))


def perceptual_to_linear_rgb(values):
    """Convert ``'perceptual'`` values to linear-light sRGB, not clipped."""
    return srgb_to_linear(perceptual_to_rgb(values))
