"""How the cost of quantizing grows with image size and palette size,
for skquant and the quantizers people use, in one command.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scaling.py            # full run
    .venv/bin/python benchmarks/bench_scaling.py --quick    # a few minutes
    .venv/bin/python benchmarks/bench_scaling.py --plot docs/_static/scaling.png

Two sweeps:

- size: photos of about 0.3, 3, 12 and 50 megapixels (``--quick``: 0.3 and
  3) at K = 16 and 256;
- K: K = 2, 4, 16, 64, 256, 1024, 4096 at 12 MP (``--quick``: 3 MP), plus
  K = 16384 for skquant (not in ``--quick``).

The photos are one mosaic of five real sample photos (scikit-learn's china
and flower, scikit-image's astronaut, coffee and chelsea), 2400 x 1800,
resized with ``cv2.INTER_AREA`` (smaller) or ``cv2.INTER_CUBIC`` (larger)
to each size, 4:3.

Every case runs in its own child process (so that one case's memory does
not hide the next one's peak), one method after the other for each size
and K: ``--repeats`` timed runs (default 3, ``--quick`` 1; one only when a
run takes more than ``--budget`` seconds), after one untimed run on a small
crop (numba loads its compiled kernels, the libraries their code). The
table gives per case the median wall-clock seconds (fit / transform /
total for skquant; the total only for the others, which do both in one
call), the total as a multiple of Pillow's fast octree at the same size
and K, the peak resident memory above the input (the ``VmHWM`` high-water
mark, reset just before the first timed run, see ``_common.PeakRSS``) in
MiB and as a multiple of the image's size (the output alone is 1x), and
PSNR over all pixels. For skquant, ``map peak`` is the peak of
``transform`` alone (its target: near the output's size, 1x).

Methods
-------
skquant
    ``ColorQuantizer(K, random_state=0).fit(image)``, then ``transform``.
pillow-octree, pillow-mediancut
    ``Image.quantize(K, method=FASTOCTREE / MEDIANCUT, dither=NONE)``, then
    the RGB image. At most 256 colours ("n/a" beyond).
libimagequant
    pngquant's engine through the ``imagequant`` package, no dithering. At
    most 256 colours.
kmeans-100k
    scikit-learn's ``KMeans(K, n_init=1)`` on 100,000 random pixels, then
    ``predict`` on every pixel.
cv2-100k
    ``cv2.kmeans`` (k-means++ centres, one attempt, 10 iterations) on the
    same 100,000 pixels, then every pixel mapped to its nearest centre with
    ``sklearn.metrics.pairwise_distances_argmin``.

A method is skipped ("skipped") at the sizes and K beyond the first case
where one run took more than ``--skip-after`` seconds (default 60), and
the k-means peers are skipped beyond K = 1024 (minutes per case).

The full run takes about 25 minutes on 2 busy cores (most of it the peers
at 50 MP and at large K); ``--quick`` about 3 minutes.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from _common import PeakRSS, fix_malloc, format_table, sample_photos

SIZES = {"0.3": (640, 480), "3": (2000, 1500), "12": (4000, 3000), "50": (8160, 6120)}
SIZE_KS = (16, 256)
SWEEP_KS = (2, 4, 16, 64, 256, 1024, 4096)
QUICK_KS = (2, 16, 64, 256, 1024)
SKQUANT_ONLY_KS = (16384,)
METHODS = (
    "skquant",
    "pillow-octree",
    "pillow-mediancut",
    "libimagequant",
    "kmeans-100k",
    "cv2-100k",
)
#: Largest K of methods that cannot go further (Pillow, libimagequant), or
#: beyond which they take minutes (k-means on 100k pixels).
MAX_K = {
    "pillow-octree": 256,
    "pillow-mediancut": 256,
    "libimagequant": 256,
    "kmeans-100k": 1024,
    "cv2-100k": 1024,
}
SAMPLE = 100_000


# %% the photos ------------------------------------------------------------------


def mosaic():
    """Five real photos, 2400 x 1800 uint8 RGB (a 3 x 2 grid, one repeated)."""
    import cv2
    from skimage import data
    from sklearn.datasets import load_sample_image

    photos = [
        *sample_photos().values(),  # china, flower, astronaut, coffee
        data.chelsea(),
        load_sample_image("china.jpg")[:, ::-1],
    ]
    tiles = [cv2.resize(p, (800, 900), interpolation=cv2.INTER_AREA) for p in photos]
    rows = [np.concatenate(tiles[i : i + 3], axis=1) for i in (0, 3)]
    return np.ascontiguousarray(np.concatenate(rows, axis=0))


def photo(size):
    """The mosaic resized to ``SIZES[size]`` (width, height)."""
    import cv2

    base = mosaic()
    width, height = SIZES[size]
    smaller = width * height < base.shape[0] * base.shape[1]
    interpolation = cv2.INTER_AREA if smaller else cv2.INTER_CUBIC
    return cv2.resize(base, (width, height), interpolation=interpolation)


# %% the methods -----------------------------------------------------------------


def sample_pixels(image):
    pixels = image.reshape(-1, 3)
    rng = np.random.default_rng(0)
    return pixels[rng.choice(len(pixels), min(SAMPLE, len(pixels)), replace=False)]


def run_method(name, image, k):
    """(output image, seconds of the fit or None, seconds of the mapping or None)."""
    if name == "skquant":
        from skquant import ColorQuantizer

        start = time.perf_counter()
        quantizer = ColorQuantizer(k, random_state=0).fit(image)
        middle = time.perf_counter()
        out = quantizer.transform(image)
        end = time.perf_counter()
        return out, middle - start, end - middle
    if name.startswith("pillow"):
        from PIL import Image

        method = {
            "pillow-octree": Image.Quantize.FASTOCTREE,
            "pillow-mediancut": Image.Quantize.MEDIANCUT,
        }[name]
        quantized = Image.fromarray(image).quantize(
            colors=k, method=method, dither=Image.Dither.NONE
        )
        return np.asarray(quantized.convert("RGB")), None, None
    if name == "libimagequant":
        from bench_speed import imagequant_recipe

        return imagequant_recipe()[0](image, k), None, None
    if name == "kmeans-100k":
        from sklearn.cluster import KMeans

        start = time.perf_counter()
        model = KMeans(k, n_init=1, random_state=0).fit(sample_pixels(image))
        middle = time.perf_counter()
        labels = model.predict(image.reshape(-1, 3))
        centers = np.clip(np.rint(model.cluster_centers_), 0, 255).astype(np.uint8)
        end = time.perf_counter()
        return centers[labels].reshape(image.shape), middle - start, end - middle
    if name == "cv2-100k":
        import cv2
        from sklearn.metrics import pairwise_distances_argmin

        start = time.perf_counter()
        data = sample_pixels(image).astype(np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
        cv2.setRNGSeed(0)
        _, _, centers = cv2.kmeans(data, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        middle = time.perf_counter()
        labels = pairwise_distances_argmin(
            image.reshape(-1, 3).astype(np.float32), centers
        )
        palette = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
        end = time.perf_counter()
        return palette[labels].reshape(image.shape), middle - start, end - middle
    raise ValueError(f"unknown method {name!r}; expected one of {METHODS}.")


# %% one case, in a child process ------------------------------------------------


def measure(name, path, k, repeats, budget):
    """Time, peak memory and PSNR of ``name`` on the image saved at ``path``."""
    from skquant.metrics import peak_signal_noise_ratio

    fix_malloc()  # freed blocks go back to the OS: each peak is seen
    image = np.load(path)
    run_method(name, np.ascontiguousarray(image[:300, :400]), min(k, 256))
    totals, fits, maps = [], [], []
    with PeakRSS() as peak:
        for _ in range(repeats):
            out = None
            start = time.perf_counter()
            out, fit_s, map_s = run_method(name, image, k)
            totals.append(time.perf_counter() - start)
            fits.append(fit_s)
            maps.append(map_s)
            if totals[-1] > budget:
                break
    result = {
        "method": name,
        "mp": image.shape[0] * image.shape[1] / 1e6,
        "k": k,
        "total": statistics.median(totals),
        "fit": None if fits[0] is None else statistics.median(fits),
        "map": None if maps[0] is None else statistics.median(maps),
        "runs": len(totals),
        "peak_mib": peak.mib,
        "image_mib": image.nbytes / 2**20,
    }
    if name == "skquant":
        # the mapping alone: its peak above what the fitted model holds
        from skquant import ColorQuantizer

        quantizer = ColorQuantizer(k, random_state=0).fit(image)
        out = None
        with PeakRSS() as peak:
            out = quantizer.transform(image)
        result["map_peak_mib"] = peak.mib
    result["psnr"] = float(peak_signal_noise_ratio(image, out))
    return result


def run_case(name, path, k, args):
    """:func:`measure` in a fresh process; its result dict."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--case",
        name,
        path,
        str(k),
        "--repeats",
        str(args.repeats),
        "--budget",
        str(args.budget),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"method": name, "k": k, "error": tail[0]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# %% the sweeps ------------------------------------------------------------------


def cases(quick):
    """``[(size, k, methods)]`` in the order they run."""
    sizes = ("0.3", "3") if quick else tuple(SIZES)
    sweep_size = "3" if quick else "12"
    out = []
    for size in sizes:
        for k in SIZE_KS:
            out.append((size, k, METHODS))
    ks = QUICK_KS if quick else SWEEP_KS + SKQUANT_ONLY_KS
    for k in ks:
        if k not in SIZE_KS:
            methods = METHODS if k in SWEEP_KS else ("skquant",)
            out.append((sweep_size, k, methods))
    return out


def run(args):
    """Every case; a list of result dicts (skipped cases included)."""
    results = []
    too_slow = {}  # method -> (mp, k) of its first run over --skip-after
    with tempfile.TemporaryDirectory(prefix="skquant-scaling-") as folder:
        paths = {}
        for size, k, methods in cases(args.quick):
            if size not in paths:
                paths[size] = os.path.join(folder, f"{size}.npy")
                np.save(paths[size], photo(size))
            for name in methods:
                if args.methods and name not in args.methods:
                    continue
                mp = float(size)
                row = {"method": name, "mp": mp, "k": k}
                slow = too_slow.get(name)
                if k > MAX_K.get(name, k):
                    row["skipped"] = "n/a" if MAX_K[name] == 256 else "skipped"
                elif slow is not None and mp >= slow[0] and k >= slow[1]:
                    row["skipped"] = "skipped"
                else:
                    row = {**run_case(name, paths[size], k, args), "mp": mp}
                    if row.get("total", 0) > args.skip_after:
                        too_slow[name] = (mp, k)
                results.append(row)
                print(line(row), flush=True)
    return results


def line(row):
    """One progress line."""
    head = f"{row['method']:>16} {row.get('mp', 0):6.1f} MP K={row['k']:<5}"
    if "skipped" in row or "error" in row:
        return f"{head} {row.get('skipped') or 'error: ' + row['error']}"
    peak, psnr = row["peak_mib"], row["psnr"]
    return f"{head} {row['total']:8.3f} s  peak {peak:7.0f} MiB  {psnr:6.2f} dB"


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def table(results):
    """The plain-text table, with totals relative to Pillow's fast octree."""
    octree = {
        (r["mp"], r["k"]): r["total"]
        for r in results
        if r["method"] == "pillow-octree" and "total" in r
    }
    rows = []
    for r in results:
        if "total" not in r:
            status = r.get("skipped") or "error"
            rows.append([r["method"], f"{r['mp']:.1f}", r["k"], status] + ["-"] * 7)
            continue
        ref = octree.get((r["mp"], r["k"]))
        rows.append(
            [
                r["method"],
                f"{r['mp']:.1f}",
                r["k"],
                _fmt(r["fit"], ".3f"),
                _fmt(r["map"], ".3f"),
                f"{r['total']:.3f}",
                "-" if ref is None else f"{r['total'] / ref:.2f}x",
                f"{r['peak_mib']:.0f}",
                f"{r['peak_mib'] / r['image_mib']:.2f}x",
                _fmt(
                    None
                    if "map_peak_mib" not in r
                    else r["map_peak_mib"] / r["image_mib"],
                    ".2f",
                ),
                f"{r['psnr']:.2f}",
            ]
        )
    headers = [
        "method",
        "MP",
        "K",
        "fit s",
        "map s",
        "total s",
        "/octree",
        "peak MiB",
        "peak/img",
        "map peak",
        "PSNR",
    ]
    return format_table(headers, rows)


def plot(results, path):
    """Time vs pixels at K = 16 and 256, time vs K at the sweep's size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in results if "total" in r]
    sweep_mp = max((r["mp"] for r in done if r["k"] not in SIZE_KS), default=None)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), constrained_layout=True)
    panels = [
        ("mp", lambda r, k=k: r["k"] == k, "megapixels", f"time vs image size, K = {k}")
        for k in SIZE_KS
    ]
    panels.append(
        (
            "k",
            lambda r: r["mp"] == sweep_mp,
            "K (palette size)",
            f"time vs K, {sweep_mp} MP",
        )
    )
    for ax, (x, keep, xlabel, title) in zip(axes, panels, strict=True):
        for name in METHODS:
            pts = sorted(
                (r[x], r["total"]) for r in done if r["method"] == name and keep(r)
            )
            if pts:
                ax.plot(*zip(*pts, strict=True), "o-", label=name)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel=xlabel,
            ylabel="fit + map, seconds",
            title=title,
        )
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.savefig(path, dpi=90)
    print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 run")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs")
    parser.add_argument("--budget", type=float, default=20.0, help="one run if longer")
    parser.add_argument("--skip-after", type=float, default=None, help="60 s; 5 quick")
    parser.add_argument("--methods", nargs="*", help="only these methods")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--from-json", help="redraw / reprint saved results")
    parser.add_argument("--plot", help="draw the curves into this PNG")
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.skip_after is None:
        args.skip_after = 5.0 if args.quick else 60.0
    if args.case:
        name, path, k = args.case
        print(json.dumps(measure(name, path, int(k), args.repeats, args.budget)))
        return
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
    else:
        import platform

        print(
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"{args.repeats} timed run(s) per case; load average "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )
        start = time.perf_counter()
        results = run(args)
        print(f"\n{len(results)} cases in {time.perf_counter() - start:.0f} s\n")
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
