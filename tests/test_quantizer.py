"""ColorQuantizer on real photographs: the behaviour users rely on."""

import pickle
import warnings

import cv2
import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skquant import ColorQuantizer, quantize
from tests.conftest import psnr

BACKENDS = ["sklearn", "opencv"]


def distinct(image):
    return np.unique(np.asarray(image).reshape(-1, image.shape[-1]), axis=0)


# %% fit on one image, apply to others -----------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_one_photo_apply_to_another(backend, china, flower):
    q = ColorQuantizer(16, backend=backend, random_state=0).fit(china)
    assert q.palette_.shape == (16, 3) and q.palette_.dtype == np.uint8
    assert q.cluster_centers_.dtype == np.float64
    assert q.n_colors_ == 16 and q.n_features_in_ == 3 and q.n_iter_ >= 1
    assert q.inertia_ > 0
    out = q.transform(flower)
    assert out.shape == flower.shape and out.dtype == np.uint8
    colours = distinct(out)
    assert len(colours) <= 16
    # every output colour is a palette entry
    palette_set = {tuple(c) for c in q.palette_}
    assert all(tuple(c) in palette_set for c in colours)
    labels = q.predict(flower)
    assert labels.shape == flower.shape[:2]
    np.testing.assert_array_equal(q.palette_[labels], out)
    np.testing.assert_array_equal(q.inverse_transform(labels), out)


@pytest.mark.parametrize("backend", BACKENDS)
def test_labels_are_nearest_palette_entry(backend, astronaut):
    q = ColorQuantizer(32, backend=backend, random_state=1).fit(astronaut)
    pixels = astronaut.reshape(-1, 3).astype(np.float64)
    labels = q.predict(astronaut).ravel()
    d2 = ((pixels[:, None, :] - q.palette_[None].astype(np.float64)) ** 2).sum(-1)
    np.testing.assert_allclose(d2[np.arange(len(pixels)), labels], d2.min(axis=1))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_colors", [16, 64])
def test_quality_matches_kmeans_on_100k_pixels(backend, n_colors, china):
    """PSNR within 0.3 dB of KMeans(n_init=1) fitted on 100,000 pixels."""
    pixels = china.reshape(-1, 3).astype(np.float64)
    rng = np.random.RandomState(0)
    sample = pixels[rng.choice(len(pixels), 100_000, replace=False)]
    ref = KMeans(n_colors, n_init=1, random_state=0).fit(sample)
    ref_out = np.clip(np.rint(ref.cluster_centers_), 0, 255)[ref.predict(pixels)]
    ref_psnr = psnr(pixels, ref_out)
    ours = ColorQuantizer(n_colors, backend=backend, random_state=0)
    assert psnr(china, ours.fit_transform(china)) >= ref_psnr - 0.3


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_random_state_same_palette(backend, coffee):
    a = ColorQuantizer(12, backend=backend, random_state=7).fit(coffee).palette_
    cv2.setRNGSeed(12345)  # OpenCV's global generator must not matter
    b = ColorQuantizer(12, backend=backend, random_state=7).fit(coffee).palette_
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_palette_sorted_by_use(backend, china):
    q = ColorQuantizer(8, backend=backend, random_state=0).fit(china)
    counts = np.bincount(q.predict(china).ravel(), minlength=8)
    # most used colour first (counts on all pixels can differ slightly from
    # the fitted sample's, so check the broad order)
    assert counts[0] >= np.median(counts)


# %% shapes and dtypes ----------------------------------------------------------


@pytest.mark.parametrize(
    "dtype, scale",
    [(np.uint8, 1), (np.uint16, 257), (np.float32, 1 / 255), (np.float64, 1 / 255)],
)
def test_dtype_preserved(dtype, scale, astronaut):
    image = (astronaut.astype(np.float64) * scale).astype(dtype)
    q = ColorQuantizer(8, random_state=0).fit(image)
    assert q.palette_.dtype == dtype
    out = q.transform(image)
    assert out.dtype == dtype and out.shape == image.shape
    assert psnr(image, out, data_range=255 * scale) > 20


def test_batch_and_ragged_list_keep_shapes(china, flower, astronaut, coffee):
    batch = np.stack([china, flower])
    q = ColorQuantizer(8, random_state=0).fit(batch)
    assert q.transform(batch).shape == batch.shape
    assert q.predict(batch).shape == batch.shape[:3]
    images = [astronaut, coffee, china]
    q = ColorQuantizer(8, random_state=0).fit(images)
    out = q.transform(images)
    assert isinstance(out, list)
    assert [o.shape for o in out] == [i.shape for i in images]
    labels = q.predict(images)
    assert [lab.shape for lab in labels] == [i.shape[:2] for i in images]
    back = q.inverse_transform(labels)
    for o, b in zip(out, back, strict=True):
        np.testing.assert_array_equal(o, b)


def test_list_fit_pools_all_images(astronaut, coffee):
    """A palette fitted on a list serves every image in it."""
    q = ColorQuantizer(16, random_state=0).fit([astronaut, coffee])
    alone = ColorQuantizer(16, random_state=0).fit(astronaut)
    # the pooled palette is worse on astronaut than astronaut's own palette,
    # but it must serve coffee far better than astronaut's palette does
    assert psnr(coffee, q.transform(coffee)) > psnr(coffee, alone.transform(coffee))


def test_grayscale_and_many_channels(astronaut):
    gray = astronaut[..., :1]
    q = ColorQuantizer(4, random_state=0).fit(gray)
    out = q.transform(gray)
    assert out.shape == gray.shape and len(np.unique(out)) == 4
    pixels = np.random.RandomState(0).rand(500, 5)
    q = ColorQuantizer(6, random_state=0).fit(pixels)
    assert q.transform(pixels).shape == (500, 5) and q.palette_.shape == (6, 5)


def test_caller_array_not_modified(china):
    image = china.copy()
    image.setflags(write=False)
    q = ColorQuantizer(8, random_state=0)
    q.fit_transform(image)
    q.predict(image)
    q.score(image)
    np.testing.assert_array_equal(image, china)


def test_non_contiguous_views(china):
    view = china[::2, ::3]
    q = ColorQuantizer(8, random_state=0).fit(view)
    np.testing.assert_array_equal(
        q.transform(view), q.transform(np.ascontiguousarray(view))
    )


# %% sklearn API ----------------------------------------------------------------


def test_fit_predict_and_fit_transform_agree(coffee):
    q = ColorQuantizer(8, random_state=0)
    labels = q.fit_predict(coffee)
    np.testing.assert_array_equal(labels, q.predict(coffee))
    np.testing.assert_array_equal(clone(q).fit_transform(coffee), q.transform(coffee))


def test_score_is_negative_mse(astronaut):
    q = ColorQuantizer(8, random_state=0).fit(astronaut)
    s = q.score(astronaut)
    assert isinstance(s, float)
    expected = -np.mean((astronaut.astype(float) - q.transform(astronaut)) ** 2)
    assert s == pytest.approx(expected, rel=1e-12)
    assert ColorQuantizer(32, random_state=0).fit(astronaut).score(astronaut) > s


def test_pipeline(flower):
    pipe = make_pipeline(
        FunctionTransformer(lambda x: x.astype(np.float32) / 255),
        ColorQuantizer(8, random_state=0),
    )
    out = pipe.fit_transform(flower)
    assert out.dtype == np.float32 and out.shape == flower.shape
    assert len(distinct(out)) <= 8


def test_grid_search_over_n_colors_on_list_of_images(photos):
    search = GridSearchCV(
        ColorQuantizer(random_state=0),
        {"n_colors": [4, 16, 32]},
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(photos)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.diff(scores) > 0)  # more colours, less distortion
    assert search.best_params_ == {"n_colors": 32}
    out = search.best_estimator_.transform(photos[0])
    assert out.shape == photos[0].shape


def test_cross_val_score_on_whole_images(photos):
    scores = cross_val_score(ColorQuantizer(8, random_state=0), photos, cv=KFold(4))
    assert scores.shape == (4,) and np.all(scores < 0)


def test_quantize_function(coffee):
    out = quantize(coffee, 6, random_state=0)
    assert out.shape == coffee.shape and len(distinct(out)) <= 6


# %% few colours ----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_fewer_distinct_colours_than_n_colors(backend, china):
    base = ColorQuantizer(5, random_state=0).fit_transform(china)
    with pytest.warns(ConvergenceWarning, match="5 distinct colours"):
        q = ColorQuantizer(16, backend=backend, random_state=0).fit(base)
    assert q.n_colors_ == 5
    np.testing.assert_array_equal(np.unique(q.palette_, axis=0), distinct(base))
    np.testing.assert_array_equal(q.transform(base), base)  # nothing lost


def test_exactly_k_colours_kept_exactly(astronaut):
    base = ColorQuantizer(12, random_state=0).fit_transform(astronaut)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = ColorQuantizer(12, random_state=3).fit(base)
    np.testing.assert_array_equal(q.transform(base), base)


# %% bad input -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(astronaut):
    return ColorQuantizer(8, random_state=0).fit(astronaut)


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.full((4, 4, 3), np.nan), ValueError, "NaN"),
        (np.full((4, 4, 3), np.inf), ValueError, "infinity"),
        (np.ones((10, 3), complex), ValueError, "omplex"),
        (sparse.csr_matrix(np.ones((10, 3))), TypeError, "parse"),
        (np.ones(10), ValueError, "1D"),
        (np.ones((0, 3)), ValueError, "0 sample"),
        (np.ones((0, 4, 3)), ValueError, "no pixels"),
        (np.ones((2, 2, 2, 2, 3)), ValueError, "5 dimensions"),
        (np.ones((4, 4, 3), bool), TypeError, "boolean"),
    ],
)
def test_bad_input_fit(X, error, match):
    with pytest.raises(error, match=match):
        ColorQuantizer(2).fit(X)


def test_channel_mismatch(fitted, astronaut):
    with pytest.raises(ValueError, match="X has 4 features"):
        fitted.transform(np.dstack([astronaut, astronaut[..., :1]]))


def test_dtype_kind_mismatch(fitted, astronaut):
    with pytest.raises(ValueError, match="uint8"):
        fitted.transform(astronaut / 255.0)
    with pytest.raises(ValueError, match="uint16"):
        fitted.predict(astronaut.astype(np.uint16))


def test_unfitted():
    with pytest.raises(NotFittedError):
        ColorQuantizer().transform(np.zeros((4, 3)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_colors": 0}, "n_colors must be >= 1"),
        ({"backend": "faiss"}, "backend must be one of"),
        ({"color_space": "hsv"}, "color_space must be one of"),
        ({"sample_size": -5}, "sample_size must be >= 1"),
        ({"init": "nope"}, "init must be"),
        ({"init": np.zeros((3, 3))}, "init has shape"),
        ({"tol": -1.0}, "tol must be"),
    ],
)
def test_bad_parameters(params, match, coffee):
    with pytest.raises(ValueError, match=match):
        ColorQuantizer(**params).fit(coffee)


def test_bad_labels(fitted):
    with pytest.raises(ValueError, match=r"\[0, 7\]"):
        fitted.inverse_transform(np.array([0, 8]))
    with pytest.raises(ValueError, match="integer"):
        fitted.inverse_transform(np.array([0.5]))


# %% what fit fixes ------------------------------------------------------------------

#: A value other than the default for every parameter.
OTHER_VALUES = {
    "n_colors": 4,
    "backend": "opencv",
    "color_space": "lab",
    "dither": "floyd-steinberg",
    "dither_strength": 0.5,
    "dither_adaptive": True,
    "alpha": False,
    "keep_transparent_rgb": True,
    "sample_size": 10,
    "histogram_bins": 8,
    "palette": [[0, 0, 0, 255], [255, 255, 255, 255]],
    "fixed_colors": [[0, 0, 0, 255]],
    "init": "random",
    "n_init": 3,
    "max_iter": 1,
    "tol": 0.5,
    "warm_start": True,
    "random_state": 5,
    "channel_order": "bgr",
}


def test_every_parameter_has_another_value():
    assert set(OTHER_VALUES) == set(ColorQuantizer().get_params())


@pytest.mark.parametrize("name", sorted(OTHER_VALUES))
@pytest.mark.parametrize("channels", [3, 4])
def test_set_params_after_fit_changes_nothing_until_the_next_fit(
    astronaut, name, channels
):
    image = np.ascontiguousarray(astronaut[::4, ::4])
    if channels == 4:  # a transparent band, so the alpha parameters matter
        alpha = np.full(image.shape[:2], 255, np.uint8)
        alpha[:20] = 0
        image = np.dstack([image, alpha])
    q = ColorQuantizer(8, random_state=0).fit(image)
    before = q.transform(image), q.predict(image), q.score(image)
    value = OTHER_VALUES[name]
    if name in ("palette", "fixed_colors"):
        value = [c[:channels] for c in value]
    q.set_params(**{name: value})
    after = q.transform(image), q.predict(image), q.score(image)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2] == before[2]


def test_colour_space_changed_after_fit(astronaut):
    # issue 13: transform used the fitted palette with the new colour space
    q = ColorQuantizer(16, random_state=0).fit(astronaut)
    mse = -q.score(astronaut)
    q.set_params(color_space="lab")
    assert -q.score(astronaut) == mse
    assert len(distinct(q.transform(astronaut))) == 16
    q.fit(astronaut)  # the next fit uses it
    assert q._fitted.space.color_space == "lab"


def test_partial_fit_model_pickles_small(photos):
    q = ColorQuantizer(16, random_state=0)
    for photo in photos:
        q.partial_fit(photo)
    size = len(pickle.dumps(q))
    # occupied cells only: 2.6 MB for these four photos; the dense histogram
    # pickled 10.5 MB whatever the data
    assert size < 4 * 2**20, size
    again = pickle.loads(pickle.dumps(q)).partial_fit(photos[0])
    np.testing.assert_array_equal(again.palette_, q.partial_fit(photos[0]).palette_)


def test_partial_fit_without_bins_is_exact(china):
    few = ColorQuantizer(40, random_state=0).fit_transform(china)
    q = ColorQuantizer(40, histogram_bins=None, random_state=0)
    for part in np.array_split(few, 3):
        q.partial_fit(part)
    # one cell per value: the palette is exactly the 40 colours
    assert {tuple(c) for c in q.palette_.tolist()} == set(
        map(tuple, distinct(few).tolist())
    )
    floats = ColorQuantizer(40, histogram_bins=None, random_state=0)
    for part in np.array_split(few / 255.0, 3):
        floats.partial_fit(part)
    np.testing.assert_array_equal(
        np.sort(floats.palette_ * 255, axis=0).round(), np.sort(q.palette_, axis=0)
    )
