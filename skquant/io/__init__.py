"""Reading and writing images and palettes.

Images
    :func:`read_image` returns an RGB(A) or grayscale array with the EXIF
    orientation applied, keeping 16-bit PNGs at 16 bits; :func:`write_image`
    writes such an array. :func:`write_indexed` writes a true indexed (mode
    ``"P"``) PNG or GIF from labels and a palette, and
    :func:`write_animated_gif` writes several label images as one animated GIF
    that shares a single global palette.

Palettes
    :func:`read_palette` and :func:`write_palette` handle GIMP palettes
    (``.gpl``), JSON (``.json``), plain hex lists (``.hex``, ``.txt``) and
    Adobe Color Tables (``.act``), chosen by the file extension.

Every writer writes atomically: the data go to a temporary file in the target
folder which then replaces the target with :func:`os.replace`, so a failed
write never leaves a partial file behind and never damages an existing one.
With ``overwrite=False`` the file is created without replacing anything, so
a file that appears while the data are written is kept.

The package holds one module per concept: ``_images`` (reading and writing
image files), ``_indexed`` (indexed PNG and GIF, animations), ``_palettes``
(palette files), ``_files`` (safe reading, atomic writes), ``_pillow``
(Pillow's formats and saving) and ``_arrays`` (the checks and conversions
they share).
"""

from skquant.io._images import read_image, write_image
from skquant.io._indexed import write_animated_gif, write_indexed
from skquant.io._palettes import read_palette, write_palette

__all__ = [
    "read_image",
    "read_palette",
    "write_animated_gif",
    "write_image",
    "write_indexed",
    "write_palette",
]
