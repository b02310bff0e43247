"""The sums of a round of the ``'perceptual'`` palette's refinement.

:func:`blend_sums` is the pass over the colours that
:func:`skquant._engine._perceptual.refine_blended` makes each round: what
its Gauss-Newton step needs per centre, in one loop instead of a dozen
array operations over every colour. Its arguments are checked before they
reach the compiled loop (:mod:`skquant._kernels._checks`): a label beyond
the centres would make it write outside its arrays.
"""

import numpy as np

from skquant._kernels._cache import kernel
from skquant._kernels._checks import labels_for


def blend_sums(labels, rgb, din, weights, centre_din, floor, n_centers):
    """Per-centre sums of a round of the blended refinement.

    Parameters
    ----------
    labels : ndarray of shape (n,), int
        Each colour's centre.
    rgb, din : ndarray of shape (n, 3), float64
        The colours in sRGB and DIN99o.
    weights : ndarray of shape (n,), float64
    centre_din : ndarray of shape (n_centers, 3), float64
        The centres in DIN99o.
    floor : float
        Distances below it count as it in the reweighting.
    n_centers : int

    Returns
    -------
    mass : ndarray of shape (n_centers,)
        Sum of ``w``.
    sums : ndarray of shape (n_centers, 3)
        Sum of ``w * rgb``.
    total : float
        Sum of ``w * d`` over all colours, ``d`` the DIN99o distance to the
        colour's centre.
    u_mass : ndarray of shape (n_centers,)
        Sum of ``u = w / max(d, floor)``.
    u_offset : ndarray of shape (n_centers, 3)
        Sum of ``u * (din - centre_din)``.
    """
    n_centers = int(n_centers)
    labels = labels_for(labels, n_centers)
    n = labels.shape[0]
    rgb, din = (np.ascontiguousarray(a, dtype=np.float64) for a in (rgb, din))
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    centre_din = np.ascontiguousarray(centre_din, dtype=np.float64)
    if labels.ndim != 1 or rgb.shape != (n, 3) or din.shape != (n, 3):
        raise ValueError(
            f"labels (n,), rgb and din (n, 3) must agree, got shapes "
            f"{labels.shape}, {rgb.shape} and {din.shape}."
        )
    if weights.shape != (n,) or centre_din.shape != (n_centers, 3):
        raise ValueError(
            f"weights must have shape ({n},) and centre_din ({n_centers}, 3), "
            f"got {weights.shape} and {centre_din.shape}."
        )
    return _blend_sums(labels, rgb, din, weights, centre_din, float(floor), n_centers)


@kernel
def _blend_sums(labels, rgb, din, weights, centre_din, floor, n_centers):
    """The compiled loop of :func:`blend_sums` (arguments checked there)."""
    mass = np.zeros(n_centers)
    sums = np.zeros((n_centers, 3))
    u_mass = np.zeros(n_centers)
    u_offset = np.zeros((n_centers, 3))
    total = 0.0
    for i in range(labels.shape[0]):
        j = labels[i]
        w = weights[i]
        o0 = din[i, 0] - centre_din[j, 0]
        o1 = din[i, 1] - centre_din[j, 1]
        o2 = din[i, 2] - centre_din[j, 2]
        d = np.sqrt(o0 * o0 + o1 * o1 + o2 * o2)
        total += w * d
        mass[j] += w
        sums[j, 0] += w * rgb[i, 0]
        sums[j, 1] += w * rgb[i, 1]
        sums[j, 2] += w * rgb[i, 2]
        u = w / max(d, floor)
        u_mass[j] += u
        u_offset[j, 0] += u * o0
        u_offset[j, 1] += u * o1
        u_offset[j, 2] += u * o2
    return mass, sums, total, u_mass, u_offset
