"""Shared helpers for the benchmark scripts: images, timing, peak memory.

Import from a script in this folder (``from _common import ...``; Python puts
the script's folder on ``sys.path``).

Images
    :func:`photo_12mp` is sklearn's ``china.jpg`` (427 x 640) upscaled with
    ``cv2.resize(..., interpolation=cv2.INTER_CUBIC)`` to 4000 x 3000, a
    real photograph at camera size (cubic interpolation also creates the
    in-between colours a camera image has: about 1.4 million distinct
    colours). :func:`sample_photos` are the four small photos the tests use.

Timing
    :func:`repeat` runs a callable several times and returns the wall-clock
    seconds of each run; report medians (:func:`median`). The machine may be
    shared: run everything that is compared in one process, interleaved.

Peak memory
    :class:`PeakRSS` measures the resident-set high-water mark (``VmHWM`` in
    ``/proc/self/status``) reached inside a ``with`` block, above the RSS
    at its start. The mark is reset on entry by writing ``5`` to
    ``/proc/self/clear_refs`` (Linux >= 4.0). It counts every allocation
    (numpy, numba, OpenCV, faiss...), unlike :mod:`tracemalloc`, which sees
    only Python and numpy. :func:`fix_malloc` makes glibc return freed
    blocks to the OS, so that one case's leftovers do not hide the next
    case's peak.
"""

import ctypes
import gc
import statistics
import time

import numpy as np

# %% images --------------------------------------------------------------------


def photo_12mp(width=4000, height=3000):
    """sklearn's china.jpg upscaled (bicubic) to ``width`` x ``height``, uint8."""
    import cv2
    from sklearn.datasets import load_sample_image

    china = load_sample_image("china.jpg")
    return cv2.resize(china, (width, height), interpolation=cv2.INTER_CUBIC)


def sample_photos():
    """``{name: image}`` of the small sample photos (uint8 RGB)."""
    from skimage import data
    from sklearn.datasets import load_sample_image

    return {
        "china": load_sample_image("china.jpg"),
        "flower": load_sample_image("flower.jpg"),
        "astronaut": data.astronaut(),
        "coffee": data.coffee(),
    }


#: File endings :func:`photos_from` reads.
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".ppm")


def photos_from(folder, max_side=None):
    """``{name: uint8 RGB image}`` of every image file in ``folder`` (sorted).

    For measuring on photos nobody tuned on (``--photos DIR`` of
    ``bench_quality.py`` and ``bench_dither.py``). Read with Pillow and
    converted to 8-bit RGB (alpha dropped, 16-bit reduced, greys
    expanded); ``max_side`` shrinks larger images (Lanczos) so that their
    longer side is at most that many pixels. Raises ``ValueError`` when
    the folder holds no image.
    """
    from pathlib import Path

    from PIL import Image

    paths = sorted(
        p for p in Path(folder).iterdir() if p.suffix.lower() in PHOTO_SUFFIXES
    )
    if not paths:
        raise ValueError(
            f"no image in {str(folder)!r} (looked for {', '.join(PHOTO_SUFFIXES)})"
        )
    images = {}
    for path in paths:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        if max_side and max(image.size) > max_side:
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        images[path.stem] = np.asarray(image)
    return images


def add_photo_options(parser):
    """``--photos DIR`` and ``--max-side N`` (see :func:`photos_from`)."""
    parser.add_argument(
        "--photos",
        metavar="DIR",
        help="the image files of this folder instead of the sample photos",
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=1024,
        help="with --photos: shrink images to this longer side (0: keep)",
    )


# %% timing --------------------------------------------------------------------


def repeat(func, repeats):
    """Wall-clock seconds of ``repeats`` calls of ``func()``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def median(values):
    """Median of a non-empty sequence, NaN when it is empty."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


# %% memory --------------------------------------------------------------------

_M_MMAP_THRESHOLD = -3


def fix_malloc(threshold=1 << 20):
    """Serve blocks above ``threshold`` bytes with mmap, returned on free.

    glibc raises its mmap threshold dynamically (up to 32 MiB) after large
    frees, after which freed memory stays in the process and a later peak
    goes unseen by the RSS high-water mark. A fixed threshold stops that.
    Returns False when glibc is not available.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))
    except OSError:
        return False


def _trim():
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """Context manager: peak resident memory above the starting RSS, in MiB.

    >>> with PeakRSS() as peak:  # doctest: +SKIP
    ...     big = np.ones(10**8)
    >>> peak.mib  # doctest: +SKIP
    763.0
    """

    def __enter__(self):
        _trim()
        self.supported = reset_hwm()
        self._start = status_kib("VmRSS")
        self.mib = float("nan")
        return self

    def __exit__(self, *exc):
        if self.supported:
            self.mib = max(0, status_kib("VmHWM") - self._start) / 1024.0
        return False


# %% quality -------------------------------------------------------------------


def psnr(image, output):
    """PSNR in dB over all pixels (uint8 data)."""
    from skquant.metrics import peak_signal_noise_ratio

    return peak_signal_noise_ratio(image, output)


def delta_e(image, output, *, max_pixels=1 << 20):
    """Mean CIEDE2000, on every k-th pixel when the image has more pixels.

    skimage's CIEDE2000 takes seconds per megapixel; a regular subsample of
    about ``max_pixels`` pixels gives the mean to two decimals.
    """
    from skquant.metrics import mean_delta_e

    a = image.reshape(-1, image.shape[-1])
    b = output.reshape(-1, output.shape[-1])
    step = max(1, -(-a.shape[0] // max_pixels))
    return mean_delta_e(a[::step], b[::step])


def format_table(headers, rows):
    """Plain-text table, right-aligned, one row per line."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for k, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def as_uint8_image(array, shape):
    """``array`` reshaped to ``shape`` as uint8 (rounded, clipped if float)."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    return array.reshape(shape)
