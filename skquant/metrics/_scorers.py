"""Scorers for model selection and the ``fewest_colors`` refit rule."""

import numbers

import numpy as np

from skquant._image import warn
from skquant.metrics._image import (
    mean_delta_e,
    peak_signal_noise_ratio,
    structural_similarity,
)

#: Parameters of every scorer, filled into their docstrings by :func:`_doc`.
_PARAMETERS = {
    "estimator": """estimator : fitted transformer
        A quantizer such as :class:`skquant.ColorQuantizer`, whose
        ``transform`` returns ``X``'s structure with replaced colours.""",
    "y": """y : None
        Ignored.""",
}


def _doc(scorer):
    if scorer.__doc__:  # None under python -OO
        scorer.__doc__ = scorer.__doc__.format(**_PARAMETERS)
    return scorer


@_doc
def psnr_scorer(estimator, X, y=None):
    """PSNR between ``X`` and ``estimator.transform(X)`` (higher is better).

    Parameters
    ----------
    {estimator}
    X : ndarray or list of ndarray
        Pixels ``(n_pixels, n_channels)``, an image ``(H, W, C)``, a batch
        ``(N, H, W, C)`` or a list of images.
    {y}

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


@_doc
def delta_e_scorer(estimator, X, y=None):
    """Negative mean CIEDE2000 of ``estimator.transform(X)`` against ``X``.

    The sign is flipped so that higher is better, as scikit-learn's model
    selection expects.

    Parameters
    ----------
    {estimator}
    X : ndarray or list of ndarray
        sRGB pixels ``(n_pixels, 3)``, an image ``(H, W, 3)``, a batch
        ``(N, H, W, 3)`` or a list of images (RGBA allowed: fully
        transparent pixels are left out).
    {y}

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
    >>> from skquant.metrics import delta_e_scorer, mean_delta_e
    >>> flower = load_sample_image("flower.jpg")[::4, ::4]
    >>> quantizer = ColorQuantizer(n_colors=16, random_state=0).fit(flower)
    >>> score = delta_e_scorer(quantizer, flower)
    >>> score == -mean_delta_e(flower, quantizer.transform(flower))
    True
    >>> -20 < score < 0
    True
    """
    return -mean_delta_e(X, estimator.transform(X))


@_doc
def ssim_scorer(estimator, X, y=None):
    """Mean SSIM between ``X`` and ``estimator.transform(X)``.

    Parameters
    ----------
    {estimator}
    X : ndarray or list of ndarray
        An image ``(H, W, C)``, a batch ``(N, H, W, C)`` or a list of
        images. Pixel arrays ``(n_pixels, n_channels)`` are refused: SSIM
        needs spatial neighbourhoods.
    {y}

    Returns
    -------
    score : float
        :func:`structural_similarity` of the quantized ``X``, at most 1.

    See Also
    --------
    get_scorer : Scorers by name.

    Examples
    --------
    >>> from skimage import data
    >>> from skquant import ColorQuantizer
    >>> from skquant.metrics import ssim_scorer
    >>> astronaut = data.astronaut()[::2, ::2]
    >>> coarse = ColorQuantizer(n_colors=4, random_state=0).fit(astronaut)
    >>> fine = ColorQuantizer(n_colors=64, random_state=0).fit(astronaut)
    >>> 0 < ssim_scorer(coarse, astronaut) < ssim_scorer(fine, astronaut) < 1
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
        warn(message, UserWarning)  # at the caller's line, past scikit-learn
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
