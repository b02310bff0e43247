"""The fit of ``color_space='perceptual'``: its space, restarts and refinement.

:func:`~skquant._engine._learn.learn_palette` fits a ``'perceptual'``
palette in :class:`PerceptualFit` (the space at
:func:`~skquant._color._perceptual.fit_weight` ``(n_colors)``), keeps the
best of :func:`perceptual_runs` k-means runs by :func:`palette_objective`
(:func:`best_perceptual_run`; below 64 colours, the better of the two
best once refined), and moves the centres of that run with
:func:`refine_perceptual`: for opaque palettes, :func:`refine_blended` on
the distinct colours of the pixels (not the histogram's cells the k-means
runs on), towards the lowest ``log(mean DIN99o distance) + log(MSE)``;
below 64 colours, on the cells, followed by :func:`swap_search` (a centre
moved from where it is needed least to where most, when that lowers the
same objective). The runs and finalists of one fit share what they
derive from its points (:func:`derived`), and the refinement labels each
palette from the previous one's labels
(:class:`~skquant._kernels._lloyd.Relabeller`): the same palettes, at
about two thirds of the time.
"""

import numpy as np

from skquant._color._oklab_din99o import rgb_to_din99o
from skquant._color._perceptual import fit_weight, perceptual_to_rgb, rgb_to_perceptual
from skquant._histogram import distinct_colors
from skquant._image import full_scale

#: k-means runs (each seeded by k-means++ with the next random numbers) a
#: ``'perceptual'`` palette of up to ``PERCEPTUAL_RUNS_MAX_COLORS`` colours
#: is chosen from, by :func:`palette_objective` (one run beyond). Measured on
#: the ten photos of ``benchmarks/bench_quality.py`` (mean of the medians
#: of seeds 0-2, against libimagequant): K=16 -4.8 % / +0.08 dB with one
#: run, -5.5 % / +0.10 dB with three; K=64 -5.2 % / +0.18 dB -> -5.6 % /
#: +0.20 dB; at K=256 three runs gain nothing (-5.6 % / +0.11 -> +0.12 dB)
#: and cost the most. (Measured before :func:`swap_search`, which finds
#: part of what other runs find below 64 colours.)
PERCEPTUAL_RUNS = 3
PERCEPTUAL_RUNS_MAX_COLORS = 64
#: Of those runs, the ``PERCEPTUAL_FINALISTS`` best by
#: :func:`palette_objective` are each finished (Lloyd iterations from their
#: centres, then :func:`refine_perceptual`) and the best finished palette is
#: kept, for palettes of fewer than :data:`FINE_MIN_COLORS` colours (whose
#: refinement runs on the histogram's cells and costs little); larger
#: palettes finish the best run only. The ranking of unrefined runs misses
#: the run that refines best on some photos: seeds 0-3 on the ten photos of
#: ``benchmarks/bench_quality.py`` (medians against libimagequant), K=8
#: -5.9/-5.8/-5.7/-5.0 % -> -5.9/-5.8/-5.8/-5.8 % (PSNR +0.32/+0.32/+0.27/
#: +0.30 -> +0.32/+0.32/+0.27/+0.31 dB); K=16 PSNR +0.12/+0.09/+0.11/+0.12
#: -> +0.12/+0.11/+0.11/+0.12 dB (CIEDE2000 -6.0/-5.8/-4.9/-5.9 %, the
#: same). Three finalists gain no more. Fit time (one thread, china): 1.14x at
#: K=8, 1.28x at K=16.
PERCEPTUAL_FINALISTS = 2


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


def derived(points, key, make):
    """``make()``, computed once per :class:`~skquant._engine._learn.Points`.

    The runs and finalists of one fit (:func:`best_perceptual_run`) share
    ``points``: what they derive from it (sRGB, DIN99o, the points in the
    fit's and the mapping's space) is kept in ``points.derived`` under
    ``key`` instead of being recomputed by each (the same arrays, so the
    same palettes), and forgotten if ``points.points`` is replaced.
    Callers must not modify what it returns.
    """
    memo = points.derived
    if memo.get("of") is not points.points:  # new points: nothing derived yet
        memo.clear()
        memo["of"] = points.points
    if key not in memo:
        memo[key] = make()
    return memo[key]


def point_colours(points, mapping):
    """``(rgb, din)``: ``points`` in sRGB (``[0, 1]``, RGB order) and DIN99o.

    ``mapping``: the :class:`WorkingSpace` of the input (channel order and
    scale). Once per ``points`` (:func:`derived`).
    """

    def make():
        pixels = mapping.to_rgb(np.asarray(points.points))
        rgb = pixels.astype(np.float64) / full_scale(mapping.dtype)
        return rgb, rgb_to_din99o(rgb)

    return derived(points, "colours", make)


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
        self.rgb, self.din = point_colours(points, space)
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
    numbers of ``rng`` seeding it; the :data:`PERCEPTUAL_FINALISTS` runs
    with the lowest :func:`palette_objective` (the best one from
    :data:`FINE_MIN_COLORS` colours on) are then refined (a fit started from
    their centres), and the refined palette with the lowest
    :func:`palette_objective` is kept (the earlier run on a tie). Returns
    what ``learn`` returns (``n_iter`` counts every fit).
    """
    target = ObjectivePoints(points, space)
    common = {"n_colors": n_colors, "space": space, "settings": settings}
    scored, n_iter = [], 0
    for _ in range(runs):
        _, centers, iterations, *_ = learn(
            points, rng=rng, warning=warning, runs=1, refine=False, **common
        )
        n_iter += iterations
        scored.append((palette_objective(target, centers), len(scored), centers))
    scored.sort(key=lambda item: item[:2])
    finalists = PERCEPTUAL_FINALISTS if n_colors < FINE_MIN_COLORS else 1
    best = None
    for _, _, centers in scored[:finalists]:
        palette, centers, iterations, inertia, weights = learn(
            points,
            rng=rng,
            warning=warning,
            runs=1,
            init_work=space.to_working(centers).astype(np.float64),
            **common,
        )
        n_iter += iterations
        score = 0.0  # one finalist: nothing to compare
        if finalists > 1:  # the palette as transform maps to it
            score = palette_objective(target, palette.astype(np.float64))
        if best is None or score < best[0]:
            best = (score, palette, centers, inertia, weights)
    return best[1], best[2], n_iter, best[3], best[4]


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

    def points_work(self, points):
        """``to_working(points.points)``, once per ``points`` and weight.

        ``points``: a :class:`~skquant._engine._learn.Points`; its sRGB
        and DIN99o come from :func:`point_colours` (the same values as
        :meth:`to_working` computes).
        """

        def make():
            rgb, din = point_colours(points, self.mapping)
            return rgb_to_perceptual(rgb, self.weight, din=din)

        return derived(points, ("work", self.weight), make)

    def nearest_mapped(self, points):
        """``labels(centers)``: nearest centre of ``points`` where pixels are mapped.

        ``points``: a :class:`~skquant._engine._learn.Points`; its
        ``source`` (the pixels histogram cells pool) is used, and its
        colours are shared through :func:`derived`. For a bare array of
        colours: :meth:`MappedNearest.of_points`.
        """
        rgb, din = point_colours(points, self.mapping)
        mapped = derived(points, "mapped", lambda: rgb_to_perceptual(rgb, din=din))
        return MappedNearest(self, rgb, source=points.source, din=din, mapped=mapped)


class MappedNearest:
    """Colours, their sRGB and DIN99o, and their nearest palette colour.

    ``rgb`` (sRGB in [0, 1], RGB order) with ``weights``; the nearest colour
    is searched where pixels are mapped (:data:`PERCEPTUAL_WEIGHT`).
    ``source()``: the pixels the colours pool and their weights, or None.
    ``din`` and ``mapped``: ``rgb`` in DIN99o and where pixels are mapped,
    when already known (computed otherwise).
    """

    def __init__(self, fit, rgb, weights=None, source=None, *, din=None, mapped=None):
        self.fit, self.source = fit, source
        self.rgb = np.ascontiguousarray(rgb, np.float64)
        self.weights = np.ones(len(rgb)) if weights is None else weights.astype(float)
        if din is None:
            din = rgb_to_din99o(self.rgb)
        self.din = np.ascontiguousarray(din)
        self.mapped = rgb_to_perceptual(rgb, din=self.din) if mapped is None else mapped
        self.relabel = None  # labels of the colours, from palette to palette
        self.last = {}  # sRGB of the previous centres: Newton's start for the next

    @classmethod
    def of_points(cls, fit, points, source=None):
        """For ``points`` in the input's units and channel order."""
        pixels = fit.mapping.to_rgb(np.asarray(points))
        return cls(fit, pixels.astype(np.float64) / fit.scale, source=source)

    def __call__(self, centers):
        """Labels of the colours for centres in the fit's space."""
        rgb = perceptual_to_rgb(centers, self.fit.weight, self.last.get(centers.shape))
        self.last[centers.shape] = rgb
        return self.of_rgb(rgb)

    def of_rgb(self, rgb):
        """Labels of the colours for sRGB centres.

        Each palette is searched from the labels of the previous one
        (:class:`~skquant._kernels._lloyd.Relabeller`: the refinement's
        centres move little between calls); the same labels as a search
        from scratch.
        """
        from skquant._kernels._lloyd import Relabeller

        if self.relabel is None:
            self.relabel = Relabeller(self.mapped)
        return self.relabel(rgb_to_perceptual(np.clip(rgb, 0.0, 1.0)))

    def fine(self):
        """The pixels pooled, as distinct 8-bit colours (None: not pooled).

        A :class:`MappedNearest` of the pixels rounded to 8 bits per channel:
        the distinct colours of 8-bit data with their summed weights (for
        deeper data, the weighted means of the pixels that round alike).
        Of every n-th pixel only when there are more than
        :data:`FINE_MAX_PIXELS`.
        """
        if self.source is None:
            return None
        pixels, weights = self.source()  # RGB order (the histogram's)
        pixels = np.asarray(pixels)
        step = -(-len(pixels) // FINE_MAX_PIXELS)
        if step > 1:  # every step-th pixel: deterministic, no random numbers
            pixels = pixels[::step]
            weights = None if weights is None else weights[::step]
        if pixels.dtype == np.uint8 and weights is None:  # the usual case
            rgb, counts = distinct_colors(pixels)  # one sort of packed codes
            return MappedNearest(self.fit, rgb / 255.0, counts)
        rgb = pixels.astype(np.float64) / self.fit.scale
        codes = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.int32)
        codes = (codes[:, 0] << 16) | (codes[:, 1] << 8) | codes[:, 2]
        keys, inverse = np.unique(codes, return_inverse=True)
        n = len(keys)
        mass = np.bincount(inverse, weights=weights, minlength=n)
        weighted = rgb.T if weights is None else rgb.T * weights
        sums = np.stack(
            [np.bincount(inverse, weights=x, minlength=n) for x in weighted], axis=1
        )
        keep = mass > 0
        return MappedNearest(self.fit, sums[keep] / mass[keep, None], mass[keep])


#: The refinement of an opaque ``color_space='perceptual'`` palette
#: (:func:`refine_blended`): at most ``BLEND_ROUNDS`` rounds of a
#: nearest-colour mapping followed by a Gauss-Newton step of every centre.
BLEND_ROUNDS = 8
#: DIN99o distances below this floor (about half a CIEDE2000 unit) count as
#: the floor in the weights of the distance term.
BLEND_FLOOR = 0.5
#: The weight of ``log(mean DIN99o distance)`` in the objective, against
#: ``1 - BLEND_LAMBDA`` for ``log(mean squared sRGB error)``.
BLEND_LAMBDA = 0.5
#: Palettes of at least this many colours are refined on the distinct
#: colours of the pixels (:meth:`MappedNearest.fine`), smaller ones on the
#: histogram's cells. The cells (4 sRGB levels wide) are coarse beside the
#: clusters of a dense palette: on the ten photos of
#: ``benchmarks/bench_quality.py`` (mean of the medians of seeds 0-2,
#: against libimagequant) K=64 -5.9 % / +0.21 dB on the cells, -6.4 % /
#: +0.24 dB on the colours; K=256 about -5.6 % / +0.12 dB -> -7.7 % /
#: +0.21 dB. At K=16 the same on both (-5.5 % / +0.11 dB) for twice the
#: fit time.
FINE_MIN_COLORS = 64
#: At most this many pixels (every n-th) give those colours: their count,
#: and so the refinement's cost, stays that of a photo of two megapixels.
FINE_MAX_PIXELS = 1 << 21


def _din_jacobian(rgb, step=1e-6):
    """DIN99o at ``rgb`` ``(n, 3)`` and its Jacobian ``(n, 3, 3)`` (numerical)."""
    n = len(rgb)
    # the colours and their three moved copies in one conversion
    stacked = np.tile(rgb, (4, 1))
    steps = np.where(rgb > 0.5, -step, step)
    for j in range(3):
        stacked[(j + 1) * n : (j + 2) * n, j] += steps[:, j]
    din = rgb_to_din99o(stacked)
    base = din[:n]
    columns = [
        (din[(j + 1) * n : (j + 2) * n] - base) / steps[:, j, None] for j in range(3)
    ]
    return base, np.stack(columns, axis=-1)


def refine_blended(target, centers, n_fixed=0, rounds=None, norm=None):
    """Lower ``log(sum w d) + log(sum w |x - c|^2)`` by moving sRGB centres.

    ``d`` is the DIN99o distance (mean CIEDE2000 follows it), ``|x - c|^2``
    the squared sRGB error (PSNR), every colour of ``target`` (a
    :class:`MappedNearest`) mapped to its nearest centre where pixels are
    mapped. Each round maps the colours, then moves every centre by one
    Gauss-Newton step on its cluster's share of the objective, the two
    logarithms weighted by :data:`BLEND_LAMBDA` and its complement:
    DIN99o linearised at the centre, and the distance term reweighted as in
    Weiszfeld's algorithm (``w / max(d, floor)`` on squared distances).
    Stops when the mapping no longer changes, or after ``rounds`` rounds
    (None: :data:`BLEND_ROUNDS`). ``norm``: ``sum w |x|^2``, when known.

    Returns
    -------
    centers : ndarray of shape (n_centers, 3)
        sRGB in [0, 1].
    labels : ndarray of shape (n_colors,)
        The colours' nearest centres before the last step.
    """
    from skquant._kernels._refine import blend_sums

    rgb, din, w = target.rgb, target.din, target.weights
    centers = np.clip(np.array(centers, np.float64), 0.0, 1.0)
    n = len(centers)
    moving = np.arange(n) >= n_fixed
    eye = np.eye(3)
    if norm is None:
        norm = _norm(target)
    labels = None
    for _ in range(BLEND_ROUNDS if rounds is None else rounds):
        new = target.of_rgb(centers)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        at, jacobian = _din_jacobian(centers)
        mass, sums, total, u_mass, u_offset = blend_sums(
            labels, rgb, din, w, at, BLEND_FLOOR, n
        )
        filled = moving & (mass > 0)
        squared = norm - 2.0 * np.sum(sums * centers) + mass @ (centers**2).sum(1)
        a = BLEND_LAMBDA / max(total, 1e-300)
        b = (1.0 - BLEND_LAMBDA) / max(squared, 1e-300)
        # minimise a/2 sum u |offset - J s|^2 + b sum w |x - c - s|^2 in s
        jt = np.swapaxes(jacobian, 1, 2)
        lhs = a * u_mass[:, None, None] * (jt @ jacobian)
        lhs += (2.0 * b * mass + 1e-12)[:, None, None] * eye
        rhs = a * (jt @ u_offset[..., None])[..., 0]
        rhs += 2.0 * b * (sums - mass[:, None] * centers)
        step = np.linalg.solve(lhs[filled], rhs[filled][..., None])[..., 0]
        centers[filled] = np.clip(centers[filled] + step, 0.0, 1.0)
    return centers, labels


#: Palettes of fewer than :data:`FINE_MIN_COLORS` colours are refined
#: further by :func:`swap_search`: at most ``SWAP_TRIALS`` trial palettes,
#: each the palette with one of the ``SWAP_CANDIDATES`` centres whose
#: removal costs least taken away and one of the ``SWAP_CANDIDATES``
#: clusters with the largest share of the objective split in two, then
#: ``SWAP_ROUNDS`` rounds of :func:`refine_blended`; a trial is kept when
#: it lowers the objective. k-means and the refinement only move centres
#: within their neighbourhood: a centre spent on a small cluster next to
#: another stays there while a wide cluster elsewhere is served by one.
#: Ten photos of ``benchmarks/bench_quality.py``, seeds 0-3, medians
#: against libimagequant, K=16: CIEDE2000 -6.0/-5.8/-4.9/-5.9 % ->
#: -6.0/-6.1/-5.5/-5.9 %, PSNR +0.116/+0.105/+0.114/+0.118 ->
#: +0.116/+0.107/+0.121/+0.109 dB; K=8 the same to 0.1 % and 0.01 dB
#: (-5.9/-5.8/-5.8/-5.8 %, +0.32/+0.32/+0.27/+0.32 dB). Ten other images
#: (grace_hopper, skimage's color, logo on white and right motorcycle,
#: quarters of six of the photos), mean of the four seeds' medians, K=16
#: -7.47 % / +0.329 dB -> -7.45 % / +0.359 dB; K=8 the same. Six trials:
#: K=16 -5.93 % mean (four: -5.88 %) for about 1.7x the fit time without
#: the step (four: 1.53x at K=16, 1.45x at K=8; one thread, china, thread
#: CPU time, medians of 7-9 alternated fits); BLEND_ROUNDS 16 instead of 8
#: with six trials: -5.99 % / +0.114 dB against -5.99 % / +0.113 dB.
SWAP_TRIALS = 4
SWAP_CANDIDATES = 3
SWAP_ROUNDS = 3


def _norm(target):
    """``sum w |x|^2`` over the colours of ``target``."""
    return float(np.dot(target.weights, np.einsum("ij,ij->i", target.rgb, target.rgb)))


def blended_objective(target, centers, norm=None):
    """:func:`refine_blended`'s objective at sRGB ``centers``, and the labels.

    ``BLEND_LAMBDA * log(sum w d) + (1 - BLEND_LAMBDA) * log(sum w |x -
    c|^2)`` over the colours of ``target`` (a :class:`MappedNearest`), each
    mapped to its nearest centre where pixels are mapped. ``norm``: as in
    :func:`refine_blended`.
    """
    from skquant._kernels._refine import blend_sums

    centers = np.clip(np.asarray(centers, np.float64), 0.0, 1.0)
    labels = target.of_rgb(centers)
    rgb, w = target.rgb, target.weights
    mass, sums, total, _, _ = blend_sums(
        labels, rgb, target.din, w, rgb_to_din99o(centers), BLEND_FLOOR, len(centers)
    )
    norm = _norm(target) if norm is None else norm
    squared = norm - 2.0 * np.sum(sums * centers) + mass @ (centers**2).sum(1)
    value = BLEND_LAMBDA * np.log(max(total, 1e-300))
    return value + (1.0 - BLEND_LAMBDA) * np.log(max(squared, 1e-300)), labels


def _swap_candidates(target, centers, labels, n_fixed):
    """``(removed, split)`` pairs to try, the most promising first.

    Removal cost of a centre: the first-order change of the objective when
    its colours go to their next nearest centre; share of a cluster: its
    colours' part of both sums, weighted as in the objective. The
    ``SWAP_CANDIDATES`` cheapest removals (not of the first ``n_fixed``)
    by the ``SWAP_CANDIDATES`` largest shares, by removal first.
    """
    from skquant._kernels import assign_labels

    n = len(centers)
    w = target.weights
    work = rgb_to_perceptual(centers)
    second = np.zeros_like(labels)
    for j in range(n):  # each colour's nearest centre once j is gone
        inside = labels == j
        if inside.any():
            nearest = assign_labels(target.mapped[inside], np.delete(work, j, 0))
            second[inside] = nearest + (nearest >= j)

    def errors(index):
        offset = target.din - rgb_to_din99o(centers)[index]
        error = target.rgb - centers[index]
        return (
            np.sqrt(np.einsum("ij,ij->i", offset, offset)),
            np.einsum("ij,ij->i", error, error),
        )

    d, s = errors(labels)
    d2, s2 = errors(second)
    total, squared = max(float(w @ d), 1e-300), max(float(w @ s), 1e-300)
    a, b = BLEND_LAMBDA / total, (1.0 - BLEND_LAMBDA) / squared
    cost = np.bincount(labels, weights=w * (a * (d2 - d) + b * (s2 - s)), minlength=n)
    share = np.bincount(labels, weights=w * (a * d + b * s), minlength=n)
    removals = [j for j in np.argsort(cost, kind="stable") if j >= n_fixed]
    splits = np.argsort(-share, kind="stable")[:SWAP_CANDIDATES]
    return [
        (int(j), int(i)) for j in removals[:SWAP_CANDIDATES] for i in splits if i != j
    ]


def _split(target, labels, i):
    """The two halves of cluster ``i`` (sRGB means), cut across its widest axis."""
    inside = labels == i
    x, w = target.rgb[inside], target.weights[inside]
    mass = w.sum()
    if len(x) < 2 or mass <= 0:
        return None
    mean = w @ x / mass
    _, axes = np.linalg.eigh(((x - mean).T * w) @ (x - mean))
    side = (x - mean) @ axes[:, -1] > 0
    low, high = w[~side].sum(), w[side].sum()
    if low <= 0 or high <= 0:
        return None
    return w[side] @ x[side] / high, w[~side] @ x[~side] / low


def swap_search(target, centers, n_fixed=0):
    """Move a centre from where it is needed least to where most, if it helps.

    Each trial takes a centre away (``removed``) and splits a cluster
    (``split``) in two across its widest axis (its centre and the removed
    one's slot get the halves' means; a fixed colour keeps its place and
    the farther half takes the slot), from :func:`_swap_candidates`, then
    runs :data:`SWAP_ROUNDS` rounds of :func:`refine_blended`. A trial that
    lowers :func:`blended_objective` is kept, and the candidates are drawn
    again from it; at most :data:`SWAP_TRIALS` trials. If any was kept, a
    full :func:`refine_blended` finishes the palette (if it lowers the
    objective further). Never raises :func:`blended_objective`.
    Deterministic.

    Returns
    -------
    centers : ndarray of shape (n_centers, 3)
        sRGB in [0, 1]; the first ``n_fixed`` as given.
    """
    centers = np.clip(np.array(centers, np.float64), 0.0, 1.0)
    norm = _norm(target)
    value, labels = blended_objective(target, centers, norm)
    pairs = _swap_candidates(target, centers, labels, n_fixed)
    kept = False
    for _ in range(SWAP_TRIALS):
        if not pairs:
            break
        removed, split = pairs.pop(0)
        halves = _split(target, labels, split)
        if halves is None:
            continue
        trial = centers.copy()
        if split < n_fixed:  # a fixed colour stays: the farther half joins it
            far = [np.sum((half - centers[split]) ** 2) for half in halves]
            trial[removed] = halves[int(np.argmax(far))]
        else:
            trial[split], trial[removed] = halves
        trial, _ = refine_blended(target, trial, n_fixed, SWAP_ROUNDS, norm)
        trial_value, trial_labels = blended_objective(target, trial, norm)
        if trial_value < value:
            centers, value, labels, kept = trial, trial_value, trial_labels, True
            pairs = _swap_candidates(target, centers, labels, n_fixed)
    if kept:  # finished by full rounds, unless they would raise the objective
        finished, _ = refine_blended(target, centers, n_fixed, norm=norm)
        if blended_objective(target, finished, norm)[0] <= value:
            centers = finished
    return centers


def refine_perceptual(points, weights, centers, n_fixed=0, nearest=None):
    """Refine k-means centres of a ``'perceptual'`` palette.

    With ``nearest`` a :class:`MappedNearest` (an opaque palette fitted with
    :class:`PerceptualFit`): :func:`refine_blended` on the pooled pixels'
    distinct colours (:meth:`MappedNearest.fine`) from
    :data:`FINE_MIN_COLORS` colours on, else on the colours of ``points``.
    Otherwise (with alpha): :func:`refine_weiszfeld`.

    Parameters
    ----------
    points : ndarray of shape (n_points, n_channels), float64
        Working-space points (the space the centres were fitted in).
    weights : ndarray of shape (n_points,) or None
    centers : ndarray of shape (n_centers, n_channels), float64
        k-means centres; the first ``n_fixed`` never move.
    nearest : MappedNearest, callable or None
        The points' labels where pixels are mapped, see
        :func:`refine_weiszfeld`.

    Returns
    -------
    centers, labels, inertia
        The refined centres, the labels of the points and their weighted
        sum of squared distances (the k-means inertia of the result).
    """
    if not isinstance(nearest, MappedNearest):
        return refine_weiszfeld(points, weights, centers, n_fixed, nearest)
    fit = nearest.fit
    if weights is not None:
        nearest.weights = np.asarray(weights, np.float64)
    rgb = perceptual_to_rgb(centers, fit.weight, nearest.last.get(centers.shape))
    fine = nearest.fine() if len(centers) >= FINE_MIN_COLORS else None
    rgb, _ = refine_blended(nearest if fine is None else fine, rgb, n_fixed)
    if fine is None:
        rgb = swap_search(nearest, rgb, n_fixed)
    centers = np.array(centers, np.float64)
    centers[n_fixed:] = rgb_to_perceptual(rgb[n_fixed:], fit.weight)
    labels = nearest.of_rgb(rgb)
    d2 = ((points - centers[labels]) ** 2).sum(axis=1)
    return centers, labels, float(np.dot(nearest.weights, d2))


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


def refine_weiszfeld(points, weights, centers, n_fixed=0, nearest=None):
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
