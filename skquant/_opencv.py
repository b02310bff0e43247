"""``cv2.kmeans`` as a fitter.

OpenCV's k-means draws its initial centres from a process-global random number
generator, so two fits with the same ``random_state`` would differ. Here every
attempt is seeded by us instead: centres come from
:func:`skquant._kernels.kmeans_plusplus` (scikit-learn's algorithm, compiled)
or a seeded random choice of points, are turned into initial labels, and
OpenCV runs one attempt from those labels
(``KMEANS_USE_INITIAL_LABELS``). The best attempt by compactness wins, as in
``cv2.kmeans(..., attempts=n_init)``.

``cv2.kmeans`` does not report how many iterations it ran, so each attempt
drives OpenCV one Lloyd step per call (labels in, labels and centres out) and
stops on the same criteria OpenCV uses: ``max_iter`` steps, or no centre
moving by more than ``epsilon``, or labels that no longer change.
"""

import cv2
import numpy as np

from skquant._kernels import assign_labels, initial_centers


def kmeans_opencv(X, n_clusters, *, init, n_init, max_iter, tol, random_state):
    """Fit k-means with ``cv2.kmeans``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Working-space points; at least ``n_clusters`` distinct rows.
    n_clusters, n_init, max_iter : int
    init : {'k-means++', 'random'} or ndarray of shape (n_clusters, n_features)
    tol : float
        Relative tolerance as in scikit-learn: OpenCV stops when no centre
        moves by more than ``sqrt(tol * mean(var(X)))``.
    random_state : numpy.random.RandomState

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), float64
    labels : ndarray of shape (n_samples,), int32
    inertia : float
        OpenCV's compactness (sum of squared distances to the centres).
    n_iter : int
        Lloyd steps of the best attempt.
    """
    data = np.ascontiguousarray(X, dtype=np.float32)
    epsilon = float(np.sqrt(tol * np.mean(np.var(data, axis=0, dtype=np.float64))))
    n_attempts = 1 if not isinstance(init, str) else n_init
    # Seeds are drawn from float64 points, as for the sklearn backend.
    seed_data = np.asarray(X, dtype=np.float64)
    best = None
    for _ in range(n_attempts):
        start = initial_centers(
            seed_data, n_clusters, init=init, random_state=random_state
        )
        labels = assign_labels(data, start.astype(np.float32)).reshape(-1, 1)
        result = _lloyd_steps(data, n_clusters, labels, start, max_iter, epsilon)
        if best is None or result[0] < best[0]:
            best = result
    compactness, labels, centers, n_iter = best
    return (
        centers.astype(np.float64),
        labels.ravel().astype(np.int32),
        float(compactness),
        n_iter,
    )


def _lloyd_steps(data, n_clusters, labels, centers, max_iter, epsilon):
    """Run ``cv2.kmeans`` one Lloyd step at a time, counting the steps."""
    one_step = (cv2.TERM_CRITERIA_MAX_ITER, 1, 0.0)
    centers = np.asarray(centers, dtype=np.float32)
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        compactness, new_labels, new_centers = cv2.kmeans(
            data, n_clusters, labels.copy(), one_step, 1, cv2.KMEANS_USE_INITIAL_LABELS
        )
        shift = float(np.max(np.sum((new_centers - centers) ** 2, axis=1)))
        converged = shift <= epsilon**2 or np.array_equal(new_labels, labels)
        labels, centers = new_labels, new_centers
        if converged:
            break
    return compactness, labels, centers, n_iter
