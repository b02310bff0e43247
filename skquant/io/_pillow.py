"""Pillow's file formats: the format an extension names, and saving with an
error that says what a format cannot store (shared by the image and the
indexed-file writers)."""

import os

from PIL import Image


def _pillow_format(ext):
    """Pillow's format name for a file extension (``".png"``), or None.

    The common formats (PNG, GIF, JPEG, BMP, PPM) are known after
    ``Image.preinit()``; only other extensions load all of Pillow's plugins
    (``Image.init()``, about 40 ms).
    """
    Image.preinit()
    return Image.EXTENSION.get(ext) or Image.registered_extensions().get(ext)


def _save_format(path, allowed=None):
    """Return Pillow's format name for the extension of ``path``."""
    ext = os.path.splitext(path)[1].lower()
    fmt = _pillow_format(ext)
    if fmt is None or fmt not in Image.SAVE or (allowed and fmt not in allowed):
        choices = (
            ", ".join(f".{name.lower()}" for name in allowed)
            if allowed
            else "an extension Pillow can write (.png, .jpg, .tif, ...)"
        )
        raise ValueError(
            f"unsupported image file extension {ext!r} in {path!r}; use {choices}."
        )
    return fmt


def _pil_save(pil_image, fp, fmt, **params):
    try:
        pil_image.save(fp, format=fmt, **params)
    except OSError as exc:
        if "cannot write mode" in str(exc):
            raise ValueError(
                f"{fmt} cannot store a mode {pil_image.mode!r} image ({exc}); "
                "for example, drop alpha with image[..., :3]."
            ) from exc
        raise
