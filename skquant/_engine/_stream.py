"""Learning one palette from batches (``partial_fit``): one histogram, merged.

Every batch is pooled into a :class:`~skquant._histogram.Histogram` on a grid
fixed by the first batch (the dtype's range for uint8/uint16 data, the first
batch's range otherwise; by colour, exact, with ``histogram_bins=None``) and
merged into the running one (a batch for adaptive dithering weighted by
its flatness, as in ``fit``), exact colours included while they are few
(:attr:`~skquant._histogram.Histogram.colours`); k-means then runs on it
from the previous palette, so indices stay matched from batch to batch.
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
    has_transparent = transparent or (
        histogram is not None and previous is not None and previous.has_transparent
    )
    first = histogram is None
    if first:
        value_range = None
        if layout.dtype not in IMAGE_INT_SCALE and len(pixels):
            value_range = column_range(pixels)
        grid = stream_grid(layout.dtype, layout.n_channels, settings, value_range)
        histogram = Histogram.of(pixels[:0], grid=grid)
    merged = histogram.merge(Histogram.of(pixels, weights, grid=histogram.grid))
    fitted = learn_stream(
        merged,
        previous,
        space,
        settings,
        has_transparent,
        lambda: (pixels, weights),
        before=None if first else histogram,
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
