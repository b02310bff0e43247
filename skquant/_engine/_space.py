"""The working space: where colours are clustered and compared.

A :class:`WorkingSpace` is fixed by a fit: the colour space, whether the 4th
channel is opacity, and the data's dtype (its full scale). It converts pixels
in the input's units to working points and back.
"""

import numpy as np

from skquant import _color
from skquant._image import IMAGE_INT_SCALE, full_scale, working_float


class WorkingSpace:
    """Conversions between the input's units and the working space.

    Parameters
    ----------
    color_space : {'rgb', 'lab', 'oklab', 'din99o', 'perceptual'}
    alpha : bool
        Whether the 4th channel is opacity: working points are then the
        alpha-premultiplied colour plus alpha scaled to the colour range.
    dtype : numpy dtype
        The data's dtype (its full scale for the perceptual spaces).
    n_channels : int
    channel_order : {'rgb', 'bgr'}, default='rgb'
        How the input stores its colour channels. Working points are always
        in RGB order: :meth:`to_rgb` puts BGR(A) pixels in RGB(A) order
        before any conversion, and :meth:`from_working` gives values back in
        the input's order.
    """

    def __init__(self, color_space, alpha, dtype, n_channels, channel_order="rgb"):
        self.color_space = color_space
        self.alpha = bool(alpha)
        self.dtype = np.dtype(dtype)
        self.n_channels = int(n_channels)
        self.work_dtype = working_float(self.dtype)
        self.channel_order = channel_order
        #: Column permutation between the input's order and RGB (its own
        #: inverse), or None for RGB input.
        self.order = None
        if channel_order == "bgr":
            self.order = np.array([2, 1, 0, 3][: self.n_channels])

    def signature(self):
        """What earlier centres must match to be reused."""
        return (
            self.n_channels,
            self.dtype.str,
            self.color_space,
            self.alpha,
            self.channel_order,
        )

    def to_rgb(self, pixels):
        """Pixels ``(..., n_channels)`` in the input's order -> RGB(A) order.

        The same array for RGB input, else a reordered copy (the swap is its
        own inverse, so it also turns RGB values back into the input's order).
        """
        if self.order is None:
            return pixels
        return np.ascontiguousarray(np.asarray(pixels)[..., self.order])

    @property
    def has_scale(self):
        """Whether the dtype has a colour scale (uint8, uint16, floats)."""
        return self.dtype.kind == "f" or self.dtype in IMAGE_INT_SCALE

    def assign_scale(self):
        """Full scale of the dtype where the colour space needs it."""
        return 1.0 if self.color_space == "rgb" else full_scale(self.dtype)

    def alpha_scale(self):
        """How far apart opaque and transparent are, in colour units."""
        if self.color_space in ("lab", "din99o", "perceptual"):
            return 100.0
        if self.color_space == "oklab":
            return 1.0
        return full_scale(self.dtype)

    def to_working(self, pixels, dtype=None):
        """Pixels in the input's units -> working-space floats."""
        dtype = np.dtype(dtype if dtype is not None else self.work_dtype)
        pixels = self.to_rgb(np.asarray(pixels))
        if not self.alpha:
            return self._colour_to_working(pixels, dtype)
        opacity = pixels[:, 3].astype(dtype) / dtype.type(full_scale(self.dtype))
        colour = self._colour_to_working(pixels[:, :3], dtype)
        colour *= opacity[:, None]
        return np.concatenate(
            [colour, (opacity * dtype.type(self.alpha_scale()))[:, None]], axis=1
        )

    def _colour_to_working(self, pixels, dtype):
        if self.color_space == "rgb":
            return pixels.astype(dtype, copy=True if self.alpha else False)
        scale = full_scale(self.dtype)
        rgb = pixels.astype(dtype)
        if scale != 1.0:
            rgb /= dtype.type(scale)
        return _color.to_working(rgb, self.color_space)

    def from_working(self, values):
        """Working space -> input units (in the input's channel order), float64."""
        values = np.asarray(values, dtype=np.float64)
        if not self.alpha:
            return self.to_rgb(self._colour_from_working(values))
        opacity = np.clip(values[:, 3] / self.alpha_scale(), 0.0, 1.0)
        colour = np.divide(
            values[:, :3],
            opacity[:, None],
            out=np.zeros_like(values[:, :3]),
            where=opacity[:, None] > 0,
        )
        colour = self._colour_from_working(colour)
        return self.to_rgb(np.column_stack([colour, opacity * full_scale(self.dtype)]))

    def _colour_from_working(self, values):
        if self.color_space == "rgb":
            return values
        rgb = _color.from_working(values, self.color_space)
        return np.clip(rgb, 0.0, 1.0) * full_scale(self.dtype)
