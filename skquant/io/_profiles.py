"""ICC colour profiles, through Pillow's ImageCms (LittleCMS): which
embedded profiles describe RGB data other than sRGB, and the conversion of
RGB(A) arrays between such a profile and sRGB."""

import functools
import io

import numpy as np
from PIL import Image, ImageCms

from skquant.io._arrays import _uint16_to_uint8

#: The rendering intent of every conversion: relative colorimetric keeps the
#: colours that both spaces hold and clips the others to the target gamut.
INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC

#: A colour grid (9 levels per channel) on which a profile is compared with
#: sRGB; equal within this many 8-bit steps, the profile is taken as sRGB.
_PROBE_LEVELS = np.linspace(0, 255, 9).round().astype(np.uint8)
_SRGB_TOLERANCE = 1


@functools.cache
def _srgb():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
def profile_of(icc):
    """``(kind, profile, name)`` for ICC profile bytes.

    ``kind`` is ``'srgb'`` for an RGB profile that maps colours as sRGB does
    (within one 8-bit step on a colour grid: the sRGB profiles of cameras
    and editors), ``'rgb'`` for another RGB profile (Adobe RGB, Display P3,
    ProPhoto, ...), ``'other'`` for a profile of other data (gray, CMYK,
    Lab) and ``'unreadable'`` for bytes LittleCMS cannot read. ``profile``
    is the ``ImageCmsProfile`` (None unless ``kind`` is ``'rgb'``) and
    ``name`` the profile's description.
    """
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        name = ImageCms.getProfileDescription(profile).strip()
        space = profile.profile.xcolor_space.strip()
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        return "unreadable", None, ""
    if space != "RGB":
        return "other", None, f"{name} ({space})"
    grid = np.stack(np.meshgrid(*[_PROBE_LEVELS] * 3, indexing="ij"), axis=-1)
    grid = grid.reshape(1, -1, 3)
    try:
        converted = _transform(icc, True)(grid)
    except (OSError, ValueError, ImageCms.PyCMSError):
        return "unreadable", None, name
    difference = np.abs(converted.astype(np.int16) - grid).max()
    kind = "srgb" if difference <= _SRGB_TOLERANCE else "rgb"
    return kind, (profile if kind == "rgb" else None), name


@functools.cache
def _transform(icc, to_srgb):
    """A function converting uint8 RGB arrays of shape (H, W, 3) from the
    profile ``icc`` to sRGB (``to_srgb``) or back."""
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    source, target = (profile, _srgb()) if to_srgb else (_srgb(), profile)
    transform = ImageCms.buildTransform(
        source, target, "RGB", "RGB", renderingIntent=INTENT
    )

    def apply(rgb):
        return np.asarray(ImageCms.applyTransform(Image.fromarray(rgb), transform))

    return apply


def convert_colors(colors, icc, *, to_srgb):
    """RGB(A) colours converted from the RGB profile ``icc`` to sRGB, or
    from sRGB to it (``to_srgb=False``), with ImageCms.

    ``colors`` is a uint8 or uint16 array whose last axis holds 3 or 4
    channels (an image or a palette); alpha is kept as it is. The result has
    the same shape and dtype. ImageCms converts 8-bit colours only: uint16
    colours are converted at 8 bits (rounded) and scaled back.
    """
    colors = np.asarray(colors)
    rgb = colors[..., :3]
    if colors.dtype == np.uint16:
        rgb = _uint16_to_uint8(rgb)
    if rgb.ndim == 3:  # an image
        out = _transform(icc, to_srgb)(np.ascontiguousarray(rgb, dtype=np.uint8))
    else:  # ImageCms takes images: lay a list of colours out in rows
        flat = rgb.reshape(-1, 3)
        columns = max(1, min(len(flat), 4096))
        rows = -(-len(flat) // columns)
        padded = np.zeros((rows * columns, 3), np.uint8)
        padded[: len(flat)] = flat
        out = _transform(icc, to_srgb)(padded.reshape(rows, columns, 3))
        out = out.reshape(-1, 3)[: len(flat)].reshape(rgb.shape)
    result = colors.copy()
    result[..., :3] = out.astype(np.uint16) * 257 if colors.dtype == np.uint16 else out
    return result


def image_in_srgb(image, icc):
    """An RGB(A) image (uint8 or uint16) in sRGB: converted with
    :func:`convert_colors` when ``icc`` is an RGB profile other than sRGB,
    else ``image`` itself (untagged, sRGB, gray or unreadable profiles, and
    images of 1 or 2 channels)."""
    if not icc or image.ndim != 3 or image.shape[2] not in (3, 4):
        return image
    if profile_of(icc)[0] != "rgb":
        return image
    return convert_colors(image, icc, to_srgb=True)
