"""transform maps without a label array and equals palette_[predict].

RGBA images go through one pass of the nearest-colour kernel with opacity
(``map_to_palette(alpha=...)``), dithered images through ``dither_map``:
neither builds the int32 label array of the image that predict returns.
"""

import tracemalloc

import numpy as np
import pytest

from skquant import ColorQuantizer


def rgba_of(photo):
    """``photo`` with an opacity ramp over its top quarter and a clear band."""
    height, width = photo.shape[:2]
    alpha = np.full((height, width, 1), 255, np.uint8)
    alpha[: height // 4, :, 0] = np.linspace(0, 255, width).astype(np.uint8)
    alpha[height // 3 : height // 3 + 20] = 0
    return np.concatenate([photo, alpha], axis=2)


def expected_map(q, X):
    """``palette_[predict(X)]``, clear pixels keeping their RGB if asked."""
    expected = q.palette_[q.predict(X)].astype(X.dtype)
    if q.keep_transparent_rgb:
        clear = X[..., 3] == 0
        expected[clear, :3] = X[clear, :3]
    return expected


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize(
    "params",
    [{}, {"color_space": "lab"}, {"channel_order": "bgr"}, {"n_colors": 300}],
)
def test_rgba_transform_equals_palette_of_predict(china, flower, keep, params):
    X = rgba_of(china)
    q = ColorQuantizer(
        **{"n_colors": 24, **params}, keep_transparent_rgb=keep, random_state=0
    ).fit(X[::2, ::2])
    assert q.palette_[-1].tolist() == [0, 0, 0, 0]  # the clear entry
    # a megapixel and more: opaque pixels go through the lookup table
    for image in (X, rgba_of(flower), np.tile(X, (2, 2, 1))):
        out = q.transform(image)
        assert out.dtype == image.dtype and out.shape == image.shape
        np.testing.assert_array_equal(out, expected_map(q, image))
    # clear pixels keep their own colour only when asked
    clear = X[..., 3] == 0
    out_rgb = q.transform(X)[clear, :3]
    if keep:
        np.testing.assert_array_equal(out_rgb, X[clear, :3])
    else:
        assert not out_rgb.any()
    # pixels (n, 4) and lists take the same path
    pixels = X.reshape(-1, 4)
    np.testing.assert_array_equal(q.transform(pixels), expected_map(q, pixels))
    listed = q.transform([X, X[:50]])
    np.testing.assert_array_equal(listed[1], expected_map(q, X[:50]))


@pytest.mark.parametrize("dither", ["floyd-steinberg", "atkinson", "bayer"])
@pytest.mark.parametrize("params", [{}, {"color_space": "oklab"}])
def test_dithered_transform_equals_palette_of_predict(china, coffee, dither, params):
    q = ColorQuantizer(16, dither=dither, random_state=0, **params).fit(china)
    batch = np.stack([china[:300, :400], coffee[:300, :400]])
    for X in (china, coffee, batch, china.reshape(-1, 3)):
        out = q.transform(X)
        assert out.dtype == X.dtype and out.shape == X.shape
        np.testing.assert_array_equal(out, q.palette_[q.predict(X)])
    listed = q.transform([china, coffee[:100]])
    np.testing.assert_array_equal(listed[1], q.palette_[q.predict(coffee[:100])])


def test_dithered_float_transform_equals_palette_of_predict(astronaut):
    X = astronaut[::2, ::2] / np.float32(255)
    q = ColorQuantizer(16, dither="floyd-steinberg", random_state=0).fit(X)
    out = q.transform(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, q.palette_[q.predict(X)])


def traced_peak(function, *args):
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_transform_builds_no_label_array(china):
    # The output is 1x the image; an int32 label array would add 0.5x for
    # RGBA uint16 and 4/3x for RGB uint8 (dithered). (uint16: no lookup table, whose
    # 16 MiB would dwarf a test image; the kernels' per-thread buffers are
    # 1 MiB each, under 0.03x of this 35 MB image.)
    rgba = np.tile(rgba_of(china).astype(np.uint16) * 257, (4, 4, 1))
    q = ColorQuantizer(32, random_state=0).fit(rgba[::8, ::8])
    # Compiled outside the measurement, on the image itself: a larger image
    # gets a finer search grid, whose refinement compiles on first use (with
    # an empty numba cache its compiler's objects, 9 MB, were traced).
    q.transform(rgba)
    assert traced_peak(q.transform, rgba) < 1.3 * rgba.nbytes
    # dithering: the target is 1.5x (fixed costs weigh on 4 MP)
    rgb = np.tile(china, (4, 4, 1))
    # (plain Floyd-Steinberg: the adaptive default adds a float32 dither
    # map of each band per thread, 0.4x this image on two threads)
    q = ColorQuantizer(
        32, dither="floyd-steinberg", dither_adaptive=False, random_state=0
    ).fit(china)
    q.transform(rgb)
    assert traced_peak(q.transform, rgb) < 1.5 * rgb.nbytes


def test_dithering_a_panorama_row_allocates_by_its_rows(china):
    # The per-thread label buffers and dither maps were band_rows (256) rows
    # of the image's width whatever its height: 2.1 kB a column for a strip
    # one row high (760x a uint8 row). What is left is per-column working
    # state: the carried error (48 bytes a column) and the map's running
    # sums (about 180 bytes a column).
    strip = np.ascontiguousarray(np.tile(china.reshape(-1, 3), (2, 1))[None])
    q = ColorQuantizer(16, dither="floyd-steinberg", random_state=0).fit(china)
    q.transform(strip)  # compiled outside the measurement
    width = strip.shape[1]
    assert traced_peak(q.transform, strip) < 300 * width
