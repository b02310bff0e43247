"""What k-means runs on (skquant._engine._learn.fit_points)."""

import numpy as np
import pytest

from skquant._engine import check_params, check_random_state, fit_points
from skquant._histogram import pool_pixels


def points_for(pixels, weights=None, **params):
    settings = check_params({"random_state": 0, **params}, pixels.shape[1])
    return fit_points(pixels, weights, settings, 16, check_random_state(0))


@pytest.mark.parametrize("weighted", [False, True])
def test_without_bins_nothing_is_pooled_in_cells(china, weighted):
    # histogram_bins=None became 64 bins for weighted fits over 1 MP
    pixels = np.tile(china, (4, 1, 1)).reshape(-1, 3)
    assert len(pixels) > 1 << 20
    weights = np.linspace(0.5, 1.5, len(pixels)) if weighted else None
    points = points_for(pixels, weights, histogram_bins=None)
    assert len(points.points) == len(pixels) and not points.exact
    pooled = points_for(pixels, weights)
    assert len(pooled.points) == len(pool_pixels(pixels)[0])


def test_weighted_fits_pool_with_their_weights(china):
    pixels = china.reshape(-1, 3)
    weights = np.random.default_rng(0).random(len(pixels))
    points = points_for(pixels, weights)
    expected = pool_pixels(pixels, weights=weights)
    np.testing.assert_allclose(points.points, expected[0])
    np.testing.assert_allclose(points.weights, expected[1])
    assert points.weights.sum() == pytest.approx(weights.sum())


def test_sampled_points_say_so(china):
    points = points_for(china.reshape(-1, 3), sample_size=500)
    assert points.sampled == 500 and points.n_pixels == china.shape[0] * china.shape[1]
    assert points.describe(500).startswith("The sample of 500 pixels")


@pytest.mark.parametrize("n_channels", [3, 4])
def test_coarse_groups_are_cells_of_a_twice_coarser_grid(photos, n_channels):
    from skquant._histogram import pool

    for photo in photos:
        pixels = photo.reshape(-1, 3)
        if n_channels == 4:
            pixels = np.column_stack([pixels, pixels[:, 0] // 2 + pixels[:, 1] // 2])
        hist = pool(pixels)
        groups = hist.coarse_groups()
        cells = np.stack(
            np.unravel_index(hist.codes, (hist.grid.per_channel,) * n_channels), 1
        )
        _, expected = np.unique(cells // 2, axis=0, return_inverse=True)
        np.testing.assert_array_equal(groups, expected.ravel())
        assert groups.max() + 1 < len(hist.codes) / 2


def test_coarse_start_is_used_and_keeps_quality(photos, monkeypatch):
    # k-means on the coarse cells first, then a few steps on every cell: the
    # same palette for the same seed, and no worse than Lloyd on every cell
    import skquant._engine._learn as learn
    from skquant import ColorQuantizer
    from skquant.metrics import peak_signal_noise_ratio as psnr

    calls = []
    start = learn._coarse_start

    def spy(*args):
        calls.append(start(*args))
        return calls[-1]

    gains = []
    for photo in photos:
        for k in (16, 64):
            monkeypatch.setattr(learn, "_coarse_start", spy)
            fitted = ColorQuantizer(k, random_state=0).fit(photo)
            again = ColorQuantizer(k, random_state=0).fit(photo)
            np.testing.assert_array_equal(fitted.palette_, again.palette_)
            assert calls[-1] is not None
            monkeypatch.setattr(learn, "_coarse_start", lambda *args: None)
            full = ColorQuantizer(k, random_state=0).fit(photo)
            gains.append(
                psnr(photo, fitted.transform(photo))
                - psnr(photo, full.transform(photo))
            )
    assert np.mean(gains) > -0.02 and min(gains) > -0.15, gains


def test_fewer_fine_steps_from_256_colours_keep_quality(photos, monkeypatch):
    # After the coarse start, 10 Lloyd steps on every cell from K=256 on
    # (20 below): within 0.03 dB of 20 steps on every photo.
    import skquant._engine._learn as learn
    import skquant._kernels as kernels
    from skquant import ColorQuantizer
    from skquant.metrics import peak_signal_noise_ratio as psnr

    steps = []
    run = kernels.lloyd_kmeans

    def spy(*args, **kwargs):  # the fine steps (labels guessed from coarse ones)
        steps.append(kwargs["max_iter"])
        return run(*args, **kwargs)

    monkeypatch.setattr(kernels, "lloyd_kmeans", spy)
    started = 0
    for photo in photos:
        del steps[:]
        ColorQuantizer(64, random_state=0).fit(photo)
        assert steps == [20]
        del steps[:]
        fitted = ColorQuantizer(256, random_state=0).fit(photo)
        if not steps:
            continue  # too few coarse cells for 256 colours: no coarse start
        assert steps == [10]
        started += 1
        with monkeypatch.context() as patch:
            patch.setattr(learn, "FINE_ITERATIONS_MANY", 20)
            longer = ColorQuantizer(256, random_state=0).fit(photo)
        loss = psnr(photo, longer.transform(photo)) - psnr(
            photo, fitted.transform(photo)
        )
        assert loss < 0.03, loss
    assert started >= 1


def test_no_coarse_start_where_the_mass_sits_in_few_coarse_cells(monkeypatch):
    # hubble_deep_field: a dark sky holds most pixels in a few dozen coarse
    # cells; k-means on them cannot place enough centres there, and at
    # K=256 the fine steps did not recover (-0.78 dB against Lloyd on
    # every cell). Such histograms start on every cell.
    import skimage.data

    import skquant._engine._learn as learn
    from skquant import ColorQuantizer
    from skquant.metrics import peak_signal_noise_ratio as psnr

    sky = skimage.data.hubble_deep_field()[::2, ::2]
    calls = []
    start = learn._coarse_start

    def spy(*args):
        calls.append(start(*args))
        return calls[-1]

    monkeypatch.setattr(learn, "_coarse_start", spy)
    fitted = ColorQuantizer(64, random_state=0).fit(sky)
    assert calls == [None]
    monkeypatch.setattr(learn, "_coarse_start", lambda *args: None)
    full = ColorQuantizer(64, random_state=0).fit(sky)
    assert psnr(sky, fitted.transform(sky)) >= psnr(sky, full.transform(sky)) - 0.02


def test_large_k_runs_the_compiled_kmeans_as_well_as_scikit_learn(monkeypatch):
    # Up to 16384 colours the fit runs skquant's compiled seeding and Lloyd
    # (grids of points and centres), not scikit-learn's KMeans; the palette
    # is as good as KMeans' on the same histogram.
    import skimage.data
    import sklearn.cluster

    import skquant._kmeans as kmeans
    from skquant import ColorQuantizer
    from skquant.metrics import peak_signal_noise_ratio as psnr

    photo = skimage.data.astronaut()[::2, ::2]
    k = 2048

    class Refused(sklearn.cluster.KMeans):
        def fit(self, *args, **kwargs):
            raise AssertionError("scikit-learn's KMeans was called")

    monkeypatch.setattr(sklearn.cluster, "KMeans", Refused)
    fitted = ColorQuantizer(k, random_state=0).fit(photo)
    monkeypatch.undo()
    monkeypatch.setattr(kmeans, "LLOYD_MAX_CLUSTERS", k - 1)
    reference = ColorQuantizer(k, random_state=0).fit(photo)
    ours, theirs = (psnr(photo, q.transform(photo)) for q in (fitted, reference))
    assert ours >= theirs - 0.05, (ours, theirs)
