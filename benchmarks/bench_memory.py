"""Peak memory of mapping a 100-megapixel image onto a palette.

A mosaic of real photos (scikit-learn's and scikit-image's samples) is tiled
to 10000 x 10000: 300 MB in uint8 RGB, 600 MB in uint16 (8-bit values
scaled by 257 plus Gaussian noise, so that the 16-bit data really use 16
bits), 1.2 / 2.4 GB in float32 / float64 (the 8-bit values / 255), 400 MB
in RGBA (uint8; a quarter of each tile fades in, a band is fully clear). A
quantizer fitted on one mosaic tile maps the whole image, and we report:

- ``traced``: the tracemalloc peak during the mapping (every NumPy and
  Python allocation, the output included, the input excluded);
- ``rss``: the growth of the resident high-water mark (``VmHWM``, reset
  through ``/proc/self/clear_refs`` just before) over the resident size
  before the call: it also sees what numba and OpenCV allocate;

each as a multiple of the image's own size. The output is 1x; the targets
are 1.2x for the nearest colour (any dtype, RGBA, any K up to 16384) and
1.5x for dithering. An int32 label array would add 4/3x for uint8 RGB, and
an ``(n_pixels, n_colors)`` float32 matrix 21x at K=16.

Cases are ``ColorQuantizer.transform`` or, for the ``*-map`` cases, the
kernel entry points it calls (``skquant._kernels.map_to_palette``
with ``alpha=`` for RGBA, ``skquant._kernels.dither_map`` for dithering).
Large palettes (K = 4096 and 16384) are timed too: the fit on one tile and
the mapping of the whole image; every nearest-colour case checks the labels
of a random sample of pixels against a brute-force search.

Every case runs in a fresh process so that peaks do not mix.

Run::

    .venv/bin/python benchmarks/bench_memory.py           # 10000 x 10000
    .venv/bin/python benchmarks/bench_memory.py --quick   # 4000 x 4000
    .venv/bin/python benchmarks/bench_memory.py --side 6000 --cases u8-16 u16-256

Linux only (``/proc/self/status``); about 3 GB of memory at full size.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc

import numpy as np
from _common import reset_hwm, status_kib

MIB = 2**20

#: name -> (dtype, n_colors, fit tile side, extra ColorQuantizer parameters,
#: how the image is mapped). Dtype "rgba" is uint8 with an alpha channel.
#: Mapping: "transform" is ``ColorQuantizer.transform``; "map" calls the
#: kernel entry point that transform uses
#: (:func:`skquant._kernels.map_to_palette` with ``alpha=``, or
#: :func:`skquant._kernels.dither_map`), to measure the kernels on their own.
FS = {"dither": "floyd-steinberg"}
CASES = {
    "u8-16": ("uint8", 16, 512, {}, "transform"),
    "u8-256": ("uint8", 256, 512, {}, "transform"),
    "u8-256-lab": ("uint8", 256, 512, {"color_space": "lab"}, "transform"),
    "u8-16384": ("uint8", 16384, 256, {}, "transform"),
    "u16-16": ("uint16", 16, 512, {}, "transform"),
    "u16-256": ("uint16", 256, 512, {}, "transform"),
    "u16-4096": ("uint16", 4096, 256, {}, "transform"),
    "u16-16384": ("uint16", 16384, 256, {}, "transform"),
    "f32-256": ("float32", 256, 512, {}, "transform"),
    "f64-256": ("float64", 256, 512, {}, "transform"),
    "rgba-256": ("rgba", 256, 512, {}, "transform"),
    "rgba-256-map": ("rgba", 256, 512, {}, "map"),
    "rgba-16384-map": ("rgba", 16384, 256, {}, "map"),
    "u8-256-fs": ("uint8", 256, 512, FS, "transform"),
    "u8-256-fs-map": ("uint8", 256, 512, FS, "map"),
    "u8-16384-fs-map": ("uint8", 16384, 256, FS, "map"),
    "f32-256-bayer-map": ("float32", 256, 512, {"dither": "bayer"}, "map"),
}
DEFAULT_CASES = [
    "u8-16",
    "u8-256",
    "u16-16",
    "u16-256",
    "u16-4096",
    "u16-16384",
    "u8-16384",
    "f32-256",
    "f64-256",
    "rgba-256",
    "rgba-256-map",
    "rgba-16384-map",
    "u8-256-fs",
    "u8-256-fs-map",
    "u8-16384-fs-map",
    "f32-256-bayer-map",
]


# =============================================================================
# The measurement (child process)
# =============================================================================


def mosaic(dtype, seed=0):
    """A 1024 x 1024 tile of four real photos, in ``dtype``."""
    from skimage import data
    from sklearn.datasets import load_sample_image

    photos = [
        load_sample_image("china.jpg"),
        load_sample_image("flower.jpg"),
        data.astronaut(),
        data.coffee(),
    ]
    tile = np.zeros((1024, 1024, 3), np.uint8)
    for i, photo in enumerate(photos):
        r, c = divmod(i, 2)
        crop = photo[:400, :512]
        tile[512 * r : 512 * r + 400, 512 * c : 512 * (c + 1)] = crop
        tile[512 * r + 400 : 512 * (r + 1), 512 * c : 512 * (c + 1)] = crop[:112]
    if dtype == "uint8":
        return tile
    if dtype in ("float32", "float64"):
        return (tile / 255.0).astype(dtype)
    if dtype == "rgba":
        # Opaque, but a quarter of the rows fade in and a band is clear.
        alpha = np.full(tile.shape[:2] + (1,), 255, np.uint8)
        alpha[:256, :, 0] = np.linspace(0, 255, tile.shape[1]).astype(np.uint8)
        alpha[256:320] = 0
        return np.concatenate([tile, alpha], axis=2)
    rng = np.random.default_rng(seed)
    noisy = tile.astype(np.float64) * 257 + rng.normal(0, 300, tile.shape)
    return np.clip(noisy, 0, 65535).astype(np.uint16)


def big_image(tile, side):
    reps = (-(-side // tile.shape[0]), -(-side // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:side, :side])


def check_labels(q, image, out, n_check=2000, seed=1):
    """Sampled output pixels that are not the brute-force nearest entry.

    Compares in the working space (premultiplied colour and opacity for
    RGBA) the palette entry each output pixel holds with the nearest one.
    ``None`` for dithering, whose colours are not the nearest by design.
    """
    if q.dither is not None:
        return None
    rng = np.random.default_rng(seed)
    pixels = image.reshape(-1, image.shape[-1])
    idx = np.sort(rng.choice(len(pixels), n_check, replace=False))
    mapped = out.reshape(pixels.shape)[idx]
    fitted = q._fitted  # the engine's FittedPalette
    work = fitted.space.to_working(pixels[idx], np.float64)
    palette = fitted.palette_work.astype(np.float64)
    d2 = ((work[:, None, :] - palette[None]) ** 2).sum(-1)
    # The entry the output shows (clear pixels keep their own colour).
    shown = (mapped[:, None, :] == q.palette_.astype(mapped.dtype)[None]).all(-1)
    got = np.where(shown, d2, np.inf).min(axis=1)
    clear = pixels[idx, 3] == 0 if pixels.shape[1] == 4 else np.zeros(n_check, bool)
    return int(np.sum((got > d2.min(axis=1) * (1 + 1e-9) + 1e-9) & ~clear))


def map_image(q, image, how):
    """Map ``image`` onto ``q``'s palette: the estimator or the kernels."""
    if how == "transform":
        return q.transform(image)
    from skquant import _kernels
    from skquant._image import full_scale

    colors = q.palette_.astype(image.dtype)
    if q.dither is not None:
        return _kernels.dither_map(
            image,
            q.palette_,
            colors,
            method=q.dither,
            space=q.color_space,
            scale=full_scale(image.dtype),
        )
    pixels = image.reshape(-1, image.shape[-1])
    fitted = q._fitted  # the engine's FittedPalette
    mapped = _kernels.map_to_palette(
        pixels,
        fitted.palette_work,
        colors,
        space=q.color_space,
        scale=fitted.space.assign_scale(),
        alpha=(full_scale(image.dtype), fitted.space.alpha_scale()),
        keep_clear=q.keep_transparent_rgb,
    )
    return mapped.reshape(image.shape)


def measure(case, side):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from skquant import ColorQuantizer

    dtype, n_colors, fit_side, params, how = CASES[case]
    tile = mosaic(dtype)
    fit_on = np.ascontiguousarray(tile[::2, ::2][:fit_side, :fit_side])
    q = ColorQuantizer(n_colors, random_state=0, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        q.fit(fit_on)
    fit_seconds = time.perf_counter() - start
    # numba compilation (the lookup-table kernels from a megapixel on),
    # outside the measurement
    map_image(q, big_image(tile, 1024), how)
    image = big_image(tile, side)
    del tile

    reset_hwm()
    rss_before = status_kib("VmRSS") * 1024
    tracemalloc.start()
    start = time.perf_counter()
    out = map_image(q, image, how)
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_grown = status_kib("VmHWM") * 1024 - rss_before
    assert out.shape == image.shape and out.dtype == image.dtype
    wrong = check_labels(q, image, out)
    del out
    return {
        "case": case,
        "dtype": dtype,
        "n_colors": n_colors,
        "n_colors_": int(q.n_colors_),
        "params": params,
        "megapixels": side * side / 1e6,
        "image_mib": image.nbytes / MIB,
        "fit_pixels": fit_on.shape[0] * fit_on.shape[1],
        "fit_seconds": fit_seconds,
        "transform_seconds": seconds,
        "traced_mib": traced / MIB,
        "rss_mib": rss_grown / MIB,
        "traced_x": traced / image.nbytes,
        "rss_x": rss_grown / image.nbytes,
        "how": how,
        "wrong_labels": wrong,
    }


# =============================================================================
# Driver
# =============================================================================


def run_case(case, side):
    """Measure one case in a fresh Python process."""
    env = dict(os.environ)
    env.setdefault("MALLOC_TRIM_THRESHOLD_", "65536")
    result = subprocess.run(
        [sys.executable, __file__, "--child", case, "--side", str(side)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(rows):
    header = (
        f"{'case':<17} {'K':>6} {'MP':>5} {'image':>8} {'fit s':>7} "
        f"{'transform s':>11} {'traced':>15} {'RSS growth':>15} {'wrong':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['case']:<17} {r['n_colors_']:>6} {r['megapixels']:>5.0f} "
            f"{r['image_mib']:>5.0f} MiB {r['fit_seconds']:>7.1f} "
            f"{r['transform_seconds']:>11.1f} "
            f"{r['traced_mib']:>6.0f} MiB {r['traced_x']:>4.2f}x "
            f"{r['rss_mib']:>6.0f} MiB {r['rss_x']:>4.2f}x "
            f"{'-' if r['wrong_labels'] is None else r['wrong_labels']:>5}"
        )
    print(
        "\ntraced: tracemalloc peak during transform; RSS growth: VmHWM minus "
        "VmRSS before the call;\nboth as multiples of the input image. "
        "wrong: sampled labels (of 2000) that are not the brute-force nearest\n"
        "(- for dithering). *-map cases call the kernel entry point transform\n"
        "uses (map_to_palette with alpha=, dither_map) directly."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=None, help="image side")
    parser.add_argument("--quick", action="store_true", help="4000 x 4000")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES))
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    side = args.side or (4000 if args.quick else 10000)
    if args.child:
        print(json.dumps(measure(args.child, side)))
        return 0
    rows = []
    for case in args.cases or DEFAULT_CASES:
        print(f"running {case} at {side} x {side} ...", file=sys.stderr, flush=True)
        rows.append(run_case(case, side))
    report(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
