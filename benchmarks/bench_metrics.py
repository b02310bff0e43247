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

- ``no memo``: ``1 thread`` with the memo of 8-bit pairs paused for good
  (every difference computed), and ``memo hits``, the share of the pixels
  whose difference the memo found (``memo x``: CPU seconds without the
  memo over those with it, on one thread).

``--image`` picks the 12 MP image: ``china`` (the default, upscaled: many
repeated pairs), ``mosaic`` (:func:`photo_mosaic`: crops of 11 real photos
at their own size, no upscaling) or ``noise`` (uniform noise: no pair
repeats, the memo's worst case).

The four are interleaved, ``--repeats`` rounds of (skquant, 1 thread, no
memo, scikit-image), so that a shared machine's load falls on all of them alike;
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
[--cases k16 k256 k16fs float32] [--image china|mosaic|noise]``
(``--quick``: 3 MP; one scikit-image pass takes about 20 s on 12 MP on a
quiet machine).

``--dtypes`` measures instead what the image's dtype costs: each case's
photo as uint8, as float32 and as float64 (``photo / 255``, as
``skimage.img_as_float`` gives it), each quantized by its own
``ColorQuantizer`` (the float ones give float palettes), and
``mean_delta_e`` timed on all three, interleaved (uint8, float32, float64
in every round, each also with its memo paused for good), all threads:
median seconds, the medians of the per-round ratios ``f32/u8`` and
``f64/u8``, the share of pixels each memo found, ``memo x`` (seconds
without the memo over seconds with it), and
the largest relative difference of the float means from
scikit-image's (on float64 Lab of the same values). ``--megapixels 6``
or ``12`` sizes the image (default 12; ``--quick`` 3).
"""

import argparse
import functools
import os
import time

import numpy as np
from _common import format_table, median, photo_12mp, sample_photos
from skimage.color import deltaE_ciede2000, rgb2lab
from threadpoolctl import threadpool_limits

from skquant import ColorQuantizer
from skquant._kernels import _pair_memo, ciede2000_sum
from skquant.metrics import mean_delta_e

CHUNK = 1 << 16


def photo_mosaic(width=4000, height=3000, tile=(300, 400), seed=0):
    """A ``width`` x ``height`` uint8 mosaic of ``tile`` crops of 11 real
    photos (sklearn's and scikit-image's samples) at their own size, each
    at a random place in a random photo, flipped at random and its channels
    scaled by random gains in [0.8, 1.2] (so that two crops of one photo do
    not repeat the same colours)."""
    from skimage import data

    photos = [
        *sample_photos().values(),  # china, flower, astronaut, coffee
        data.chelsea(),
        data.rocket(),
        data.immunohistochemistry(),
        data.retina()[300:1100, 300:1100],
        data.hubble_deep_field(),
        *data.stereo_motorcycle()[:2],
    ]
    rng = np.random.default_rng(seed)
    mosaic = np.empty((height, width, 3), np.uint8)
    rows, cols = tile
    for top in range(0, height, rows):
        for left in range(0, width, cols):
            photo = photos[rng.integers(len(photos))]
            y = rng.integers(photo.shape[0] - rows + 1)
            x = rng.integers(photo.shape[1] - cols + 1)
            crop = photo[y : y + rows, x : x + cols]
            crop = crop[:: rng.choice([-1, 1]), :: rng.choice([-1, 1])]
            crop = np.clip(np.rint(crop * rng.uniform(0.8, 1.2, size=3)), 0, 255)
            place = mosaic[top : top + rows, left : left + cols]
            place[...] = crop[: place.shape[0], : place.shape[1]]
    return mosaic


def memo_hits(image, out, scale):
    """Share of the pixels whose difference the memo found."""
    stats = {}
    ciede2000_sum(image.reshape(-1, 3), out.reshape(-1, 3), scale=scale, stats=stats)
    return stats["memo_hits"] / (image.size // 3)


def without_memo(run):
    """``run()`` with the memo paused for good (every difference computed)."""
    saved = _pair_memo.MEMO_MIN_HITS, _pair_memo.MEMO_PAUSE
    _pair_memo.MEMO_MIN_HITS, _pair_memo.MEMO_PAUSE = 2.0, 1 << 40
    try:
        return run()
    finally:
        _pair_memo.MEMO_MIN_HITS, _pair_memo.MEMO_PAUSE = saved


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


def dtype_cases(photo, keys):
    """``[(case, [(dtype name, true, test)...])]``: each case's photo as
    uint8, float32 and float64, each quantized by its own quantizer."""
    cases = []
    for key in keys:
        name, k, dither = CASES[key]
        images = []
        for dtype in (np.uint8, np.float32, np.float64):
            image = photo if dtype == np.uint8 else (photo / 255.0).astype(dtype)
            quantizer = ColorQuantizer(k, dither=dither, random_state=0)
            images.append((np.dtype(dtype).name, image, quantizer.fit_transform(image)))
        cases.append((name, images))
    return cases


def skimage_float_mean(true, test):
    """scikit-image's mean CIEDE2000 of float images (float64 Lab)."""
    return skimage_mean(true, test, 1.0)[0]


def _ratio(num, den):
    """Median of the per-round ratios."""
    return median([a / b for a, b in zip(num, den, strict=True)])


def dtype_table(photo, keys, repeats):
    """Rows of ``--dtypes``: seconds per dtype, ratios to uint8, memo hits,
    accuracy of the float means."""
    rows = []
    for name, images in dtype_cases(photo, keys):
        seconds = {dtype: [] for dtype, _, _ in images}
        plain = {dtype: [] for dtype, _, _ in images}
        for _, true, test in images:  # warm up (compiles each dtype)
            mean_delta_e(true[:256], test[:256])
        for _ in range(repeats):  # interleaved: the same load on each
            for dtype, true, test in images:
                run = functools.partial(mean_delta_e, true, test)
                seconds[dtype].append(timed(run)[0])
                plain[dtype].append(without_memo(functools.partial(timed, run))[0])
        hits, errors = [], []
        for dtype, true, test in images:
            scale = 255 if dtype == "uint8" else 1.0
            hits.append(f"{memo_hits(true, test, scale):.0%}")
            if dtype != "uint8":
                ours = mean_delta_e(true, test)
                reference = skimage_float_mean(true, test)
                errors.append(f"{abs(ours - reference) / reference:.1e}")

        rows.append(
            [
                name,
                *(f"{median(seconds[d]):.3f}" for d in ("uint8", "float32", "float64")),
                f"{_ratio(seconds['float32'], seconds['uint8']):.2f}x",
                f"{_ratio(seconds['float64'], seconds['uint8']):.2f}x",
                " / ".join(hits),
                " / ".join(
                    f"{_ratio(plain[d], seconds[d]):.2f}x"
                    for d in ("uint8", "float32", "float64")
                ),
                " / ".join(errors),
            ]
        )
    return format_table(
        [
            "case",
            "uint8",
            "float32",
            "float64",
            "f32/u8",
            "f64/u8",
            "memo hits u8/f32/f64",
            "memo x u8/f32/f64",
            "rel. diff f32/f64",
        ],
        rows,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 MP photo")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--cases", nargs="+", choices=sorted(CASES), default=list(CASES)
    )
    parser.add_argument(
        "--image", choices=["china", "mosaic", "noise"], default="china"
    )
    parser.add_argument("--megapixels", type=int, choices=[3, 6, 12], default=12)
    parser.add_argument(
        "--dtypes", action="store_true", help="uint8 / float32 / float64 times"
    )
    args = parser.parse_args()

    megapixels = 3 if args.quick else args.megapixels
    width, height = {3: (2000, 1500), 6: (3000, 2000), 12: (4000, 3000)}[megapixels]
    if args.image == "china":
        photo = photo_12mp(width, height)
    elif args.image == "mosaic":
        photo = photo_mosaic(width, height)
    else:
        rng = np.random.default_rng(0)
        photo = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    megapixels = photo.shape[0] * photo.shape[1] / 1e6
    if args.dtypes:
        keys = [key for key in args.cases if key != "float32"]
        table = dtype_table(photo, keys, args.repeats)
        print(
            f"mean_delta_e by dtype on a {megapixels:.1f} MP {args.image} image "
            f"(seconds, all threads; medians of {args.repeats}; {os.cpu_count()} "
            "CPUs, load average %.1f %.1f %.1f)" % os.getloadavg()
        )
        print(table)
        return
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
        hits = memo_hits(image, out, scale) if image.dtype == np.uint8 else 0.0
        walls, ones, one_cpus, plain_cpus, alones, alone_cpus, pipes, pipe_cpus = (
            [] for _ in range(8)
        )
        for _ in range(args.repeats):  # interleaved: the same load on each
            walls.append(timed(run)[0])
            with threadpool_limits(1):
                one, one_cpu = timed(run)
                plain_cpus.append(without_memo(functools.partial(timed, run))[1])
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
                f"{hits:.0%}",
                f"{ratio(plain_cpus, one_cpus):.2f}x",
            ]
        )
    print(
        f"mean CIEDE2000 on a {megapixels:.1f} MP {args.image} image (seconds; "
        f"medians of "
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
                "memo hits",
                "memo x",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
