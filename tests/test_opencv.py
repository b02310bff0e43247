"""The OpenCV backend: one ``cv2.kmeans`` call per attempt, seeded by skquant."""

import warnings

import cv2
import numpy as np
import pytest
from sklearn.datasets import load_sample_image

import skquant._engine._learn as learn
import skquant._kmeans as kmeans_module
import skquant._opencv as opencv_backend
from skquant import ColorQuantizer
from skquant._histogram import pool
from skquant._quantizer import TooFewColorsWarning
from skquant.metrics import peak_signal_noise_ratio


@pytest.fixture(scope="module")
def china():
    return load_sample_image("china.jpg")[::2, ::2]


@pytest.fixture
def kmeans_calls(monkeypatch):
    """Record the arguments of every cv2.kmeans call the backend makes."""
    calls = []
    real = cv2.kmeans

    def recording(data, k, labels, criteria, attempts, flags):
        calls.append({"criteria": criteria, "attempts": attempts, "flags": flags})
        return real(data, k, labels, criteria, attempts, flags)

    monkeypatch.setattr(opencv_backend.cv2, "kmeans", recording)
    return calls


@pytest.mark.parametrize("n_init", [1, 3])
def test_one_call_per_attempt_with_the_users_criteria(china, kmeans_calls, n_init):
    est = ColorQuantizer(
        16, backend="opencv", n_init=n_init, max_iter=50, tol=1e-3, random_state=0
    ).fit(china)
    assert len(kmeans_calls) == n_init
    pixels = china.reshape(-1, 3).astype(np.float64)
    epsilon = np.sqrt(1e-3 * np.mean(np.var(pixels, axis=0)))
    for call in kmeans_calls:
        kind, count, eps = call["criteria"]
        assert kind == cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS
        assert count == 50
        assert eps == pytest.approx(epsilon, rel=1e-5)
        assert call["attempts"] == 1
        assert call["flags"] == cv2.KMEANS_USE_INITIAL_LABELS
    # OpenCV does not report its iterations: n_iter_ is the bound it was given
    assert est.n_iter_ == 50


def test_tol_zero_is_epsilon_zero_and_n_iter_at_least_two(china, kmeans_calls):
    est = ColorQuantizer(8, backend="opencv", max_iter=1, tol=0.0, random_state=0).fit(
        china
    )
    assert kmeans_calls[0]["criteria"][1:] == (1, 0.0)
    assert est.n_iter_ == 2  # OpenCV runs at least 2 iterations


def test_same_random_state_same_palette_whatever_opencvs_rng(china):
    def fit():
        return (
            ColorQuantizer(16, backend="opencv", n_init=2, random_state=7)
            .fit(china)
            .palette_
        )

    cv2.setRNGSeed(1)
    first = fit()
    cv2.setRNGSeed(12345)
    np.testing.assert_array_equal(first, fit())


def test_as_good_as_a_raw_cv2_kmeans_call(china):
    """Against OpenCV's own k-means++ with the same criteria and attempts."""
    pixels = china.reshape(-1, 3)
    data = pixels.astype(np.float32)
    criteria = opencv_backend.opencv_criteria(300, 1e-4, data)
    ours, theirs = [], []
    for seed in range(3):
        est = ColorQuantizer(
            16, backend="opencv", n_init=2, sample_size=None, random_state=seed
        ).fit(china)
        ours.append(peak_signal_noise_ratio(china, est.transform(china)))
        cv2.setRNGSeed(seed)
        _, labels, centers = cv2.kmeans(
            data, 16, None, criteria, 2, cv2.KMEANS_PP_CENTERS
        )
        mapped = np.clip(np.rint(centers), 0, 255).astype(np.uint8)[labels.ravel()]
        theirs.append(peak_signal_noise_ratio(pixels, mapped))
    assert np.mean(ours) >= np.mean(theirs) - 0.15


def test_best_attempt_has_the_lowest_compactness(china):
    one = ColorQuantizer(16, backend="opencv", n_init=1, random_state=3).fit(china)
    five = ColorQuantizer(16, backend="opencv", n_init=5, random_state=3).fit(china)
    # the first attempt of five is the single attempt: five can only do better
    assert five.inertia_ <= one.inertia_


# %% what the fit does besides cv2.kmeans --------------------------------------


def test_mean_variance_is_numpys():
    rng = np.random.default_rng(0)
    for data in (
        rng.integers(0, 256, (5000, 3)).astype(np.uint8),
        rng.normal(100, 30, (4999, 4)).astype(np.float32),
        rng.normal(0, 1e3, (7, 1)),
    ):
        expected = np.mean(np.var(data, axis=0, dtype=np.float64))
        assert opencv_backend.mean_variance(data) == pytest.approx(expected, rel=1e-12)
    assert opencv_backend.mean_variance(np.full((10, 3), 7.0, np.float32)) == 0.0


def _pooled_path(monkeypatch):
    """Make the fit pool every image, as before the probe existed."""
    monkeypatch.setattr(learn, "_more_cells_than", lambda *args: False)


def _images():
    rng = np.random.default_rng(1)
    china = load_sample_image("china.jpg")
    colours = rng.integers(0, 256, (20, 3)).astype(np.uint8)
    few = colours[rng.integers(0, 20, (200, 200))]
    # 20 clusters of up to 8 colours each: few histogram cells, many colours
    noisy = np.clip(few + rng.integers(0, 2, few.shape), 0, 255).astype(np.uint8)
    return {
        "china": china,
        "few": few,
        "noisy": noisy,
        "float": china[::2, ::2].astype(np.float32) / 255,
    }


@pytest.mark.parametrize("name", ["china", "few", "noisy", "float"])
@pytest.mark.parametrize("n_colors", [16, 32])
def test_probing_for_colours_gives_the_pooled_fits_palette(monkeypatch, name, n_colors):
    """Without the full histogram, the fit is the one that pooled it."""
    image = _images()[name]
    weights = np.random.default_rng(2).random(image.shape[:2])
    weights[: len(weights) // 3] = 0  # no weight: left out of the probe

    def fits():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TooFewColorsWarning)
            return [
                ColorQuantizer(n_colors, backend="opencv", random_state=3, **kw)
                .fit(image, sample_weight=w)
                .palette_
                for kw, w in (({}, None), ({"sample_size": None}, None), ({}, weights))
            ]

    probed = fits()
    _pooled_path(monkeypatch)
    for ours, pooled in zip(probed, fits(), strict=True):
        np.testing.assert_array_equal(ours, pooled)


def test_fewer_colours_than_n_colors_still_found(monkeypatch):
    image = _images()["few"]  # 20 colours, 40 000 pixels: pooled
    pooled = []
    real_pool = learn.pool
    monkeypatch.setattr(
        learn, "pool", lambda *a, **k: pooled.append(1) or real_pool(*a, **k)
    )
    with pytest.warns(TooFewColorsWarning, match="20 distinct colours"):
        est = ColorQuantizer(32, backend="opencv", random_state=0).fit(image)
    assert pooled  # the probe cannot tell: the histogram decides
    expected = np.unique(image.reshape(-1, 3), axis=0)
    np.testing.assert_array_equal(np.unique(est.palette_, axis=0), expected)
    # exactly as many colours as n_colors: the palette is those colours
    est = ColorQuantizer(20, backend="opencv", random_state=0).fit(image)
    np.testing.assert_array_equal(np.unique(est.palette_, axis=0), expected)


def test_a_photo_is_not_pooled(monkeypatch, china):
    def no_pool(*args, **kwargs):
        raise AssertionError("the opencv backend pooled a photo")

    monkeypatch.setattr(learn, "pool", no_pool)
    est = ColorQuantizer(64, backend="opencv", random_state=0).fit(china)
    assert len(est.palette_) == 64


@pytest.mark.parametrize("name", ["china", "few", "noisy", "float"])
@pytest.mark.parametrize("n_cells", [1, 16, 19, 20, 64, 300])
def test_more_cells_than_is_never_wrong(name, n_cells):
    pixels = _images()[name].reshape(-1, 3)
    weights = np.random.default_rng(4).random(len(pixels))
    weights[::3] = 0
    for w in (None, weights):
        occupied = len(pool(pixels, w, bins=64).codes)
        if learn._more_cells_than(n_cells, pixels, w, 64):
            assert occupied > n_cells
    # a photo shows its many cells in the probe
    if name == "china" and n_cells <= 300:
        assert learn._more_cells_than(n_cells, pixels, None, 64)


def test_no_thread_limits_around_cv2(monkeypatch, china):
    """threadpool_limits costs 10 ms and does not reach OpenCV's threads."""

    def no_limits(*args, **kwargs):
        raise AssertionError("threadpool_limits around cv2.kmeans")

    monkeypatch.setattr(kmeans_module, "threadpool_limits", no_limits)
    ColorQuantizer(16, backend="opencv", random_state=0).fit(china)


def test_pixels_without_weight_are_not_probed(china):
    """A photo where only one flat region has weight: one occupied cell."""
    pixels = china.reshape(-1, 3).copy()
    weights = np.zeros(len(pixels))
    weights[:1000] = 1.0
    pixels[:1000] = (10, 200, 30)
    assert len(pool(pixels, weights, bins=64).codes) == 1
    assert not learn._more_cells_than(4, pixels, weights, 64)
    assert learn._more_cells_than(4, pixels, None, 64)
    with pytest.warns(TooFewColorsWarning, match="holds 1 distinct colours"):
        est = ColorQuantizer(4, backend="opencv", random_state=0).fit(
            pixels.reshape(china.shape), sample_weight=weights.reshape(china.shape[:2])
        )
    np.testing.assert_array_equal(est.palette_, [[10, 200, 30]])


def test_randint_calls_continue_one_stream():
    """What sorted_sample_indices relies on to draw its prefix in pieces."""
    whole = np.random.RandomState(5).randint(12_000_000, size=1000)
    rng = np.random.RandomState(5)
    parts = [rng.randint(12_000_000, size=n) for n in (600, 1, 399)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize(
    "n_population, n_samples",
    [
        (12_000_000, 100_000),  # the OpenCV backend's default sample of 12 MP
        (2_000_000, 20_000),  # exactly 1 %: still the tracking selection
        (100_000, 900),
        (1000, 5),
        (100_000, 1001),  # a permutation
        (1000, 300),  # reservoir
        (50, 50),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 42])
def test_sorted_sample_indices(n_population, n_samples, seed):
    a, b = np.random.RandomState(seed), np.random.RandomState(seed)
    expected = np.sort(learn.sample_indices(n_population, n_samples, a))
    ours = learn.sorted_sample_indices(n_population, n_samples, b)
    np.testing.assert_array_equal(ours, expected)
    assert ours.dtype == expected.dtype
    # the stream continues from the same place
    assert a.randint(1 << 30) == b.randint(1 << 30)
