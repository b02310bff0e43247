"""Nearest-palette assignment: the hot path of ``predict`` and ``transform``.

Every function here takes validated pixel blocks ``(n_pixels, n_channels)`` and a
palette already expressed in the working colour space, and returns the index of
the nearest palette entry (squared Euclidean distance in the working space) for
each pixel. Memory stays bounded: nothing of shape ``(n_pixels, n_colors)`` is
ever built for a whole image, only for chunks.
"""

import numpy as np

from skquant import _color

#: Pixels per chunk of the brute-force kernel: 64k x 256 float32 = 64 MiB at most.
CHUNK_PIXELS = 1 << 16


def nearest_brute(pixels, palette_work, *, to_working=None, out=None):
    """Exact nearest palette entry by chunked brute force.

    Parameters
    ----------
    pixels : ndarray of shape (n_pixels, n_channels)
        Pixels in the input's units.
    palette_work : ndarray of shape (n_colors, n_channels)
        Palette in the working space (float).
    to_working : callable or None
        Maps a chunk of pixels to the working space; ``None`` casts to the
        palette's float dtype.
    out : ndarray of shape (n_pixels,), dtype int32, optional

    Returns
    -------
    labels : ndarray of shape (n_pixels,), dtype int32
    """
    n = pixels.shape[0]
    labels = np.empty(n, dtype=np.int32) if out is None else out
    palette_work = np.asarray(palette_work)
    half_sq_norms = 0.5 * np.einsum("ij,ij->i", palette_work, palette_work)
    for start in range(0, n, CHUNK_PIXELS):
        chunk = pixels[start : start + CHUNK_PIXELS]
        work = (
            chunk.astype(palette_work.dtype, copy=False)
            if to_working is None
            else to_working(chunk)
        )
        # argmin ||x - p||^2 = argmin (||p||^2 / 2 - x . p)
        scores = work @ palette_work.T
        np.subtract(half_sq_norms, scores, out=scores)
        labels[start : start + CHUNK_PIXELS] = scores.argmin(axis=1)
    return labels


def assign_labels(pixels, palette_work, *, space="rgb", scale=1.0):
    """Index of the nearest palette entry for each pixel, in the working space.

    Parameters
    ----------
    pixels : ndarray of shape (n_pixels, n_channels)
        Validated pixels in the input's units (any real dtype, any layout).
    palette_work : ndarray of shape (n_colors, n_channels)
        The palette in the working space, float32 or float64.
    space : {'rgb', 'lab', 'oklab'}
        Working space. ``'rgb'`` compares the input values themselves; the
        perceptual spaces first map ``pixels / scale`` (sRGB in [0, 1]).
    scale : float
        Full-scale value of the input dtype (255 for uint8, 1.0 for floats).

    Returns
    -------
    labels : ndarray of shape (n_pixels,), dtype int32
    """
    dtype = palette_work.dtype
    if space == "rgb":
        to_working = None
    else:

        def to_working(chunk):
            rgb = chunk.astype(dtype)
            if scale != 1.0:
                rgb /= dtype.type(scale)
            return _color.to_working(rgb, space)

    return nearest_brute(pixels, palette_work, to_working=to_working)
