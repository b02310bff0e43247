"""The estimator's contract with its caller (issue 12).

Earlier centres are reused only in the same units and width; float data is
read as sRGB in [0, 1] wherever colour matters and refused otherwise with a
message that says what to do; channel-first and 2-D grey images get a hint;
warnings point at the caller's line; nearest-colour searches inside fits stay
within a memory budget.
"""

import subprocess
import sys
import textwrap
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skquant import ColorQuantizer, quantize
from skquant._engine import FewerColorsWarning
from skquant.metrics import peak_signal_noise_ratio

SPACES = ["lab", "oklab", "din99o"]


@pytest.fixture(scope="module")
def photo(china):
    return np.ascontiguousarray(china[::4, ::4])


# %% earlier centres -----------------------------------------------------------


def test_grey_fit_then_rgb_partial_fit_does_not_crash(tmp_path):
    # This crashed the interpreter (SIGSEGV / SIGABRT): run it in a subprocess.
    script = textwrap.dedent(
        """
        import numpy as np
        from skquant import ColorQuantizer
        rng = np.random.default_rng(0)
        grey = rng.integers(0, 256, (300, 300, 1), dtype=np.uint8)
        rgb = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
        q = ColorQuantizer(8, random_state=0).fit(grey)
        q.partial_fit(rgb)
        assert q.palette_.shape == (8, 3), q.palette_.shape
        w = ColorQuantizer(8, warm_start=True, random_state=0).fit(grey)
        w.fit(rgb)
        assert w.palette_.shape == (8, 3), w.palette_.shape
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize("channels", [(3, 1), (3, 2), (1, 3), (3, 4)])
def test_warm_start_across_channel_counts_starts_afresh(photo, channels):
    before, after = (
        np.ascontiguousarray(np.dstack([photo] * 2)[..., :n]) for n in channels
    )
    q = ColorQuantizer(6, warm_start=True, alpha=False, random_state=0).fit(before)
    q.fit(after)
    fresh = ColorQuantizer(6, alpha=False, random_state=0).fit(after)
    np.testing.assert_array_equal(q.palette_, fresh.palette_)


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_warm_start_across_dtypes_and_spaces_starts_afresh(photo, space):
    q = ColorQuantizer(6, warm_start=True, random_state=0).fit(photo)
    scaled = photo / 255.0
    q.set_params(color_space=space).fit(scaled)
    fresh = ColorQuantizer(6, color_space=space, random_state=0).fit(scaled)
    np.testing.assert_allclose(q.palette_, fresh.palette_)
    assert q.palette_.max() <= 1.0


def test_partial_fit_after_fit_on_other_data_starts_afresh(photo):
    q = ColorQuantizer(6, random_state=0).fit(photo[..., :1])
    q.partial_fit(photo)
    fresh = ColorQuantizer(6, random_state=0).partial_fit(photo)
    np.testing.assert_array_equal(q.palette_, fresh.palette_)


# %% the float data contract ------------------------------------------------------


@pytest.mark.parametrize("space", SPACES)
def test_float_0_255_refused_by_perceptual_spaces(photo, space):
    floats = photo.astype(np.float32)  # the OpenCV tutorial's conversion
    with pytest.raises(ValueError, match=r"divide by 255 \(X / 255\) or pass uint8"):
        quantize(floats, 8, color_space=space)
    with pytest.raises(ValueError, match=f"color_space='{space}' reads float"):
        ColorQuantizer(8, color_space=space).fit(floats)
    # what the message says to do gives the uint8 result
    good = quantize(floats / 255, 8, color_space=space)
    reference = quantize(photo, 8, color_space=space)
    assert (
        abs(
            peak_signal_noise_ratio(photo / 255, good)
            - peak_signal_noise_ratio(photo, reference)
        )
        < 0.3
    )


@pytest.mark.parametrize("method", ["transform", "predict", "score"])
def test_float_0_255_refused_after_a_unit_fit(photo, method):
    q = ColorQuantizer(8, color_space="lab", random_state=0).fit(photo / 255)
    with pytest.raises(ValueError, match="divide by 255"):
        getattr(q, method)(photo.astype(np.float64))


def test_rgba_floats_in_perceptual_spaces_are_unit_range(photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    with pytest.raises(ValueError, match="color_space='oklab' reads float"):
        ColorQuantizer(8, color_space="oklab").fit(rgba.astype(np.float32))
    q = ColorQuantizer(8, color_space="oklab", random_state=0).fit(rgba / 255.0)
    assert q.palette_.max() <= 1.0


def test_rgb_takes_floats_as_given(photo):
    floats = photo.astype(np.float32)
    # undithered: the same palette in other units, nothing to say
    out = quantize(floats, 8)
    assert out.dtype == np.float32 and out.max() > 1
    assert peak_signal_noise_ratio(photo, out, data_range=255) > 20
    # dithered: 0-255 floats diffuse in their own units, not in linear light
    # as the same photo does as uint8 or divided by 255: said, and done
    with pytest.warns(UserWarning, match=r"from 0 to 2\d\d: dithering diffuses"):
        out = quantize(floats, 8, dither="floyd-steinberg")
    assert out.dtype == np.float32 and out.max() > 1
    assert peak_signal_noise_ratio(photo, out, data_range=255) > 20


@pytest.mark.parametrize(
    "make",
    [
        lambda photo: photo / 255.0,  # sRGB floats: linear light
        lambda photo: photo,  # uint8: linear light
        lambda photo: photo.astype(np.float32).reshape(-1, 3),  # pixels: no dither
        lambda photo: photo * 4.0 - 500.0,  # other data
        lambda photo: photo[..., :1] * 1.0,  # one channel: not colour
    ],
    ids=["unit", "uint8", "pixels", "signed", "grey"],
)
def test_dithering_warns_only_for_0_255_colour_floats(photo, make):
    X = make(photo)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = ColorQuantizer(8, dither="floyd-steinberg", random_state=0).fit(X)
        q.transform(X)


@pytest.mark.parametrize("name", ["palette", "fixed_colors", "init"])
def test_unit_palette_for_uint8_data_refused(photo, name):
    colours = np.array(
        [[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], float
    )
    with pytest.raises(ValueError, match=rf"{name} holds floats within \[0, 1\]"):
        ColorQuantizer(6, **{name: colours}).fit(photo)
    # integer arrays are taken at their word; 0-255 floats work
    ColorQuantizer(6, **{name: colours * 255}, random_state=0).fit(photo)


def test_0_255_palette_for_unit_floats_refused(photo):
    with pytest.raises(ValueError, match="divide 0-255 colours by 255"):
        ColorQuantizer(palette=[[0, 0, 0], [255, 255, 255]], color_space="lab").fit(
            photo / 255
        )


# %% layouts ----------------------------------------------------------------------


@pytest.mark.parametrize("batch", [False, True])
def test_channel_first_images_refused(photo, batch):
    first = np.moveaxis(photo, -1, 0)
    if batch:
        first = first[None]
    for call in (lambda: quantize(first, 8), lambda: ColorQuantizer(8).fit(first)):
        with pytest.raises(ValueError, match=r"channel-first.*np\.moveaxis"):
            call()


def test_grey_2d_image_gets_a_hint(photo):
    grey = np.ascontiguousarray(photo[..., 1])
    with pytest.warns(UserWarning, match=r"grey image \(H, W\)") as caught:
        ColorQuantizer(2, random_state=0).fit(grey)
    assert caught[0].filename == __file__
    # pixel arrays of a few channels pass in silence
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ColorQuantizer(2, random_state=0).fit(photo.reshape(-1, 3))


# %% small inconsistencies --------------------------------------------------------


def test_dither_none_as_on_the_command_line(photo):
    a = ColorQuantizer(8, dither="none", random_state=0).fit(photo)
    b = ColorQuantizer(8, dither=None, random_state=0).fit(photo)
    np.testing.assert_array_equal(a.transform(photo), b.transform(photo))
    np.testing.assert_array_equal(
        quantize(photo, 8, dither="none"), quantize(photo, 8, dither=None)
    )


def test_quantize_is_reproducible_by_default(photo):
    np.testing.assert_array_equal(quantize(photo, 8), quantize(photo, 8))
    np.testing.assert_array_equal(
        quantize(photo, 8), ColorQuantizer(8, random_state=0).fit_transform(photo)
    )


def test_too_few_colours_warning_speaks_of_the_sample(photo):
    with pytest.warns(ConvergenceWarning) as caught:
        ColorQuantizer(8, sample_size=5, random_state=0).fit(photo)
    message = str(caught[0].message)
    n_pixels = photo.shape[0] * photo.shape[1]
    assert f"sample of 5 pixels (sample_size=5) drawn from {n_pixels}" in message
    assert "The data holds" not in message
    assert caught[0].filename == __file__


@pytest.mark.parametrize("call", ["fit", "fit_transform", "quantize", "partial_fit"])
def test_warnings_point_at_the_caller(photo, call):
    few = np.repeat(photo[:1, :3], 5, axis=0)  # 3 distinct colours
    # the estimator's warning is also scikit-learn's ConvergenceWarning
    category = FewerColorsWarning if call == "quantize" else ConvergenceWarning
    with pytest.warns(category) as caught:
        if call == "quantize":
            quantize(few, 8)
        else:
            getattr(ColorQuantizer(8, random_state=0), call)(few)
    assert [w.filename for w in caught] == [__file__]


def test_empty_list_says_what_was_given():
    with pytest.raises(ValueError, match=r"X is empty \(got \[\], shape \(0,\)\)"):
        ColorQuantizer(4).fit([])


def test_complex_sample_weight_names_the_dtype(photo):
    weights = np.ones(photo.shape[:2], complex)
    with pytest.raises(ValueError, match="real numbers, got dtype complex128"):
        ColorQuantizer(4).fit(photo, sample_weight=weights)


# %% nearest-colour searches inside fits are budgeted -----------------------------


@pytest.mark.parametrize(
    "params",
    [{"fixed_colors": [[0, 0, 0]], "histogram_bins": None}, {"backend": "opencv"}],
    ids=["fixed_colors", "opencv"],
)
def test_fits_with_many_colours_stay_within_memory(astronaut, params):
    # The brute-force search allocated 65,536 x K float64 scores per chunk:
    # 512 MB at K = 1024 (measured: 1051 MB -> 39 MB with fixed colours on
    # the full photo, 785 MB -> 11 MB with OpenCV).
    image = np.ascontiguousarray(astronaut[::2, ::2])
    tracemalloc.start()
    try:
        ColorQuantizer(1024, max_iter=2, random_state=0, **params).fit(image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, peak / 2**20
