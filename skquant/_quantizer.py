"""ColorQuantizer: the scikit-learn layer over skquant's engine.

Validation (scikit-learn's ``validate_data`` for pixel arrays), the parameter
table shared with :func:`skquant.quantize`, fitted attributes and dispatch to
Dask; the work happens in :mod:`skquant._engine`. Everything ``transform``,
``predict`` and ``score`` read was fixed by the last fit (a
:class:`~skquant._engine.FittedPalette`), so ``set_params`` after ``fit``
changes nothing until the next fit.
"""

from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from skquant import _dask
from skquant._engine import (
    FewerColorsWarning,
    check_params,
    fit_palette,
)
from skquant._engine._stream import update_stream
from skquant._image import (
    check_dtype_compatible,
    check_input,
    check_labels,
    is_dask_collection,
    warn,
)
from skquant._version import __version__

__all__ = ["ColorQuantizer"]


class SkquantVersionWarning(UserWarning):
    """A model saved by another skquant version was loaded."""


class TooFewColorsWarning(FewerColorsWarning, ConvergenceWarning):
    """Fewer distinct colours than ``n_colors`` (a ``ConvergenceWarning``)."""


class ColorQuantizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Reduce images to a palette of ``n_colors`` colours with k-means.

    The palette is learnt by k-means on the pixels (all of them, pooled into a
    weighted colour histogram, or a random sample), with scikit-learn's
    :class:`~sklearn.cluster.KMeans` or OpenCV's ``cv2.kmeans``. ``predict``
    gives each pixel the index of its nearest palette colour and ``transform``
    replaces it by that colour, keeping the input's shape and dtype.

    Inputs may be pixels ``(n_pixels, n_channels)`` (what scikit-learn passes),
    one image ``(H, W, C)``, a batch ``(N, H, W, C)``, or a list of images of
    different sizes; channels are on the last axis.

    Parameters
    ----------
    n_colors : int, default=16
        Number of palette colours to learn.
    backend : {'sklearn', 'opencv'}, default='sklearn'
        k-means implementation: :class:`sklearn.cluster.KMeans` (Lloyd, takes
        histogram weights) or ``cv2.kmeans`` (seeded by skquant, see Notes).
    color_space : {'rgb', 'lab', 'oklab', 'din99o', 'perceptual'}, default='rgb'
        Space in which colours are clustered and compared. ``'rgb'`` works on
        the values as given, for any number of channels, and gives the best
        PSNR. The perceptual spaces need 3-channel sRGB data (uint8, uint16,
        or float in [0, 1]; 0-255 floats are refused with a ValueError that
        says to divide by 255): ``'din99o'`` (DIN 6176, built on CIELAB) gives
        the lowest CIEDE2000, ``'perceptual'`` sits between
        sRGB and DIN99o (colours matched a fifth of the way, palettes fitted
        up to 0.3 of the way at small K: 4-6 % lower CIEDE2000 and 0.07-0.29 dB
        higher PSNR than libimagequant at K = 8-256 on ten photos, at 1.3-2x
        the fit time of ``'rgb'``), ``'lab'`` is CIELAB
        (D65), ``'oklab'`` is OKLab. See Notes for the measured trade-off.
    dither : str or None, default=None
        Dithering applied by ``predict`` and ``transform`` to images (not to
        pixel arrays): ``'floyd-steinberg'``, ``'atkinson'``,
        ``'jarvis-judice-ninke'``, ``'stucki'``, ``'burkes'``, ``'sierra'``,
        ``'sierra-two-row'``, ``'sierra-lite'`` (error diffusion in linear
        light, serpentine) or ``'bayer'`` (ordered). The nearest colour is
        chosen in ``color_space``; the output still holds palette colours
        only. ``None`` (or ``'none'``, as on the command line) maps every
        pixel to its nearest colour. Data is diffused in linear light when
        it is sRGB (3 channels of uint8, uint16, or floats in [0, 1]), in its
        own units otherwise (3-channel floats up to 255, which look like
        0-255 colours, get a ``UserWarning`` saying so).
    dither_strength : float, default=1.0
        From 0 to 1, as pngquant's ``--floyd=0.5``: the fraction of each
        pixel's error that error diffusion passes on (for ``'bayer'``, the
        share of the second colour of each pair). 0 gives the undithered
        result exactly; lower values keep flat areas calmer at the cost of
        some banding. Ignored when ``dither`` is None.
    dither_adaptive : bool, default=True
        Error diffusion that keeps flat areas calm: a pixel passes on its
        own error in full but only a limited share of the error carried into
        it, less where the image is flat than where it has texture.
        Where the image is flat but noisy (JPEG skies, walls), calmer
        still; clean gradients are dithered as before, without bands. On
        seven sample photos, photo by photo, flat-area noise is 20 % (K=16)
        and 15 % (K=64) lower than plain Floyd-Steinberg, blurred CIEDE2000
        0.8 % and 1.8 % higher (see the dithering guide); with a few palette
        colours far apart, a ramp's bright end can come out slightly light.
        From 8 colours up, ``fit`` then also weighs pixels by how flat the
        image is around them, so that flat areas get palette colours near
        their own (at K=64: 27 % less flat-area noise than plain
        Floyd-Steinberg, and 3 % lower blurred CIEDE2000, geometric means
        over seven photos; at K=16, 3 % lower); ``partial_fit`` and fits on
        Dask arrays do the same.
        ``False`` gives plain error diffusion and the undithered palette
        (the default before 0.6). Ignored without error diffusion
        (``None``, ``'bayer'``).
    channel_order : {'rgb', 'bgr'}, default='rgb'
        How colour data stores its channels. ``'bgr'`` is for images read
        with OpenCV (``cv2.imread`` gives BGR or BGRA): the perceptual colour
        spaces and linear-light dithering read the channels in the right
        order, and everything given back (images, ``palette_``,
        ``cluster_centers_``) is in the input's order, as are ``palette``,
        ``fixed_colors`` and an ``init`` array given in. The result equals
        the RGB image's with the channels reversed. Left at ``'rgb'``, BGR
        data still gets a good palette in ``color_space='rgb'`` (which treats
        the channels alike, dithering included), but the perceptual spaces
        read its colours wrongly.
    alpha : {'auto', True, False}, default='auto'
        Whether the 4th channel is opacity. ``'auto'``: yes for 4-channel
        images (3-D and 4-D arrays, lists), no for pixel arrays ``(n, 4)``.
        See Notes for the rule.
    keep_transparent_rgb : bool, default=False
        With alpha, fully transparent pixels come back fully transparent;
        their RGB is zeroed (the transparent palette entry) unless this is
        True, in which case it is kept as it was.
    sample_size : int, None or 'auto', default='auto'
        Pixels drawn at random to fit on. ``None`` uses every pixel. ``'auto'``
        uses every pixel with the ``'sklearn'`` backend (pooled into a
        histogram, see ``histogram_bins``) and 100,000 random pixels with
        ``'opencv'``, which takes no weights.
    histogram_bins : int or None, default=64
        With the ``'sklearn'`` backend, pixels are pooled into a colour
        histogram with this many cells per channel (for 3 channels; other
        channel counts get the same cell budget) and k-means runs on the cell
        means weighted by their counts; at most 64. ``None`` clusters the
        pixels themselves. ``'opencv'`` takes no weights and clusters the pixel
        sample instead.
    palette : array-like of shape (n_colors, n_channels), default=None
        Map onto exactly this palette, in the input's units (0-255 for uint8
        images, floats in [0, 1] for float sRGB; a float palette within
        [0, 1] for uint8 or uint16 data is refused), keeping its order and
        indices; nothing is learnt and
        ``n_colors`` is ignored. For web-safe, brand, console or file
        palettes (see :func:`skquant.io.read_palette`).
    fixed_colors : array-like of shape (n_fixed, n_channels), default=None
        Colours always kept in the palette (first, in the given order); the
        other ``n_colors - n_fixed`` are learnt around them by weighted Lloyd
        iterations whatever the backend.
    init : {'k-means++', 'random'} or array of shape (n_colors, n_channels), \
            default='k-means++'
        Initial centres, in the input's units when an array.
    n_init : int, default=1
        Number of k-means runs from different seeds (OpenCV's ``attempts``);
        the one with the lowest inertia is kept.
    max_iter : int, default=300
        Maximum Lloyd iterations per run.
    tol : float, default=1e-4
        Relative tolerance on the centre shift, as in
        :class:`~sklearn.cluster.KMeans`.
    warm_start : bool, default=False
        When True, ``fit`` starts from the previous palette (same
        ``n_colors``) and keeps its order, so indices stay matched from frame
        to frame and animations do not flicker. ``partial_fit`` always does.
        Earlier centres are reused only when the new data has the same
        channel count, dtype, colour space and alpha rule; otherwise the fit
        starts afresh.
    random_state : int, RandomState instance or None, default=None
        Seeds the pixel sample and the initial centres of every backend. Pass
        an int for reproducible palettes.

    Attributes
    ----------
    palette_ : ndarray of shape (n_colors_, n_channels)
        The palette in the input's units and dtype, most used colour first.
    cluster_centers_ : ndarray of shape (n_colors_, n_channels)
        The k-means centres in the input's units, as floats (before rounding).
    n_colors_ : int
        Number of colours really used: less than ``n_colors`` when the data
        holds fewer distinct colours.
    n_iter_ : int
        Lloyd iterations of the best run (0 when the palette is the data's
        distinct colours and no k-means was needed). With
        ``backend='opencv'``, the iterations OpenCV was allowed,
        ``max(max_iter, 2)``: ``cv2.kmeans`` does not report its count.
    inertia_ : float
        Weighted sum of squared distances of the clustered points to their
        centre, in the working colour space (OpenCV's compactness).
    n_features_in_ : int
        Number of channels seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` was a DataFrame.

    See Also
    --------
    quantize : Quantize one image in one call.
    sklearn.cluster.KMeans : The k-means used by the default backend.

    Notes
    -----
    Fitting on a histogram: a photograph's pixels occupy a few tens of
    thousands of cells of a 64**3 grid, so k-means on weighted cell means sees
    every pixel for the cost of a small sample.

    OpenCV seeds its centres from a global random generator; skquant seeds
    every attempt itself (k-means++ seeds, scikit-learn's algorithm and random
    stream, turned into initial labels with ``cv2.KMEANS_USE_INITIAL_LABELS``),
    so ``random_state`` makes OpenCV fits reproducible too. Each attempt is
    one ``cv2.kmeans`` call with ``max_iter`` as the criteria's count and
    ``tol`` converted to OpenCV's absolute epsilon (the largest centre shift
    allowed, in working-space units): ``sqrt(tol * mean(var(X, axis=0)))``.

    Transparency: fully transparent pixels (alpha 0) are left out of the fit
    and all share one fully transparent palette entry, ``(0, 0, 0, 0)``,
    placed last and counted in ``n_colors`` (so K <= 256 still fits an
    indexed PNG). Other pixels are compared by their alpha-premultiplied
    colour in ``color_space`` plus their alpha (scaled to the colour range),
    so half-transparent red sits between red and transparent; palette
    entries carry their own alpha. Dithering is not applied to images with
    alpha (a ValueError says so).

    Colour spaces, measured on six photographs at K = 8 to 256 against
    libimagequant without dithering (``benchmarks/bench_quality.py``):
    ``'din99o'`` gives the lowest mean CIEDE2000 (8-19 % below
    libimagequant, lower on every photo) for about 1.5 dB of PSNR below
    ``'rgb'``; ``'rgb'`` gives the highest PSNR (0.2-0.3 dB above
    libimagequant). ``'rgb'`` stays the default because it works on any
    data and is what PSNR-based model selection expects.

    Every parameter is read by ``fit`` and ``partial_fit``. ``transform``,
    ``predict``, ``score`` and ``inverse_transform`` use only what the last
    fit fixed (palette, colour space, alpha rule, dtype, dithering,
    ``keep_transparent_rgb``): ``set_params`` after ``fit`` changes nothing
    until the next fit.

    When the data holds fewer distinct colours than ``n_colors``, the palette
    is exactly those colours, ``n_colors_`` says how many, and a
    :class:`~sklearn.exceptions.ConvergenceWarning` is issued.

    References
    ----------
    .. [1] OpenCV tutorial, "K-Means Clustering in OpenCV", colour quantization.
    .. [2] scikit-learn example, "Color Quantization using K-Means".

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_sample_image
    >>> from skquant import ColorQuantizer
    >>> china = load_sample_image("china.jpg")
    >>> quantizer = ColorQuantizer(n_colors=8, random_state=0).fit(china)
    >>> quantizer.palette_.shape, quantizer.palette_.dtype
    ((8, 3), dtype('uint8'))
    >>> flower = load_sample_image("flower.jpg")
    >>> recoloured = quantizer.transform(flower)
    >>> recoloured.shape == flower.shape, recoloured.dtype
    (True, dtype('uint8'))
    >>> len(np.unique(recoloured.reshape(-1, 3), axis=0)) <= 8
    True
    """

    def __init__(
        self,
        n_colors=16,
        *,
        backend="sklearn",
        color_space="rgb",
        channel_order="rgb",
        dither=None,
        dither_strength=1.0,
        dither_adaptive=True,
        alpha="auto",
        keep_transparent_rgb=False,
        sample_size="auto",
        histogram_bins=64,
        palette=None,
        fixed_colors=None,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        warm_start=False,
        random_state=None,
    ):
        self.n_colors = n_colors
        self.backend = backend
        self.color_space = color_space
        self.channel_order = channel_order
        self.dither = dither
        self.dither_strength = dither_strength
        self.dither_adaptive = dither_adaptive
        self.alpha = alpha
        self.keep_transparent_rgb = keep_transparent_rgb
        self.sample_size = sample_size
        self.histogram_bins = histogram_bins
        self.palette = palette
        self.fixed_colors = fixed_colors
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state

    # %% sklearn plumbing ----------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        dtypes = ["float64", "float32", "uint8", "uint16"]
        tags.transformer_tags.preserves_dtype = dtypes
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        state["_skquant_version"] = __version__
        return state

    def __setstate__(self, state):
        saved = state.pop("_skquant_version", None)
        if saved is not None and saved != __version__:
            warn(
                f"This ColorQuantizer was saved by skquant {saved} and is loaded by "
                f"skquant {__version__}; it may not work as it did. Refit it, or "
                f"load it with skquant {saved}.",
                SkquantVersionWarning,
            )
        super().__setstate__(state)

    #: The too-few-colours warning this layer issues (a ConvergenceWarning).
    _fewer_colors_warning = TooFewColorsWarning

    def _settings(self, layout):
        """The checked parameters for data like ``layout`` (the shared table)."""
        return check_params(self.get_params(deep=False), layout.n_channels)

    def _set_fitted(self, fitted):
        self._fitted = fitted
        self.palette_ = fitted.palette
        self.cluster_centers_ = fitted.centers
        self.n_colors_ = len(fitted.palette)
        self.n_iter_ = fitted.n_iter
        self.inertia_ = fitted.inertia
        return self

    def _previous(self):
        """The earlier fit a warm start may begin from (given palettes: none)."""
        return None if self.palette is not None else getattr(self, "_fitted", None)

    # %% fitting ---------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Learn the palette from the pixels of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_pixels, C), (H, W, C) or (N, H, W, C), or list
            Pixels or images; a list pools the pixels of all its images.
        y : None
            Ignored.
        sample_weight : array-like of shape ``X.shape[:-1]``, or list, default=None
            Importance of each pixel (for example to favour faces or the
            centre of an image); a list of arrays for a list of images.

        Returns
        -------
        self : ColorQuantizer
            The fitted quantizer.
        """
        if is_dask_collection(X):
            return _dask.fit(self, X, y, sample_weight)
        return self._fit(check_input(self, X, reset=True), sample_weight)

    def _fit(self, layout, sample_weight, *, flat_weighted=False):
        previous = self._previous() if self.warm_start else None
        self.__dict__.pop("_histogram", None)
        fitted = fit_palette(
            layout,
            self._settings(layout),
            sample_weight,
            previous=previous,
            warning=TooFewColorsWarning,
            flat_weighted=flat_weighted,
        )
        return self._set_fitted(fitted)

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the palette with one more batch of pixels or images.

        Every batch is added to one colour histogram (skquant's only one, see
        :mod:`skquant._histogram`) on a grid fixed by the first batch: the
        dtype's range for uint8/uint16 data, the first batch's range
        otherwise. k-means is re-run on it from the previous palette, so
        indices stay matched from call to call and the result approaches a
        fit on all batches at once. With ``histogram_bins=None`` the
        histogram keeps every distinct colour and its count (exact, but as
        large as the data's palette). Only occupied cells are stored, so a
        pickled model stays small; while the stream has fewer cells than
        colours to learn, where k-means needs the exact colours, it also
        keeps those (at most 65,536), so no batch is forgotten. The
        ``'opencv'`` backend, which takes no weights, draws its points from
        the whole histogram in proportion to the cells' counts (the first
        batch: from its pixels, as :meth:`fit`). For adaptive error
        diffusion from 8 colours up, each batch's pixels are weighted by how
        flat the image is around them, as in :meth:`fit` (Dask collections
        too).

        After :meth:`fit`, the first call continues from what the fit
        learned, as scikit-learn's :class:`~sklearn.cluster.MiniBatchKMeans`
        continues from its centres and their counts: the histogram starts
        from the fitted palette's colours, each weighted by the pixels (their
        count, or summed ``sample_weight``) that k-means assigned to it, so
        the fitted data keeps its weight and the result approaches a fit on
        it and the batches together. On china then flower at K=16 (mean
        CIEDE2000 on china, three seeds): 7.2, against 7.3 for a fit on both
        and 19.5 for a fit on flower alone (this call gave 19.4 when it
        started from the batch alone). A fit keeps only these ``n_colors``
        weights, not its histogram, so its pickle stays small. The fit is
        continued when the data has its channel count, dtype, colour space,
        alpha rule and channel order (the rule of ``warm_start``);
        otherwise, and after a fit on a given ``palette``, the histogram
        starts from the batch alone. :meth:`fit` always starts afresh.

        Parameters
        ----------
        X : array-like of shape (n_pixels, C), (H, W, C) or (N, H, W, C), or list
        y : None
            Ignored.
        sample_weight : array-like of shape ``X.shape[:-1]``, or list, default=None

        Returns
        -------
        self : ColorQuantizer
        """
        if is_dask_collection(X):
            return _dask.partial_fit(self, X, y, sample_weight)
        histogram = getattr(self, "_histogram", None)
        layout = check_input(self, X, reset=histogram is None)
        settings = self._settings(layout)
        if histogram is not None:
            check_dtype_compatible(self._fitted.space.dtype, layout.dtype)
        if settings.palette is not None:
            return self._fit(layout, sample_weight)
        self._histogram, fitted = update_stream(
            histogram,
            self._previous(),
            layout,
            settings,
            sample_weight,
            warning=TooFewColorsWarning,
        )
        return self._set_fitted(fitted)

    # %% mapping -----------------------------------------------------------------

    def _check_mapping_input(self, X):
        check_is_fitted(self)
        return self._fitted.check(check_input(self, X, reset=False))

    def predict(self, X):
        """Index of the nearest palette colour for every pixel.

        Parameters
        ----------
        X : array-like of shape (n_pixels, C), (H, W, C) or (N, H, W, C), or list

        Returns
        -------
        labels : ndarray of shape ``X.shape[:-1]``, dtype int32, or list
            A list of arrays when ``X`` is a list.
        """
        if is_dask_collection(X):
            return _dask.predict(self, X)
        layout = self._check_mapping_input(X)
        return layout.restore(self._fitted.layout_labels(layout))

    def transform(self, X):
        """Replace every pixel by its nearest palette colour.

        Parameters
        ----------
        X : array-like of shape (n_pixels, C), (H, W, C) or (N, H, W, C), or list

        Returns
        -------
        X_new : ndarray of the same shape and dtype as ``X``, or list
            The palette-mapped pixels; ``X`` itself is not modified.
        """
        if is_dask_collection(X):
            return _dask.transform(self, X)
        layout = self._check_mapping_input(X)
        return self._fitted.transform(layout)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the palette on ``X`` and return the labels of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_pixels, C), (H, W, C) or (N, H, W, C), or list
        y : None
            Ignored.

        Returns
        -------
        labels : ndarray of shape ``X.shape[:-1]``, dtype int32, or list
        """
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit the palette on ``X`` and return ``X`` mapped onto it.

        Parameters
        ----------
        X : array-like of shape (n_pixels, C), (H, W, C) or (N, H, W, C), or list
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of the same shape and dtype as ``X``, or list
        """
        if is_dask_collection(X):
            return _dask.transform(_dask.fit(self, X, y, sample_weight), X)
        layout = check_input(self, X, reset=True)
        return self._fit(layout, sample_weight)._fitted.transform(layout)

    def inverse_transform(self, X):
        """Map palette indices back to colours.

        Parameters
        ----------
        X : array-like of int, any shape, or list of such arrays
            Palette indices, for example the output of :meth:`predict`.

        Returns
        -------
        colors : ndarray of shape ``X.shape + (n_channels,)``, or list
            Palette colours in the fitted dtype.
        """
        if is_dask_collection(X):
            return _dask.inverse_transform(self, X)
        check_is_fitted(self)
        palette = self._fitted.palette
        labels = check_labels(X, len(palette))
        if isinstance(labels, list):
            return [palette[lab] for lab in labels]
        return palette[labels]

    def score(self, X, y=None):
        """Negative mean squared error per value of ``X`` after quantization.

        Higher is better, so :class:`~sklearn.model_selection.GridSearchCV`
        and :func:`~sklearn.model_selection.cross_val_score` can use it
        directly. The error is in the input's units, averaged over all
        pixels and channels (for a list, over all images' pixels).

        Parameters
        ----------
        X : array-like of shape (n_pixels, C), (H, W, C) or (N, H, W, C), or list
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        if is_dask_collection(X):
            return _dask.score(self, X)
        layout = self._check_mapping_input(X)
        total, count = self._fitted.squared_error(layout)
        return -total / count
