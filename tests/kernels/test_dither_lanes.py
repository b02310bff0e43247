"""Floyd-Steinberg in vector lanes gives each band the scalar kernel's labels.

:func:`skquant._kernels._diffusion_lanes._fs_lanes` dithers four bands of
rows at once, one per lane of the vectors of :mod:`skquant._kernels._lanes`.
The oracle is the scalar kernel (``_run(..., lanes=False)``), bit for bit:
on photos with black, white and saturated patches (the conversions' and
the grid's fall-backs), in every working space, plain and adaptive, with
bands grouped by one and two threads. The vector operations themselves are
checked against NumPy, and the table conversions against the scalar ones.
"""

import numba
import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant._kernels import _dither
from skquant._kernels._colorspace import SPACE_CODES
from skquant._kernels._diffusion_lanes import check_lanes, lane_groups, lane_offsets
from skquant._kernels._dither import _NOT_ORDERED, _adapt, _kernel_taps
from skquant._kernels._fastconv import (
    TABLES,
    _cubic_octaves,
    fast_to_work,
    fast_to_work4,
    off_lanes,
)
from skquant._kernels._grid import grid_for
from skquant._kernels._lanes import (
    LANES,
    OCTAVE_BITS,
    address,
    any_lane,
    cubic_octaves,
    cubic_rows,
    gather,
    lane,
    load,
    octave_segment,
    rows4,
    rows4_at,
    select,
    splat,
    store,
    to_f4,
    to_i4,
    vmax,
    vmin,
    vsqrt,
    vtrunc,
    with_lane,
)

FS = _kernel_taps("floyd-steinberg")


def labels(image, palette, space, *, lanes, scale=255.0, **options):
    image, palette = _dither._check_args(
        image, palette, "floyd-steinberg", space, scale
    )
    args = (image, palette, space, scale, FS, _NOT_ORDERED)
    return _dither._run(*args, lanes=lanes, **options)


def with_threads(n, func):
    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        return func()
    finally:
        numba.set_num_threads(previous)


@pytest.fixture(scope="module")
def photo(china, coffee):
    """China above coffee (827 rows: 7 bands, the last one 6 rows short), with a
    strip of black, white, a grey ramp and saturated colours at the left."""
    width = min(china.shape[1], coffee.shape[1])
    image = np.concatenate([china[:, :width], coffee[:, :width]]).copy()
    strip = image[:, :24]
    strip[:100] = 0
    strip[100:200] = 255
    strip[200:300] = np.linspace(0, 255, 100).astype(np.uint8)[:, None, None]
    strip[300:400] = (255, 0, 0)
    strip[400:500] = (0, 0, 255)
    return image


@pytest.fixture(scope="module")
def palettes(photo):
    return {
        k: ColorQuantizer(k, random_state=0).fit(photo[::3, ::3]).palette_
        for k in (2, 16, 64, 256)
    }


@pytest.mark.parametrize("space", ["rgb", "lab", "oklab", "din99o", "perceptual"])
@pytest.mark.parametrize("n_colors", [16, 256])
def test_same_labels_as_the_scalar_kernel(photo, palettes, space, n_colors):
    palette = palettes[n_colors]
    scalar = labels(photo, palette, space, lanes=False)
    for threads in (1, 2):  # four bands a group, and two
        vector = with_threads(
            threads, lambda: labels(photo, palette, space, lanes=True)
        )
        np.testing.assert_array_equal(vector, scalar, err_msg=f"{threads} threads")


@pytest.mark.parametrize("space", ["rgb", "din99o"])
@pytest.mark.parametrize("n_colors", [2, 64])
def test_same_labels_with_strength_and_adaptive(photo, palettes, space, n_colors):
    palette = palettes[n_colors]
    for options in (_adapt(True, 1.0), _adapt(False, 0.5), _adapt(True, 0.3)):
        scalar = labels(photo, palette, space, lanes=False, **options)
        vector = with_threads(
            1,
            lambda options=options: labels(
                photo, palette, space, lanes=True, **options
            ),
        )
        np.testing.assert_array_equal(vector, scalar, err_msg=str(options))


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_same_labels_with_repeated_palette_colours(photo, palettes, space):
    """Exact ties everywhere: the lowest index wins in every lane, as in the
    scalar kernel, though the lanes also read past the end of their lists."""
    base = palettes[64]
    palette = np.concatenate([base[40:], base, base[::3]])
    scalar = labels(photo, palette, space, lanes=False)
    vector = with_threads(1, lambda: labels(photo, palette, space, lanes=True))
    np.testing.assert_array_equal(vector, scalar)
    assert scalar.max() < len(base)  # (the first of each colour)


def test_lane_offsets_are_the_lists_rows_padded_by_the_longest(palettes):
    palette = _dither._color.to_working(palettes[256] / 255.0, "lab")
    grid = grid_for(palette, np.zeros(3), np.full(3, 100.0), 1 << 22, hinted=True)
    start, cand = grid[4], grid[5]
    offsets = lane_offsets(grid)
    longest = np.diff(start).max()
    assert longest > 1
    np.testing.assert_array_equal(offsets[: len(cand)], 4 * cand)
    np.testing.assert_array_equal(offsets[len(cand) :], np.zeros(longest))
    assert not offsets.flags.writeable


@pytest.mark.parametrize("kept", [None, 0])
def test_unpadded_lists_are_searched_lane_by_lane(photo, palettes, monkeypatch, kept):
    """Where reading the longest list from a lane's start would pass the end
    of the offsets, the kernel searches lane by lane (never out of bounds):
    offsets without their padding, or none at all (every step)."""
    palette = palettes[256]
    scalar = labels(photo, palette, "oklab", lanes=False)

    def unpadded(grid):
        offsets = (4 * grid[5][:kept]).astype(np.int32)
        offsets.flags.writeable = False
        return offsets

    monkeypatch.setattr(_dither, "lane_offsets", unpadded)
    vector = with_threads(1, lambda: labels(photo, palette, "oklab", lanes=True))
    np.testing.assert_array_equal(vector, scalar)


def test_same_labels_for_16_bit_images_and_any_width(photo, palettes):
    palette = palettes[16].astype(np.uint16) * 257
    for width in (1, 2, 37):
        image = np.ascontiguousarray(photo[:, :width]).astype(np.uint16) * 257
        scalar = labels(image, palette, "rgb", lanes=False, scale=65535.0)
        vector = with_threads(
            1,
            lambda image=image: labels(
                image, palette, "rgb", lanes=True, scale=65535.0
            ),
        )
        np.testing.assert_array_equal(vector, scalar, err_msg=f"width {width}")


def test_mapped_colours_are_the_palette_at_the_labels(photo, palettes):
    """dither_map, written band by band from the lanes' buffers."""
    palette = palettes[16]
    expected = palette[
        _dither.dither_labels(
            photo,
            palette,
            method="floyd-steinberg",
            space="lab",
            scale=255.0,
            adaptive=True,
        )
    ]
    for threads in (1, 2):
        mapped = with_threads(
            threads,
            lambda: _dither.dither_map(
                photo,
                palette,
                palette,
                method="floyd-steinberg",
                space="lab",
                scale=255.0,
                adaptive=True,
            ),
        )
        np.testing.assert_array_equal(mapped, expected)


def test_lane_groups_cover_each_band_once_in_order():
    for n_bands in range(1, 40):
        for n_threads in (1, 2, 3, 8):
            groups = lane_groups(n_bands, n_threads)
            flat = [band for group in groups for band in group]
            assert flat == list(range(n_bands))
            sizes = [len(group) for group in groups]
            assert 1 <= min(sizes) and max(sizes) <= LANES
            assert max(sizes) - min(sizes) <= 1
            # As few groups as the lanes allow, and one per thread at least.
            wanted = max(-(-n_bands // LANES), n_threads)
            assert len(groups) == min(n_bands, wanted)


def test_inconsistent_bands_are_refused_before_the_kernel():
    image = np.zeros((300, 10, 3), np.uint8)
    rows = np.zeros((300, 10), np.int32)
    carry = np.zeros((2, 3 * LANES * 10))
    maps = np.zeros((0, 0, 0), np.float32)
    steps = (0, 144)
    good = np.array([[0, 0, 128, 0], [112, 128, 256, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    check_lanes(image, good, steps, carry, rows, maps)
    bad = {
        "beyond the image": [[0, 0, 301, 0]],
        "rows of another parity": [[0, 0, 128, 0], [113, 128, 256, 0]],
        "labels beyond the buffer": [[0, 0, 128, 200]],
        "labels before the buffer": [[0, 0, 128, -1]],
        "write before the first row": [[20, 10, 128, 0]],
        "negative": [[-2, 0, 128, 0]],
        "first lane idle": [[0, 0, 0, 0], [0, 0, 128, 0]],
    }
    for name, spans in bad.items():
        spans = np.array(spans + [[0, 0, 0, 0]] * (LANES - len(spans)))
        with pytest.raises(ValueError, match="inconsistent bands"):
            check_lanes(image, spans, steps, carry, rows, maps)
            pytest.fail(name)
    others = {
        "maps too short": (steps, carry, np.zeros((LANES, 100, 10), np.float32)),
        "carry of another width": (steps, np.zeros((2, 3 * LANES * 9)), maps),
        "steps backwards": ((5, 2), carry, maps),
    }
    for name, (steps_, carry_, maps_) in others.items():
        with pytest.raises(ValueError, match="inconsistent bands"):
            check_lanes(image, good, steps_, carry_, rows, maps_)
            pytest.fail(name)


# ---------------------------------------------------------------------------
# The vector operations
# ---------------------------------------------------------------------------


@numba.njit
def _ops(a, b, table, index, coefficients, t):
    out = np.empty((13, LANES))
    va, vb = load(a, 0), load(b, 0)
    results = (
        va + vb,
        va - vb,
        va * vb,
        va / vb,
        vmin(va, vb),
        vmax(va, vb),
        vsqrt(va),
        select(va < vb, va, vb),
        select(va == vb, splat(1.0), splat(0.0)),
        to_f4(to_i4(va)),
        gather(table, to_i4(load(index, 0)), 2, 1, True),
        cubic_rows(coefficients, (1, 3), load(t, 0)),
        vtrunc(va),
    )
    for r in range(13):
        store(out[r], 0, results[r])
    flags = np.zeros(3, np.bool_)
    flags[0] = any_lane(va > splat(1e300))
    flags[1] = any_lane(va <= vb)
    flags[2] = lane(with_lane(to_i4(vb), 2, 7) + splat(1), 2) == 8
    return out, flags


def test_vector_operations_are_numpys_lane_by_lane():
    a = np.array([1.5, -0.0, np.nan, 4.0])
    b = np.array([2.0, 0.0, 1.0, -3.25])
    table = np.arange(20, dtype=np.uint16).reshape(10, 2) * 3
    index = np.array([0.0, 9.0, 4.0, 2.0])
    coefficients = np.arange(24.0).reshape(6, 4) / 7
    t = np.array([-0.5, 0.25, 2.75, 9.0])
    with np.errstate(invalid="ignore"):
        out, flags = _ops(a, b, table, index, coefficients, t)
        expected = [
            a + b,
            a - b,
            a * b,
            a / b,
            np.where(b < a, b, a),
            np.where(b > a, b, a),
            np.sqrt(a),
            np.where(a < b, a, b),
            (a == b).astype(float),
        ]
    for r, want in enumerate(expected):
        np.testing.assert_array_equal(out[r], want, err_msg=f"operation {r}")
    np.testing.assert_array_equal(out[9][[0, 1, 3]], np.trunc(a)[[0, 1, 3]])
    np.testing.assert_array_equal(out[10], table[index.astype(int), 1])
    # cubic_rows: rows 1..3, as _fastconv._cubic (a lane below 0 reads row 1).
    rows = 1 + np.minimum(np.maximum(t, 0).astype(int), 2)
    f = t - (rows - 1)
    c = coefficients[rows]
    want = (c[:, 0] * f + c[:, 1]) * (f * f) + (c[:, 2] * f + c[:, 3])
    np.testing.assert_array_equal(out[11], want)
    np.testing.assert_array_equal(out[12], np.trunc(a))
    np.testing.assert_array_equal(flags, [False, True, True])


@numba.njit
def _octaves(table, part, t):
    vector = np.empty(t.shape[0])
    segments = np.empty(t.shape[0], np.int64)
    offsets = np.empty(t.shape[0])
    for i in range(0, t.shape[0], LANES):
        store(vector, i, cubic_octaves(table, part, load(t, i)))
        segment, offset = octave_segment(load(t, i))
        store(offsets, i, offset)
        for k in range(LANES):
            segments[i + k] = lane(segment, k)
    scalar = np.full((3, t.shape[0]), np.nan)
    for i in range(t.shape[0]):
        if part[1] <= t[i] <= part[2]:
            scalar[0, i] = _cubic_octaves(table, part, t[i])
            segment, scalar[2, i] = octave_segment(t[i])
            scalar[1, i] = segment
    return vector, scalar, segments, offsets


def test_octave_tables_read_the_segment_of_the_exponent_and_leading_bits():
    # Octaves 1/2 .. 4 (three of 2**OCTAVE_BITS rows each) from row 5.
    per = 1 << OCTAVE_BITS
    rng = np.random.default_rng(0)
    table = rng.normal(size=(5 + 3 * per + 5, 4))
    first = 5 - int(np.float64(0.5).view(np.int64) >> (52 - OCTAVE_BITS))
    highest = np.nextafter(4.0, 0.0)
    part = (first, 0.5, highest)
    inside = np.concatenate(
        [
            [0.5, 1.0, highest, 2.0 + 1.0 / per, np.nextafter(3.0, 0.0)],
            rng.uniform(0.5, 4.0, 39),
        ]
    )
    # Off the range (or NaN): clamped to it, a row of the table all the same.
    outside = np.array([-1.0, 0.0, -0.0, np.nan, 4.0, np.inf, -np.inf, 1e300])
    t = np.concatenate([inside, outside])
    vector, scalar, segments, offsets = _octaves(table, part, t)

    x = np.clip(np.nan_to_num(t, nan=0.5), 0.5, highest)
    bits = x.view(np.int64)
    start = (bits & -(1 << (52 - OCTAVE_BITS))).view(np.float64)
    # each segment: its octave (start and 2 * start) in 2**OCTAVE_BITS equal parts
    octave = 2.0 ** np.floor(np.log2(x))
    assert np.all(
        (start - octave) * per / octave == np.round((start - octave) * per / octave)
    )
    assert np.all((x >= start) & (x - start < octave / per))
    row = first + (bits >> (52 - OCTAVE_BITS))
    assert row.min() == 5 and row.max() == 5 + 3 * per - 1
    c, u = table[row], x - start
    want = (c[:, 0] * u + c[:, 1]) * (u * u) + (c[:, 2] * u + c[:, 3])
    np.testing.assert_array_equal(vector, want)
    n = len(inside)
    np.testing.assert_array_equal(segments[:n], bits[:n] >> (52 - OCTAVE_BITS))
    np.testing.assert_array_equal(offsets[:n], u[:n])
    # The scalar code (the conversions' own path) gives the same bits.
    np.testing.assert_array_equal(scalar[0, :n], want[:n])
    np.testing.assert_array_equal(scalar[1, :n], segments[:n])
    np.testing.assert_array_equal(scalar[2, :n], offsets[:n])
    assert np.isnan(scalar[:, n:]).all()


@numba.njit
def _rows_both(table, rows):
    at = splat(0)
    for k in range(LANES):
        at = with_lane(at, k, rows[k])
    out = np.zeros((2, 4, LANES))
    for which, columns in enumerate((rows4(table, at), rows4_at(table, at * splat(4)))):
        for c in range(4):
            store(out[which, c], 0, columns[c])
    return out


def test_rows_of_a_table_by_index_and_by_offset():
    table = np.arange(24.0).reshape(6, 4) / 7
    rows = np.array([5, 0, 3, 3])
    out = _rows_both(table, rows)
    np.testing.assert_array_equal(out[0], table[rows].T)
    np.testing.assert_array_equal(out[1], table[rows].T)


@numba.njit
def _convert_both(lin, space, tables):
    vector = np.empty_like(lin)
    scalar = np.empty_like(lin)
    for i in range(0, lin.shape[0], LANES):
        r, g, b = splat(0.0), splat(0.0), splat(0.0)
        for k in range(LANES):
            r = with_lane(r, k, lin[i + k, 0])
            g = with_lane(g, k, lin[i + k, 1])
            b = with_lane(b, k, lin[i + k, 2])
        w0, w1, w2, off = fast_to_work4(r, g, b, space, address(tables))
        if any_lane(off):
            w0, w1, w2 = off_lanes(r, g, b, off, w0, w1, w2, space, tables)
        for k in range(LANES):
            vector[i + k] = lane(w0, k), lane(w1, k), lane(w2, k)
            scalar[i + k] = fast_to_work(
                lin[i + k, 0], lin[i + k, 1], lin[i + k, 2], space, tables
            )
    return vector, scalar


@pytest.mark.parametrize(
    "space",
    [
        "rgb",
        "oklab",
        pytest.param("lab", marks=pytest.mark.slow),
        pytest.param("din99o", marks=pytest.mark.slow),
        pytest.param("perceptual", marks=pytest.mark.slow),
    ],
)
def test_vector_conversions_are_the_scalar_ones_bit_for_bit(space):
    """On and off the tables: dark colours (cube roots below the tables),
    black (signed zeros), the linear segments, the edges of the cube,
    beyond them."""
    rng = np.random.default_rng(0)
    n = 1 << 14
    lin = np.concatenate(
        [
            rng.random((n, 3)),
            rng.random((n, 3)) ** 6,  # very dark
            rng.choice(
                [0.0, -0.0, 1e-12, 2.0**-30, 1e-4, 0.0031308, 1 / 32, 1.0], (n, 3)
            ),
            rng.uniform(-0.2, 1.2, (n, 3)),  # beyond the cube (exact code)
        ]
    )
    vector, scalar = _convert_both(lin, SPACE_CODES[space], TABLES)
    np.testing.assert_array_equal(vector, scalar)
