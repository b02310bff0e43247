"""Palettes users control: given, partly fixed, weighted, streamed, stable."""

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from skquant import ColorQuantizer, _histogram
from tests.conftest import gif_frame, psnr, sprite

WEB_SAFE = np.array(
    [
        [r, g, b]
        for r in range(0, 256, 51)
        for g in range(0, 256, 51)
        for b in range(0, 256, 51)
    ],
    dtype=np.uint8,
)


def test_given_palette_kept_in_order(astronaut):
    rng = np.random.RandomState(0)
    palette = WEB_SAFE[rng.permutation(len(WEB_SAFE))]
    q = ColorQuantizer(palette=palette).fit(astronaut)
    np.testing.assert_array_equal(q.palette_, palette)
    assert q.n_colors_ == 216 and q.palette_.dtype == np.uint8
    labels = q.predict(astronaut)
    # indices refer to the user's order: brute-force nearest in that order
    pixels = astronaut.reshape(-1, 3).astype(float)[::97]
    d2 = ((pixels[:, None] - palette[None].astype(float)) ** 2).sum(-1)
    got = labels.reshape(-1)[::97]
    np.testing.assert_allclose(d2[np.arange(len(got)), got], d2.min(1))
    np.testing.assert_array_equal(q.inverse_transform(labels), q.transform(astronaut))


def test_given_palette_on_other_dtypes(astronaut):
    image = astronaut.astype(np.float32) / 255
    palette = WEB_SAFE.astype(np.float32) / 255
    q = ColorQuantizer(palette=palette).fit(image)
    assert q.palette_.dtype == np.float32
    np.testing.assert_array_equal(q.palette_, palette)


@pytest.mark.parametrize(
    "palette, match",
    [
        (np.zeros((4, 4)), "shape"),
        (np.zeros((0, 3)), "shape"),
        (np.array([[0.5, 0.5, 0.5]]), "not a value of the data's dtype uint8"),
        (np.array([[300, 0, 0]]), "not a value"),
        (np.array([[np.nan, 0, 0]]), "finite"),
    ],
)
def test_given_palette_checked(palette, match, coffee):
    with pytest.raises(ValueError, match=match):
        ColorQuantizer(palette=palette).fit(coffee)


def test_fixed_colors_kept_first(china):
    fixed = np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8)
    q = ColorQuantizer(8, fixed_colors=fixed, random_state=0).fit(china)
    assert q.n_colors_ == 8
    np.testing.assert_array_equal(q.palette_[:3], fixed)
    assert len(np.unique(q.palette_, axis=0)) == 8
    # a pure red pixel maps to the fixed red, whatever was learnt
    assert q.predict(np.array([[255, 0, 0]], np.uint8))[0] == 2
    # learnt colours still serve the photo well: better than fixed alone
    only_fixed = ColorQuantizer(palette=fixed).fit(china)
    assert (
        psnr(china, q.transform(china)) > psnr(china, only_fixed.transform(china)) + 5
    )


def test_fixed_colors_too_many(coffee):
    with pytest.raises(ValueError, match="more than n_colors=2"):
        ColorQuantizer(2, fixed_colors=WEB_SAFE[:3]).fit(coffee)


@pytest.mark.parametrize("backend", ["sklearn", "opencv"])
def test_sample_weight_favours_weighted_region(backend, astronaut):
    weight = np.ones(astronaut.shape[:2])
    weight[50:250, 150:350] = 20  # the face
    face = astronaut[50:250, 150:350]
    weighted = ColorQuantizer(16, backend=backend, random_state=0)
    weighted.fit(astronaut, sample_weight=weight)
    plain = ColorQuantizer(16, backend=backend, random_state=0).fit(astronaut)
    assert psnr(face, weighted.transform(face)) > psnr(face, plain.transform(face)) + 1


def test_sample_weight_checked(coffee):
    with pytest.raises(ValueError, match="one weight per pixel"):
        ColorQuantizer(4).fit(coffee, sample_weight=np.ones(7))
    with pytest.raises(ValueError, match=">= 0"):
        ColorQuantizer(4).fit(coffee, sample_weight=-np.ones(coffee.shape[:2]))


def test_sample_weight_on_list(astronaut, coffee):
    weights = [np.ones(astronaut.shape[:2]), np.zeros(coffee.shape[:2])]
    weights[1][0, 0] = 1e-9
    q = ColorQuantizer(8, random_state=0).fit(
        [astronaut, coffee], sample_weight=weights
    )
    alone = ColorQuantizer(8, random_state=0).fit(astronaut)
    # coffee barely counts: the palette serves astronaut about as well
    assert (
        psnr(astronaut, q.transform(astronaut))
        > psnr(astronaut, alone.transform(astronaut)) - 0.5
    )


def test_partial_fit_close_to_fit_on_all(photos):
    together = ColorQuantizer(32, random_state=0).fit(photos)
    streamed = ColorQuantizer(32, random_state=0)
    for photo in photos:
        streamed.partial_fit(photo)
    a = np.mean([psnr(p, together.transform(p)) for p in photos])
    b = np.mean([psnr(p, streamed.transform(p)) for p in photos])
    assert b > a - 0.5


def _narrow(photo, base):
    """A real photo squeezed into 8 levels per channel from ``base``: a few
    cells of the 64-bin histogram, each holding several colours."""
    return (np.asarray(base, np.uint8) + photo[::4, ::4] // 32).astype(np.uint8)


def test_partial_fit_with_fewer_cells_than_colours_keeps_earlier_batches(
    coffee, astronaut
):
    """Fewer histogram cells than colours: k-means needs the exact colours,
    and a stream's earlier batches are gone. The stream keeps its exact
    colours (it used the last batch's alone: the palette had no colour of
    the first), so it learns what the exact stream (by colour) learns."""
    first, second = _narrow(coffee, (200, 30, 30)), _narrow(astronaut, (30, 30, 200))
    binned, by_colour = (
        ColorQuantizer(48, random_state=0),
        ColorQuantizer(48, random_state=0, histogram_bins=None),
    )
    for batch in (first, second):
        binned.partial_fit(batch)
        by_colour.partial_fit(batch)
    assert len(binned._histogram.codes) < 48  # the case at hand
    np.testing.assert_array_equal(binned.palette_, by_colour.palette_)
    assert (binned.palette_[:, 0] > 150).any() and (binned.palette_[:, 2] > 150).any()


def test_partial_fit_opencv_learns_from_every_batch(coffee, astronaut):
    """The 'opencv' backend (no weights) clustered the last batch's pixels
    only, forgetting the others; it now draws from the whole histogram."""
    first = coffee[::4, ::4] // 2 + np.uint8(120)  # many cells, bright
    streamed = ColorQuantizer(8, random_state=0, backend="opencv")
    streamed.partial_fit(first).partial_fit(astronaut[::4, ::4])
    together = ColorQuantizer(8, random_state=0, backend="opencv")
    together.fit([first, astronaut[::4, ::4]])
    assert psnr(first, streamed.transform(first)) > (
        psnr(first, together.transform(first)) - 1.0
    )


def test_partial_fit_after_its_exact_colours_were_dropped(
    coffee, astronaut, monkeypatch
):
    """More colours asked for than the stream has cells, after it stopped
    keeping exact colours (more than its byte budget): the cells' colours
    are the palette."""
    monkeypatch.setattr(_histogram, "COLOURS_BYTES", 10 * 65)  # 10 colours
    q = ColorQuantizer(4, random_state=0)
    q.partial_fit(_narrow(coffee, (200, 30, 30)))
    assert q._histogram.colours is None
    n_cells = len(q._histogram.codes)
    q.set_params(n_colors=n_cells + 8)
    with pytest.warns(UserWarning, match="fewer"):
        q.partial_fit(_narrow(coffee, (200, 30, 30)))
    assert q.n_colors_ == n_cells


def test_partial_fit_keeps_indices(china, flower):
    q = ColorQuantizer(16, random_state=0).partial_fit(china)
    before = q.palette_.astype(float)
    q.partial_fit(china)  # the same data again: the palette must not reshuffle
    np.testing.assert_allclose(q.palette_.astype(float), before, atol=2)
    q.partial_fit(flower)
    assert q.n_colors_ == 16


def test_partial_fit_checks_channels_and_dtype(china):
    q = ColorQuantizer(4).partial_fit(china)
    with pytest.raises(ValueError, match="4 features"):
        q.partial_fit(np.dstack([china, china[..., :1]]))
    with pytest.raises(ValueError, match="uint8"):
        q.partial_fit(china / 255.0)


def test_warm_start_reduces_flicker(china):
    rng = np.random.RandomState(0)
    frames = [
        np.clip(china.astype(int) + rng.randint(-6, 7, china.shape), 0, 255).astype(
            np.uint8
        )
        for _ in range(3)
    ]

    def changed(quantizer):
        labels = [quantizer.fit(f).predict(f) for f in frames]
        return max(np.mean(a != b) for a, b in zip(labels, labels[1:], strict=False))

    # without a warm start, every frame is seeded afresh (as random_state=None)
    cold = [
        changed(ColorQuantizer(16, random_state=np.random.RandomState(s)))
        for s in (0, 1)
    ]
    warm = changed(ColorQuantizer(16, warm_start=True, random_state=0))
    assert warm < 0.25 and warm < min(cold)


@pytest.mark.parametrize("photo", ["china", "astronaut"])
def test_exactly_k_distinct_colours(photo, request):
    image = request.getfixturevalue(photo)
    q = ColorQuantizer(256, random_state=0).fit(image)
    assert len(np.unique(q.palette_, axis=0)) == 256


# %% graphics: few colours, more than K, clustered exactly -------------------------


def _graphic(name, logo):
    return {"logo": logo, "gif": gif_frame(), "sprite": sprite()}[name]


def _quality(image, seeds=(0, 1, 2), **params):
    """Mean CIEDE2000 (scikit-image's) and PSNR of K=256 fits, over seeds."""
    lab = rgb2lab(image)
    delta_e, db = [], []
    for seed in seeds:
        out = ColorQuantizer(256, random_state=seed, **params).fit_transform(image)
        delta_e.append(deltaE_ciede2000(lab, rgb2lab(out)).mean())
        db.append(psnr(image, out))
    return np.mean(delta_e), np.mean(db)


@pytest.mark.parametrize(
    "name, gain",
    [("logo", 0.5), ("gif", 0.9), ("sprite", 1.01)],
)
def test_graphics_at_256_colours_cluster_their_exact_colours(
    logo, monkeypatch, name, gain
):
    """Graphics with a few hundred cells for K=256 (below 3 a colour): k-means
    runs on the exact colours the histogram carries, as with
    histogram_bins=None, instead of cell means pulled off the flat colours.
    Measured: logo CIEDE2000 0.121 -> 0.047 (no pooling 0.045), PSNR
    54.3 -> 58.7 dB; GIF frame 0.066 -> 0.055; the 1,000-shade sprite
    (its colours near equally used) 0.298 either way."""
    image = _graphic(name, logo)
    after = _quality(image)
    unpooled = _quality(image, histogram_bins=None)
    with monkeypatch.context() as patch:
        patch.setattr(_histogram, "COLOURS_BYTES", 0)  # the cells, as before
        before = _quality(image)
    assert after[0] < gain * before[0]
    assert after[0] < 1.05 * unpooled[0]  # k-means on other points: seeds differ
    assert after[1] > unpooled[1] - 0.15
    if gain < 1:
        assert after[1] > before[1] + 0.3


def test_graphics_at_low_k_still_cluster_the_cells(logo, monkeypatch):
    """Many cells per colour (the logo at K=16: 34): the cells, as before,
    and no colour is counted."""
    q = ColorQuantizer(16, random_state=0).fit(logo)
    with monkeypatch.context() as patch:
        patch.setattr(_histogram, "COLOURS_BYTES", 0)
        np.testing.assert_array_equal(
            ColorQuantizer(16, random_state=0).fit(logo).palette_, q.palette_
        )


def test_graphics_with_fewer_cells_than_colours_need_no_pixel_sort(logo, monkeypatch):
    """K=1024 on the logo (545 cells, 2,139 colours): the histogram's colours
    are the distinct colours that every pixel was sorted for before (the
    same palette), and nothing is sorted (1.3-2 s on a 12 MP logo)."""
    from skquant._engine import _learn

    with monkeypatch.context() as patch:
        patch.setattr(_histogram, "COLOURS_BYTES", 0)  # as before: the sort
        expected = ColorQuantizer(1024, random_state=0).fit(logo)

    def no_sort(*args):
        raise AssertionError("the pixels were sorted")

    with monkeypatch.context() as patch:
        patch.setattr(_learn, "distinct_colors", no_sort)
        q = ColorQuantizer(1024, random_state=0).fit(logo)
    np.testing.assert_array_equal(q.palette_, expected.palette_)


def test_partial_fit_of_a_graphic_is_the_stream_by_colour(logo):
    """Batches of the logo: the stream's histogram carries the exact colours
    of all of them (few cells for K=256), so it learns what the exact stream
    (by colour, histogram_bins=None) learns, batch after batch."""
    binned = ColorQuantizer(256, random_state=0)
    by_colour = ColorQuantizer(256, random_state=0, histogram_bins=None)
    for batch in np.array_split(logo, 4):
        binned.partial_fit(batch)
        by_colour.partial_fit(batch)
        np.testing.assert_array_equal(binned.palette_, by_colour.palette_)
    assert binned._histogram.colours is not None
    assert len(binned._histogram.codes) < 3 * 256
