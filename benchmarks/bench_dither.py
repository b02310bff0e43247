"""Dithering: calm flat areas, accuracy from a distance, and speed.

Run from the repository root (``imagequant`` comes with the ``benchmark``
extras)::

    .venv/bin/python benchmarks/bench_dither.py              # quality and speed
    .venv/bin/python benchmarks/bench_dither.py --no-timing  # quality only
    .venv/bin/python benchmarks/bench_dither.py --per-photo
    .venv/bin/python benchmarks/bench_dither.py --no-timing --liq-palettes

Quality
-------
On seven photographs (scikit-image's astronaut, coffee, chelsea, rocket and
hubble_deep_field... see :func:`photos`; scikit-learn's china and flower)
at K = 16 and 64, each method maps the photo onto a palette and two
measures are taken against the original:

- ``dE blur``: mean CIEDE2000 after a Gaussian blur (sigma 1.5 pixels, in
  linear light) of both images: the colour seen from a distance, which
  dithering is for (lower is better);
- ``flat noise``: the dither noise where the photo is flat. The error
  ``Lab(result) - Lab(original)`` minus its Gaussian blur (sigma 1.5) is
  its high-frequency part; ``flat noise`` is its root mean square (in
  CIELAB units) over the pixels whose 7 x 7 neighbourhood in the original
  is flat (standard deviation of L*, a*, b* together below 1.5). Lower is
  calmer; no dithering gives the least.

Rows (medians over the photos; ``vs FS`` is the geometric mean over the
photos of the ratios to plain Floyd-Steinberg, photo by photo, which a
median of seven photos can hide, and ``worse`` the number of photos on
which the row is worse than plain Floyd-Steinberg, blur / noise):

- ``skquant none``: ``ColorQuantizer(K, random_state=0)`` without dithering;
- ``skquant FS s=..``: Floyd-Steinberg at ``dither_strength`` s on the same
  palette, ``adaptive`` when the adaptive diffusion is on (see
  :func:`skquant._kernels.dither_labels`);
- ``default FS``: what ``ColorQuantizer(K, dither="floyd-steinberg",
  random_state=0).fit_transform`` gives: adaptive diffusion onto a palette
  fitted for it (flat areas weigh more, see
  :func:`skquant._engine._palette.calm_weights`); ``s=0.5`` with
  ``dither_strength=0.5``. Left out with ``--liq-palettes``;
- ``pillow FS``: Pillow's Floyd-Steinberg onto the same palette
  (``Image.quantize(palette=..., dither=FLOYDSTEINBERG)``);
- ``liq FS``: libimagequant (the engine of pngquant) through the
  ``imagequant`` package, its own palette and its own dithering at
  ``dithering_level`` 1.0 (pngquant's default ``--floyd=1``) and 0.5.

With ``--liq-palettes`` the skquant and Pillow rows dither onto
libimagequant's palette instead (the one of its level 1.0 run), which
separates the dithering from the palette.

Speed
-----
Floyd-Steinberg on a 12-megapixel photo (china.jpg upscaled to 4000 x
3000) at K = 16 and 256 in every colour space, against Pillow's
Floyd-Steinberg onto the same palette, interleaved in one process: medians
of three runs (``--repeats``) and their ratio (skquant on numba's threads),
and the ratio of CPU times with skquant on one thread (``cpu ratio``: what a
busy machine changes least; Pillow runs on one thread). Each space is timed
``plain`` (``dither_adaptive=False``) and ``adaptive`` (the default of
``ColorQuantizer``: the dither map is computed too); ``--mode``,
``--spaces`` and ``--k`` pick fewer rows.
"""

import argparse
import itertools
import statistics
import sys
import time

import numpy as np
from _common import add_photo_options, photos_from
from PIL import Image
from scipy.ndimage import uniform_filter
from skimage import data
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.filters import gaussian
from sklearn.datasets import load_sample_image

from skquant import ColorQuantizer, _color
from skquant._kernels import dither_labels

try:
    import imagequant
except ImportError:  # pragma: no cover - reported at run time
    imagequant = None

N_COLORS = (16, 64)
SPACES = ("rgb", "lab", "oklab", "din99o")

#: Flat: standard deviation of CIELAB over a 7 x 7 window below this.
FLAT_WINDOW = 7
FLAT_STD = 1.5


def photos():
    """``{name: uint8 RGB image}`` of the sample photographs."""
    return {
        "astronaut": data.astronaut(),
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket": data.rocket(),
        "hubble": data.hubble_deep_field()[:512, :512],
        "china": load_sample_image("china.jpg"),
        "flower": load_sample_image("flower.jpg"),
    }


# %% measures ----------------------------------------------------------------------


def blurred_lab(image):
    """CIELAB of ``image`` blurred (sigma 1.5) in linear light."""
    lin = _color.srgb_to_linear(image / 255.0)
    blurred = gaussian(lin, sigma=1.5, channel_axis=-1)
    return rgb2lab(np.clip(_color.linear_to_srgb(blurred), 0.0, 1.0))


class Reference:
    """What the measures need of an original photo, computed once."""

    def __init__(self, image):
        self.lab = rgb2lab(image)
        self.blurred = blurred_lab(image)
        mean = uniform_filter(self.lab, size=(FLAT_WINDOW, FLAT_WINDOW, 1))
        mean_sq = uniform_filter(self.lab**2, size=(FLAT_WINDOW, FLAT_WINDOW, 1))
        std = np.sqrt(np.clip(mean_sq - mean**2, 0.0, None).sum(axis=-1))
        self.flat = std < FLAT_STD

    def blur_delta_e(self, result):
        return float(deltaE_ciede2000(self.blurred, blurred_lab(result)).mean())

    def flat_noise(self, result):
        if not self.flat.any():
            return float("nan")
        error = rgb2lab(result) - self.lab
        high = error - gaussian(error, sigma=1.5, channel_axis=-1)
        return float(np.sqrt((high**2).sum(axis=-1)[self.flat].mean()))


# %% methods ----------------------------------------------------------------------


def skquant_fs(image, palette, strength, adaptive, space="rgb"):
    labels = dither_labels(
        image,
        palette,
        method="floyd-steinberg",
        space=space,
        scale=255.0,
        strength=strength,
        adaptive=adaptive,
    )
    return palette[labels]


def pillow_palette(palette):
    """A Pillow palette image holding ``palette`` (the unused entries repeat
    its first colour, so that they are never nearer than it)."""
    full = np.concatenate([palette, np.repeat(palette[:1], 256 - len(palette), 0)])
    held = Image.new("P", (1, 1))
    held.putpalette(full.astype(np.uint8).ravel().tolist())
    return held


def pillow_fs(image, palette):
    quantized = Image.fromarray(image).quantize(
        palette=pillow_palette(palette), dither=Image.Dither.FLOYDSTEINBERG
    )
    return np.asarray(quantized.convert("RGB"))


def liq_run(image, n_colors, level):
    """libimagequant's ``(indices, palette)`` with dithering at ``level``."""
    h, w = image.shape[:2]
    rgba = np.concatenate([image, np.full((h, w, 1), 255, np.uint8)], axis=-1)
    indices, palette = imagequant.quantize_raw_rgba_bytes(
        rgba.tobytes(), w, h, dithering_level=float(level), max_colors=n_colors
    )
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 4)[:, :3]
    return np.frombuffer(indices, dtype=np.uint8).reshape(h, w), palette


def liq(image, n_colors, level):
    """libimagequant's palette and dithering at ``level`` (0 to 1)."""
    indices, palette = liq_run(image, n_colors, level)
    return palette[indices]


def skquant_default(image, n_colors, strength=1.0):
    """What ``ColorQuantizer(dither="floyd-steinberg")`` gives: its own fit."""
    quantizer = ColorQuantizer(
        n_colors,
        dither="floyd-steinberg",
        dither_strength=strength,
        random_state=0,
    )
    return quantizer.fit_transform(image)


def methods(n_colors, liq_palettes=False):
    """``[(row name, function(image, palette) -> result)]``."""
    rows = [
        ("skquant none", lambda im, p: skquant_fs(im, p, 0.0, False)),
        ("skquant FS s=1", lambda im, p: skquant_fs(im, p, 1.0, False)),
        ("skquant FS s=1 adaptive", lambda im, p: skquant_fs(im, p, 1.0, True)),
        ("skquant FS s=0.5", lambda im, p: skquant_fs(im, p, 0.5, False)),
        ("skquant FS s=0.5 adaptive", lambda im, p: skquant_fs(im, p, 0.5, True)),
    ]
    if not liq_palettes:
        rows.append(("default FS", lambda im, p: skquant_default(im, n_colors)))
        rows.append(
            ("default FS s=0.5", lambda im, p: skquant_default(im, n_colors, 0.5))
        )
    rows.append(("pillow FS", pillow_fs))
    if imagequant is not None:
        rows.append(("liq FS 1.0", lambda im, p: liq(im, n_colors, 1.0)))
        rows.append(("liq FS 0.5", lambda im, p: liq(im, n_colors, 0.5)))
    return rows


def quality(images, per_photo, liq_palettes=False):
    refs = {name: Reference(image) for name, image in images.items()}
    for n_colors in N_COLORS:
        palettes = {
            name: ColorQuantizer(n_colors, random_state=0).fit(image).palette_
            for name, image in images.items()
        }
        if liq_palettes:  # skquant and Pillow dither onto libimagequant's
            palettes = {
                name: liq_run(image, n_colors, 1.0)[1] for name, image in images.items()
            }
            print("\n(skquant and Pillow on libimagequant's palettes)", end="")
        print(f"\nK = {n_colors}: medians over {len(images)} photos")
        print(
            f"{'method':<28}{'dE blur':>9}{'flat noise':>12}{'vs FS':>16}{'worse':>8}"
        )
        plain = None
        for row, func in methods(n_colors, liq_palettes):
            blur, noise = [], []
            for name, image in images.items():
                result = func(image, palettes[name])
                blur.append(refs[name].blur_delta_e(result))
                noise.append(refs[name].flat_noise(result))
            if row == "skquant FS s=1":
                plain = (blur, noise)
            ratios, worse = "", ""
            if plain is not None:
                pairs = list(zip((blur, noise), plain, strict=True))
                ratios = " ".join(
                    f"{geometric_ratio(ours, theirs):+.1%}" for ours, theirs in pairs
                )
                worse = "/".join(
                    str(sum(a > b for a, b in zip(ours, theirs, strict=True)))
                    for ours, theirs in pairs
                )
            print(
                f"{row:<28}{statistics.median(blur):>9.3f}"
                f"{statistics.median(noise):>12.3f}{ratios:>16}{worse:>8}",
                flush=True,
            )
            if per_photo:  # under their row
                for name, b, n in zip(images, blur, noise, strict=True):
                    print(f"  {name:<26}{b:>9.3f}{n:>12.3f}")


def geometric_ratio(ours, theirs):
    """Geometric mean of ``ours / theirs`` over the photos, minus 1 (NaN
    pairs, photos without flat areas, are left out)."""
    pairs = [(a, b) for a, b in zip(ours, theirs, strict=True) if a == a and b == b]
    return statistics.geometric_mean([a / b for a, b in pairs]) - 1.0


# %% speed --------------------------------------------------------------------------


#: Working spaces timed (the quality tables use SPACES).
SPEED_SPACES = (*SPACES, "perceptual")


def speed(repeats=3, adaptive=(False, True), spaces=None, n_colors_list=(16, 256)):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    import numba
    from _common import median, photo_12mp, repeat

    image = photo_12mp()
    source = Image.fromarray(image)
    threads = numba.get_num_threads()
    print("\nFloyd-Steinberg on 12 MP (4000 x 3000), medians of", repeats, "runs")
    print(f"wall: skquant on {threads} threads; cpu: skquant on 1 thread, CPU time")
    print(
        f"{'K':>4} {'space':<11}{'mode':<9}{'skquant s':>10}{'pillow s':>10}"
        f"{'ratio':>7}{'cpu ratio':>11}"
    )
    for n_colors in n_colors_list:
        palette = ColorQuantizer(n_colors, random_state=0).fit(image[::4, ::4])
        palette = palette.palette_
        held = pillow_palette(palette)

        def pillow(held=held):
            return source.quantize(palette=held, dither=Image.Dither.FLOYDSTEINBERG)

        for space, mode in itertools.product(spaces or SPEED_SPACES, adaptive):

            def ours(space=space, palette=palette, mode=mode):
                return dither_labels(
                    image,
                    palette,
                    method="floyd-steinberg",
                    space=space,
                    scale=255.0,
                    adaptive=mode,
                )

            ours(), pillow()  # compile, warm the caches
            ours_t, pillow_t, ours_cpu, pillow_cpu = [], [], [], []
            for _ in range(repeats):
                ours_t += repeat(ours, 1)
                pillow_t += repeat(pillow, 1)
                # One thread, CPU time: less sensitive to a busy machine.
                numba.set_num_threads(1)
                try:
                    ours_cpu.append(cpu_seconds(ours))
                finally:
                    numba.set_num_threads(threads)
                pillow_cpu.append(cpu_seconds(pillow))
            a, b = median(ours_t), median(pillow_t)
            cpu = median(ours_cpu) / median(pillow_cpu)
            name = "adaptive" if mode else "plain"
            row = f"{n_colors:>4} {space:<11}{name:<9}{a:>10.3f}{b:>10.3f}{a / b:>7.2f}"
            print(f"{row}{cpu:>11.2f}", flush=True)


def cpu_seconds(func):
    """CPU time of ``func()`` in this thread (the kernels run in it on one
    thread, as Pillow does)."""
    start = time.thread_time()
    func()
    return time.thread_time() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--per-photo", action="store_true")
    add_photo_options(parser)
    parser.add_argument(
        "--liq-palettes",
        action="store_true",
        help="dither onto libimagequant's palettes instead of skquant's",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (speed)")
    parser.add_argument(
        "--mode",
        choices=("both", "plain", "adaptive"),
        default="both",
        help="Floyd-Steinberg timed: plain, adaptive (the default of "
        "ColorQuantizer) or both",
    )
    parser.add_argument("--spaces", help="comma-separated spaces timed (default all)")
    parser.add_argument("--k", help="comma-separated K timed (default 16,256)")
    args = parser.parse_args(argv)
    if imagequant is None:
        print("imagequant is not installed: the libimagequant rows are left out")
    if not args.no_quality:
        images = photos_from(args.photos, args.max_side) if args.photos else photos()
        quality(images, args.per_photo, args.liq_palettes)
    if not args.no_timing:
        modes = {"both": (False, True), "plain": (False,), "adaptive": (True,)}
        speed(
            args.repeats,
            modes[args.mode],
            args.spaces.split(",") if args.spaces else None,
            tuple(int(k) for k in args.k.split(",")) if args.k else (16, 256),
        )


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - start:.0f} s)")
