"""Hostile inputs, memory bounds, large palettes, persistence and determinism.

Every hostile input gets a clear ``ValueError`` or ``TypeError`` that names the
problem (never a ``cv2.error``, a crash or silent garbage), with both
backends, and the caller's arrays are never modified. The memory tests check
that ``transform`` needs a small multiple of the image, whatever ``n_colors``;
``benchmarks/bench_memory.py`` measures the same at 100 megapixels.
"""

import gc
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tracemalloc
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skquant
from skquant import ColorQuantizer, metrics, quantize, select_n_colors
from tests._memory import PeakRSS

BACKENDS = ["sklearn", "opencv"]


@pytest.fixture(scope="module")
def photo(astronaut):
    """A small real photo (64 x 64 RGB uint8)."""
    return np.ascontiguousarray(astronaut[::8, ::8])


@pytest.fixture(scope="module", params=BACKENDS)
def fitted(request, photo):
    """A quantizer fitted on the small photo, one per backend."""
    return ColorQuantizer(8, backend=request.param, random_state=0).fit(photo)


def snapshot(X):
    """Deep copies of the arrays in ``X`` (an array, a list, or other)."""
    if isinstance(X, np.ndarray):
        return X.copy()
    if isinstance(X, (list, tuple)):
        return [snapshot(x) for x in X]
    return X


def assert_unchanged(X, before):
    if isinstance(X, np.ndarray):
        assert X.dtype == before.dtype and X.shape == before.shape
        assert np.array_equal(X, before, equal_nan=X.dtype.kind in "fc")
    elif isinstance(X, (list, tuple)):
        for x, b in zip(X, before, strict=True):
            assert_unchanged(x, b)


def hostile_inputs():
    """(X, exception, message pattern): inputs every entry point must refuse."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    nan = image / 255.0
    nan[2, 3, 1] = np.nan
    inf = image / 255.0
    inf[0, 0, 0] = np.inf
    ninf = image.astype(np.float32)
    ninf[-1, -1, -1] = -np.inf
    huge = image.astype(np.float64)
    huge[1, 1, 1] = 1e200
    huge32 = image.astype(np.float32)
    huge32[1, 1, 1] = -3e38
    huge64 = image.astype(np.int64)
    huge64[0, 1, 2] = 2**62
    strings = np.array([["a", "b", "c"]], dtype=object)
    cases = [
        (nan, ValueError, "NaN", "nan"),
        (inf, ValueError, "infinity", "inf"),
        (ninf, ValueError, "infinity", "-inf float32"),
        (np.zeros((0, 3)), ValueError, r"0 sample\(s\) \(shape=\(0, 3\)\)", "empty"),
        (image[:0], ValueError, r"no pixels \(shape \(0, 5, 3\)\)", "0 rows"),
        (image[:, :, :0], ValueError, r"no pixels \(shape \(6, 5, 0\)\)", "0 chan"),
        (np.zeros((2, 0, 4, 3)), ValueError, r"no pixels", "empty batch"),
        (np.arange(6.0), ValueError, "Expected 2D array, got 1D", "1-D"),
        (np.float64(0.5), ValueError, "got scalar array", "0-D"),
        (np.zeros((1, 2, 2, 2, 3)), ValueError, "X has 5 dimensions", "5-D"),
        (np.zeros((1,) * 7 + (3,)), ValueError, "X has 8 dimensions", "8-D"),
        (strings, ValueError, "could not convert string to float: 'a'", "object"),
        (image.astype(complex), ValueError, "Complex data not supported", "complex"),
        (image > 128, TypeError, "boolean array", "bool"),
        (np.array([["1", "2", "3"]]), ValueError, "strings", "str"),
        (huge, ValueError, r"value of 1e\+200.*2\*\*53", "1e200"),
        (huge32, ValueError, r"value of -3\.0.*e\+38.*2\*\*53", "-3e38 float32"),
        (huge64, ValueError, r"value of 4611686018427387904", "2**62 int64"),
        ([image, np.arange(3)], ValueError, "inhomogeneous", "ragged list"),
        ([image, image / 255.0], ValueError, "share one dtype", "list dtypes"),
        ([image, image[..., :2]], ValueError, r"same number of channels", "list ch"),
        ([image[None]], ValueError, r"X\[0\] has 4 dimensions", "list 4-D"),
        ([image, image[:0]], ValueError, r"X\[1\] has no pixels", "list empty"),
        (None, ValueError, "array=None", "None"),
    ]
    return [pytest.param(X, exc, match, id=name) for X, exc, match, name in cases]


# =============================================================================
# Hostile arrays
# =============================================================================


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("X, exc, match", hostile_inputs())
def test_fit_refuses_hostile_input(backend, X, exc, match):
    before = snapshot(X)
    with pytest.raises(exc, match=match):
        ColorQuantizer(4, backend=backend, random_state=0).fit(X)
    with pytest.raises(exc, match=match):
        quantize(X, 4, backend=backend, random_state=0)
    assert_unchanged(X, before)


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
@pytest.mark.parametrize("X, exc, match", hostile_inputs())
def test_mapping_refuses_hostile_input(fitted, method, X, exc, match):
    before = snapshot(X)
    with pytest.raises(exc, match=match):
        getattr(fitted, method)(X)
    assert_unchanged(X, before)


@pytest.mark.parametrize("X, exc, match", hostile_inputs())
def test_select_n_colors_refuses_hostile_input(X, exc, match):
    with pytest.raises(exc, match=match):
        select_n_colors(X, min_psnr=30, random_state=0)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda p: p[..., :2], r"X has 2 features \(channels\), but ColorQuantizer "),
        (lambda p: np.dstack([p, p]), r"X has 6 features \(channels\)"),
        (lambda p: p.reshape(-1, 3).T, r"X has 4096 features, but ColorQuantizer"),
        (lambda p: p / 255.0, r"X has dtype float64, but the palette was fitted on"),
        (lambda p: p.astype(np.uint16) * 257, r"X has dtype uint16, but the palette"),
        (lambda p: p.astype(np.int64), r"X has dtype int64, but the palette"),
        (lambda p: p.tolist(), r"X has dtype int64, but the palette"),
    ],
    ids=["2 ch", "6 ch", "transposed", "float", "uint16", "int64", "nested list"],
)
def test_mismatch_between_fit_and_transform(fitted, photo, change, match):
    X = change(photo)
    before = snapshot(X)
    for method in ("predict", "transform", "score"):
        with pytest.raises(ValueError, match=match):
            getattr(fitted, method)(X)
    assert_unchanged(X, before)


def test_unfitted_estimator(photo):
    from sklearn.exceptions import NotFittedError

    for method in ("predict", "transform", "score", "inverse_transform"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(ColorQuantizer(), method)(photo)


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.array([-1, 0]), r"\[0, 7\].*from -1 to 0"),
        (np.array([8]), r"\[0, 7\].*from 8 to 8"),
        (np.array([1e300]), r"\[0, 7\].*from 1e\+300 to 1e\+300"),
        (np.array([2**63], dtype=np.uint64), r"from 9223372036854775808"),
        (np.array([0.5]), "integer palette indices, got dtype float64"),
        (np.array([np.nan]), "integer palette indices, got dtype float64"),
        (np.array([True]), "integer palette indices, got dtype bool"),
        (np.array([1], dtype=object), "integer palette indices, got dtype object"),
        ("1", "integer palette indices, got dtype <U1"),
        ([np.array([0]), np.array([[9]])], r"from 9 to 9"),
    ],
    ids=["-1", "8", "1e300", "2**63", "0.5", "nan", "bool", "object", "str", "list"],
)
def test_inverse_transform_refuses_bad_labels(fitted, labels, match):
    before = snapshot(labels)
    with pytest.raises(ValueError, match=match):
        fitted.inverse_transform(labels)
    assert_unchanged(labels, before)


def test_inverse_transform_accepts_whole_floats_and_lists(fitted, photo):
    labels = fitted.predict(photo)
    expected = fitted.transform(photo)
    assert np.array_equal(fitted.inverse_transform(labels.astype(float)), expected)
    assert np.array_equal(fitted.inverse_transform(labels.tolist()), expected)
    assert fitted.inverse_transform(np.array([], dtype=int)).shape == (0, 3)


# =============================================================================
# Parameters
# =============================================================================


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "params, exc, match",
    [
        ({"n_colors": 0}, ValueError, r"n_colors must be >= 1, got n_colors=0"),
        ({"n_colors": -3}, ValueError, r"n_colors must be >= 1, got n_colors=-3"),
        ({"n_colors": 2.5}, TypeError, r"n_colors must be an int, got 2\.5"),
        ({"n_colors": None}, TypeError, "n_colors must be an int, got None"),
        ({"n_colors": "8"}, TypeError, "n_colors must be an int, got '8'"),
        ({"n_colors": True}, TypeError, "n_colors must be an int, got True"),
        ({"sample_size": -5}, ValueError, r"sample_size must be >= 1, got .*=-5"),
        ({"sample_size": 0}, ValueError, r"sample_size must be >= 1, got .*=0"),
        ({"sample_size": 1.5}, TypeError, r"sample_size must be an int, got 1\.5"),
        ({"sample_size": "all"}, TypeError, "sample_size must be an int, got 'all'"),
        ({"histogram_bins": 1}, ValueError, r"histogram_bins must be >= 2, got .*=1"),
        ({"n_init": 0}, ValueError, r"n_init must be >= 1, got n_init=0"),
        ({"max_iter": -1}, ValueError, r"max_iter must be >= 1, got max_iter=-1"),
        ({"tol": -1}, ValueError, r"tol must be a float >= 0, got tol=-1"),
        ({"tol": float("nan")}, ValueError, r"tol must be a float >= 0, got tol=nan"),
        ({"backend": "faiss"}, ValueError, r"backend must be one of .*'faiss'"),
        ({"color_space": "hsv"}, ValueError, r"color_space must be one of .*'hsv'"),
        ({"init": "kmeans"}, ValueError, r"init must be .*got init='kmeans'"),
        ({"init": np.zeros((3, 3))}, ValueError, r"init has shape \(3, 3\), expec"),
        ({"palette": np.zeros((0, 3))}, ValueError, r"palette must have shape"),
        ({"palette": [[300, 0, 0]]}, ValueError, r"palette\[0\]=\[300, 0, 0\]"),
        ({"palette": [[np.nan] * 3]}, ValueError, r"palette must hold finite"),
        ({"fixed_colors": [[1, 2, 3]] * 5}, ValueError, r"holds 5 colours, more"),
        ({"random_state": -1}, ValueError, "Seed must be between 0 and 2"),
    ],
    ids=lambda v: str(v)[:30] if isinstance(v, dict) else "",
)
def test_bad_parameters(photo, backend, params, exc, match):
    params = {"n_colors": 4, "backend": backend, **params}
    before = photo.copy()
    with pytest.raises(exc, match=match):
        ColorQuantizer(**params).fit(photo)
    assert_unchanged(photo, before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_init_is_refused(photo, backend, bad):
    init = np.zeros((4, 3))
    init[2, 1] = bad
    with pytest.raises(ValueError, match=r"init must hold finite"):
        ColorQuantizer(4, backend=backend, init=init).fit(photo)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_four_channel_images_without_a_colour_scale(photo, dtype):
    X = np.dstack([photo, photo[..., :1]]).astype(dtype)
    try:
        q = ColorQuantizer(8, random_state=0).fit(X)
    except ValueError as exc:  # a refusal must say what to do about alpha
        assert "alpha" in str(exc)
    else:
        assert q.transform(X).dtype == dtype


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_colors", [2**16, 10**9])
def test_more_colours_than_the_data_holds(photo, backend, n_colors):
    """K >= distinct colours: the palette is exactly the data, with a warning."""
    n_distinct = len(np.unique(photo.reshape(-1, 3), axis=0))
    with pytest.warns(ConvergenceWarning, match=f"holds {n_distinct} distinct"):
        q = ColorQuantizer(n_colors, backend=backend, random_state=0).fit(photo)
    assert q.n_colors_ == n_distinct < n_colors
    assert np.array_equal(q.transform(photo), photo)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_pixel_and_one_colour(backend):
    for X in (
        np.array([[10, 20, 30]], np.uint8),
        np.zeros((1, 1, 3), np.uint16),
        np.full((7, 9, 3), 0.25, np.float32),
        np.full((2, 3, 4, 1), 7, np.uint8),
    ):
        with pytest.warns(ConvergenceWarning, match="holds 1 distinct"):
            q = ColorQuantizer(5, backend=backend, random_state=0).fit(X)
        assert q.n_colors_ == 1 and q.palette_.dtype == X.dtype
        assert np.array_equal(q.transform(X), X)
        assert not q.predict(X).any()
        assert q.score(X) == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_n_colors_one(photo, backend):
    q = ColorQuantizer(1, backend=backend, random_state=0).fit(photo)
    out = q.transform(photo)
    assert q.n_colors_ == 1
    assert np.array_equal(out, np.broadcast_to(q.palette_[0], photo.shape))
    mean = photo.reshape(-1, 3).mean(axis=0)
    assert np.abs(q.palette_[0].astype(float) - mean).max() <= 1.0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sample_size", [1, 2])
def test_tiny_samples(photo, backend, sample_size):
    with pytest.warns(ConvergenceWarning, match=f"holds {sample_size} distinct"):
        q = ColorQuantizer(
            4, backend=backend, sample_size=sample_size, random_state=0
        ).fit(photo)
    assert q.n_colors_ == sample_size
    # the sampled colours are colours of the photo
    colours = {tuple(c) for c in photo.reshape(-1, 3).tolist()}
    assert {tuple(c) for c in q.palette_.tolist()} <= colours


@pytest.mark.parametrize("backend", BACKENDS)
def test_huge_sample_size_is_every_pixel(photo, backend):
    """sample_size above the pixel count means: no sampling (not an error)."""
    reference = ColorQuantizer(8, backend=backend, sample_size=None, random_state=0)
    reference.fit(photo)
    for sample_size in (photo.shape[0] * photo.shape[1], 10**12, 2**63):
        q = ColorQuantizer(
            8, backend=backend, sample_size=sample_size, random_state=0
        ).fit(photo)
        assert np.array_equal(q.palette_, reference.palette_)


def test_values_near_the_magnitude_limit_still_work():
    X = np.array([[1e15, 0, 0], [0, 0, 0], [5e14, 0, 0], [-1e15, 3, 3]])
    for backend in BACKENDS:
        q = ColorQuantizer(2, backend=backend, random_state=0).fit(X)
        labels = q.predict(X)
        d = ((X[:, None] - q.palette_[None]) ** 2).sum(-1)
        assert np.array_equal(d[np.arange(len(X)), labels], d.min(axis=1))


# =============================================================================
# Layouts that must give the same result as a plain C-contiguous array
# =============================================================================


def layouts(photo):
    readonly = photo.copy()
    readonly.flags.writeable = False
    big = np.zeros((photo.shape[0] * 2, photo.shape[1] * 3, 5), photo.dtype)
    strided = big[::2, ::3, 1:4]
    strided[...] = photo
    return {
        "fortran": np.asfortranarray(photo),
        "read-only": readonly,
        "strided view": strided,
        "reversed": photo[::-1, ::-1][::-1, ::-1],
        "transposed twice": photo.transpose(1, 0, 2).copy().transpose(1, 0, 2),
        "broadcast read-only": np.broadcast_to(photo, (2,) + photo.shape)[1],
        "object of ints": photo.astype(object),
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "name",
    [
        "fortran",
        "read-only",
        "strided view",
        "reversed",
        "transposed twice",
        "broadcast read-only",
        "object of ints",
    ],
)
def test_odd_memory_layouts_give_the_same_result(photo, backend, name):
    X = layouts(photo)[name]
    assert np.array_equal(np.asarray(X, dtype=np.int64), photo)
    before = snapshot(X)
    # object arrays of numbers are converted as scikit-learn does: to float64
    plain = photo.astype(np.float64) if X.dtype == object else photo
    reference = ColorQuantizer(8, backend=backend, random_state=0).fit(plain)
    q = ColorQuantizer(8, backend=backend, random_state=0).fit(X)
    assert q.palette_.dtype == plain.dtype
    assert np.array_equal(q.palette_, reference.palette_)
    expected = reference.transform(plain)
    assert np.array_equal(q.transform(X), expected)
    assert np.array_equal(reference.transform(X), expected)
    assert np.array_equal(reference.predict(X), reference.predict(plain))
    assert reference.score(X) == reference.score(plain)
    assert_unchanged(X, before)


# =============================================================================
# Functions: quantize, select_n_colors, metrics
# =============================================================================


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"min_psnr": 30, "max_colors": 0}, ValueError, r"max_colors must be >= 1"),
        ({"min_psnr": 30, "max_colors": 1.5}, TypeError, r"max_colors must be an"),
        ({"min_psnr": 30, "n_colors": 3}, TypeError, "n_colors is what"),
        ({"min_psnr": 30, "sample_size": -1}, ValueError, r"sample_size must be >="),
        ({}, ValueError, "give a target"),
        ({"max_delta_e": 2, "color_space": "hsv"}, ValueError, r"color_space must"),
    ],
)
def test_select_n_colors_bad_arguments(photo, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        select_n_colors(photo, **kwargs)


def test_select_n_colors_bad_data(photo):
    with pytest.raises(ValueError, match="max_delta_e needs 3-channel RGB data"):
        select_n_colors(photo[..., :2], max_delta_e=2)
    with pytest.raises(ValueError, match="dtype int32 has no colour scale"):
        select_n_colors(photo.astype(np.int32), max_delta_e=2)


@pytest.mark.parametrize(
    "target",
    [
        {"min_psnr": float("nan")},
        {"min_psnr": -1.0},
        {"min_psnr": "30"},
        {"max_delta_e": float("nan")},
        {"max_delta_e": -1.0},
    ],
    ids=str,
)
def test_select_n_colors_refuses_bad_targets(photo, target):
    name = next(iter(target))
    with pytest.raises((ValueError, TypeError), match=name):
        select_n_colors(photo, random_state=0, **target)


METRICS = [
    metrics.peak_signal_noise_ratio,
    metrics.mean_delta_e,
    metrics.structural_similarity,
]


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "true, test, exc, match",
    [
        (np.zeros((0, 3)), np.zeros((0, 3)), ValueError, r"empty \(shape \(0, 3\)\)"),
        (
            np.zeros((8, 8, 3), complex),
            np.zeros((8, 8, 3), complex),
            TypeError,
            "must hold numbers.*complex128",
        ),
        (
            np.zeros((8, 8, 3), bool),
            np.zeros((8, 8, 3), bool),
            TypeError,
            "must hold numbers.*bool",
        ),
        (
            np.zeros((8, 8, 3), object),
            np.zeros((8, 8, 3), object),
            TypeError,
            "must hold numbers.*object",
        ),
        (
            np.zeros((8, 8, 3), np.uint8),
            np.zeros((8, 8, 2), np.uint8),
            ValueError,
            r"same shape, got \(8, 8, 3\) and \(8, 8, 2\)",
        ),
        (
            np.zeros((8, 8, 3), np.uint8),
            np.zeros((8, 8, 3), np.uint16),
            ValueError,
            "dtype uint8 .* dtype uint16",
        ),
        (
            np.zeros((8, 8, 3), np.int32),
            np.zeros((8, 8, 3), np.int32),
            ValueError,
            "Cannot infer data_range .* int32",
        ),
        ([], [], ValueError, "empty lists"),
        ([np.zeros((8, 8, 3))], np.zeros((8, 8, 3)), ValueError, "a list of images"),
    ],
    ids=["empty", "complex", "bool", "object", "shape", "dtypes", "int32", "[]", "mix"],
)
def test_metrics_refuse_bad_images(metric, true, test, exc, match):
    with pytest.raises(exc, match=match):
        metric(true, test)


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("data_range", [0, -1, float("nan"), float("inf"), True])
def test_metrics_refuse_bad_data_range(photo, metric, data_range):
    with pytest.raises(ValueError, match="data_range must be a positive finite"):
        metric(photo, photo, data_range=data_range)


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_metrics_refuse_non_finite_images(photo, metric, bad):
    true = photo / 255.0
    test = true.copy()
    test[3, 4, 1] = bad
    with pytest.raises(ValueError, match="image_test .*(NaN|infinite)"):
        metric(true, test)


# =============================================================================
# Memory: transform needs a small multiple of the image, never (n_pixels, K)
# =============================================================================

#: uint8 RGB(A) with up to 3 channels is mapped through a lookup table of
#: 2**24 int16 (skquant._assign), allocated per call: a fixed 32 MiB.
LUT_BYTES = 2 * 2**24

#: Other fixed costs: the grid of candidate lists, palettes, small buffers.
SLACK = 4 * 2**20


def tile(photo, height, width):
    reps = (-(-height // photo.shape[0]), -(-width // photo.shape[1]), 1)
    return np.ascontiguousarray(np.tile(photo, reps)[:height, :width])


def traced_peak(func, *args):
    """Peak of traced (Python and NumPy) allocations during ``func(*args)``."""
    gc.collect()
    tracemalloc.start()
    try:
        result = func(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


@pytest.mark.parametrize(
    "dtype, n_colors, color_space",
    [
        (np.uint8, 16, "rgb"),
        (np.uint8, 256, "rgb"),
        (np.uint8, 256, "lab"),
        (np.uint16, 256, "rgb"),
        (np.float32, 256, "oklab"),
    ],
)
def test_transform_memory_is_a_small_multiple_of_the_image(
    astronaut, dtype, n_colors, color_space
):
    """Peak traced memory of ``transform`` at 1.1 and 4 megapixels.

    What it really needs: the output (1x the image) and the int32 labels
    (4 / (n_channels * itemsize) x: 1.33x for uint8 RGB), plus fixed costs
    (the uint8 lookup table, grid, chunk buffers). The growth from 1 to 4
    megapixels isolates the per-pixel cost; an (n_pixels, n_colors) float32
    matrix would add 4 * n_colors bytes per pixel (21x to 340x the image).
    """
    scale = {np.uint8: 1, np.uint16: 257, np.float32: 1 / 255}[dtype]
    photo = (astronaut * np.float64(scale)).astype(dtype)
    q = ColorQuantizer(n_colors, color_space=color_space, random_state=0)
    q.fit(photo[::4, ::4])
    # both sizes above _assign.LUT_MIN_PIXELS, so both take the same path
    images = [tile(photo, 1100, 1000), tile(photo, 2000, 2000)]
    # Compiled outside the measurement, at the measured sizes: the search
    # grid is finer for more pixels, and its refinement compiles on first use.
    for image in images:
        q.transform(image)
    peaks = [traced_peak(q.transform, image) for image in images]
    nbytes = [image.nbytes for image in images]
    labels_ratio = 4 / (3 * np.dtype(dtype).itemsize)
    per_pixel = (peaks[1] - peaks[0]) / (nbytes[1] - nbytes[0])
    assert per_pixel <= 1 + labels_ratio + 0.25, per_pixel
    fixed = LUT_BYTES if dtype == np.uint8 else 0
    assert peaks[1] <= (1 + labels_ratio + 0.25) * nbytes[1] + fixed + SLACK

    # Allocations that tracemalloc does not see (numba, OpenCV): the resident
    # high-water mark must grow by a small multiple of the image too.
    with PeakRSS() as rss:
        out = q.transform(images[1])
    if rss.enabled:
        grown = rss.grown
        assert grown <= 3 * nbytes[1] + fixed + 4 * SLACK, grown / nbytes[1]
    del out


def test_predict_and_score_memory(astronaut):
    photo = tile(astronaut, 2000, 2000)
    q = ColorQuantizer(256, random_state=0).fit(astronaut[::4, ::4])
    q.predict(photo)  # compiled outside the measurement, at its size
    q.score(photo)
    labels_bytes = 4 * 2000 * 2000
    assert traced_peak(q.predict, photo) <= labels_bytes + LUT_BYTES + SLACK
    # score works on chunks of 2**18 pixels: a few float64 copies of one chunk
    chunk_float64 = 2**18 * 3 * 8
    assert traced_peak(q.score, photo) <= 4 * chunk_float64 + LUT_BYTES + SLACK


# =============================================================================
# Large palettes on 16-bit data
# =============================================================================


@pytest.fixture(scope="module")
def noisy16(astronaut):
    """A 16-bit photo: 8-bit values scaled to 16 bits plus Gaussian noise."""
    rng = np.random.default_rng(0)
    photo = astronaut[::4, ::4].astype(np.float64) * 257
    return np.clip(photo + rng.normal(0, 300, photo.shape), 0, 65535).astype(np.uint16)


def assert_nearest(q, X, n_check=3000, seed=0):
    """Every checked label is the brute-force nearest palette entry."""
    pixels = X.reshape(-1, X.shape[-1])
    labels = q.predict(X).ravel()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(pixels), min(n_check, len(pixels)), replace=False)
    palette = q.palette_.astype(np.float64)
    for start in range(0, len(idx), 64):  # (64, n_colors, 3) at a time
        chunk = idx[start : start + 64]
        d2 = ((pixels[chunk, None, :] - palette[None]) ** 2).sum(-1)
        assert np.array_equal(d2[np.arange(len(chunk)), labels[chunk]], d2.min(1))
    out = q.transform(X)
    assert out.dtype == X.dtype
    assert np.array_equal(out.reshape(-1, X.shape[-1]), q.palette_[labels])


def test_4096_colours_on_16_bit_data(noisy16):
    q = ColorQuantizer(4096, random_state=0, max_iter=10).fit(noisy16)
    assert q.n_colors_ == 4096 and q.palette_.dtype == np.uint16
    assert len(np.unique(q.palette_, axis=0)) == 4096
    assert_nearest(q, noisy16)


def test_16384_colours_on_16_bit_data(astronaut):
    """K=16384 from given initial centres (k-means++ at this K takes minutes,
    see benchmarks/bench_memory.py); the mapping is checked in full."""
    rng = np.random.default_rng(0)
    photo = astronaut[::3, ::3].astype(np.float64) * 257
    noisy16 = np.clip(photo + rng.normal(0, 300, photo.shape), 0, 65535)
    noisy16 = noisy16.astype(np.uint16)
    distinct = np.unique(noisy16.reshape(-1, 3), axis=0)
    init = distinct[rng.choice(len(distinct), 16384, replace=False)]
    q = ColorQuantizer(16384, init=init, max_iter=1)
    with warnings.catch_warnings():
        # one Lloyd step may leave a cluster empty; the palette stays distinct
        warnings.simplefilter("ignore", ConvergenceWarning)
        q.fit(noisy16)
    assert q.n_colors_ == 16384 and len(np.unique(q.palette_, axis=0)) == 16384
    assert_nearest(q, noisy16)


# =============================================================================
# Persistence
# =============================================================================


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("color_space", ["rgb", "lab"])
def test_pickle_and_joblib_round_trips(tmp_path, photo, china, backend, color_space):
    q = ColorQuantizer(12, backend=backend, color_space=color_space, random_state=0)
    q.fit(photo)
    other = china[::8, ::8]
    expected = q.transform(other), q.predict(other)
    copies = [pickle.loads(pickle.dumps(q, protocol=p)) for p in (2, 5)]
    joblib.dump(q, tmp_path / "q.joblib", compress=3)
    copies.append(joblib.load(tmp_path / "q.joblib"))
    buffer = io.BytesIO()
    joblib.dump(q, buffer)
    buffer.seek(0)
    copies.append(joblib.load(buffer))
    for copy in copies:
        assert np.array_equal(copy.palette_, q.palette_)
        assert copy.palette_.dtype == q.palette_.dtype
        assert copy.get_params() == q.get_params()
        assert np.array_equal(copy.transform(other), expected[0])
        assert np.array_equal(copy.predict(other), expected[1])
        # still fits: a refit of the copy gives the same palette
        assert np.array_equal(copy.fit(photo).palette_, q.palette_)


def test_loading_a_model_from_another_version_warns(photo):
    if "__setstate__" not in vars(ColorQuantizer):
        pytest.skip("ColorQuantizer.__setstate__ (the version warning) not there")
    q = ColorQuantizer(4, random_state=0).fit(photo)
    state = q.__getstate__()
    assert state["_skquant_version"] == skquant.__version__
    state["_skquant_version"] = "0.0.1"
    loaded = ColorQuantizer.__new__(ColorQuantizer)
    pattern = rf"0\.0\.1.*{skquant.__version__.replace('.', '[.]')}"
    with pytest.warns(Warning, match=pattern) as caught:
        loaded.__setstate__(state)
    assert caught[0].filename == __file__  # the caller's line
    assert np.array_equal(loaded.transform(photo), q.transform(photo))
    # the same version loads silently (warnings are errors here)
    pickle.loads(pickle.dumps(q))


# =============================================================================
# Determinism
# =============================================================================


def fingerprint(china, flower, backend):
    """sha256 of the palettes and outputs of a few fits with a fixed seed."""
    digest = hashlib.sha256()
    for params in (
        {"n_colors": 16},
        {"n_colors": 7, "color_space": "lab"},
        {"n_colors": 32, "sample_size": 5000, "n_init": 2},
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            q = ColorQuantizer(backend=backend, random_state=3, **params).fit(china)
        for array in (q.palette_, q.transform(flower), q.predict(china)):
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


FINGERPRINT_SCRIPT = """
import sys
from sklearn.datasets import load_sample_image
from tests.test_robustness import fingerprint
china = load_sample_image("china.jpg")[::3, ::3]
flower = load_sample_image("flower.jpg")[::3, ::3]
print(fingerprint(china, flower, "sklearn"), fingerprint(china, flower, "opencv"))
"""


def test_same_seed_gives_byte_identical_results(china, flower):
    china, flower = china[::3, ::3], flower[::3, ::3]
    here = [fingerprint(china, flower, backend) for backend in BACKENDS]
    again = [fingerprint(china, flower, backend) for backend in BACKENDS]
    assert here == again
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONHASHSEED="123")
    fresh = subprocess.run(
        [sys.executable, "-c", FINGERPRINT_SCRIPT],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert fresh.stdout.split() == here
