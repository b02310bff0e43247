"""Error diffusion in bands: do the seams show, for each number of warm-up rows?

Run from the repository root::

    .venv/bin/python benchmarks/bench_seams.py

Floyd-Steinberg runs in fixed bands of rows (at most
:data:`~skquant._kernels._diffusion.DIFFUSION_BAND_ROWS`), each of which first
re-runs a few rows above it, unwritten
(:data:`~skquant._kernels._diffusion.WARMUP_ROWS`), so that its first row
gets about the carried error of one sequential pass. On the seven photos of
``bench_dither.py``, at K = 16 and 64, plain and adaptive, each warm-up is
compared with one pass over the whole image, on the rows within 4 of a seam:

- ``blur``: mean CIEDE2000 after a blur (the colour seen from a distance,
  as in ``bench_dither.py``), banded over one pass;
- ``noise``: the dither noise on flat areas (``bench_dither.py``'s measure),
  banded over one pass;
- ``changed``: the fraction of the seam rows whose labels differ from one
  pass (error diffusion is chaotic: far from any seam, a change of one label
  changes a row's pattern; ``far`` gives that fraction 40 to 60 rows into a
  band, for scale).

Ratios are geometric means over photos, K and mode; 1.00 means the seams
cost nothing.
"""

import sys

import numpy as np
from bench_dither import Reference, blurred_lab, photos
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.filters import gaussian

from skquant import ColorQuantizer
from skquant._kernels import _dither, dither_labels

WARMUPS = (0, 2, 4, 8, 16)


def labels(image, palette, adaptive):
    return dither_labels(
        image,
        palette,
        method="floyd-steinberg",
        space="lab",
        scale=255.0,
        adaptive=adaptive,
    )


def seam_measures(reference, result, single, rows):
    blur = deltaE_ciede2000(reference.blurred[rows], blurred_lab(result)[rows])
    blur_single = deltaE_ciede2000(reference.blurred[rows], blurred_lab(single)[rows])
    noise = _noise(reference, result, rows) / _noise(reference, single, rows)
    return blur.mean() / blur_single.mean(), noise


def _noise(reference, result, rows):
    error = rgb2lab(result) - reference.lab
    high = error - gaussian(error, sigma=1.5, channel_axis=-1)
    energy = (high**2).sum(axis=-1)[rows]
    flat = reference.flat[rows]
    return float(np.sqrt(energy[flat].mean())) if flat.any() else float("nan")


def main():
    band = _dither.DIFFUSION_BAND_ROWS
    kept = _dither.WARMUP_ROWS
    ratios = {w: [] for w in WARMUPS}
    changed = {w: [] for w in WARMUPS}
    far = []
    try:
        for image in photos().values():
            rows_per_band = _dither.diffusion_band_rows(image.shape[0])
            seams = np.arange(rows_per_band, image.shape[0], rows_per_band)
            if len(seams) == 0:
                continue
            rows = np.concatenate([np.arange(s - 4, s + 4) for s in seams])
            reference = Reference(image)
            for n_colors in (16, 64):
                fitted = ColorQuantizer(n_colors, random_state=0).fit(image)
                palette = fitted.palette_
                for adaptive in (False, True):
                    _dither.DIFFUSION_BAND_ROWS = 1 << 30  # one pass
                    single = labels(image, palette, adaptive)
                    _dither.DIFFUSION_BAND_ROWS = band
                    for warmup in WARMUPS:
                        _dither.WARMUP_ROWS = warmup
                        banded = labels(image, palette, adaptive)
                        ratios[warmup].append(
                            seam_measures(
                                reference, palette[banded], palette[single], rows
                            )
                        )
                        changed[warmup].append((banded != single)[rows].mean())
                        if warmup == kept:
                            mid = slice(rows_per_band + 40, rows_per_band + 60)
                            far.append((banded != single)[mid].mean())
            print(".", end="", file=sys.stderr, flush=True)
    finally:
        _dither.DIFFUSION_BAND_ROWS = band
        _dither.WARMUP_ROWS = kept
    print(file=sys.stderr)
    print(f"bands of {band} rows at most; rows within 4 of a seam; banded / one pass")
    print(f"{'warm-up':>8}{'blur':>8}{'noise':>8}{'changed':>9}")
    for warmup in WARMUPS:
        pairs = np.array(ratios[warmup])
        blur, noise = np.exp(np.nanmean(np.log(pairs), axis=0))
        mark = "  (skquant)" if warmup == kept else ""
        print(
            f"{warmup:>8}{blur:>8.3f}{noise:>8.3f}"
            f"{np.mean(changed[warmup]):>9.2f}{mark}"
        )
    print(f"far from the seams (rows 40-60 of a band) changed: {np.mean(far):.2f}")


if __name__ == "__main__":
    main()
