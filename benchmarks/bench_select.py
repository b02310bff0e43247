"""How fast does select_n_colors find the fewest colours reaching a target?

Compares, in one process and on the same photos, ``skquant.select_n_colors``
with two plain searches that fit a ColorQuantizer on all pixels for every
candidate K and score it on all pixels:

- "scan": K = 2, 3, 4, ... until the target is reached (the naive grid search
  that gives the same answer granularity);
- "bisect": bisection over K in [1, 256] with full fits (a smarter plain search).

Run: ``python benchmarks/bench_select.py [--quick]``. Prints K found, time
(median of repeats) and the ratio of each search's time to select_n_colors'.
"""

import argparse
import statistics
import time

import cv2
from skimage import data
from sklearn.datasets import load_sample_image

from skquant import ColorQuantizer, select_n_colors
from skquant.metrics import peak_signal_noise_ratio


def full_quality(image, k):
    q = ColorQuantizer(k, random_state=0).fit(image)
    return peak_signal_noise_ratio(image, q.transform(image))


def scan(image, target, max_colors=256):
    for k in range(2, max_colors + 1):
        if full_quality(image, k) >= target:
            return k
    return max_colors


def bisect(image, target, max_colors=256):
    lo, hi = 1, max_colors
    while lo < hi:
        mid = (lo + hi) // 2
        if full_quality(image, mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def timed(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one photo, one target")
    parser.add_argument(
        "--large", action="store_true", help="china.jpg resized to 12 MP, PSNR >= 30"
    )
    args = parser.parse_args()
    photos = {"china": load_sample_image("china.jpg"), "astronaut": data.astronaut()}
    targets = [30.0] if args.quick or args.large else [28.0, 30.0, 33.0]
    if args.quick:
        photos = {"china": photos["china"]}
    if args.large:
        big = cv2.resize(photos["china"], (4000, 3000), interpolation=cv2.INTER_CUBIC)
        photos = {"china-12MP": big}
    repeats = 1 if args.quick else 3
    print(
        f"{'photo':<10} {'PSNR>=':>6} {'method':<15} {'K':>4} "
        f"{'time s':>8} {'ratio':>6}"
    )
    for name, image in photos.items():
        for target in targets:
            (q, t_sel) = timed(
                lambda image=image, target=target: select_n_colors(
                    image, min_psnr=target, random_state=0
                ),
                repeats,
            )
            rows = [("select_n_colors", q.n_colors_, t_sel)]
            k, t = timed(lambda image=image, target=target: bisect(image, target), 1)
            rows.append(("bisect (full)", k, t))
            if target <= 30.0:  # the scan takes minutes beyond that
                k, t = timed(lambda image=image, target=target: scan(image, target), 1)
                rows.append(("scan (full)", k, t))
            for method, k, t in rows:
                print(
                    f"{name:<10} {target:>6.1f} {method:<15} {k:>4d} {t:>8.2f} "
                    f"{t / t_sel:>6.1f}"
                )
    print("ratio = time / select_n_colors time (median of repeats for select_n_colors)")


if __name__ == "__main__":
    main()
