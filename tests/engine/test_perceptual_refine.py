"""The choice among refined runs of a ``'perceptual'`` palette."""

import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant._engine import _learn, _perceptual
from tests.engine._scores import blended_score


def _spy_finalists(monkeypatch):
    """Record every refined fit of :func:`best_perceptual_run` and its result.

    Returns a list filled, per fit, with ``(target, finished, chosen)``:
    the :class:`ObjectivePoints`, the palettes of the refined fits (those
    started from a run's centres) and the palette returned.
    """
    calls = []
    real = _perceptual.best_perceptual_run

    def spy(learn, runs, points, **kwargs):
        finished = []

        def spy_learn(*args, **kw):
            out = learn(*args, **kw)
            if kw.get("init_work") is not None:
                finished.append(out[0])
            return out

        out = real(spy_learn, runs, points, **kwargs)
        target = _perceptual.ObjectivePoints(points, kwargs["space"])
        calls.append((target, finished, out[0]))
        return out

    monkeypatch.setattr(_learn, "best_perceptual_run", spy)
    return calls


# the first finalist refines best at K=8, seed 0, the second at K=16, seed 2
@pytest.mark.parametrize(("n_colors", "seed"), [(8, 0), (16, 2)])
def test_the_best_refined_finalist_is_kept(coffee, monkeypatch, n_colors, seed):
    calls = _spy_finalists(monkeypatch)
    photo = np.ascontiguousarray(coffee[::2, ::2])
    q = ColorQuantizer(n_colors, color_space="perceptual", random_state=seed)
    q.fit(photo)
    ((target, finished, chosen),) = calls
    assert len(finished) == _perceptual.PERCEPTUAL_FINALISTS == 2
    scores = [
        _perceptual.palette_objective(target, p.astype(np.float64)) for p in finished
    ]
    # the lowest objective among the refined finalists, the earlier on a tie
    np.testing.assert_array_equal(chosen, finished[int(np.argmin(scores))])
    np.testing.assert_array_equal(np.sort(q.palette_, axis=0), np.sort(chosen, axis=0))


def test_one_finalist_from_fine_colours_on(coffee, monkeypatch):
    calls = _spy_finalists(monkeypatch)
    photo = np.ascontiguousarray(coffee[::2, ::2])
    n_colors = _perceptual.FINE_MIN_COLORS
    ColorQuantizer(n_colors, color_space="perceptual", random_state=0).fit(photo)
    ((_, finished, chosen),) = calls
    assert len(finished) == 1
    np.testing.assert_array_equal(chosen, finished[0])


def test_finalists_lower_both_errors_together(small_photos, monkeypatch):
    """Against one finalist, by the outside oracles (scikit-image's
    CIEDE2000, the squared sRGB error of the output) at K=8: never worse
    on a photo in ``log(CIEDE2000) + log(MSE)`` beyond a rounding, lower
    on the mean."""

    def score(photo):
        return blended_score(photo, 8, random_state=0)

    chosen = np.array([score(photo) for photo in small_photos])
    monkeypatch.setattr(_perceptual, "PERCEPTUAL_FINALISTS", 1)
    single = np.array([score(photo) for photo in small_photos])
    # measured: 0, 0, -0.0016, 0
    assert np.all(chosen <= single + 1e-3)
    assert np.mean(chosen) < np.mean(single)
