"""Files as small as the quantization allows: indexed PNG/GIF from
write_image, quantize_files and the command line, 16-bit inputs included."""

import io
import os

import numpy as np
import pytest
from PIL import Image, ImageCms

from skquant import ColorQuantizer
from skquant._cli import main
from skquant._files import quantize_files
from skquant.io import read_image, write_image
from tests.io._profiles import WIDE_GAMUT


@pytest.fixture(scope="module")
def photo16(china):
    """A real photo converted to 16 bits, with real 16-bit values."""
    return china.astype(np.uint16) * 257 + np.uint16(37)


def mode_of(path):
    with Image.open(path) as im:
        return im.mode


@pytest.mark.parametrize("ext", [".png", ".gif"])
def test_write_image_writes_few_colours_as_indexed(tmp_path, astronaut, ext):
    quantized = ColorQuantizer(32, random_state=0).fit_transform(astronaut)
    write_image(tmp_path / f"q{ext}", quantized)
    write_image(tmp_path / "truecolour.bmp", quantized)
    assert mode_of(tmp_path / f"q{ext}") == "P"
    assert np.array_equal(read_image(tmp_path / f"q{ext}"), quantized)
    # A photo of many colours stays truecolour.
    write_image(tmp_path / f"photo{ext}", astronaut)
    assert mode_of(tmp_path / f"photo{ext}") != "P" or ext == ".gif"


def test_write_image_indexed_png_keeps_alpha_and_shape(tmp_path, astronaut):
    quantized = ColorQuantizer(16, random_state=0).fit_transform(astronaut)
    alpha = np.where(quantized[:, :, 0] > 128, 255, 0).astype(np.uint8)
    rgba = np.dstack([quantized, alpha])
    write_image(tmp_path / "a.png", rgba)
    assert mode_of(tmp_path / "a.png") == "P"
    assert np.array_equal(read_image(tmp_path / "a.png"), rgba)
    opaque = np.dstack([quantized, np.full_like(alpha, 255)])
    write_image(tmp_path / "o.png", opaque)  # stays RGBA: reads back as RGBA
    assert np.array_equal(read_image(tmp_path / "o.png"), opaque)


def test_indexed_from_16_bit_is_smaller(tmp_path, photo16, capsys):
    """The issue's target: smaller than the 16-bit input and than an 8-bit
    truecolour PNG of the same quantized image."""
    src = tmp_path / "deep.png"
    write_image(src, photo16)
    dst = tmp_path / "deep16.png"
    assert main([os.fspath(src), "-k", "16", "-o", os.fspath(dst)]) == 0
    out, _ = capsys.readouterr()
    assert mode_of(dst) == "P"
    result = read_image(dst)
    truecolour = tmp_path / "truecolour.png"
    Image.fromarray(result).save(truecolour)
    assert mode_of(truecolour) == "RGB"
    size = dst.stat().st_size
    assert out.endswith(f", {size} bytes\n")
    assert size < src.stat().st_size / 10
    assert size < truecolour.stat().st_size
    assert len(np.unique(result.reshape(-1, 3), axis=0)) == 16


def test_more_than_256_colours_says_truecolour(tmp_path, astronaut, capsys):
    src = tmp_path / "a.png"
    write_image(src, astronaut[::2, ::2])
    status = main([os.fspath(src), "-k", "300", "-o", os.fspath(tmp_path / "o.png")])
    _, err = capsys.readouterr()
    assert status == 0
    assert "K=300 is more than the 256 colours of an indexed PNG" in err
    assert mode_of(tmp_path / "o.png") == "RGB"


def test_quantize_files_matches_command_line(tmp_path, photo16, capsys):
    src = tmp_path / "in"
    src.mkdir()
    write_image(src / "deep.png", photo16[::2, ::2])
    quantizer, written = quantize_files(
        [src / "deep.png"],
        tmp_path / "out",
        n_colors=8,
        random_state=0,
        progress=False,
    )
    assert mode_of(written[0]) == "P"
    labels = quantizer.predict(read_image(src / "deep.png"))
    with Image.open(written[0]) as im:
        assert np.array_equal(np.array(im), labels)
        palette = np.array(im.getpalette(), np.uint8).reshape(-1, 3)
    expected = ((quantizer.palette_.astype(np.uint32) + 128) // 257).astype(np.uint8)
    assert np.array_equal(palette, expected)


def test_quantize_files_refuses_existing_outputs_by_default(tmp_path, astronaut):
    write_image(tmp_path / "a.png", astronaut[::4, ::4])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match=r"out/a.png' already exists"):
        quantize_files([tmp_path / "a.png"], tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "a.png").read_bytes() == b"keep me"
    quantize_files(
        [tmp_path / "a.png"], tmp_path / "out", overwrite=True, progress=False
    )
    assert mode_of(tmp_path / "out" / "a.png") == "P"


def test_quantize_files_converts_tagged_inputs_to_srgb(tmp_path, china):
    photo = np.ascontiguousarray(china[::2, ::2])
    Image.fromarray(photo).save(tmp_path / "wide.png", icc_profile=WIDE_GAMUT)
    Image.fromarray(photo).save(tmp_path / "plain.png")
    paths = [tmp_path / "wide.png", tmp_path / "plain.png"]
    quantizer, written = quantize_files(
        paths, tmp_path / "out", n_colors=8, random_state=0, progress=False
    )
    in_srgb = ImageCms.profileToProfile(
        Image.fromarray(photo),
        ImageCms.ImageCmsProfile(io.BytesIO(WIDE_GAMUT)),
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    wide_out = read_image(written[0])
    np.testing.assert_array_equal(wide_out, quantizer.transform(np.asarray(in_srgb)))
    np.testing.assert_array_equal(read_image(written[1]), quantizer.transform(photo))
    assert not np.array_equal(wide_out, quantizer.transform(photo))
    with Image.open(written[0]) as im:
        assert "icc_profile" not in im.info
