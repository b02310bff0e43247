"""pngquant's dithering options: --floyd[=STRENGTH], --nofs, --ordered."""

import os

import numpy as np
import pytest
from PIL import Image

from skquant import quantize
from skquant._cli import main
from skquant.io import write_image


@pytest.fixture(scope="module")
def photo(astronaut):
    return np.ascontiguousarray(astronaut[::4, ::4])


@pytest.fixture
def src(tmp_path, photo):
    path = tmp_path / "photo.png"
    write_image(path, photo)
    return path


def pixels(path):
    with Image.open(path) as im:
        return np.array(im.convert("RGB"))


@pytest.mark.parametrize(
    ("options", "params"),
    [
        (["--floyd"], {"dither": "floyd-steinberg"}),
        (["--floyd=0.5"], {"dither": "floyd-steinberg", "dither_strength": 0.5}),
        (["--dither", "atkinson", "--floyd=0.3"],
         {"dither": "atkinson", "dither_strength": 0.3}),
        (["--floyd", "--nofs"], {}),
        (["--ordered"], {"dither": "bayer"}),
        (["--floyd", "--plain-dither"],
         {"dither": "floyd-steinberg", "dither_adaptive": False}),
        (["--dither", "atkinson", "--plain-dither"],
         {"dither": "atkinson", "dither_adaptive": False}),
    ],
)  # fmt: skip
def test_pngquant_dither_options(tmp_path, src, photo, options, params, capsys):
    out = tmp_path / "out.png"
    # a bare --floyd before the input does not take the input as its value
    status = main([*options, os.fspath(src), "-k", "8", "-o", os.fspath(out)])
    assert status == 0, capsys.readouterr().err
    np.testing.assert_array_equal(pixels(out), quantize(photo, 8, **params))


def test_floyd_default_suffix_and_bad_strength(tmp_path, src, capsys):
    assert main(["--floyd=0.7", os.fspath(src), "-k", "4"]) == 0
    assert (tmp_path / "photo-fs8.png").exists()
    status = main([os.fspath(src), "--floyd=1.5", "-o", os.fspath(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert status != 0
    assert "1.5" in err and "--floyd" in err


def test_plain_dither_differs_from_the_calm_default(tmp_path, src, capsys):
    """--plain-dither is skquant 0.5's Floyd-Steinberg: noisier on flat areas
    than the default, so the two files differ."""
    calm, plain = tmp_path / "calm.png", tmp_path / "plain.png"
    assert main([os.fspath(src), "-k", "32", "--floyd", "-o", os.fspath(calm)]) == 0
    options = ["-k", "32", "--floyd", "--plain-dither", "-o", os.fspath(plain)]
    assert main([os.fspath(src), *options]) == 0, capsys.readouterr().err
    assert (pixels(calm) != pixels(plain)).any(axis=-1).mean() > 0.01
