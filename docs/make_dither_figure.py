"""Make docs/_static/dither_calm.png, the before/after of the dithering guide.

Run from the repository root: ``python docs/make_dither_figure.py``. It
quantizes scikit-image's ``rocket`` to 64 colours and shows a crop (the
smooth sky and a mast) enlarged: the original,
Floyd-Steinberg as ``dither="floyd-steinberg"`` gave it before adaptive
dithering became the default (``dither_adaptive=False`` onto the undithered
palette), the default now (adaptive diffusion onto a palette fitted for
it), and libimagequant's own dithering (pngquant's engine, through the
``imagequant`` package from the ``benchmark`` extras; left out without it).
Each title gives the two measures of ``benchmarks/bench_dither.py`` on the
whole photo: blurred CIEDE2000 and flat-area noise.

It also makes docs/_static/dither_gradient.png: a clean colour ramp
dithered onto a palette of six colours along it, plain, by the default
adaptive diffusion, and with the calmer ramp that the default keeps for
noisy flat areas applied everywhere (what the plane test of
:mod:`skquant._kernels._dither_map` avoids: bands at the palette colours).

And docs/_static/dither_photo.png: matplotlib's sample photo
``grace_hopper.jpg`` (not one of the benchmark's photos) at 16 colours, a
crop of its blue backdrop (a JPEG-noisy flat area): the original, the
default of 0.8.0 (the same diffusion onto the undithered palette), the
default now (onto a palette fitted with flat areas weighted), and
libimagequant's dithering, with the whole photo's measures.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage import data  # noqa: E402

from skquant import ColorQuantizer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "_static" / "dither_calm.png"
GRADIENT = ROOT / "docs" / "_static" / "dither_gradient.png"
PHOTO = ROOT / "docs" / "_static" / "dither_photo.png"
N_COLORS = 64
#: rows, columns of the crop
CROP = (slice(100, 175), slice(175, 275))


def main():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_dither

    photo = data.rocket()
    reference = bench_dither.Reference(photo)
    plain = ColorQuantizer(N_COLORS, random_state=0).fit(photo).palette_
    versions = {
        "original": photo,
        "before: plain Floyd-Steinberg": bench_dither.skquant_fs(
            photo, plain, 1.0, False
        ),
        'now: dither="floyd-steinberg"': ColorQuantizer(
            N_COLORS, dither="floyd-steinberg", random_state=0
        ).fit_transform(photo),
    }
    if bench_dither.imagequant is not None:
        versions["libimagequant (pngquant)"] = bench_dither.liq(photo, N_COLORS, 1.0)
    TARGET.parent.mkdir(exist_ok=True)
    crops(versions, reference, CROP, (3.4, 3.0), TARGET)
    gradient_figure()
    photo_figure(bench_dither)


def gradient_figure():
    """docs/_static/dither_gradient.png (see the module's docstring)."""
    from skquant._kernels import _dither, dither_labels

    t = np.linspace(0.0, 1.0, 480)[None, :, None]
    start, stop = np.array([40.0, 60.0, 150.0]), np.array([230.0, 200.0, 120.0])
    ramp = np.repeat(start + t * (stop - start), 48, axis=0).round().astype(np.uint8)
    palette = (start + np.linspace(0, 1, 6)[:, None] * (stop - start)).round()
    palette = palette.astype(np.uint8)

    def dithered(adaptive):
        labels = dither_labels(
            ramp, palette, method="floyd-steinberg", space="rgb", scale=255.0,
            adaptive=adaptive,
        )  # fmt: skip
        return palette[labels]

    rows = {"plain Floyd-Steinberg": dithered(False), "default": dithered(True)}
    # the calmer ramp everywhere, without the plane test (illustration only)
    names = ("ADAPTIVE_FLAT", "ADAPTIVE_TEXTURED", "ADAPTIVE_FLAT_LIMIT")
    saved = [getattr(_dither, name) for name in names]
    try:
        for name in names:
            setattr(_dither, name, getattr(_dither, name.replace("_", "_NOISY_", 1)))
        rows["the calmer ramp everywhere: bands"] = dithered(True)
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(_dither, name, value)
    fig, axes = plt.subplots(len(rows), 1, figsize=(6.0, 3.6), layout="constrained")
    for ax, (title, image) in zip(axes, rows.items(), strict=True):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.savefig(GRADIENT, dpi=100, metadata={"Software": None})
    print(f"wrote {GRADIENT}")


def photo_figure(bench_dither):
    """docs/_static/dither_photo.png (see the module's docstring)."""
    from matplotlib import cbook
    from PIL import Image

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with Image.open(path) as opened:
        photo = np.asarray(opened.convert("RGB"))
    reference = bench_dither.Reference(photo)

    versions = {"original": photo}
    # 0.8.0's default at K=16: the same diffusion onto the undithered palette
    undithered = ColorQuantizer(16, random_state=0).fit(photo).palette_
    versions["0.8.0 default"] = ColorQuantizer(
        palette=undithered, dither="floyd-steinberg"
    ).fit_transform(photo)
    versions["default now"] = ColorQuantizer(
        16, dither="floyd-steinberg", random_state=0
    ).fit_transform(photo)
    if bench_dither.imagequant is not None:
        versions["libimagequant (pngquant)"] = bench_dither.liq(photo, 16, 1.0)
    crop = (slice(20, 120), slice(400, 512))
    crops(versions, reference, crop, (3.0, 3.2), PHOTO)


def crops(versions, reference, crop, panel_size, target):
    """One row of enlarged crops of ``versions`` (``{title: image}``, the
    original first), each titled with the whole image's two measures."""
    width, height = panel_size
    fig, axes = plt.subplots(
        1, len(versions), figsize=(width * len(versions), height), layout="constrained"
    )
    for i, (ax, (title, image)) in enumerate(zip(axes, versions.items(), strict=True)):
        ax.imshow(image[crop], interpolation="nearest")
        if i > 0:
            blur = reference.blur_delta_e(image)
            noise = reference.flat_noise(image)
            title += f"\nblurred dE {blur:.2f}, flat noise {noise:.2f}"
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.savefig(target, dpi=100, metadata={"Software": None})
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
