"""The fit of ``color_space='perceptual'``: its space, restarts and refinement.

:func:`~skquant._engine._learn.learn_palette` fits a ``'perceptual'``
palette in :class:`PerceptualFit` (the space at
:func:`~skquant._color._perceptual.fit_weight` ``(n_colors)``), keeps the
best of :func:`perceptual_runs` k-means runs by :func:`palette_objective`
(:func:`best_perceptual_run`), and moves the centres of that run with
:func:`refine_perceptual`.
"""

import numpy as np

from skquant._color._oklab_din99o import rgb_to_din99o
from skquant._color._perceptual import fit_weight, perceptual_to_rgb, rgb_to_perceptual
from skquant._image import full_scale

#: k-means runs (each seeded by k-means++ with the next random numbers) a
#: ``'perceptual'`` palette of up to ``PERCEPTUAL_RUNS_MAX_COLORS`` colours
#: is chosen from, by :func:`palette_objective` (one run beyond). Measured on
#: the ten photos of ``benchmarks/bench_quality.py`` (mean of the medians
#: of seeds 0-2, against libimagequant): K=16 -4.8 % / +0.08 dB with one
#: run, -5.5 % / +0.10 dB with three; K=64 -5.2 % / +0.18 dB -> -5.6 % /
#: +0.20 dB; at K=256 three runs gain nothing (-5.6 % / +0.11 -> +0.12 dB)
#: and cost the most.
PERCEPTUAL_RUNS = 3
PERCEPTUAL_RUNS_MAX_COLORS = 64


def perceptual_runs(space, n_colors, settings, *, fixed, previous, init_work):
    """How many k-means runs a palette is chosen from (1: no choice).

    :data:`PERCEPTUAL_RUNS` for an opaque ``'perceptual'`` fit of up to
    :data:`PERCEPTUAL_RUNS_MAX_COLORS` colours seeded by a named ``init``
    (not by given centres, earlier centres or fixed colours), else 1.
    """
    seeded = isinstance(settings.init, str)
    given = fixed is not None or previous is not None or init_work is not None
    if (
        space.color_space != "perceptual"
        or space.alpha
        or n_colors > PERCEPTUAL_RUNS_MAX_COLORS
        or not seeded
        or given
    ):
        return 1
    return PERCEPTUAL_RUNS


class ObjectivePoints:
    """What :func:`palette_objective` compares palettes on, computed once.

    Parameters
    ----------
    points : Points
        The points a palette is fitted to (input units, with weights).
    space : WorkingSpace
        The ``'perceptual'`` space (3 channels) pixels are mapped in.
    """

    def __init__(self, points, space):
        self.space = space
        self.scale = full_scale(space.dtype)
        pixels = np.asarray(points.points)
        self.rgb = space.to_rgb(pixels).astype(np.float64) / self.scale
        self.din = rgb_to_din99o(self.rgb)
        self.mapped = space.to_working(pixels).astype(np.float64)
        weights = points.weights
        self.weights = np.ones(len(pixels)) if weights is None else weights
        self.weighted_rgb = self.rgb.T * self.weights
        self.weighted_norm = float(np.dot(self.weights, (self.rgb**2).sum(axis=1)))


def palette_objective(target, centers):
    """``log(mean DIN99o distance) + log(mean squared sRGB error)``.

    The two measures a ``'perceptual'`` palette is for: mean CIEDE2000
    (DIN99o distances follow it) and PSNR (``-10 log10`` of the mean
    squared sRGB error), with every point mapped to its nearest colour as
    ``transform`` maps pixels. Equal weight on the logarithms: a palette
    that lowers one error by a given fraction may raise the other by the
    same fraction. Lower is better.

    Parameters
    ----------
    target : ObjectivePoints
    centers : ndarray of shape (n_colors, 3)
        Palette colours in the input's units (float).

    Returns
    -------
    float
    """
    from skquant._kernels import assign_labels

    space = target.space
    work = space.to_working(np.asarray(centers)).astype(np.float64)
    labels = assign_labels(target.mapped, work)
    rgb = space.to_rgb(np.asarray(centers, np.float64)) / target.scale
    rgb = np.clip(rgb, 0.0, 1.0)
    offset = target.din - rgb_to_din99o(rgb)[labels]
    distance = np.sqrt(np.einsum("ij,ij->i", offset, offset))
    # sum of w * |x - c|^2 from per-cluster sums: |x|^2 - 2 c.x + |c|^2
    n = len(rgb)
    w = target.weights
    mass = np.bincount(labels, weights=w, minlength=n)
    sums = np.stack(
        [np.bincount(labels, weights=wx, minlength=n) for wx in target.weighted_rgb],
        axis=1,
    )
    squared = target.weighted_norm - 2.0 * np.sum(sums * rgb) + mass @ (rgb**2).sum(1)
    return float(np.log(np.dot(w, distance)) + np.log(max(squared, 1e-300)))


def best_perceptual_run(
    learn, runs, points, *, n_colors, space, settings, rng, warning
):
    """The palette of the best of ``runs`` k-means runs, refined.

    ``learn`` is :func:`~skquant._engine._learn.learn_palette`: each run is
    one of its fits without :func:`refine_perceptual`, the next random
    numbers of ``rng`` seeding it; the run with the lowest
    :func:`palette_objective` is then refined (a fit started from its
    centres). Returns what ``learn`` returns (``n_iter`` counts every run).
    """
    target = ObjectivePoints(points, space)
    common = {"n_colors": n_colors, "space": space, "settings": settings}
    best, n_iter = None, 0
    for _ in range(runs):
        _, centers, iterations, _ = learn(
            points, rng=rng, warning=warning, runs=1, refine=False, **common
        )
        n_iter += iterations
        score = palette_objective(target, centers)
        if best is None or score < best[0]:
            best = (score, centers)
    palette, centers, iterations, inertia = learn(
        points,
        rng=rng,
        warning=warning,
        runs=1,
        init_work=space.to_working(best[1]).astype(np.float64),
        **common,
    )
    return palette, centers, n_iter + iterations, inertia


class PerceptualFit:
    """The space a ``'perceptual'`` palette of ``n_colors`` is fitted in.

    The ``'perceptual'`` space with
    :func:`~skquant._color._perceptual.fit_weight` ``(n_colors)`` instead of
    :data:`~skquant._color._perceptual.PERCEPTUAL_WEIGHT` (the space pixels
    are mapped in): the ``to_working`` / ``from_working`` of
    ``space`` (a 3-channel :class:`WorkingSpace`) at that weight.
    """

    color_space = "perceptual"

    def __init__(self, space, n_colors):
        self.mapping, self.dtype = space, space.dtype
        self.weight = fit_weight(n_colors)
        self.scale = full_scale(space.dtype)

    def to_working(self, pixels):
        rgb = self.mapping.to_rgb(np.asarray(pixels)).astype(np.float64) / self.scale
        return rgb_to_perceptual(rgb, self.weight)

    def from_working(self, values, start=None):
        rgb = perceptual_to_rgb(np.asarray(values, np.float64), self.weight, start)
        return self.mapping.to_rgb(np.clip(rgb, 0.0, 1.0) * self.scale)

    def nearest_mapped(self, points):
        """``labels(centers)``: nearest centre of ``points`` where pixels are mapped."""
        from skquant._kernels import assign_labels

        mapped = self.mapping.to_working(points).astype(np.float64)
        last = {}  # sRGB of the previous centres: Newton's start for the next

        def labels(centers):
            rgb = perceptual_to_rgb(centers, self.weight, last.get(centers.shape))
            last[centers.shape] = rgb
            moved = rgb_to_perceptual(np.clip(rgb, 0.0, 1.0))
            return assign_labels(mapped, moved)

        return labels


#: The refinement of ``color_space='perceptual'``: steps that minimise the
#: sum of ``distance ** REFINE_POWER`` (between k-means' squares and
#: k-medians' plain distances), distances below ``REFINE_FLOOR`` (working
#: units, about half a CIEDE2000 unit) counted as that floor: at most
#: ``REFINE_ROUNDS`` nearest-centre assignments, each followed by
#: ``REFINE_STEPS`` reweighted means of the same clusters.
REFINE_POWER = 1.5
REFINE_FLOOR = 0.5
REFINE_ROUNDS = 4
REFINE_STEPS = 4


def refine_perceptual(points, weights, centers, n_fixed=0, nearest=None):
    """Move k-means centres towards the minimum of ``sum w * d ** 1.5``.

    Mean CIEDE2000 averages distances, not squared distances: k-means gives
    the few far-off colours too much say. Starting from the k-means centres,
    each step is a weighted mean with weights ``w * max(d, floor) **
    (REFINE_POWER - 2)`` (iteratively reweighted least squares, as
    Weiszfeld's algorithm for the geometric median, which is the power 1).
    On the ten benchmark photos (``benchmarks/bench_quality.py``) it lowers
    the median change of mean CIEDE2000 against libimagequant by 0-1.0
    points at K = 8 to 256, with PSNR within 0.01 dB; the power 1
    (k-medians) costs PSNR.

    Parameters
    ----------
    points : ndarray of shape (n_points, n_channels), float64
        Working-space points.
    weights : ndarray of shape (n_points,) or None
    centers : ndarray of shape (n_centers, n_channels), float64
        k-means centres; the first ``n_fixed`` never move.
    nearest : callable or None
        ``nearest(centers)``: the labels of the points, when they are mapped
        to the nearest centre in another space than ``points``' (a palette
        fitted with :class:`PerceptualFit`): the steps then move each centre
        to the minimum over the points mapped to it. None: nearest in
        ``points``' space.

    Returns
    -------
    centers, labels, inertia
        The refined centres, the labels of the points and their weighted
        sum of squared distances (the k-means inertia of the result).
    """
    from skquant._kernels import assign_labels

    if nearest is None:

        def nearest(centers):
            return assign_labels(points, centers)

    weights = np.ones(len(points)) if weights is None else weights
    centers = np.array(centers, dtype=np.float64)
    n_centers, n_channels = centers.shape
    labels = nearest(centers)
    moving = np.arange(n_centers) >= n_fixed
    for _ in range(REFINE_ROUNDS):
        # Weiszfeld-like steps on fixed clusters (no nearest-centre search)
        for _ in range(REFINE_STEPS):
            distance = np.sqrt(((points - centers[labels]) ** 2).sum(axis=1))
            w = weights * np.maximum(distance, REFINE_FLOOR) ** (REFINE_POWER - 2.0)
            mass = np.bincount(labels, weights=w, minlength=n_centers)
            filled = moving & (mass > 0)
            for j in range(n_channels):
                sums = np.bincount(
                    labels, weights=w * points[:, j], minlength=n_centers
                )
                centers[filled, j] = sums[filled] / mass[filled]
        new_labels = nearest(centers)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    d2 = ((points - centers[labels]) ** 2).sum(axis=1)
    return centers, labels, float(np.dot(weights, d2))
