"""Scorers, get_scorer, make_rate_distortion_scorer and fewest_colors
(skquant.metrics._scorers)."""

import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold

import skquant
from skquant import metrics
from skquant.metrics import (
    delta_e_scorer,
    get_scorer,
    mean_delta_e,
    peak_signal_noise_ratio,
    psnr_scorer,
    ssim_scorer,
    structural_similarity,
)
from tests.metrics._oracles import GridQuantizer

# ---------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------

SCORERS = {
    "psnr": (psnr_scorer, peak_signal_noise_ratio, 1),
    "delta_e": (delta_e_scorer, mean_delta_e, -1),
    "ssim": (ssim_scorer, structural_similarity, 1),
}


def _layouts(photos):
    image = photos[2][::2, ::2]
    return {
        "pixels": image.reshape(-1, 3),
        "image": image,
        "batch": np.stack([p[:120, :160] for p in photos]),
        "list": [p[::3, ::3] for p in photos],
    }


@pytest.mark.parametrize("name", sorted(SCORERS))
@pytest.mark.parametrize("layout", ["pixels", "image", "batch", "list"])
def test_scorer_compares_x_with_transform(photos, name, layout):
    scorer, metric, sign = SCORERS[name]
    X = _layouts(photos)[layout]
    estimator = GridQuantizer(levels=5)
    if name == "ssim" and layout == "pixels":
        with pytest.raises(ValueError, match="needs an image"):
            scorer(estimator, X)
        return
    expected = sign * metric(X, estimator.transform(X))
    assert scorer(estimator, X) == expected
    assert scorer(estimator, X, None) == expected


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_scorers_higher_is_better(photos, name):
    scorer = get_scorer(name)
    X = _layouts(photos)["image"]
    assert scorer(GridQuantizer(levels=16), X) > scorer(GridQuantizer(levels=3), X)


def test_delta_e_scorer_is_negative(photos):
    X = _layouts(photos)["image"]
    assert delta_e_scorer(GridQuantizer(levels=4), X) < 0


def test_get_scorer():
    for name, (scorer, _, _) in SCORERS.items():
        assert get_scorer(name) is scorer
        assert pickle.loads(pickle.dumps(scorer)) is scorer
    with pytest.raises(ValueError, match="'mse' is not a quantization scorer"):
        get_scorer("mse")
    with pytest.raises(ValueError, match="not a quantization scorer"):
        get_scorer(["psnr"])


def test_public_names():
    expected = {
        "peak_signal_noise_ratio",
        "mean_delta_e",
        "structural_similarity",
        "psnr_scorer",
        "delta_e_scorer",
        "ssim_scorer",
        "get_scorer",
        "make_rate_distortion_scorer",
        "fewest_colors",
    }
    assert set(metrics.__all__) == expected
    for name in metrics.__all__:
        assert callable(getattr(metrics, name))


def test_grid_search_with_fake_quantizer(photos):
    images = [p[::4, ::4] for p in photos]
    search = GridSearchCV(
        GridQuantizer(),
        {"levels": [2, 8]},
        scoring={"psnr": psnr_scorer, "delta_e": delta_e_scorer, "ssim": ssim_scorer},
        refit="delta_e",
        cv=KFold(2),
    )
    search.fit(images)
    assert search.best_params_ == {"levels": 8}
    for key in ("psnr", "delta_e", "ssim"):
        scores = search.cv_results_[f"mean_test_{key}"]
        assert scores[1] > scores[0]


@pytest.mark.skipif(
    not hasattr(skquant, "ColorQuantizer"), reason="ColorQuantizer not available"
)
def test_grid_search_color_quantizer(photos):
    images = [p[::2, ::2] for p in photos]
    search = GridSearchCV(
        skquant.ColorQuantizer(random_state=0),
        {"n_colors": [4, 16]},
        scoring=psnr_scorer,
        cv=KFold(2),
    )
    search.fit(images)
    assert search.best_params_ == {"n_colors": 16}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


# ---------------------------------------------------------------------------
# fewest_colors when nothing reaches the target (issue 12)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_search():
    from sklearn.datasets import load_sample_image

    image = load_sample_image("china.jpg")[::8, ::8]
    search = GridSearchCV(
        skquant.ColorQuantizer(random_state=0),
        {"n_colors": [2, 4, 8]},
        scoring={"psnr": psnr_scorer, "delta_e": delta_e_scorer},
        refit=False,
        cv=KFold(2),
    ).fit(image)
    return image, search.cv_results_


def test_fewest_colors_reached(small_search):
    _, results = small_search
    psnr = results["mean_test_psnr"]
    threshold = float(psnr[1]) - 1e-9
    assert metrics.fewest_colors(threshold, scorer="psnr")(results) == 1


def test_fewest_colors_unreached_warns(small_search):
    image, results = small_search
    best = float(results["mean_test_psnr"].max())
    with pytest.warns(UserWarning, match=r"threshold=60\.0.*best mean test score"):
        index = metrics.fewest_colors(60.0, scorer="psnr")(results)
    assert index == int(np.argmax(results["mean_test_psnr"]))
    with pytest.warns(UserWarning, match=f"{best:.6g}"):
        metrics.fewest_colors(60.0, scorer="psnr")(results)
    # through GridSearchCV: the warning reaches the caller, best K refitted
    search = GridSearchCV(
        skquant.ColorQuantizer(random_state=0),
        {"n_colors": [2, 4]},
        scoring=psnr_scorer,
        refit=metrics.fewest_colors(60.0),
        cv=KFold(2),
    )
    with pytest.warns(UserWarning, match="No candidate reaches threshold=60.0") as w:
        search.fit(image)
    assert w[0].filename == __file__  # the caller's line, not scikit-learn's
    assert search.best_params_ == {"n_colors": 4}


def test_fewest_colors_sign_mistake_explained(small_search):
    _, results = small_search
    # "a mean CIEDE2000 of at most 3" written as +3 for a negated loss
    with pytest.warns(UserWarning, match=r"threshold=-3\b.*at most 3") as record:
        metrics.fewest_colors(3, scorer="delta_e")(results)
    assert "negated loss" in str(record[0].message)
    # the right sign picks the fewest colours reaching it, silently
    delta_e = -results["mean_test_delta_e"]
    target = float(delta_e[2]) + 1e-9
    assert metrics.fewest_colors(-target, scorer="delta_e")(results) == 2
    # an unreached negative target warns without the sign hint
    with pytest.warns(UserWarning) as record:
        metrics.fewest_colors(-0.01, scorer="delta_e")(results)
    assert "negated" not in str(record[0].message)


def test_fewest_colors_checks_its_arguments(small_search):
    _, results = small_search
    for bad in ("30", float("nan"), None, True):
        with pytest.raises(ValueError, match="threshold must be a finite number"):
            metrics.fewest_colors(bad)
    with pytest.raises(
        ValueError, match=r"no 'mean_test_score'.*\['delta_e', 'psnr'\]"
    ):
        metrics.fewest_colors(30)(results)
    with pytest.raises(ValueError, match=r"no 'param_k'.*\['n_colors'\]"):
        metrics.fewest_colors(30, scorer="psnr", param="k")(results)
