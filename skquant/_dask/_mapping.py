"""Lazy block-wise ``predict``, ``transform``, ``inverse_transform`` and ``score``."""

import numpy as np

from skquant._dask._common import (
    _as_dask_array,
    _mapping_chunks,
    _shipped,
    _stand_in,
)

# %% block kernels (run on workers) -------------------------------------------


def _predict_block(block, estimator):
    return estimator.predict(block)


def _transform_block(block, estimator):
    return estimator.transform(block)


def _inverse_transform_block(labels, estimator):
    return estimator.inverse_transform(labels)


def _squared_error_block(block, estimator):
    """Sum of squared differences between ``block`` and its palette colours.

    As in :meth:`ColorQuantizer.score`: labels from ``predict``, colours
    from ``palette_``, sums in float64 over pieces of 2**18 pixels.
    """
    pixels = block.reshape(-1, block.shape[-1])
    labels = estimator.predict(block).reshape(-1)
    total, step = 0.0, 1 << 18
    for start in range(0, pixels.shape[0], step):
        chunk = pixels[start : start + step].astype(np.float64)
        mapped = estimator.palette_[labels[start : start + step]]
        total += float(np.sum((chunk - mapped) ** 2))
    return total


# %% mapping -------------------------------------------------------------------


def predict(estimator, X):
    """Lazy :meth:`ColorQuantizer.predict` of a Dask array.

    Parameters
    ----------
    estimator : ColorQuantizer
        A fitted quantizer.
    X : dask.array.Array of shape (n_pixels, C), (H, W, C) or (N, H, W, C)

    Returns
    -------
    labels : dask.array.Array of shape ``X.shape[:-1]``
        Chunked as ``X`` without its channel axis; int32 like the in-memory
        labels.
    """
    X = _as_dask_array(X)
    X_in = X
    probe = estimator.predict(_stand_in(X))  # validates as in memory
    X = _mapping_chunks(estimator, X)
    meta = np.empty((0,) * (X.ndim - 1), dtype=probe.dtype)
    labels = X.map_blocks(
        _predict_block,
        _shipped(estimator),
        drop_axis=X.ndim - 1,
        meta=meta,
        token="skquant-predict",
    )
    if labels.chunks != X_in.chunks[:-1]:
        labels = labels.rechunk(X_in.chunks[:-1])
    return labels


def transform(estimator, X):
    """Lazy :meth:`ColorQuantizer.transform` of a Dask array.

    Parameters
    ----------
    estimator : ColorQuantizer
        A fitted quantizer.
    X : dask.array.Array of shape (n_pixels, C), (H, W, C) or (N, H, W, C)

    Returns
    -------
    X_new : dask.array.Array
        Same shape, chunks and dtype as ``X``.

    Examples
    --------
    >>> import dask.array as da
    >>> from skimage import data
    >>> from skquant import ColorQuantizer
    >>> from skquant import _dask
    >>> image = data.astronaut()
    >>> quantizer = ColorQuantizer(8, random_state=0).fit(image)
    >>> lazy = _dask.transform(quantizer, da.from_array(image, chunks=(200, 300, 3)))
    >>> lazy.chunks == ((200, 200, 112), (300, 212), (3,)), lazy.dtype
    (True, dtype('uint8'))
    >>> bool((lazy.compute() == quantizer.transform(image)).all())
    True
    """
    X_in = _as_dask_array(X)
    probe = estimator.transform(_stand_in(X_in))  # validates as in memory
    X = _mapping_chunks(estimator, X_in)
    result = X.map_blocks(
        _transform_block,
        _shipped(estimator),
        meta=np.empty((0,) * X.ndim, dtype=probe.dtype),
        token="skquant-transform",
    )
    if result.chunks != X_in.chunks:
        result = result.rechunk(X_in.chunks)
    return result


def inverse_transform(estimator, labels):
    """Lazy :meth:`ColorQuantizer.inverse_transform` of a Dask array.

    The dtype is checked at once; the range of the indices (and, for float
    labels, that they are whole numbers) is checked block by block when the
    result is computed, with the in-memory error messages.

    Parameters
    ----------
    estimator : ColorQuantizer
        A fitted quantizer.
    labels : dask.array.Array of int, any shape
        Palette indices, for example the output of :func:`predict`.

    Returns
    -------
    colors : dask.array.Array of shape ``labels.shape + (n_channels,)``
        Chunked as ``labels`` plus one chunk for the channels, in the
        palette's dtype.
    """
    labels = _as_dask_array(labels, "labels", channel_axis=False)
    probe = estimator.inverse_transform(_stand_in_labels(labels))
    n_channels = probe.shape[-1]
    return labels.map_blocks(
        _inverse_transform_block,
        _shipped(estimator),
        new_axis=labels.ndim,
        chunks=labels.chunks + ((n_channels,),),
        meta=np.empty((0,) * (labels.ndim + 1), dtype=probe.dtype),
        token="skquant-inverse-transform",
    )


def _stand_in_labels(labels):
    shape = tuple(0 if size == 0 else 1 for size in labels.shape)
    return np.zeros(shape, dtype=labels.dtype)  # index 0 is always valid


def score(estimator, X):
    """:meth:`ColorQuantizer.score` of a Dask array, computed block by block.

    Equal to the in-memory score up to the order in which floating-point
    sums are added.

    Parameters
    ----------
    estimator : ColorQuantizer
        A fitted quantizer.
    X : dask.array.Array of shape (n_pixels, C), (H, W, C) or (N, H, W, C)

    Returns
    -------
    score : float
        Negative mean squared error per value.
    """
    import dask

    X = _as_dask_array(X)
    estimator.score(_stand_in(X))  # validates as in memory
    X = _mapping_chunks(estimator, X)
    shipped = _shipped(estimator)
    parts = [
        dask.delayed(_squared_error_block, pure=True)(block, shipped)
        for block in X.to_delayed().ravel()
    ]
    total = dask.delayed(sum, pure=True)(parts).compute()
    return -total / X.size
