"""Is ``ColorQuantizer(backend='opencv').fit`` as fast as one ``cv2.kmeans`` call?

For each case and seed ``s``, in one process, times

- "fit": ``ColorQuantizer(n_colors, backend='opencv', n_init=n, random_state=s)
  .fit(image)`` (validation, sampling, skquant's k-means++ seeding, one
  ``cv2.kmeans`` call per attempt, palette);
- "PP": one ``cv2.kmeans(pixels, n_colors, None, criteria, n,
  cv2.KMEANS_PP_CENTERS)`` call, OpenCV seeding itself (its RNG seeded with
  ``s``): what a user of the OpenCV tutorial would run, with the same
  criteria, attempts and the k-means++ seeding the fit does too. fit / PP
  is the 1.2x target;
- "same labels" (``n_init=1``): one ``cv2.kmeans(pixels, n_colors, labels,
  criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS)`` call on the same pixels (the
  fit's sample when it draws one), the same criteria
  (``opencv_criteria(max_iter, tol)``, the conversion the fit uses), the same
  flags and the same initial labels as the fit's: OpenCV does exactly the
  fit's iterations, so fit / same labels is skquant's whole overhead
  (sampling, k-means++ seeding, initial labels, validation, palette), paired
  seed by seed.

The three are interleaved seed by seed, in an order that rotates from seed
to seed (none always runs first). A seed's iteration count differs between
the fit (skquant's seeds) and PP (OpenCV's), and one call takes 0.3 to 1 s
by seed on china at K=16: fit / PP is the ratio of the medians over the
seeds, with a 90 % bootstrap interval (seeds resampled) that shows how far
the seeds alone move it. The cheap cases (K=16, one attempt), where
skquant's overhead weighs most, run ``3 * repeats`` seeds.

``--one-thread`` runs OpenCV, numba and BLAS on one thread and times CPU
(``time.process_time``), which other processes on a shared machine barely
move; the default times wall-clock seconds with every library's default
threads (what a user sees on an idle machine). The load average is printed
before and after.

Run from the repository root: ``python benchmarks/bench_opencv.py
[--repeats 7] [--one-thread] [--cases china]``.
"""

import argparse
import contextlib
import os
import time

import cv2
import numpy as np
from _common import median, photo_12mp, sample_photos

from skquant import ColorQuantizer
from skquant._engine import check_random_state, sample_indices
from skquant._engine._learn import AUTO_SAMPLE_SIZE
from skquant._kernels import assign_labels, initial_centers
from skquant._opencv import opencv_criteria

#: Bootstrap resamples of the seeds for the interval of fit / PP.
BOOTSTRAP = 2000


def fit_start(image, n_colors, sample_size, seed):
    """The fit's pixels (float32) and initial labels (its first attempt)."""
    rng = check_random_state(seed)
    pixels = image.reshape(-1, image.shape[-1])
    if sample_size is not None and sample_size < len(pixels):
        pixels = pixels[np.sort(sample_indices(len(pixels), sample_size, rng))]
    seeds = initial_centers(
        pixels.astype(np.float64), n_colors, init="k-means++", random_state=rng
    )
    data = pixels.astype(np.float32)
    return data, assign_labels(data, seeds.astype(np.float32)).reshape(-1, 1)


def ratio_interval(fit, raw, rng):
    """5th and 95th percentiles of median(fit) / median(raw), seeds resampled."""
    fit, raw = np.asarray(fit), np.asarray(raw)
    picks = rng.integers(0, len(fit), size=(BOOTSTRAP, len(fit)))
    ratios = np.median(fit[picks], axis=1) / np.median(raw[picks], axis=1)
    return np.percentile(ratios, [5, 95])


def run_case(case, seeds, clock, max_iter=300, tol=1e-4):
    """Times of the case's calls over ``seeds``; prints one line, returns fit/PP."""
    name, image, n_colors, n_init, sample_size = case
    times = {"fit": [], "PP": [], "same": []}
    for seed in seeds:
        data, labels = fit_start(image, n_colors, sample_size, seed)
        criteria = opencv_criteria(max_iter, tol, data)
        est = ColorQuantizer(
            n_colors,
            backend="opencv",
            n_init=n_init,
            max_iter=max_iter,
            tol=tol,
            sample_size=sample_size,
            random_state=seed,
        )
        calls = {
            "fit": lambda est=est: est.fit(image),
            "PP": lambda data=data, criteria=criteria: cv2.kmeans(
                data, n_colors, None, criteria, n_init, cv2.KMEANS_PP_CENTERS
            ),
        }
        if n_init == 1:
            calls["same"] = lambda data=data, labels=labels, criteria=criteria: (
                cv2.kmeans(
                    data,
                    n_colors,
                    labels,
                    criteria,
                    1,
                    cv2.KMEANS_USE_INITIAL_LABELS,
                )
            )
        order = list(calls)
        order = order[seed % len(order) :] + order[: seed % len(order)]
        for key in order:
            cv2.setRNGSeed(seed)
            start = clock()
            calls[key]()
            times[key].append(clock() - start)
    fit, raw = median(times["fit"]), median(times["PP"])
    low, high = ratio_interval(times["fit"], times["PP"], np.random.default_rng(0))
    line = (
        f"{name:<31} {len(seeds):>3} seeds | fit {fit * 1e3:7.1f} ms"
        f" | PP {raw * 1e3:7.1f} ms | fit/PP {fit / raw:4.2f}"
        f" [{low:4.2f}-{high:4.2f}]"
    )
    if times["same"]:
        overhead = np.array(times["fit"]) / np.array(times["same"])
        line += (
            f" | same labels {median(times['same']) * 1e3:7.1f} ms,"
            f" fit/same median {np.median(overhead):4.2f} worst {overhead.max():4.2f}"
        )
    print(line, flush=True)
    return fit / raw


@contextlib.contextmanager
def one_thread():
    """OpenCV, numba and BLAS/OpenMP on one thread each."""
    import numba
    from threadpoolctl import threadpool_limits

    cv2_threads, numba_threads = cv2.getNumThreads(), numba.get_num_threads()
    cv2.setNumThreads(1)
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        cv2.setNumThreads(cv2_threads)
        numba.set_num_threads(numba_threads)


def load():
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="seeds per case")
    parser.add_argument(
        "--one-thread",
        action="store_true",
        help="one thread everywhere, CPU seconds (steady on a shared machine)",
    )
    parser.add_argument(
        "--cases", nargs="*", help="run only the cases whose name holds one of these"
    )
    args = parser.parse_args()
    china = sample_photos()["china"]
    big = photo_12mp()
    cases = [
        ("china K=16 all pixels", china, 16, 1, None),
        ("china K=64 all pixels", china, 64, 1, None),
        ("china K=16 all pixels n_init=3", china, 16, 3, None),
        ("12 MP K=16 sample 100k (auto)", big, 16, 1, AUTO_SAMPLE_SIZE),
        ("12 MP K=64 sample 100k (auto)", big, 64, 1, AUTO_SAMPLE_SIZE),
        ("12 MP K=256 sample 100k (auto)", big, 256, 1, AUTO_SAMPLE_SIZE),
    ]
    if args.cases:
        cases = [c for c in cases if any(word in c[0] for word in args.cases)]
    clock = time.process_time if args.one_thread else time.perf_counter
    threads = one_thread() if args.one_thread else contextlib.nullcontext()
    print(
        f"{'one thread, CPU' if args.one_thread else 'default threads, wall'} time;"
        f" load average {load()}"
    )
    ratios = {}
    with threads:
        # warm up: compiled kernels, OpenCV's thread pool
        ColorQuantizer(8, backend="opencv", random_state=0).fit(china)
        for case in cases:
            n_colors, n_init = case[2], case[3]
            cheap = n_colors <= 16 and n_init == 1
            seeds = range(args.repeats * (3 if cheap else 1))
            ratios[case[0]] = run_case(case, seeds, clock)
    worst = max(ratios, key=ratios.get)
    print(
        f"fit / PP over the cases: median {median(list(ratios.values())):.2f},"
        f" worst {ratios[worst]:.2f} ({worst}); target <= 1.2;"
        f" load average {load()}"
    )


if __name__ == "__main__":
    main()
