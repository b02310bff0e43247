"""Learning one palette from batches (``partial_fit``): one histogram, merged.

Every batch is pooled into a :class:`~skquant._histogram.Histogram` on a grid
fixed by the first batch (the dtype's range for uint8/uint16 data, the first
batch's range otherwise; by colour, exact, with ``histogram_bins=None``) and
merged into the running one (a batch for adaptive dithering weighted by
its flatness, as in ``fit``), exact colours included while they are few
(:attr:`~skquant._histogram.Histogram.colours`); k-means then runs on it
from the previous palette, so indices stay matched from batch to batch.
A stream that follows a fit starts from what the fit learned: its palette
colours, each weighted by the pixels assigned to it (:func:`start_stream`).
"""

import numpy as np

from skquant._engine._learn import (
    FewerColorsWarning,
    from_histogram,
)
from skquant._engine._palette import (
    calm_weights,
    check_sample_weight,
    palette_from_points,
    visible_pixels,
    working_space,
)
from skquant._histogram import Grid, Histogram
from skquant._image import IMAGE_INT_SCALE
from skquant._kernels import column_range


def stream_grid(dtype, n_channels, settings, value_range):
    """The grid of a stream: over the dtype's range for uint8/uint16 data,
    over ``value_range`` (the first batch's) otherwise; None: by colour."""
    if settings.histogram_bins is None:
        return None
    dtype = np.dtype(dtype)
    if dtype in IMAGE_INT_SCALE:
        value_range = (
            np.zeros(n_channels),
            np.full(n_channels, IMAGE_INT_SCALE[dtype]),
        )
    return Grid(*value_range, bins=settings.histogram_bins, integer=dtype.kind in "iu")


def fitted_colours(previous, space):
    """(colours, weights) a stream after a fit starts from, or None.

    The learnt colours of ``previous`` (in RGB order, the transparent entry
    left out) and the weight k-means assigned to each
    (:attr:`~skquant._engine._palette.FittedPalette.weights`), when it has
    them and its data are in the units of ``space`` (the rule of a warm
    start: same channel count, dtype, colour space, alpha rule and channel
    order); None otherwise (a given palette, other data, no fit).
    """
    weights = getattr(previous, "weights", None)  # None from older pickles
    if weights is None or previous.space.signature() != space.signature():
        return None
    n_learnt = len(previous.learnt_centers())
    colours, weights = previous.palette[:n_learnt], weights[:n_learnt]
    keep = weights > 0
    if not keep.any():
        return None
    return previous.space.to_rgb(colours)[keep], weights[keep]


def start_stream(previous, space, settings, value_range):
    """The histogram a stream starts from, and whether it holds a fit.

    After ``fit`` (:func:`fitted_colours` of ``previous``), its palette
    colours weighted by the pixels each stood for, so that the fitted data
    keeps its weight against the batches that follow (as scikit-learn's
    ``MiniBatchKMeans`` keeps its centres' counts); otherwise an empty one.
    Its grid is :func:`stream_grid`'s over ``value_range`` (the first
    batch's, None when it has none) widened to the fitted colours.
    """
    seed = fitted_colours(previous, space)
    if seed is not None and space.dtype not in IMAGE_INT_SCALE:
        lo, hi = column_range(np.ascontiguousarray(seed[0]))
        if value_range is not None:
            lo = np.minimum(lo, value_range[0])
            hi = np.maximum(hi, value_range[1])
        value_range = (lo, hi)
    grid = stream_grid(space.dtype, space.n_channels, settings, value_range)
    if seed is None:
        empty = np.zeros((0, space.n_channels), space.dtype)
        return Histogram.of(empty, grid=grid), False
    return Histogram.of(*seed, grid=grid), True


def update_stream(
    histogram,
    previous,
    layout,
    settings,
    sample_weight=None,
    *,
    warning=FewerColorsWarning,
):
    """Add one batch to a stream: ``(histogram, FittedPalette)``.

    Parameters
    ----------
    histogram : Histogram or None
        The stream so far (None for its first batch).
    previous : FittedPalette or None
        The palette so far, or an earlier fit to warm-start from (used only
        when its units, colour space and width match).
    layout : Layout
        The batch, validated.
    settings : Settings
    sample_weight : array-like or list, default=None
    warning : Warning subclass
        Issued when the stream holds fewer distinct colours than ``n_colors``.
    """
    space = working_space(settings, layout)
    # a batch for adaptive dithering weighs its flat areas more, as fit does
    weights = calm_weights(layout, check_sample_weight(sample_weight, layout), settings)
    pixels, weights, transparent = visible_pixels(layout.pixels(), weights, space)
    # pooled in RGB order, as fit does (same cells, same seeds as RGB data)
    pixels = space.to_rgb(pixels)
    first = histogram is None
    continued = not first
    if first:
        value_range = None
        if layout.dtype not in IMAGE_INT_SCALE and len(pixels):
            value_range = column_range(pixels)
        histogram, continued = start_stream(previous, space, settings, value_range)
    has_transparent = transparent or (
        continued and previous is not None and previous.has_transparent
    )
    merged = histogram.merge(Histogram.of(pixels, weights, grid=histogram.grid))
    fitted = learn_stream(
        merged,
        previous,
        space,
        settings,
        has_transparent,
        lambda: (pixels, weights),
        before=histogram if continued else None,
        warning=warning,
        rgb_order=True,
    )
    return merged, fitted


def stream_source(before, batch):
    """What a stream's k-means may read beyond its histogram: the
    ``get_pixels`` of :func:`~skquant._engine._learn.from_histogram`.

    After the first batch (``before`` None) the batch is all the data:
    ``batch`` itself (a callable giving its pixels and weights, in the
    histogram's channel order); after a later one None (the cells, or the
    exact colours that the histogram carries while they are few,
    :attr:`~skquant._histogram.Histogram.colours`), as the earlier pixels
    are gone and the batch alone would forget them.
    """
    return batch if before is None else None


def learn_stream(
    histogram,
    previous,
    space,
    settings,
    has_transparent,
    get_batch,
    *,
    before,
    warning,
    rgb_order=False,
):
    """The palette of a stream's histogram (None or empty: no colours).

    ``get_batch()`` gives the last batch's pixels and weights, ``before`` is
    the histogram before it (None: it was the first); see
    :func:`stream_source`. ``rgb_order``: the histogram (and the pixels)
    hold colours in RGB order rather than the input's (see
    ``channel_order``).
    """
    n_learned = settings.n_colors - int(has_transparent)
    points = None
    if histogram is not None and len(histogram.codes):
        source = stream_source(before, get_batch)
        points = from_histogram(histogram, settings, n_learned, source)
        if rgb_order:
            points.points = space.to_rgb(points.points)
    return palette_from_points(
        points, settings, space, has_transparent, previous=previous, warning=warning
    )
