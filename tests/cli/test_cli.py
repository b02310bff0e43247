"""The ``skquant`` command, run for real on image files written to tmp_path."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from skquant import ColorQuantizer, _cli
from skquant._cli import main
from skquant.io import read_image, read_palette, write_image, write_palette
from skquant.metrics import mean_delta_e, peak_signal_noise_ratio
from tests.io._formats import gif_structure

PALETTE_FORMATS = [".gpl", ".json", ".hex", ".txt", ".act"]


# =============================================================================
# Fixtures and helpers
# =============================================================================


@pytest.fixture(scope="module")
def small_photos(china, flower, astronaut, coffee):
    """Four real photographs, downscaled so that every run takes moments."""
    return {
        "china": china[::6, ::6],
        "flower": flower[::6, ::6],
        "astronaut": astronaut[::6, ::6],
        "coffee": coffee[::6, ::6],
    }


@pytest.fixture
def photo_dir(tmp_path, small_photos):
    """A folder of real photos in several formats, plus a file to ignore."""
    folder = tmp_path / "photos"
    folder.mkdir()
    write_image(folder / "china.png", small_photos["china"])
    write_image(folder / "flower.jpg", small_photos["flower"])
    write_image(folder / "astronaut.png", small_photos["astronaut"])
    (folder / "notes.txt").write_text("not an image\n")
    return folder


@pytest.fixture
def frames(tmp_path):
    """Frames of one size: a camera pan across the astronaut photo."""
    photo = data.astronaut()[::4, ::4]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(5):
        write_image(folder / f"frame{i:02d}.png", photo[8 * i : 8 * i + 64, :80])
    return folder


def run(argv, capsys):
    """Run the command in-process; return (status, stdout, stderr)."""
    status = main([os.fspath(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def files_in(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def p_palette(im):
    """A mode "P" image's colour table as (n, 3) uint8."""
    return np.array(im.getpalette(), dtype=np.uint8).reshape(-1, 3)


def gif_colour_tables(path):
    """(global table size, number of frames with a local table) of a GIF."""
    global_table, _, n_local = gif_structure(Path(path).read_bytes())
    return len(global_table) // 3, n_local


def no_temporary_files(folder):
    return [p for p in Path(folder).rglob("*") if p.name.endswith(".tmp")] == []


# =============================================================================
# One file
# =============================================================================


def test_single_file_gives_indexed_png(tmp_path, small_photos, capsys):
    photo = small_photos["china"]
    src = tmp_path / "china.jpg"
    write_image(src, photo)
    dst = tmp_path / "china_k8.png"
    status, out, err = run([src, "-k", "8", "-o", dst], capsys)
    assert (status, err) == (0, "")
    assert out.startswith(f"{src} -> {dst}: ")
    assert "K=8" in out
    with Image.open(dst) as im:
        assert im.mode == "P"
        colours = p_palette(im)
        labels = np.array(im)
    assert colours.shape == (8, 3)
    # Same image as the library gives, from the file the command read.
    expected = ColorQuantizer(8, random_state=0).fit_transform(read_image(src))
    assert np.array_equal(colours[labels], expected)


def test_rgb_formats_and_gif(tmp_path, small_photos, capsys):
    src = tmp_path / "flower.png"
    write_image(src, small_photos["flower"])
    status, _, err = run([src, "-k", "6", "-o", tmp_path / "flower.jpg"], capsys)
    assert (status, err) == (0, "")
    assert read_image(tmp_path / "flower.jpg").shape == small_photos["flower"].shape
    status, _, _ = run([src, "-k", "6", "-o", tmp_path / "flower.gif"], capsys)
    assert status == 0
    with Image.open(tmp_path / "flower.gif") as im:
        assert im.mode == "P"
        assert len(np.unique(np.array(im))) == 6


def test_16_bit_png_gives_indexed_png_unless_keep_16bit(tmp_path, small_photos, capsys):
    deep = small_photos["coffee"].astype(np.uint16) * 257 + 100
    src = tmp_path / "deep.png"
    write_image(src, deep)
    status, _, err = run([src, "-k", "8", "-o", tmp_path / "out.png"], capsys)
    assert (status, err) == (0, "")
    with Image.open(tmp_path / "out.png") as im:
        assert im.mode == "P" and p_palette(im).shape == (8, 3)
    # The palette entries are the 16-bit palette rounded to 8 bits.
    out = read_image(tmp_path / "out.png")
    deep_result = ColorQuantizer(8, random_state=0).fit_transform(deep)
    expected = ((deep_result.astype(np.uint32) + 128) // 257).astype(np.uint8)
    assert np.array_equal(out, expected)
    status, _, err = run(
        [src, "-k", "8", "--keep-16bit", "-o", tmp_path / "out16.png"], capsys
    )
    assert (status, err) == (0, "")
    out = read_image(tmp_path / "out16.png")
    assert out.dtype == np.uint16 and out.shape == deep.shape
    assert len(np.unique(out.reshape(-1, 3), axis=0)) == 8
    assert np.any(out % 257 != 0)  # real 16-bit values, not scaled 8-bit ones
    # A GIF has no 16-bit colours: indexed, 8 bits.
    status, _, _ = run([src, "-k", "8", "-o", tmp_path / "out.gif"], capsys)
    assert status == 0
    with Image.open(tmp_path / "out.gif") as im:
        assert im.mode == "P"


def test_transparency_is_kept_in_indexed_png(tmp_path, small_photos, capsys):
    rgba = np.dstack([small_photos["astronaut"], np.full((86, 86), 255, np.uint8)])
    rgba[:20, :, 3] = 0
    src = tmp_path / "cutout.png"
    write_image(src, rgba)
    status, _, err = run([src, "-k", "8", "-o", tmp_path / "out.png"], capsys)
    assert (status, err) == (0, "")
    with Image.open(tmp_path / "out.png") as im:
        assert im.mode == "P"
        assert "transparency" in im.info
    back = read_image(tmp_path / "out.png")
    assert back.shape[2] == 4
    assert np.all(back[:20, :, 3] == 0)
    assert np.all(back[20:, :, 3] == 255)


# =============================================================================
# Many files
# =============================================================================


def test_folder_to_folder(tmp_path, photo_dir, capsys):
    out_dir = tmp_path / "out"
    status, out, err = run([photo_dir, "-k", "4", "-o", f"{out_dir}/"], capsys)
    assert (status, err) == (0, "")
    assert files_in(out_dir) == ["astronaut.png", "china.png", "flower.png"]
    assert len(out.splitlines()) == 3  # notes.txt is not an image: skipped
    for name in files_in(out_dir):
        with Image.open(out_dir / name) as im:
            assert im.mode == "P" and len(p_palette(im)) == 4


def test_glob_with_name_pattern(tmp_path, photo_dir, capsys):
    pattern = tmp_path / "res" / "{index}_{stem}_{ext}_k{k}.gif"
    status, _, err = run([photo_dir / "*.png", "-k", "5", "-o", pattern], capsys)
    assert (status, err) == (0, "")
    assert files_in(tmp_path / "res") == [
        "0_astronaut_png_k5.gif",
        "1_china_png_k5.gif",
    ]


def test_output_collisions_are_usage_errors(tmp_path, photo_dir, capsys):
    write_image(tmp_path / "china.png", np.zeros((4, 4, 3), np.uint8))
    status, _, err = run(
        [photo_dir / "china.png", tmp_path / "china.png", "-o", tmp_path / "o/"],
        capsys,
    )
    assert status == 2
    assert "would both write" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
    status, _, err = run([photo_dir, "-o", tmp_path / "one.png"], capsys)
    assert status == 2
    assert "is one file but there are 3 inputs" in err


def test_parallel_jobs_give_the_same_files(tmp_path, photo_dir, capsys):
    status, _, _ = run([photo_dir, "-k", "6", "-o", tmp_path / "a/"], capsys)
    assert status == 0
    status, out, err = run(
        [photo_dir, "-k", "6", "-o", tmp_path / "b/", "--jobs", "2"], capsys
    )
    assert (status, err) == (0, "")
    assert len(out.splitlines()) == 3
    for name in files_in(tmp_path / "a"):
        assert np.array_equal(
            read_image(tmp_path / "a" / name), read_image(tmp_path / "b" / name)
        )


def test_progress_bar_on_a_terminal(tmp_path, photo_dir, capsys, monkeypatch):
    monkeypatch.setattr(_cli._report, "_isatty", lambda stream: True)
    status, out, err = run([photo_dir, "-k", "3", "-o", tmp_path / "o/"], capsys)
    assert status == 0
    assert "/3 [" in err and "image/s" in err  # tqdm
    assert len(out.splitlines()) == 3
    status, out, err = run(
        [photo_dir, "-k", "3", "-o", tmp_path / "q/", "--quiet"], capsys
    )
    assert (status, out, err) == (0, "", "")


# =============================================================================
# Shared palettes and animation
# =============================================================================


def test_shared_palette(tmp_path, photo_dir, capsys):
    status, _, err = run(
        [photo_dir, "-k", "8", "--shared-palette", "-o", tmp_path / "s/"], capsys
    )
    assert (status, err) == (0, "")
    tables = []
    for name in files_in(tmp_path / "s"):
        with Image.open(tmp_path / "s" / name) as im:
            assert im.mode == "P"
            tables.append(p_palette(im))
    assert len(tables) == 3
    assert all(np.array_equal(t, tables[0]) for t in tables)


def test_animate_writes_one_global_palette(tmp_path, frames, capsys, monkeypatch):
    # Pillow keeps later frames in mode "P" only when their palette is the
    # first frame's; by default it converts them to RGB anyway.
    from PIL import GifImagePlugin

    monkeypatch.setattr(
        GifImagePlugin,
        "LOADING_STRATEGY",
        GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY,
    )
    gif = tmp_path / "pan.gif"
    status, out, err = run(
        [frames, "-k", "16", "--animate", gif, "--duration", "80"], capsys
    )
    assert (status, err) == (0, "")
    assert f"5 frames -> {gif}" in out
    with Image.open(gif) as im:
        assert im.n_frames == 5
        assert im.info["duration"] == 80
        first = p_palette(im)
        for i in range(im.n_frames):
            im.seek(i)
            assert im.mode == "P"
            assert np.array_equal(p_palette(im), first)
    global_size, n_local = gif_colour_tables(gif)
    assert global_size == 16 and n_local == 0


def test_animate_refuses_frames_of_different_sizes(tmp_path, photo_dir, capsys):
    write_image(photo_dir / "tiny.png", np.zeros((5, 5, 3), np.uint8))
    status, _, err = run([photo_dir, "--animate", tmp_path / "a.gif"], capsys)
    assert status == 1
    assert "frames of one size" in err
    assert not (tmp_path / "a.gif").exists()


# =============================================================================
# Palette files
# =============================================================================


@pytest.mark.parametrize("ext", PALETTE_FORMATS)
def test_palette_round_trip(tmp_path, small_photos, capsys, ext):
    src = tmp_path / "china.png"
    write_image(src, small_photos["china"])
    pal = tmp_path / f"china{ext}"
    status, _, err = run(
        [src, "-k", "7", "-o", tmp_path / "q.png", "--save-palette", pal], capsys
    )
    assert (status, err) == (0, "")
    saved = read_palette(pal)
    with Image.open(tmp_path / "q.png") as im:
        assert np.array_equal(saved[:, :3], p_palette(im))

    # Map another photo onto exactly that palette, in its order.
    other = tmp_path / "coffee.png"
    write_image(other, small_photos["coffee"])
    status, out, err = run([other, "--palette", pal, "-o", tmp_path / "c.png"], capsys)
    assert (status, err) == (0, "")
    assert "K=7" in out
    with Image.open(tmp_path / "c.png") as im:
        assert np.array_equal(p_palette(im), saved[:, :3])


def test_save_palette_needs_a_pattern_for_many_palettes(tmp_path, photo_dir, capsys):
    status, _, err = run([photo_dir, "--save-palette", tmp_path / "p.gpl"], capsys)
    assert status == 2 and "pattern" in err
    status, _, err = run(
        [photo_dir, "-k", "3", "--save-palette", tmp_path / "{stem}.json"], capsys
    )
    assert (status, err) == (0, "")
    assert files_in(tmp_path) == [
        "astronaut.json",
        "china.json",
        "flower.json",
        "photos",
    ]


def test_keep_colors_come_first(tmp_path, small_photos, capsys):
    src = tmp_path / "flower.png"
    write_image(src, small_photos["flower"])
    keep = np.array([[255, 0, 255], [0, 255, 0]], dtype=np.uint8)
    write_palette(tmp_path / "keep.hex", keep)
    status, _, err = run(
        [
            src,
            "-k",
            "6",
            "--keep-colors",
            tmp_path / "keep.hex",
            "-o",
            tmp_path / "o.png",
        ],
        capsys,
    )
    assert (status, err) == (0, "")
    with Image.open(tmp_path / "o.png") as im:
        assert np.array_equal(p_palette(im)[:2], keep)


def test_bad_palette_file_is_a_usage_error(tmp_path, small_photos, capsys):
    src = tmp_path / "a.png"
    write_image(src, small_photos["china"])
    (tmp_path / "bad.gpl").write_text("not a palette\n")
    for palette, message in [
        (tmp_path / "bad.gpl", "GIMP Palette"),
        (tmp_path / "missing.json", "no such file"),
        (tmp_path / "pal.xyz", "unsupported palette file extension"),
    ]:
        status, _, err = run(
            [src, "--palette", palette, "-o", tmp_path / "o.png"], capsys
        )
        assert status == 2
        assert err.startswith("skquant: error: --palette") and message in err
    assert not (tmp_path / "o.png").exists()


# =============================================================================
# Options that pick or shape the palette
# =============================================================================


def test_stats_report(tmp_path, small_photos, capsys):
    src = tmp_path / "astronaut.png"
    write_image(src, small_photos["astronaut"])
    dst = tmp_path / "o.png"
    status, out, err = run([src, "-k", "12", "--stats", "-o", dst], capsys)
    assert (status, err) == (0, "")
    match = re.fullmatch(
        r".* -> .*: 86x86, K=12, PSNR ([\d.]+) dB, dE00 ([\d.]+), ([\d.]+) s, "
        r"stats ([\d.]+) s, (\d+) bytes\n",
        out,
    )
    assert match, out
    psnr, delta_e, seconds, stats_seconds, n_bytes = map(float, match.groups())
    assert n_bytes == dst.stat().st_size
    original, result = read_image(src), read_image(dst)
    assert psnr == pytest.approx(peak_signal_noise_ratio(original, result), abs=0.01)
    assert delta_e == pytest.approx(mean_delta_e(original, result), abs=0.01)
    assert seconds > 0 and stats_seconds > 0  # the metrics' time apart


def test_stats_alone_writes_nothing(tmp_path, photo_dir, capsys):
    before = sorted(p.name for p in tmp_path.rglob("*"))
    status, out, err = run([photo_dir, "-k", "4", "--stats"], capsys)
    assert (status, err) == (0, "")
    assert len(out.splitlines()) == 4 and out.splitlines()[-1].startswith("total: 3")
    stats = [float(s) for s in re.findall(r"stats ([\d.]+) s", out)]
    assert len(stats) == 4 and stats[-1] == pytest.approx(sum(stats[:3]), abs=0.002)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("space", ["lab", "oklab", "din99o"])
def test_colour_spaces_and_opencv(tmp_path, small_photos, capsys, space):
    src = tmp_path / "a.png"
    write_image(src, small_photos["coffee"])
    argv = [src, "-k", "5", "--color-space", space, "--backend", "opencv"]
    status, _, err = run(
        argv + ["--sample-size", "500", "-o", tmp_path / "o.png"], capsys
    )
    assert (status, err) == (0, "")
    with Image.open(tmp_path / "o.png") as im:
        assert len(p_palette(im)) == 5


@pytest.mark.skipif(
    "dither" not in ColorQuantizer().get_params(),
    reason="ColorQuantizer(dither=...) has not landed yet",
)
def test_dither(tmp_path, small_photos, capsys):
    src = tmp_path / "a.png"
    write_image(src, small_photos["china"])
    plain, dithered = tmp_path / "plain.png", tmp_path / "dithered.png"
    assert run([src, "-k", "4", "-o", plain], capsys)[0] == 0
    status, _, err = run(
        [src, "-k", "4", "--dither", "floyd-steinberg", "-o", dithered], capsys
    )
    assert (status, err) == (0, "")
    with Image.open(plain) as a, Image.open(dithered) as b:
        assert b.mode == "P"
        assert np.array_equal(p_palette(a), p_palette(b))
        assert not np.array_equal(np.array(a), np.array(b))


@pytest.mark.parametrize("dither", ["none", "floyd-steinberg", "bayer"])
def test_indexed_file_equals_the_estimators_transform(
    tmp_path, small_photos, capsys, dither
):
    # The command writes labels found a strip at a time (or dithered over
    # the whole image): the file must show exactly what transform gives.
    photo = small_photos["astronaut"]
    write_image(tmp_path / "a.png", photo)
    argv = [tmp_path / "a.png", "-k", "12", "--dither", dither, "--seed", "3"]
    assert run([*argv, "-o", tmp_path / "o.png"], capsys)[0] == 0
    quantizer = ColorQuantizer(12, dither=dither, random_state=3).fit(photo)
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == "P"
        shown = p_palette(im)[np.array(im)]
    assert np.array_equal(shown, quantizer.transform(photo))


def test_min_psnr_picks_k(tmp_path, small_photos, capsys):
    src = tmp_path / "a.png"
    write_image(src, small_photos["flower"])
    status, out, err = run(
        [src, "--min-psnr", "28", "--stats", "-o", tmp_path / "o_k{k}.png"], capsys
    )
    assert (status, err) == (0, "")
    k = int(re.search(r"K=(\d+)", out).group(1))
    assert (tmp_path / f"o_k{k}.png").exists()
    assert float(re.search(r"PSNR ([\d.]+)", out).group(1)) >= 28

    # An unreachable target: the largest K allowed, and a warning, not an error.
    status, out, err = run(
        [src, "--min-psnr", "90", "-k", "8", "-o", tmp_path / "max.png"], capsys
    )
    assert status == 0
    assert "K=8" in out
    assert err.startswith("skquant: warning: ") and "do not reach" in err


# =============================================================================
# Errors
# =============================================================================


def test_bad_inputs_fail_alone_and_leave_no_files(tmp_path, small_photos, capsys):
    good = tmp_path / "good.png"
    write_image(good, small_photos["china"])
    (tmp_path / "text.png").write_text("hello, not a PNG")
    (tmp_path / "empty.png").write_bytes(b"")
    out_dir = tmp_path / "out"
    status, out, err = run(
        [
            good,
            tmp_path / "missing.png",
            tmp_path / "text.png",
            tmp_path / "empty.png",
            f"{tmp_path}/nofolder/",
            tmp_path / "nothing*.png",
            "-o",
            f"{out_dir}/",
        ],
        capsys,
    )
    assert status == 1
    assert files_in(out_dir) == ["good.png"]
    assert out.count("\n") == 1
    errors = err.splitlines()
    assert all(line.startswith("skquant: error: ") for line in errors)
    assert len(errors) == 5
    assert "missing.png': no such file" in err
    assert "text.png': not a recognised image format" in err
    assert "empty.png': the file is empty" in err
    assert "nofolder/': no such folder" in err
    assert "no file matches" in err
    assert no_temporary_files(tmp_path)


def test_refuses_to_overwrite(tmp_path, small_photos, capsys):
    src = tmp_path / "a.png"
    write_image(src, small_photos["china"])
    original = src.read_bytes()
    status, _, err = run([src, "-o", src], capsys)
    assert status == 1
    assert (
        err
        == f"skquant: error: refusing to overwrite input '{src}' (use --overwrite)\n"
    )
    assert src.read_bytes() == original

    dst = tmp_path / "b.png"
    dst.write_bytes(b"keep me")
    status, _, err = run([src, "-o", dst], capsys)
    assert status == 1 and "already exists (use --overwrite)" in err
    assert dst.read_bytes() == b"keep me"

    status, _, err = run([src, "-k", "4", "-o", dst, "--overwrite"], capsys)
    assert (status, err) == (0, "")
    with Image.open(dst) as im:
        assert im.mode == "P"
    assert no_temporary_files(tmp_path)


def test_shared_palette_writes_nothing_when_an_input_fails(tmp_path, frames, capsys):
    (frames / "frame99.png").write_bytes(b"")
    status, _, err = run(
        [
            frames,
            "--shared-palette",
            "-o",
            tmp_path / "o/",
            "--animate",
            tmp_path / "a.gif",
        ],
        capsys,
    )
    assert status == 1
    assert "the file is empty" in err and "no file written" in err
    assert not (tmp_path / "a.gif").exists()
    assert not (tmp_path / "o").exists() or files_in(tmp_path / "o") == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-k", "0"], "expected a positive integer"),
        (["--dither", "random"], "invalid choice"),
        (["--color-space", "hsv"], "invalid choice"),
        (["--ext", ".gif", "-o", "o.png"], "--ext names the outputs"),
        (["--ext", "-small"], "not an image format"),
        (["-o", "out.xyz"], "not an image format"),
        (["-o", "{nope}.png"], "unknown field {nope}"),
        (["--animate", "out.png"], "must end in .gif"),
        (["--palette", "p.gpl", "-k", "4", "-o", "o.png"], "drop -k"),
    ],
)
def test_usage_errors(tmp_path, argv, message, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_image("in.png", np.zeros((4, 4, 3), np.uint8))
    status, out, err = run(["in.png", *argv], capsys)
    assert status == 2
    assert message in err and out == ""
    assert files_in(tmp_path) == ["in.png"]


def test_help_lists_exit_codes(capsys):
    status, out, _ = run(["--help"], capsys)
    assert status == 0
    assert "exit status:" in out and "usage error" in out
    assert "sample:NAME" in out


# =============================================================================
# The installed command
# =============================================================================


def test_installed_entry_point_and_python_m(tmp_path, small_photos):
    src = tmp_path / "coffee.png"
    write_image(src, small_photos["coffee"])
    command = Path(sys.executable).with_name("skquant")
    assert command.exists(), "skquant is not installed in this environment"
    done = subprocess.run(
        [command, src, "-k", "4", "-o", tmp_path / "o.gif", "--stats"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "K=4, PSNR" in done.stdout
    with Image.open(tmp_path / "o.gif") as im:
        assert im.mode == "P"
    done = subprocess.run(
        [sys.executable, "-m", "skquant", tmp_path / "missing.png", "-o", "x.png"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("skquant: error: cannot read")
