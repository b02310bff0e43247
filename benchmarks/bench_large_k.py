"""Large palettes on a 12 MP photo: fit time, Lloyd steps and PSNR (issue 16).

The photo is :func:`_common.photo_12mp` (china.jpg upscaled to 4000 x 3000).
Two parts, each in this one process (the machine may be shared: compare
ratios, medians of ``--repeats``):

``fit``
    ``ColorQuantizer(n_colors=K, random_state=0).fit`` at K = 256, 1024,
    4096, 16384: median seconds, ``n_iter_`` and the PSNR of ``transform``.
    ``--lloyd-all`` raises ``skquant._kmeans.LLOYD_MAX_CLUSTERS`` so that
    every K runs skquant's compiled k-means++ and Lloyd (above 1024 colours
    the estimator otherwise hands the pooled histogram to scikit-learn's
    ``KMeans``, several minutes at K=16384).

``kernels``
    On the pooled histogram of the photo (about 50k weighted colours), the
    two kernels a large-K fit spends its time in, each against the former
    algorithm in the same process: :func:`skquant._kernels.kmeans_plusplus`
    with and without the grid of the points (``GRID_SEEDS``), and
    :func:`skquant._kernels.lloyd_kmeans` (buckets of centres) against
    Lloyd steps that assign with the grid search rebuilt every step (what
    ``lloyd_kmeans`` did above 2048 centres). The inertia of both Lloyd runs
    is printed: they are the same exact iterations.

Run::

    .venv/bin/python benchmarks/bench_large_k.py                  # both parts
    .venv/bin/python benchmarks/bench_large_k.py --part fit --lloyd-all
    .venv/bin/python benchmarks/bench_large_k.py --part kernels --ks 4096 16384
"""

import argparse
import sys
import time
import warnings

import numpy as np
from _common import median, photo_12mp, psnr

KS = (256, 1024, 4096, 16384)


def bench_fit(image, ks, repeats, lloyd_all):
    from skquant import ColorQuantizer, _kmeans

    if lloyd_all:
        _kmeans.LLOYD_MAX_CLUSTERS = max(ks)
    print(
        f"fit on {image.shape[1]} x {image.shape[0]} "
        f"({'lloyd for every K' if lloyd_all else 'as shipped'}), "
        f"median of {repeats}"
    )
    print(f"{'K':>6} {'fit s':>8} {'n_iter':>6} {'PSNR dB':>8}")
    for k in ks:  # compile every kernel of each path first
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ColorQuantizer(n_colors=k, random_state=0).fit(image[::16, ::16])
    for k in ks:
        times, model = [], None
        for _ in range(repeats):
            model = ColorQuantizer(n_colors=k, random_state=0)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(image)
            times.append(time.perf_counter() - start)
        out = model.transform(image)
        print(
            f"{k:>6} {median(times):>8.2f} {model.n_iter_:>6} {psnr(image, out):>8.2f}",
            flush=True,
        )


def _grid_lloyd(points, weights, init, max_iter=300, tol=1e-4):
    """Lloyd steps assigning with the grid search each step (the former way)."""
    from skquant._kernels import _grid, _lloyd, assign_labels

    centers = np.array(init, dtype=np.float64)
    labels = assign_labels(points, centers)
    tol_abs = float(np.mean(np.var(points, axis=0)) * tol)
    state = _lloyd._state(len(points), len(centers), points.shape[1])
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        shift = _lloyd._move_centers(points, weights, centers, labels, state)
        _grid._grid_cache.clear()
        new = assign_labels(points, centers)
        changed = np.count_nonzero(new != labels)
        labels[:] = new
        if changed == 0 or shift <= tol_abs:
            break
    return n_iter, float(_lloyd._inertia(points, weights, centers, labels))


def bench_kernels(image, ks, repeats):
    from skquant._histogram import pool
    from skquant._kernels import _seeding, kmeans_plusplus, lloyd_kmeans

    points, weights, _ = pool(image.reshape(-1, 3)).points()
    points = np.ascontiguousarray(points, dtype=np.float64)
    print(
        f"\nkernels on the pooled histogram ({len(points)} colours), median of "
        f"{repeats}"
    )
    print(
        f"{'K':>6} {'seed grid':>9} {'seed scan':>9} {'ratio':>6} "
        f"{'lloyd':>7} {'former':>7} {'ratio':>6} {'steps':>5} {'same inertia':>12}"
    )
    grid_seeds = _seeding.GRID_SEEDS
    # Compile every kernel first (the bucket Lloyd, both seedings).
    small, small_w = points[::8], weights[::8]
    warm, _ = kmeans_plusplus(
        small, grid_seeds, sample_weight=small_w, random_state=np.random.RandomState(0)
    )
    lloyd_kmeans(small, small_w, warm, max_iter=2)
    _grid_lloyd(small, small_w, warm, max_iter=2)
    for k in ks:
        seeded, scanned, lloyd, former = [], [], [], []
        for _ in range(repeats):
            _seeding.GRID_SEEDS = grid_seeds
            rng = np.random.RandomState(0)
            start = time.perf_counter()
            init, _ = kmeans_plusplus(
                points, k, sample_weight=weights, random_state=rng
            )
            seeded.append(time.perf_counter() - start)
            _seeding.GRID_SEEDS = 1 << 62
            start = time.perf_counter()
            kmeans_plusplus(points, k, sample_weight=weights, random_state=rng)
            scanned.append(time.perf_counter() - start)
            start = time.perf_counter()
            _, _, n_iter, inertia = lloyd_kmeans(points, weights, init)
            lloyd.append(time.perf_counter() - start)
            start = time.perf_counter()
            former_iter, former_inertia = _grid_lloyd(points, weights, init)
            former.append(time.perf_counter() - start)
        _seeding.GRID_SEEDS = grid_seeds
        same = n_iter == former_iter and np.isclose(inertia, former_inertia, rtol=1e-9)
        print(
            f"{k:>6} {median(seeded):>9.2f} {median(scanned):>9.2f} "
            f"{median(scanned) / median(seeded):>6.1f} {median(lloyd):>7.2f} "
            f"{median(former):>7.2f} {median(former) / median(lloyd):>6.1f} "
            f"{n_iter:>5} {str(same):>12}",
            flush=True,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["fit", "kernels", "both"], default="both")
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lloyd-all", action="store_true")
    args = parser.parse_args(argv)
    image = photo_12mp()
    if args.part in ("fit", "both"):
        bench_fit(image, args.ks, args.repeats, args.lloyd_all)
    if args.part in ("kernels", "both"):
        bench_kernels(image, args.ks, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
