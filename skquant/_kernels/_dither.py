"""Dithering: error diffusion in linear light and ordered (Bayer) dithering.

The entry point is :func:`dither_labels`, which maps an image ``(H, W, C)``
onto a palette and returns the palette index of every pixel, spreading the
quantization error so that the average colour over a small neighbourhood
stays close to the original.

How colour data is dithered
---------------------------
For sRGB colour data (3 channels with a known full scale), every pixel is
decoded to *linear light* and the error carried from its neighbours is added
there. The nearest palette colour to that corrected value (clamped to the
RGB cube) is chosen exactly in the *working space* (``'rgb'`` is
sRGB-encoded, ``'lab'`` CIELAB, ``'oklab'`` OKLab, ``'din99o'`` DIN99o), and
the error ``corrected - chosen`` is passed on in linear light, which is where
the eye averages neighbouring pixels. The conversions are those of
:mod:`skquant._kernels._colorspace`, shared with assignment.

Other data (any number of channels, or values that are not sRGB in
``[0, scale]``) is dithered in its own units: the error is diffused on the
values as given, the range is that of the image and the palette, and the
nearest colour is the Euclidean nearest.

Error diffusion scans rows in serpentine order (left to right, then right to
left, mirroring the kernel), in fixed bands of rows that run on several
threads (see :data:`WARMUP_ROWS`). Floyd-Steinberg on 8- and 16-bit colour
images dithers up to four bands at once, one per vector lane
(:mod:`skquant._kernels._diffusion_lanes`), with
the labels the scalar kernel gives each band. Ordered dithering ('bayer') mixes two
palette colours per pixel with an 8 x 8 Bayer matrix (see
:func:`dither_labels`); its pixels are independent.

Nearest palette colour
----------------------
Each corrected pixel needs the exact nearest palette entry: the grid search
of :mod:`skquant._kernels._grid` (the same as ``transform``), started from
the previous pixel's colour; the lowest index wins exact ties. The kernel
itself is :mod:`skquant._kernels._diffusion`.
"""

import numpy as np

from skquant import _color
from skquant._kernels import _checks
from skquant._kernels._assign import COLOR_DTYPES, _take_rows
from skquant._kernels._colorspace import (
    IDENTITY,
    SPACE_CODES,
    gamut_bounds,
    srgb_decode_array,
)
from skquant._kernels._diffusion import (
    _NOT_ORDERED,
    _ORDERED_PAIR,
    DIFFUSION_BAND_ROWS,
    ORDERED_BAND_ROWS,
    WARMUP_ROWS,
    _dither_rows,
    _fs_rows,
)
from skquant._kernels._diffusion_lanes import (
    _fs_lanes,
    check_lanes,
    lane_groups,
    lane_offsets,
)
from skquant._kernels._dither_map import limit_map, ramps
from skquant._kernels._fastconv import TABLES as FAST_TABLES
from skquant._kernels._grid import grid_for
from skquant._kernels._lanes import LANES
from skquant._kernels._runner import kernel_threads, run_chains, run_parallel

__all__ = ["DITHER_METHODS", "dither_labels", "dither_map", "nearest_labels"]

# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def _taps(divisor, *rows):
    """``((row offset, column offset, weight), ...), divisor`` of a kernel
    drawn as rows of weights: ``*`` is the current pixel, ``.`` no tap, and
    the taps are listed row by row, left to right (the order in which the
    error is added)."""
    centre = rows[0].split().index("*")
    taps = tuple(
        (dy, dx - centre, int(w))
        for dy, row in enumerate(rows)
        for dx, w in enumerate(row.split())
        if w.isdigit()
    )
    return taps, divisor


#: Error-diffusion kernels for a left-to-right scan:
#: ``name -> ((row offset, column offset, weight), ...), divisor``.
#: Rows below the current one are positive offsets; the current pixel is (0, 0).
ERROR_DIFFUSION_KERNELS = {
    "floyd-steinberg": _taps(16, ". * 7", "3 5 1"),
    # Atkinson spreads only 6/8 of the error: highlights and shadows clip,
    # which is the kernel's character, not a bug.
    "atkinson": _taps(8, ". * 1 1", "1 1 1 .", ". 1 . ."),
    "jarvis-judice-ninke": _taps(48, ". . * 7 5", "3 5 7 5 3", "1 3 5 3 1"),
    "stucki": _taps(42, ". . * 8 4", "2 4 8 4 2", "1 2 4 2 1"),
    "burkes": _taps(32, ". . * 8 4", "2 4 8 4 2"),
    "sierra": _taps(32, ". . * 5 3", "2 4 5 4 2", ". 2 3 2 ."),
    "sierra-two-row": _taps(16, ". . * 4 3", "1 2 3 2 1"),
    "sierra-lite": _taps(4, ". * 2", "1 1"),
}

#: Ordered-dithering methods.
ORDERED_METHODS = ("bayer",)

#: Every method :func:`dither_labels` accepts.
DITHER_METHODS = tuple(ERROR_DIFFUSION_KERNELS) + ORDERED_METHODS


def _bayer_matrix(order):
    """Bayer index matrix of size ``2**order``, values ``0 .. 4**order - 1``."""
    m = np.zeros((1, 1), dtype=np.int64)
    for _ in range(order):
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return m


#: 8 x 8 Bayer thresholds ``(index + 0.5) / 64``, in (0, 1).
BAYER_8X8 = (_bayer_matrix(3) + 0.5) / 64.0
BAYER_8X8.flags.writeable = False

#: Largest error passed on by a pixel, in units of the distance from its
#: palette colour to the nearest other palette colour (see dither_labels).
ERROR_LIMIT = 2.5

#: How far beyond the valid range (in units of its width) the pixel plus its
#: carried error may go before it is clamped (see dither_labels).
CARRY_MARGIN = 0.5

#: Rows of each lane that Floyd-Steinberg's vector lanes run in one call: the
#: piece of work the threads take in turn (see :func:`run_chains`). About
#: 10 ms at 4000 pixels wide, so the threads end within that of each other.
LANE_PIECE_ROWS = 16

#: Bytes that the lane groups started and not finished may hold between
#: their pieces (the carried error, the adaptive limits): at least one
#: group more than the threads are open at once, more while they fit.
LANE_STATE_BYTES = 64 << 20

# ---------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------


def _range_norm(lo, hi):
    """``1 / (hi - lo)`` per channel, 0 where the range is empty."""
    width = hi - lo
    return np.divide(1.0, width, out=np.zeros_like(width), where=width > 0)


def _nearest_other_sq(points):
    """Squared distance from each point to its nearest other point."""
    n = len(points)
    out = np.full(n, np.inf)
    # Per row of a block: the differences (n x channels) and the distances.
    rows = _checks.rows_within(8 * n * (points.shape[1] + 1))
    for i in range(0, n, rows):
        block = points[i : i + rows]
        # channel by channel, added in the order of a sum over the last axis
        # (a third of the time: a reduction over an axis of 3 runs slowly)
        d2 = np.zeros((len(block), n))
        for c in range(points.shape[1]):
            d2 += np.square(block[:, None, c] - points[None, :, c])
        d2[np.arange(len(block)), np.arange(i, i + len(block))] = np.inf
        out[i : i + rows] = d2.min(axis=1)
    return out


def _kernel_taps(method):
    taps, divisor = ERROR_DIFFUSION_KERNELS[method]
    taps = np.asarray(taps, dtype=np.int64)
    return (
        np.ascontiguousarray(taps[:, 0]),
        np.ascontiguousarray(taps[:, 1]),
        taps[:, 2].astype(np.float64) / divisor,
    )


def check_strength(strength):
    """``strength`` as a float in [0, 1], or a ValueError naming it."""
    value = float(np.asarray(strength, dtype=np.float64))  # TypeError if not real
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got strength={strength!r}.")
    return value


def _check_args(pixels_image, palette, method, space, scale):
    if method not in DITHER_METHODS:
        raise ValueError(
            f"method must be one of {DITHER_METHODS}, got method={method!r}."
        )
    image = _checks.real_array(pixels_image, "pixels_image", 3, "(H, W, C)")
    if image.shape[2] == 0:
        raise ValueError("pixels_image must have at least one channel, got 0.")
    palette = _checks.palette_for(palette, image.shape[2])
    _checks.space_for(space, image.shape[2], scale)
    if space != "rgb" and scale is None:
        raise ValueError(f"space={space!r} needs the full-scale value, got None.")
    return image, palette


def _is_srgb(image, palette, scale):
    """Whether 3-channel 'rgb' data can be read as sRGB in ``[0, scale]``.

    A rounding error's worth of overshoot (a float palette at 1.0000001) is
    allowed; values beyond are not sRGB, and are dithered as they are.
    Unsigned integers whose largest value is at most ``scale`` (uint8 at
    255) are in range by their dtype: only the palette is read (the image's
    minimum and maximum took 18 ms of a 12 MP photo's dithering).
    """
    slack = 1e-6 * scale
    lo, hi = palette.min(initial=np.inf), palette.max(initial=-np.inf)
    in_dtype = image.dtype.kind == "u" and np.iinfo(image.dtype).max <= scale
    if image.size and not in_dtype:
        flat = image.reshape(-1, image.shape[-1])
        lo = min(lo, min(flat[:, c].min() for c in range(flat.shape[1])))
        hi = max(hi, max(flat[:, c].max() for c in range(flat.shape[1])))
    return bool(lo >= -slack and hi <= scale + slack)


def dither_labels(
    pixels_image,
    palette,
    *,
    method,
    space,
    scale,
    strength=1.0,
    adaptive=False,
    random_state=None,
):
    """Palette index of every pixel of an image, with dithering.

    Parameters
    ----------
    pixels_image : ndarray of shape (H, W, C)
        The image in the input's units (uint8, uint16, float...). Not
        modified.
    palette : ndarray of shape (n_colors, C)
        The palette in the input's units.
    method : str
        One of :data:`DITHER_METHODS`: an error-diffusion kernel
        (``'floyd-steinberg'``, ``'atkinson'``, ``'jarvis-judice-ninke'``,
        ``'stucki'``, ``'burkes'``, ``'sierra'``, ``'sierra-two-row'``,
        ``'sierra-lite'``), scanned in serpentine order, or ``'bayer'``
        (ordered, 8 x 8 Bayer matrix).
    space : {'rgb', 'lab', 'oklab', 'din99o'}
        Working space in which the nearest palette colour is chosen.
        The perceptual spaces need 3-channel sRGB data.
    scale : float or None
        Full-scale value of the input (255 for uint8, 65535 for uint16, 1.0
        for float sRGB). ``None`` means the values are not sRGB: they are
        dithered in their own units.
    strength : float, default=1.0
        From 0 to 1, as pngquant's ``--floyd``: the fraction of each pixel's
        error that is passed on (error diffusion), or of the second colour's
        share (``'bayer'``). 0 gives the undithered labels exactly.
    adaptive : bool, default=False
        Error diffusion that keeps flat areas calm: a pixel passes on its
        own error (its colour minus the palette colour it shows) and only
        part of the error carried into it, half a palette gap where the
        image is flat over about 6 x 6 pixels around it, up to 4
        gaps where it has texture, and a sixteenth of the error is dropped
        at every pixel (see :data:`ADAPTIVE_LIMIT`). Where the window's
        spread is noise rather than a gradient (a JPEG sky, a wall), a
        calmer ramp: a quarter of a gap up to about 5 levels of 255 of
        spread (see :data:`ADAPTIVE_NOISY_FLAT`); clean gradients keep
        the first, which does not band. Ordered dithering ignores it. On
        seven sample photos (``benchmarks/bench_dither.py``, geometric
        means of the ratios photo by photo) it lowers the dither noise on
        flat areas by 20 % (K=16) and 15 % (K=64), for a blurred CIEDE2000
        0.8 % and 1.8 % higher.
    random_state : None
        Unused: every method is deterministic. Accepted so that callers can
        pass their seed along.

    Returns
    -------
    labels : ndarray of shape (H, W), dtype int32
        Index into ``palette`` of every pixel.

    Notes
    -----
    Colour data (3 channels, ``scale`` given, and for ``space='rgb'`` every
    value of the image and the palette in ``[0, scale]``) is diffused in
    linear light; the nearest palette colour is chosen in ``space``.
    Anything else is diffused in the input's units, with the Euclidean
    nearest colour. In both cases the *valid range* is ``[0, 1]`` (linear
    light) or the per-channel range of the image and the palette.

    Clamping, and how much error is passed on:

    - the pixel plus its carried error is clamped to the valid range widened
      by ``CARRY_MARGIN`` (half its width) on each side, and its colour is
      looked up for that value clamped to the valid range. The error passed
      on is taken from the widened value, so near black and white it is not
      lost: a flat grey dithered with black and white shows white on the
      fraction of pixels equal to its linear-light value.
    - error that no palette colour can absorb (a colour outside the
      palette's range) would pile up and bleed across edges as streaks of
      stray dots, so the error a pixel passes on is capped at
      ``ERROR_LIMIT`` (2.5) times the distance from its palette colour to
      the nearest other palette colour; larger errors are scaled down to
      that length. On photographs this lowers the blurred CIEDE2000 of
      Floyd-Steinberg by 2 to 10 % and removes the cases where dithering
      did worse than none.

    Ordered dithering ('bayer') mixes two palette colours per pixel, with no
    global strength to tune. ``a`` is the nearest colour to the pixel ``p``
    (in the working space). ``b`` is the first other colour met walking from
    ``p`` away from ``a``: the nearest colour to ``p + s (p - a)`` for
    ``s = 1, 2, 4, ... 64`` (diffusion units, clamped to the valid range),
    or none. ``alpha`` is the position of the projection of ``p`` on the
    segment ``[a, b]`` (0 at ``a``, 1 at ``b``, linear light for colour
    data). The pixel shows ``b`` when its Bayer threshold
    ``(index + 0.5) / 64`` is below ``alpha``, else ``a``. Over an 8 x 8
    tile the two colours then appear in the proportion
    ``1 - alpha : alpha``, whose mean is ``p`` when ``p`` lies between them:
    the dither amplitude is the palette's local spacing where the pixel is.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._kernels import dither_labels
    >>> grey = np.full((64, 64, 3), 188, dtype=np.uint8)  # linear light 0.503
    >>> palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    >>> labels = dither_labels(
    ...     grey, palette, method="floyd-steinberg", space="lab", scale=255.0
    ... )
    >>> labels.shape, labels.dtype
    ((64, 64), dtype('int32'))
    >>> round(float(labels.mean()), 1)  # half the pixels are white
    0.5
    """
    image, palette = _check_args(pixels_image, palette, method, space, scale)
    strength = check_strength(strength)
    taps, ordered = _method_args(method)
    options = _adapt(adaptive, strength)
    return _run(image, palette, space, scale, taps, ordered, **options)


#: Adaptive error diffusion (see dither_labels): a pixel passes on its own
#: quantization error (its colour minus the palette colour it shows) and at
#: most ADAPTIVE_FLAT_LIMIT (flat areas) to ADAPTIVE_LIMIT (texture) times
#: the gap from that palette colour to the nearest other one of the error
#: carried into it. Flat: the spread of the colour over the 6 x 6 window
#: around the pixel's block of 2 x 2 pixels (the square root of the summed
#: variances of the channels, in units of the full scale; see
#: :mod:`skquant._kernels._dither_map`) is at most
#: ADAPTIVE_FLAT; textured from ADAPTIVE_TEXTURED, linear in between. A
#: share ADAPTIVE_LEAK of the error is dropped at every pixel (as
#: libimagequant does), so that colours very near a palette colour are not
#: dithered. Measured with ``benchmarks/bench_dither.py``.
ADAPTIVE_LIMIT = 4.0
ADAPTIVE_FLAT_LIMIT = 0.5
ADAPTIVE_FLAT = 0.005
ADAPTIVE_TEXTURED = 0.02
ADAPTIVE_LEAK = 1.0 / 16.0

#: Where the spread is noise rather than a gradient (the share of it that
#: a plane fitted over the window leaves over is from ADAPTIVE_NOISE[0] to
#: [1]; see :mod:`skquant._kernels._dither_map`), the calmer ramp
#: ADAPTIVE_NOISY_*: flat up to a spread of 0.02 (about 5 levels of 255),
#: textured from 0.08, a quarter of a gap on flat areas. Measured with
#: ``benchmarks/bench_dither.py`` (0.7.4): with the calmer ramp alone, on
#: libimagequant's own palettes, skquant was closer from a distance and
#: calmer on flat areas than libimagequant's dithering on each of three photo
#: sets (seven sample photos, four photos from documentation folders, four
#: more from scikit-image) at K = 16 and 64, where the clean ramp was 9-23 %
#: noisier than libimagequant on the last two; but smooth gradients banded
#: (colours within a quarter of a gap of a palette colour stayed on it),
#: which the plane test keeps on the clean ramp.
ADAPTIVE_NOISY_FLAT = 0.02
ADAPTIVE_NOISY_TEXTURED = 0.08
ADAPTIVE_NOISY_FLAT_LIMIT = 0.25
ADAPTIVE_NOISE = (0.3, 0.6)


def _adapt(adaptive, strength):
    """The options of :func:`_run` for ``adaptive`` at ``strength``."""
    if not adaptive:
        return {"strength": strength}
    return {
        "strength": strength * (1.0 - ADAPTIVE_LEAK),
        "limit": ADAPTIVE_LIMIT,
        "flat_limit": ADAPTIVE_FLAT_LIMIT,
        "noisy_flat_limit": ADAPTIVE_NOISY_FLAT_LIMIT,
    }


def _method_args(method):
    """The kernel's ``(taps, ordered)`` arguments for ``method``."""
    if method in ERROR_DIFFUSION_KERNELS:
        return _kernel_taps(method), _NOT_ORDERED
    return _NO_TAPS, _ORDERED_PAIR


def dither_map(
    pixels_image,
    palette,
    colors,
    *,
    method,
    space,
    scale,
    strength=1.0,
    adaptive=False,
):
    """``colors[dither_labels(...)]``, without a label array for the image.

    The labels of each band of rows go to a small per-thread buffer and are
    turned into colours at once: the peak memory is the output.

    Parameters
    ----------
    pixels_image, palette, method, space, scale, strength, adaptive
        As for :func:`dither_labels`.
    colors : ndarray of shape (n_colors, n_out)
        What each palette entry maps to (for example the palette in the
        image's dtype).

    Returns
    -------
    mapped : ndarray of shape (H, W, n_out), dtype of ``colors``
    """
    image, palette = _check_args(pixels_image, palette, method, space, scale)
    strength = check_strength(strength)
    colors = _checks.colors_for(colors, palette.shape[0])
    taps, ordered = _method_args(method)
    args = (image, palette, space, scale, taps, ordered)
    options = _adapt(adaptive, strength)
    if colors.dtype not in COLOR_DTYPES:  # rare: no kernel for it
        return colors[_run(*args, **options)]
    return _run(*args, colors, **options)


def nearest_labels(pixels_image, palette, *, space, scale):
    """Palette index of every pixel, without dithering.

    The exact nearest palette colour in the working space, found with the
    same search structure and the same pixel handling as
    :func:`dither_labels` (for colour data: decoded, clamped to the RGB cube,
    converted to ``space``). Used by the tests to check the search against
    brute force, and as the undithered reference.

    Parameters
    ----------
    pixels_image : ndarray of shape (H, W, C)
    palette : ndarray of shape (n_colors, C)
    space : {'rgb', 'lab', 'oklab', 'din99o'}
    scale : float or None

    Returns
    -------
    labels : ndarray of shape (H, W), dtype int32
    """
    image, palette = _check_args(pixels_image, palette, DITHER_METHODS[0], space, scale)
    return _run(image, palette, space, scale, _NO_TAPS, _NOT_ORDERED)


_NO_TAPS = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


#: Floyd-Steinberg searches palettes of at most this many colours in full,
#: without the grid: the distances in vector lanes, then the first nearest
#: entry without a branch on the distances (no predictor can guess them).
#: On a 12 MP photo, one thread, against the grid's search written out in
#: the loop: 0.95-1.05x the time at K=16 and 1.05-1.17x at K=32 with a
#: scalar scan; the vector scan then took 0.90-0.94x the scalar scan's
#: time at K=16 ('rgb' and 'din99o', plain and adaptive); the same labels.
FS_FULL_SCAN = 16


def _is_floyd_steinberg(taps):
    """Whether the kernel arguments ``taps`` are Floyd-Steinberg's."""
    fs = _kernel_taps("floyd-steinberg")
    return all(np.array_equal(a, b) for a, b in zip(taps, fs, strict=True))


def diffusion_band_rows(height):
    """Rows per band of error diffusion for an image ``height`` rows high:
    as many bands as :data:`DIFFUSION_BAND_ROWS` makes, of about equal
    height, so that the vector lanes do not wait long on a short last
    band (1080 rows: 9 bands of 120, not 8 of 128 and one of 56). An even
    number, so that every band starts on a row of the same direction (see
    :func:`~skquant._kernels._diffusion_lanes.check_lanes`). A function of
    the height alone: the labels do not depend on the number of threads."""
    n_bands = max(-(-height // DIFFUSION_BAND_ROWS), 1)
    return 2 * max(-(-height // (2 * n_bands)), 1)


def _run(
    image,
    palette,
    space,
    scale,
    taps,
    ordered,
    colors=None,
    *,
    strength=1.0,
    limit=ERROR_LIMIT,
    flat_limit=None,
    noisy_flat_limit=None,
    fast=True,
    lanes=True,
):
    """Set up the kernel arguments for validated input and run it.

    Returns the labels, or with ``colors`` the image of ``colors[labels]``
    (written band by band: no label array for the whole image).
    ``fast=False`` runs Floyd-Steinberg on 3 channels with the general
    kernel instead of its written-out version, ``lanes=False`` with the
    written-out version one band at a time instead of several bands in
    vector lanes (the same labels: tests).
    """
    height, width, n_channels = image.shape
    if colors is None:
        labels = np.zeros((height, width), dtype=np.int32)
    else:
        out = np.empty((height, width, colors.shape[1]), colors.dtype)
    if image.size == 0 or palette.shape[0] == 1:
        if colors is None:
            return labels
        out[...] = colors[0]
        return out
    image = _checks.kernel_image(image)

    palette_f = palette.astype(np.float64)
    color = (
        n_channels == 3
        and scale is not None
        and (space != "rgb" or _is_srgb(image, palette_f, scale))
    )
    lut = np.zeros(0)
    if color:
        space_code = SPACE_CODES[space]
        palette_lin = srgb_decode_array(palette_f / scale)
        palette_work = _color.to_working(palette_f / scale, space)
        valid_lo, valid_hi = np.zeros(3), np.ones(3)
        lo, hi = gamut_bounds(space)
        if image.dtype.kind == "u" and scale == np.iinfo(image.dtype).max <= 65535:
            lut = srgb_decode_array(np.arange(int(scale) + 1) / scale)
    else:
        space_code = IDENTITY
        palette_lin = palette_work = palette_f
        flat = image.reshape(-1, n_channels)
        valid_lo = np.minimum(flat.min(axis=0), palette_f.min(axis=0)).astype(float)
        valid_hi = np.maximum(flat.max(axis=0), palette_f.max(axis=0)).astype(float)
        if not (np.isfinite(valid_lo).all() and np.isfinite(valid_hi).all()):
            raise ValueError(
                "pixels_image must be finite to be dithered (it holds NaN or "
                "infinite values); replace them first, or use dither=None."
            )
        lo, hi = valid_lo, valid_hi
    margin = CARRY_MARGIN * (valid_hi - valid_lo)

    palette_lin = np.ascontiguousarray(palette_lin, dtype=np.float64)
    gap2 = _nearest_other_sq(palette_lin)
    palette_work = np.ascontiguousarray(palette_work, dtype=np.float64)
    grid = grid_for(palette_work, lo, hi, height * width, hinted=True)
    pixel_args = (
        lut,
        color,
        1.0 / scale if scale is not None else 1.0,
        valid_lo,
        valid_hi,
        valid_lo - margin,
        valid_hi + margin,
        palette_lin,
        limit**2 * gap2,
        np.sqrt(limit**2 * gap2),  # (the same square root as in the kernel)
    )
    if fast and n_channels == 3 and _is_floyd_steinberg(taps) and strength > 0.0:
        # Written out for Floyd-Steinberg on colours: the same labels, faster
        # (its table conversions could break an exact tie, as an 8-bit pixel
        # halfway between two 8-bit palette colours in 'rgb', differently:
        # strength 0, the undithered labels, keeps the exact conversions).
        rows_kernel = _fs_rows
        args = (pixel_args, space_code, grid, strength, FAST_TABLES, FS_FULL_SCAN)
    else:
        rows_kernel = _dither_rows
        args = (pixel_args, gap2, space_code, *taps, BAYER_8X8, ordered, grid)
        args += (strength,)
    if taps[0].shape[0] > 0:
        # Error diffusion runs down each band of rows in order; a band first
        # re-runs the WARMUP_ROWS rows above it so that its first row gets
        # the carried error it would have had in one sequential pass.
        band_rows, warmup = diffusion_band_rows(height), WARMUP_ROWS
    else:
        band_rows, warmup = ORDERED_BAND_ROWS, 0
    n_bands = -(-height // band_rows)
    n_threads = min(kernel_threads(height * width), n_bands)
    # (a band is at most the image: a one-row panorama must not get buffers
    # of band_rows of its width)
    buffer_rows = min(band_rows, height)
    if colors is not None:
        buffers = [np.empty((buffer_rows, width), np.int32) for _ in range(n_threads)]
    adaptive = flat_limit is not None and taps[0].shape[0] > 0 and strength > 0.0
    if adaptive:
        # The dither map of each band (warm-up rows included), per thread.
        if color:
            norm = np.full(n_channels, 1.0 / scale)
        else:
            norm = _range_norm(valid_lo, valid_hi)
        shape = (min(band_rows + warmup, height), width)
        maps = [np.empty(shape, np.float32) for _ in range(n_threads)]
        noisy = None
        if noisy_flat_limit is not None:
            noisy = (
                ADAPTIVE_NOISY_FLAT,
                ADAPTIVE_NOISY_TEXTURED,
                noisy_flat_limit / limit,
            )
        map_ramps = ramps(
            ADAPTIVE_FLAT, ADAPTIVE_TEXTURED, flat_limit / limit, noisy, ADAPTIVE_NOISE
        )
    no_map = np.zeros((0, 0), np.float32)

    def task(worker, first, stop):
        # Fixed bands whatever the number of threads: the same result.
        for y0 in range(first, stop, band_rows):
            y1 = min(y0 + band_rows, stop)
            rows = labels[y0:y1] if colors is None else buffers[worker][: y1 - y0]
            first_row = max(y0 - warmup, 0)
            band_map = no_map
            if adaptive:
                band_map = maps[worker][: y1 - first_row]
                limit_map(image, first_row, y1, norm, map_ramps, band_map)
            span = (first_row, y0, y1)
            rows_kernel(image, span, rows, *args, band_map)
            if colors is not None:
                n = rows.size
                flat = out[y0:y1].reshape(n, colors.shape[1])
                _take_rows(colors, rows.reshape(n), 0, n, flat)

    groups = lane_groups(n_bands, n_threads)
    # Vector lanes for 8- and 16-bit images (read through the decoding table;
    # floats would be decoded lane by lane, and compile a kernel each).
    lanes = lanes and rows_kernel is _fs_rows and lut.shape[0] > 0
    if not (lanes and max(map(len, groups)) > 1):
        run_parallel(task, height, n_threads, chunk=band_rows)
        return labels if colors is None else out

    # Several bands at once, one per vector lane (see lane_groups). Each
    # group runs as a chain of pieces of `piece` rows (the carried error
    # joins them), and the threads take the pieces of all groups in turn
    # (run_chains): they finish together even when the OS slows one down.
    # For colours, each piece's labels go to a per-thread buffer, no larger
    # than the scalar kernel's band of rows, and straight to colours.
    piece = max(min(buffer_rows // LANES, LANE_PIECE_ROWS), 1)
    if colors is not None:
        lane_buffers = [
            np.empty((LANES * piece, width), np.int32) for _ in range(n_threads)
        ]
    no_maps = np.zeros((0, 0, 0), np.float32)
    lane_args = (*args, lane_offsets(grid))
    spans, n_rows = [], []
    for group in groups:
        span = np.zeros((LANES, 4), np.int64)
        for k, band in enumerate(group):
            y0 = band * band_rows
            y1 = min(y0 + band_rows, height)
            span[k, :3] = max(y0 - warmup, 0), y0, y1
        spans.append(span)
        n_rows.append(int((span[:, 2] - span[:, 0]).max()))
    lengths = [
        1 if len(g) == 1 else -(-n // piece)
        for g, n in zip(groups, n_rows, strict=True)
    ]
    # What an open group holds between its pieces: the carried error, and
    # for the adaptive mode the limits of its bands.
    state = [None] * len(groups)
    held = 2 * 3 * LANES * width * 8
    if adaptive:
        held += LANES * shape[0] * width * 4
    max_open = max(n_threads + 1, LANE_STATE_BYTES // held)

    def lane_piece(worker, g, r):
        group = groups[g]
        if len(group) == 1:  # one band: the scalar kernel costs less
            y0 = group[0] * band_rows
            task(worker, y0, min(y0 + band_rows, height))
            return
        spans_g = spans[g]
        if r == 0:
            band_maps = no_maps
            if adaptive:
                band_maps = np.zeros((LANES, *shape), np.float32)
                for k in range(len(group)):
                    first_row, _, y1, _ = spans_g[k]
                    out_k = band_maps[k, : y1 - first_row]
                    limit_map(image, first_row, y1, norm, map_ramps, out_k)
            state[g] = (np.zeros((2, 3 * LANES * width)), band_maps)
        carry, band_maps = state[g]
        steps = (r * piece, min((r + 1) * piece, n_rows[g]))
        if colors is None:
            rows = labels
        else:
            rows = lane_buffers[worker]
            # lane k's row first_row + i at k * piece + i - steps[0]
            spans_g[:, 3] = np.arange(LANES) * piece - spans_g[:, 0] - steps[0]
        check_lanes(image, spans_g, steps, carry, rows, band_maps)
        _fs_lanes(image, spans_g, steps, carry, rows, *lane_args, band_maps)
        if steps[1] == n_rows[g]:
            state[g] = None  # the group is done: free its state
        if colors is not None:
            for k in range(len(group)):
                first_row, y0, y1, offset = spans_g[k]
                lo = max(y0, first_row + steps[0])
                hi = min(y1, first_row + steps[1])
                if lo >= hi:
                    continue
                n = (hi - lo) * width
                flat = out[lo:hi].reshape(n, colors.shape[1])
                written = rows[lo + offset : hi + offset].reshape(n)
                _take_rows(colors, written, 0, n, flat)

    run_chains(lane_piece, lengths, n_threads, max_open=max_open)
    return labels if colors is None else out
