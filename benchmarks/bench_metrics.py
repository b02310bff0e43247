"""How much faster is skquant's compiled mean CIEDE2000 than scikit-image's?

On the 12 MP photo (``_common.photo_12mp``) quantized by ColorQuantizer
(K=16 and K=256 mapped, K=16 with Floyd-Steinberg dithering, and the K=16
case as float32 in [0, 1]), in one process:

- ``skquant``: :func:`skquant.metrics.mean_delta_e` on the sRGB images
  (conversion to CIELAB included; compiled kernel, all threads), median of
  ``--repeats`` runs; ``1 thread``: the same under ``threadpool_limits(1)``;
- ``deltaE alone``: scikit-image's ``deltaE_ciede2000`` alone, on Lab
  values converted beforehand (the conversion is not timed), in chunks of
  65,536 pixels (faster for it than one call on 12 MP): the strictest
  reading of "faster than deltaE_ciede2000" (issue 14's target: 10x);
- ``rgb2lab+deltaE``: what ``mean_delta_e`` did before, ``rgb2lab`` of both
  images and ``deltaE_ciede2000`` on the same chunks (one run of each: it
  takes half a minute).

Ratios are scikit-image's seconds over skquant's: ``alone/skq`` and
``alone/1thr`` (deltaE alone against mean_delta_e with all threads and with
one), ``pipe/skq`` (the pipeline against all threads), and ``CPU alone/1thr``
and ``CPU pipe/1thr`` (CPU seconds of deltaE alone and of the pipeline over
those of mean_delta_e on one thread: the work each does, which a busy
shared machine disturbs less than wall time; with more processes than
cores, threads cannot help the wall time).
Also the difference of the mean from scikit-image's. The first call
(compilation or loading numba's cache) is timed apart, and the load
average is printed: on a shared machine, threads may not help.

Run: ``python benchmarks/bench_metrics.py [--quick] [--repeats 5]``
(``--quick``: a 3 MP photo).
"""

import argparse
import functools
import os
import time

import numpy as np
from _common import format_table, median, photo_12mp, repeat
from skimage.color import deltaE_ciede2000, rgb2lab
from threadpoolctl import threadpool_limits

from skquant import ColorQuantizer
from skquant.metrics import mean_delta_e

CHUNK = 1 << 16


def skimage_mean(true, test, scale):
    """scikit-image's pipeline, chunked as mean_delta_e was: the mean, the
    wall and CPU seconds of deltaE_ciede2000 alone, and of the pipeline."""
    true, test = true.reshape(-1, 3), test.reshape(-1, 3)
    total, delta_wall, delta_cpu = 0.0, 0.0, 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    for begin in range(0, true.shape[0], CHUNK):
        lab_true = rgb2lab(true[begin : begin + CHUNK] / scale)
        lab_test = rgb2lab(test[begin : begin + CHUNK] / scale)
        tick, cpu_tick = time.perf_counter(), time.process_time()
        total += float(np.sum(deltaE_ciede2000(lab_true, lab_test)))
        delta_wall += time.perf_counter() - tick
        delta_cpu += time.process_time() - cpu_tick
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return total / true.shape[0], (delta_wall, delta_cpu), (wall, cpu)


def cpu_seconds(func, repeats):
    """Median CPU seconds of the process over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        func()
        times.append(time.process_time() - start)
    return median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 MP photo")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    photo = photo_12mp(2000, 1500) if args.quick else photo_12mp()
    megapixels = photo.shape[0] * photo.shape[1] / 1e6
    start = time.perf_counter()
    mean_delta_e(photo[:64, :64], photo[:64, :64] // 2)
    mean_delta_e(photo[:64, :64] / 255.0, photo[:64, :64] / 510.0)
    first_call = time.perf_counter() - start

    cases = []
    for k, dither in [(16, None), (256, None), (16, "floyd-steinberg")]:
        quantizer = ColorQuantizer(k, dither=dither, random_state=0).fit(photo)
        cases.append((f"K={k}" + (" FS" if dither else ""), photo, quantizer, 255))
    as_float = (photo / 255.0).astype(np.float32)
    float_quantizer = ColorQuantizer(16, random_state=0).fit(as_float)
    cases.append(("K=16 float32", as_float, float_quantizer, 1.0))

    rows = []
    for name, image, quantizer, scale in cases:
        out = quantizer.transform(image)
        ours = mean_delta_e(image, out)
        run = functools.partial(mean_delta_e, image, out)
        seconds = median(repeat(run, args.repeats))
        with threadpool_limits(1):
            one = median(repeat(run, args.repeats))
            one_cpu = cpu_seconds(run, args.repeats)
        reference, (delta_only, delta_cpu), (pipeline, pipeline_cpu) = skimage_mean(
            image, out, scale
        )
        rows.append(
            [
                name,
                f"{ours:.4f}",
                f"{abs(ours - reference):.1e}",
                f"{seconds:.3f}",
                f"{one:.3f}",
                f"{delta_only:.2f}",
                f"{delta_only / seconds:.1f}x",
                f"{delta_only / one:.1f}x",
                f"{pipeline:.2f}",
                f"{pipeline / seconds:.0f}x",
                f"{delta_cpu / one_cpu:.1f}x",
                f"{pipeline_cpu / one_cpu:.1f}x",
            ]
        )
    print(
        f"mean CIEDE2000 on a {megapixels:.1f} MP photo (seconds; medians of "
        f"{args.repeats}; first call {first_call:.2f} s; {os.cpu_count()} CPUs, "
        "load average %.1f %.1f %.1f)" % os.getloadavg()
    )
    print(
        format_table(
            [
                "case",
                "mean dE",
                "|diff|",
                "skquant",
                "1 thread",
                "deltaE alone",
                "alone/skq",
                "alone/1thr",
                "rgb2lab+deltaE",
                "pipe/skq",
                "CPU alone/1thr",
                "CPU pipe/1thr",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
