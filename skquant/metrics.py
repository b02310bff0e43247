"""Quality metrics for quantized images, and scorers for model selection.

Metrics compare a reference image with a test image, scikit-image style:
``metric(image_true, image_test, *, data_range=None)``. Images have their
channels on the last axis. Every metric also takes two lists of images
(which may differ in size) and compares them pairwise.

Data contract
-------------
- ``uint8`` and ``uint16`` images have the full scale 255 and 65535.
- Float images are on a 0-1 scale (sRGB in [0, 1] for CIEDE2000) unless
  ``data_range`` says otherwise. Without ``data_range``, float data that
  clearly leaves [0, 1] (a value above 1.5 or below -0.5, as in a 0-255
  image converted with ``astype(np.float32)``) is refused with a
  ``ValueError``: divide it by 255, convert it to ``uint8``, or pass
  ``data_range=255``. Small excursions, such as colour conversions give
  out of gamut, are accepted.
- Other dtypes need an explicit ``data_range``.
- Transparency: 4 channels on the last axis are RGBA. Pixels that are fully
  transparent in ``image_true`` (alpha 0) are left out of every metric:
  nothing of them is visible, and a quantizer returns them as transparent
  black. Other pixels count fully, whatever their alpha (no weighting).

Scorers follow scikit-learn's ``scorer(estimator, X, y=None)`` protocol
(higher is better): they quantize ``X`` with ``estimator.transform`` and
score the result against ``X``, so they can be passed as ``scoring=`` to
:class:`~sklearn.model_selection.GridSearchCV`.

Metrics
-------
peak_signal_noise_ratio
    PSNR in decibels.
mean_delta_e
    Mean CIEDE2000 colour difference.
structural_similarity
    Mean structural similarity (SSIM).

Scorers
-------
psnr_scorer, delta_e_scorer, ssim_scorer
    Also available by name from :func:`get_scorer`.
make_rate_distortion_scorer
    PSNR minus a price per bit of palette index, so a grid search over
    ``n_colors`` stops where more colours stop paying.

Choosing the number of colours
------------------------------
fewest_colors
    A ``refit`` callable for :class:`~sklearn.model_selection.GridSearchCV`
    that picks the smallest ``n_colors`` reaching a quality target.
"""

import numbers
import warnings

import numpy as np

__all__ = [
    "delta_e_scorer",
    "fewest_colors",
    "make_rate_distortion_scorer",
    "get_scorer",
    "mean_delta_e",
    "peak_signal_noise_ratio",
    "psnr_scorer",
    "ssim_scorer",
    "structural_similarity",
]

# ---------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------

#: Full-scale value of the dtypes whose range is known.
_INT_DATA_RANGE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}

#: Without an explicit data_range, float data must lie within
#: [-_FLOAT_SLACK, 1 + _FLOAT_SLACK]: room for out-of-gamut colour
#: conversions, none for 0-255 or 0-65535 data.
_FLOAT_SLACK = 0.5

#: Channels of an RGBA image; the last one is opacity.
_RGBA_CHANNELS = 4

#: Values per chunk for PSNR.
_PSNR_CHUNK_VALUES = 1 << 20

#: SSIM window (scikit-image's default) and the largest strip, in pixels,
#: handed to scikit-image at once.
_SSIM_WIN_SIZE = 7
_SSIM_STRIP_PIXELS = 1 << 18


def _is_image_list(images):
    return isinstance(images, (list, tuple))


def _default_data_range(dtype, name):
    if dtype.kind == "f":
        return 1.0
    if dtype in _INT_DATA_RANGE:
        return _INT_DATA_RANGE[dtype]
    raise ValueError(
        f"Cannot infer data_range for {name} of dtype {dtype}; the defaults "
        "cover uint8 (255), uint16 (65535) and float (1.0). Pass data_range "
        "explicitly."
    )


def _check_data_range(data_range):
    if (
        isinstance(data_range, bool)
        or not isinstance(data_range, numbers.Real)
        or not np.isfinite(data_range)
        or data_range <= 0
    ):
        raise ValueError(
            f"data_range must be a positive finite number, got "
            f"data_range={data_range!r}."
        )
    return float(data_range)


def _check_pair(true, test, data_range, where):
    """Validate one (true, test) pair and resolve its data range."""
    true, test = np.asarray(true), np.asarray(test)
    for arr, name in ((true, "image_true"), (test, "image_test")):
        if arr.dtype.kind not in "uif":
            raise TypeError(
                f"{name}{where} must hold numbers (integer or float), got "
                f"dtype {arr.dtype}."
            )
    if true.shape != test.shape:
        raise ValueError(
            f"image_true{where} and image_test{where} must have the same "
            f"shape, got {true.shape} and {test.shape}."
        )
    if true.size == 0:
        raise ValueError(f"image_true{where} is empty (shape {true.shape}).")
    for arr, name in ((true, "image_true"), (test, "image_test")):
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{name}{where} contains NaN or infinite values; metrics need "
                "finite pixels."
            )
    if data_range is None:
        range_true = _default_data_range(true.dtype, f"image_true{where}")
        range_test = _default_data_range(test.dtype, f"image_test{where}")
        if range_true != range_test:
            raise ValueError(
                f"image_true{where} has dtype {true.dtype} (range {range_true:g}) "
                f"but image_test{where} has dtype {test.dtype} (range "
                f"{range_test:g}); convert one of them or pass data_range."
            )
        for arr, name in ((true, "image_true"), (test, "image_test")):
            if arr.dtype.kind == "f":
                _check_unit_range(arr, f"{name}{where}")
        data_range = range_true
    return true, test, data_range, _visible_pixels(true)


def _check_unit_range(arr, name):
    """Refuse float data that is clearly not on the 0-1 scale."""
    low, high = float(np.min(arr)), float(np.max(arr))
    if low >= -_FLOAT_SLACK and high <= 1.0 + _FLOAT_SLACK:
        return
    if low >= 0 and high <= 255:
        hint = (
            "It looks like 0-255 data: divide it by 255 (image / 255), pass "
            "uint8 data (np.rint(image).astype(np.uint8)), or pass "
            "data_range=255."
        )
    elif low >= 0 and high <= 65535:
        hint = (
            "It looks like 0-65535 data: divide it by 65535, pass uint16 "
            "data, or pass data_range=65535."
        )
    else:
        hint = "Rescale it to [0, 1], or pass data_range explicitly."
    raise ValueError(
        f"{name} is float with values from {low:g} to {high:g}, but float "
        "images are read on a 0-1 scale (data_range=1.0, sRGB in [0, 1]) "
        f"when data_range is not given. {hint}"
    )


def _visible_pixels(true):
    """Mask of the pixels that are not fully transparent, or None for all.

    4 channels on the last axis are RGBA; a pixel whose alpha is 0 in the
    reference image is invisible and left out of every metric.
    """
    if true.ndim < 2 or true.shape[-1] != _RGBA_CHANNELS:
        return None
    visible = true[..., _RGBA_CHANNELS - 1] > 0
    return None if visible.all() else visible


def _pairs(image_true, image_test, data_range):
    """Return the validated ``(true, test, data_range)`` triples to compare.

    Two arrays give one pair; two lists of images give one pair per element.
    """
    if data_range is not None:
        data_range = _check_data_range(data_range)
    true_is_list = _is_image_list(image_true)
    if true_is_list != _is_image_list(image_test):
        kinds = {True: "a list of images", False: "an array"}
        raise ValueError(
            f"image_true is {kinds[true_is_list]} but image_test is "
            f"{kinds[not true_is_list]}; pass two arrays or two lists."
        )
    if not true_is_list:
        return [_check_pair(image_true, image_test, data_range, "")]
    if len(image_true) != len(image_test):
        raise ValueError(
            f"image_true and image_test must hold the same number of images, "
            f"got {len(image_true)} and {len(image_test)}."
        )
    if len(image_true) == 0:
        raise ValueError("image_true and image_test are empty lists.")
    return [
        _check_pair(true, test, data_range, f"[{i}]")
        for i, (true, test) in enumerate(zip(image_true, image_test, strict=True))
    ]


def _pixel_chunks(true, test, visible, n_channels, chunk):
    """Yield matching ``(k, n_channels)`` chunks of two same-shape arrays.

    With a ``visible`` mask (one value per pixel), only visible pixels are
    yielded.
    """
    true = true.reshape(-1, n_channels)
    test = test.reshape(-1, n_channels)
    keep = None if visible is None else visible.reshape(-1)
    for start in range(0, true.shape[0], chunk):
        chunk_true = true[start : start + chunk]
        chunk_test = test[start : start + chunk]
        if keep is not None:
            kept = keep[start : start + chunk]
            chunk_true, chunk_test = chunk_true[kept], chunk_test[kept]
        yield chunk_true, chunk_test


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def peak_signal_noise_ratio(image_true, image_test, *, data_range=None):
    """Peak signal-to-noise ratio (PSNR) between two images, in decibels.

    Parameters
    ----------
    image_true : ndarray or list of ndarray
        Reference image(s), any shape, channels last (all channels count).
    image_test : ndarray or list of ndarray
        Test image(s), same shape(s) as ``image_true``.
    data_range : float, default=None
        Distance between the lowest and highest possible values. ``None``
        infers it from the dtype: 255 for uint8, 65535 for uint16, 1.0 for
        float, whose values must then lie in [0, 1] (see the module's data
        contract; 0-255 floats need ``data_range=255``).

    Returns
    -------
    psnr : float
        ``10 * log10(data_range**2 / mse)``; ``inf`` for identical images.
        For lists the mean squared error is pooled over all values of all
        images (each image's error measured relative to its own range).
        For RGBA images, the values (alpha included) of the pixels that are
        not fully transparent in ``image_true``.

    Raises
    ------
    ValueError
        If the shapes differ, ``data_range`` cannot be inferred, or float
        data without ``data_range`` is clearly not in [0, 1].

    See Also
    --------
    skimage.metrics.peak_signal_noise_ratio : Same value for one image.
    psnr_scorer : PSNR of a quantizer's output, for model selection.

    Notes
    -----
    Differences are accumulated in float64 over bounded chunks, so large
    images never need a full-size float copy.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant.metrics import peak_signal_noise_ratio
    >>> image = np.zeros((4, 4, 3), dtype=np.uint8)
    >>> noisy = image.copy()
    >>> noisy[0, 0, 0] = 255
    >>> round(peak_signal_noise_ratio(image, noisy), 3)
    16.812
    >>> peak_signal_noise_ratio(image, image)
    inf
    """
    squared_error = 0.0
    n_values = 0
    for true, test, data_range_i, visible in _pairs(image_true, image_test, data_range):
        scale = 1.0 / (data_range_i * data_range_i)
        # whole pixels when some are left out, else any run of values
        n_channels = 1 if visible is None else true.shape[-1]
        for chunk_true, chunk_test in _pixel_chunks(
            true, test, visible, n_channels, _PSNR_CHUNK_VALUES // n_channels
        ):
            diff = chunk_true.astype(np.float64).ravel()
            diff -= chunk_test.ravel()
            squared_error += float(np.dot(diff, diff)) * scale
            n_values += diff.size
    if squared_error == 0.0:
        return float("inf")
    return float(10.0 * np.log10(n_values / squared_error))


def mean_delta_e(image_true, image_test, *, data_range=None):
    """Mean CIEDE2000 colour difference between two sRGB images.

    Parameters
    ----------
    image_true : ndarray or list of ndarray
        Reference sRGB image(s) with 3 channels (RGB) or 4 (RGBA: alpha
        only leaves out fully transparent pixels) on the last axis: pixels
        ``(n_pixels, 3)``, an image ``(H, W, 3)``, a batch ``(N, H, W, 3)``...
    image_test : ndarray or list of ndarray
        Test image(s), same shape(s) as ``image_true``.
    data_range : float, default=None
        Full-scale value of the RGB components: pixels are divided by it to
        give sRGB in [0, 1]. ``None`` infers it from the dtype: 255 for
        uint8, 65535 for uint16, 1.0 for float, whose values must then lie
        in [0, 1] (0-255 floats need ``data_range=255``).

    Returns
    -------
    delta_e : float
        Mean CIEDE2000 difference (CIELAB, D65, 2° observer) over all
        pixels; for lists, over all pixels of all images. 0 for identical
        images; about 1 is a just-noticeable difference. For RGBA, over the
        pixels that are not fully transparent in ``image_true`` (0 when none
        is).

    Raises
    ------
    ValueError
        If the shapes differ, the images do not have 3 or 4 channels,
        ``data_range`` cannot be inferred, or float data without
        ``data_range`` is clearly not in [0, 1].

    See Also
    --------
    skimage.color.deltaE_ciede2000 : The per-pixel colour difference.
    delta_e_scorer : Negative mean CIEDE2000 of a quantizer's output.

    Notes
    -----
    Each pixel is converted to CIELAB and compared inside one compiled,
    threaded kernel (``skquant._kernels.ciede2000_sum``) that follows
    :func:`skimage.color.rgb2lab` and :func:`skimage.color.deltaE_ciede2000`
    formula for formula in float64: it gives their value to about 1e-12,
    with no Lab copy of the image, spending 5 to 10 times less CPU time on
    uint8 photos than ``rgb2lab`` and ``deltaE_ciede2000`` (about 3.5 times
    less on floats), and it runs on every core that threadpoolctl allows
    (see ``benchmarks/bench_metrics.py``).

    References
    ----------
    .. [1] G. Sharma, W. Wu and E. N. Dalal, "The CIEDE2000 color-difference
       formula: implementation notes, supplementary test data, and
       mathematical observations", Color Research & Application 30(1), 2005.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant.metrics import mean_delta_e
    >>> black = np.zeros((2, 2, 3))
    >>> white = np.ones((2, 2, 3))
    >>> round(mean_delta_e(black, white), 2)
    100.0
    >>> red = np.array([[255, 0, 0]], dtype=np.uint8)
    >>> darker_red = np.array([[245, 0, 0]], dtype=np.uint8)
    >>> round(mean_delta_e(red, darker_red), 2)
    2.11
    """
    from skquant._kernels import ciede2000_sum

    total = 0.0
    n_pixels = 0
    for i, (true, test, data_range_i, visible) in enumerate(
        _pairs(image_true, image_test, data_range)
    ):
        n_channels = true.shape[-1] if true.ndim else 0
        if n_channels not in (3, 4):
            where = f"[{i}]" if _is_image_list(image_true) else ""
            raise ValueError(
                "mean_delta_e needs sRGB images with 3 channels (or RGBA with 4) "
                f"on the last axis, got image_true{where} of shape {true.shape}."
            )
        sum_i, count_i = ciede2000_sum(
            true.reshape(-1, n_channels),
            test.reshape(-1, n_channels),
            scale=data_range_i,
            keep=None if visible is None else visible.reshape(-1),
        )
        total += sum_i
        n_pixels += count_i
    return total / n_pixels if n_pixels else 0.0


def _ssim_image(true, test, data_range, visible, strip_pixels):
    """SSIM map sum and count of one ``(H, W, C)`` image, in strips if large.

    scikit-image averages the SSIM map without its ``win_size // 2`` border,
    so a strip of rows computed with that many extra rows above and below
    gives exactly the map values of the whole image on its own rows. With a
    ``visible`` mask ``(H, W)``, hidden pixels are set to 0 in both images
    (they differ in nothing) and left out of the sum.
    """
    from skimage.metrics import structural_similarity as skimage_ssim

    height, width = true.shape[:2]
    small = height * width <= strip_pixels or min(height, width) < _SSIM_WIN_SIZE
    if visible is None and small:
        ssim = skimage_ssim(true, test, data_range=data_range, channel_axis=-1)
        return float(ssim), 1
    pad = _SSIM_WIN_SIZE // 2
    rows = max(1, strip_pixels // width)
    total = 0.0
    count = 0
    for start in range(pad, height - pad, rows):
        stop = min(start + rows, height - pad)
        strip_true = true[start - pad : stop + pad]
        strip_test = test[start - pad : stop + pad]
        if visible is not None:
            shown = visible[start - pad : stop + pad, :, None]
            strip_true = np.where(shown, strip_true, 0).astype(true.dtype)
            strip_test = np.where(shown, strip_test, 0).astype(test.dtype)
        _, ssim_map = skimage_ssim(
            strip_true, strip_test, data_range=data_range, channel_axis=-1, full=True
        )
        kept = ssim_map[pad : pad + stop - start, pad : width - pad]
        if visible is not None:
            kept = kept[visible[start:stop, pad : width - pad]]
        total += float(np.sum(kept, dtype=np.float64))
        count += kept.size
    if count == 0:  # nothing visible inside the border
        return 0.0, 0
    return total / count, 1


def structural_similarity(image_true, image_test, *, data_range=None):
    """Mean structural similarity (SSIM) between two images.

    Parameters
    ----------
    image_true : ndarray or list of ndarray
        Reference image ``(H, W, C)``, batch of images ``(N, H, W, C)``, or
        list of images (possibly of different sizes). Each side must be at
        least 7 pixels.
    image_test : ndarray or list of ndarray
        Test image(s), same shape(s) as ``image_true``.
    data_range : float, default=None
        Distance between the lowest and highest possible values. ``None``
        infers it from the dtype: 255 for uint8, 65535 for uint16, 1.0 for
        float, whose values must then lie in [0, 1] (0-255 floats need
        ``data_range=255``).

    Returns
    -------
    ssim : float
        Mean SSIM over pixels and channels, in [-1, 1], 1 for identical
        images. For a batch or a list, the mean over images. For RGBA, the
        mean over the pixels that are not fully transparent in
        ``image_true``, with the hidden pixels set to 0 in both images so
        that they add no difference to their neighbours' windows; an image
        with no visible pixel is left out of the mean.

    Raises
    ------
    ValueError
        If the shapes differ, the arrays are not images (a 2-D array is read
        as ``(n_pixels, n_channels)`` pixels, which have no neighbourhood),
        ``data_range`` cannot be inferred, or float data without
        ``data_range`` is clearly not in [0, 1].

    See Also
    --------
    skimage.metrics.structural_similarity : Computes the value for each image.
    ssim_scorer : SSIM of a quantizer's output, for model selection.

    Notes
    -----
    Each image is scored by :func:`skimage.metrics.structural_similarity`
    with ``channel_axis=-1`` and its default 7x7 uniform window. Images
    larger than 262,144 pixels are scored in horizontal strips, which
    gives the same value with bounded memory.

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image
       quality assessment: from error visibility to structural similarity",
       IEEE Transactions on Image Processing 13(4), 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from skquant.metrics import structural_similarity
    >>> image = data.astronaut()[:64, :64]
    >>> structural_similarity(image, image)
    1.0
    >>> coarse = (image // 64) * 64 + 32
    >>> round(structural_similarity(image, coarse), 2)
    0.66
    """
    scores = []
    for i, (true, test, data_range_i, visible) in enumerate(
        _pairs(image_true, image_test, data_range)
    ):
        if true.ndim not in (3, 4):
            where = f"[{i}]" if _is_image_list(image_true) else ""
            raise ValueError(
                "structural_similarity needs an image (H, W, n_channels) or a "
                f"batch (N, H, W, n_channels), got image_true{where} of shape "
                f"{true.shape}. A 2-D array is read as (n_pixels, n_channels) "
                "pixels, which have no spatial neighbourhood."
            )
        if true.ndim == 3:
            true = true[None]
            test = test[None]
            visible = None if visible is None else visible[None]
        for j in range(true.shape[0]):
            shown = None if visible is None or visible[j].all() else visible[j]
            score, seen = _ssim_image(
                true[j], test[j], data_range_i, shown, _SSIM_STRIP_PIXELS
            )
            if seen:
                scores.append(score)
    # images with nothing visible are left out; none visible at all: identical
    return float(np.mean(scores)) if scores else 1.0


# ---------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------


def psnr_scorer(estimator, X, y=None):
    """PSNR between ``X`` and ``estimator.transform(X)`` (higher is better).

    Parameters
    ----------
    estimator : fitted transformer
        A quantizer such as :class:`skquant.ColorQuantizer`, whose
        ``transform`` returns ``X``'s structure with replaced colours.
    X : ndarray or list of ndarray
        Pixels ``(n_pixels, n_channels)``, an image ``(H, W, C)``, a batch
        ``(N, H, W, C)`` or a list of images.
    y : None
        Ignored.

    Returns
    -------
    score : float
        :func:`peak_signal_noise_ratio` of the quantized ``X``, in dB.

    See Also
    --------
    get_scorer : Scorers by name.

    Examples
    --------
    >>> from sklearn.datasets import load_sample_image
    >>> from skquant import ColorQuantizer
    >>> from skquant.metrics import psnr_scorer
    >>> image = load_sample_image("china.jpg")[::4, ::4]
    >>> few = ColorQuantizer(n_colors=2, random_state=0).fit(image)
    >>> many = ColorQuantizer(n_colors=32, random_state=0).fit(image)
    >>> psnr_scorer(many, image) > psnr_scorer(few, image)
    True
    """
    return peak_signal_noise_ratio(X, estimator.transform(X))


def delta_e_scorer(estimator, X, y=None):
    """Negative mean CIEDE2000 of ``estimator.transform(X)`` against ``X``.

    The sign is flipped so that higher is better, as scikit-learn's model
    selection expects.

    Parameters
    ----------
    estimator : fitted transformer
        A quantizer such as :class:`skquant.ColorQuantizer`, whose
        ``transform`` returns ``X``'s structure with replaced colours.
    X : ndarray or list of ndarray
        sRGB pixels ``(n_pixels, 3)``, an image ``(H, W, 3)``, a batch
        ``(N, H, W, 3)`` or a list of images (RGBA allowed: fully
        transparent pixels are left out).
    y : None
        Ignored.

    Returns
    -------
    score : float
        ``-mean_delta_e(X, estimator.transform(X))``, at most 0.

    See Also
    --------
    mean_delta_e : The metric.
    get_scorer : Scorers by name.

    Examples
    --------
    >>> from sklearn.datasets import load_sample_image
    >>> from skquant import ColorQuantizer
    >>> from skquant.metrics import delta_e_scorer
    >>> image = load_sample_image("china.jpg")[::4, ::4]
    >>> quantizer = ColorQuantizer(n_colors=16, random_state=0).fit(image)
    >>> -20 < delta_e_scorer(quantizer, image) < 0
    True
    """
    return -mean_delta_e(X, estimator.transform(X))


def ssim_scorer(estimator, X, y=None):
    """Mean SSIM between ``X`` and ``estimator.transform(X)``.

    Parameters
    ----------
    estimator : fitted transformer
        A quantizer such as :class:`skquant.ColorQuantizer`, whose
        ``transform`` returns ``X``'s structure with replaced colours.
    X : ndarray or list of ndarray
        An image ``(H, W, C)``, a batch ``(N, H, W, C)`` or a list of
        images. Pixel arrays ``(n_pixels, n_channels)`` are refused: SSIM
        needs spatial neighbourhoods.
    y : None
        Ignored.

    Returns
    -------
    score : float
        :func:`structural_similarity` of the quantized ``X``, at most 1.

    See Also
    --------
    get_scorer : Scorers by name.

    Examples
    --------
    >>> from sklearn.datasets import load_sample_image
    >>> from skquant import ColorQuantizer
    >>> from skquant.metrics import ssim_scorer
    >>> image = load_sample_image("china.jpg")[::4, ::4]
    >>> quantizer = ColorQuantizer(n_colors=16, random_state=0).fit(image)
    >>> 0 < ssim_scorer(quantizer, image) < 1
    True
    """
    return structural_similarity(X, estimator.transform(X))


_SCORERS = {
    "psnr": psnr_scorer,
    "delta_e": delta_e_scorer,
    "ssim": ssim_scorer,
}


def get_scorer(name):
    """Return a quantization scorer by name.

    Parameters
    ----------
    name : {'psnr', 'delta_e', 'ssim'}
        The scorer: :func:`psnr_scorer`, :func:`delta_e_scorer` or
        :func:`ssim_scorer`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``, higher is better.

    Raises
    ------
    ValueError
        If ``name`` is not one of the names above.

    Examples
    --------
    >>> from skquant.metrics import get_scorer, psnr_scorer
    >>> get_scorer("psnr") is psnr_scorer
    True
    """
    try:
        return _SCORERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"{name!r} is not a quantization scorer; use one of {sorted(_SCORERS)}."
        ) from None


def make_rate_distortion_scorer(db_per_bit=1.0):
    """Scorer trading quality against palette size (rate-distortion).

    The score is ``PSNR - db_per_bit * log2(n_colors_)``: the PSNR of the
    quantized ``X`` minus a price for every bit an indexed image spends per
    pixel. Doubling the palette costs one bit, so a grid search over
    ``n_colors`` prefers more colours only while a doubling still buys more
    than ``db_per_bit`` decibels.

    Parameters
    ----------
    db_per_bit : float, default=1.0
        Decibels of PSNR one bit per pixel is worth; larger values favour
        smaller palettes.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``, higher is better.

    See Also
    --------
    fewest_colors : Pick the smallest palette that reaches a target instead.

    Examples
    --------
    >>> from sklearn.datasets import load_sample_image
    >>> from sklearn.model_selection import GridSearchCV, KFold
    >>> from skquant import ColorQuantizer
    >>> from skquant.metrics import make_rate_distortion_scorer
    >>> image = load_sample_image("china.jpg")[::2, ::2]
    >>> search = GridSearchCV(
    ...     ColorQuantizer(random_state=0),
    ...     {"n_colors": [2, 4, 8, 16, 32, 64, 128, 256]},
    ...     scoring=make_rate_distortion_scorer(db_per_bit=3.0),
    ...     cv=KFold(2),
    ... ).fit(image)
    >>> 4 <= search.best_params_["n_colors"] <= 64
    True
    """
    if (
        isinstance(db_per_bit, bool)
        or not isinstance(db_per_bit, numbers.Real)
        or not db_per_bit >= 0
    ):
        raise ValueError(f"db_per_bit must be a number >= 0, got {db_per_bit!r}.")

    def rate_distortion_scorer(estimator, X, y=None):
        bits = np.log2(max(int(estimator.n_colors_), 1))
        return peak_signal_noise_ratio(X, estimator.transform(X)) - db_per_bit * bits

    return rate_distortion_scorer


def fewest_colors(threshold, *, scorer="score", param="n_colors"):
    """A ``refit`` callable: the smallest palette whose score reaches a target.

    Give it to :class:`~sklearn.model_selection.GridSearchCV` as ``refit=``
    with a quality scorer (for example ``scoring=psnr_scorer`` and
    ``threshold=30`` for 30 dB, or ``scoring=delta_e_scorer`` and
    ``threshold=-3`` for a mean CIEDE2000 of at most 3). Among the candidates
    whose mean test score is at least ``threshold`` it picks the one with the
    fewest colours, the way pngquant's ``--quality`` does. When none reaches
    it, the best-scoring candidate is chosen with a warning that names the
    threshold and the best score reached (as
    :func:`skquant.select_n_colors` does).

    Parameters
    ----------
    threshold : float
        Lowest acceptable mean test score, on the scorer's scale: scorers
        are "higher is better", so a loss is negated (``delta_e_scorer``
        returns minus the mean CIEDE2000, and a mean CIEDE2000 of at most 3
        is ``threshold=-3``). A positive threshold that no candidate
        reaches while every score is at most 0 is most likely this sign
        mistake, and the warning says so.
    scorer : str, default="score"
        Name of the score in ``cv_results_`` (``"score"`` for a single
        scorer, else the key given in ``scoring=``).
    param : str, default="n_colors"
        The searched parameter that counts colours (for a pipeline, for
        example ``"quantizer__n_colors"``).

    Returns
    -------
    refit : callable
        ``refit(cv_results) -> int``, the index of the chosen candidate.

    Raises
    ------
    ValueError
        If ``threshold`` is not a finite number, or, when the search ends,
        ``cv_results`` holds no score or parameter by the names given.

    Warns
    -----
    UserWarning
        When no candidate reaches ``threshold``.

    See Also
    --------
    skquant.select_n_colors : The same choice on one image, much faster.

    Examples
    --------
    >>> from sklearn.datasets import load_sample_image
    >>> from sklearn.model_selection import GridSearchCV, KFold
    >>> from skquant import ColorQuantizer
    >>> from skquant.metrics import fewest_colors, psnr_scorer
    >>> image = load_sample_image("flower.jpg")[::2, ::2]
    >>> search = GridSearchCV(
    ...     ColorQuantizer(random_state=0),
    ...     {"n_colors": [4, 8, 16, 32, 64]},
    ...     scoring=psnr_scorer,
    ...     refit=fewest_colors(28.0),
    ...     cv=KFold(2),
    ... ).fit(image)
    >>> scores = search.cv_results_["mean_test_score"]
    >>> bool(scores[search.best_index_] >= 28.0)
    True
    >>> bool(search.best_index_ == 0 or scores[search.best_index_ - 1] < 28.0)
    True
    """
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not np.isfinite(threshold)
    ):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}.")

    def refit(cv_results):
        scores = np.asarray(
            _cv_column(cv_results, f"mean_test_{scorer}", "scorer", scorer),
            dtype=np.float64,
        )
        colors = np.asarray(
            _cv_column(cv_results, f"param_{param}", "param", param),
            dtype=np.float64,
        )
        good = np.flatnonzero(scores >= threshold)
        if len(good) > 0:
            return int(good[np.argmin(colors[good])])
        best = int(np.nanargmax(scores))
        message = (
            f"No candidate reaches threshold={threshold!r}: the best mean test "
            f"score is {scores[best]:.6g} ({param}={colors[best]:g}), which is "
            "returned."
        )
        if threshold > 0 and np.nanmax(scores) <= 0:
            message += (
                " Every score is <= 0: if the scorer is a negated loss such as "
                "delta_e_scorer (minus the mean CIEDE2000), the threshold must "
                f"be negative too: threshold={-threshold!r} for a mean CIEDE2000 "
                f"of at most {threshold!r}."
            )
        warnings.warn(message, UserWarning, stacklevel=2)
        return best

    return refit


def _cv_column(cv_results, key, what, name):
    try:
        return cv_results[key]
    except KeyError:
        have = sorted(
            str(k).removeprefix("mean_test_").removeprefix("param_")
            for k in cv_results
            if str(k).startswith("mean_test_" if what == "scorer" else "param_")
        )
        raise ValueError(
            f"fewest_colors({what}={name!r}): cv_results has no {key!r}; the "
            f"search has {what}s {have}."
        ) from None
