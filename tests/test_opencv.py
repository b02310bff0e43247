"""The OpenCV backend: one ``cv2.kmeans`` call per attempt, seeded by skquant."""

import cv2
import numpy as np
import pytest
from sklearn.datasets import load_sample_image

import skquant._opencv as opencv_backend
from skquant import ColorQuantizer
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
