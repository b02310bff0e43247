"""Choosing the number of colours by a quality target.

:func:`select_n_colors` returns a fitted :class:`ColorQuantizer`;
:func:`select_palette`, its estimator-free twin for the command line,
returns the engine's :class:`~skquant._engine.FittedPalette` and imports
neither scikit-learn nor scikit-image."""

import numbers

import numpy as np

from skquant import _color
from skquant._engine import (
    Points,
    check_params,
    check_random_state,
    fit_points,
    palette_from_points,
    working_space,
)
from skquant._engine._palette import check_sample_weight, visible_pixels
from skquant._image import (
    Layout,
    check_input,
    check_positive_int,
    full_scale,
    read_input,
    warn,
)
from skquant._kernels import assign_labels, delta_e_rows, kmeans_plusplus
from skquant._kmeans import single_thread_if_small
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
    from skquant._quantizer import ColorQuantizer

    max_colors = _check_targets(min_psnr, max_delta_e, max_colors, quantizer_params)
    probe = ColorQuantizer(max_colors, **quantizer_params)
    layout = check_input(probe, X, reset=True)
    settings = check_params(probe.get_params(deep=False), layout.n_channels)
    k, fitted = _search(
        layout, settings, min_psnr, max_delta_e, max_colors, sample_weight
    )
    quantizer = ColorQuantizer(k, **quantizer_params)
    for name in ("n_features_in_", "feature_names_in_"):
        if hasattr(probe, name):
            setattr(quantizer, name, getattr(probe, name))
    return quantizer._set_fitted(fitted)


def select_palette(
    X, *, min_psnr=None, max_delta_e=None, max_colors=256, sample_weight=None, **params
):
    """:func:`select_n_colors` without scikit-learn, for the command line.

    The same search with the same arguments (``random_state`` included);
    returns the chosen :class:`~skquant._engine.FittedPalette`.
    """
    max_colors = _check_targets(min_psnr, max_delta_e, max_colors, params)
    layout = read_input(X)
    settings = check_params({"n_colors": max_colors, **params}, layout.n_channels)
    _, fitted = _search(
        layout, settings, min_psnr, max_delta_e, max_colors, sample_weight
    )
    return fitted


def _check_targets(min_psnr, max_delta_e, max_colors, params):
    """Check the targets; return ``max_colors``."""
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
    if "n_colors" in params:
        raise TypeError("n_colors is what select_n_colors chooses; do not pass it.")
    return check_positive_int(max_colors, "max_colors")


def _search(layout, settings, min_psnr, max_delta_e, max_colors, sample_weight):
    """The bisection over K; returns ``(k, fitted)``."""
    space = working_space(settings, layout)
    if max_delta_e is not None and layout.n_channels != 3:
        raise ValueError(
            f"max_delta_e needs 3-channel RGB data, got {layout.n_channels} channels."
        )
    rng = check_random_state(settings.random_state)
    pixels = layout.pixels()
    weights = check_sample_weight(sample_weight, layout)
    pixels, weights, has_transparent = visible_pixels(pixels, weights, space)
    if len(pixels) == 0:
        points = Points(pixels, None, True)
    else:
        n_learned = max_colors - int(has_transparent)
        points = fit_points(pixels, weights, settings, n_learned, rng)
    if points.weights is None:
        points.weights = np.ones(len(points.points))
    seed = rng.randint(np.iinfo(np.int32).max)
    data_range = _data_range(layout.dtype, points.points)
    # One k-means++ seeding for the largest palette serves every candidate:
    # its first k centres are a k-means++ seeding for k colours.
    seeds = None
    points_work = space.to_working(points.points).astype(np.float64)
    exact_few = points.exact and len(points.points) <= max_colors
    if not exact_few and settings.fixed_colors is None and len(points.points):
        with single_thread_if_small(len(points_work)):
            seeds, _ = kmeans_plusplus(
                points_work,
                min(max_colors, len(points.points)),
                sample_weight=points.weights,
                random_state=np.random.RandomState(seed),
            )

    def fit(k, *, probe=False):
        # a quality estimate needs no full convergence: the chosen K does
        max_iter = min(settings.max_iter, PROBE_MAX_ITER) if probe else None
        candidate = check_params(
            {
                **settings.params,
                "n_colors": k,
                "max_iter": max_iter or settings.max_iter,
            },
            layout.n_channels,
        )
        return palette_from_points(
            points if len(points.points) else None,
            candidate,
            space,
            has_transparent,
            rng=np.random.RandomState(seed),
            init_work=None if seeds is None else seeds[:k],
            warning=None,
        )

    def good_on_histogram(k):
        fitted = fit(k, probe=True)
        labels = assign_labels(points_work, fitted.palette_work)
        mapped = fitted.palette[labels].astype(np.float64)
        ok = True
        weights = points.weights
        if min_psnr is not None:
            mse = np.dot(weights, ((points.points - mapped) ** 2).sum(1)) / (
                weights.sum() * points.points.shape[1]
            )
            ok &= _psnr(mse, data_range) >= min_psnr
        if max_delta_e is not None:
            scale = full_scale(layout.dtype)
            de = delta_e_rows(
                _color.rgb_to_lab(points.points / scale),
                _color.rgb_to_lab(mapped / scale),
            )
            ok &= np.dot(weights, de) / weights.sum() <= max_delta_e
        return bool(ok)

    check = layout.pixels()
    if len(check) > CHECK_PIXELS:
        check = check[np.sort(rng.choice(len(check), CHECK_PIXELS, replace=False))]
    check_layout = Layout("pixels", [check])

    def good_on_pixels(k):
        fitted = fit(k)
        mapped = fitted.transform(check_layout)
        ok = True
        if min_psnr is not None:
            ok &= (
                peak_signal_noise_ratio(check, mapped, data_range=data_range)
                >= min_psnr
            )
        if max_delta_e is not None:
            ok &= mean_delta_e(check, mapped) <= max_delta_e
        return bool(ok), fitted

    exact = points.exact
    hi = min(max_colors, len(points.points)) if exact else max_colors
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if good_on_histogram(mid):
            hi = mid
        else:
            lo = mid + 1
    k = lo
    ok, fitted = good_on_pixels(k)
    while not ok and k < max_colors:
        k = min(max_colors, k + max(1, k // 16))
        ok, fitted = good_on_pixels(k)
    if not ok:
        warn(
            f"max_colors={max_colors} colours do not reach the target "
            f"(min_psnr={min_psnr}, max_delta_e={max_delta_e}); returning "
            f"{max_colors} colours.",
            UserWarning,
        )
    return k, fitted


def _data_range(dtype, points):
    if dtype.kind == "f" or dtype == np.uint8 or dtype == np.uint16:
        return full_scale(dtype)
    return float(points.max() - points.min()) or 1.0


def _psnr(mse, data_range):
    return np.inf if mse == 0 else 10 * np.log10(data_range**2 / mse)
