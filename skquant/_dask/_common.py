"""What the Dask adapters share: array checks, stand-ins, shipping the estimator."""

import copy

import numpy as np

#: Pixels drawn to fit on a Dask array when the estimator's ``sample_size``
#: is not an int (``'auto'`` or ``None``), and shared among the files of
#: :func:`quantize_files` when ``sample_per_image`` is None.
DASK_SAMPLE_SIZE = 1_000_000

_SEED_HIGH = np.iinfo(np.int32).max


# %% detection ---------------------------------------------------------------


def _as_dask_array(X, what="X", *, channel_axis=True):
    import dask.array as da

    if not isinstance(X, da.Array):
        raise TypeError(
            f"{what} is a {type(X).__module__}.{type(X).__qualname__}; skquant "
            "takes Dask arrays only (for a Dask DataFrame use "
            "X.to_dask_array(lengths=True))."
        )
    if channel_axis and X.ndim and np.isnan(X.shape[-1]):
        raise ValueError(
            f"the last (channel) axis of {what} has an unknown size; call "
            f"{what}.compute_chunk_sizes() first."
        )
    return X


def _stand_in(X):
    """A tiny ndarray with the ndim, dtype and channel count of ``X``.

    The in-memory methods validate it exactly as they would validate ``X``
    (number of dimensions, dtype, channel count, empty axes), without a single
    value of ``X`` being computed. An empty ``X`` is its own stand-in, so that
    it fails as it does in memory.
    """
    if 0 in X.shape and not any(np.isnan(size) for size in X.shape):
        return np.zeros(X.shape, dtype=X.dtype)
    shape = [1] * X.ndim
    if shape:
        shape[-1] = int(X.shape[-1])
    return np.zeros(tuple(shape), dtype=X.dtype)


def _channels_in_one_chunk(X):
    if X.numblocks[-1] > 1:
        return X.rechunk({X.ndim - 1: -1})
    return X


def _mapping_chunks(estimator, X):
    """``X`` rechunked so that every block maps exactly as in memory.

    The channels always form one chunk. Dithering needs a whole image (error
    diffusion runs across it, Bayer thresholds follow the pixel position), so
    with ``dither`` set every image is one block: ``(H, W)`` become single
    chunks, and a batch stays split between images only.
    """
    X = _channels_in_one_chunk(X)
    fitted = getattr(estimator, "_fitted", None)
    dither = fitted is not None and fitted.dither is not None
    if dither and X.ndim >= 3 and (X.numblocks[-3] > 1 or X.numblocks[-2] > 1):
        X = X.rechunk({X.ndim - 3: -1, X.ndim - 2: -1})
    return X


def _shipped(estimator):
    """The estimator as one graph key that all block tasks depend on.

    Blocks are plain arrays without column names: a copy without
    ``feature_names_in_`` spares every block the in-memory warning about
    them, which the validation on the client has already given once.
    """
    import dask

    if hasattr(estimator, "feature_names_in_"):
        estimator = copy.copy(estimator)
        del estimator.feature_names_in_
    return dask.delayed(estimator, pure=True)
