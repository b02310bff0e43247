"""k-means runners: scikit-learn, OpenCV, and Lloyd around fixed colours.

All functions take working-space points ``(n_points, n_channels)`` with optional
weights and return ``(centers, labels, n_iter, inertia)`` with centres in the
working space (float64), labels of the points (int32), the iteration count of
the best run and its weighted inertia.
"""

import contextlib

import numpy as np
from threadpoolctl import threadpool_limits

from skquant._kernels import (
    assign_labels,
    initial_centers,
    kmeans_plusplus,
    lloyd_kmeans,
)

#: Up to this many points, KMeans runs on one OpenMP thread (see run_kmeans).
SMALL_FIT_POINTS = 200_000

#: Up to this many channels and clusters, the sklearn backend runs its Lloyd
#: iterations in :func:`~skquant._kernels.lloyd_kmeans` (pruned by the distances
#: between centres, a K x K table up to 512 centres, a grid of the centres
#: beyond) after skquant's k-means++ seeding (through a grid of the points
#: from 2048 seeds); more clusters go to scikit-learn's KMeans.
LLOYD_MAX_FEATURES = 4
LLOYD_MAX_CLUSTERS = 16384

#: Points drawn (with probability proportional to weight) for OpenCV, which
#: takes no weights.
OPENCV_RESAMPLE = 100_000


def single_thread_if_small(n_points):
    """One OpenMP/BLAS thread for small fits (a pooled histogram).

    Thread barriers and BLAS calls on a few thousand points cost more than
    they save, ten times more on a busy machine; large fits keep the
    caller's limits.
    """
    if n_points <= SMALL_FIT_POINTS:
        return threadpool_limits(limits=1)
    return contextlib.nullcontext()


def run_kmeans(
    points, weights, n_clusters, *, backend, init, n_init, max_iter, tol, rng
):
    """Weighted k-means with the chosen backend."""
    if backend == "opencv":
        from skquant._opencv import kmeans_opencv  # OpenCV loads when used

        if weights is not None:
            # cv2.kmeans has no weights: draw points in proportion to them.
            idx = rng.choice(
                len(points),
                size=max(OPENCV_RESAMPLE, n_clusters),
                replace=True,
                p=weights / weights.sum(),
            )
            sample = points[idx]
        else:
            sample = points
        # No threadpool_limits here: cv2.kmeans runs on OpenCV's own threads,
        # which it does not limit, and building one costs 10 ms (a scan of
        # the loaded libraries), 5 % of a fit on 100k pixels at K=16.
        centers, labels, inertia, n_iter = kmeans_opencv(
            sample,
            n_clusters,
            init=init,
            n_init=n_init,
            max_iter=max_iter,
            tol=tol,
            random_state=rng,
        )
        if weights is not None:
            labels = assign_labels(points, centers)
        return centers, labels, n_iter, inertia

    if points.shape[1] <= LLOYD_MAX_FEATURES and n_clusters <= LLOYD_MAX_CLUSTERS:
        return _kmeans_lloyd(
            points,
            weights,
            n_clusters,
            init=init,
            n_init=n_init,
            max_iter=max_iter,
            tol=tol,
            rng=rng,
        )
    from sklearn.cluster import KMeans  # many channels or colours only

    km = KMeans(
        n_clusters=n_clusters,
        init=init,
        n_init=n_init if isinstance(init, str) else 1,
        max_iter=max_iter,
        tol=tol,
        random_state=rng.randint(np.iinfo(np.int32).max),
    )
    with single_thread_if_small(len(points)):
        km.fit(points, sample_weight=weights)
    return (
        km.cluster_centers_.astype(np.float64),
        km.labels_.astype(np.int32),
        int(km.n_iter_),
        float(km.inertia_),
    )


def _kmeans_lloyd(points, weights, n_clusters, *, init, n_init, max_iter, tol, rng):
    """What ``KMeans(algorithm='lloyd').fit`` does, with a faster Lloyd loop.

    Seeds are drawn as :class:`~sklearn.cluster.KMeans` draws them (one
    ``RandomState`` from ``rng`` for all ``n_init`` runs, weighted
    k-means++), so a fit keeps its palette; the iterations run in
    :func:`~skquant._kernels.lloyd_kmeans`, which gives the same centres and
    labels as scikit-learn's, several times faster on colours. The run with
    the lowest inertia wins.
    """
    seeds = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
    n_runs = n_init if isinstance(init, str) else 1
    best = None
    # Compiled single-threaded loops, no BLAS or OpenMP: no thread limits to set.
    for _ in range(n_runs):
        start = initial_centers(
            points,
            n_clusters,
            init=init,
            random_state=seeds,
            sample_weight=weights,
        )
        result = lloyd_kmeans(points, weights, start, max_iter=max_iter, tol=tol)
        if best is None or result[3] < best[3]:
            best = result
    return best


def lloyd_with_fixed(points, weights, n_clusters, fixed, *, init, max_iter, tol, rng):
    """Weighted Lloyd iterations where the first ``len(fixed)`` centres never move.

    Parameters
    ----------
    points : ndarray of shape (n_points, n_channels), float64
    weights : ndarray of shape (n_points,) or None
    n_clusters : int
        Total number of centres, fixed ones included.
    fixed : ndarray of shape (n_fixed, n_channels)
        Centres that stay where they are (working space).
    init : ndarray of shape (n_clusters - n_fixed, n_channels) or None
        Starting positions of the free centres; k-means++ around the fixed
        ones when None.
    """
    points = np.asarray(points, dtype=np.float64)
    weights = np.ones(len(points)) if weights is None else np.asarray(weights, float)
    n_fixed = len(fixed)
    n_free = n_clusters - n_fixed
    if init is None:
        free, _ = kmeans_plusplus(
            points, n_free, sample_weight=weights, random_state=rng, existing=fixed
        )
        centers = np.concatenate([fixed, free]).astype(np.float64)
    else:
        centers = np.concatenate([fixed, init]).astype(np.float64)
    threshold = tol * float(np.mean(np.var(points, axis=0)))
    n_iter = 0
    labels = assign_labels(points, centers)
    while n_iter < max_iter:
        n_iter += 1
        mass = np.bincount(labels, weights=weights, minlength=len(centers))
        sums = np.stack(
            [
                np.bincount(
                    labels, weights=weights * points[:, j], minlength=len(centers)
                )
                for j in range(points.shape[1])
            ],
            axis=1,
        )
        new = centers.copy()
        moving = np.arange(len(centers)) >= n_fixed
        filled = moving & (mass > 0)
        new[filled] = sums[filled] / mass[filled, None]
        shift = float(((new - centers) ** 2).sum())
        centers = new
        labels = assign_labels(points, centers)
        if shift <= threshold:
            break
    d2 = ((points - centers[labels]) ** 2).sum(-1)
    return centers, labels, n_iter, float(np.dot(weights, d2))
