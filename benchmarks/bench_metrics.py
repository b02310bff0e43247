"""How much faster is skquant's compiled mean CIEDE2000 than scikit-image's?

On the 12 MP photo (``_common.photo_12mp``) quantized by ColorQuantizer
(K=16 and K=256 mapped, K=16 with Floyd-Steinberg dithering, and the K=16
case as float32 in [0, 1]; ``--cases`` picks some), in one process:

- ``skquant``: :func:`skquant.metrics.mean_delta_e` on the sRGB images
  (conversion to CIELAB included; compiled kernel, all threads);
  ``1 thread``: the same under ``threadpool_limits(1)``;
- ``deltaE alone``: scikit-image's ``deltaE_ciede2000`` alone, on Lab
  values converted beforehand (the conversion is not timed), in chunks of
  65,536 pixels (faster for it than one call on 12 MP): the strictest
  reading of "faster than deltaE_ciede2000" (issue 14's target: 10x);
- ``rgb2lab+deltaE``: what ``mean_delta_e`` did before, ``rgb2lab`` of both
  images and ``deltaE_ciede2000`` on the same chunks (the same pass).

The three are interleaved, ``--repeats`` rounds of (skquant, 1 thread,
scikit-image), so that a shared machine's load falls on all of them alike;
each ratio is the median over the rounds of scikit-image's seconds over
skquant's in that round: ``alone/skq`` and ``alone/1thr`` (deltaE alone
against mean_delta_e with all threads and with one), ``pipe/skq`` (the
pipeline against all threads), and ``CPU alone/1thr`` and ``CPU pipe/1thr``
(CPU seconds of deltaE alone and of the pipeline over those of
mean_delta_e on one thread: the work each does, which a busy shared
machine disturbs less than wall time; with more processes than cores,
threads cannot help the wall time). Times are medians. Also the difference
of the mean from scikit-image's. The first call (compilation or loading
numba's cache) is timed apart, and the load average is printed.

Run: ``python benchmarks/bench_metrics.py [--quick] [--repeats 3]
[--cases k16 k256 k16fs float32]`` (``--quick``: a 3 MP photo; one
scikit-image pass takes about 20 s on 12 MP on a quiet machine).
"""

import argparse
import functools
import os
import time

import numpy as np
from _common import format_table, median, photo_12mp
from skimage.color import deltaE_ciede2000, rgb2lab
from threadpoolctl import threadpool_limits

from skquant import ColorQuantizer
from skquant.metrics import mean_delta_e

CHUNK = 1 << 16


def skimage_mean(true, test, scale):
    """scikit-image's pipeline, chunked as mean_delta_e was: the mean, the
    wall and CPU seconds of deltaE_ciede2000 alone, and of the pipeline.
    In float64 as mean_delta_e computes (rgb2lab keeps float32 as float32,
    a reference off by about 1e-6 on the float32 case)."""
    true, test = true.reshape(-1, 3), test.reshape(-1, 3)
    total, delta_wall, delta_cpu = 0.0, 0.0, 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    for begin in range(0, true.shape[0], CHUNK):
        lab_true = rgb2lab(true[begin : begin + CHUNK].astype(np.float64) / scale)
        lab_test = rgb2lab(test[begin : begin + CHUNK].astype(np.float64) / scale)
        tick, cpu_tick = time.perf_counter(), time.process_time()
        total += float(np.sum(deltaE_ciede2000(lab_true, lab_test)))
        delta_wall += time.perf_counter() - tick
        delta_cpu += time.process_time() - cpu_tick
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return total / true.shape[0], (delta_wall, delta_cpu), (wall, cpu)


def timed(func):
    """Wall and CPU seconds of one call of ``func()``."""
    start, cpu_start = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - start, time.process_time() - cpu_start


CASES = {
    "k16": ("K=16", 16, None),
    "k256": ("K=256", 256, None),
    "k16fs": ("K=16 FS", 16, "floyd-steinberg"),
    "float32": ("K=16 float32", 16, None),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 MP photo")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--cases", nargs="+", choices=sorted(CASES), default=list(CASES)
    )
    args = parser.parse_args()

    photo = photo_12mp(2000, 1500) if args.quick else photo_12mp()
    megapixels = photo.shape[0] * photo.shape[1] / 1e6
    start = time.perf_counter()
    mean_delta_e(photo[:64, :64], photo[:64, :64] // 2)
    mean_delta_e(photo[:64, :64] / 255.0, photo[:64, :64] / 510.0)
    first_call = time.perf_counter() - start

    cases = []
    for key in args.cases:
        name, k, dither = CASES[key]
        image, scale = photo, 255
        if key == "float32":
            image, scale = (photo / 255.0).astype(np.float32), 1.0
        quantizer = ColorQuantizer(k, dither=dither, random_state=0).fit(image)
        cases.append((name, image, quantizer, scale))

    rows = []
    for name, image, quantizer, scale in cases:
        out = quantizer.transform(image)
        ours = mean_delta_e(image, out)
        run = functools.partial(mean_delta_e, image, out)
        walls, ones, one_cpus, alones, alone_cpus, pipes, pipe_cpus = (
            [] for _ in range(7)
        )
        for _ in range(args.repeats):  # interleaved: the same load on each
            walls.append(timed(run)[0])
            with threadpool_limits(1):
                one, one_cpu = timed(run)
            ones.append(one)
            one_cpus.append(one_cpu)
            reference, (alone, alone_cpu), (pipe, pipe_cpu) = skimage_mean(
                image, out, scale
            )
            alones.append(alone)
            alone_cpus.append(alone_cpu)
            pipes.append(pipe)
            pipe_cpus.append(pipe_cpu)

        def ratio(num, den):
            return median([a / b for a, b in zip(num, den, strict=True)])

        rows.append(
            [
                name,
                f"{ours:.4f}",
                f"{abs(ours - reference):.1e}",
                f"{median(walls):.3f}",
                f"{median(ones):.3f}",
                f"{median(alones):.2f}",
                f"{ratio(alones, walls):.1f}x",
                f"{ratio(alones, ones):.1f}x",
                f"{median(pipes):.2f}",
                f"{ratio(pipes, walls):.0f}x",
                f"{ratio(alone_cpus, one_cpus):.1f}x",
                f"{ratio(pipe_cpus, one_cpus):.1f}x",
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
