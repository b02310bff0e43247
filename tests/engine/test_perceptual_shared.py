"""What the runs of a ``'perceptual'`` fit share, and the shortcuts they take.

The runs and finalists of one fit derive the same arrays from the same
points (sRGB, DIN99o, the points in the fit's and the mapping's space):
:func:`~skquant._engine._perceptual.derived` computes them once. The
refinement relabels its colours from the previous labels
(:class:`~skquant._kernels._lloyd.Relabeller`), and small colour
conversions are batched. Each shortcut must give the very values of the
computation it replaces, so that palettes stay bit-identical.
"""

import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant._color._perceptual import perceptual_to_rgb, rgb_to_perceptual
from skquant._engine import _learn, _perceptual
from skquant._engine._perceptual import MappedNearest, PerceptualFit
from skquant._kernels import assign_labels


def _fit_inputs(photo, n_colors, monkeypatch):
    """``(points, space)`` that :func:`best_perceptual_run` receives."""
    seen = []
    real = _perceptual.best_perceptual_run

    def spy(learn, runs, points, **kwargs):
        seen.append((points, kwargs["space"]))
        return real(learn, runs, points, **kwargs)

    monkeypatch.setattr(_learn, "best_perceptual_run", spy)
    ColorQuantizer(n_colors, color_space="perceptual", random_state=0).fit(photo)
    ((points, space),) = seen
    return points, space


@pytest.fixture
def coffee_small(coffee):
    return np.ascontiguousarray(coffee[::2, ::2])


def test_shared_arrays_are_the_arrays_each_run_computed(coffee_small, monkeypatch):
    points, space = _fit_inputs(coffee_small, 16, monkeypatch)
    assert {"colours", "mapped"} <= set(points.derived)  # filled by the fit
    fresh = _learn.Points(points.points, points.weights, points.exact)
    fresh.source = points.source
    fit = PerceptualFit(space, 16)
    np.testing.assert_array_equal(
        fit.points_work(fresh), fit.to_working(points.points).astype(np.float64)
    )
    assert fit.points_work(fresh) is fit.points_work(fresh)  # computed once
    shared = fit.nearest_mapped(fresh)
    alone = MappedNearest.of_points(fit, points.points, points.source)
    for name in ("rgb", "din", "mapped", "weights"):
        np.testing.assert_array_equal(getattr(shared, name), getattr(alone, name))
    assert shared.source is points.source
    assert shared is not fit.nearest_mapped(fresh)  # own state per finalist
    target = _perceptual.ObjectivePoints(fresh, space)
    np.testing.assert_array_equal(target.rgb, alone.rgb)
    np.testing.assert_array_equal(target.din, alone.din)


def test_relabelling_from_previous_labels_is_a_search_from_scratch(coffee_small):
    """Through a refinement and a swap search, every labelling is exact."""
    colours = np.unique(coffee_small.reshape(-1, 3), axis=0)
    target = MappedNearest(None, colours / 255.0)
    calls = []
    real = target.of_rgb

    def of_rgb(rgb):
        labels = real(rgb)
        centers = rgb_to_perceptual(np.clip(rgb, 0.0, 1.0))
        calls.append((labels, assign_labels(target.mapped, centers)))
        return labels

    target.of_rgb = of_rgb
    rng = np.random.default_rng(0)
    start = colours[rng.choice(len(colours), 12, replace=False)] / 255.0
    centers, _ = _perceptual.refine_blended(target, start)
    _perceptual.swap_search(target, centers)
    assert len(calls) > 5
    for labels, expected in calls:
        np.testing.assert_array_equal(labels, expected)


def test_din_jacobian_is_the_per_column_computation():
    from skquant._color._oklab_din99o import rgb_to_din99o

    rgb = np.random.default_rng(1).random((37, 3))
    rgb[0] = [0.5, 0.5, 0.5]  # at the switch of the step's sign
    base, jacobian = _perceptual._din_jacobian(rgb)
    np.testing.assert_array_equal(base, rgb_to_din99o(rgb))
    for j in range(3):
        h = np.where(rgb[:, j] > 0.5, -1e-6, 1e-6)
        moved = rgb.copy()
        moved[:, j] += h
        column = (rgb_to_din99o(moved) - rgb_to_din99o(rgb)) / h[:, None]
        np.testing.assert_array_equal(jacobian[..., j], column)


@pytest.mark.parametrize("weight", [None, 0.3])
def test_batched_newton_steps_give_the_same_inverse(monkeypatch, weight):
    from skquant._color import _perceptual as colour

    rgb = np.random.default_rng(2).random((300, 3))
    values = rgb_to_perceptual(rgb, weight)
    batched = perceptual_to_rgb(values, weight)
    monkeypatch.setattr(colour, "_BATCH_ROWS", 0)
    np.testing.assert_array_equal(perceptual_to_rgb(values, weight), batched)
    np.testing.assert_allclose(batched, rgb, atol=1e-9)


def test_derived_arrays_follow_the_points_they_come_from():
    points = _learn.Points(np.zeros((3, 3)), None, True)
    first = _perceptual.derived(points, "x", lambda: np.ones(1))
    assert _perceptual.derived(points, "x", lambda: np.zeros(1)) is first
    points.points = np.ones((3, 3))  # replaced: derived again
    np.testing.assert_array_equal(
        _perceptual.derived(points, "x", lambda: np.zeros(1)), [0.0]
    )
