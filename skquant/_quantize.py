"""skquant.quantize: the engine's one-call quantization, and Dask arrays
through the estimator.

It sits above both the engine (:mod:`skquant._engine`, which must not know
the estimator) and :mod:`skquant._quantizer`, so that neither imports the
other's dependents: no import cycle. Importing it loads neither scikit-learn
nor SciPy; only a Dask array imports the estimator.
"""

from skquant import _engine
from skquant._image import is_dask_collection

__all__ = ["quantize"]


def quantize(image, n_colors=16, **params):
    """Quantize an image to ``n_colors`` colours in one call.

    Parameters
    ----------
    image : array-like of shape (H, W, C), (N, H, W, C) or (n_pixels, C), \
            or list of such arrays
        What :class:`ColorQuantizer` accepts.
    n_colors : int, default=16
        Number of colours.
    **params
        Other :class:`ColorQuantizer` parameters. ``random_state`` defaults
        to 0 here (as on the command line), so the same call gives the same
        result; pass ``random_state=None`` for a fresh draw each time.

    Returns
    -------
    quantized : ndarray of the same shape and dtype as ``image``, or list
        Equal to ``ColorQuantizer(n_colors, random_state=0, **params)
        .fit_transform(image)``.

    See Also
    --------
    ColorQuantizer : The estimator, to reuse a palette on other images.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from skquant import quantize
    >>> image = data.astronaut()
    >>> small = quantize(image, 4, random_state=0)
    >>> small.shape, small.dtype, len(np.unique(small.reshape(-1, 3), axis=0))
    ((512, 512, 3), dtype('uint8'), 4)
    """
    if is_dask_collection(image):
        from skquant._quantizer import ColorQuantizer  # Dask goes through sklearn

        params.setdefault("random_state", 0)
        return ColorQuantizer(n_colors, **params).fit_transform(image)
    return _engine.quantize(image, n_colors, **params)
