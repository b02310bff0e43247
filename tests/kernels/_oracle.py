"""The oracle the kernel tests compare with: float64 brute force.

Pixels go to the working space with :mod:`skquant._color` in float64 and
the nearest entry is the argmin of float64 squared distances. Two entries
at the same distance are both correct, so :func:`check_nearest` compares
the *distance* of the chosen entry with the smallest one (up to rounding),
not the index.
"""

import numpy as np

from skquant import _color

#: Distances the oracle computes per check, at most (pixels x colours).
ORACLE_BUDGET = 3_000_000


def to_work64(pixels, space, scale):
    work = np.asarray(pixels, dtype=np.float64)
    if space != "rgb":
        work = _color.to_working(work / scale, space)
    return work


def nearest_d2(rows, palette):
    """Smallest float64 squared distance from each row to the palette."""
    best = np.full(len(rows), np.inf)
    block = max(1, (1 << 20) // max(len(rows), 1))
    for s in range(0, len(palette), block):
        d2 = ((rows[:, None, :] - palette[None, s : s + block]) ** 2).sum(axis=-1)
        np.minimum(best, d2.min(axis=1), out=best)
    return best


def check_nearest(labels, pixels, palette_work, space="rgb", scale=1.0, rtol=1e-9):
    """Every label is a nearest entry (float64 distances, ties allowed)."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    palette = np.asarray(palette_work, dtype=np.float64)
    labels = np.asarray(labels).ravel()
    assert labels.dtype == np.int32
    assert labels.shape == (flat.shape[0],)
    assert labels.min() >= 0 and labels.max() < len(palette)
    if flat.dtype == np.uint8 and flat.shape[1] == 3:
        # Photos repeat colours: check each distinct colour once, and that
        # it gets one label wherever it appears.
        codes = (flat.astype(np.int64) << [16, 8, 0]).sum(axis=1)
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        np.testing.assert_array_equal(labels, labels[first][inverse.ravel()])
        flat, labels = flat[first], labels[first]
    if len(flat) * len(palette) > ORACLE_BUDGET:
        # Big palettes: the oracle checks a random subset of the colours.
        keep = np.random.default_rng(0).choice(
            len(flat), ORACLE_BUDGET // len(palette), replace=False
        )
        flat, labels = flat[keep], labels[keep]
    work = to_work64(flat, space, scale)
    best = nearest_d2(work, palette)
    got = ((work - palette[labels]) ** 2).sum(axis=1)
    slack = rtol * (best + (work**2).sum(axis=1)) + 1e-300
    bad = np.flatnonzero(got > best + slack)
    assert bad.size == 0, (
        f"{bad.size} colours not mapped to their nearest entry, e.g. "
        f"{work[bad[0]]}: got d2={got[bad[0]]}, best d2={best[bad[0]]}"
    )


def palette_from(pixels, n_colors, space, scale, seed, jitter=0.0):
    """Working-space palette: random pixels of the data (dense where it is)."""
    rng = np.random.default_rng(seed)
    flat = pixels.reshape(-1, pixels.shape[-1])
    pick = flat[rng.choice(len(flat), n_colors, replace=len(flat) < n_colors)]
    work = to_work64(pick, space, scale)
    if jitter:
        work = work + rng.normal(scale=jitter * work.std(), size=work.shape)
    return work
