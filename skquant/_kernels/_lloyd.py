"""Lloyd's k-means on few low-dimensional points (a pooled colour histogram).

:func:`lloyd_kmeans` runs scikit-learn's Lloyd iterations with exact, faster
assignments: the first from the grid search (:func:`assign_labels`), the
following ones incremental.

k-means on a pooled histogram (tens of thousands of weighted colours) spends
its time assigning points to centres. Between two Lloyd steps the centres
move little, so each point starts from its previous centre ``a`` (at
distance ``ra``): another centre ``c`` can only beat the best one so far (at
``rb``) if ``|c - a| < ra + rb``, so scanning ``a``'s neighbours by
increasing distance stops after a handful (Orchard's method). Exact.
:class:`Relabeller` does the same for a sequence of centres given from
outside (the rounds of the ``'perceptual'`` refinement).
"""

import numpy as np

from skquant._kernels import _checks
from skquant._kernels._assign import assign_labels
from skquant._kernels._box import pixel_box
from skquant._kernels._cache import kernel
from skquant._kernels._grid import _shell_sort
from skquant._kernels._lloyd_large import (
    first_labels,
    groups_for,
    reassign_many,
    scan_group,
    unsettled,
)


@kernel(inline="always")
def _sq_dist(points, i, centers, c):
    s = 0.0
    for j in range(points.shape[1]):
        t = points[i, j] - centers[c, j]
        s += t * t
    return s


@kernel
def _reassign(
    points, centers, labels, order, near_d, upper, lower, moved, fresh, groups, lowest
):
    """Move each point to its nearest centre, starting from its label.

    ``order[a]`` lists the centres by distance to centre ``a`` (``near_d[a]``
    receives those distances): sorted again here from its previous state
    (centres move little between Lloyd steps, so an insertion sort has
    almost nothing to do), or from scratch when ``fresh``. ``upper[i]`` and
    ``lower[i]`` bound the distance from point ``i`` to its centre and to
    every other centre (Hamerly's bounds); ``moved[c]`` is how far centre
    ``c`` moved since they were set. A point whose bounds prove that its
    centre is still the nearest is skipped, which late Lloyd steps do for
    most points (:func:`~skquant._kernels._lloyd_large.unsettled`); the
    others scan ``a``'s list (``groups``: its work arrays). The bounds are
    updated in place. Exact ties keep the label, or with ``lowest`` go to
    the lowest index. Returns the number of labels that changed.
    """
    k = centers.shape[0]
    # Half the distance from each centre to its nearest other centre: a point
    # nearer than that to its centre has no nearer one.
    half_gap = np.full(k, np.inf)
    between = np.empty(k)
    for a in range(k):
        for c in range(k):
            between[c] = np.sqrt(_sq_dist(centers, a, centers, c))  # vectorised
        row = order[a]
        dist = near_d[a]
        for m in range(k):
            dist[m] = between[row[m]]
        # fresh: the order of an insertion sort from 0, 1, ..., k - 1
        _shell_sort(dist, row, k, fresh, fresh)
        for m in range(min(2, k)):
            if row[m] != a:
                half_gap[a] = min(half_gap[a], 0.5 * dist[m])
    m = unsettled(points, centers, labels, upper, lower, moved, half_gap, groups, False)
    bounds = (labels, upper, lower, groups[5])
    # in the points' order (their neighbours are rows of the tables)
    return scan_group(
        points, centers, groups[0][:m], order, near_d, k, 1, np.inf, bounds, lowest
    )


@kernel
def _move_centers(points, weights, centers, labels, state):
    """One Lloyd update in place: centres to their points' weighted means.

    An empty cluster takes the point farthest from its centre (its bounds
    reset so that :func:`_reassign` looks at it again). ``state`` holds the
    work arrays ``(sums, mass, far, moved, upper, lower)``; ``moved[c]`` is
    set to how far centre ``c`` moved. Returns the squared centre shift.
    """
    # Plain loops only: slicing assignments and array expressions make numba
    # compile shape checks and error formatting, seconds on first use.
    sums, mass, far, moved, upper, lower = state
    n, d = points.shape
    k = centers.shape[0]
    empty = False
    for c in range(k):
        mass[c] = 0.0
        for j in range(d):
            sums[c, j] = 0.0
    for i in range(n):
        a = labels[i]
        mass[a] += weights[i]
        for j in range(d):
            sums[a, j] += weights[i] * points[i, j]
    for c in range(k):
        empty = empty or mass[c] == 0.0
    if empty:
        for i in range(n):
            far[i] = _sq_dist(points, i, centers, labels[i])
        for c in range(k):
            if mass[c] == 0.0:
                i = 0
                for m in range(1, n):
                    if far[m] > far[i]:
                        i = m
                far[i] = -1.0
                a = labels[i]
                mass[a] -= weights[i]
                for j in range(d):
                    sums[a, j] -= weights[i] * points[i, j]
                    sums[c, j] = weights[i] * points[i, j]
                mass[c] = weights[i]
                labels[i] = c
                upper[i] = np.inf  # look at it again
                lower[i] = 0.0
    shift = 0.0
    for c in range(k):
        step = 0.0
        if mass[c] > 0.0:
            for j in range(d):
                v = sums[c, j] / mass[c]
                step += (v - centers[c, j]) ** 2
                centers[c, j] = v
        shift += step
        moved[c] = np.sqrt(step)
    return shift


@kernel
def _inertia(points, weights, centers, labels):
    inertia = 0.0
    for i in range(points.shape[0]):
        inertia += weights[i] * _sq_dist(points, i, centers, labels[i])
    return inertia


def _state(n, k, d):
    """Work arrays of :func:`_move_centers`; bounds: nothing known yet."""
    return (
        np.zeros((k, d)),
        np.zeros(k),
        np.empty(n),
        np.zeros(k),
        np.full(n, np.inf),
        np.zeros(n),
    )


# The iterations are driven from Python (a few microseconds per step): a
# compiled loop around the two kernels would compile them a second time,
# about 0.5 s of a cold first fit, for nothing measurable when warm.


def _lloyd(points, weights, centers, labels, max_iter, tol, state, many, guessed):
    """Weighted Lloyd iterations in place; returns the number of iterations.

    Stops when no label changes or when the squared centre shift is at most
    ``tol`` (absolute), like :class:`sklearn.cluster.KMeans`. Few centres
    (``many`` False): :func:`_reassign` assigns, with two ``(k, k)`` tables,
    from the given ``labels`` (the nearest centres, or when ``guessed``
    labels near them, which a first pass makes exact). Many: buckets
    instead of tables (:mod:`skquant._kernels._lloyd_large`), which also
    give the first labels.
    """
    (n, _), k = points.shape, centers.shape[0]
    moved, upper, lower = state[3:]
    groups = groups_for(n, k)
    if many:
        first_labels(points, centers, labels, upper, lower)
        near, near_d = np.empty((1, k), np.int64), np.empty((1, k))

        def reassign(fresh):
            bounds = (upper, lower, moved, groups, near, near_d)
            return reassign_many(points, centers, labels, *bounds)
    else:
        order = np.tile(np.arange(k, dtype=np.int64), (k, 1))
        near_d = np.empty((k, k))

        def reassign(fresh, lowest=False):
            args = (order, near_d, upper, lower, moved, fresh, groups, lowest)
            return _reassign(points, centers, labels, *args)

        if guessed:  # upper is infinite: every point is searched
            reassign(True, lowest=True)  # ties as assign_labels
    n_iter = 0
    for it in range(max_iter):
        n_iter = it + 1
        shift = _move_centers(points, weights, centers, labels, state)
        if reassign(it == 0 and not guessed) == 0 or shift <= tol:
            break
    return n_iter


#: Bytes of the two ``(k, k)`` tables of :func:`_reassign` allowed; beyond
#: (k > 512), :func:`_lloyd` runs instead: the same iterations, faster
#: from about that size on (the first step sorts k rows of k centres). On
#: the pooled 12 MP photo: 2x faster at k = 1024, the tables 1.25x at 256.
LLOYD_TABLE_BYTES = 4 << 20


class Relabeller:
    """Nearest centres of fixed points, for one set of centres after another.

    The labels :func:`~skquant._kernels._assign.assign_labels` gives
    (exact; among equally near centres, the lowest index), found as the
    steps of :func:`lloyd_kmeans` find them: the first set of centres (and
    a set of another size) is searched from scratch; each next one from
    the labels of the previous, with Hamerly's bounds carried over and
    loosened by how far each centre moved since. A point whose bounds
    prove its centre still the nearest is not looked at; the others scan
    their centre's neighbours by increasing distance, stopping once no
    other can be nearer (Orchard's method). Any sequence of centres gives
    the exact labels; a sequence whose centres move little between calls
    (the rounds of a refinement) costs a fraction of searches from
    scratch.

    Parameters
    ----------
    points : ndarray of shape (n_points, n_features)
        Finite; checked (and copied to float64 C order if need be) once.

    Examples
    --------
    >>> import numpy as np
    >>> from skquant._kernels._lloyd import Relabeller
    >>> nearest = Relabeller(np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]))
    >>> nearest(np.array([[0.0, 0.0], [3.0, 0.0]])).tolist()
    [0, 0, 1]
    >>> nearest(np.array([[0.0, 0.0], [1.5, 0.0]])).tolist()
    [0, 1, 1]
    """

    def __init__(self, points):
        self.points = _checks.finite_points(points)
        self._box = None  # the points' range, for searches from scratch
        self._state = None  # centres, labels, bounds and work arrays

    def __call__(self, centers):
        """Labels (int32, a new array) of the points for ``centers``."""
        points = self.points
        centers = np.array(
            _checks.palette_for(centers, points.shape[1], "centers"),
            dtype=np.float64,
            order="C",
        )  # a copy: the next call measures how far they moved
        (n, _), k = points.shape, centers.shape[0]
        state = self._state
        if state is None or state[0].shape != centers.shape:
            if self._box is None:
                self._box = pixel_box(points, "rgb")[:2]
            labels = assign_labels(points, centers, box=self._box)
            if 2 * 8 * k * k > LLOYD_TABLE_BYTES:  # no (k, k) tables
                self._state = None
                return labels
            self._state = (
                centers,
                labels.copy(),
                np.full(n, np.inf),  # upper bounds: nothing known yet
                np.zeros(n),
                np.tile(np.arange(k, dtype=np.int64), (k, 1)),
                np.empty((k, k)),
                groups_for(n, k),
            )
            return labels
        previous, labels, upper, lower, order, near_d, groups = state
        moved = np.sqrt(((centers - previous) ** 2).sum(axis=1))
        args = (order, near_d, upper, lower, moved, True, groups, True)
        _reassign(points, centers, labels, *args)  # ties: the lowest index
        self._state = (centers, *state[1:])
        return labels.copy()


def lloyd_kmeans(points, weights, init, *, max_iter=300, tol=1e-4, labels=None):
    """Weighted Lloyd k-means from given centres, with exact assignments.

    The same iterations as :class:`sklearn.cluster.KMeans` with
    ``algorithm='lloyd'`` and ``init=init`` (same stopping rule, ``tol``
    relative to the mean variance of ``points``), faster on low-dimensional
    data such as colours because each step only compares a point with the
    neighbours of its previous centre. That needs two ``(k, k)`` tables;
    beyond ``LLOYD_TABLE_BYTES`` of them, the centres are sorted into
    buckets at each step instead (:mod:`skquant._kernels._lloyd_large`,
    the same exact iterations).

    Parameters
    ----------
    points : ndarray of shape (n_points, n_features)
    weights : ndarray of shape (n_points,) or None
    init : ndarray of shape (n_clusters, n_features)
        Initial centres, for example from :func:`sklearn.cluster.kmeans_plusplus`.
    max_iter : int, default=300
    tol : float, default=1e-4
    labels : ndarray of shape (n_points,) or None
        A guess of each point's nearest centre of ``init`` (for example
        from a coarser k-means): the first labels are searched from there
        (exact all the same), instead of on a grid of the centres; faster
        when most guesses are right or near.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), float64
    labels : ndarray of shape (n_points,), int32
    n_iter : int
    inertia : float
        Weighted sum of squared distances to the assigned centres.
    """
    points = _checks.finite_points(points)
    weights = _checks.weights_for(weights, points.shape[0], "weights")
    centers = np.array(
        _checks.palette_for(init, points.shape[1], "init"), dtype=np.float64, order="C"
    )
    if not (isinstance(max_iter, int | np.integer) and max_iter >= 1):
        raise ValueError(
            f"max_iter must be an integer >= 1, got max_iter={max_iter!r}."
        )
    tol_abs = float(np.mean(np.var(points, axis=0)) * tol) if tol else 0.0
    (n, d), k = points.shape, centers.shape[0]
    state = _state(n, k, d)
    many = 2 * 8 * k * k > LLOYD_TABLE_BYTES
    guessed = labels is not None and not many
    if guessed:
        labels = _checks.labels_for(labels, k).astype(np.int32)
        if labels.shape != (n,):
            raise ValueError(
                f"labels has shape {labels.shape}, expected ({n},) for {n} points."
            )
    elif many:
        labels = np.empty(n, np.int32)
    else:
        labels = assign_labels(points, centers)
    run = (points, weights, centers, labels, max_iter, tol_abs, state)
    n_iter = _lloyd(*run, many, guessed)
    inertia = _inertia(points, weights, centers, labels)
    return centers, labels, int(n_iter), float(inertia)
