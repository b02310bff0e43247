"""The boundary where Python hands arrays to compiled code.

A numba kernel trusts its arguments: a palette with fewer channels than the
pixels, a label beyond the palette or a NaN grid bound makes it read outside
an array, which crashes the interpreter (no exception, no traceback). Every
entry point of :mod:`skquant._kernels` therefore checks, once, what it hands
down: number of dimensions, real dtypes, matching channel counts, non-empty
and finite palettes, labels in range, known colour spaces and a positive
full scale. The checks cost O(n_colors) or one pass over labels, never a
copy of the image. A failed check raises ValueError or TypeError naming the
argument, the offending value and what to pass instead.

Memory budgets live here too: every chunked path sizes its chunks in bytes
(:func:`rows_within`) instead of a fixed number of rows, so that temporary
memory stays the same at any palette size.
"""

import numpy as np

#: Working spaces the kernels understand.
SPACES = ("rgb", "lab", "oklab", "din99o", "perceptual")

#: Bytes of temporaries a chunked kernel path may hold at once (per thread).
CHUNK_BYTES = 32 << 20


def rows_within(bytes_per_row, budget=CHUNK_BYTES):
    """Rows of ``bytes_per_row`` bytes that fit in ``budget`` (at least one)."""
    return max(1, int(budget // max(1, int(bytes_per_row))))


def real_array(values, name, ndim, layout=None):
    """``values`` as an array of ``ndim`` dimensions with real numbers.

    ``layout`` (for example ``"(H, W, C)"``) names the expected shape in
    the error message.
    """
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (bool, integer or float), got "
            f"dtype={array.dtype}."
        )
    if array.ndim != ndim:
        expected = f"shape {layout}" if layout else f"{ndim} dimensions"
        raise ValueError(f"{name} must have {expected}, got shape={array.shape}.")
    return array


def pixels_2d(pixels, name="pixels"):
    """Pixels ``(n_pixels, n_channels)`` with at least one channel."""
    pixels = real_array(pixels, name, 2, "(n_pixels, n_channels)")
    if pixels.shape[1] == 0:
        raise ValueError(f"{name} must have at least one channel, got shape=(n, 0).")
    return pixels


def palette_for(palette, n_channels, name="palette"):
    """A non-empty, finite ``(n_colors, n_channels)`` palette."""
    palette = real_array(palette, name, 2, "(n_colors, n_channels)")
    if palette.shape[0] == 0 or palette.shape[1] != n_channels:
        raise ValueError(
            f"{name} must have shape (n_colors >= 1, {n_channels}) to match the "
            f"{n_channels} channels of the pixels, got shape={palette.shape}; "
            "fit on data with the same number of channels."
        )
    if palette.dtype.kind == "f" and not np.isfinite(palette).all():
        bad = np.argwhere(~np.isfinite(palette))[0][0]
        raise ValueError(
            f"{name} must be finite, got {name}[{bad}]={palette[bad].tolist()}."
        )
    return palette


def space_for(space, n_channels, scale):
    """Check a working space against the channel count and the full scale."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got space={space!r}.")
    if space != "rgb" and n_channels != 3:
        raise ValueError(
            f"space={space!r} needs 3-channel RGB data, got {n_channels} channels; "
            "use space='rgb' for other data."
        )
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be finite and > 0, got scale={scale!r}.")


def labels_for(labels, n_colors, name="labels"):
    """Integer labels, every one in ``[0, n_colors)``."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, got dtype={labels.dtype}.")
    if labels.size:
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= n_colors:
            bad = low if low < 0 else high
            raise ValueError(
                f"{name} must lie in [0, {n_colors}) for a palette of {n_colors} "
                f"colours, got a label {bad}."
            )
    return labels


def colors_for(colors, n_colors):
    """What each of ``n_colors`` palette entries maps to: C-ordered rows."""
    colors = real_array(colors, "colors", 2, "(n_colors, n_out)")
    if colors.shape[0] != n_colors:
        raise ValueError(
            f"colors must have one row per palette entry ({n_colors}), "
            f"got shape={colors.shape}."
        )
    return np.ascontiguousarray(colors)


def weights_for(weights, n_points, name="sample_weight"):
    """Finite, non-negative float64 weights ``(n_points,)``; ones if None."""
    if weights is None:
        return np.ones(n_points)
    weights = np.ascontiguousarray(real_array(weights, name, 1), dtype=np.float64)
    if weights.shape[0] != n_points:
        raise ValueError(
            f"{name} must have shape ({n_points},), got shape={weights.shape}."
        )
    if not (np.isfinite(weights).all() and (weights >= 0).all()):
        raise ValueError(f"{name} must be finite and >= 0.")
    return weights


def finite_points(points, name="points"):
    """Finite float64 points ``(n_points >= 1, n_features >= 1)``, C order."""
    points = pixels_2d(points, name)
    if points.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one point, got shape=(0, d).")
    points = np.ascontiguousarray(points, dtype=np.float64)
    if not np.isfinite(points).all():
        raise ValueError(f"{name} must be finite (no NaN or infinity).")
    return points


#: The dtypes the kernels are compiled for (images: see kernel_image; pixels
#: to pool, colours to map): others are converted first.
IMAGE_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


def kernel_image(image):
    """``image`` (H, W, C) as the dithering kernels take it: C-contiguous,
    of one of IMAGE_DTYPES (float16 as float32, any other dtype as float64:
    the same values), and as a read-only view. numba compiles a kernel
    apart for each dtype, and for read-only and writable arrays (each
    variant of the Floyd-Steinberg kernel costs 5-20 s; float16 it cannot
    read at all), and images arrive both ways (Pillow's reach NumPy
    read-only): a view of one kind needs one compiled kernel. The caller's
    array is not changed."""
    image = np.ascontiguousarray(image)
    if image.dtype not in IMAGE_DTYPES:
        half = image.dtype == np.float16
        image = image.astype(np.float32 if half else np.float64)
    view = image.view()
    view.flags.writeable = False
    return view
