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
gain in CIEDE2000.

Two weights play a part. Pixels are mapped to the nearest palette colour in
the space of :data:`PERCEPTUAL_WEIGHT` (the compiled kernels use it); the
palette is *fitted* (k-means) with :func:`fit_weight` ``(n_colors)``, more
towards DIN99o for small palettes. With few colours, the fit decides which
colours get an entry at all: weighting it towards DIN99o buys CIEDE2000 at
almost no cost in PSNR (0.3 against the mapping's weight, at K = 8-64:
-0.5 to -0.8 % CIEDE2000 for at most -0.015 dB, medians of 10 photos, mean
of 3 seeds). A dense palette has an entry near every colour, and what
decides PSNR is which one a pixel is mapped to, so at K = 256 the fit uses
the mapping's own weight (0.3 there costs 0.05 dB). See
``docs/user_guide/color_spaces.rst``.

The inverse has no closed form: :func:`perceptual_to_rgb` solves for the
sRGB colour by Newton's method.
"""

import numpy as np

from skquant._color._base import _as_float3
from skquant._color._oklab_din99o import rgb_to_din99o
from skquant._color._srgb_lab import linear_to_srgb, srgb_to_linear

#: How far the space lies from sRGB (0) towards DIN99o (1): the space in
#: which pixels are mapped to the nearest palette colour.
PERCEPTUAL_WEIGHT = 0.2

#: The weight palettes of up to ``FIT_WEIGHT_COLORS[0]`` colours are fitted
#: with, falling (linearly in log K) to :data:`PERCEPTUAL_WEIGHT` at
#: ``FIT_WEIGHT_COLORS[1]`` colours and beyond (:func:`fit_weight`).
FIT_WEIGHT_SMALL = 0.3
FIT_WEIGHT_COLORS = (64, 256)

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
#: Up to this many values (palettes), each Newton step converts the values
#: and their three moved copies in one call: for small arrays the calls
#: cost more than the arithmetic (the same values either way).
_BATCH_ROWS = 4096


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


def fit_weight(n_colors):
    """The weight a palette of ``n_colors`` colours is fitted with.

    :data:`FIT_WEIGHT_SMALL` up to ``FIT_WEIGHT_COLORS[0]`` colours,
    :data:`PERCEPTUAL_WEIGHT` from ``FIT_WEIGHT_COLORS[1]`` on, linear in
    ``log(n_colors)`` between.

    Examples
    --------
    >>> from skquant._color._perceptual import fit_weight
    >>> [round(fit_weight(k), 3) for k in (8, 64, 128, 256, 1024)]
    [0.3, 0.3, 0.25, 0.2, 0.2]
    """
    small, large = np.log(FIT_WEIGHT_COLORS)
    t = np.clip((np.log(max(n_colors, 1)) - small) / (large - small), 0.0, 1.0)
    return float(FIT_WEIGHT_SMALL + t * (PERCEPTUAL_WEIGHT - FIT_WEIGHT_SMALL))


def rgb_to_perceptual(rgb, weight=None, din=None):
    """Convert sRGB in [0, 1] to the ``'perceptual'`` working space.

    ``weight`` (default :data:`PERCEPTUAL_WEIGHT`) is how far towards DIN99o
    the space lies; ``din``: ``rgb_to_din99o(rgb)``, when already known.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._color import rgb_to_perceptual
    >>> rgb_to_perceptual(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])).round(1)
    array([[117.3,  10.8,  -6.9],
           [  0.6,  -4.6,  10.9]])
    """
    rgb = _as_float3(rgb, "rgb")
    w = PERCEPTUAL_WEIGHT if weight is None else weight
    affine = rgb @ _PERCEPTUAL_RGB_MATRIX.astype(rgb.dtype) + _PERCEPTUAL_RGB_OFFSET
    din = rgb_to_din99o(rgb) if din is None else din
    return ((1.0 - w) * affine + w * din).astype(rgb.dtype)


def perceptual_to_rgb(values, weight=None, start=None):
    """Convert ``'perceptual'`` values to sRGB, not clipped.

    The inverse of :func:`rgb_to_perceptual` (with the same ``weight``), by
    Newton's method from the inverse of its sRGB part, or from ``start``
    (sRGB colours near the answer, the shape of ``values``: fewer steps).
    Values that no sRGB colour in ``[-0.5, 1.5]`` reaches (far outside the
    gamut) give the nearest such colour found.

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
    w = PERCEPTUAL_WEIGHT if weight is None else weight
    if start is None:
        # start from the inverse of the sRGB part alone
        start = np.linalg.solve(
            _PERCEPTUAL_RGB_MATRIX.T, (target - _PERCEPTUAL_RGB_OFFSET).T
        ).T
    rgb = np.clip(np.asarray(start, np.float64).reshape(-1, 3), -0.5, 1.5)
    eye = np.eye(3) * _JACOBIAN_STEP
    n = len(rgb)
    for _ in range(_NEWTON_STEPS):
        if n <= _BATCH_ROWS:  # the colours and their moved copies at once
            both = rgb_to_perceptual(np.concatenate([rgb, *(rgb + e for e in eye)]), w)
            current, moved = both[:n], np.split(both[n:], 3)
        else:
            current, moved = rgb_to_perceptual(rgb, w), None
        residual = target - current
        if np.all(np.abs(residual) < 1e-10):
            break
        if moved is None:
            moved = [rgb_to_perceptual(rgb + e, w) for e in eye]
        jacobian = np.stack(
            [(moved[j] - current) / _JACOBIAN_STEP for j in range(3)], axis=-1
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
