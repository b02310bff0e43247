"""Choosing the number of colours: select_n_colors, scorers and refit."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from skquant import ColorQuantizer, select_n_colors
from skquant.metrics import (
    delta_e_scorer,
    fewest_colors,
    make_rate_distortion_scorer,
    mean_delta_e,
    peak_signal_noise_ratio,
    psnr_scorer,
)


@pytest.mark.parametrize("target", [27.0, 31.0])
def test_select_reaches_psnr_with_few_colours(target, china):
    q = select_n_colors(china, min_psnr=target, random_state=0)
    k = q.n_colors_
    assert peak_signal_noise_ratio(china, q.transform(china)) >= target
    # and noticeably fewer colours miss it (fewest, up to k-means noise)
    fewer = ColorQuantizer(int(k * 0.8), random_state=0).fit(china)
    assert peak_signal_noise_ratio(china, fewer.transform(china)) < target


def test_select_reaches_delta_e(astronaut):
    q = select_n_colors(astronaut, max_delta_e=4.0, random_state=0)
    assert mean_delta_e(astronaut, q.transform(astronaut)) <= 4.0
    fewer = ColorQuantizer(int(q.n_colors_ * 0.7), random_state=0).fit(astronaut)
    assert mean_delta_e(astronaut, fewer.transform(astronaut)) > 4.0


def test_select_on_a_collection(photos):
    q = select_n_colors(photos, min_psnr=28, random_state=0)
    assert peak_signal_noise_ratio(photos, q.transform(photos)) >= 28


def test_select_few_distinct_colours(china):
    five = ColorQuantizer(5, random_state=0).fit_transform(china)
    q = select_n_colors(five, min_psnr=60, random_state=0)
    assert q.n_colors_ == 5
    np.testing.assert_array_equal(q.transform(five), five)


def test_select_unreachable_target_warns(coffee):
    with pytest.warns(UserWarning, match="max_colors=4") as caught:
        q = select_n_colors(coffee, min_psnr=45, max_colors=4, random_state=0)
    assert q.n_colors_ == 4
    assert caught[0].filename == __file__  # the caller's line


def test_select_checks_arguments(coffee):
    with pytest.raises(ValueError, match="give a target"):
        select_n_colors(coffee)
    with pytest.raises(TypeError, match="n_colors"):
        select_n_colors(coffee, min_psnr=30, n_colors=8)
    with pytest.raises(ValueError, match="3-channel"):
        select_n_colors(coffee[..., :2], max_delta_e=3)


def test_select_is_deterministic(coffee):
    a = select_n_colors(coffee, min_psnr=30, random_state=3)
    b = select_n_colors(coffee, min_psnr=30, random_state=3)
    np.testing.assert_array_equal(a.palette_, b.palette_)


def test_grid_search_refit_fewest_colours_on_images(small_photos):
    search = GridSearchCV(
        ColorQuantizer(random_state=0),
        {"n_colors": [4, 8, 16, 32, 64]},
        scoring={"psnr": psnr_scorer, "delta_e": delta_e_scorer},
        refit=fewest_colors(22.0, scorer="psnr"),
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(small_photos)
    scores = search.cv_results_["mean_test_psnr"]
    best = search.best_index_
    assert 0 < best < 4
    assert scores[best] >= 22.0 and np.all(scores[:best] < 22.0)
    assert search.best_estimator_.n_colors == search.cv_results_["param_n_colors"][best]


def test_rate_distortion_scorer_picks_a_middle_k(small_photos):
    image = small_photos[0]  # rows split into folds: fit on half, score the rest
    chosen = []
    for db_per_bit in (1.0, 3.0):
        search = GridSearchCV(
            ColorQuantizer(random_state=0),
            {"n_colors": [2, 4, 8, 16, 32, 64, 128, 256]},
            scoring=make_rate_distortion_scorer(db_per_bit=db_per_bit),
            cv=KFold(2),
        ).fit(image)
        chosen.append(search.best_params_["n_colors"])
    assert 4 <= chosen[1] <= 64
    assert chosen[1] < chosen[0]  # dearer bits, fewer colours
    with pytest.raises(ValueError, match="db_per_bit"):
        make_rate_distortion_scorer(-1)


def test_cross_validation_over_held_out_images(photos):
    """A palette fitted on some photos, scored on the others."""
    held_out = cross_val_score(
        ColorQuantizer(16, random_state=0), photos, scoring=psnr_scorer, cv=KFold(4)
    )
    own = [
        peak_signal_noise_ratio(p, ColorQuantizer(16, random_state=0).fit_transform(p))
        for p in photos
    ]
    assert np.all(held_out > 10) and np.mean(held_out) < np.mean(own)


def test_din99o_reaches_a_delta_e_target_with_fewer_colours(flower):
    """DIN99o distances follow CIEDE2000: its palettes need far fewer colours."""
    image = flower[::2, ::2]
    found = {
        space: select_n_colors(
            image, max_delta_e=2.5, color_space=space, random_state=0
        )
        for space in ("rgb", "din99o")
    }
    for q in found.values():
        assert mean_delta_e(image, q.transform(image)) <= 2.5
    assert found["din99o"].n_colors_ < 0.7 * found["rgb"].n_colors_


def test_search_sets_no_parameter_of_a_quantizer(coffee, monkeypatch):
    """The search runs on the engine: no quantizer's parameters or privates
    are set while it looks for K, only the fitted state of the one returned."""
    written = []
    original = ColorQuantizer.__setattr__

    def record(self, name, value):
        written.append(name)
        original(self, name, value)

    params = {"max_iter": 50, "random_state": 0}
    monkeypatch.setattr(ColorQuantizer, "__setattr__", record)
    q = select_n_colors(coffee[::4, ::4], min_psnr=28, **params)
    monkeypatch.undo()
    init = set(ColorQuantizer().get_params())
    after_init = [name for name in written if name not in init]
    assert set(after_init) <= {
        "n_features_in_",
        "_fitted",
        "palette_",
        "cluster_centers_",
        "n_colors_",
        "n_iter_",
        "inertia_",
    }, after_init
    assert q.get_params() == ColorQuantizer(q.n_colors, **params).get_params()


@pytest.mark.parametrize(
    "target",
    [{"min_psnr": 30.0}, {"max_delta_e": 3.0}, {"min_psnr": 28.0, "max_delta_e": 4.0}],
)
def test_estimator_free_search_gives_the_same_palette(target, astronaut):
    # The command line's select_palette is select_n_colors without
    # scikit-learn: same K, same palette, same seed.
    from skquant._select import select_palette

    image = astronaut[::2, ::2]
    q = select_n_colors(image, random_state=0, **target)
    fitted = select_palette(image, random_state=0, **target)
    assert fitted.palette.shape == q.palette_.shape
    np.testing.assert_array_equal(fitted.palette, q.palette_)
    np.testing.assert_array_equal(fitted.centers, q.cluster_centers_)
