"""ICC-tagged inputs on the command line: the profile is kept (read back
with Pillow), the perceptual spaces cluster the colours converted to sRGB
by ImageCms, and what is done is said once per run."""

import io
import os

import numpy as np
import pytest
from PIL import Image, ImageCms

from skquant import quantize
from skquant._cli import main
from skquant.io import write_palette
from tests.io._profiles import WIDE_GAMUT

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
WIDE = ImageCms.ImageCmsProfile(io.BytesIO(WIDE_GAMUT))
INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC


def imagecms(rgb, source, target):
    im = ImageCms.profileToProfile(
        Image.fromarray(rgb), source, target, renderingIntent=INTENT
    )
    return np.asarray(im)


@pytest.fixture(scope="module")
def photo(china):
    return np.ascontiguousarray(china[::3, ::3])


@pytest.fixture
def tagged(tmp_path, photo):
    """A photo whose values are in a wide-gamut (Adobe RGB) space."""
    path = tmp_path / "wide.png"
    Image.fromarray(photo).save(path, icc_profile=WIDE_GAMUT)
    return path


def run(argv, capsys):
    status = main([os.fspath(a) for a in argv])
    return (status, *capsys.readouterr())


def read_back(path):
    with Image.open(path) as im:
        return np.array(im.convert("RGB")), im.info.get("icc_profile"), im.mode


@pytest.mark.parametrize("space", ["lab", "oklab"])
def test_perceptual_spaces_cluster_the_srgb_colours(
    tagged, tmp_path, photo, space, capsys
):
    out = tmp_path / "out.png"
    status, _, err = run([tagged, "-k", "8", "--color-space", space, "-o", out], capsys)
    assert status == 0
    pixels, icc, mode = read_back(out)
    assert icc == WIDE_GAMUT and mode == "P"
    # Oracle: ImageCms to sRGB, quantize there, ImageCms back.
    in_srgb = imagecms(photo, WIDE, SRGB)
    expected = imagecms(quantize(in_srgb, 8, color_space=space), SRGB, WIDE)
    np.testing.assert_array_equal(pixels, expected)
    # Not what clustering the file's own values gives.
    assert not np.array_equal(pixels, quantize(photo, 8, color_space=space))
    assert err.count("skquant: note: ICC:") == 1
    assert "converted to sRGB with Pillow's ImageCms" in err
    assert "converted back into the input's space and the profile is kept" in err


def test_rgb_clusters_the_files_own_values_and_keeps_the_profile(
    tagged, tmp_path, photo, capsys
):
    out = tmp_path / "out.jpg"
    status, _, err = run([tagged, "-k", "8", "-o", out], capsys)
    assert status == 0
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == WIDE_GAMUT
    out = tmp_path / "out.png"
    assert run([tagged, "-k", "8", "-o", out], capsys)[0] == 0
    pixels, icc, _ = read_back(out)
    assert icc == WIDE_GAMUT
    np.testing.assert_array_equal(pixels, quantize(photo, 8))
    assert "its own RGB values are clustered" in err


@pytest.mark.parametrize(
    "how", [["--strip", "-o", "{tmp}/out.png"], ["-o", "{tmp}/out.gif"]]
)
def test_without_the_profile_the_output_is_srgb(tagged, tmp_path, photo, how, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in how]
    status, _, err = run([tagged, "-k", "8", "--color-space", "lab", *argv], capsys)
    assert status == 0
    pixels, icc, _ = read_back(argv[-1])
    assert icc is None
    expected = quantize(imagecms(photo, WIDE, SRGB), 8, color_space="lab")
    np.testing.assert_array_equal(pixels, expected)
    assert "written as sRGB without the profile" in err


def test_note_said_once_and_not_for_srgb_profiles(tmp_path, photo, capsys):
    for name in ("a.png", "b.png"):
        Image.fromarray(photo).save(tmp_path / name, icc_profile=WIDE_GAMUT)
    Image.fromarray(photo).save(tmp_path / "c.png", icc_profile=SRGB.tobytes())
    status, _, err = run(
        [tmp_path / "a.png", tmp_path / "b.png", "-k", "4", "-o", tmp_path / "o/"],
        capsys,
    )
    assert status == 0 and err.count("skquant: note:") == 1
    status, _, err = run([tmp_path / "c.png", "-k", "4", "-q"], capsys)
    assert (status, err) == (0, "")
    status, _, err = run(
        [tmp_path / "c.png", "-k", "4", "-o", tmp_path / "x.png"], capsys
    )
    assert status == 0 and "note" not in err
    assert read_back(tmp_path / "x.png")[1] == SRGB.tobytes()


def test_a_profile_of_other_data_is_dropped(tmp_path, photo, capsys):
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    src = tmp_path / "lab.png"
    Image.fromarray(photo).save(src, icc_profile=lab)
    status, _, err = run([src, "-k", "4", "-o", tmp_path / "out.png"], capsys)
    assert status == 0
    assert read_back(tmp_path / "out.png")[1] is None
    assert "does not describe RGB data: the profile is dropped" in err


def test_shared_palette_converts_tagged_inputs_to_srgb(tmp_path, photo, capsys):
    Image.fromarray(photo).save(tmp_path / "a.png", icc_profile=WIDE_GAMUT)
    Image.fromarray(photo).save(tmp_path / "b.png")
    argv = [tmp_path / "a.png", tmp_path / "b.png", "--shared-palette", "-k", "8"]
    status, _, err = run([*argv, "-o", tmp_path / "o/"], capsys)
    assert status == 0 and "written as sRGB without the profile" in err
    a, icc, _ = read_back(tmp_path / "o" / "a.png")
    b = read_back(tmp_path / "o" / "b.png")[0]
    assert icc is None
    expected = quantize([imagecms(photo, WIDE, SRGB), photo], 8)
    np.testing.assert_array_equal(a, expected[0])
    np.testing.assert_array_equal(b, expected[1])


def test_given_colours_are_srgb(tagged, tmp_path, photo, capsys):
    # --palette colours are sRGB: a wide-gamut input is matched with them
    # in sRGB, and the palette written back in the input's space.
    palette = np.array(
        [[200, 30, 30], [30, 160, 60], [40, 60, 200], [240, 240, 230], [20, 20, 20]],
        np.uint8,
    )
    write_palette(tmp_path / "p.gpl", palette)
    out = tmp_path / "out.png"
    argv = [tagged, "--palette", tmp_path / "p.gpl", "-o", out]
    status, _, err = run(argv, capsys)
    assert status == 0 and "matched with the given sRGB colours" in err
    pixels, icc, _ = read_back(out)
    assert icc == WIDE_GAMUT
    in_srgb = imagecms(photo, WIDE, SRGB)
    expected = imagecms(quantize(in_srgb, 5, palette=palette), SRGB, WIDE)
    np.testing.assert_array_equal(pixels, expected)


def test_remap_image_colours_are_converted_to_srgb(tmp_path, photo, capsys):
    colours = np.array([[250, 20, 20], [20, 250, 20], [20, 20, 250], [128] * 3])
    swatch = np.repeat(colours.astype(np.uint8)[np.newaxis], 4, axis=0)
    Image.fromarray(swatch).save(tmp_path / "swatch.png", icc_profile=WIDE_GAMUT)
    Image.fromarray(photo).save(tmp_path / "plain.png")
    out = tmp_path / "out.png"
    argv = [tmp_path / "plain.png", "--remap", tmp_path / "swatch.png", "-o", out]
    assert run(argv, capsys)[0] == 0
    in_srgb = imagecms(swatch, WIDE, SRGB)[0]
    used = np.unique(read_back(out)[0].reshape(-1, 3), axis=0)
    assert {tuple(c) for c in used} <= {tuple(c) for c in in_srgb}
    assert not {tuple(c) for c in used} & {tuple(c) for c in colours[:3]}


def test_shared_palette_with_jobs_converts_images_read_ahead(tmp_path, photo, capsys):
    # Six inputs on two threads: the last two are read ahead by the calling
    # thread (not converted yet), and still converted to sRGB.
    for i in range(6):
        profile = {"icc_profile": WIDE_GAMUT} if i % 2 else {}
        Image.fromarray(np.roll(photo, 7 * i, axis=1)).save(
            tmp_path / f"{i}.png", **profile
        )
    inputs = [tmp_path / f"{i}.png" for i in range(6)]
    argv = [*inputs, "--shared-palette", "-k", "8"]
    assert run([*argv, "-o", tmp_path / "serial/"], capsys)[0] == 0
    assert run([*argv, "-o", tmp_path / "jobs/", "-j", "2"], capsys)[0] == 0
    for i in range(6):
        serial = read_back(tmp_path / "serial" / f"{i}.png")[0]
        np.testing.assert_array_equal(
            read_back(tmp_path / "jobs" / f"{i}.png")[0], serial
        )
