"""Colour management of the ``skquant`` command: what is done with an
input's ICC profile (:func:`colour_handling`), said once per run.

The rule: an output shows the colours of its input. Untagged files, and
files whose profile maps colours as sRGB does, are taken as sRGB and left
alone. For an input with another RGB profile (Adobe RGB, Display P3, ...):

- ``--color-space rgb``, profile kept: the file's own RGB values are
  clustered and written, with the profile;
- a perceptual space (lab, oklab, din99o), or colours given by
  ``--palette``, ``--remap`` or ``--keep-colors`` (sRGB colours), profile
  kept: the pixels are
  converted to sRGB with Pillow's ImageCms (relative colorimetric intent),
  clustered there (the perceptual spaces are computed from sRGB), and the
  palette is converted back into the input's space, which the kept profile
  describes;
- profile not kept (``--strip``, a format without profiles such as GIF or
  BMP, or one palette shared by several inputs): the pixels are converted
  to sRGB and written as sRGB, without a profile.

Profiles of other data (gray, CMYK, Lab), which an RGB output cannot carry,
are dropped. Conversions work at 8 bits per channel (ImageCms's limit).
"""

import dataclasses
import os

from skquant._cli._parser import STDIO


@dataclasses.dataclass
class ColourHandling:
    """What happens to one input's colours.

    ``icc``: the profile its pixels are converted from to sRGB before
    clustering (None: no conversion); ``back``: whether the palette and
    output are converted back into that profile's space; ``keep``: whether
    the output carries the input's profile; ``note``: ``(kind, text)``, said
    once per run for each kind.
    """

    icc: bytes | None = None
    back: bool = False
    keep: bool = True
    note: tuple | None = None


def holds_profile(path):
    """Whether an output file at ``path`` can carry an ICC profile."""
    if path is None or path == STDIO:
        return True  # no file, or a PNG on stdout
    from skquant.io._metadata import ICC_FORMATS
    from skquant.io._pillow import _pillow_format

    return _pillow_format(os.path.splitext(path)[1].lower()) in ICC_FORMATS


def colour_handling(metadata, label, color_space, *, keep, given=False):
    """The :class:`ColourHandling` of an input.

    ``metadata`` is what :func:`skquant.io._metadata.read_metadata` found
    in the input (read with ``--strip`` too: the colours still need it), or
    None; ``keep`` says whether the output may carry the profile (not
    ``--strip``, a format that holds one, not a shared palette); ``given``
    whether colours are given (``--palette``, ``--remap``,
    ``--keep-colors``): those are sRGB colours, so the pixels are converted
    to sRGB to be matched with them, whatever the colour space.
    """
    icc = (metadata or {}).get("icc_profile")
    if not icc:
        return ColourHandling(keep=keep)
    from skquant.io._profiles import profile_of

    kind, _, name = profile_of(icc)
    if kind == "srgb":
        return ColourHandling(keep=keep)
    if kind in ("other", "unreadable"):
        what = f"the profile {name!r}" if name else "an unreadable profile"
        text = (
            f"ICC: {label!r} has {what}, which does not describe RGB data: "
            "the profile is dropped and its colours taken as decoded"
        )
        return ColourHandling(keep=False, note=("dropped", text))
    head = (
        f"ICC: {label!r} (and any other input with a non-sRGB RGB profile) "
        f"has the profile {name!r}: "
    )
    if keep and color_space == "rgb" and not given:
        text = (
            head + "its own RGB values are clustered (--color-space rgb) and "
            "the profile is kept, so the output shows the input's colours"
        )
        return ColourHandling(note=("kept", text))
    converted = (
        "its colours are converted to sRGB with Pillow's ImageCms (relative "
        "colorimetric intent: colours outside sRGB are clipped to it)"
    )
    where = (
        "matched with the given sRGB colours (--palette, --remap, --keep-colors)"
        if given
        else f"clustered in {color_space}"
    )
    if keep:
        text = (
            f"{head}{converted} and {where}; the palette is converted back "
            "into the input's space and the profile is kept"
        )
        return ColourHandling(icc=icc, back=True, note=("back", text))
    text = (
        f"{head}{converted}, {where}, and written as sRGB without the "
        "profile (--strip, a format without profiles, or a shared palette)"
    )
    return ColourHandling(icc=icc, keep=False, note=("srgb", text))


def to_srgb(image, handling):
    """The image in sRGB, as its handling asks (the image itself if not)."""
    if handling.icc is None:
        return image
    from skquant.io._profiles import convert_colors

    return convert_colors(image, handling.icc, to_srgb=True)


def from_srgb(colors, handling):
    """Colours (a palette or an image) back in the input's space, when its
    handling converts back (``colors`` itself if not)."""
    if not handling.back or colors is None:
        return colors
    from skquant.io._profiles import convert_colors

    return convert_colors(colors, handling.icc, to_srgb=False)
