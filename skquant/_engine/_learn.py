"""Palette learning: pixels -> points to cluster -> palette.

:func:`fit_points` turns pixels (and weights) into what k-means runs on: the
pooled histogram, the exact distinct colours, a sample, or the pixels.
:func:`learn_palette` runs k-means on points (in the input's units) and
returns the palette. ``ColorQuantizer.fit``, ``partial_fit``,
``select_n_colors``, the Dask fit and :func:`skquant.quantize` all go
through them.
"""

import numbers

import numpy as np

from skquant._engine._perceptual import (
    PerceptualFit,
    best_perceptual_run,
    perceptual_runs,
    refine_perceptual,
)
from skquant._histogram import Grid, distinct_colors, pool
from skquant._image import to_dtype, warn
from skquant._unique import distinct

#: Pixels drawn by ``sample_size='auto'`` for backends that take no weights.
AUTO_SAMPLE_SIZE = 100_000

#: Below this many pixels, pooling into a histogram saves nothing.
MIN_PIXELS_TO_POOL = 1 << 14

#: Up to this many pixels, the exact distinct colours are looked for.
MAX_PIXELS_FOR_DISTINCT = 1 << 20

#: Pixels (at least, and per colour to learn) probed by backends other than
#: 'sklearn' for more histogram cells than colours before pooling them all.
PROBE_PIXELS = 8192
PROBE_PIXELS_PER_COLOR = 32

#: Below this many occupied cells per colour to learn, k-means runs on the
#: histogram's exact colours (:attr:`Histogram.colours`, when it has them)
#: instead of its cell means. A cell mean sits off the flat colours of a
#: graphic (anti-aliased edges, noise around them pull it), and with few
#: cells per centre each such cell gets a centre of its own: its pixels
#: keep that error. Measured (mean CIEDE2000 of three seeds, clustering
#: every colour against the cells, K = 16 to 256): scikit-image's logo
#: at 2.1 cells per colour -62 % (+4.4 dB), a GIF-like frame of 150 flat
#: colours with noise at 2.0 -17 %, pixel-art sprites at 2.6 to 4.1
#: -0.4 % to +3 %, photos and plots from 6.5 up -3.6 % to +3.4 % (the
#: seed's noise), for 2 to 30 times the fit time. Below 3 the gain is
#: large or nil; from 3 up it is noise.
EXACT_CELLS_PER_COLOR = 3

#: Coarse cells needed per colour for k-means to start on the coarse grid.
COARSE_CELLS_PER_COLOR = 16

#: Effective coarse cells (the perplexity of their mass, ``exp`` of its
#: entropy) needed per colour: where the mass sits in a few coarse cells
#: (a dark sky with sparse stars), k-means on them cannot place enough
#: centres there and the fine steps do not recover (-0.78 dB on
#: hubble_deep_field at K=256), so such histograms start on every cell.
COARSE_EFFECTIVE_PER_COLOR = 2

#: Lloyd iterations on the histogram's cells after the coarse grid's;
#: ``FINE_ITERATIONS_MANY`` from ``MANY_COLORS`` colours on, where each
#: costs most. Ten sample photos and the 12 MP one at K=256: -0.020 dB at
#: worst (median 0) against 20, 0.03 s less; at K=64, 10 cost -0.09 dB.
FINE_ITERATIONS = 20
FINE_ITERATIONS_MANY = 10
MANY_COLORS = 256

#: k-means runs (seeds) on the coarse grid, at least, up to
#: ``COARSE_RUNS_MAX_COLORS`` colours (one run beyond); the best is kept.
#: Measured on five photos: +0.06 dB at K=32, +0.007 at 64, nothing at 256.
COARSE_RUNS = 3
COARSE_RUNS_MAX_COLORS = 32


class FewerColorsWarning(UserWarning):
    """The data holds fewer distinct colours than ``n_colors``.

    :class:`skquant.ColorQuantizer` issues it as a subclass that is also
    scikit-learn's ``ConvergenceWarning``.
    """


# %% random numbers ----------------------------------------------------------------


def check_random_state(seed):
    """A ``numpy.random.RandomState`` from None, an int or a RandomState.

    The same as scikit-learn's ``check_random_state`` (same streams).
    """
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(
        f"{seed!r} cannot be used to seed a numpy.random.RandomState instance"
    )


def sample_indices(n_population, n_samples, rng):
    """Indices of ``n_samples`` of ``n_population`` items, without replacement.

    The same draws as scikit-learn's ``sample_without_replacement``
    (method 'auto') from the same ``RandomState``, so samples and every
    palette fitted on them are unchanged.
    """
    ratio = n_samples / n_population if n_population else 1.0
    if 0.01 < ratio < 0.99:
        return rng.permutation(n_population)[:n_samples]
    if ratio < 0.2:
        # tracking selection: the first n_samples distinct values of the stream
        state = rng.get_state()
        # about n**2 / (2 N) repeats are expected: draw enough at once (a
        # longer draw has the same first values, so the result is the same)
        need = n_samples + 2 * (n_samples * n_samples // n_population) + 64
        while True:
            draws = rng.randint(n_population, size=need)
            first = _first_occurrences(draws, n_population)
            if len(first) >= n_samples:
                used = int(first[n_samples - 1]) + 1
                rng.set_state(state)
                return rng.randint(n_population, size=used)[first[:n_samples]]
            rng.set_state(state)
            need *= 2
    # reservoir sampling
    out = np.arange(n_samples)
    for i in range(n_samples, n_population):
        j = rng.randint(0, i + 1)
        if j < n_samples:
            out[j] = i
    return out


def sorted_sample_indices(n_population, n_samples, rng):
    """``np.sort(sample_indices(n_population, n_samples, rng))``, faster.

    ``rng`` is left in the same state. For a sample of at most 1 % (the
    tracking selection), the indices are the distinct values of the
    shortest prefix of the stream of ``rng.randint(n_population)`` that
    holds ``n_samples`` of them. That prefix is drawn here, and only it:
    ``n_samples`` values, then as many more as are missing, until none is
    (a draw adds one distinct value at most, so this never goes past the
    prefix; ``randint`` calls continue one stream, a tested property). No
    second draw, no sort of positions: 100k of 12 MP in 3 ms instead of 10.
    """
    ratio = n_samples / n_population if n_population else 1.0
    if n_samples == 0 or ratio > 0.01:
        return np.sort(sample_indices(n_population, n_samples, rng))
    values = distinct(rng.randint(n_population, size=n_samples))
    while len(values) < n_samples:
        more = distinct(rng.randint(n_population, size=n_samples - len(values)))
        at = np.searchsorted(values, more)
        new = more[values[np.minimum(at, len(values) - 1)] != more]
        values = np.insert(values, np.searchsorted(values, new), new)
    return values


def _first_occurrences(values, n_values):
    """Sorted positions of the first occurrence of each distinct value.

    ``values`` are ints in ``[0, n_values)``. Each value and its position are
    packed into one int64 key so that a plain (unstable, vectorised) sort
    orders by value then position.
    """
    n = len(values)
    if n_values * max(n, 1) >= 1 << 62:
        _, first = np.unique(values, return_index=True)
        return np.sort(first)
    keys = values.astype(np.int64) * n + np.arange(n)
    keys.sort()
    vals, positions = np.divmod(keys, n)
    is_first = np.empty(n, bool)
    is_first[:1] = True
    np.not_equal(vals[1:], vals[:-1], out=is_first[1:])
    return np.sort(positions[is_first])


# %% what k-means runs on ------------------------------------------------------------


class Points:
    """What k-means runs on.

    Attributes
    ----------
    points : ndarray of shape (n_points, n_channels)
        In the input's units.
    weights : ndarray of shape (n_points,) or None
    exact : bool
        Whether ``points`` are exactly the distinct colours of the data.
    sampled : int or None
        Pixels drawn, when a sample was drawn.
    n_pixels : int
        Pixels the points stand for (before sampling).
    groups : ndarray of shape (n_points,) or None
        For histogram cells, the cell of a twice coarser grid each one falls
        in (:meth:`Histogram.coarse_groups`): k-means is seeded and run on
        those coarse cells first (see :func:`learn_palette`).
    source : callable or None
        For histogram cells, ``source()`` gives the pixels pooled and their
        weights (``'perceptual'`` palettes are refined on their colours).
    derived : dict
        Arrays computed from ``points`` once per fit and shared by its
        k-means runs (:func:`~skquant._engine._perceptual.derived`).
    """

    def __init__(
        self, points, weights, exact, *, sampled=None, n_pixels=None, groups=None
    ):
        self.points, self.weights, self.exact = points, weights, exact
        self.sampled = sampled
        self.n_pixels = len(points) if n_pixels is None else n_pixels
        self.groups = groups
        self.source = None
        self.derived = {}

    def describe(self, sample_size):
        """Who holds the colours, for the too-few-colours warning."""
        if self.sampled is None:
            return "The data"
        return (
            f"The sample of {self.sampled} pixels (sample_size={sample_size!r}) "
            f"drawn from {self.n_pixels} pixels"
        )


def sample_size_for(settings):
    """Pixels to draw, or None for all of them."""
    if isinstance(settings.sample_size, str):  # 'auto'
        return None if settings.backend == "sklearn" else AUTO_SAMPLE_SIZE
    return settings.sample_size


def poolable(settings, n_pixels, n_channels):
    """Whether pixels are pooled into the histogram before clustering."""
    return (
        settings.histogram_bins is not None
        and n_channels <= 4
        and n_pixels >= MIN_PIXELS_TO_POOL
    )


def fit_points(pixels, weights, settings, n_learned, rng):
    """Sample and pool ``pixels``: the :class:`Points` k-means runs on."""
    n_pixels = len(pixels)
    sample_size = sample_size_for(settings)
    sampled = None
    if sample_size is not None and sample_size < n_pixels:
        idx = sorted_sample_indices(n_pixels, sample_size, rng)
        # np.take: the same rows as pixels[idx], 4x faster (100k of 12 MP)
        pixels = np.take(pixels, idx, axis=0)
        weights = None if weights is None else weights[idx]
        sampled = sample_size
    points = _pooled(pixels, weights, settings, n_learned)
    points.sampled, points.n_pixels = sampled, n_pixels
    return points


def _pooled(pixels, weights, settings, n_learned):
    n, n_channels = pixels.shape
    if poolable(settings, n, n_channels):
        bins = settings.histogram_bins
        if settings.backend != "sklearn" and _more_cells_than(
            n_learned, pixels, weights, bins
        ):
            # what from_histogram gives these backends, without pooling
            return Points(pixels, weights, False)
        # (the exact colours are counted only where from_histogram uses them)
        below = exact_cells_below(settings, n_learned)
        hist = pool(pixels, weights, bins=bins, colours_below=below)
        return from_histogram(hist, settings, n_learned, lambda: (pixels, weights))
    if n <= MAX_PIXELS_FOR_DISTINCT:
        unique, counts = distinct_colors(pixels, weights)
        if weights is not None or len(unique) <= n_learned:
            return Points(unique, counts, True)
    return Points(pixels, weights, False)


def _more_cells_than(n_cells, pixels, weights, bins):
    """Whether ``pool(pixels, weights, bins=bins)`` occupies over ``n_cells`` cells.

    Looked for on :data:`PROBE_PIXELS` pixels spread over the data (with a
    positive weight), on the histogram's grid: their cells are occupied
    cells of the whole histogram, so True is certain. False means "not
    seen": pool everything to tell. With more cells than colours to learn,
    :func:`from_histogram` gives backends other than 'sklearn' the pixels
    themselves, so they need no histogram (10 ms on 100k pixels).
    """
    step = len(pixels) // max(PROBE_PIXELS, PROBE_PIXELS_PER_COLOR * n_cells)
    if step < 2:
        return False  # probing would cost about as much as pooling
    probe = pixels[::step]
    if weights is not None:
        probe = probe[weights[::step] > 0]
    grid = Grid.for_pixels(pixels, bins=bins)
    return len(distinct(grid.cells(probe))) > n_cells


def exact_cells_below(settings, n_learned):
    """Fewer cells than this: k-means runs on a histogram's exact colours
    (:func:`from_histogram`)."""
    if settings.backend == "sklearn":
        return EXACT_CELLS_PER_COLOR * n_learned
    return n_learned


def from_histogram(hist, settings, n_learned, get_pixels):
    """Points from a pooled histogram.

    ``get_pixels()`` gives the data pooled into ``hist``: its pixels, or its
    distinct colours and their weights (the same data for k-means). None
    when they are not at hand: a stream after its first batch keeps only
    its histogram (and the exact colours it carries while they are few),
    and uses the cells then.

    The histogram's exact colours (:attr:`Histogram.colours`), when it
    has them, are used instead of the cells when the cells are fewer than
    ``n_learned`` (every backend), or :data:`EXACT_CELLS_PER_COLOR` times
    as many for ``'sklearn'`` (whose k-means runs on weighted cells).
    """
    points, weights, exact = hist.points()
    if exact and len(points) <= n_learned:
        return Points(points, weights, True)
    colours = hist.colours
    if not exact and colours is not None:
        if len(points) < exact_cells_below(settings, n_learned):
            return Points(colours.first.copy(), colours.weights.copy(), True)
    if not exact and len(points) < n_learned:
        if get_pixels is None:
            # fewer cells than colours, and their colours are not at hand:
            # the cells' colours are the palette (a stream whose n_colors grew)
            return Points(points, weights, True)
        # fewer cells than colours, more distinct colours than the histogram
        # keeps: look at the true distinct colours
        pixels, pixel_weights = get_pixels()
        unique, counts = distinct_colors(pixels, pixel_weights)
        return Points(unique, counts, True)
    if settings.backend == "sklearn":
        cells = Points(points, weights, exact, groups=hist.coarse_groups())
        cells.source = get_pixels
        return cells
    if get_pixels is None:
        # the cells, weighted ('opencv' draws points in proportion)
        return Points(points, weights, exact)
    pixels, pixel_weights = get_pixels()
    return Points(pixels, pixel_weights, False)


# %% k-means -> palette ---------------------------------------------------------------


def learn_palette(
    points,
    *,
    n_colors,
    space,
    settings,
    rng,
    fixed=None,
    previous=None,
    init_work=None,
    warning=FewerColorsWarning,
    runs=None,
    refine=True,
):
    """k-means on ``points`` -> ``(palette, centers, n_iter, inertia, weights)``.

    Parameters
    ----------
    points : Points
    n_colors : int
        Colours to learn.
    space : WorkingSpace
    settings : Settings
        ``backend``, ``init``, ``n_init``, ``max_iter``, ``tol``,
        ``sample_size`` are read.
    rng : numpy.random.RandomState
    fixed : ndarray of shape (n_fixed, n_channels) or None
        Colours kept first, in the input's units and dtype.
    previous : ndarray of shape (n_colors, n_channels) or None
        Earlier centres (input units): a warm start that keeps their order.
    init_work : ndarray of shape (n_colors, n_channels) or None
        Initial centres in the working space, instead of ``settings.init``.
    warning : Warning subclass or None
        Issued when the data holds fewer than ``n_colors`` colours (None:
        not issued, for callers that probe many ``n_colors``).
    runs : int or None
        ``'perceptual'`` fits: k-means runs the palette is chosen from
        (:func:`~skquant._engine._perceptual.best_perceptual_run`); None:
        :func:`~skquant._engine._perceptual.perceptual_runs`.
    refine : bool
        ``'perceptual'`` fits: whether :func:`refine_perceptual` moves the
        k-means centres (False for the runs a palette is chosen from).

    Returns
    -------
    palette : ndarray of shape (n_colors_, n_channels), dtype ``space.dtype``
    centers : ndarray of shape (n_colors_, n_channels), float64, input units
    n_iter : int
    inertia : float
    weights : ndarray of shape (n_colors_,), float64
        The summed weight of the points k-means assigned to each colour (in
        ``points.weights``' units; 1 a point without weights).
    """
    from skquant._kmeans import lloyd_with_fixed, run_kmeans

    n_fixed = 0 if fixed is None else len(fixed)
    if n_fixed > n_colors:
        raise ValueError(
            f"fixed_colors holds {n_fixed} colours, more than n_colors={n_colors}."
        )
    if points.exact and len(points.points) <= n_colors:
        return _keep_distinct(points, n_colors, space, fixed, settings, warning)
    if runs is None:
        runs = perceptual_runs(
            space,
            n_colors,
            settings,
            fixed=fixed,
            previous=previous,
            init_work=init_work,
        )
    if runs > 1:
        return best_perceptual_run(
            learn_palette,
            runs,
            points,
            n_colors=n_colors,
            space=space,
            settings=settings,
            rng=rng,
            warning=warning,
        )
    mapping = space  # the space of nearest-colour mapping
    if space.color_space == "perceptual" and not space.alpha:
        space = PerceptualFit(space, n_colors)
        if init_work is not None:
            init_work = space.to_working(mapping.from_working(init_work))
    if isinstance(space, PerceptualFit):
        points_work = space.points_work(points)
    else:
        points_work = space.to_working(points.points).astype(np.float64)
    keep_order = previous is not None
    common = {"max_iter": settings.max_iter, "tol": settings.tol, "rng": rng}
    if fixed is not None:
        init = None
        if keep_order:
            init = space.to_working(previous[n_fixed:]).astype(np.float64)
        fixed_work = space.to_working(fixed).astype(np.float64)
        centers, labels, n_iter, inertia = lloyd_with_fixed(
            points_work, points.weights, n_colors, fixed_work, init=init, **common
        )
    else:
        init = settings.init if init_work is None else init_work
        if keep_order:
            init = space.to_working(previous).astype(np.float64)
        elif not isinstance(init, str) and init_work is None:
            init = space.to_working(np.asarray(init, dtype=np.float64))
        start = None
        if isinstance(init, str) and init == "k-means++":
            start = _coarse_start(points, points_work, n_colors, settings, rng)
        if start is not None:
            fine = FINE_ITERATIONS if n_colors < MANY_COLORS else FINE_ITERATIONS_MANY
            centers, labels, n_iter, inertia = _fine_steps(
                points_work, points, start, min(fine, settings.max_iter), common
            )
        else:
            centers, labels, n_iter, inertia = run_kmeans(
                points_work,
                points.weights,
                n_colors,
                backend=settings.backend,
                init=init,
                n_init=settings.n_init,
                **common,
            )
    if space.color_space == "perceptual" and refine:
        nearest = None
        if space is not mapping:
            nearest = space.nearest_mapped(points)
        centers, labels, inertia = refine_perceptual(
            points_work, points.weights, centers, n_fixed, nearest=nearest
        )
    counts = np.bincount(labels, weights=points.weights, minlength=len(centers))
    if keep_order:
        order = np.arange(len(centers))
    else:
        # fixed colours first, in the given order; then most used first
        order = np.concatenate(
            [np.arange(n_fixed), n_fixed + np.argsort(-counts[n_fixed:], kind="stable")]
        )
    centers = space.from_working(centers[order])
    if fixed is not None:
        centers[:n_fixed] = fixed
    palette = _make_distinct(to_dtype(centers, space.dtype), points.points, n_fixed)
    return palette, centers, n_iter, inertia, counts[order].astype(np.float64)


def _coarse_start(points, points_work, n_colors, settings, rng):
    """k-means on the coarse cells: ``(centres, n_iter, labels)``, or None.

    The histogram's cells are grouped eight by eight (a grid twice as
    coarse, :attr:`Points.groups`); k-means++ seeds and Lloyd iterations on
    those few thousand weighted means cost a fraction of the same on every
    cell, and give centres that a few Lloyd steps on the cells
    (:data:`FINE_ITERATIONS`) finish. None when the points are not pooled
    cells, when there are too few coarse cells for ``n_colors`` (in number,
    or in effective number: :data:`COARSE_EFFECTIVE_PER_COLOR`), or for
    backends other than the compiled Lloyd loop.
    """
    from skquant._kmeans import LLOYD_MAX_CLUSTERS, run_kmeans

    groups = points.groups
    if groups is None or settings.backend != "sklearn":
        return None
    n_coarse = int(groups.max()) + 1 if len(groups) else 0
    if (
        n_colors > LLOYD_MAX_CLUSTERS
        or n_coarse < COARSE_CELLS_PER_COLOR * n_colors
        or 2 * n_coarse > len(groups)
    ):
        return None
    runs = COARSE_RUNS if n_colors <= COARSE_RUNS_MAX_COLORS else 1
    weights = points.weights
    mass = np.bincount(groups, weights=weights, minlength=n_coarse)
    share = mass[mass > 0] / mass.sum()
    if np.exp(-np.dot(share, np.log(share))) < COARSE_EFFECTIVE_PER_COLOR * n_colors:
        return None
    sums = [
        np.bincount(groups, weights=weights * column, minlength=n_coarse)
        for column in points_work.T
    ]
    means = np.stack(sums, axis=1) / mass[:, None]
    centers, labels, n_iter, _ = run_kmeans(
        means,
        mass,
        n_colors,
        backend=settings.backend,
        init="k-means++",
        n_init=max(settings.n_init, runs),
        max_iter=settings.max_iter,
        tol=settings.tol,
        rng=rng,
    )
    return centers, n_iter, labels


def _fine_steps(points_work, points, start, max_iter, common):
    """Lloyd steps on every cell from :func:`_coarse_start`'s ``start``.

    What ``run_kmeans`` does with these centres as ``init`` (the same
    iterations, and the same draw from ``rng`` that it makes for seeding),
    except that each cell's first label is searched from its coarse cell's
    label instead of on a grid of the centres (exact all the same).
    """
    from skquant._kernels import lloyd_kmeans

    centers, coarse_iter, coarse_labels = start
    common["rng"].randint(np.iinfo(np.int32).max)
    centers, labels, n_iter, inertia = lloyd_kmeans(
        points_work,
        points.weights,
        centers,
        max_iter=max_iter,
        tol=common["tol"],
        labels=coarse_labels[points.groups],
    )
    return centers, labels, n_iter + coarse_iter, inertia


def _keep_distinct(points, n_colors, space, fixed, settings, warning):
    """Fewer distinct colours than n_colors: the palette is those colours."""
    order = np.argsort(-points.weights, kind="stable")
    colours = to_dtype(points.points[order], space.dtype)
    if fixed is not None:
        fixed_set = {tuple(c) for c in fixed.tolist()}
        rest = [c for c in colours if tuple(c.tolist()) not in fixed_set]
        colours = np.concatenate(
            [fixed, np.asarray(rest, fixed.dtype).reshape(-1, fixed.shape[1])]
        )[:n_colors]
    if len(colours) < n_colors and warning is not None:
        warn(
            f"{points.describe(settings.sample_size)} holds {len(points.points)} "
            f"distinct colours, fewer than n_colors={n_colors}; the palette is "
            f"exactly those colours (n_colors_={len(colours)}).",
            warning,
        )
    return colours, colours.astype(np.float64), 0, 0.0, _colour_weights(points, colours)


def _colour_weights(points, colours):
    """The weight of each of ``colours``: its point's (exact points), or for
    a point that fixed colours left out, its nearest colour's."""
    index = {c: i for i, c in enumerate(map(tuple, colours.tolist()))}
    rows = to_dtype(points.points, colours.dtype).tolist()
    labels = np.array([index.get(tuple(row), -1) for row in rows], np.intp)
    for i in np.flatnonzero(labels < 0):
        gaps = colours.astype(np.float64) - points.points[i]
        labels[i] = np.argmin(np.einsum("ij,ij->i", gaps, gaps))
    weights = np.ones(len(rows)) if points.weights is None else points.weights
    return np.bincount(labels, weights=weights, minlength=len(colours)).astype(float)


def _make_distinct(palette, points, n_fixed):
    """Replace entries that rounding made equal by far-off data colours.

    Only called when the data holds more distinct colours than ``n_colors``,
    so there are always enough colours to go round.
    """
    _, first = np.unique(palette, axis=0, return_index=True)
    duplicates = np.setdiff1d(np.arange(len(palette)), first)
    duplicates = duplicates[duplicates >= n_fixed]
    if len(duplicates) == 0:
        return palette
    palette = palette.copy()
    candidates = to_dtype(points, palette.dtype).astype(np.float64)
    keep = np.setdiff1d(np.arange(len(palette)), duplicates)
    for j in duplicates:
        current = palette[keep].astype(np.float64)
        d2 = np.full(len(candidates), np.inf)
        for c in current:
            np.minimum(d2, ((candidates - c) ** 2).sum(-1), out=d2)
        best = int(np.argmax(d2))
        if d2[best] == 0:
            break  # nothing left that differs from the palette
        palette[j] = candidates[best].astype(palette.dtype)
        keep = np.append(keep, j)
    return palette
