"""pngquant's habits, with pngquant's meanings: stdin/stdout, the output
next to the input (--ext), --skip-if-larger (status 98), --quality MIN-MAX
(status 99), --force, --strip, --posterize, a bare colour count."""

import io
import os
import sys

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from skquant import quantize
from skquant._cli import main
from skquant.io import read_palette, write_image
from skquant.metrics import peak_signal_noise_ratio


@pytest.fixture(scope="module")
def photo(astronaut):
    return astronaut[::4, ::4]


@pytest.fixture
def src(tmp_path, photo):
    path = tmp_path / "photo.png"
    write_image(path, photo)
    return path


def run(argv, capsys):
    status = main([os.fspath(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def decoded(path):
    """The RGB pixels of an output file and its Pillow mode."""
    with Image.open(path) as im:
        return np.array(im.convert("RGB")), im.mode


def test_stdin_to_stdout_gives_only_png_bytes(src, photo, monkeypatch, capsysbinary):
    data = src.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status = main(["-", "-k", "8", "-o", "-"])
    out, err = capsysbinary.readouterr()
    assert status == 0
    with Image.open(io.BytesIO(out)) as im:
        assert im.format == "PNG" and im.mode == "P"
        pixels = np.array(im.convert("RGB"))
    # Nothing but the file on stdout: its PNG stream ends with IEND.
    assert out.startswith(b"\x89PNG") and out.endswith(b"IEND\xaeB`\x82")
    assert b"stdin -> stdout" in err
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) == 8
    assert peak_signal_noise_ratio(photo, pixels) > 20


def test_stdin_alone_goes_to_stdout_and_empty_stdin_is_named(
    src, monkeypatch, capsysbinary
):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(src.read_bytes())))
    assert main(["-", "-k", "4"]) == 0
    out, _ = capsysbinary.readouterr()
    assert out.startswith(b"\x89PNG")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["-", "-k", "4"]) == 1
    out, err = capsysbinary.readouterr()
    assert out == b"" and b"'stdin': the file is empty" in err


def test_stdout_takes_one_input(src, tmp_path, photo, capsys):
    write_image(tmp_path / "b.png", photo)
    status, out, err = run([src, tmp_path / "b.png", "-o", "-"], capsys)
    assert status == 2 and "-o - writes one image to stdout" in err


def test_default_output_next_to_input(src, tmp_path, capsys):
    status, out, err = run([src, "-k", "4"], capsys)
    assert (status, err) == (0, "")
    assert sorted(os.listdir(tmp_path)) == ["photo-or8.png", "photo.png"]
    pixels, mode = decoded(tmp_path / "photo-or8.png")
    assert mode == "P" and len(np.unique(pixels.reshape(-1, 3), axis=0)) == 4
    status, _, _ = run([src, "-k", "4", "--dither", "floyd-steinberg"], capsys)
    assert status == 0 and (tmp_path / "photo-fs8.png").exists()
    # An existing default output is kept without --force, replaced with -f.
    status, _, err = run([src, "-k", "6"], capsys)
    assert status == 1 and "'photo-or8.png' already exists" in err.replace(
        os.fspath(tmp_path) + os.sep, ""
    )
    assert run([src, "-k", "6", "-f"], capsys)[0] == 0
    pixels, _ = decoded(tmp_path / "photo-or8.png")
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) == 6


def test_ext_takes_a_suffix_starting_with_a_dash(src, tmp_path, capsys):
    status, _, err = run([src, "-k", "4", "--ext", "-small.gif"], capsys)
    assert (status, err) == (0, "")
    assert decoded(tmp_path / "photo-small.gif")[1] == "P"


def test_ext_png_with_force_replaces_the_input(src, tmp_path, capsys):
    before = src.read_bytes()
    status, _, err = run([src, "-k", "4", "--ext", ".png"], capsys)
    assert status == 1 and "refusing to overwrite input" in err
    assert src.read_bytes() == before
    status, _, err = run([src, "-k", "4", "--ext", ".png", "--force"], capsys)
    assert (status, err) == (0, "")
    assert os.listdir(tmp_path) == ["photo.png"]
    assert decoded(src)[1] == "P"
    status, _, err = run([src, "--ext", ".png", "-o", "x.png"], capsys)
    assert status == 2 and "--ext" in err


def test_skip_if_larger_writes_nothing_and_exits_98(tmp_path, photo, capsys):
    small = tmp_path / "small.jpg"
    Image.fromarray(photo).save(small, quality=5)
    status, _, err = run([small, "-k", "256", "--skip-if-larger"], capsys)
    assert status == 98
    assert "is larger than the input" in err and "not written" in err
    assert os.listdir(tmp_path) == ["small.jpg"]
    # Without the option the larger file is written.
    assert run([small, "-k", "256"], capsys)[0] == 0
    out = tmp_path / "small-or8.png"
    assert out.stat().st_size > small.stat().st_size


def test_skip_if_larger_writes_no_palette_when_it_skips(tmp_path, photo, capsys):
    small = tmp_path / "small.jpg"
    Image.fromarray(photo).save(small, quality=5)
    palette = tmp_path / "small.gpl"
    argv = [small, "-k", "256", "--skip-if-larger", "--ext", "-q.png"]
    status, _, err = run([*argv, "--save-palette", palette], capsys)
    assert status == 98 and "not written (--skip-if-larger)" in err
    assert os.listdir(tmp_path) == ["small.jpg"]
    # A result that is written gets its palette too.
    status, _, _ = run([small, "-k", "4", "--save-palette", palette], capsys)
    assert status == 0 and len(read_palette(palette)) == 4


def test_skip_if_larger_keeps_smaller_results(tmp_path, photo, capsys):
    big = tmp_path / "big.png"
    Image.fromarray(photo).save(big, compress_level=0)
    status, _, err = run([big, "-k", "8", "--skip-if-larger"], capsys)
    assert (status, err) == (0, "")
    assert (tmp_path / "big-or8.png").stat().st_size < big.stat().st_size


def test_quality_reaches_max_with_the_fewest_colours(src, tmp_path, photo, capsys):
    # Quality 75 is 30 dB of PSNR (0.4 dB per point).
    status, _, err = run([src, "--quality", "50-75", "-o", tmp_path / "q.png"], capsys)
    assert (status, err) == (0, "")
    pixels, mode = decoded(tmp_path / "q.png")
    k = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert mode == "P" and 1 < k < 256
    assert peak_signal_noise_ratio(photo, pixels) >= 30
    status, _, _ = run(
        [src, "--quality", "50-75", "-k", str(k - 1), "-o", tmp_path / "r.png"],
        capsys,
    )
    assert status == 0  # MAX unreached with fewer colours, MIN is
    assert peak_signal_noise_ratio(photo, decoded(tmp_path / "r.png")[0]) < 30


def test_quality_below_min_writes_nothing_and_exits_99(src, tmp_path, capsys):
    status, _, err = run([src, "-k", "2", "--quality", "90-100"], capsys)
    assert status == 99
    assert "below the --quality minimum 90 (36 dB); not written" in err
    assert "do not reach the target (--quality MAX 100)" in err
    assert "--min-psnr" not in err
    assert os.listdir(tmp_path) == ["photo.png"]


@pytest.mark.parametrize(
    "value, message",
    [("80-60", "MIN must not exceed MAX"), ("101", "0-100"), ("a-b", "MIN-MAX")],
)
def test_quality_values(src, value, message, capsys):
    status, _, err = run([src, "--quality", value], capsys)
    assert status == 2 and message in err


def test_quality_refuses_other_targets(src, capsys):
    status, _, err = run([src, "--quality", "60-80", "--min-psnr", "30"], capsys)
    assert status == 2 and "drop --min-psnr" in err


def tagged_png(path, photo):
    """A PNG with an ICC profile, a text chunk and a resolution."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "skquant tests")
    Image.fromarray(photo).save(path, icc_profile=icc, pnginfo=info, dpi=(300, 300))
    return icc


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif"])
def test_metadata_kept_unless_strip(tmp_path, photo, ext, capsys):
    src = tmp_path / "tagged.png"
    icc = tagged_png(src, photo)
    assert run([src, "-k", "8", "-o", tmp_path / f"kept{ext}"], capsys)[0] == 0
    with Image.open(tmp_path / f"kept{ext}") as im:
        assert im.info.get("icc_profile") == icc
        assert tuple(round(v) for v in im.info["dpi"]) == (300, 300)
        if ext == ".png":
            assert im.mode == "P" and im.info["Author"] == "skquant tests"
    status = run([src, "-k", "8", "--strip", "-o", tmp_path / f"bare{ext}"], capsys)
    assert status[0] == 0
    with Image.open(tmp_path / f"bare{ext}") as im:
        assert "icc_profile" not in im.info and "Author" not in im.info


def test_posterize_drops_low_bits(src, tmp_path, photo, capsys):
    dst = tmp_path / "p.png"
    assert run([src, "-k", "16", "--posterize", "4", "-o", dst], capsys)[0] == 0
    with Image.open(dst) as im:
        labels = np.array(im)
        palette = np.array(im.getpalette(), np.uint8).reshape(-1, 3)
    assert np.all(palette % 17 == 0)  # 4 bits kept: 16 levels, 0, 17, ..., 255
    # Each pixel takes its nearest posterized colour.
    rgb = photo.astype(float)
    dist = ((rgb[:, :, None, :] - palette[None, None].astype(float)) ** 2).sum(-1)
    best = dist.min(axis=2)
    assert np.allclose(
        dist[np.arange(labels.shape[0])[:, None], np.arange(labels.shape[1]), labels],
        best,
    )
    status, _, err = run([src, "--posterize", "8"], capsys)
    assert status == 2 and "0-7" in err


def test_bare_number_suggests_k(src, capsys):
    status, out, err = run([src, "16"], capsys)
    assert status == 2 and out == ""
    assert "'16' is not a file; for 16 colours use -k 16" in err


def test_help_shows_common_options_first(capsys):
    status, out, _ = run(["--help"], capsys)
    assert status == 0
    common = out.index("common options:")
    assert common < out.index("palette:") < out.index("run:")
    section = out[common : out.index("palette:")]
    for option in ("-k", "-o", "--quality", "--force", "--ext", "--skip-if-larger"):
        assert option in section
    assert "98" in out and "99" in out


def nearest_labels(image, palette):
    """The index of the nearest palette colour (squared RGB distance)."""
    diff = image[:, :, None, :3].astype(float) - palette[None, None, :, :3]
    return (diff**2).sum(-1).argmin(axis=2)


def test_remap_takes_the_colours_of_an_indexed_image(src, tmp_path, photo, capsys):
    palette = np.array(
        [[0, 0, 0], [255, 255, 255], [200, 30, 30], [30, 30, 200], [90, 140, 60]],
        np.uint8,
    )
    labels = np.arange(40 * 30).reshape(40, 30) % len(palette)
    write_image(tmp_path / "swatch.png", palette[labels])
    dst = tmp_path / "r.png"
    assert run([src, "--remap", tmp_path / "swatch.png", "-o", dst], capsys)[0] == 0
    with Image.open(dst) as im:
        assert im.mode == "P"
        table = np.array(im.getpalette(), np.uint8).reshape(-1, 3)
        labels = np.array(im)
    # Exactly the swatch's colours; each pixel on the nearest (the first of
    # the file's table on an exact tie).
    assert sorted(map(tuple, table)) == sorted(map(tuple, palette))
    assert np.array_equal(labels, nearest_labels(photo, table))


def test_remap_learns_from_a_photo(src, tmp_path, photo, coffee, capsys):
    from skquant import ColorQuantizer

    write_image(tmp_path / "coffee.png", coffee)
    dst = tmp_path / "r.png"
    argv = [src, "--remap", tmp_path / "coffee.png", "-k", "12", "-o", dst]
    assert run(argv, capsys)[0] == 0
    palette = ColorQuantizer(12, random_state=0).fit(coffee).palette_
    pixels, _ = decoded(dst)
    assert np.array_equal(pixels, palette[nearest_labels(photo, palette)])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--palette", "p.gpl"], "--remap picks the colours; drop --palette"),
        (["--quality", "50-80"], "drop --quality"),
    ],
)
def test_remap_conflicts(src, tmp_path, extra, message, capsys):
    write_image(tmp_path / "s.png", np.zeros((2, 2, 3), np.uint8))
    status, _, err = run([src, "--remap", tmp_path / "s.png", *extra], capsys)
    assert status == 2 and message in err


def test_remap_unreadable_is_a_usage_error(src, tmp_path, capsys):
    status, _, err = run([src, "--remap", tmp_path / "nope.png"], capsys)
    assert status == 2 and "--remap" in err and "no such file" in err
    assert os.listdir(tmp_path) == ["photo.png"]


def test_speed_sets_the_documented_parameters(src, tmp_path, photo, capsys):
    outputs = {}
    for speed in (None, "4", "1", "11"):
        out = tmp_path / f"s{speed}.png"
        argv = [src, "-k", "8", "-o", out] + (["--speed", speed] if speed else [])
        assert run(argv, capsys)[0] == 0
        outputs[speed] = decoded(out)[0]
    np.testing.assert_array_equal(outputs["4"], outputs[None])  # the default
    np.testing.assert_array_equal(outputs["1"], quantize(photo, 8, n_init=8, tol=1e-5))
    np.testing.assert_array_equal(
        outputs["11"], quantize(photo, 8, histogram_bins=12, max_iter=5, tol=1e-2)
    )


def test_slower_speeds_fit_better(tmp_path, small_photos, capsys):
    psnr = {}
    for speed in ("1", "11"):
        values = []
        for i, photo in enumerate(small_photos):
            write_image(tmp_path / f"{i}.png", photo)
            out = tmp_path / f"{i}_{speed}.png"
            argv = [tmp_path / f"{i}.png", "-k", "16", "--speed", speed, "-o", out]
            assert run(argv, capsys)[0] == 0
            values.append(peak_signal_noise_ratio(photo, decoded(out)[0]))
        psnr[speed] = np.mean(values)
    assert psnr["1"] > psnr["11"] + 0.1


@pytest.mark.parametrize("value", ["0", "12", "fast"])
def test_speed_values(src, value, capsys):
    status, _, err = run([src, "--speed", value], capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("skquant: error:") and "1 (slowest, best) to 11" in err
