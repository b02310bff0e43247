"""skquant: colour quantization as a scikit-learn estimator.

Public objects
--------------
ColorQuantizer
    Learn a palette with k-means (scikit-learn or OpenCV) and map images onto it.
quantize
    Quantize an image in one call.
select_n_colors
    Fit a quantizer with the fewest colours that reach a quality target.
quantize_files
    One palette for many image files, applied to all of them in parallel
    with Dask (optional extra ``skquant[dask]``).

Modules
-------
skquant.metrics
    Quality metrics (PSNR, CIEDE2000, SSIM) and scorers for model selection.
skquant.io
    Read and write images, indexed PNG/GIF files and palette files.
skquant.plotting
    Palette swatches and before/after figures (needs matplotlib).
"""

from skquant import io, metrics, plotting
from skquant._dask import quantize_files
from skquant._quantizer import ColorQuantizer, quantize
from skquant._select import select_n_colors
from skquant._version import __version__

__all__ = [
    "ColorQuantizer",
    "quantize",
    "select_n_colors",
    "quantize_files",
    "io",
    "metrics",
    "plotting",
    "__version__",
]
