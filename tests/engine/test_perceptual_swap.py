"""The swap step of small ``'perceptual'`` palettes (:func:`swap_search`)."""

import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant._engine import _perceptual
from skquant._engine._perceptual import (
    MappedNearest,
    blended_objective,
    refine_blended,
    swap_search,
)
from tests.engine._scores import blended_score


def _clumps():
    """A wide blue cloud (most of the weight) and two tight red clumps.

    Centres started on the two red clumps and the cloud's middle are a
    fixed point of the refinement: no centre crosses to the cloud.
    """
    rng = np.random.RandomState(0)
    cloud = np.clip(rng.normal([0.25, 0.3, 0.75], 0.12, (3000, 3)), 0.0, 1.0)
    red = np.clip(rng.normal([0.8, 0.2, 0.2], 0.01, (300, 3)), 0.0, 1.0)
    near = np.clip(rng.normal([0.84, 0.24, 0.2], 0.01, (300, 3)), 0.0, 1.0)
    rgb = np.concatenate([cloud, red, near])
    target = MappedNearest(None, rgb, np.ones(len(rgb)))
    start = np.array([[0.84, 0.24, 0.2], [0.8, 0.2, 0.2], [0.25, 0.3, 0.75]])
    return target, start


def test_swap_moves_a_centre_to_where_it_is_needed():
    target, start = _clumps()
    refined, _ = refine_blended(target, start)
    swapped = swap_search(target, refined)
    before = blended_objective(target, refined)[0]
    after = blended_objective(target, swapped)[0]
    assert after < before - 0.05  # measured -0.24
    blue = swapped[:, 2] > 0.5
    assert blue.sum() == 2  # one red clump gave its centre to the cloud


def test_swap_keeps_fixed_colours():
    target, start = _clumps()
    refined, _ = refine_blended(target, start, n_fixed=1)
    swapped = swap_search(target, refined, n_fixed=1)
    np.testing.assert_array_equal(swapped[0], refined[0])
    assert (swapped[:, 2] > 0.5).sum() == 2  # the other red centre moved
    # with both red centres fixed, only the cloud's centre could go
    refined, _ = refine_blended(target, start, n_fixed=2)
    swapped = swap_search(target, refined, n_fixed=2)
    np.testing.assert_array_equal(swapped[:2], refined[:2])


def test_swap_never_raises_the_objective(coffee):
    colours, counts = np.unique(
        coffee[::2, ::2].reshape(-1, 3), axis=0, return_counts=True
    )
    target = MappedNearest(None, colours / 255.0, counts.astype(np.float64))
    rng = np.random.RandomState(1)
    for n_colors in (4, 8, 16):
        start = colours[rng.choice(len(colours), n_colors, replace=False)] / 255.0
        refined, _ = refine_blended(target, start)
        swapped = swap_search(target, refined, n_fixed=1)
        assert (
            blended_objective(target, swapped)[0]
            <= blended_objective(target, refined)[0]
        )
        np.testing.assert_array_equal(swapped[0], refined[0])
        again = swap_search(target, refined, n_fixed=1)
        np.testing.assert_array_equal(again, swapped)  # deterministic


def test_swap_lowers_both_errors_together(small_photos, monkeypatch):
    """Against no swap, by the outside oracles (scikit-image's CIEDE2000,
    the squared sRGB error of the output) at K=16 on the four half-size
    photos: lower ``log(CIEDE2000) + log(MSE)`` on the mean, never higher
    beyond a rounding on a photo."""

    def score(photo):
        return blended_score(photo, 16, random_state=2)

    swapped = np.array([score(photo) for photo in small_photos])
    monkeypatch.setattr(_perceptual, "SWAP_TRIALS", 0)
    plain = np.array([score(photo) for photo in small_photos])
    print(swapped - plain)
    assert np.all(swapped <= plain + 2e-3)
    assert np.mean(swapped) < np.mean(plain)


@pytest.mark.parametrize("n_colors", [_perceptual.FINE_MIN_COLORS])
def test_no_swap_from_fine_colours_on(coffee, monkeypatch, n_colors):
    calls = []
    real = _perceptual.swap_search
    monkeypatch.setattr(
        _perceptual, "swap_search", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    photo = np.ascontiguousarray(coffee[::2, ::2])
    ColorQuantizer(n_colors, color_space="perceptual", random_state=0).fit(photo)
    assert calls == []
    ColorQuantizer(8, color_space="perceptual", random_state=0).fit(photo)
    assert len(calls) == _perceptual.PERCEPTUAL_FINALISTS
