"""Checks and conversions of the arrays that the io functions receive:
image and palette dtypes and ranges, 16-bit and float scaling."""

import numpy as np


def _short_repr(text, limit=60):
    """Return ``repr(text)``, shortened to about ``limit`` characters."""
    if len(text) > limit:
        return repr(text[:limit]) + "..."
    return repr(text)


def _check_unit_float(arr, what):
    """Raise ValueError unless every value of a float array is in [0, 1]."""
    if arr.size == 0:
        return
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"float {what} contains NaN or infinite values.")
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"float {what} must have values in [0, 1], got min={low:g}, max={high:g}."
        )


def _uint16_to_uint8(arr):
    """Scale 16-bit values to 8 bits with rounding (65535 / 255 == 257)."""
    return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _float_to_uint8(arr):
    """Scale floats in [0, 1] to 8 bits with rounding."""
    return np.rint(arr * 255).astype(np.uint8)


def _palette_as_uint8(palette):
    """Validate a palette and return it as uint8 of shape (n_colors, 3 or 4)."""
    arr = np.asarray(palette)
    if arr.ndim != 2 or arr.shape[1] not in (3, 4):
        raise ValueError(
            "palette must have shape (n_colors, 3) or (n_colors, 4), "
            f"got shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"palette is empty (shape {arr.shape}).")
    if arr.dtype == np.uint8:
        return arr.copy()
    if arr.dtype == np.uint16:
        return _uint16_to_uint8(arr)
    if np.issubdtype(arr.dtype, np.floating):
        _check_unit_float(arr, "palette")
        return _float_to_uint8(arr)
    if np.issubdtype(arr.dtype, np.integer):
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high > 255:
            raise ValueError(
                f"integer palette of dtype {arr.dtype} must have values in "
                f"[0, 255], got min={low}, max={high}; pass a uint16 array for "
                "16-bit colours."
            )
        return arr.astype(np.uint8)
    raise ValueError(
        f"palette dtype {arr.dtype} is not supported; use uint8, uint16, "
        "integers in [0, 255] or floats in [0, 1]."
    )


def _image_as_array(image):
    """Validate an image; return uint8 or uint16 of shape (H, W, 1, 3 or 4)."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(
            "image must have shape (height, width) or (height, width, n_channels) "
            f"with n_channels in (1, 3, 4), got shape {arr.shape}."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image is empty (shape {arr.shape}).")
    if arr.dtype in (np.uint8, np.uint16):
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        _check_unit_float(arr, "image")
        return _float_to_uint8(arr)
    raise ValueError(
        f"image dtype {arr.dtype} is not supported; use uint8, uint16 or floats "
        "in [0, 1]."
    )
