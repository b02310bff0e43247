"""A fitted palette, and the fit that makes one: pool -> learn -> map.

:func:`fit_palette` takes a validated :class:`~skquant._image.Layout` and
:class:`~skquant._engine._params.Settings` and returns a
:class:`FittedPalette`, which holds everything mapping needs (the palette in
the input's units and in the working space, the colour space, the alpha rule,
the dtype, the channel count and the dithering method) and labels, maps,
dithers and scores images with it. Nothing here imports scikit-learn or SciPy.
"""

import numpy as np

from skquant._engine._learn import (
    FewerColorsWarning,
    check_random_state,
    fit_points,
    learn_palette,
)
from skquant._engine._space import WorkingSpace
from skquant._image import (
    check_colors_contract,
    check_dtype_compatible,
    check_unit_range,
    full_scale,
    to_dtype,
    warn_dither_units,
)

#: Pixels per piece when summing squared errors or restoring clear pixels.
SCORE_CHUNK = 1 << 18


# %% resolving a fit's settings against the data ------------------------------


def working_space(settings, layout):
    """The :class:`WorkingSpace` of ``settings`` on ``layout``'s data (checked)."""
    dtype, n_channels = layout.dtype, layout.n_channels
    space = WorkingSpace(
        settings.color_space, False, dtype, n_channels, settings.channel_order
    )
    # 'auto' reads a 4th channel as opacity only where opacity has a scale
    space.alpha = settings.alpha is True or (
        settings.alpha == "auto"
        and n_channels == 4
        and layout.kind != "pixels"
        and space.has_scale
    )
    if settings.alpha is True and not space.has_scale:
        raise ValueError(
            f"alpha=True needs uint8, uint16 or float data to read opacity "
            f"from, got dtype {dtype}; use alpha=False to treat the 4th "
            "channel as a plain feature."
        )
    if settings.color_space != "rgb":
        full_scale(dtype)  # raises for dtypes without a colour scale
        if n_channels == 4 and not space.alpha:
            raise ValueError(
                f"color_space={settings.color_space!r} on 4 channels needs them "
                "to be RGBA: pass alpha=True."
            )
    if space.alpha and settings.dither_method is not None:
        raise ValueError(
            f"dither={settings.dither!r} is not applied to images with alpha; "
            "use dither=None for RGBA images, or drop the alpha channel."
        )
    check_contract(space, layout)
    return space


def check_contract(space, layout):
    """The float data contract (see :mod:`skquant._image`)."""
    if space.color_space != "rgb":
        check_unit_range(layout, why=f"color_space={space.color_space!r}")


def check_colors(colors, name, space):
    """A user palette, as an exact array of the data's dtype."""
    colors = np.asarray(colors)
    n_channels = space.n_channels
    if colors.ndim != 2 or colors.shape[0] == 0 or colors.shape[1] != n_channels:
        raise ValueError(
            f"{name} must have shape (n, n_channels={n_channels}), got shape "
            f"{colors.shape}."
        )
    if colors.dtype.kind not in "iuf" or not np.all(np.isfinite(colors)):
        raise ValueError(f"{name} must hold finite numbers, got {colors!r}.")
    cast = to_dtype(colors, space.dtype)
    differs = np.any(cast.astype(np.float64) != colors.astype(np.float64), axis=1)
    if differs.any():
        bad = np.flatnonzero(differs)[0]
        raise ValueError(
            f"{name}[{bad}]={colors[bad].tolist()} is not a value of the data's "
            f"dtype {space.dtype}; give colours in the input's units "
            "(0-255 for uint8, 0-65535 for uint16, floats for float images)."
        )
    check_colors_contract(
        colors, name, space.dtype, unit_floats=space.color_space != "rgb"
    )
    return cast


def check_sample_weight(sample_weight, layout):
    """Per-pixel weights flattened like ``layout.pixels()``, or None."""
    if sample_weight is None:
        return None
    parts = sample_weight if layout.kind == "list" else [sample_weight]
    if len(parts) != len(layout.arrays):
        raise ValueError(
            f"sample_weight has {len(parts)} arrays for {len(layout.arrays)} images."
        )
    flat = []
    for part, array in zip(parts, layout.arrays, strict=True):
        w = np.asarray(part)
        if w.dtype.kind not in "biuf":
            raise ValueError(
                f"sample_weight must hold real numbers, got dtype {w.dtype}."
            )
        w = w.astype(np.float64)
        if w.shape not in (array.shape[:-1], (array.size // layout.n_channels,)):
            raise ValueError(
                f"sample_weight has shape {w.shape}, expected {array.shape[:-1]} "
                "(one weight per pixel)."
            )
        flat.append(w.ravel())
    w = flat[0] if len(flat) == 1 else np.concatenate(flat)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            "sample_weight must be finite and >= 0, got values from "
            f"{w.min()} to {w.max()}."
        )
    if not w.sum() > 0:
        raise ValueError("sample_weight is all zero: no pixel would count.")
    return w


# %% the fitted palette -------------------------------------------------------


class FittedPalette:
    """A palette and everything needed to map images onto it.

    Parameters
    ----------
    palette : ndarray of shape (n_colors, n_channels)
        In the input's units and dtype, in index order.
    centers : ndarray of shape (n_colors, n_channels)
        The k-means centres in the input's units (float64).
    space : WorkingSpace
        Colour space, alpha rule, dtype and channel count of the fit.
    dither : str or None
        Dithering method of :meth:`label` and :meth:`map` on images.
    dither_strength : float
        From 0 to 1: how much of the error is diffused (see
        :func:`skquant._kernels.dither_labels`).
    dither_adaptive : bool
        Adaptive error diffusion (calm flat areas); no effect on ordered
        dithering.
    keep_transparent_rgb : bool
        With alpha, keep the RGB of fully transparent pixels.
    has_transparent : bool
        Whether the last entry is the fully transparent one (not learnt).
    n_iter, inertia
        What k-means reported.
    weights : ndarray of shape (n_colors,) or None
        The summed weight (pixel counts, or ``sample_weight``) of the pixels
        k-means assigned to each learnt colour, in index order; 0 for the
        transparent entry (its pixels are not clustered). A sampled fit's
        are scaled to the weight of all the pixels. ``partial_fit`` after a
        fit starts its histogram from these weighted colours
        (:func:`skquant._engine._stream.start_stream`). None for a given
        ``palette``.

    Attributes
    ----------
    palette_work : ndarray of shape (n_colors, n_channels)
        The palette in the working space.
    """

    def __init__(
        self,
        palette,
        centers,
        space,
        *,
        dither=None,
        dither_strength=1.0,
        dither_adaptive=True,
        keep_transparent_rgb=False,
        has_transparent=False,
        n_iter=0,
        inertia=0.0,
        weights=None,
    ):
        self.palette = palette
        self.centers = np.asarray(centers, dtype=np.float64)
        self.space = space
        self.dither = dither
        self.dither_strength = float(dither_strength)
        self.dither_adaptive = bool(dither_adaptive)
        self.keep_transparent_rgb = bool(keep_transparent_rgb)
        self.has_transparent = bool(has_transparent)
        self.n_iter, self.inertia = int(n_iter), float(inertia)
        self.weights = None if weights is None else np.asarray(weights, np.float64)
        self.palette_work = space.to_working(palette)

    @property
    def n_colors(self):
        return len(self.palette)

    @property
    def adaptive_diffusion(self):
        """Whether the dithering is adaptive error diffusion (``'bayer'``,
        ordered, has no error to diffuse: ``dither_adaptive`` leaves it as
        it is)."""
        return self.dither_adaptive and self.dither not in (None, "bayer")

    def learnt_centers(self):
        """Centres a warm start can begin from (the transparent entry left out)."""
        return self.centers[:-1] if self.has_transparent else self.centers

    # %% checked entry points on arrays -------------------------------------------

    def check(self, layout):
        """Refuse data whose units, width or range differ from the fit's."""
        if layout.n_channels != self.space.n_channels:
            raise ValueError(
                f"X has {layout.n_channels} channels, but the palette was fitted on "
                f"{self.space.n_channels} channels."
            )
        check_dtype_compatible(self.space.dtype, layout.dtype)
        check_contract(self.space, layout)
        return layout

    def label(self, image):
        """Palette index of every pixel of ``image`` (any layout skquant takes)."""
        from skquant._image import read_input

        layout = self.check(read_input(image, fitting=False))
        return layout.restore(self.layout_labels(layout))

    def map(self, image):
        """``image`` with every pixel replaced by its palette colour (dithered
        if the palette was fitted with ``dither``)."""
        from skquant._image import read_input

        return self.transform(self.check(read_input(image, fitting=False)))

    # %% guts on validated layouts ------------------------------------------------

    def kernel_args(self):
        """Keyword arguments of the nearest-colour kernels for this palette."""
        alpha = None
        if self.space.alpha:
            alpha = (full_scale(self.space.dtype), self.space.alpha_scale())
        return {
            "space": self.space.color_space,
            "scale": self.space.assign_scale(),
            "alpha": alpha,
        }

    def labels(self, pixels):
        """Nearest palette index of each pixel of a validated block."""
        from skquant._kernels import assign_labels

        # RGBA: premultiplied working points, computed inside the kernel
        return assign_labels(
            self.space.to_rgb(pixels), self.palette_work, **self.kernel_args()
        )

    def warn_units(self, layout):
        """Before dithering ``layout``: 'rgb' 0-255 floats get a warning."""
        if self.space.color_space == "rgb" and not self.space.alpha:
            warn_dither_units(layout)

    def layout_labels(self, layout):
        """Flat labels of every block of ``layout``, dithered where asked.

        Dithering needs neighbours, so it applies to images (3-D and 4-D
        arrays and images in lists); pixel arrays ``(n, C)`` are mapped to
        their nearest colour.
        """
        if self.dither is None:
            return [self.labels(b) for b in layout.blocks()]
        self.warn_units(layout)
        from skquant._kernels import dither_labels

        dtype = self.space.dtype
        scale = full_scale(dtype) if self.space.has_scale else None
        results = []
        for array in layout.arrays:
            if array.ndim == 2:
                results.append(self.labels(array))
                continue
            images = array if array.ndim == 4 else array[None]
            labels = [
                dither_labels(
                    self.space.to_rgb(image),
                    self.space.to_rgb(self.palette),
                    method=self.dither,
                    space=self.space.color_space,
                    scale=scale,
                    strength=self.dither_strength,
                    adaptive=self.adaptive_diffusion,
                )
                for image in images
            ]
            results.append(np.stack(labels).ravel())
        return results

    def transform(self, layout):
        """The mapped colours of a validated layout, in its shape and dtype.

        No label array is built for the image: the nearest colours (RGBA
        included) come from :func:`~skquant._kernels.map_to_palette` and the
        dithered ones from :func:`~skquant._kernels.dither_map`, both equal
        to ``palette[layout_labels(layout)]``.
        """
        palette = self.palette.astype(layout.dtype, copy=False)
        if self.dither is None:
            results = [self.map_block(b, palette) for b in layout.blocks()]
        else:
            self.warn_units(layout)
            results = [self.dither_array(a, palette) for a in layout.arrays]
        return layout.restore(results, per_pixel_shape=(layout.n_channels,))

    def map_block(self, block, palette):
        """``palette[labels(block)]`` (clear pixels kept if asked), chunk by chunk."""
        from skquant._kernels import map_to_palette

        args = self.kernel_args()
        keep = self.space.alpha and self.keep_transparent_rgb
        # the kernel keeps the colour channels of the pixels it is given,
        # which for BGR input are a reordered copy: fix those up here instead
        reordered = self.space.order is not None
        mapped = map_to_palette(
            self.space.to_rgb(block),
            self.palette_work,
            palette,
            keep_clear=keep and not reordered,
            **args,
        )
        if keep and reordered:
            for start in range(0, len(block), SCORE_CHUNK):
                chunk = block[start : start + SCORE_CHUNK]
                clear = chunk[:, 3] == 0
                mapped[start : start + SCORE_CHUNK][clear, :3] = chunk[clear, :3]
        return mapped

    def dither_array(self, array, palette):
        """The dithered colours of one array of ``layout.arrays``.

        Images (3-D) and batches (4-D) are dithered image by image; pixel
        arrays ``(n, C)`` have no neighbours and get their nearest colour.
        """
        from skquant._kernels import dither_map

        if array.ndim == 2:
            return self.map_block(array, palette)
        scale = full_scale(self.space.dtype) if self.space.has_scale else None
        rgb_palette = self.space.to_rgb(self.palette)

        def dither(image):
            return dither_map(
                self.space.to_rgb(image),
                rgb_palette,
                palette,
                method=self.dither,
                space=self.space.color_space,
                scale=scale,
                strength=self.dither_strength,
                adaptive=self.adaptive_diffusion,
            )

        if array.ndim == 3:
            return dither(array)
        out = np.empty(array.shape[:-1] + palette.shape[1:], palette.dtype)
        for i, image in enumerate(array):
            out[i] = dither(image)
        return out

    def squared_error(self, layout):
        """(sum of squared errors, number of values) after mapping, in float64."""
        from skquant._kernels import take_rows

        total, count = 0.0, 0
        for block, labels in zip(
            layout.blocks(), self.layout_labels(layout), strict=True
        ):
            for start in range(0, block.shape[0], SCORE_CHUNK):
                chunk = block[start : start + SCORE_CHUNK].astype(np.float64)
                mapped = take_rows(self.palette, labels[start : start + SCORE_CHUNK])
                total += float(np.sum((chunk - mapped) ** 2))
                count += chunk.size
        return total, count


# %% the fit ------------------------------------------------------------------


def fit_palette(
    layout,
    settings,
    sample_weight=None,
    *,
    previous=None,
    warning=FewerColorsWarning,
    flat_weighted=False,
):
    """Learn a :class:`FittedPalette` from the pixels of a validated layout.

    Parameters
    ----------
    layout : Layout
    settings : Settings
    sample_weight : array-like or list, default=None
    previous : FittedPalette or None
        An earlier fit to warm-start from; used only when its colour space,
        alpha rule, dtype and channel count match (else the fit starts afresh).
    warning : Warning subclass
        Issued when the data holds fewer distinct colours than ``n_colors``.
    flat_weighted : bool, default=False
        ``sample_weight`` already holds the flatness weights of a fit for
        adaptive dithering (:func:`calm_weights`), measured on the images the
        pixels were sampled from (the Dask fit's sample).
    """
    space = working_space(settings, layout)
    from skquant._warm import expect  # a cold cache compiles on 2 cores

    expect(settings, layout)
    if not isinstance(settings.init, str):
        check_colors_contract(
            np.asarray(settings.init),
            "init",
            space.dtype,
            unit_floats=space.color_space != "rgb",
        )
    if settings.palette is not None:
        return given_palette(settings, space)
    rng = check_random_state(settings.random_state)
    pixels = layout.pixels()
    weights = check_sample_weight(sample_weight, layout)
    if not flat_weighted:
        weights = calm_weights(layout, weights, settings)
    pixels, weights, has_transparent = visible_pixels(pixels, weights, space)
    n_learned = settings.n_colors - int(has_transparent)
    points = None
    if len(pixels):
        # pooled in RGB order (the histogram's cell order and so the seeds
        # are those of the same image stored as RGB), then back in the
        # input's order, which the working space expects
        points = fit_points(space.to_rgb(pixels), weights, settings, n_learned, rng)
        points.points = space.to_rgb(points.points)
    fitted = palette_from_points(
        points,
        settings,
        space,
        has_transparent,
        rng=rng,
        previous=previous,
        warning=warning,
    )
    if points is not None and points.sampled is not None and fitted.weights.any():
        # a sample's weights stand for all the pixels'
        total = len(pixels) if weights is None else float(weights.sum())
        fitted.weights *= total / fitted.weights.sum()
    return fitted


#: A fit for adaptive dithering at K colours spreads a share
#: ``even_share(K) = min(CALM_EVEN_SHARE, CALM_FIT_COLORS / K)`` of the
#: pixels' weight evenly and the rest by how flat the image is around each
#: pixel (see :func:`calm_weights`): a half up to 32 colours, a quarter at 64.
#: Measured with ``bench_dither.py``'s measures on three photo sets (the
#: seven sample photos, four from documentation folders, four more): against
#: the share min(1, 16 / K) of 0.8.0, which left K <= 16 unweighted, blurred
#: CIEDE2000 over plain Floyd-Steinberg's at K=16 went from +0.8 / -0.7 /
#: 0.0 % to -3.3 / -1.0 / -3.6 % (geometric means photo by photo, k-means
#: seed 0; seeds 1 and 2: -6.1 to -3.8 % against -1.2 to +1.3 %), at K=8
#: from +0.6 / -2.7 / +0.1 % to -1.4 / -3.2 / -8.9 %, at K=24 from -1.8 /
#: +0.9 / -1.0 % to -2.7 / -4.3 / -5.1 %. The flat-area noise of the median
#: photo against libimagequant's: K=16 -24 / +12 / -15 % to -12 / -1 / -17 %
#: (seeds 1-2: -21 / +6 to +9 / -21 to -24 %, against -23 to -24 / +13 /
#: -14 to -20 %), K=8 +2 / +7 / -17 % to -10 / +3 / -14 %, K=24 -17 / -18 /
#: -7 % to -16 / -14 / -11 %. A share of sqrt(4 / K) (0.71 at K=8, 0.35 at
#: K=32) was noisier at K=8 on every set and at K=32 on two of three. Below
#: CALM_MIN_COLORS the fit is not weighted: at K=4 a half share was noisier
#: on every set (+3 / +47 / -1 % against -1 / +30 / -9 %).
CALM_FIT_COLORS = 16
CALM_EVEN_SHARE = 0.5
CALM_MIN_COLORS = 8


def even_share(n_colors):
    """The share of a fit's weight spread evenly at ``n_colors`` colours."""
    return min(CALM_EVEN_SHARE, CALM_FIT_COLORS / n_colors)


def calm_weights(layout, weights, settings):
    """``weights`` times the flatness weights of a fit for adaptive dithering.

    With adaptive error diffusion (see :func:`wants_calm`), pixels where the
    image is flat count more than pixels in texture: flat areas, where
    dither noise shows, get palette colours near their own and need little
    diffusion, while texture hides the noise of colours further apart. The
    flatness ``f`` of a pixel is 1 where the colour barely varies over the
    6 x 6 window around it, down to 0.05 in texture
    (:func:`skquant._kernels.flat_weights`); its weight is
    ``s + (1 - s) f / mean(f)`` with ``s = even_share(n_colors)`` (a share
    ``s`` of the weight spread evenly, a half up to 32 colours: with few
    colours, texture keeps much of its share; :func:`calm_from_flat`).
    Pixel arrays ``(n, C)`` have no neighbours (``f`` = 1). Otherwise
    ``weights`` is returned unchanged.
    The Dask fits compute the same weights block by block
    (:mod:`skquant._dask._fit`).
    """
    if not wants_calm(settings):
        return weights
    from skquant._kernels import flat_weights

    parts = []
    for array in layout.arrays:
        if array.ndim == 2:
            parts.append(np.ones(len(array)))
            continue
        norm = flatness_norm(array.dtype, array.shape[-1], *_channel_range(array))
        for image in array if array.ndim == 4 else array[None]:
            parts.append(flat_weights(image, norm))
    flat = parts[0] if len(parts) == 1 else np.concatenate(parts)
    flat = calm_from_flat(flat, flat.mean(), settings.n_colors)
    return flat if weights is None else weights * flat


def wants_calm(settings):
    """Whether a fit with ``settings`` weighs pixels by flatness: adaptive
    error diffusion (``dither_adaptive`` and an error-diffusion ``dither``
    at a strength above 0) at ``CALM_MIN_COLORS`` colours or more."""
    method = settings.dither_method
    return not (
        method is None
        or method == "bayer"  # ordered: no error diffusion to adapt
        or not settings.dither_adaptive
        or settings.dither_strength == 0
        or settings.n_colors < CALM_MIN_COLORS
    )


def calm_from_flat(flat, mean, n_colors):
    """``s + (1 - s) flat / mean`` with ``s = even_share(n_colors)``
    (``flat`` a NumPy or Dask array, ``mean`` the mean flatness of all the
    pixels); a NumPy ``flat`` is overwritten."""
    even = even_share(n_colors)
    flat *= (1.0 - even) / mean
    flat += even
    return flat


def _channel_range(array):
    """Per channel, the minimum and maximum of ``array`` when
    :func:`flatness_norm` needs them (data with no full scale), else None."""
    if array.dtype in (np.uint8, np.uint16):
        return None, None
    flat = array.reshape(-1, array.shape[-1])
    return flat.min(axis=0), flat.max(axis=0)


def flatness_norm(dtype, n_channels, lo, hi):
    """Per channel, 1 / the full scale of ``dtype``, or for data without one
    (floats beyond [0, 1], other integers), 1 / its range ``hi - lo`` (the
    per-channel minimum and maximum; None for uint8 and uint16)."""
    if dtype in (np.uint8, np.uint16) or (
        dtype.kind == "f" and lo.min() >= 0 and hi.max() <= 1
    ):
        return np.full(n_channels, 1.0 / full_scale(dtype))
    width = (hi - lo).astype(np.float64)
    return np.divide(1.0, width, out=np.zeros_like(width), where=width > 0)


def visible_pixels(pixels, weights, space):
    """(pixels, weights, has_transparent) without the fully transparent pixels.

    With alpha, fully transparent pixels share one palette entry, so they are
    left out of the fit; otherwise nothing changes.
    """
    if not space.alpha:
        return pixels, weights, False
    visible = pixels[:, 3] > 0
    if visible.all():
        return pixels, weights, False
    return pixels[visible], None if weights is None else weights[visible], True


def given_palette(settings, space):
    """``palette=P``: map onto exactly ``P``, in its order."""
    palette = check_colors(settings.palette, "palette", space)
    return FittedPalette(
        palette,
        palette.astype(np.float64),
        space,
        dither=settings.dither_method,
        dither_strength=settings.dither_strength,
        dither_adaptive=settings.dither_adaptive,
        keep_transparent_rgb=settings.keep_transparent_rgb,
    )


def palette_from_points(
    points,
    settings,
    space,
    has_transparent,
    *,
    rng=None,
    previous=None,
    init_work=None,
    warning=FewerColorsWarning,
):
    """learn_palette on ``points`` (or nothing, when None) -> FittedPalette.

    ``rng`` defaults to a new ``check_random_state(settings.random_state)``.
    """
    if rng is None:
        rng = check_random_state(settings.random_state)
    n_learned = settings.n_colors - int(has_transparent)
    fixed = (
        None
        if settings.fixed_colors is None
        else check_colors(settings.fixed_colors, "fixed_colors", space)
    )
    if points is None or n_learned == 0:
        # nothing visible, or room for the transparent entry only
        palette = to_dtype(np.zeros((0, space.n_channels)), space.dtype)
        centers, n_iter, inertia = np.zeros((0, space.n_channels)), 0, 0.0
        weights = np.zeros(0)
    else:
        start = None
        if previous is not None and previous.space.signature() == space.signature():
            start = previous.learnt_centers()
            if len(start) != n_learned:
                start = None
        palette, centers, n_iter, inertia, weights = learn_palette(
            points,
            n_colors=n_learned,
            space=space,
            settings=settings,
            rng=rng,
            fixed=fixed,
            previous=start,
            init_work=init_work,
            warning=warning,
        )
    if has_transparent:
        # the one fully transparent entry, last
        palette = np.concatenate(
            [palette, np.zeros((1, space.n_channels), palette.dtype)]
        )
        centers = np.concatenate([centers, np.zeros((1, space.n_channels))])
        weights = np.append(weights, 0.0)
    return FittedPalette(
        palette,
        centers,
        space,
        dither=settings.dither_method,
        dither_strength=settings.dither_strength,
        dither_adaptive=settings.dither_adaptive,
        keep_transparent_rgb=settings.keep_transparent_rgb,
        has_transparent=has_transparent,
        n_iter=n_iter,
        inertia=inertia,
        weights=weights,
    )
