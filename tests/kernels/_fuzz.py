"""Bounded fuzzing of the kernel boundary, run in a child process.

``python -m tests.kernels._fuzz SEED N_CASES`` draws ``N_CASES`` random calls
of the entry points of :mod:`skquant._kernels` (random shapes, dtypes,
palette sizes including 1 and large, channel counts, colour spaces, dither
methods, hostile palettes and labels) and checks each outcome: a correct
result (labels equal to a float64 brute-force search up to ties, shapes and
dtypes as documented) or a clean ValueError/TypeError. Anything else (a
wrong result, another exception) is printed and the exit status is 1; a
crash of the interpreter shows as a negative exit status in the parent
(see ``tests/kernels/test_boundary.py``, which runs this with
``NUMBA_BOUNDSCHECK=1``).

The dtypes and channel counts are drawn from small sets so that few kernel
specialisations are compiled: compilation with bounds checks dominates.
"""

import sys
import traceback

import numpy as np

from skquant import _color
from skquant import _kernels as K
from skquant._kernels import _assign

DTYPES = (np.uint8, np.uint16, np.float32, np.float64)
SPACES = ("rgb", "lab", "oklab", "din99o")
SCALES = {np.uint8: 255.0, np.uint16: 65535.0, np.float32: 1.0, np.float64: 1.0}


def _pixels(rng, n, channels, dtype):
    if np.dtype(dtype).kind == "u":
        return rng.integers(0, np.iinfo(dtype).max + 1, (n, channels)).astype(dtype)
    values = rng.random((n, channels)).astype(dtype)
    if rng.random() < 0.2 and n:
        values[rng.integers(n), rng.integers(channels)] = rng.choice(
            [np.nan, np.inf, -np.inf, 1e30, -5.0]
        )
    return values


def _hostile_palette(rng, n_colors, channels):
    """A palette that is wrong in one random way (or None: a valid one)."""
    kind = rng.integers(8)
    if kind == 0:
        return np.zeros((0, channels)), "empty"
    if kind == 1:
        return rng.random((n_colors, channels + rng.choice([-1, 1, 2]))), "channels"
    if kind == 2:
        palette = rng.random((n_colors, channels))
        palette[rng.integers(n_colors), 0] = rng.choice([np.nan, np.inf])
        return palette, "non-finite"
    if kind == 3:
        return rng.random((n_colors,)), "1-d"
    if kind == 4:
        return np.full((n_colors, channels), "x"), "strings"
    return None, None


def _brute(work, palette_work):
    d = ((work[:, None, :] - palette_work[None, :, :]) ** 2).sum(axis=-1)
    return d


def _check_labels(labels, work, palette_work):
    """Labels are a nearest entry (ties and NaN rows aside)."""
    assert labels.dtype == np.int32 and labels.shape == (work.shape[0],)
    assert ((labels >= 0) & (labels < len(palette_work))).all()
    d = _brute(work, palette_work)
    ok = np.isfinite(work).all(axis=1)
    best = d[ok].min(axis=1)
    got = d[ok, labels[ok]]
    assert np.all(got <= best + 1e-9 * (1 + best)), "not the nearest colour"


def _refused(function, *args, **kwargs):
    """``function`` must refuse its arguments with ValueError or TypeError."""
    try:
        function(*args, **kwargs)
    except (ValueError, TypeError):
        return
    raise AssertionError(f"{function.__name__} accepted hostile arguments")


def case_assign(rng):
    channels = int(rng.choice([1, 3, 4, 5]))
    dtype = DTYPES[rng.integers(4)]
    space = SPACES[rng.integers(4)] if channels == 3 else "rgb"
    n = int(rng.choice([0, 1, 9, 3000, 40000]))
    n_colors = int(rng.choice([1, 2, 17, 300]))
    pixels = _pixels(rng, n, channels, dtype)
    scale = SCALES[dtype]
    if rng.random() < 0.5:
        pixels = pixels[::-1]  # not C-contiguous
    hostile, _ = _hostile_palette(rng, n_colors, channels)
    if space == "rgb":
        palette = (rng.random((n_colors, channels)) * scale).astype(np.float64)
        work = pixels.astype(np.float64)
    else:
        rgb = rng.random((n_colors, 3))
        palette = _color.to_working(rgb, space)
        work = _color.to_working(pixels.astype(np.float64) / scale, space)
    if hostile is not None:
        return _refused(K.assign_labels, pixels, hostile, space=space, scale=scale)
    what = rng.integers(3)
    if what == 0:
        labels = K.assign_labels(pixels, palette, space=space, scale=scale)
    elif what == 1:
        colors = rng.integers(0, 256, (len(palette), 2)).astype(np.uint8)
        mapped = K.map_to_palette(pixels, palette, colors, space=space, scale=scale)
        assert mapped.shape == (n, 2) and mapped.dtype == np.uint8
        labels = K.assign_labels(pixels, palette, space=space, scale=scale)
        assert (mapped == colors[labels]).all()
    else:
        labels = K.nearest_brute(pixels, palette)
        work = pixels.astype(palette.dtype)
    _check_labels(labels, work, palette)


def case_take_rows(rng):
    palette = rng.integers(0, 256, (int(rng.choice([1, 5])), 3)).astype(np.uint8)
    labels = rng.integers(-2, len(palette) + 2, int(rng.choice([0, 10, 1000])))
    labels = labels.astype(rng.choice([np.int32, np.int64]))
    if not ((labels >= 0).all() and (labels < len(palette)).all()):
        return _refused(K.take_rows, palette, labels)
    out = K.take_rows(palette, labels)
    assert (out == palette[labels]).all()


def case_dither(rng):
    channels = int(rng.choice([1, 3, 4]))
    dtype = DTYPES[rng.integers(4)] if channels == 3 else np.float64
    space = SPACES[rng.integers(4)] if channels == 3 else "rgb"
    method = K.DITHER_METHODS[rng.integers(len(K.DITHER_METHODS))]
    h, w = int(rng.choice([0, 1, 7, 40])), int(rng.choice([1, 5, 33]))
    scale = SCALES[dtype] if rng.random() < 0.8 else None
    if space != "rgb":
        scale = SCALES[dtype]
    image = _pixels(rng, h * w, channels, dtype).reshape(h, w, channels)
    n_colors = int(rng.choice([1, 2, 16, 300]))
    palette = (rng.random((n_colors, channels)) * SCALES[dtype]).astype(dtype)
    hostile, _ = _hostile_palette(rng, n_colors, channels)
    args = {"method": method, "space": space, "scale": scale}
    if hostile is not None:
        return _refused(K.dither_labels, image, hostile, **args)
    try:
        labels = K.dither_labels(image, palette, **args)
    except ValueError:
        # Not colour data: dithered in its own units, which must be finite
        # (a one-colour palette needs no dithering and is answered).
        assert not np.isfinite(image).all() and (scale is None or space == "rgb")
        return
    assert labels.shape == (h, w) and labels.dtype == np.int32
    assert ((labels >= 0) & (labels < len(palette))).all()


def case_kmeans(rng):
    d = int(rng.choice([1, 3, 4]))
    n = int(rng.choice([1, 5, 500]))
    k = int(rng.choice([1, 3, 40]))
    points = rng.random((n, d)) * 100
    weights = rng.random(n) if rng.random() < 0.7 else None
    init = rng.random((k, d + (1 if rng.random() < 0.2 else 0))) * 100
    if rng.random() < 0.1:
        init[0, 0] = np.nan
    if init.shape[1] != d or not np.isfinite(init).all():
        return _refused(K.lloyd_kmeans, points, weights, init)
    centers, labels, n_iter, inertia = K.lloyd_kmeans(points, weights, init)
    assert centers.shape == (k, d) and labels.shape == (n,)
    assert ((labels >= 0) & (labels < k)).all() and np.isfinite(inertia)
    seeds, idx = K.kmeans_plusplus(
        points, min(k, n), sample_weight=weights, random_state=np.random.RandomState(0)
    )
    assert seeds.shape == (min(k, n), d) and ((idx >= 0) & (idx < n)).all()


def case_estimator(rng):
    """Fit on one channel count, then partial_fit/transform on another."""
    from skquant import ColorQuantizer

    first, second = rng.choice([1, 3, 4], 2)
    image = rng.integers(0, 256, (30, 30, first)).astype(np.uint8)
    other = rng.integers(0, 256, (30, 30, second)).astype(np.uint8)
    q = ColorQuantizer(n_colors=4, random_state=0).fit(image)
    method = getattr(q, rng.choice(["partial_fit", "transform", "predict"]))
    if first != second and method.__name__ == "partial_fit":
        # Centres of another channel count are not reused: a fresh fit.
        assert method(other).palette_.shape[1] == second
        return None
    if first != second:
        return _refused(method, other)
    method(other)
    return None


CASES = (case_assign, case_take_rows, case_dither, case_kmeans, case_estimator)


def main(seed, n_cases):
    # The lookup-table kernels too, on small images.
    _assign.LUT_MIN_PIXELS = 1000
    rng = np.random.default_rng(seed)
    failures = 0
    for i in range(n_cases):
        case = CASES[i % len(CASES)]
        try:
            case(np.random.default_rng(rng.integers(1 << 32)))
        except Exception:
            failures += 1
            print(f"case {i} ({case.__name__}):", file=sys.stderr)
            traceback.print_exc()
    print(f"{n_cases} cases, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
