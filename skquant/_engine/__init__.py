"""The quantization engine: validate -> pool -> learn a palette -> map / dither.

Nothing in this package imports scikit-learn or SciPy, so :func:`quantize` and
the command line start fast; :class:`skquant.ColorQuantizer` is a thin
scikit-learn layer over the same functions.

API
---
quantize(image, n_colors=16, **params) -> ndarray or list
    Fit a palette on ``image`` and map it, as
    ``ColorQuantizer(n_colors, **params).fit_transform(image)`` does
    (``random_state`` defaults to 0).
fit(image, n_colors=16, sample_weight=None, **params) -> FittedPalette
    Validate ``image``, check the parameters and learn the palette.
FittedPalette
    ``palette`` (input units and dtype), ``centers``, ``palette_work``
    (working space), ``space`` (a WorkingSpace: ``color_space``, ``alpha``,
    ``channel_order``, ``dtype``, ``n_channels``), ``dither``,
    ``has_transparent``, ``n_iter``, ``inertia``, ``weights`` (the
    pixels' weight each colour stood for); ``label(image)`` gives palette
    indices, ``map(image)`` the mapped (and, if fitted with ``dither``,
    dithered) image in the input's shape and dtype.
check_params(params, n_channels) -> Settings; PARAMETERS
    Every parameter, its default and its check (shared with ColorQuantizer).
fit_palette(layout, settings, sample_weight=None, *, previous=None)
    The fit on a validated layout (``skquant._image.read_input``).
learn_palette(points, *, n_colors, space, settings, rng, ...)
    k-means on pooled points -> (palette, centers, n_iter, inertia, weights).
fit_points(pixels, weights, settings, n_learned, rng) -> Points
    Sample and pool pixels into what k-means runs on.
FewerColorsWarning
    The data holds fewer distinct colours than ``n_colors``.
"""

from skquant._engine._learn import (
    FewerColorsWarning,
    Points,
    check_random_state,
    fit_points,
    learn_palette,
    sample_indices,
)
from skquant._engine._palette import (
    FittedPalette,
    fit_palette,
    palette_from_points,
    working_space,
)
from skquant._engine._params import PARAMETERS, Settings, check_params
from skquant._engine._space import WorkingSpace
from skquant._image import read_input

__all__ = [
    "PARAMETERS",
    "FewerColorsWarning",
    "FittedPalette",
    "Points",
    "Settings",
    "WorkingSpace",
    "check_params",
    "check_random_state",
    "fit",
    "fit_palette",
    "fit_points",
    "learn_palette",
    "palette_from_points",
    "quantize",
    "sample_indices",
    "working_space",
]


def fit(image, n_colors=16, *, sample_weight=None, **params):
    """Learn a :class:`FittedPalette` from ``image``.

    Parameters
    ----------
    image : array-like of shape (H, W, C), (N, H, W, C) or (n_pixels, C), \
            or list of such arrays
    n_colors : int, default=16
    sample_weight : array-like, default=None
    **params
        Other parameters of :class:`skquant.ColorQuantizer`; ``random_state``
        defaults to 0.

    Returns
    -------
    fitted : FittedPalette
    """
    layout = read_input(image)
    settings = check_params(
        {"n_colors": n_colors, "random_state": 0, **params}, layout.n_channels
    )
    return fit_palette(layout, settings, sample_weight)


def quantize(image, n_colors=16, **params):
    """Quantize an in-memory image in one call: :func:`skquant.quantize`
    without its Dask branch (which goes through the estimator)."""
    layout = read_input(image)
    settings = check_params(
        {"n_colors": n_colors, "random_state": 0, **params}, layout.n_channels
    )
    return fit_palette(layout, settings).transform(layout)
