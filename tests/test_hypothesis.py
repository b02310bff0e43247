"""Property-based tests: any shape, dtype, values and n_colors.

For every input the estimator accepts, ``fit``, ``predict``, ``transform``,
``inverse_transform`` and ``score`` must give a correct result: the input's
shape and dtype, palette colours only, labels in range and nearest, the
caller's (read-only) arrays untouched. Everything else must be refused with
a ``ValueError`` or ``TypeError``, never another exception.
"""

import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skquant import ColorQuantizer

try:
    from skquant._kernels import DITHER_METHODS
except ImportError:  # an estimator without dithering
    DITHER_METHODS = ()

DTYPES = [np.uint8, np.uint16, np.int32, np.float32, np.float64]

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# =============================================================================
# Strategies
# =============================================================================


def values(dtype, color_space):
    """Element strategy for ``dtype``: the full range, or a small pool."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        unit = st.floats(0, 1, width=8 * dtype.itemsize)
        if color_space == "rgb":
            unit = st.one_of(unit, st.floats(-1e6, 1e6, width=8 * dtype.itemsize))
        # Colours closer than ~1e-154 have a squared distance that underflows
        # to 0 in float64, so they cannot be told apart: keep clear of them.
        return unit.map(lambda v: 0.0 if abs(v) < 1e-100 else v)
    info = np.iinfo(dtype)
    return st.integers(int(info.min), int(info.max))


@st.composite
def arrays_of(draw, dtype, shape, color_space):
    """An array of ``shape``: random values, a few repeated ones, or constant."""
    kind = draw(st.sampled_from(["random", "pool", "constant"]))
    elements = values(dtype, color_space)
    if kind == "constant":
        return np.full(shape, draw(elements), dtype=dtype)
    if kind == "pool":
        pool = draw(st.lists(elements, min_size=1, max_size=5))
        elements = st.sampled_from(pool)
    return draw(hnp.arrays(dtype, shape, elements=elements))


def large_image(draw, dtype, n_channels, color_space):
    """A 16k to 70k pixel image from a drawn seed, with a drawn number of levels."""
    height = draw(st.integers(128, 256))
    width = draw(st.integers(16384 // height + 1, 70000 // height))
    levels = draw(st.sampled_from([2, 16, 256, None]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    unit = rng.random((height, width, n_channels))
    if levels is not None:
        unit = np.floor(unit * levels) / levels
    if dtype.kind == "f":
        low, high = (0.0, 1.0) if color_space != "rgb" else (-1e3, 1e3)
        return (low + unit * (high - low)).astype(dtype)
    info = np.iinfo(dtype)
    low, high = float(info.min), float(info.max)
    return np.clip(np.rint(low + unit * (high - low)), low, high).astype(dtype)


@st.composite
def images(draw, dtype=None, n_channels=None, color_space="rgb", *, large=True):
    """(X, n_channels): pixels, an image, a batch or a list of images."""
    if dtype is None:
        dtype = draw(st.sampled_from(DTYPES))
    if n_channels is None:
        n_channels = draw(st.integers(1, 4))
    side = st.integers(1, 6)
    layouts = ["pixels", "image", "batch", "list"] + (["large"] if large else [])
    layout = draw(st.sampled_from(layouts))
    event(f"layout {layout}")
    if layout == "large":
        # enough pixels for histogram pooling and multi-threaded kernels
        return large_image(draw, np.dtype(dtype), n_channels, color_space), n_channels
    if layout == "pixels":
        shape = (draw(st.integers(1, 40)), n_channels)
    elif layout == "image":
        shape = (draw(side), draw(side), n_channels)
    elif layout == "batch":
        shape = (draw(st.integers(1, 3)), draw(side), draw(side), n_channels)
    if layout != "list":
        return draw(arrays_of(dtype, shape, color_space)), n_channels
    n_images = draw(st.integers(1, 3))
    shapes = [(draw(side), draw(side), n_channels) for _ in range(n_images)]
    return [draw(arrays_of(dtype, s, color_space)) for s in shapes], n_channels


@st.composite
def quantizers(draw, n_channels, dtype, *, dither=True):
    space = "rgb"
    if n_channels == 3 and np.dtype(dtype) != np.int32:
        space = draw(st.sampled_from(["rgb", "rgb", "lab", "oklab", "din99o"]))
    params = {}
    if dither and DITHER_METHODS:
        params["dither"] = draw(st.sampled_from([None, None, None, *DITHER_METHODS]))
    return ColorQuantizer(
        draw(st.one_of(st.integers(1, 8), st.integers(1, 300))),
        backend=draw(st.sampled_from(["sklearn", "opencv"])),
        color_space=space,
        random_state=draw(st.integers(0, 2**32 - 1)),
        **params,
    )


# =============================================================================
# Helpers
# =============================================================================


def arrays(X):
    return X if isinstance(X, list) else [X]


def frozen(X):
    """A read-only copy of ``X`` and a writable copy to compare with."""
    copies = [np.array(x) for x in arrays(X)]
    for x in copies:
        x.flags.writeable = False
    reference = [x.copy() for x in copies]
    return (copies if isinstance(X, list) else copies[0]), reference


def assert_unchanged(X, reference):
    for x, ref in zip(arrays(X), reference, strict=True):
        assert not x.flags.writeable
        assert x.dtype == ref.dtype
        assert np.array_equal(x, ref, equal_nan=x.dtype.kind == "f")


def fit_quietly(q, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return q.fit(X)


def check_mapping(q, X, *, exact_rgb):
    """Every documented property of predict/transform/inverse/score on X."""
    labels = q.predict(X)
    out = q.transform(X)
    assert isinstance(labels, list) == isinstance(X, list)
    assert isinstance(out, list) == isinstance(X, list)
    palette = q.palette_.astype(np.float64)
    n_channels = q.palette_.shape[1]
    squared_error, n_values = 0.0, 0
    for x, lab, o in zip(arrays(X), arrays(labels), arrays(out), strict=True):
        assert lab.shape == x.shape[:-1] and lab.dtype.kind in "iu"
        assert lab.min() >= 0 and lab.max() < q.n_colors_
        assert o.shape == x.shape and o.dtype == x.dtype
        assert np.array_equal(o, q.palette_[lab].astype(x.dtype))
        pixels = x.reshape(-1, n_channels).astype(np.float64)
        if exact_rgb:
            # the label is the nearest palette colour (ties aside)
            d2 = ((pixels[:, None, :] - palette[None]) ** 2).sum(-1)
            got = d2[np.arange(len(pixels)), lab.ravel()]
            assert np.all(got <= d2.min(axis=1) * (1 + 1e-9) + 1e-300)
        diff = pixels - o.reshape(-1, n_channels).astype(np.float64)
        squared_error += float(np.sum(diff**2))
        n_values += diff.size
    # every output colour is a palette colour
    colours = {tuple(c) for c in q.palette_.tolist()}
    for o in arrays(out):
        assert {tuple(c) for c in o.reshape(-1, n_channels).tolist()} <= colours
    back = q.inverse_transform(labels)
    for b, o in zip(arrays(back), arrays(out), strict=True):
        assert np.array_equal(b, o) and b.dtype == q.palette_.dtype
    score = q.score(X)
    assert score <= 0
    assert score == pytest.approx(-squared_error / n_values, rel=1e-9, abs=1e-300)


# =============================================================================
# Properties
# =============================================================================


def check_any_valid_input(data):
    """The property of the two tests below, for one drawn input."""
    X, n_channels = data.draw(images())
    dtype = arrays(X)[0].dtype
    q = data.draw(quantizers(n_channels, dtype))
    if q.color_space != "rgb":
        X, _ = data.draw(images(dtype, 3, q.color_space))
    X, reference = frozen(X)
    # A 4th channel of an image may be read as opacity, which needs a dtype
    # with a known full scale: a clean refusal is allowed there only.
    may_refuse = n_channels == 4 and not (isinstance(X, np.ndarray) and X.ndim == 2)
    try:
        fit_quietly(q, X)
    except (ValueError, TypeError) as exc:
        assert may_refuse and str(exc), exc
        assert_unchanged(X, reference)
        return
    assert_unchanged(X, reference)

    assert q.palette_.dtype == dtype and q.palette_.shape[1] == n_channels
    assert 1 <= q.n_colors_ <= q.n_colors
    assert q.n_colors_ == len(q.palette_) and q.n_features_in_ == n_channels
    alpha = q._fitted.space.alpha  # RGBA images: opacity-aware mapping
    dither = getattr(q, "dither", None)  # dithered images: not the nearest
    event(f"{q.backend} {q.color_space} {dtype}{' alpha' if alpha else ''}")
    event("k-means" if q.n_iter_ else "exact palette")
    event(f"dither={dither}")
    exact_rgb = q.color_space == "rgb" and not alpha and dither is None
    pixels = np.concatenate([x.reshape(-1, n_channels) for x in arrays(X)])
    n_distinct = len(np.unique(pixels, axis=0))
    if exact_rgb and n_distinct <= q.n_colors:
        # few colours: the palette is the data's colours, mapping is exact
        assert q.n_colors_ == n_distinct
        for x, o in zip(arrays(X), arrays(q.transform(X)), strict=True):
            assert np.array_equal(x, o)
    check_mapping(q, X, exact_rgb=exact_rgb)

    # another input of the same kind
    other, _ = data.draw(images(dtype, n_channels, q.color_space))
    other, other_reference = frozen(other)
    check_mapping(q, other, exact_rgb=exact_rgb and not alpha)
    assert_unchanged(other, other_reference)
    assert_unchanged(X, reference)


@settings(SETTINGS, max_examples=80)
@given(data=st.data())
def test_any_valid_input_gives_a_correct_result(data):
    # ~0.3 s an example (a quarter are 16k-70k pixel images): 80 in the
    # fast suite, many more in the slow one below.
    check_any_valid_input(data)


@pytest.mark.slow
@settings(SETTINGS, max_examples=1000)
@given(data=st.data())
def test_any_valid_input_gives_a_correct_result_many_examples(data):
    check_any_valid_input(data)


@SETTINGS
@given(
    data=st.data(),
    bad=st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e17]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_non_finite_or_huge_values_are_refused(data, bad, dtype):
    assume(not (dtype == np.float32 and abs(bad) == 1e300))  # that is inf there
    X, n_channels = data.draw(images(dtype, large=False))
    q = data.draw(quantizers(n_channels, dtype, dither=False))
    target = arrays(X)[data.draw(st.integers(0, len(arrays(X)) - 1))]
    flat = target.reshape(-1)
    flat[data.draw(st.integers(0, flat.size - 1))] = bad
    X, reference = frozen(X)
    match = "NaN" if np.isnan(bad) else ("infinity" if np.isinf(bad) else "2\\*\\*53")
    with pytest.raises(ValueError, match=match):
        q.fit(X)
    clean, _ = data.draw(images(dtype, n_channels, q.color_space, large=False))
    fit_quietly(q, clean)
    for method in (q.predict, q.transform, q.score):
        with pytest.raises(ValueError, match=match):
            method(X)
    assert_unchanged(X, reference)


@st.composite
def junk(draw):
    """Inputs that are not images: wrong dtype, empty, wrong rank, not arrays."""
    kind = draw(
        st.sampled_from(
            ["bool", "complex", "strings", "empty", "rank", "scalar", "ragged"]
        )
    )
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4))
    if kind == "bool":
        return draw(hnp.arrays(bool, shape))
    if kind == "complex":
        return draw(
            hnp.arrays(complex, shape, elements=st.complex_numbers(max_magnitude=9))
        )
    if kind == "strings":
        return draw(hnp.arrays(hnp.unicode_string_dtypes(), shape))
    if kind == "empty":
        empty = list(shape)
        empty[draw(st.integers(0, len(shape) - 1))] = 0
        return np.zeros(empty, dtype=draw(st.sampled_from(DTYPES)))
    if kind == "rank":
        ndim = draw(st.sampled_from([1, 5, 6]))
        return np.zeros(draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim)))
    if kind == "scalar":
        return draw(st.one_of(st.none(), st.integers(), st.floats(), st.text()))
    return [np.zeros(shape), np.zeros(draw(st.integers(1, 5)))]


@SETTINGS
@given(X=junk(), backend=st.sampled_from(["sklearn", "opencv"]))
def test_junk_is_refused_with_value_or_type_errors(X, backend, china):
    q = ColorQuantizer(4, backend=backend, random_state=0)
    with pytest.raises((ValueError, TypeError)):
        q.fit(X)
    fit_quietly(q, china[::16, ::16])
    for method in (q.predict, q.transform, q.score):
        with pytest.raises((ValueError, TypeError)):
            method(X)
