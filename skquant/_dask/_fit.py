"""Fitting on Dask arrays: pooled block by block, or a sample drawn block by block."""

import numbers

import numpy as np

from skquant._dask._common import (
    _SEED_HIGH,
    DASK_SAMPLE_SIZE,
    _as_dask_array,
    _channels_in_one_chunk,
    _stand_in,
)
from skquant._engine import check_random_state, sample_indices, working_space
from skquant._engine._learn import from_histogram, poolable, sample_size_for
from skquant._engine._palette import (
    calm_from_flat,
    check_contract,
    flatness_norm,
    palette_from_points,
    wants_calm,
)
from skquant._engine._stream import fitted_colours, learn_stream, start_stream
from skquant._histogram import Grid, Histogram
from skquant._image import (
    Layout,
    check_dtype_compatible,
    check_input,
    check_positive_int,
)

# %% fitting -------------------------------------------------------------------


def fit(estimator, X, y=None, sample_weight=None):
    """Fit ``estimator`` on a Dask array: pooled block by block, or sampled.

    When the in-memory fit would pool every pixel into the colour histogram
    (the ``'sklearn'`` backend with ``sample_size`` ``'auto'`` or None and
    ``histogram_bins`` set, on up to 4 channels), each block is pooled into a
    histogram on the grid of the whole array (its range, from a first pass),
    the histograms are merged, and k-means runs on the result: the palette is
    the in-memory fit's (identical for integer data; float sums may differ in
    the last bits). Only per-block histograms travel, never the pixels.

    Otherwise ``min(sample_size, n_pixels)`` pixels are drawn (see
    :func:`sample_pixels`), where ``sample_size`` is the estimator's
    ``sample_size`` when it is an int and :data:`DASK_SAMPLE_SIZE`
    (1,000,000) otherwise, and the estimator's own ``fit`` runs on them (as
    a one-row image ``(1, n_samples, C)`` when ``X`` holds images), the
    weights of its palette colours scaled to stand for every pixel. With a
    given ``palette`` a single pixel is read.

    Parameters
    ----------
    estimator : ColorQuantizer
    X : dask.array.Array of shape (n_pixels, C), (H, W, C) or (N, H, W, C)
        Chunk sizes must be known.
    y : None
        Ignored.
    sample_weight : array-like or dask array of shape ``X.shape[:-1]``, \
            default=None
        Weight of each pixel.

    Returns
    -------
    estimator : ColorQuantizer
        The fitted estimator.
    """
    X = _channels_in_one_chunk(_as_dask_array(X))
    layout = check_input(estimator, _stand_in(X), reset=True)
    settings = estimator._settings(layout)
    n_pixels = X.size // X.shape[-1] if X.shape[-1] else 0
    calm = settings.palette is None and _calm_weights(X, settings, sample_weight)
    if calm is not False:
        sample_weight = calm
    if (
        settings.palette is None
        and settings.backend == "sklearn"
        and sample_size_for(settings) is None
        and poolable(settings, n_pixels, layout.n_channels)
        and not any(np.isnan(size) for size in X.shape)
    ):
        return _fit_pooled(estimator, X, layout, settings, sample_weight)
    pixels, weights = _fit_sample(estimator, X, sample_weight)
    if calm is not False:  # the sample's weights hold the flatness already
        sample = check_input(estimator, pixels, reset=True)
        estimator._fit(sample, weights, flat_weighted=True)
    elif weights is None:
        estimator.fit(pixels)
    else:
        estimator.fit(pixels, sample_weight=weights)
    return _standing_for_all(estimator, n_pixels, pixels.shape[-2])


def _standing_for_all(estimator, n_pixels, n_sampled):
    """A fit on a uniform sample of ``n_sampled`` of ``n_pixels`` pixels,
    its palette colours' weights (``FittedPalette.weights``, what
    ``partial_fit`` continues from) scaled to stand for all of them:
    ``n_pixels / n_sampled`` times the sample's."""
    weights = estimator._fitted.weights
    if weights is not None and np.isfinite(n_pixels) and 0 < n_sampled < n_pixels:
        estimator._fitted.weights = weights * (n_pixels / n_sampled)
    return estimator


def _calm_weights(X, settings, sample_weight):
    """The in-memory fit's weights for adaptive dithering, as a Dask array.

    ``sample_weight`` times ``s + (1 - s) f / mean(f)``
    (:func:`skquant._engine._palette.calm_weights`). The flatness ``f`` is
    computed on pieces of whole rows (each with the rows around it that
    its windows reach) starting at multiples of the in-memory bands,
    so it is the in-memory flatness bit for bit; only ``mean(f)`` is summed
    in another order. False when the fit does not weigh by flatness, for
    pixel arrays (whose flatness is 1) and when the chunk sizes are unknown
    (the sampled fit then says so).
    """
    if (
        not wants_calm(settings)
        or X.ndim == 2
        or any(np.isnan(size) for size in X.shape)
        or X.size == 0
    ):
        return False
    import dask
    import dask.array as da

    lo = hi = None
    if X.dtype not in (np.uint8, np.uint16):
        axes = tuple(range(X.ndim - 1))
        lo, hi = dask.compute(X.min(axis=axes), X.max(axis=axes))
    norm = flatness_norm(X.dtype, X.shape[-1], lo, hi)
    images = [X] if X.ndim == 3 else [X[i] for i in range(X.shape[0])]
    n_rows = _piece_rows(X)
    flat = []
    for image in images:
        height, width = image.shape[:2]
        pieces = []
        for y0 in range(0, height, n_rows):
            y1 = min(y0 + n_rows, height)
            top, bottom = max(y0 - _FLAT_REACH, 0), min(y1 + _FLAT_REACH, height)
            rows = dask.delayed(_flat_piece, pure=True)(
                image[top:bottom], y0 - top, y1 - top, norm
            )
            pieces.append(da.from_delayed(rows, (y1 - y0, width), np.float64))
        flat.append(da.concatenate(pieces))
    flat = flat[0] if X.ndim == 3 else da.stack(flat)
    # The mean first, on its own: in one graph with the weights, every
    # piece would be held in memory until the mean is known.
    mean = float(flat.mean().compute())
    flat = calm_from_flat(flat, mean, settings.n_colors)
    flat = flat.rechunk(X.chunks[:-1])
    if sample_weight is not None:
        flat = _weights_like(sample_weight, X) * flat
    return flat


#: Rows read on each side of a piece for its flatness: the windows reach
#: 3 (see :mod:`skquant._kernels._dither_map`), and an even number keeps
#: the piece's blocks of 2 x 2 pixels those of the whole image.
_FLAT_REACH = 4


def _piece_rows(X):
    """Rows of an image per piece of :func:`_calm_weights`: a multiple of
    the in-memory bands, at most about ``X``'s largest block in bytes."""
    from skquant._kernels._dither_map import FIT_BAND_ROWS

    row_bytes = max(X.shape[-2] * X.shape[-1] * X.dtype.itemsize, 1)
    largest = int(np.prod([max(c) for c in X.chunks])) * X.dtype.itemsize
    return FIT_BAND_ROWS * max(1, largest // (row_bytes * FIT_BAND_ROWS))


def _flat_piece(rows, y0, y1, norm):
    """The flatness of rows ``y0:y1`` of ``rows`` (whole rows of an image, with
    the rows that the windows reach around them), as in memory."""
    from skquant._kernels import _checks
    from skquant._kernels._dither_map import FIT_TEXTURED_WEIGHT, flat_bands

    rows = _checks.kernel_image(_checks.real_array(rows, "rows", 3, "(H, W, C)"))
    out = np.empty((y1 - y0, rows.shape[1]), np.float32)
    flat_bands(rows, y0, y1, norm, out)
    flat = out.astype(np.float64)
    flat *= FIT_TEXTURED_WEIGHT
    return flat


def _fit_pooled(estimator, X, layout, settings, sample_weight):
    """The in-memory fit's pooling, one histogram per block, merged."""
    space = working_space(settings, layout)

    def grid_for(lo, hi):
        return Grid(lo, hi, bins=settings.histogram_bins, integer=X.dtype.kind in "iu")

    histogram, has_transparent, pixels = _pool_blocks(
        X, layout, space, sample_weight, grid_for
    )
    points = None
    if histogram is not None:
        n_learned = settings.n_colors - int(has_transparent)
        points = from_histogram(histogram, settings, n_learned, pixels)
    estimator.__dict__.pop("_histogram", None)
    fitted = palette_from_points(
        points,
        settings,
        space,
        has_transparent,
        previous=estimator._previous() if settings.warm_start else None,
        warning=estimator._fewer_colors_warning,
    )
    return estimator._set_fitted(fitted)


def _pool_blocks(X, layout, space, sample_weight, grid_for):
    """(histogram or None, has_transparent, get_pixels) of a Dask array.

    A first pass gets each block's visible range; ``grid_for(lo, hi)`` gives
    the grid from the whole array's; a second pass pools each block on it
    and the histograms are merged. ``get_pixels()`` computes the visible
    pixels themselves, for the rare fit that needs them.
    """
    import dask

    blocks = X.to_delayed().ravel()
    if sample_weight is None:
        weight_blocks = [None] * len(blocks)
    else:
        weight_blocks = _weights_like(sample_weight, X).to_delayed().ravel()
    stats = dask.compute(
        *[dask.delayed(_block_stats, pure=True)(b, space.alpha) for b in blocks]
    )
    stats = [s for s in stats if s is not None]
    has_transparent = any(s[2] for s in stats)
    visible = [s for s in stats if s[3] > 0]

    def get_pixels():
        return _visible_pixels(X, weight_blocks, space.alpha)

    if not visible:
        return None, has_transparent, get_pixels
    lo = np.min([s[0] for s in visible], axis=0)
    hi = np.max([s[1] for s in visible], axis=0)
    whole = Layout(layout.kind, [np.zeros((1, layout.n_channels), X.dtype)])
    whole.value_range = (float(lo.min()), float(hi.max()))
    check_contract(space, whole)
    grid = grid_for(lo, hi)
    parts = dask.compute(
        *[
            dask.delayed(_block_histogram, pure=True)(b, w, grid, space.alpha)
            for b, w in zip(blocks, weight_blocks, strict=True)
        ]
    )
    histogram = parts[0]
    for part in parts[1:]:
        histogram = histogram.merge(part)
    return histogram, has_transparent, get_pixels


def _visible(block, weights, alpha):
    pixels = block.reshape(-1, block.shape[-1])
    weights = None if weights is None else weights.reshape(-1)
    if alpha:
        keep = pixels[:, 3] > 0
        pixels = pixels[keep]
        weights = None if weights is None else weights[keep]
    return pixels, weights


def _block_stats(block, alpha):
    """(lo, hi, any transparent, n visible) of one block, None when empty."""
    from skquant._kernels import column_range

    if block.size == 0:
        return None
    pixels, _ = _visible(block, None, alpha)
    transparent = len(pixels) < block.size // block.shape[-1]
    if len(pixels) == 0:
        return None, None, transparent, 0
    lo, hi = column_range(np.ascontiguousarray(pixels))
    return lo, hi, transparent, len(pixels)


def _block_histogram(block, weights, grid, alpha):
    pixels, weights = _visible(block, weights, alpha)
    return Histogram.of(pixels, weights, grid=grid)


def _visible_pixels(X, weight_blocks, alpha):
    import dask

    parts = dask.compute(
        *[
            dask.delayed(_visible, pure=True)(b, w, alpha)
            for b, w in zip(X.to_delayed().ravel(), weight_blocks, strict=True)
        ]
    )
    pixels = np.concatenate([p for p, _ in parts])
    if parts[0][1] is None:
        return pixels, None
    return pixels, np.concatenate([w for _, w in parts])


def _throwaway(estimator):
    """A fresh estimator with the same parameters, for validation only."""
    return type(estimator)(**estimator.get_params(deep=False))


def partial_fit(estimator, X, y=None, sample_weight=None):
    """:meth:`ColorQuantizer.partial_fit` of a Dask array, pooled block by block.

    Every block is pooled on the stream's grid (from this first batch's range
    when the stream starts) and the histograms are merged into the
    estimator's running one (after a fit, into the fit's weighted palette
    colours: :func:`~skquant._engine._stream.start_stream`), as the
    in-memory ``partial_fit`` does with the whole array: the same histogram
    and palette. With a given ``palette`` one pixel is read.

    Parameters
    ----------
    estimator : ColorQuantizer
    X : dask.array.Array of shape (n_pixels, C), (H, W, C) or (N, H, W, C)
    y : None
        Ignored.
    sample_weight : array-like or dask array of shape ``X.shape[:-1]``, \
            default=None

    Returns
    -------
    estimator : ColorQuantizer
    """
    X = _channels_in_one_chunk(_as_dask_array(X))
    histogram = getattr(estimator, "_histogram", None)
    if getattr(estimator, "palette", None) is not None or any(
        np.isnan(size) for size in X.shape
    ):
        pixels, weights = _fit_sample(estimator, X, sample_weight)
        return estimator.partial_fit(pixels, sample_weight=weights)
    layout = check_input(estimator, _stand_in(X), reset=histogram is None)
    settings = estimator._settings(layout)
    if histogram is not None:
        check_dtype_compatible(estimator._fitted.space.dtype, layout.dtype)
    space = working_space(settings, layout)
    previous = estimator._previous()
    started = []  # start_stream's (histogram, continued), once the grid is known

    def grid_for(lo, hi):
        if histogram is not None:
            return histogram.grid
        started.append(start_stream(previous, space, settings, (lo, hi)))
        return started[0][0].grid

    calm = _calm_weights(X, settings, sample_weight)
    if calm is not False:  # as the in-memory stream weighs each batch
        sample_weight = calm
    batch, transparent, pixels = _pool_blocks(X, layout, space, sample_weight, grid_for)
    before = histogram
    if histogram is None:
        if not started and fitted_colours(previous, space) is not None:
            started.append(start_stream(previous, space, settings, None))
        before = started[0][0] if started and started[0][1] else None
    if before is None or batch is None:
        merged = batch if before is None else before
    else:
        merged = before.merge(batch)
    has_transparent = transparent or (
        before is not None and previous is not None and previous.has_transparent
    )
    fitted = learn_stream(
        merged,
        previous,
        space,
        settings,
        has_transparent,
        pixels,
        before=before,
        warning=estimator._fewer_colors_warning,
    )
    if merged is not None:
        estimator._histogram = merged
    return estimator._set_fitted(fitted)


def _fit_sample(estimator, X, sample_weight):
    """Validate ``X`` as the in-memory fit would, then draw the fit sample.

    The sample of an image or a batch comes as a one-row image ``(1, n, C)``
    (its weights ``(1, n)``), so that the estimator sees images where it
    would in memory (``alpha='auto'`` reads a 4th channel as opacity in
    images only); pixel arrays give pixels ``(n, C)``.
    """
    X = _as_dask_array(X)
    check_input(_throwaway(estimator), _stand_in(X), reset=True)
    sample_size = estimator.sample_size
    if getattr(estimator, "palette", None) is not None:
        sample_size = 1  # only the dtype and channel count are used
    elif isinstance(sample_size, numbers.Integral) and not isinstance(
        sample_size, bool
    ):
        sample_size = check_positive_int(sample_size, "sample_size")
    else:
        sample_size = DASK_SAMPLE_SIZE
    rng = check_random_state(estimator.random_state)
    pixels, weights = sample_pixels(
        X, sample_size, sample_weight=sample_weight, random_state=rng
    )
    if X.ndim == 2:
        return pixels, weights
    return pixels[np.newaxis], None if weights is None else weights[np.newaxis]


def sample_pixels(X, n_samples, *, sample_weight=None, random_state=None):
    """A uniform random sample of the pixels of a Dask array, block by block.

    Every pixel has the same chance ``n_samples / n_pixels`` of being drawn.
    Block ``b`` of ``n_b`` pixels contributes its share
    ``n_samples * n_b / n_pixels`` rounded down or up (systematic allocation
    with a random offset, so the counts add up to ``n_samples`` exactly), drawn
    without replacement inside the block. Blocks with no share are never
    computed.

    Parameters
    ----------
    X : dask.array.Array of shape (..., C)
        Chunk sizes must be known.
    n_samples : int
        Pixels to draw; all of them when ``n_samples >= n_pixels``.
    sample_weight : array-like or dask array of shape ``X.shape[:-1]``, \
            default=None
        Per-pixel weights, sampled along with the pixels.
    random_state : int, RandomState instance or None, default=None
        For a fixed seed and fixed chunks the sample is reproducible.

    Returns
    -------
    pixels : ndarray of shape (min(n_samples, n_pixels), C)
        Block by block, in raster order inside each block.
    weights : ndarray of shape (min(n_samples, n_pixels),) or None
        The weights of the sampled pixels, float64.
    """
    import dask

    X = _channels_in_one_chunk(_as_dask_array(X))
    if any(np.isnan(size) for size in X.shape):
        raise ValueError(
            f"X has unknown chunk sizes (shape {X.shape}); call "
            "X.compute_chunk_sizes() first."
        )
    rng = check_random_state(random_state)
    sizes = [1]
    for axis_chunks in X.chunks[:-1]:
        sizes = [a * int(b) for a in sizes for b in axis_chunks]
    counts = _allocate(sizes, min(n_samples, sum(sizes)), rng)
    seeds = rng.randint(_SEED_HIGH, size=len(sizes))
    blocks = X.to_delayed().ravel()
    if sample_weight is None:
        weight_blocks = [None] * len(blocks)
    else:
        weight_blocks = _weights_like(sample_weight, X).to_delayed().ravel()
    parts = [
        dask.delayed(_sample_block, pure=True)(block, weights, int(count), int(seed))
        for block, weights, count, seed in zip(
            blocks, weight_blocks, counts, seeds, strict=True
        )
        if count
    ]
    samples = dask.compute(*parts)
    if not samples:
        return np.empty((0, X.shape[-1]), dtype=X.dtype), None
    pixels = np.concatenate([pixels for pixels, _ in samples])
    if sample_weight is None:
        return pixels, None
    return pixels, np.concatenate([weights for _, weights in samples])


def _weights_like(sample_weight, X):
    """``sample_weight`` as a float64 Dask array chunked like ``X``'s pixels."""
    import dask.array as da

    weights = da.asarray(sample_weight).astype(np.float64)
    if weights.shape == (X.size // X.shape[-1],) and X.ndim > 2:
        weights = weights.reshape(X.shape[:-1])
    if weights.shape != X.shape[:-1]:
        raise ValueError(
            f"sample_weight has shape {weights.shape}, expected {X.shape[:-1]} "
            "(one weight per pixel)."
        )
    return weights.rechunk(X.chunks[:-1])


def _sample_block(block, weights, n_samples, seed):
    """``n_samples`` pixels of ``block`` (and their weights) at random.

    Returns ``(pixels, weights)`` in raster order; ``weights`` is None when
    none are given.
    """
    pixels = block.reshape(-1, block.shape[-1])
    if weights is not None:
        weights = weights.reshape(-1)
    if n_samples >= pixels.shape[0]:
        return pixels, weights
    idx = np.sort(
        sample_indices(pixels.shape[0], n_samples, np.random.RandomState(seed))
    )
    return pixels[idx], None if weights is None else weights[idx]


def _allocate(sizes, n_samples, rng):
    """Split ``n_samples`` over blocks of ``sizes`` pixels, in proportion.

    Systematic allocation in exact integer arithmetic: block ``b`` gets
    ``floor((n * c_b + u) / N) - floor((n * c_{b-1} + u) / N)`` where ``c`` are
    the cumulative sizes, ``N`` their total and ``u`` uniform in ``[0, N)``,
    that is the floor or the ceiling of its share ``n * size_b / N``, with
    expectation exactly that share.
    """
    total = sum(sizes)
    if total == 0 or n_samples == 0:
        return [0] * len(sizes)
    offset = int(rng.randint(total, dtype=np.int64))
    counts, cumulative, previous = [], 0, offset // total
    for size in sizes:
        cumulative += size
        current = (n_samples * cumulative + offset) // total
        counts.append(current - previous)
        previous = current
    return counts
