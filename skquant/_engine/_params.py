"""The quantization parameters, declared once, checked in one place.

:data:`PARAMETERS` maps every parameter of :class:`skquant.ColorQuantizer`
and :func:`skquant.quantize` to its default and its check; the estimator's
``__init__`` signature is tested against it. :func:`check_params` runs the
checks and returns the resolved :class:`Settings`.
"""

import numbers

import numpy as np

from skquant._color import COLOR_SPACES
from skquant._image import check_positive_int

BACKENDS = ("sklearn", "opencv")

INIT_METHODS = ("k-means++", "random")


def _dither_methods():
    """The dithering methods, from the dithering kernels (numba): imported
    only to check a method other than None or 'none'."""
    from skquant._kernels import DITHER_METHODS

    return DITHER_METHODS


def dither_method(dither):
    """The dithering method, None for no dithering (None or 'none')."""
    return (
        None
        if dither is None or (isinstance(dither, str) and dither == "none")
        else dither
    )


def _one_of(name, options):
    def check(value, n_channels):
        if value not in options:
            raise ValueError(f"{name} must be one of {options}, got {name}={value!r}.")

    return check


def _positive(name, min_value=1):
    def check(value, n_channels):
        check_positive_int(value, name, min_value=min_value)

    return check


def _check_alpha(value, n_channels):
    if value not in ("auto", True, False):
        raise ValueError(f"alpha must be 'auto', True or False, got alpha={value!r}.")
    if value is True and n_channels != 4:
        raise ValueError(
            f"alpha=True needs 4 channels (RGBA), got {n_channels} channels."
        )


def _check_space(value, n_channels):
    _one_of("color_space", COLOR_SPACES)(value, n_channels)
    if value != "rgb" and n_channels not in (3, 4):
        raise ValueError(
            f"color_space={value!r} needs RGB or RGBA data, got {n_channels} "
            "channels; use color_space='rgb' for other data."
        )


def _check_dither(value, n_channels):
    if dither_method(value) is None:
        return
    methods = _dither_methods()
    if value not in methods:
        raise ValueError(
            f"dither must be None or one of {('none', *methods)}, got dither={value!r}."
        )


def _check_dither_strength(value, n_channels):
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not 0.0 <= value <= 1.0
    ):
        raise ValueError(
            "dither_strength must be a number from 0 (no dithering) to 1 (full "
            f"error diffusion, as pngquant's --floyd=1), got dither_strength={value!r}."
        )


#: Channel orders of colour data: how the first three channels are stored.
CHANNEL_ORDERS = ("rgb", "bgr")


def _check_channel_order(value, n_channels):
    _one_of("channel_order", CHANNEL_ORDERS)(value, n_channels)
    if value == "bgr" and n_channels not in (3, 4):
        raise ValueError(
            f"channel_order='bgr' needs BGR or BGRA data (3 or 4 channels), got "
            f"{n_channels} channels; use channel_order='rgb' for other data."
        )


def _check_sample_size(value, n_channels):
    if not (value is None or (isinstance(value, str) and value == "auto")):
        check_positive_int(value, "sample_size")


#: Largest ``histogram_bins``: the histogram holds at most ``64**3`` cells
#: (:data:`skquant._histogram.MAX_CELLS`) whatever the channel count.
MAX_HISTOGRAM_BINS = 64


def _check_bins(value, n_channels):
    if value is None:
        return
    check_positive_int(value, "histogram_bins", min_value=2)
    if value > MAX_HISTOGRAM_BINS:
        raise ValueError(
            f"histogram_bins must be at most {MAX_HISTOGRAM_BINS} (a histogram "
            f"of at most {MAX_HISTOGRAM_BINS}**3 cells), got "
            f"histogram_bins={value!r}; use histogram_bins=None to fit on the "
            "pixels themselves, without a histogram."
        )


def _check_init(value, n_colors, n_channels):
    if isinstance(value, str):
        if value in INIT_METHODS:
            return
        raise ValueError(
            "init must be 'k-means++', 'random' or an array of shape "
            f"(n_colors, n_channels), got init={value!r}."
        )
    try:
        init = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"init must be an array of numbers, got init={value!r}."
        ) from exc
    if not np.all(np.isfinite(init)):
        raise ValueError(
            "init must hold finite numbers, got NaN or infinity in "
            f"init={init.tolist()}."
        )
    if init.shape != (n_colors, n_channels):
        raise ValueError(
            f"init has shape {init.shape}, expected "
            f"(n_colors, n_channels)=({n_colors}, {n_channels})."
        )


def _check_tol(value, n_channels):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"tol must be a float >= 0, got tol={value!r}.")


def _check_bool(name, exc=TypeError):
    def check(value, n_channels):
        if not isinstance(value, (bool, np.bool_)):
            raise exc(f"{name} must be a bool, got {value!r}.")

    return check


def _unchecked(value, n_channels):
    """Checked where the data's dtype is known (colours) or by NumPy (seeds)."""


#: name -> (default, check(value, n_channels)), in the order they are checked.
PARAMETERS = {
    "n_colors": (16, _positive("n_colors")),
    "backend": ("sklearn", _one_of("backend", BACKENDS)),
    "color_space": ("rgb", _check_space),
    "channel_order": ("rgb", _check_channel_order),
    "alpha": ("auto", _check_alpha),
    "dither": (None, _check_dither),
    "dither_strength": (1.0, _check_dither_strength),
    "dither_adaptive": (True, _check_bool("dither_adaptive", ValueError)),
    "sample_size": ("auto", _check_sample_size),
    "histogram_bins": (64, _check_bins),
    "init": ("k-means++", None),  # checked with n_colors, below
    "n_init": (1, _positive("n_init")),
    "max_iter": (300, _positive("max_iter")),
    "tol": (1e-4, _check_tol),
    "warm_start": (False, _check_bool("warm_start")),
    "keep_transparent_rgb": (False, _unchecked),
    "palette": (None, _unchecked),
    "fixed_colors": (None, _unchecked),
    "random_state": (None, _unchecked),
}

#: Parameters read when mapping: fixed at fit time (a FittedPalette holds them).
MAPPING_PARAMETERS = (
    "color_space",
    "channel_order",
    "alpha",
    "dither",
    "dither_strength",
    "dither_adaptive",
    "keep_transparent_rgb",
)


class Settings:
    """Checked parameters (attributes of the same names) and what they resolve to."""

    def __init__(self, params):
        self.params = dict(params)
        self.__dict__.update(params)
        self.dither_method = dither_method(self.dither)


def check_params(params, n_channels):
    """Check ``params`` (a dict; missing names take their default) for data
    of ``n_channels`` channels, and return the :class:`Settings`.
    """
    unknown = set(params) - set(PARAMETERS)
    if unknown:
        raise TypeError(
            f"unknown parameters {sorted(unknown)}; the parameters are "
            f"{list(PARAMETERS)}."
        )
    full = {
        name: params.get(name, default) for name, (default, _) in PARAMETERS.items()
    }
    for name, (_, check) in PARAMETERS.items():
        if name == "init":
            _check_init(full["init"], full["n_colors"], n_channels)
        else:
            check(full[name], n_channels)
    return Settings(full)
