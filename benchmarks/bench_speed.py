"""Speed, memory and quality of skquant against the colour-quantization recipes
people use, in one process, on the same images.

Run from the repository root::

    python benchmarks/bench_speed.py            # 12 MP photo + small photos
    python benchmarks/bench_speed.py --quick    # 3 MP photo, K=16/256, 1 repeat
    python benchmarks/bench_speed.py --slow     # also cv2.kmeans on all pixels
    python benchmarks/bench_speed.py --kernels  # skquant only: kernel paths
    python benchmarks/bench_speed.py --cold     # first use, empty numba cache
    python benchmarks/bench_speed.py --recipes skquant pillow-octree --big-only
                                                # the 12 MP target: vs octree

``--kernels`` times skquant's own paths in one process, interleaved, medians
of ``--repeats`` (default 5): ``transform`` of the 12 MP photo (uint8 RGB,
'rgb' and 'lab'; float32; RGBA with a fading band, i.e. alpha) and of a
0.27 MP photo, ``predict``, Floyd-Steinberg and Bayer dithering through
``transform``, at K = 16 and 256. Run it under two checkouts to compare
(``PYTHONPATH=/path/to/other/checkout``); the machine is shared, so compare
runs made one right after the other.

``--cold`` runs a fresh process with an empty ``NUMBA_CACHE_DIR`` that
imports skquant, fits the china photo (K=16), transforms it and dithers it
(a second quantizer with ``dither='floyd-steinberg'``, fitted again: the
fit is compiled by then), and prints the seconds of each step (compilation
of the kernels dominates), wall and CPU (``process_time``: less sensitive
to other processes on a busy machine), median of ``--repeats`` (default 3)
processes, and the CPU seconds of the process with its children (the
background compile of :mod:`skquant._kernels._warm`, which ``process_time``
does not see).
``--cold --compare DIR`` interleaves those processes with the same run of
another source tree (``import skquant`` from DIR, e.g. ``git archive main``
unpacked there): compare the two under the same machine load.

For every image and K (16, 64, 256) each recipe is timed ``--repeats`` times
(interleaved, so that load from other processes spreads over all of them);
the table gives medians of fit, transform and their total, the total as a
multiple of skquant's, the peak resident memory above the input (RSS
high-water mark, see ``_common.PeakRSS``), PSNR (all pixels) and mean
CIEDE2000 (on a regular subsample of about 1 MP). Every library runs with
its default threads. ``floor`` is a plain ``palette[labels]`` gather over the
same pixels: no mapping can produce an image faster than it is written out.

Recipes
-------
skquant
    ``ColorQuantizer(K)`` with its defaults: every pixel pooled into a colour
    histogram, k-means on it, exact nearest-colour mapping.
skquant-opencv
    The same with ``backend='opencv'``.
opencv-tutorial
    The OpenCV tutorial: ``cv2.kmeans`` on all pixels, 10 attempts, random
    centres, at most 10 iterations. Run with ``--slow`` (K=16 only);
    otherwise estimated from one attempt on an eighth of the pixels
    (time x 8 x 10, as k-means cost is linear in both).
sklearn-gallery
    scikit-learn's gallery example: ``KMeans`` on 1,000 random pixels,
    ``predict`` on all of them.
kmeans-100k
    ``KMeans(n_init=1)`` on 100,000 random pixels, ``predict`` on all.
faiss-100k
    ``faiss.Kmeans`` (25 iterations) on the same 100,000 pixels, then a
    flat-index search for every pixel (optional: needs ``faiss-cpu``).
libimagequant
    pngquant's engine through the ``imagequant`` package, no dithering
    (optional). Its fit and mapping cannot be timed apart: all in ``fit``.
pillow-mediancut, pillow-octree
    ``Image.quantize`` with median cut / fast octree, no dithering; all in
    ``fit``.
"""

import argparse
import platform
import sys
import time
import warnings

import numpy as np
from _common import (
    PeakRSS,
    delta_e,
    fix_malloc,
    format_table,
    median,
    photo_12mp,
    psnr,
    sample_photos,
)

SEED = 0

# %% recipes -----------------------------------------------------------------
#
# Each recipe is ``fit(image, k) -> model`` and ``transform(model, image) ->
# uint8 image``; a recipe that cannot be split does all its work in fit and
# returns the output image as the model (transform is then None).


def _float_pixels(image):
    return image.reshape(-1, 3).astype(np.float32)


def _to_uint8(centers, labels, shape):
    palette = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    return palette[labels].reshape(shape)


def skquant_recipe(backend):
    from skquant import ColorQuantizer

    def fit(image, k):
        return ColorQuantizer(k, backend=backend, random_state=SEED).fit(image)

    def transform(model, image):
        return model.transform(image)

    return fit, transform


def _sample(image, n):
    pixels = image.reshape(-1, 3)
    rng = np.random.default_rng(SEED)
    idx = rng.choice(pixels.shape[0], size=min(n, pixels.shape[0]), replace=False)
    return pixels[idx].astype(np.float32)


def sklearn_recipe(n_sample):
    from sklearn.cluster import KMeans

    def fit(image, k):
        return KMeans(k, n_init=1, random_state=SEED).fit(_sample(image, n_sample))

    def transform(model, image):
        labels = model.predict(_float_pixels(image))
        return _to_uint8(model.cluster_centers_, labels, image.shape)

    return fit, transform


def faiss_recipe(n_sample):
    import faiss

    def fit(image, k):
        sample = _sample(image, n_sample)
        km = faiss.Kmeans(
            3, k, niter=25, seed=SEED, max_points_per_centroid=n_sample // k + 1
        )
        km.train(sample)
        return km

    def transform(model, image):
        _, labels = model.index.search(_float_pixels(image), 1)
        return _to_uint8(model.centroids, labels.ravel(), image.shape)

    return fit, transform


def _cv2_kmeans(data, k, attempts):
    import cv2

    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(SEED)
    _, labels, centers = cv2.kmeans(
        data, k, None, criteria, attempts, cv2.KMEANS_RANDOM_CENTERS
    )
    return centers, labels


def opencv_tutorial_fit(image, k):
    centers, labels = _cv2_kmeans(_float_pixels(image), k, 10)
    return _to_uint8(centers, labels.ravel(), image.shape)


def imagequant_recipe():
    import imagequant

    def fit(image, k):
        h, w, _ = image.shape
        rgba = np.empty((h, w, 4), np.uint8)
        rgba[..., :3] = image
        rgba[..., 3] = 255
        indices, palette = imagequant.quantize_raw_rgba_bytes(
            rgba.tobytes(), w, h, dithering_level=0.0, max_colors=k
        )
        palette = np.asarray(palette, np.uint8).reshape(-1, 4)[:, :3]
        labels = np.frombuffer(indices, np.uint8)
        return palette[labels].reshape(image.shape)

    return fit, None


def pillow_recipe(method_name):
    from PIL import Image

    method = getattr(Image.Quantize, method_name)

    def fit(image, k):
        quantized = Image.fromarray(image).quantize(
            colors=k, method=method, dither=Image.Dither.NONE
        )
        return np.asarray(quantized.convert("RGB"))

    return fit, None


def recipes(slow):
    """``{name: (fit, transform)}``, optional peers when importable."""
    out = {
        "skquant": skquant_recipe("sklearn"),
        "skquant-opencv": skquant_recipe("opencv"),
        "sklearn-gallery": sklearn_recipe(1_000),
        "kmeans-100k": sklearn_recipe(100_000),
    }
    try:
        out["faiss-100k"] = faiss_recipe(100_000)
    except ImportError:
        print("faiss not installed: skipped (pip install faiss-cpu)")
    try:
        out["libimagequant"] = imagequant_recipe()
    except ImportError:
        print("imagequant not installed: skipped (pip install imagequant)")
    out["pillow-mediancut"] = pillow_recipe("MEDIANCUT")
    out["pillow-octree"] = pillow_recipe("FASTOCTREE")
    return out


# %% measuring ---------------------------------------------------------------


def run_case(fit, transform, image, k):
    """One fit + transform.

    Returns (fit s, transform s, output, fit peak MiB, transform peak MiB, model).
    """
    with PeakRSS() as fit_peak:
        start = time.perf_counter()
        model = fit(image, k)
        fit_s = time.perf_counter() - start
    if transform is None:
        return fit_s, None, model, fit_peak.mib, None, None
    with PeakRSS() as transform_peak:
        start = time.perf_counter()
        out = transform(model, image)
        transform_s = time.perf_counter() - start
    return fit_s, transform_s, out, fit_peak.mib, transform_peak.mib, model


def floor_times(image, model, repeats):
    """``palette[labels]`` gather (the floor) and, for reference, np.take."""
    labels = model.predict(image).ravel()
    palette = model.palette_
    gather, take = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        palette[labels]
        gather.append(time.perf_counter() - start)
        start = time.perf_counter()
        np.take(palette, labels, axis=0)
        take.append(time.perf_counter() - start)
    return median(gather), median(take)


def estimate_opencv_tutorial(image, k):
    """cv2.kmeans tutorial time estimated from 1 attempt on 1/8 of the pixels."""
    pixels = _float_pixels(image)[::8]
    start = time.perf_counter()
    _cv2_kmeans(pixels, k, 1)
    return (time.perf_counter() - start) * 8 * 10


def bench_image(name, image, ks, all_recipes, repeats, *, slow, quality):
    mb = image.nbytes / 2**20
    print(f"\n## {name}: {image.shape[1]} x {image.shape[0]} ({mb:.1f} MiB)\n")
    for k in ks:
        times = {r: ([], []) for r in all_recipes}
        peaks = {r: ([], []) for r in all_recipes}
        outputs, models = {}, {}
        for _ in range(repeats):
            for rname, (fit, transform) in all_recipes.items():
                if rname == "libimagequant" and k > 256:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fit_s, tr_s, out, fit_mib, tr_mib, model = run_case(
                        fit, transform, image, k
                    )
                times[rname][0].append(fit_s)
                times[rname][1].append(tr_s)
                peaks[rname][0].append(fit_mib)
                peaks[rname][1].append(tr_mib)
                outputs[rname] = out
                models[rname] = model
        rows = []
        total_ref = None
        results = {}
        for rname in all_recipes:
            fits, trs = times[rname]
            if not fits:
                continue
            fit_m = median(fits)
            tr_m = median(trs) if trs[0] is not None else None
            total = median([f + (t or 0.0) for f, t in zip(fits, trs, strict=True)])
            results[rname] = total
            if rname == "skquant":
                total_ref = total
            peak = median(
                [
                    max(a, b or 0.0)
                    for a, b in zip(peaks[rname][0], peaks[rname][1], strict=True)
                ]
            )
            out = outputs[rname]
            rows.append(
                [
                    rname,
                    f"{fit_m:.3f}",
                    "-" if tr_m is None else f"{tr_m:.3f}",
                    f"{total:.3f}",
                    f"{total / total_ref:.2f}x",
                    f"{peak:.0f}",
                    f"{psnr(image, out):.2f}",
                    f"{delta_e(image, out):.2f}" if quality else "-",
                ]
            )
        if slow and k == 16:
            start = time.perf_counter()
            out = opencv_tutorial_fit(image, k)
            t = time.perf_counter() - start
            estimate = estimate_opencv_tutorial(image, k)
            print(
                f"opencv-tutorial at K=16: measured {t:.1f} s, estimated "
                f"{estimate:.1f} s (the estimate used at other K)"
            )
            rows.append(
                [
                    "opencv-tutorial",
                    f"{t:.3f}",
                    "-",
                    f"{t:.3f}",
                    f"{t / total_ref:.2f}x",
                    "",
                    f"{psnr(image, out):.2f}",
                    f"{delta_e(image, out):.2f}" if quality else "-",
                ]
            )
        else:
            t = estimate_opencv_tutorial(image, k)
            rows.append(
                [
                    "opencv-tutorial (est.)",
                    "",
                    "",
                    f"~{t:.1f}",
                    f"~{t / total_ref:.0f}x",
                    "",
                    "",
                    "",
                ]
            )
        gather, take = floor_times(image, models["skquant"], max(repeats, 3))
        rows.append(["floor: palette[labels]", "", f"{gather:.3f}", "", "", "", "", ""])
        rows.append(["  (np.take, reference)", "", f"{take:.3f}", "", "", "", "", ""])
        print(f"### K = {k}\n")
        headers = ["recipe", "fit s", "transform s", "total s", "vs skquant"]
        headers += ["peak MiB", "PSNR dB", "dE2000"]
        print(format_table(headers, rows))
        sk_fit, sk_tr = times["skquant"]
        tr_peak = median(peaks["skquant"][1])
        print(
            f"\nskquant transform: {median(sk_tr):.3f} s = "
            f"{median(sk_tr) / gather:.2f}x the gather floor; peak "
            f"{tr_peak:.0f} MiB above the input = {tr_peak / mb:.2f}x the image."
        )
        if "kmeans-100k" in results:
            print(
                f"skquant total / kmeans-100k total: "
                f"{results['skquant'] / results['kmeans-100k']:.2f}"
                + (
                    f"; / faiss-100k: {results['skquant'] / results['faiss-100k']:.2f}"
                    if "faiss-100k" in results
                    else ""
                )
            )
        print()
        sys.stdout.flush()


# %% kernel paths and cold start --------------------------------------------------


def kernel_cases(big, small):
    """``{name: callable}``: skquant's mapping paths on fitted quantizers."""
    from skquant import ColorQuantizer

    rgba = np.concatenate([big, np.full(big.shape[:2] + (1,), 255, np.uint8)], 2)
    rgba[: big.shape[0] // 4, :, 3] = np.linspace(0, 255, big.shape[1]).astype(np.uint8)
    big_f32 = (big / 255.0).astype(np.float32)
    cases = {}
    for k in (16, 256):
        fit_on = big[::8, ::8]
        rgb = ColorQuantizer(k, random_state=SEED).fit(fit_on)
        lab = ColorQuantizer(k, color_space="lab", random_state=SEED).fit(fit_on)
        f32 = ColorQuantizer(k, random_state=SEED).fit(big_f32[::8, ::8])
        alpha = ColorQuantizer(k, random_state=SEED).fit(rgba[::8, ::8])
        fs = ColorQuantizer(k, dither="floyd-steinberg", random_state=SEED)
        fs.fit(fit_on)
        bayer = ColorQuantizer(k, dither="bayer", random_state=SEED).fit(fit_on)
        cases[f"K={k} transform 12MP rgb"] = lambda q=rgb: q.transform(big)
        cases[f"K={k} transform 12MP lab"] = lambda q=lab: q.transform(big)
        cases[f"K={k} transform 12MP float32"] = lambda q=f32: q.transform(big_f32)
        cases[f"K={k} transform 12MP rgba"] = lambda q=alpha: q.transform(rgba)
        cases[f"K={k} predict 12MP rgb"] = lambda q=rgb: q.predict(big)
        cases[f"K={k} transform 0.27MP lab"] = lambda q=lab: q.transform(small)
        cases[f"K={k} dither FS 12MP rgb"] = lambda q=fs: q.transform(big)
        cases[f"K={k} dither bayer 12MP rgb"] = lambda q=bayer: q.transform(big)
    return cases


def bench_kernels(repeats):
    big = photo_12mp()
    small = sample_photos()["china"]
    cases = kernel_cases(big, small)
    for run in cases.values():  # compilation, outside the timing
        run()
    times = {name: [] for name in cases}
    for _ in range(repeats):
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    width = max(map(len, cases))
    print(f"{'case':<{width}}  median s  (of {repeats})")
    for name, values in times.items():
        print(f"{name:<{width}}  {median(values):8.3f}")


COLD_SCRIPT = """
import time
def now():
    return time.perf_counter(), time.process_time()
t0 = now()
from sklearn.datasets import load_sample_image
from skquant import ColorQuantizer
photo = load_sample_image("china.jpg")
t1 = now()
q = ColorQuantizer(n_colors=16, random_state=0).fit(photo)
t2 = now()
q.transform(photo)
t3 = now()
fs = ColorQuantizer(n_colors=16, random_state=0, dither="floyd-steinberg")
fs.fit(photo).transform(photo)
t4 = now()
marks = [t0, t1, t2, t3, t4]
for k in (0, 1):  # wall seconds, then CPU seconds (all threads)
    print(*(b[k] - a[k] for a, b in zip(marks, marks[1:])))
"""


def _cold_run(cwd):
    """Seconds of each step of COLD_SCRIPT in a fresh process started in
    ``cwd`` (None: this checkout) with an empty numba cache."""
    import os
    import resource
    import subprocess
    import tempfile

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", COLD_SCRIPT],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the process and its children (a background compile): user + system
    every = sum(
        getattr(after, f) - getattr(before, f) for f in ("ru_utime", "ru_stime")
    )
    wall, cpu = ([float(v) for v in line.split()] for line in out.splitlines()[-2:])
    return [*wall, sum(wall), *cpu, sum(cpu), every]


def bench_cold(repeats, compare=None):
    """``compare``: another source tree (e.g. main's ``git archive``), whose
    ``import skquant`` is run from that folder, interleaved with this one."""
    import os

    trees = {"this": None}
    if compare:
        trees["compare"] = compare
    rows = {name: [] for name in trees}
    loads = []
    for _ in range(repeats):
        for name, cwd in trees.items():
            rows[name].append(_cold_run(cwd))
            loads.append(os.getloadavg()[0])
    steps = ("import", "fit", "transform", "dither", "total")
    print(
        "cold first use (empty NUMBA_CACHE_DIR), china.jpg, K=16; median s of",
        repeats,
        f"(load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs)",
    )
    # CPU seconds (process_time) vary less with the machine's load than wall
    for kind, first in (("wall", 0), ("CPU", len(steps))):
        for name, runs in rows.items():
            columns = [*zip(*runs, strict=True)][first : first + len(steps)]
            print(
                f"{name:8s} {kind:4s}",
                "  ".join(
                    f"{s} {median(c):.2f}" for s, c in zip(steps, columns, strict=True)
                ),
            )
    # CPU of the process and of its children (a background compile)
    for name, runs in rows.items():
        every = median(r[-1] for r in runs)
        print(f"{name:8s} CPU of the process and its children {every:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small run")
    parser.add_argument("--slow", action="store_true", help="cv2.kmeans tutorial")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--kernels", action="store_true", help="skquant's paths")
    parser.add_argument("--cold", action="store_true", help="first-use compile")
    parser.add_argument("--recipes", nargs="*", help="only these recipes")
    parser.add_argument("--big-only", action="store_true", help="12 MP photo only")
    parser.add_argument("--compare", metavar="DIR", help="--cold: another tree")
    args = parser.parse_args(argv)
    if args.cold:
        bench_cold(args.repeats or 3, args.compare)
        return
    if args.kernels:
        fix_malloc()
        bench_kernels(args.repeats or 5)
        return
    repeats = args.repeats or (1 if args.quick else 5)
    fix_malloc()

    import numba
    import sklearn

    import skquant

    print(
        f"skquant {skquant.__version__}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, numba {numba.__version__} "
        f"({numba.get_num_threads()} threads), Python {platform.python_version()}"
    )
    all_recipes = recipes(args.slow)
    if args.recipes:
        unknown = sorted(set(args.recipes) - set(all_recipes))
        if unknown:
            parser.error(f"unknown recipes {unknown}; choose from {list(all_recipes)}")
        all_recipes = {n: r for n, r in all_recipes.items() if n in args.recipes}
    # Warm-up: numba's compiled-kernel cache, faiss and OpenCV initialisation.
    small = sample_photos()["coffee"]
    for fit, transform in all_recipes.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_case(fit, transform, small, 16)

    if args.quick:
        big = photo_12mp(2000, 1500)
        bench_image(
            "china.jpg bicubic 3 MP",
            big,
            (16, 256),
            all_recipes,
            repeats,
            slow=args.slow,
            quality=False,
        )
        return
    images = {"china.jpg bicubic 12 MP": photo_12mp()}
    if not args.big_only:
        images.update(sample_photos())
    for name, image in images.items():
        bench_image(
            name,
            image,
            (16, 64, 256),
            all_recipes,
            repeats,
            slow=args.slow,
            quality=True,
        )


if __name__ == "__main__":
    main()
