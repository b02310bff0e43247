"""Image quality of skquant against libimagequant and Pillow, and dithering speed.

Run from the repository root (needs the ``benchmark`` extras: ``imagequant``)::

    .venv/bin/python benchmarks/bench_quality.py            # everything
    .venv/bin/python benchmarks/bench_quality.py --quick    # K = 16 only, 3 photos
    .venv/bin/python benchmarks/bench_quality.py --per-photo --no-timing
    .venv/bin/python benchmarks/bench_quality.py --candidates   # colour-space study
    .venv/bin/python benchmarks/bench_quality.py --no-fs --no-timing --light \
        --spaces rgb,din99o,perceptual --json frontier.json \
        --plot docs/_static/color_space_frontier.png
    .venv/bin/python benchmarks/bench_quality.py --no-quality --fit-timing

What is measured
----------------
On every colour photograph shipped with scikit-image and scikit-learn (ten:
scikit-image's astronaut, coffee, chelsea, rocket, retina,
hubble_deep_field, immunohistochemistry and the left view of
stereo_motorcycle; scikit-learn's china and flower; ``--six`` keeps the
first four and the last two, the set of earlier measurements) at K = 8, 16,
64 and 256 colours:

- ``dE``: mean CIEDE2000 between the original and the quantized image
  (:func:`skquant.metrics.mean_delta_e`); ``vs liq`` is the median over the
  photos of the per-photo change against libimagequant without dithering,
  and ``worst`` the largest per-photo change (positive: worse than
  libimagequant on some photo); the PSNR ``vs liq`` likewise, and ``both``
  counts the photos on which a method is worse than libimagequant on both
  measures at once;
- ``PSNR`` (dB) and ``SSIM`` (:mod:`skquant.metrics`);
- ``dE blur``: mean CIEDE2000 after a Gaussian blur of sigma 1.5 pixels of
  both images, done in linear light (what the eye sees from a distance).
  Dithering trades pixel-level error (dE, PSNR get worse) for a better
  average colour; this column is the one that shows it.

Figures are medians over the photos. The rows are:

- ``skquant-<space>``: ``ColorQuantizer(K, color_space=space,
  random_state=0)``, then ``transform`` (no dithering) or, with ``+FS``,
  :func:`skquant._dither.dither_labels` with Floyd-Steinberg on the fitted
  palette;
- ``liq``: libimagequant through the ``imagequant`` package
  (``quantize_raw_rgba_bytes``, default speed and quality), with
  ``dithering_level`` 0 or 1 (``+FS``, its own Floyd-Steinberg);
- ``pillow-mediancut``: ``Image.quantize(method=MEDIANCUT,
  dither=NONE)``, or Pillow's Floyd-Steinberg (``+FS``).

``--candidates`` adds palettes fitted by k-means (scikit-learn, pixels
pooled into a 64**3 histogram as skquant does, one run, seed 0) in spaces
skquant does not offer, each mapped to the nearest colour in the same
space: CIELAB with its lightness axis scaled (``lab-L*w``), DIN99 (ASTM
D2244-07), DIN99o with a scaled lightness, OKLab with a scaled lightness;
see :func:`din99_from_lab` for the formulas. It also runs
``ColorQuantizer`` with ``n_init=4``.

``--ks 16,256`` restricts K. ``--seeds 0,1,2`` fits every photo with
each ``random_state`` as well: the tables are for the first, and a line
per space gives the medians against libimagequant of each seed and their
mean (k-means' local optima move a median over ten photos by a few tenths
of a percent and a few hundredths of a dB from seed to seed). Under each
table, the fit time of every space as a ratio to ``'rgb'`` (sum over the
photos, first seed).

``--json`` writes the per-photo figures, ``--plot`` draws the frontier: the
median CIEDE2000 and PSNR changes against libimagequant of every colour
space, one panel per K.

``--fit-timing`` times ``ColorQuantizer(256, color_space=space).fit`` on the
12-megapixel photo below for every space, interleaved, as ratios to
``'rgb'``.

The timing part dithers a 12-megapixel photograph (china.jpg upscaled to
4000 x 3000 with bicubic interpolation) with K = 256 and compares it with
the undithered ``ColorQuantizer.transform`` in the same process,
interleaved; wall-clock medians of three runs, plus the CPU time (the
machine may be shared: CPU time is steadier).
"""

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
from _common import add_photo_options, photos_from
from PIL import Image
from skimage import data
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.filters import gaussian
from sklearn.cluster import KMeans
from sklearn.datasets import load_sample_image
from threadpoolctl import threadpool_limits

from skquant import ColorQuantizer, _color
from skquant._kernels import dither_labels
from skquant.metrics import (
    mean_delta_e,
    peak_signal_noise_ratio,
    structural_similarity,
)

try:
    import imagequant
except ImportError:  # pragma: no cover - reported at run time
    imagequant = None

N_COLORS = (8, 16, 64, 256)
SPACES = _color.COLOR_SPACES
SEED = 0

# %% photographs -----------------------------------------------------------------


#: The six photographs of earlier measurements (``--six``).
SIX = ("astronaut", "coffee", "chelsea", "rocket", "china", "flower")


def photos(quick=False, six=False):
    """``{name: uint8 RGB image}`` of the benchmark photographs."""
    images = {
        "astronaut": data.astronaut(),
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket": data.rocket(),
        "retina": data.retina(),
        "hubble": data.hubble_deep_field(),
        "ihc": data.immunohistochemistry(),
        "motorcycle": data.stereo_motorcycle()[0],
        "china": load_sample_image("china.jpg"),
        "flower": load_sample_image("flower.jpg"),
    }
    if quick:
        return {k: images[k] for k in ("astronaut", "coffee", "china")}
    if six:
        return {k: images[k] for k in SIX}
    return images


def photo_12mp():
    """china.jpg upscaled (bicubic) to 4000 x 3000."""
    china = Image.fromarray(load_sample_image("china.jpg"))
    return np.asarray(china.resize((4000, 3000), Image.Resampling.BICUBIC))


# %% quantizers -------------------------------------------------------------------


def skquant_fit(image, n_colors, space, seed=SEED, **params):
    return ColorQuantizer(n_colors, color_space=space, random_state=seed, **params).fit(
        image
    )


def skquant_plain(quantizer, image):
    return quantizer.transform(image)


def skquant_fs(quantizer, image):
    labels = dither_labels(
        image,
        quantizer.palette_,
        method="floyd-steinberg",
        space=quantizer.color_space,
        scale=255.0,
    )
    return quantizer.palette_[labels]


def liq(image, n_colors, dither):
    """libimagequant; ``dither`` is its dithering level (0 or 1)."""
    h, w = image.shape[:2]
    rgba = np.concatenate([image, np.full((h, w, 1), 255, np.uint8)], axis=-1)
    indices, palette = imagequant.quantize_raw_rgba_bytes(
        rgba.tobytes(), w, h, dithering_level=float(dither), max_colors=n_colors
    )
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 4)[:, :3]
    return palette[np.frombuffer(indices, dtype=np.uint8)].reshape(image.shape)


def pillow_mediancut(image, n_colors, dither):
    """Pillow's median cut; with ``dither``, its palette applied with Pillow's FS.

    (``quantize`` ignores ``dither`` when it builds the palette itself, so the
    dithered version maps the image again onto the median-cut palette.)
    """
    pil = Image.fromarray(image)
    quantized = pil.quantize(
        colors=n_colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    if dither:
        quantized = pil.quantize(palette=quantized, dither=Image.Dither.FLOYDSTEINBERG)
    return np.asarray(quantized.convert("RGB"))


# %% candidate spaces (prototypes for the colour-space study) ---------------------

_COS16, _SIN16 = np.cos(np.radians(16.0)), np.sin(np.radians(16.0))


def din99_from_lab(lab):
    """CIELAB -> DIN99 (ASTM D2244-07): 105.509, 0.0158, 16 degrees, 0.7, 0.045."""
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    e = a * _COS16 + b * _SIN16
    f = 0.7 * (b * _COS16 - a * _SIN16)
    chroma = np.log1p(0.045 * np.hypot(e, f)) / 0.045
    hue = np.arctan2(f, e)
    return np.stack(
        [
            105.509 * np.log1p(0.0158 * lightness),
            chroma * np.cos(hue),
            chroma * np.sin(hue),
        ],
        axis=-1,
    )


def lab_from_din99(values):
    """Inverse of :func:`din99_from_lab`."""
    lightness = np.expm1(values[..., 0] / 105.509) / 0.0158
    g = np.expm1(0.045 * np.hypot(values[..., 1], values[..., 2])) / 0.045
    hue = np.arctan2(values[..., 2], values[..., 1])
    e, f = g * np.cos(hue), g * np.sin(hue) / 0.7
    return np.stack([lightness, e * _COS16 - f * _SIN16, e * _SIN16 + f * _COS16], -1)


def candidate_space(name):
    """``(to_space, from_space)`` on sRGB in [0, 1] for a candidate name.

    Names: ``lab-L*w``, ``oklab-L*w`` (lightness scaled by ``w``),
    ``din99``, ``din99o``.
    """
    base, _, weight = name.partition("-L*")
    w = np.array([float(weight) if weight else 1.0, 1.0, 1.0])
    spaces = {
        "lab": (_color.rgb_to_lab, _color.lab_to_rgb),
        "oklab": (_color.rgb_to_oklab, _color.oklab_to_rgb),
        "din99o": (_color.rgb_to_din99o, _color.din99o_to_rgb),
        "din99": (
            lambda rgb: din99_from_lab(_color.rgb_to_lab(rgb)),
            lambda v: _color.lab_to_rgb(lab_from_din99(v)),
        ),
    }
    if base in spaces:
        to_space, from_space = spaces[base]
        return lambda rgb: to_space(rgb) * w, lambda v: from_space(v / w)
    raise ValueError(f"unknown candidate {name!r}")


def _pooled(image):
    """Cell means (sRGB in [0, 1]) and counts of a 64**3 histogram."""
    pixels = image.reshape(-1, 3)
    codes = (pixels >> 2).astype(np.int64) @ np.array([1 << 12, 1 << 6, 1])
    counts = np.bincount(codes, minlength=1 << 18)
    sums = np.stack(
        [np.bincount(codes, weights=pixels[:, c], minlength=1 << 18) for c in range(3)],
        axis=-1,
    )
    used = counts > 0
    return sums[used] / counts[used, None] / 255.0, counts[used].astype(float)


def _nearest_in(image, palette, to_space):
    """Nearest palette colour of every pixel in a space (via distinct colours)."""
    colors, inverse = np.unique(image.reshape(-1, 3), axis=0, return_inverse=True)
    work = to_space(colors / 255.0)
    palette_work = to_space(palette / 255.0)
    labels = np.empty(len(colors), dtype=np.int64)
    for start in range(0, len(colors), 4096):
        block = work[start : start + 4096]
        d2 = ((block[:, None, :] - palette_work[None]) ** 2).sum(axis=-1)
        labels[start : start + 4096] = d2.argmin(axis=1)
    return palette[labels[inverse.ravel()]].reshape(image.shape)


def candidate(image, n_colors, name):
    """Quantize with k-means in a candidate space (fit and map in that space).

    ``'skquant-<space> n_init=<n>'`` is :class:`ColorQuantizer` itself with
    more k-means runs.
    """
    if name.startswith("skquant-"):
        space, _, n_init = name[len("skquant-") :].partition(" n_init=")
        q = skquant_fit(image, n_colors, space, n_init=int(n_init))
        return q.transform(image)
    to_space, from_space = candidate_space(name)
    points, weights = _pooled(image)
    with threadpool_limits(1, user_api="openmp"):
        km = KMeans(n_colors, n_init=1, random_state=SEED)
        km.fit(to_space(points), sample_weight=weights)
    rgb = np.clip(from_space(km.cluster_centers_), 0.0, 1.0)
    palette = np.rint(rgb * 255).astype(np.uint8)
    return _nearest_in(image, palette, to_space)


CANDIDATES = (
    "skquant-lab n_init=4",
    "skquant-oklab n_init=4",
    "lab-L*1.5",
    "lab-L*2",
    "oklab-L*0.5",
    "din99",
    "din99o-L*1.25",
)

# %% metrics -----------------------------------------------------------------------


def _blurred_lab(image):
    linear = _color.srgb_to_linear(image / 255.0)
    blurred = gaussian(linear, sigma=1.5, channel_axis=-1)
    return rgb2lab(np.clip(_color.linear_to_srgb(blurred), 0.0, 1.0))


def metrics(image, out, reference_blur):
    if reference_blur is None:  # --light: the two measures of the frontier
        return {
            "dE": mean_delta_e(image, out),
            "PSNR": peak_signal_noise_ratio(image, out),
            "SSIM": np.nan,
            "dE blur": np.nan,
        }
    return {
        "dE": mean_delta_e(image, out),
        "PSNR": peak_signal_noise_ratio(image, out),
        "SSIM": structural_similarity(image, out),
        "dE blur": float(deltaE_ciede2000(reference_blur, _blurred_lab(out)).mean()),
    }


# %% quality table -----------------------------------------------------------------


def quality(
    images,
    n_colors_list,
    *,
    with_candidates,
    per_photo,
    spaces,
    fs=True,
    light=False,
    seeds=(SEED,),
):
    """Print the tables; return ``{n_colors: {method: [metrics per photo]}}``.

    The tables are for the first of ``seeds``; the others (``random_state``
    of the fits) give one more line per space: the medians of every seed.
    """
    tables = {}
    first = next(iter(images.values()))
    for space in spaces:  # compile outside the timed fits
        skquant_fit(first[:128, :128], 8, space)
    for n_colors in n_colors_list:
        rows = {}  # method -> list of metric dicts, one per photo
        other_seeds = {}  # (space, seed) -> list of metric dicts
        fit_time = dict.fromkeys(spaces, 0.0)
        for image in images.values():
            reference_blur = None if light else _blurred_lab(image)
            outs = {}
            for space in spaces:
                for seed in seeds[1:]:
                    q = skquant_fit(image, n_colors, space, seed=seed)
                    other_seeds.setdefault((space, seed), []).append(
                        metrics(image, skquant_plain(q, image), None)
                    )
                start = time.perf_counter()
                q = skquant_fit(image, n_colors, space, seed=seeds[0])
                fit_time[space] += time.perf_counter() - start
                outs[f"skquant-{space}"] = skquant_plain(q, image)
                if fs:
                    outs[f"skquant-{space} +FS"] = skquant_fs(q, image)
            if imagequant is not None:
                outs["liq"] = liq(image, n_colors, 0)
                if fs:
                    outs["liq +FS"] = liq(image, n_colors, 1)
            if not light:
                outs["pillow-mediancut"] = pillow_mediancut(image, n_colors, False)
            if fs and not light:
                outs["pillow-mediancut +FS"] = pillow_mediancut(image, n_colors, True)
            if with_candidates:
                for name in CANDIDATES:
                    outs[f"cand {name}"] = candidate(image, n_colors, name)
            for method, out in outs.items():
                rows.setdefault(method, []).append(metrics(image, out, reference_blur))
        _print_table(n_colors, rows, list(images), per_photo)
        if "rgb" in fit_time:
            print(
                "fit time vs 'rgb' (sum over the photos): "
                + ", ".join(
                    f"{space} {fit_time[space] / fit_time['rgb']:.2f}x"
                    for space in spaces
                )
            )
        if len(seeds) > 1 and "liq" in rows:
            _print_seeds(n_colors, rows, other_seeds, spaces, seeds)
        tables[n_colors] = rows
    return tables


def _print_seeds(n_colors, rows, other_seeds, spaces, seeds):
    """Median changes against libimagequant for every ``random_state``."""
    print(f"K = {n_colors}, medians vs liq for random_state = {seeds}:")
    for space in spaces:
        per_seed = [rows[f"skquant-{space}"]]
        per_seed += [other_seeds[space, seed] for seed in seeds[1:]]
        medians = []
        for values in per_seed:
            change_de, change_psnr = changes(values, rows["liq"])
            both = int(np.sum((change_de > 0) & (change_psnr < 0)))
            medians.append((np.median(change_de), np.median(change_psnr), both))
        mean_de, mean_psnr = np.mean([m[:2] for m in medians], axis=0)
        print(
            f"    {space:<12}"
            + "  ".join(f"{de:+5.1f}% {psnr:+.2f} dB {b}" for de, psnr, b in medians)
            + f"   mean {mean_de:+5.1f}% {mean_psnr:+.3f} dB"
        )
    sys.stdout.flush()


def changes(values, base):
    """Per-photo CIEDE2000 change (%) and PSNR change (dB) against ``base``."""
    de = np.array([v["dE"] for v in values])
    psnr = np.array([v["PSNR"] for v in values])
    base_de = np.array([v["dE"] for v in base])
    base_psnr = np.array([v["PSNR"] for v in base])
    return 100 * (de / base_de - 1), psnr - base_psnr


def _print_table(n_colors, rows, names, per_photo):
    base = rows.get("liq")
    print(f"\nK = {n_colors}   (medians over {len(names)} photos)")
    print(
        f"{'method':<30}{'dE':>7}{'vs liq':>9}{'worst':>8}{'PSNR':>8}"
        f"{'vs liq':>8}{'worst':>7}{'both':>5}{'SSIM':>8}{'dE blur':>9}"
    )
    order = sorted(rows, key=lambda m: ("+FS" in m, m.startswith("cand"), m))
    for method in order:
        values = rows[method]
        de = np.array([v["dE"] for v in values])
        psnr = np.array([v["PSNR"] for v in values])
        line = f"{method:<30}{np.median(de):7.3f}"
        if base is not None:
            change_de, change_psnr = changes(values, base)
            both = int(np.sum((change_de > 0) & (change_psnr < 0)))
            line += f"{np.median(change_de):+8.1f}%{np.max(change_de):+7.1f}%"
            line += f"{np.median(psnr):8.2f}{np.median(change_psnr):+8.2f}"
            line += f"{np.min(change_psnr):+7.2f}{both:5d}"
        else:
            line += f"{'':>17}{np.median(psnr):8.2f}{'':>20}"
        line += f"{statistics.median(v['SSIM'] for v in values):8.4f}"
        line += f"{statistics.median(v['dE blur'] for v in values):9.3f}"
        print(line)
        if per_photo:
            for name, v in zip(names, values, strict=True):
                print(
                    f"    {name:<26}{v['dE']:7.3f}{'':>17}{v['PSNR']:8.2f}"
                    f"{'':>20}{v['SSIM']:8.4f}{v['dE blur']:9.3f}"
                )
    sys.stdout.flush()


# %% the frontier: JSON and plot ---------------------------------------------------


def frontier(tables, spaces):
    """``{n_colors: {space: (median dE change %, median PSNR change dB)}}``."""
    out = {}
    for n_colors, rows in tables.items():
        base = rows["liq"]
        out[n_colors] = {}
        for space in spaces:
            change_de, change_psnr = changes(rows[f"skquant-{space}"], base)
            out[n_colors][space] = (
                float(np.median(change_de)),
                float(np.median(change_psnr)),
            )
    return out


def write_json(path, tables, names):
    """Per-photo dE and PSNR of every method, and the frontier medians."""
    import json

    spaces = [m[len("skquant-") :] for m in next(iter(tables.values())) if _plain(m)]
    payload = {
        "photos": names,
        "per_photo": {
            str(k): {
                m: [{"dE": v["dE"], "PSNR": v["PSNR"]} for v in values]
                for m, values in rows.items()
            }
            for k, rows in tables.items()
        },
        "frontier": {str(k): v for k, v in frontier(tables, spaces).items()},
    }
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)


def _plain(method):
    return method.startswith("skquant-") and "+FS" not in method


def plot_frontier(path, tables, n_photos):
    """Median CIEDE2000 change vs median PSNR change, one panel per K."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spaces = [m[len("skquant-") :] for m in next(iter(tables.values())) if _plain(m)]
    points = frontier(tables, spaces)
    fig, axes = plt.subplots(
        1, len(points), figsize=(3.1 * len(points), 3.3), layout="constrained"
    )
    axes = np.atleast_1d(axes)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colours = {space: palette[i % len(palette)] for i, space in enumerate(spaces)}
    for ax, (n_colors, by_space) in zip(axes, points.items(), strict=True):
        ax.fill_between([-100, -5], 0.1, 100, color="0.92", lw=0, zorder=0)
        ax.axhline(0.1, color="0.6", lw=0.8, ls="--")
        ax.axvline(-5, color="0.6", lw=0.8, ls="--")
        ax.plot(0, 0, "kx", ms=8, label="libimagequant")
        for space, (de, psnr) in by_space.items():
            ax.plot(de, psnr, "o", color=colours[space], label=space)
        xs = [v[0] for v in by_space.values()] + [0, -5]
        ys = [v[1] for v in by_space.values()] + [0, 0.1]
        ax.set_xlim(min(xs) - 2, max(xs) + 2)
        ax.set_ylim(min(ys) - 0.2, max(ys) + 0.2)
        ax.set_title(f"K = {n_colors}")
        ax.set_xlabel("mean CIEDE2000 vs libimagequant (%)")
    axes[0].set_ylabel("PSNR vs libimagequant (dB)")
    axes[-1].legend(fontsize=8, loc="lower right")
    fig.suptitle(
        f"Medians over {n_photos} photos, no dithering; better is up and left, "
        "grey: the targets (CIEDE2000 -5 %, PSNR +0.1 dB)",
        fontsize=10,
    )
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


# %% timing ------------------------------------------------------------------------


def fit_timing(repeats=3):
    """Fit time of every space on the 12 MP photo, as ratios to 'rgb'."""
    image = photo_12mp()
    print(f"\nFit time, {image.shape[1]} x {image.shape[0]} photo, K = 256")
    for space in SPACES:  # compile outside the timed runs
        skquant_fit(image[:256, :256], 256, space)
    wall = {space: [] for space in SPACES}
    for _ in range(repeats):  # interleaved
        for space in SPACES:
            w0 = time.perf_counter()
            skquant_fit(image, 256, space)
            wall[space].append(time.perf_counter() - w0)
    base = statistics.median(wall["rgb"])
    for space in SPACES:
        w = statistics.median(wall[space])
        print(f"{space:<12}{w:8.2f} s{w / base:8.2f}x rgb")
    sys.stdout.flush()


def timing(repeats=3):
    image = photo_12mp()
    print(f"\nDithering speed, {image.shape[1]} x {image.shape[0]} photo, K = 256")
    print(f"{'space':<8}{'method':<18}{'wall s':>8}{'cpu s':>8}{'x transform':>13}")
    for space in SPACES:
        q = ColorQuantizer(256, color_space=space, random_state=SEED).fit(image)
        # Compile and warm up outside the timed runs.
        q.transform(image[:64])
        for method in ("floyd-steinberg", "bayer"):
            dither_labels(image[:64], q.palette_, method=method, space=space, scale=255)
        cases = {
            "transform": lambda q=q: q.transform(image),
            "floyd-steinberg": lambda q=q, s=space: dither_labels(
                image, q.palette_, method="floyd-steinberg", space=s, scale=255.0
            ),
            "bayer": lambda q=q, s=space: dither_labels(
                image, q.palette_, method="bayer", space=s, scale=255.0
            ),
        }
        wall = {name: [] for name in cases}
        cpu = {name: [] for name in cases}
        for _ in range(repeats):  # interleaved, so load changes hit every case
            for name, run in cases.items():
                w0, c0 = time.perf_counter(), time.process_time()
                run()
                wall[name].append(time.perf_counter() - w0)
                cpu[name].append(time.process_time() - c0)
        base = statistics.median(wall["transform"])
        for name in cases:
            w = statistics.median(wall[name])
            c = statistics.median(cpu[name])
            print(f"{space:<8}{name:<18}{w:8.2f}{c:8.2f}{w / base:12.1f}x")
        sys.stdout.flush()


# %% main --------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K=16, three photos")
    parser.add_argument("--per-photo", action="store_true", help="per-photo rows")
    parser.add_argument("--candidates", action="store_true", help="colour-space study")
    parser.add_argument(
        "--no-timing", action="store_true", help="skip the 12 MP timing"
    )
    parser.add_argument("--no-quality", action="store_true", help="timing only")
    parser.add_argument("--six", action="store_true", help="the six older photos")
    add_photo_options(parser)
    parser.add_argument("--no-fs", action="store_true", help="no dithered rows")
    parser.add_argument(
        "--light", action="store_true", help="dE and PSNR only, no Pillow rows"
    )
    parser.add_argument(
        "--spaces", default=",".join(SPACES), help="comma-separated colour spaces"
    )
    parser.add_argument(
        "--ks", help="comma-separated numbers of colours (default 8,16,64,256)"
    )
    parser.add_argument(
        "--seeds",
        default=str(SEED),
        help="comma-separated random_state values; tables for the first, the "
        "medians of every one below them",
    )
    parser.add_argument("--json", help="write per-photo figures to this file")
    parser.add_argument("--plot", help="draw the frontier into this PNG")
    parser.add_argument(
        "--fit-timing", action="store_true", help="12 MP fit time per space"
    )
    args = parser.parse_args(argv)
    if imagequant is None:
        print("imagequant is not installed: libimagequant rows are skipped.")
    warnings.simplefilter("ignore", category=UserWarning)
    if not args.no_quality:
        n_colors = (16,) if args.quick else N_COLORS
        if args.ks:
            n_colors = tuple(int(k) for k in args.ks.split(","))
        if args.photos:
            images = photos_from(args.photos, args.max_side)
        else:
            images = photos(args.quick, args.six)
        tables = quality(
            images,
            n_colors,
            with_candidates=args.candidates,
            per_photo=args.per_photo,
            spaces=args.spaces.split(","),
            fs=not args.no_fs,
            light=args.light,
            seeds=tuple(int(seed) for seed in args.seeds.split(",")),
        )
        if args.json:
            write_json(args.json, tables, list(images))
        if args.plot and imagequant is not None:
            plot_frontier(args.plot, tables, len(images))
    if args.fit_timing:
        fit_timing(repeats=1 if args.quick else 3)
    if not args.no_timing:
        timing(repeats=1 if args.quick else 3)


if __name__ == "__main__":
    main()
