"""Initial centres for k-means: scikit-learn's k-means++, compiled.

:func:`kmeans_plusplus` draws the same seeds as
:func:`sklearn.cluster.kmeans_plusplus` from the same ``RandomState`` (the
same algorithm and random stream), three times faster on a pooled colour
histogram; :func:`initial_centers` turns an ``init`` parameter into centres
for both backends.
"""

import numpy as np

from skquant._kernels import _checks
from skquant._kernels._cache import kernel


def initial_centers(X, n_clusters, *, init, random_state, sample_weight=None):
    """Seeded initial centres: k-means++, random points, or given."""
    if isinstance(init, str) and init == "k-means++":
        centers, _ = kmeans_plusplus(
            X, n_clusters, random_state=random_state, sample_weight=sample_weight
        )
        return centers.astype(X.dtype, copy=False)
    if isinstance(init, str) and init == "random":
        p = None if sample_weight is None else sample_weight / sample_weight.sum()
        idx = random_state.choice(X.shape[0], n_clusters, replace=False, p=p)
        return X[idx]
    return np.asarray(init, dtype=X.dtype)


def kmeans_plusplus(
    points, n_clusters, *, sample_weight=None, random_state, existing=None
):
    """Greedy k-means++ seeds, as :func:`sklearn.cluster.kmeans_plusplus`.

    The same algorithm and the same draws from ``random_state`` (the first
    centre in proportion to the weights, then ``2 + int(log(n_clusters))``
    candidates per centre, the one that lowers the weighted potential most
    wins), with exact squared distances in a compiled loop instead of
    scikit-learn's BLAS expansion, vectorised: 3x faster on a pooled colour
    histogram, and the same seeds unless two candidates' potentials tie to
    rounding (identical on every photo, space and K tested).

    Parameters
    ----------
    points : ndarray of shape (n_points, n_features)
    n_clusters : int
        Number of seeds to draw.
    sample_weight : ndarray of shape (n_points,) or None
    random_state : numpy.random.RandomState
    existing : ndarray of shape (n_existing, n_features) or None
        Centres already chosen (colours that must stay in the palette): the
        seeds are drawn around them, with no random first centre.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), float64
    indices : ndarray of shape (n_clusters,), int64
    """
    points = _checks.finite_points(points)
    n_points = points.shape[0]
    weights = _checks.weights_for(sample_weight, n_points)
    if existing is not None:
        existing = _checks.palette_for(existing, points.shape[1], "existing")
    n_existing = 0 if existing is None else len(existing)
    if n_clusters == 0:
        return points[:0], np.zeros(0, np.int64)
    # One row per feature: the trial loop runs on SIMD lanes.
    columns = np.ascontiguousarray(points.T)
    n_trials = 2 + int(np.log(n_clusters + n_existing))
    if n_existing:
        closest = _closest(columns, np.asarray(existing, dtype=np.float64))
        uniforms = random_state.uniform(size=(n_clusters, n_trials))
        indices = _plusplus(columns, weights, closest, uniforms)
    else:
        first = int(random_state.choice(n_points, p=weights / weights.sum()))
        closest = _closest(columns, points[first : first + 1])
        # scikit-learn draws n_trials uniforms per centre, nothing in between.
        uniforms = random_state.uniform(size=(n_clusters - 1, n_trials))
        rest = _plusplus(columns, weights, closest, uniforms)
        indices = np.concatenate([[first], rest])
    return points[indices], indices


@kernel(fastmath=True)
def _trial_potential(columns, weights, closest, q):
    """Weighted potential if point ``q`` became a centre (vectorised sum)."""
    total = 0.0
    if columns.shape[0] == 3:  # colours: written out, so that it vectorises
        x, y, z = columns[0], columns[1], columns[2]
        qx, qy, qz = x[q], y[q], z[q]
        for i in range(closest.shape[0]):
            a, b, c = x[i] - qx, y[i] - qy, z[i] - qz
            total += weights[i] * min(a * a + b * b + c * c, closest[i])
        return total
    for i in range(closest.shape[0]):
        s = 0.0
        for j in range(columns.shape[0]):
            u = columns[j, i] - columns[j, q]
            s += u * u
        total += weights[i] * min(s, closest[i])
    return total


@kernel
def _plusplus(columns, weights, closest, uniforms):
    """Indices of ``len(uniforms)`` greedy k-means++ seeds.

    ``closest`` holds each point's squared distance to the centres chosen
    so far and is updated in place; ``uniforms[c]`` are the draws for seed
    ``c``, one per candidate.
    """
    n = closest.shape[0]
    n_new, n_trials = uniforms.shape
    indices = np.empty(n_new, np.int64)
    cumulative = np.empty(n)
    candidates = np.empty(n_trials, np.int64)
    point = np.empty(columns.shape[0])
    potential = 0.0
    for i in range(n):
        potential += weights[i] * closest[i]
    for c in range(n_new):
        total = 0.0  # in order, as np.cumsum
        for i in range(n):
            total += weights[i] * closest[i]
            cumulative[i] = total
        for t in range(n_trials):
            # np.searchsorted(cumulative, value): first index not below it.
            value = uniforms[c, t] * potential
            lo, hi = 0, n
            while lo < hi:
                mid = (lo + hi) // 2
                if cumulative[mid] < value:
                    lo = mid + 1
                else:
                    hi = mid
            candidates[t] = min(lo, n - 1)
        best, best_potential = 0, np.inf
        for t in range(n_trials):
            trial = _trial_potential(columns, weights, closest, candidates[t])
            if trial < best_potential:
                best, best_potential = t, trial
        for j in range(columns.shape[0]):
            point[j] = columns[j, candidates[best]]
        _move_closer(columns, closest, point)
        potential = best_potential
        indices[c] = candidates[best]
    return indices


@kernel
def _closest(columns, centers):
    """Squared distance from each point to the nearest of ``centers``."""
    closest = np.full(columns.shape[1], np.inf)
    for c in range(centers.shape[0]):
        _move_closer(columns, closest, centers[c])
    return closest


@kernel
def _move_closer(columns, closest, point):
    """``closest = min(closest, squared distance to point)``."""
    if columns.shape[0] == 3:  # colours: written out, so that it vectorises
        x, y, z = columns[0], columns[1], columns[2]
        px, py, pz = point[0], point[1], point[2]
        for i in range(closest.shape[0]):
            a, b, c = x[i] - px, y[i] - py, z[i] - pz
            closest[i] = min(closest[i], a * a + b * b + c * c)
        return
    for i in range(closest.shape[0]):
        s = 0.0
        for j in range(columns.shape[0]):
            u = columns[j, i] - point[j]
            s += u * u
        if s < closest[i]:
            closest[i] = s
