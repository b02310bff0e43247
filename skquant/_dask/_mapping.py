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
    return _map_lazily(estimator, X, "predict", _predict_block)


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
    return _map_lazily(estimator, X, "transform", _transform_block)


def _map_lazily(estimator, X, method, block_function):
    """``method`` of every block of ``X``, chunked as ``X`` (labels: less the
    channel axis), validated first as in memory on a stand-in."""
    X_in = _as_dask_array(X)
    probe = getattr(estimator, method)(_stand_in(X_in))
    X = _mapping_chunks(estimator, X_in)
    labels = method == "predict"
    chunks = X_in.chunks[:-1] if labels else X_in.chunks
    result = X.map_blocks(
        block_function,
        _shipped(estimator),
        **({"drop_axis": X.ndim - 1} if labels else {}),
        meta=np.empty((0,) * len(chunks), dtype=probe.dtype),
        token=f"skquant-{method}",
    )
    if result.chunks != chunks:
        result = result.rechunk(chunks)
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
