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
show_versions
    Print the versions, threads and libraries a bug report needs.

Modules
-------
skquant.metrics
    Quality metrics (PSNR, CIEDE2000, SSIM) and scorers for model selection.
skquant.io
    Read and write images, indexed PNG/GIF files and palette files.
skquant.plotting
    Palette swatches and before/after figures (needs matplotlib).

Importing skquant is cheap: each name above is imported from its module
the first time it is used (a module ``__getattr__``), so ``import skquant``
loads neither scikit-learn, SciPy, OpenCV, scikit-image, numba nor Pillow.
"""

import importlib

from skquant._version import __version__

#: Public name -> the module that defines it (a submodule for itself).
_LAZY = {
    "ColorQuantizer": "skquant._quantizer",
    "quantize": "skquant._quantize",
    "select_n_colors": "skquant._select",
    "quantize_files": "skquant._files",
    "show_versions": "skquant._show_versions",
    "io": "skquant.io",
    "metrics": "skquant.metrics",
    "plotting": "skquant.plotting",
}

__all__ = [
    "ColorQuantizer",
    "quantize",
    "select_n_colors",
    "quantize_files",
    "show_versions",
    "io",
    "metrics",
    "plotting",
    "__version__",
]


def __getattr__(name):
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'skquant' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if module_name == f"skquant.{name}" else getattr(module, name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
