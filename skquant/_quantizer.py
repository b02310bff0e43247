"""ColorQuantizer: k-means colour quantization as a scikit-learn transformer."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from skquant import _color
from skquant._assign import assign_labels
from skquant._histogram import distinct_colors, pool_pixels
from skquant._image import (
    check_dtype_compatible,
    check_input,
    check_labels,
    check_positive_int,
    full_scale,
    to_dtype,
    working_float,
)
from skquant._opencv import kmeans_opencv

BACKENDS = ("sklearn", "opencv")

#: Pixels drawn by ``sample_size='auto'`` for backends that take no weights.
AUTO_SAMPLE_SIZE = 100_000

#: Below this many pixels, pooling into a histogram saves nothing.
MIN_PIXELS_TO_POOL = 1 << 14

#: Up to this many points, KMeans runs on one OpenMP thread (see _cluster).
SMALL_FIT_POINTS = 200_000


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
    color_space : {'rgb', 'lab', 'oklab'}, default='rgb'
        Space in which colours are clustered and compared. ``'rgb'`` works on
        the values as given, for any number of channels; ``'lab'`` (CIELAB,
        D65) and ``'oklab'`` need 3-channel sRGB data (uint8, uint16, or float
        in [0, 1]).
    sample_size : int, None or 'auto', default='auto'
        Pixels drawn at random to fit on. ``None`` uses every pixel. ``'auto'``
        uses every pixel with the ``'sklearn'`` backend (pooled into a
        histogram, see ``histogram_bins``) and 100,000 random pixels with
        ``'opencv'``, which takes no weights.
    histogram_bins : int or None, default=64
        With the ``'sklearn'`` backend, pixels are pooled into a colour
        histogram with this many cells per channel (for 3 channels; other
        channel counts get the same cell budget) and k-means runs on the cell
        means weighted by their counts. ``None`` clusters the pixels
        themselves. Ignored by ``'opencv'``.
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
        distinct colours and no k-means was needed).
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
    every attempt itself (k-means++ from :func:`sklearn.cluster.kmeans_plusplus`
    turned into initial labels with ``cv2.KMEANS_USE_INITIAL_LABELS``), so
    ``random_state`` makes OpenCV fits reproducible too.

    When the data holds fewer distinct colours than ``n_colors``, the palette
    is exactly those colours, ``n_colors_`` says how many, and a
    :class:`~sklearn.exceptions.ConvergenceWarning` is issued.

    References
    ----------
    .. [1] OpenCV tutorial, "K-Means Clustering in OpenCV", colour quantization.
    .. [2] scikit-learn example, "Color Quantization using K-Means".

    Examples
    --------
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
        sample_size="auto",
        histogram_bins=64,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        random_state=None,
    ):
        self.n_colors = n_colors
        self.backend = backend
        self.color_space = color_space
        self.sample_size = sample_size
        self.histogram_bins = histogram_bins
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # %% sklearn plumbing ----------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = [
            "float64",
            "float32",
            "uint8",
            "uint16",
        ]
        return tags

    # %% parameter checks ----------------------------------------------------

    def _check_params(self, n_channels):
        check_positive_int(self.n_colors, "n_colors")
        if self.backend not in BACKENDS:
            raise ValueError(
                f"backend must be one of {BACKENDS}, got backend={self.backend!r}."
            )
        if self.color_space not in _color.COLOR_SPACES:
            raise ValueError(
                f"color_space must be one of {_color.COLOR_SPACES}, got "
                f"color_space={self.color_space!r}."
            )
        if self.color_space != "rgb" and n_channels != 3:
            raise ValueError(
                f"color_space={self.color_space!r} needs 3-channel RGB data, got "
                f"{n_channels} channels; use color_space='rgb' for other data."
            )
        if not (self.sample_size is None or self.sample_size == "auto"):
            check_positive_int(self.sample_size, "sample_size")
        if self.histogram_bins is not None:
            check_positive_int(self.histogram_bins, "histogram_bins", min_value=2)
        if not (isinstance(self.init, str) and self.init in ("k-means++", "random")):
            if isinstance(self.init, str):
                raise ValueError(
                    "init must be 'k-means++', 'random' or an array of shape "
                    f"(n_colors, n_channels), got init={self.init!r}."
                )
            init = np.asarray(self.init, dtype=np.float64)
            if init.shape != (self.n_colors, n_channels):
                raise ValueError(
                    f"init has shape {init.shape}, expected "
                    f"(n_colors, n_channels)=({self.n_colors}, {n_channels})."
                )
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.max_iter, "max_iter")
        if (
            isinstance(self.tol, bool)
            or not isinstance(self.tol, numbers.Real)
            or not self.tol >= 0
        ):
            raise ValueError(f"tol must be a float >= 0, got tol={self.tol!r}.")

    # %% colour conversion -----------------------------------------------------

    def _to_working(self, pixels, dtype=None):
        """Pixels in the input's units -> working space floats."""
        dtype = np.dtype(dtype if dtype is not None else self._work_dtype)
        if self.color_space == "rgb":
            return pixels.astype(dtype, copy=False)
        scale = full_scale(self._fit_dtype)
        rgb = pixels.astype(dtype) if scale == 1.0 else pixels / dtype.type(scale)
        return _color.to_working(rgb.astype(dtype, copy=False), self.color_space)

    def _from_working(self, values):
        """Working space -> input units, as float64."""
        if self.color_space == "rgb":
            return np.asarray(values, dtype=np.float64)
        rgb = _color.from_working(np.asarray(values, np.float64), self.color_space)
        return np.clip(rgb, 0.0, 1.0) * full_scale(self._fit_dtype)

    # %% fitting ---------------------------------------------------------------

    def fit(self, X, y=None):
        """Learn the palette from the pixels of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_pixels, n_channels), (H, W, C) or \
                (N, H, W, C), or list of such arrays
            Pixels or images; a list pools the pixels of all its images.
        y : None
            Ignored.

        Returns
        -------
        self : ColorQuantizer
            The fitted quantizer.
        """
        return self._fit(check_input(self, X, reset=True))

    def _fit(self, layout):
        self._check_params(layout.n_channels)
        self._fit_dtype = layout.dtype
        self._work_dtype = working_float(layout.dtype)
        if self.color_space != "rgb":
            full_scale(layout.dtype)  # raises for dtypes without a colour scale
        rng = check_random_state(self.random_state)

        pixels = layout.pixels()
        sample_size = self.sample_size
        if sample_size == "auto":
            sample_size = None if self.backend == "sklearn" else AUTO_SAMPLE_SIZE
        if sample_size is not None and sample_size < pixels.shape[0]:
            idx = sample_without_replacement(
                pixels.shape[0], sample_size, random_state=rng
            )
            pixels = pixels[np.sort(idx)]

        points, weights = self._fit_points(pixels)
        centers_work, counts, n_iter, inertia = self._cluster(points, weights, rng)

        order = np.argsort(-counts, kind="stable")
        centers = self._from_working(centers_work[order])
        self.cluster_centers_ = centers
        self.palette_ = to_dtype(centers, layout.dtype)
        self.n_colors_ = len(self.palette_)
        self.n_iter_ = n_iter
        self.inertia_ = inertia
        self._palette_work = self._to_working(self.palette_)
        return self

    def _fit_points(self, pixels):
        """The points k-means runs on, with their weights (or None)."""
        pool = (
            self.backend == "sklearn"
            and self.histogram_bins is not None
            and pixels.shape[0] >= MIN_PIXELS_TO_POOL
        )
        exact = None
        if pool:
            points, weights, exact = pool_pixels(pixels, bins=self.histogram_bins)
            if not exact and len(points) < self.n_colors:
                # Fewer cells than colours: look at the true distinct colours.
                points, weights = distinct_colors(pixels)
                exact = True
        else:
            points, weights = pixels, None
            if pixels.shape[0] <= (1 << 20):
                unique, counts = distinct_colors(pixels)
                if len(unique) <= self.n_colors:
                    points, weights, exact = unique, counts, True
        return self._to_working(np.asarray(points)), weights

    def _cluster(self, points, weights, rng):
        """k-means on working-space points -> (centres, counts, n_iter, inertia)."""
        n_points = points.shape[0]
        if (
            weights is not None
            and n_points <= self.n_colors
            and (
                self.sample_size is None
                or self.sample_size == "auto"
                or n_points == len(np.unique(points, axis=0))
            )
        ):
            if n_points < self.n_colors:
                warnings.warn(
                    f"The data holds {n_points} distinct colours, fewer than "
                    f"n_colors={self.n_colors}; the palette is exactly those "
                    f"colours (n_colors_={n_points}).",
                    ConvergenceWarning,
                    stacklevel=3,
                )
            return points.astype(np.float64), weights, 0, 0.0

        init = self.init
        if not isinstance(init, str):
            init = self._to_working(np.asarray(init, dtype=self._fit_dtype))
        if self.backend == "opencv":
            centers, labels, inertia, n_iter = kmeans_opencv(
                points,
                self.n_colors,
                init=init,
                n_init=self.n_init,
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=rng,
            )
            counts = np.bincount(labels, minlength=self.n_colors).astype(np.float64)
            return centers, counts, n_iter, inertia

        km = KMeans(
            n_clusters=self.n_colors,
            init=init,
            n_init=self.n_init if isinstance(init, str) else 1,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=rng.randint(np.iinfo(np.int32).max),
        )
        if n_points <= SMALL_FIT_POINTS:
            # KMeans' OpenMP barriers cost more than they save on a pooled
            # histogram, ten times more on a busy machine: one thread it is.
            with threadpool_limits(limits=1, user_api="openmp"):
                km.fit(points, sample_weight=weights)
        else:
            km.fit(points, sample_weight=weights)
        counts = np.bincount(
            km.labels_, weights=weights, minlength=self.n_colors
        ).astype(np.float64)
        return km.cluster_centers_.astype(np.float64), counts, km.n_iter_, km.inertia_

    # %% mapping -----------------------------------------------------------------

    def _labels(self, pixels):
        """Nearest palette index of each pixel of a validated block."""
        scale = 1.0 if self.color_space == "rgb" else full_scale(self._fit_dtype)
        return assign_labels(
            pixels, self._palette_work, space=self.color_space, scale=scale
        )

    def _check_mapping_input(self, X):
        check_is_fitted(self)
        layout = check_input(self, X, reset=False)
        check_dtype_compatible(self._fit_dtype, layout.dtype)
        return layout

    def predict(self, X):
        """Index of the nearest palette colour for every pixel.

        Parameters
        ----------
        X : array-like of shape (n_pixels, n_channels), (H, W, C) or \
                (N, H, W, C), or list of such arrays

        Returns
        -------
        labels : ndarray of shape ``X.shape[:-1]``, dtype int32, or list
            A list of arrays when ``X`` is a list.
        """
        layout = self._check_mapping_input(X)
        return layout.restore([self._labels(b) for b in layout.blocks()])

    def transform(self, X):
        """Replace every pixel by its nearest palette colour.

        Parameters
        ----------
        X : array-like of shape (n_pixels, n_channels), (H, W, C) or \
                (N, H, W, C), or list of such arrays

        Returns
        -------
        X_new : ndarray of the same shape and dtype as ``X``, or list
            The palette-mapped pixels; ``X`` itself is not modified.
        """
        layout = self._check_mapping_input(X)
        return self._transform(layout)

    def _transform(self, layout):
        palette = self.palette_.astype(layout.dtype, copy=False)
        return layout.restore(
            [palette[self._labels(b)] for b in layout.blocks()],
            per_pixel_shape=(layout.n_channels,),
        )

    def fit_predict(self, X, y=None):
        """Fit the palette on ``X`` and return the labels of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_pixels, n_channels), (H, W, C) or \
                (N, H, W, C), or list of such arrays
        y : None
            Ignored.

        Returns
        -------
        labels : ndarray of shape ``X.shape[:-1]``, dtype int32, or list
        """
        return self.fit(X).predict(X)

    def fit_transform(self, X, y=None):
        """Fit the palette on ``X`` and return ``X`` mapped onto it.

        Parameters
        ----------
        X : array-like of shape (n_pixels, n_channels), (H, W, C) or \
                (N, H, W, C), or list of such arrays
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of the same shape and dtype as ``X``, or list
        """
        layout = check_input(self, X, reset=True)
        return self._fit(layout)._transform(layout)

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
        check_is_fitted(self)
        labels = check_labels(X, self.n_colors_)
        if isinstance(labels, list):
            return [self.palette_[lab] for lab in labels]
        return self.palette_[labels]

    def score(self, X, y=None):
        """Negative mean squared error per value of ``X`` after quantization.

        Higher is better, so :class:`~sklearn.model_selection.GridSearchCV`
        and :func:`~sklearn.model_selection.cross_val_score` can use it
        directly. The error is in the input's units, averaged over all
        pixels and channels (for a list, over all images' pixels).

        Parameters
        ----------
        X : array-like of shape (n_pixels, n_channels), (H, W, C) or \
                (N, H, W, C), or list of such arrays
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        layout = self._check_mapping_input(X)
        total, count = 0.0, 0
        for block in layout.blocks():
            for start in range(0, block.shape[0], 1 << 18):
                chunk = block[start : start + (1 << 18)]
                mapped = self.palette_[self._labels(chunk)].astype(np.float64)
                total += float(np.sum((chunk.astype(np.float64) - mapped) ** 2))
                count += chunk.size
        return -total / count


def quantize(image, n_colors=16, **params):
    """Quantize an image to ``n_colors`` colours in one call.

    Parameters
    ----------
    image : array-like of shape (H, W, C), (N, H, W, C) or (n_pixels, C), \
            or list of such arrays
        What :class:`ColorQuantizer` accepts.
    n_colors : int, default=16
        Number of colours.
    **params
        Other :class:`ColorQuantizer` parameters (``random_state``, ...).

    Returns
    -------
    quantized : ndarray of the same shape and dtype as ``image``, or list

    See Also
    --------
    ColorQuantizer : The estimator, to reuse a palette on other images.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from skquant import quantize
    >>> image = data.astronaut()
    >>> small = quantize(image, 4, random_state=0)
    >>> small.shape, small.dtype, len(np.unique(small.reshape(-1, 3), axis=0))
    ((512, 512, 3), dtype('uint8'), 4)
    """
    return ColorQuantizer(n_colors, **params).fit_transform(image)
