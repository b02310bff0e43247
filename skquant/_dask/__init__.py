"""Dask arrays in skquant: lazy block-wise mapping, sampled fitting, collections.

:class:`~skquant.ColorQuantizer` hands Dask collections to this module, so that
images larger than memory, and stacks of images, are quantized block by block
by Dask's schedulers (threads, processes or ``dask.distributed``):

- :func:`predict`, :func:`transform` and :func:`inverse_transform` return lazy
  Dask arrays with the input's shape, chunks and dtype (labels drop the
  channel axis, colours add one). Every block goes through the estimator's
  own in-memory method, so the results are exactly the in-memory results.
  With ``dither`` set, each image is one block (dithering needs the whole
  image), so an image must then fit in memory; batches still run image by
  image.
- :func:`fit` pools every block into the colour histogram on the grid of the
  whole array and learns the palette the in-memory fit learns; fits that
  would draw a sample in memory draw one block by block instead.

The fitted estimator travels as a single graph key (``dask.delayed`` of the
estimator), which every block task depends on: the distributed scheduler
sends it to each worker once, never once per block.

Dask itself is imported inside the functions only, so importing skquant does
not need it; :func:`is_dask_collection` works without Dask installed.
"""

from skquant._dask._common import (
    _SEED_HIGH,
    DASK_SAMPLE_SIZE,
    _shipped,
)
from skquant._dask._fit import _sample_block, fit, partial_fit, sample_pixels
from skquant._dask._mapping import (
    _predict_block,
    inverse_transform,
    predict,
    score,
    transform,
)
from skquant._image import is_dask_collection

__all__ = [
    "DASK_SAMPLE_SIZE",
    "fit",
    "inverse_transform",
    "is_dask_collection",
    "partial_fit",
    "predict",
    "sample_pixels",
    "score",
    "transform",
    "_SEED_HIGH",
    "_predict_block",
    "_sample_block",
    "_shipped",
]
