"""``cv2.kmeans`` as a fitter: one OpenCV call per attempt.

OpenCV's k-means draws its initial centres from a process-global random number
generator, so two fits with the same ``random_state`` would differ. Here every
attempt is seeded by skquant instead: centres come from
:func:`skquant._kernels.kmeans_plusplus` (scikit-learn's algorithm, compiled)
or a seeded random choice of points, are turned into initial labels (each
point's nearest seed), and OpenCV runs the whole attempt from those labels in
one call (``KMEANS_USE_INITIAL_LABELS``, ``attempts=1``). The attempt with the
lowest compactness wins, as in ``cv2.kmeans(..., attempts=n_init)``.

Criteria
    ``max_iter`` becomes the criteria's count and ``tol`` its epsilon.
    OpenCV's epsilon is absolute: it stops once no centre moves by more than
    ``epsilon`` (a Euclidean distance, in the units of the points) in one
    iteration. ``tol`` is relative, as in scikit-learn (the squared shift of
    the centres against the mean per-feature variance of the data), so it is
    converted to ``epsilon = sqrt(tol * mean(var(X, axis=0)))``: the same
    test as scikit-learn's, applied to the largest centre shift instead of the
    sum over all centres. ``tol=0`` gives ``epsilon=0`` (stop only when no
    centre moves, or after ``max_iter`` iterations). OpenCV runs at least 2
    iterations whatever ``max_iter`` says.

Iteration count
    ``cv2.kmeans`` does not report how many iterations it ran. ``n_iter`` is
    therefore the count OpenCV was allowed, ``max(max_iter, 2)``: an upper
    bound, not the count (it is not a sign that the run did not converge).
"""

import cv2
import numpy as np

from skquant._kernels import assign_labels, initial_centers


def opencv_criteria(max_iter, tol, data):
    """``(type, max_count, epsilon)`` for ``cv2.kmeans`` from max_iter and tol.

    ``epsilon = sqrt(tol * mean(var(data, axis=0)))`` in the units of ``data``.
    """
    epsilon = float(np.sqrt(tol * mean_variance(data)))
    return (
        cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS,
        int(max_iter),
        epsilon,
    )


def mean_variance(data):
    """``mean(var(data, axis=0))`` in float64, for any real ``data`` (n, d).

    Each feature is copied into its own contiguous float64 row, centred, and
    its squares summed with ``einsum``: 10x less time than
    ``np.var(data, axis=0, dtype=np.float64)`` on pixel rows (which reduces
    across rows three values wide), the same value to rounding (two passes,
    pairwise sums).
    """
    columns = np.array(np.asarray(data).T, dtype=np.float64, order="C")
    columns -= columns.mean(axis=1, keepdims=True)
    return float(np.einsum("ij,ij->", columns, columns) / columns.size)


def kmeans_opencv(X, n_clusters, *, init, n_init, max_iter, tol, random_state):
    """Fit k-means with ``cv2.kmeans``, one call per attempt.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Working-space points; at least ``n_clusters`` distinct rows.
    n_clusters, n_init, max_iter : int
    init : {'k-means++', 'random'} or ndarray of shape (n_clusters, n_features)
    tol : float
        Relative tolerance as in scikit-learn, converted to OpenCV's absolute
        epsilon by :func:`opencv_criteria`.
    random_state : numpy.random.RandomState

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), float64
    labels : ndarray of shape (n_samples,), int32
        OpenCV's labels: its last assignment, from which the final centres
        were computed (OpenCV does not reassign after the last update).
    inertia : float
        OpenCV's compactness: the sum of squared distances of the points to
        the final centres of their labels.
    n_iter : int
        ``max(max_iter, 2)``, the iterations OpenCV was allowed (it does not
        report how many it ran).
    """
    data = np.ascontiguousarray(X, dtype=np.float32)
    criteria = opencv_criteria(max_iter, tol, data)
    n_attempts = 1 if not isinstance(init, str) else n_init
    # Seeds are drawn from float64 points, as for the sklearn backend.
    seed_data = np.asarray(X, dtype=np.float64)
    best = None
    for _ in range(n_attempts):
        start = initial_centers(
            seed_data, n_clusters, init=init, random_state=random_state
        )
        labels = assign_labels(data, start.astype(np.float32)).reshape(-1, 1)
        result = cv2.kmeans(
            data, n_clusters, labels, criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS
        )
        if best is None or result[0] < best[0]:
            best = result
    compactness, labels, centers = best
    return (
        centers.astype(np.float64),
        labels.ravel().astype(np.int32),
        float(compactness),
        max(int(max_iter), 2),
    )
