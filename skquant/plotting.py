"""Figures for palettes and quantized images, with matplotlib.

matplotlib is an optional dependency (``pip install "skquant[plot]"``); it is
imported when a function here is called, not when this module is imported.

Functions
---------
plot_palette
    A palette as a row (or grid) of colour swatches.
plot_before_after
    An image and its quantized version side by side, with the palette below.
"""

import numpy as np

from skquant._image import FLOAT_SLACK
from skquant._unique import unique_rows

__all__ = ["plot_before_after", "plot_palette"]

#: Swatches per row of :func:`plot_palette`; larger palettes wrap.
MAX_SWATCHES_PER_ROW = 16


# =============================================================================
# Helpers
# =============================================================================


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "skquant.plotting needs matplotlib; install it with "
            "pip install 'skquant[plot]'."
        ) from None
    return plt


def _unit_float(values, what):
    """Image-like values as floats in [0, 1] (uint8, uint16 or float).

    Floats follow skquant's data contract: values a little outside [0, 1]
    (resampling overshoot) are clipped; data clearly on another scale, such
    as 0-255 floats, is refused instead of being drawn all white.
    """
    arr = np.asarray(values)
    if arr.dtype == np.uint8:
        return arr / 255.0
    if arr.dtype == np.uint16:
        return arr / 65535.0
    if arr.dtype.kind == "f":
        if arr.size:
            low, high = float(np.nanmin(arr)), float(np.nanmax(arr))
            if low < -FLOAT_SLACK or high > 1.0 + FLOAT_SLACK:
                raise ValueError(
                    f"{what} is float with values from {low:g} to {high:g}, but "
                    "float colours are drawn on a 0-1 scale. For 0-255 data "
                    "divide by 255 or pass uint8 (np.rint(x).astype(np.uint8))."
                )
        return np.clip(arr, 0.0, 1.0)
    raise ValueError(
        f"{what} must be uint8, uint16 or float in [0, 1], got dtype {arr.dtype}."
    )


def _palette_rgba(palette):
    """A palette as float RGBA of shape (n_colors, 4)."""
    arr = np.asarray(palette)
    if arr.ndim != 2 or arr.shape[1] not in (1, 3, 4) or arr.shape[0] == 0:
        raise ValueError(
            "palette must have shape (n_colors, 1), (n_colors, 3) or "
            f"(n_colors, 4) with n_colors >= 1, got shape {arr.shape}."
        )
    rgba = _unit_float(arr, "palette")
    if rgba.shape[1] == 1:
        rgba = np.repeat(rgba, 3, axis=1)
    if rgba.shape[1] == 3:
        rgba = np.hstack([rgba, np.ones((len(rgba), 1))])
    return rgba


def _hex(rgba):
    rgb = np.rint(rgba[:3] * 255).astype(int)
    text = "#" + "".join(f"{v:02x}" for v in rgb)
    if rgba[3] < 1:
        text += f"{round(rgba[3] * 255):02x}"
    return text


def _display_image(image, what):
    """An image as something ``imshow`` draws faithfully, plus its colormap."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(
            f"{what} must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
            f"got shape {arr.shape}."
        )
    if arr.dtype != np.uint8:
        arr = _unit_float(arr, what)
    if arr.ndim == 2:
        return arr, {
            "cmap": "gray",
            "vmin": 0,
            "vmax": 255 if arr.dtype == np.uint8 else 1,
        }
    return arr, {}


def _n_distinct(image):
    arr = np.asarray(image)
    pixels = arr.reshape(-1, arr.shape[-1]) if arr.ndim == 3 else arr.reshape(-1, 1)
    return len(unique_rows(pixels)[0])


# =============================================================================
# Public functions
# =============================================================================


def plot_palette(palette, *, ax=None, labels=False):
    """Show a palette as colour swatches, in the order given.

    A quantizer's ``palette_`` is sorted by use, so the most used colour comes
    first. Up to 16 swatches make one row; larger palettes wrap onto more
    rows of 16.

    Parameters
    ----------
    palette : array-like of shape (n_colors, 3), (n_colors, 4) or (n_colors, 1)
        RGB, RGBA or gray colours: uint8, uint16, or floats in [0, 1] (for
        example :attr:`ColorQuantizer.palette_ <skquant.ColorQuantizer>`).
        Alpha is drawn over the axes' background.
    ax : matplotlib.axes.Axes, default=None
        The axes to draw on. None creates a new figure sized for the palette.
    labels : bool, default=False
        Write each colour's hex code (``#rrggbb``, ``#rrggbbaa`` with alpha)
        on its swatch, in black or white, whichever reads better.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes with the swatches; ticks are hidden.

    Raises
    ------
    ValueError
        If the palette has the wrong shape or dtype.
    ImportError
        If matplotlib is not installed.

    See Also
    --------
    plot_before_after : An image and its quantized version.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skquant.plotting import plot_palette
    >>> palette = np.array(
    ...     [[230, 57, 70], [241, 250, 238], [29, 53, 87]], dtype=np.uint8
    ... )
    >>> ax = plot_palette(palette, labels=True)
    >>> [text.get_text() for text in ax.texts]
    ['#e63946', '#f1faee', '#1d3557']
    >>> plt.close("all")
    """
    rgba = _palette_rgba(palette)
    n_colors = len(rgba)
    n_cols = min(n_colors, MAX_SWATCHES_PER_ROW)
    n_rows = -(-n_colors // n_cols)
    # Swatch width and height in inches: labels need room, and are turned
    # upright on narrow swatches.
    rotate = labels and n_cols > 8
    width, height = (0.45, 1.0) if rotate else ((0.9, 0.5) if labels else (0.5, 0.5))
    if ax is None:
        plt = _pyplot()
        _, ax = plt.subplots(
            figsize=(width * n_cols + 0.4, height * n_rows + 0.4),
            layout="constrained",
        )
    grid = np.zeros((n_rows * n_cols, 4))
    grid[:n_colors] = rgba
    ax.imshow(
        grid.reshape(n_rows, n_cols, 4),
        interpolation="nearest",
        extent=(0, n_cols, n_rows, 0),
        aspect=height / width,
    )
    # Thin separators between swatches, so that neighbours that look alike
    # still read as two entries.
    ax.set_xticks(np.arange(1, n_cols), minor=True)
    ax.set_yticks(np.arange(1, n_rows), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.0)
    ax.tick_params(which="both", length=0)
    ax.set_xticks([])
    ax.set_yticks([])
    if labels:
        luma = rgba[:, :3] @ np.array([0.299, 0.587, 0.114])
        visible = luma * rgba[:, 3] + (1 - rgba[:, 3])  # over a white background
        for i, color in enumerate(rgba):
            row, col = divmod(i, n_cols)
            ax.text(
                col + 0.5,
                row + 0.5,
                _hex(color),
                ha="center",
                va="center",
                rotation=90 if rotate else 0,
                fontsize=7,
                color="black" if visible[i] > 0.5 else "white",
            )
    return ax


def plot_before_after(image, quantized, *, palette=None, axes=None, titles=None):
    """Show an image and its quantized version side by side.

    Parameters
    ----------
    image : array-like of shape (H, W, 3), (H, W, 4), (H, W, 1) or (H, W)
        The original image: uint8, uint16, or floats in [0, 1].
    quantized : array-like of shape (H, W, 3), (H, W, 4), (H, W, 1) or (H, W)
        The quantized image, for example ``quantizer.transform(image)``.
    palette : array-like of shape (n_colors, n_channels), default=None
        If given, the palette is drawn under the two images with
        :func:`plot_palette`.
    axes : sequence of matplotlib.axes.Axes, default=None
        Two axes (before, after), or three with ``palette`` (before, after,
        palette). None creates a new figure.
    titles : sequence of str, default=None
        Titles of the two images. None gives ``"Original"`` and
        ``"<K> colours"``, with K the palette's length or, without a palette,
        the number of distinct colours in ``quantized``.

    Returns
    -------
    axes : ndarray of matplotlib.axes.Axes
        The two (or three, with a palette) axes drawn on; the figure is
        ``axes[0].figure``.

    Raises
    ------
    ValueError
        If the images have unsupported shapes or dtypes, or ``axes`` or
        ``titles`` have the wrong length.
    ImportError
        If matplotlib is not installed.

    See Also
    --------
    plot_palette : The palette alone.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skimage import data
    >>> from skquant import ColorQuantizer
    >>> from skquant.plotting import plot_before_after
    >>> image = data.astronaut()[::4, ::4]
    >>> quantizer = ColorQuantizer(n_colors=8, random_state=0).fit(image)
    >>> axes = plot_before_after(
    ...     image, quantizer.transform(image), palette=quantizer.palette_
    ... )
    >>> [ax.get_title() for ax in axes[:2]]
    ['Original', '8 colours']
    >>> plt.close("all")
    """
    before, before_kw = _display_image(image, "image")
    after, after_kw = _display_image(quantized, "quantized")
    n_axes = 2 if palette is None else 3
    if titles is None:
        k = len(np.asarray(palette)) if palette is not None else _n_distinct(quantized)
        titles = ("Original", f"{k} colours")
    elif isinstance(titles, str) or len(titles) != 2:
        raise ValueError(f"titles must be two strings, got {titles!r}.")
    if axes is None:
        plt = _pyplot()
        height, width = before.shape[:2]
        panel = 4.0 * height / width
        if palette is None:
            fig, axes = plt.subplots(
                1, 2, figsize=(8, panel + 0.5), layout="constrained"
            )
        else:
            n_rows = -(-len(np.asarray(palette)) // MAX_SWATCHES_PER_ROW)
            strip = 0.4 * n_rows
            fig, axes = plt.subplot_mosaic(
                [["before", "after"], ["palette", "palette"]],
                figsize=(8, panel + strip + 0.6),
                height_ratios=(panel, strip),
                layout="constrained",
            )
            axes = [axes["before"], axes["after"], axes["palette"]]
    axes = np.asarray(axes, dtype=object).ravel()
    if len(axes) != n_axes:
        raise ValueError(
            f"axes must hold {n_axes} Axes ("
            + ("before, after" if palette is None else "before, after, palette")
            + f"), got {len(axes)}."
        )
    for ax, arr, kwargs, title in zip(
        axes[:2], (before, after), (before_kw, after_kw), titles, strict=True
    ):
        ax.imshow(arr, interpolation="nearest", **kwargs)
        ax.set_title(title)
        ax.set_axis_off()
    if palette is not None:
        plot_palette(palette, ax=axes[2])
    return axes
