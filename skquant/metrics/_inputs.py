"""What the metrics accept: image pairs, data ranges, the float data contract
and transparency (see the rules in :mod:`skquant.metrics`)."""

import numbers

import numpy as np

from skquant._image import FLOAT_SLACK, full_scale

#: Channels of an RGBA image; the last one is opacity.
_RGBA_CHANNELS = 4


def is_image_list(images):
    return isinstance(images, (list, tuple))


def _default_data_range(dtype, name):
    """The dtype's full scale (skquant._image's rule), or a metrics message."""
    try:
        return full_scale(dtype)
    except ValueError:
        raise ValueError(
            f"Cannot infer data_range for {name} of dtype {dtype}; the defaults "
            "cover uint8 (255), uint16 (65535) and float (1.0). Pass data_range "
            "explicitly."
        ) from None


def _check_data_range(data_range):
    if (
        isinstance(data_range, bool)
        or not isinstance(data_range, numbers.Real)
        or not np.isfinite(data_range)
        or data_range <= 0
    ):
        raise ValueError(
            f"data_range must be a positive finite number, got "
            f"data_range={data_range!r}."
        )
    return float(data_range)


def _check_pair(true, test, data_range, where):
    """Validate one (true, test) pair and resolve its data range."""
    true, test = np.asarray(true), np.asarray(test)
    for arr, name in ((true, "image_true"), (test, "image_test")):
        if arr.dtype.kind not in "uif":
            raise TypeError(
                f"{name}{where} must hold numbers (integer or float), got "
                f"dtype {arr.dtype}."
            )
    if true.shape != test.shape:
        raise ValueError(
            f"image_true{where} and image_test{where} must have the same "
            f"shape, got {true.shape} and {test.shape}."
        )
    if true.size == 0:
        raise ValueError(f"image_true{where} is empty (shape {true.shape}).")
    for arr, name in ((true, "image_true"), (test, "image_test")):
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{name}{where} contains NaN or infinite values; metrics need "
                "finite pixels."
            )
    if data_range is None:
        range_true = _default_data_range(true.dtype, f"image_true{where}")
        range_test = _default_data_range(test.dtype, f"image_test{where}")
        if range_true != range_test:
            raise ValueError(
                f"image_true{where} has dtype {true.dtype} (range {range_true:g}) "
                f"but image_test{where} has dtype {test.dtype} (range "
                f"{range_test:g}); convert one of them or pass data_range."
            )
        for arr, name in ((true, "image_true"), (test, "image_test")):
            if arr.dtype.kind == "f":
                _check_unit_range(arr, f"{name}{where}")
        data_range = range_true
    return true, test, data_range, _visible_pixels(true)


def _check_unit_range(arr, name):
    """Refuse float data that is clearly not on the 0-1 scale."""
    low, high = float(np.min(arr)), float(np.max(arr))
    if low >= -FLOAT_SLACK and high <= 1.0 + FLOAT_SLACK:
        return
    if low >= 0 and high <= 255:
        hint = (
            "It looks like 0-255 data: divide it by 255 (image / 255), pass "
            "uint8 data (np.rint(image).astype(np.uint8)), or pass "
            "data_range=255."
        )
    elif low >= 0 and high <= 65535:
        hint = (
            "It looks like 0-65535 data: divide it by 65535, pass uint16 "
            "data, or pass data_range=65535."
        )
    else:
        hint = "Rescale it to [0, 1], or pass data_range explicitly."
    raise ValueError(
        f"{name} is float with values from {low:g} to {high:g}, but float "
        "images are read on a 0-1 scale (data_range=1.0, sRGB in [0, 1]) "
        f"when data_range is not given. {hint}"
    )


def _visible_pixels(true):
    """Mask of the pixels that are not fully transparent, or None for all.

    4 channels on the last axis are RGBA; a pixel whose alpha is 0 in the
    reference image is invisible and left out of every metric.
    """
    if true.ndim < 2 or true.shape[-1] != _RGBA_CHANNELS:
        return None
    visible = true[..., _RGBA_CHANNELS - 1] > 0
    return None if visible.all() else visible


def pairs(image_true, image_test, data_range):
    """Return the validated ``(true, test, data_range)`` triples to compare.

    Two arrays give one pair; two lists of images give one pair per element.
    """
    if data_range is not None:
        data_range = _check_data_range(data_range)
    true_is_list = is_image_list(image_true)
    if true_is_list != is_image_list(image_test):
        kinds = {True: "a list of images", False: "an array"}
        raise ValueError(
            f"image_true is {kinds[true_is_list]} but image_test is "
            f"{kinds[not true_is_list]}; pass two arrays or two lists."
        )
    if not true_is_list:
        return [_check_pair(image_true, image_test, data_range, "")]
    if len(image_true) != len(image_test):
        raise ValueError(
            f"image_true and image_test must hold the same number of images, "
            f"got {len(image_true)} and {len(image_test)}."
        )
    if len(image_true) == 0:
        raise ValueError("image_true and image_test are empty lists.")
    return [
        _check_pair(true, test, data_range, f"[{i}]")
        for i, (true, test) in enumerate(zip(image_true, image_test, strict=True))
    ]


def pixel_chunks(true, test, visible, n_channels, chunk):
    """Yield matching ``(k, n_channels)`` chunks of two same-shape arrays.

    With a ``visible`` mask (one value per pixel), only visible pixels are
    yielded.
    """
    true = true.reshape(-1, n_channels)
    test = test.reshape(-1, n_channels)
    keep = None if visible is None else visible.reshape(-1)
    for start in range(0, true.shape[0], chunk):
        chunk_true = true[start : start + chunk]
        chunk_test = test[start : start + chunk]
        if keep is not None:
            kept = keep[start : start + chunk]
            chunk_true, chunk_test = chunk_true[kept], chunk_test[kept]
        yield chunk_true, chunk_test
