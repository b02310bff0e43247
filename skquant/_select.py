"""Choosing the number of colours by a quality target."""

import numbers
import warnings

import numpy as np
from skimage.color import deltaE_ciede2000
from sklearn.exceptions import ConvergenceWarning

from skquant import _color
from skquant._image import check_input, check_positive_int, full_scale
from skquant._kernels import assign_labels, kmeans_plusplus
from skquant._kmeans import single_thread_if_small
from skquant._quantizer import ColorQuantizer
from skquant.metrics import mean_delta_e, peak_signal_noise_ratio

#: Pixels drawn to check the target on the real pixels, not the histogram.
CHECK_PIXELS = 1 << 18

#: Lloyd iterations of each candidate K during the bisection.
PROBE_MAX_ITER = 20


def select_n_colors(
    X,
    *,
    min_psnr=None,
    max_delta_e=None,
    max_colors=256,
    sample_weight=None,
    **quantizer_params,
):
    """Fit a :class:`ColorQuantizer` with the fewest colours reaching a target.

    Like pngquant's ``--quality``, this picks the smallest palette whose
    quantized image reaches a PSNR of at least ``min_psnr`` and/or a mean
    CIEDE2000 of at most ``max_delta_e``. The pixels are pooled into a colour
    histogram once; a bisection over the number of colours then runs k-means
    on that histogram only, and the chosen palette is checked on (a sample of)
    the real pixels, growing it if needed. That costs a fraction of a grid
    search that fits and scores every candidate on all pixels.

    Parameters
    ----------
    X : array-like of shape (H, W, C), (N, H, W, C) or (n_pixels, C), or list
        What :class:`ColorQuantizer` accepts.
    min_psnr : float, default=None
        Lowest acceptable PSNR, in dB (the data range comes from the dtype).
    max_delta_e : float, default=None
        Highest acceptable mean CIEDE2000 (3-channel RGB data only).
    max_colors : int, default=256
        Largest palette to consider; when even this misses the target, it is
        returned with a warning.
    sample_weight : array-like, default=None
        Per-pixel weights, as in :meth:`ColorQuantizer.fit`.
    **quantizer_params
        Other :class:`ColorQuantizer` parameters (``random_state``,
        ``color_space``, ...), but not ``n_colors``.

    Returns
    -------
    quantizer : ColorQuantizer
        Fitted, with ``n_colors`` set to the number chosen.

    See Also
    --------
    skquant.metrics.fewest_colors : The same choice inside ``GridSearchCV``.

    Examples
    --------
    >>> from sklearn.datasets import load_sample_image
    >>> from skquant import select_n_colors
    >>> from skquant.metrics import peak_signal_noise_ratio
    >>> china = load_sample_image("china.jpg")
    >>> q = select_n_colors(china, min_psnr=30, random_state=0)
    >>> 16 < q.n_colors_ < 64
    True
    >>> bool(peak_signal_noise_ratio(china, q.transform(china)) >= 30)
    True
    """
    if min_psnr is None and max_delta_e is None:
        raise ValueError("give a target: min_psnr, max_delta_e or both.")
    for name, value in (("min_psnr", min_psnr), ("max_delta_e", max_delta_e)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {name}={value!r}.")
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(
                f"{name} must be a finite number >= 0, got {name}={value!r}."
            )
    if "n_colors" in quantizer_params:
        raise TypeError("n_colors is what select_n_colors chooses; do not pass it.")
    max_colors = check_positive_int(max_colors, "max_colors")
    quantizer = ColorQuantizer(max_colors, **quantizer_params)
    layout = check_input(quantizer, X, reset=True)
    quantizer._check_params(layout.n_channels)
    quantizer._set_dtypes(layout)
    if max_delta_e is not None and layout.n_channels != 3:
        raise ValueError(
            f"max_delta_e needs 3-channel RGB data, got {layout.n_channels} channels."
        )
    points, weights, exact, rng = quantizer._prepare(layout, sample_weight)
    if weights is None:
        weights = np.ones(len(points))
    seed = rng.randint(np.iinfo(np.int32).max)
    data_range = _data_range(layout.dtype, points)
    # One k-means++ seeding for the largest palette serves every candidate:
    # its first k centres are a k-means++ seeding for k colours.
    seeds = None
    points_work = quantizer._to_working(points).astype(np.float64)
    if not (exact and len(points) <= max_colors) and quantizer.fixed_colors is None:
        with single_thread_if_small(len(points_work)):
            seeds, _ = kmeans_plusplus(
                points_work,
                min(max_colors, len(points)),
                sample_weight=weights,
                random_state=np.random.RandomState(seed),
            )

    max_iter = quantizer.max_iter

    def fit(k, *, probe=False):
        quantizer.n_colors = k
        # a quality estimate needs no full convergence: the chosen K does
        quantizer.max_iter = min(max_iter, PROBE_MAX_ITER) if probe else max_iter
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            quantizer._learn(
                points,
                weights,
                exact,
                np.random.RandomState(seed),
                init_work=None if seeds is None else seeds[:k],
            )
        return quantizer

    def good_on_histogram(k):
        fit(k, probe=True)
        labels = assign_labels(points_work, quantizer._palette_work)
        mapped = quantizer.palette_[labels].astype(np.float64)
        ok = True
        if min_psnr is not None:
            mse = np.dot(weights, ((points - mapped) ** 2).sum(1)) / (
                weights.sum() * points.shape[1]
            )
            ok &= _psnr(mse, data_range) >= min_psnr
        if max_delta_e is not None:
            scale = full_scale(layout.dtype)
            de = deltaE_ciede2000(
                _color.rgb_to_lab(points / scale), _color.rgb_to_lab(mapped / scale)
            )
            ok &= np.dot(weights, de) / weights.sum() <= max_delta_e
        return bool(ok)

    pixels = layout.pixels()
    if len(pixels) > CHECK_PIXELS:
        pixels = pixels[np.sort(rng.choice(len(pixels), CHECK_PIXELS, replace=False))]

    def good_on_pixels(k):
        fit(k)
        mapped = quantizer.transform(pixels)
        ok = True
        if min_psnr is not None:
            ok &= (
                peak_signal_noise_ratio(pixels, mapped, data_range=data_range)
                >= min_psnr
            )
        if max_delta_e is not None:
            ok &= mean_delta_e(pixels, mapped) <= max_delta_e
        return bool(ok)

    hi = min(max_colors, len(points)) if exact else max_colors
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if good_on_histogram(mid):
            hi = mid
        else:
            lo = mid + 1
    k = lo
    ok = good_on_pixels(k)
    while not ok and k < max_colors:
        k = min(max_colors, k + max(1, k // 16))
        ok = good_on_pixels(k)
    if not ok:
        warnings.warn(
            f"max_colors={max_colors} colours do not reach the target "
            f"(min_psnr={min_psnr}, max_delta_e={max_delta_e}); returning "
            f"{max_colors} colours.",
            UserWarning,
            stacklevel=2,
        )
    return quantizer


def _data_range(dtype, points):
    if dtype.kind == "f" or dtype == np.uint8 or dtype == np.uint16:
        return full_scale(dtype)
    return float(points.max() - points.min()) or 1.0


def _psnr(mse, data_range):
    return np.inf if mse == 0 else 10 * np.log10(data_range**2 / mse)
