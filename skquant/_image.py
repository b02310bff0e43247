"""What an image is in skquant: shapes, channel axis and dtype policy.

Everything outside this module works on pixel arrays of shape
``(n_pixels, n_channels)``. This module turns what users pass (a pixel array, one
image, a batch of images, or a list of images of different sizes) into such
pixel blocks and puts results back into the caller's shape.

Conventions
-----------
- 2-D array: pixels ``(n_pixels, n_channels)``.
- 3-D array: one image ``(height, width, n_channels)``.
- 4-D array: a batch ``(n_images, height, width, n_channels)``.
- list or tuple of arrays: images (or pixel arrays) that may differ in size.

Channels are always on the last axis; grayscale images are ``(H, W, 1)``.
A 3-D or 4-D array whose last axis is longer than 4 while its channel-first
axis holds 3 or 4 values is refused with a pointer to ``np.moveaxis``; a 2-D
array of more than :data:`MAX_PLAIN_CHANNELS` (32) columns gets a hint that a grey
image is ``(H, W, 1)``.

The float data contract
-----------------------
- ``color_space='rgb'``: values are used as given, in any range (with
  alpha, opacity is the 4th channel over the dtype's full scale: 255, 65535,
  or 1.0 for floats).
- ``'lab'``, ``'oklab'``, ``'din99o'``, ``'perceptual'`` read the data as
  sRGB (with alpha, the 4th channel too): uint8 is 0-255, uint16 0-65535,
  floats in [0, 1].
  Float data beyond [-FLOAT_SLACK, 1 + FLOAT_SLACK] (the 0-255 floats of
  ``astype(np.float32)``) is refused with a ``ValueError`` that says to divide
  by 255 or pass uint8.
- Dithering diffuses in linear light when the data is sRGB (3 channels, and
  for floats every value in [0, 1]); other data is diffused in its own units
  (3-channel floats that look like 0-255 colours get a ``UserWarning``).
- Colours given by the user (``palette``, ``fixed_colors``, ``init``) are in
  the data's units and obey the same rule; a float array within [0, 1] for
  uint8/uint16 data is refused (it would map nearly every pixel to black).

Nothing here imports scikit-learn or SciPy (they load only in
:func:`check_input`, the estimator's validation).
"""

import numbers
import os
import sys
import warnings

import numpy as np

# %% dtype policy ------------------------------------------------------------

#: Integer dtypes whose values are image intensities with a fixed full scale.
IMAGE_INT_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}

#: Largest magnitude accepted in pixel values (2**53, about 9.0e15). Below it,
#: squared colour distances stay finite in float32 (OpenCV's k-means) and in
#: float64, and integers convert to float64 exactly; above it distances
#: overflow to inf and nearest-colour searches return arbitrary entries.
MAX_ABS_VALUE = 2.0**53

#: How far float colour data may stray outside [0, 1] (resampling overshoot)
#: before it is taken for data in other units (0-255 floats).
FLOAT_SLACK = 0.25

#: More columns than this in a 2-D array earns the hint that a grey image is
#: ``(H, W, 1)``; scikit-learn's own checks use at most 20 features.
MAX_PLAIN_CHANNELS = 32

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message, category=UserWarning):
    """``warnings.warn`` pointing at the first frame outside skquant.

    Frames in skquant and in scikit-learn's wrappers (``set_output``, meta
    estimators) are skipped, so the warning names the caller's line.
    """
    frame, level = sys._getframe(1), 2
    while frame is not None:
        name = os.path.abspath(frame.f_code.co_filename)
        inside = name.startswith(_PACKAGE_DIR) or (os.sep + "sklearn" + os.sep) in name
        if not inside:
            break
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def is_dask_collection(X):
    """Whether ``X`` is a Dask collection (array, dataframe, delayed, ...).

    Cheap for everything else, and False when Dask is not installed: the type's
    module is looked at before Dask is imported.
    """
    if not type(X).__module__.startswith("dask"):
        return False
    import dask

    return dask.is_dask_collection(X)


def working_float(dtype):
    """Float dtype used internally for data of ``dtype``.

    8- and 16-bit data and float32/float16 work in float32 (exact for every
    8- and 16-bit value); float64 and wide integers work in float64.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float64 or (dtype.kind in "iu" and dtype.itemsize >= 4):
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def full_scale(dtype):
    """Value of full intensity for RGB data of ``dtype`` (1.0 for floats).

    Raises ``ValueError`` for integer dtypes that have no image meaning.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return 1.0
    if dtype in IMAGE_INT_SCALE:
        return IMAGE_INT_SCALE[dtype]
    raise ValueError(
        f"dtype {dtype} has no colour scale; perceptual colour spaces need "
        "uint8, uint16 or float RGB in [0, 1]."
    )


def to_dtype(values, dtype):
    """Cast float ``values`` to ``dtype``, rounding and clipping for integers."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return np.asarray(values).astype(dtype)


def check_dtype_compatible(fitted, given):
    """Refuse data whose units differ from those the palette was fitted in.

    A palette learnt on uint8 values (0..255) applied to a float image in
    [0, 1] would give silent garbage, and so would uint8 versus uint16.
    """
    fitted, given = np.dtype(fitted), np.dtype(given)
    if fitted == given:
        return
    if (fitted.kind == "f") != (given.kind == "f") or (
        (fitted in IMAGE_INT_SCALE or given in IMAGE_INT_SCALE)
        and fitted.kind in "iu"
        and given.kind in "iu"
    ):
        raise ValueError(
            f"X has dtype {given}, but the palette was fitted on {fitted} data; "
            "their value scales differ. Convert X to the fitted dtype first "
            "(for example skimage.util.img_as_ubyte or img_as_float)."
        )


# %% layouts -----------------------------------------------------------------


class Layout:
    """A validated input and how to give results back in its shape.

    Parameters
    ----------
    kind : {'pixels', 'image', 'batch', 'list'}
    arrays : list of ndarray
        One array for array inputs, one per element for lists.
    """

    def __init__(self, kind, arrays, value_ranges=()):
        self.kind = kind
        self.arrays = arrays
        self.dtype = arrays[0].dtype
        self.n_channels = arrays[0].shape[-1]
        ranges = [r for r in value_ranges if r is not None]
        #: (low, high) of float (and 64-bit integer) data, else None.
        self.value_range = (
            (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None
        )

    @property
    def n_pixels(self):
        return sum(a.size // self.n_channels for a in self.arrays)

    def blocks(self):
        """Pixel blocks ``(n_pixels_i, n_channels)``, views where possible."""
        return [a.reshape(-1, self.n_channels) for a in self.arrays]

    def pixels(self):
        """All pixels in one ``(n_pixels, n_channels)`` array."""
        blocks = self.blocks()
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)

    def restore(self, results, *, per_pixel_shape=()):
        """Put per-block results back into the input's shape.

        ``results`` holds one array per block with a leading axis of
        ``n_pixels_i``; ``per_pixel_shape`` is what each pixel became
        (``()`` for labels, ``(n_channels,)`` for colours).
        """
        shaped = [
            r.reshape(a.shape[:-1] + tuple(per_pixel_shape))
            for r, a in zip(results, self.arrays, strict=True)
        ]
        if self.kind == "list":
            return shaped
        return shaped[0]


def _is_image_list(X):
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(getattr(x, "ndim", 0) >= 2 for x in X)
    )


def _check_values(array, *, what):
    """Dtype checks that sklearn's check_array does not make.

    Returns the float value range ``(low, high)``, or None for 8- to 32-bit
    integers (always small enough, and their range comes from the dtype).
    """
    if array.dtype == bool:
        raise TypeError(
            f"{what} is a boolean array; convert it to uint8 (0/255) or float first."
        )
    if array.size == 0:
        raise ValueError(f"{what} has no pixels (shape {array.shape}).")
    if array.shape[-1] == 0:
        raise ValueError(f"{what} has 0 channels (shape {array.shape}).")
    if array.dtype.kind == "f" or array.dtype.itemsize >= 8:
        # uint8/uint16/int32 values are always small enough: skip the pass.
        low, high = array.min(), array.max()
        if np.isnan(low) or np.isnan(high):
            raise ValueError(f"Input {what} contains NaN.")
        if np.isinf(low) or np.isinf(high):
            raise ValueError(
                f"Input {what} contains infinity or a value too large for "
                f"{array.dtype!r}."
            )
        if max(-float(low), float(high)) > MAX_ABS_VALUE:
            value = (high if float(high) >= -float(low) else low).item()
            raise ValueError(
                f"{what} holds a value of {value!r}; pixel values must lie within "
                "+-2**53 (about 9.0e15), beyond which squared colour distances "
                "overflow. Rescale the data (for example to [0, 1])."
            )
        return float(low), float(high)
    return None


def _check_layout_hints(shape, *, what, fitting=True):
    """Refuse channel-first images; hint that a 2-D grey image needs an axis."""
    if len(shape) in (3, 4) and shape[-1] > 4 and shape[-3] in (3, 4):
        axis = len(shape) - 3
        raise ValueError(
            f"{what} has shape {shape}: {shape[-1]} channels on the last axis, "
            f"but its axis {axis} holds {shape[-3]}, which looks like a "
            "channel-first image (C, H, W). skquant wants channels last: pass "
            f"np.moveaxis({what}, {axis}, -1)."
        )
    if fitting and len(shape) == 2 and shape[1] > MAX_PLAIN_CHANNELS:
        warn(
            f"{what} has shape {shape}, read as {shape[0]} pixels of {shape[1]} "
            "channels (n_pixels, n_channels). If it is a grey image (H, W), pass "
            f"{what}[..., np.newaxis] (shape (H, W, 1)); if it is an RGB image, "
            "it needs a channel axis of 3 (H, W, 3).",
            UserWarning,
        )


def check_unit_range(layout, *, why):
    """Refuse float data outside [0, 1] (the 0-255 floats of ``astype``).

    ``why`` says what reads the data as sRGB, for the message.
    """
    if layout.value_range is None or layout.dtype.kind != "f":
        return
    low, high = layout.value_range
    if low >= -FLOAT_SLACK and high <= 1.0 + FLOAT_SLACK:
        return
    raise ValueError(
        f"{why} reads float data as sRGB in [0, 1], but X holds values from "
        f"{low:g} to {high:g}. For 0-255 floats divide by 255 (X / 255) or pass "
        "uint8 data (X.astype(np.uint8)); for other data use color_space='rgb', "
        "which takes values as they are."
    )


def warn_dither_units(layout):
    """Warn when 3-channel float data dithered in 'rgb' looks like 0-255 sRGB.

    Dithering diffuses in linear light only data that is sRGB (floats in
    [0, 1]); 0-255 floats would be diffused in their own (gamma) units, a
    different picture from the same image as uint8 or divided by 255.
    Non-colour data in that range is dithered as asked: hence a warning.
    """
    if layout.kind == "pixels" or layout.value_range is None:
        return  # pixel arrays are not dithered
    if layout.dtype.kind != "f" or layout.n_channels != 3:
        return
    low, high = layout.value_range
    top = 255.0 * (1.0 + FLOAT_SLACK)
    if not (low >= -FLOAT_SLACK * 255.0 and 1.0 + FLOAT_SLACK < high <= top):
        return
    warn(
        f"X holds float values from {low:g} to {high:g}: dithering diffuses "
        "the error in linear light only for sRGB floats in [0, 1], so these "
        "are dithered in their own units. For 0-255 sRGB colours divide by 255 "
        "(X / 255) or pass uint8 data (X.astype(np.uint8)); for other data "
        "this warning can be ignored.",
        UserWarning,
    )


def check_colors_contract(colors, name, fit_dtype, *, unit_floats):
    """The data contract for colours given by the user (palette, init...).

    ``colors`` is a finite float or integer 2-D array in the data's units.
    """
    fit_dtype = np.dtype(fit_dtype)
    if colors.size == 0:
        return
    low, high = float(colors.min()), float(colors.max())
    if fit_dtype.kind in "iu" and colors.dtype.kind == "f" and high <= 1.0 and high > 0:
        top = int(IMAGE_INT_SCALE.get(fit_dtype, np.iinfo(fit_dtype).max))
        raise ValueError(
            f"{name} holds floats within [0, 1] ({low:g} to {high:g}), but the "
            f"data is {fit_dtype} (0-{top}): nearly every pixel would map to "
            f"black. Give {name} in the data's units ({name} * {top}), or as an "
            "integer array if these are really the values meant."
        )
    if unit_floats and fit_dtype.kind == "f":
        if low < -FLOAT_SLACK or high > 1.0 + FLOAT_SLACK:
            raise ValueError(
                f"{name} holds values from {low:g} to {high:g}, but the data is "
                "float sRGB in [0, 1]; divide 0-255 colours by 255."
            )


def check_input(estimator, X, *, reset):
    """Validate ``X`` for ``estimator`` and return its :class:`Layout`.

    2-D inputs go through :func:`sklearn.utils.validation.validate_data`, so
    feature names and ``n_features_in_`` behave exactly as in scikit-learn.
    Images, batches and lists are checked here, with the channel count playing
    the role of ``n_features_in_``.
    """
    from scipy import sparse
    from sklearn.utils.validation import validate_data

    if sparse.issparse(X):
        # validate_data gives scikit-learn's standard TypeError for sparse input.
        validate_data(estimator, X, reset=reset)

    def pixels(X):
        return validate_data(estimator, X, reset=reset, dtype="numeric")

    layout = _read(X, pixels=pixels, fitting=reset)
    if layout.kind != "pixels":
        _check_n_channels(estimator, layout.n_channels, reset=reset)
    return layout


def read_input(X, *, fitting=True):
    """Validate ``X`` (any layout skquant takes) and return its :class:`Layout`.

    The estimator-free twin of :func:`check_input`, with the same checks and
    messages, for :func:`skquant.quantize` and the command line.
    """
    return _read(X, pixels=_pixels_2d, fitting=fitting)


def _read(X, *, pixels, fitting):
    if _is_image_list(X):
        arrays, ranges = [], []
        for i, x in enumerate(X):
            if x.ndim not in (2, 3):
                raise ValueError(
                    f"X[{i}] has {x.ndim} dimensions (shape {x.shape}); each "
                    "element of a list must be an image (H, W, C) or pixels (n, C)."
                )
            _check_layout_hints(x.shape, what=f"X[{i}]", fitting=fitting)
            array = _as_numeric(x, what=f"X[{i}]")
            arrays.append(array)
            ranges.append(_check_values(array, what=f"X[{i}]"))
        dtypes = {a.dtype for a in arrays}
        if len(dtypes) > 1:
            raise ValueError(
                "all images in a list must share one dtype, got "
                f"{sorted(map(str, dtypes))}."
            )
        channels = {a.shape[-1] for a in arrays}
        if len(channels) > 1:
            raise ValueError(
                f"all images in a list must have the same number of channels, "
                f"got {sorted(channels)}."
            )
        return Layout("list", arrays, ranges)
    shape = X.shape if hasattr(X, "ndim") else np.asarray(X).shape
    ndim = len(shape)
    if ndim == 1 and shape[0] == 0:
        raise ValueError(
            f"X is empty (got {X!r}, shape {shape}): give pixels (n_pixels, "
            "n_channels), an image (H, W, C), a batch (N, H, W, C) or a list of "
            "images."
        )
    _check_layout_hints(tuple(shape), what="X", fitting=fitting)
    if ndim in (3, 4):
        array = _as_numeric(X, what="X")
        value_range = _check_values(array, what="X")
        return Layout("image" if ndim == 3 else "batch", [array], [value_range])
    if ndim > 4:
        raise ValueError(
            f"X has {ndim} dimensions; expected pixels (n_pixels, n_channels), an "
            "image (H, W, C), a batch (N, H, W, C) or a list of images."
        )
    array = pixels(X)
    return Layout("pixels", [array], [_check_values(array, what="X")])


_RESHAPE_HINT = (
    "Reshape your data either using array.reshape(-1, 1) if your data has a "
    "single feature or array.reshape(1, -1) if it contains a single sample."
)


def _pixels_2d(X):
    """A 2-D numeric array, with scikit-learn's messages for what is not."""
    array = _as_numeric(X, what="X")
    if array.ndim < 2:
        got = "scalar" if array.ndim == 0 else "1D"
        raise ValueError(
            f"Expected 2D array, got {got} array instead:\narray={X!r}.\n"
            f"{_RESHAPE_HINT}"
        )
    for axis, what in ((0, "sample"), (1, "feature")):
        if array.shape[axis] == 0:
            raise ValueError(
                f"Found array with 0 {what}(s) (shape={array.shape}) while a "
                "minimum of 1 is required."
            )
    return array


def _as_numeric(X, *, what):
    """``X`` as a numeric ndarray (no copy when it already is one)."""
    if X is None:
        raise ValueError(f"Expected an array, got {what}=None (array=None).")
    array = np.asarray(X)
    kind = array.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: {what} has dtype {array.dtype}.")
    if kind in "USV":
        raise ValueError(
            f"{what} holds strings or bytes (dtype {array.dtype}); convert them "
            "to numbers first."
        )
    if kind == "O":
        array = array.astype(np.float64)
    return array


def _check_n_channels(estimator, n_channels, *, reset):
    if reset:
        estimator.n_features_in_ = n_channels
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and n_channels != expected:
        raise ValueError(
            f"X has {n_channels} features (channels), but "
            f"{type(estimator).__name__} is expecting {expected} features as input."
        )


def check_labels(labels, n_colors):
    """Validate palette indices for ``inverse_transform``."""
    if _is_image_list(labels) or (
        isinstance(labels, (list, tuple))
        and len(labels) > 0
        and all(hasattr(x, "ndim") for x in labels)
    ):
        return [check_labels(x, n_colors) for x in labels]
    arr = np.asarray(labels)
    if arr.dtype.kind not in "iu":
        if (
            arr.dtype.kind == "f"
            and arr.size
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
        ):
            # Range first: casting a huge float to intp wraps around.
            if arr.min() < 0 or arr.max() >= n_colors:
                raise ValueError(
                    f"labels must lie in [0, {n_colors - 1}] (the palette has "
                    f"{n_colors} colours), got values from {arr.min().item()!r} to "
                    f"{arr.max().item()!r}."
                )
            arr = arr.astype(np.intp)
        else:
            raise ValueError(
                f"labels must be integer palette indices, got dtype {arr.dtype}."
            )
    if arr.size and (arr.min() < 0 or arr.max() >= n_colors):
        raise ValueError(
            f"labels must lie in [0, {n_colors - 1}] (the palette has {n_colors} "
            f"colours), got values from {arr.min()} to {arr.max()}."
        )
    return arr


def check_positive_int(value, name, *, min_value=1):
    """``value`` as an int, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int, got {value!r} ({type(value).__name__})."
        )
    if value < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {name}={value}.")
    return int(value)
