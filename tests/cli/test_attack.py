"""Issue 12's attack on the command line, rerun: no traceback (every failure
is one ``skquant: error:`` line and a non-zero exit), no file lost or replaced
without --overwrite, no hang."""

import errno
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio as skimage_psnr

import skquant._cli as cli
import skquant.io
from skquant._cli import main
from skquant.io import read_image, write_image


@pytest.fixture
def two_photos(tmp_path, china, astronaut):
    """Two different real photos of one size, named 1.png and 0.png."""
    photos = china[::8, ::8][:, :64], astronaut[::8, ::8][:54]
    write_image(tmp_path / "1.png", photos[0])
    write_image(tmp_path / "0.png", photos[1])
    return photos


def run(argv, capfd):
    """Run the command in-process; return (status, stdout lines, stderr lines)."""
    status = main([os.fspath(a) for a in argv])
    out, err = capfd.readouterr()
    return status, out.splitlines(), err.splitlines()


def one_error_line(err, status, *, code=None):
    """Every failure: one 'skquant: error:' line, a non-zero exit, no traceback."""
    assert status != 0 if code is None else status == code
    assert len(err) == 1, err
    assert err[0].startswith("skquant: error: ")
    assert "Traceback" not in err[0]
    return err[0]


def closeness(path, photo):
    """PSNR of a written result against a photo (higher: it came from it)."""
    return skimage_psnr(photo, read_image(path, mode="rgb"), data_range=255)


# =============================================================================
# No file lost
# =============================================================================


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_output_that_is_a_later_input_is_read_first(tmp_path, two_photos, capfd, jobs):
    china, astronaut = two_photos
    argv = [tmp_path / "1.png", tmp_path / "0.png", "-k", "8", "--overwrite"]
    status, out, err = run(argv + ["-o", tmp_path / "{index}.png", "-j", jobs], capfd)
    assert status == 0, err
    # 1.png (china) -> 0.png and 0.png (astronaut) -> 1.png: both survive.
    assert closeness(tmp_path / "0.png", china) > 20
    assert closeness(tmp_path / "1.png", astronaut) > 20
    assert closeness(tmp_path / "1.png", china) < 15


def test_output_pattern_with_k_that_names_a_later_input(tmp_path, china, capfd):
    write_image(tmp_path / "p.png", china[::8, ::8])
    write_image(tmp_path / "0_8.png", china[::8, ::8][::-1])
    argv = [tmp_path / "p.png", tmp_path / "0_8.png", "-k", "8", "--overwrite"]
    status, out, err = run(argv + ["-o", tmp_path / "{index}_{k}.png"], capfd)
    assert status == 0, err
    flipped = read_image(tmp_path / "1_8.png", mode="rgb")
    assert skimage_psnr(china[::8, ::8][::-1], flipped, data_range=255) > 20


def test_shared_palette_reads_an_input_before_replacing_it(tmp_path, two_photos, capfd):
    china, astronaut = two_photos
    argv = [tmp_path / "1.png", tmp_path / "0.png", "-k", "16", "--overwrite"]
    argv += ["--shared-palette", "-o", tmp_path / "{index}.png"]
    status, out, err = run(argv, capfd)
    assert status == 0, err
    assert closeness(tmp_path / "1.png", astronaut) > 18


def test_palette_created_while_the_batch_runs_is_kept(
    tmp_path, china, capfd, monkeypatch
):
    write_image(tmp_path / "a.png", china[::8, ::8])
    target = tmp_path / "p.gpl"
    format_gpl = skquant.io._palettes._format_gpl

    def racing_format_gpl(palette, name):
        target.write_text("GIMP Palette\n1 2 3\n")  # another program, meanwhile
        return format_gpl(palette, name)

    monkeypatch.setattr(skquant.io._palettes, "_format_gpl", racing_format_gpl)
    status, out, err = run([tmp_path / "a.png", "--save-palette", target], capfd)
    message = one_error_line(err, status, code=1)
    assert "already exists" in message and "--overwrite" in message
    assert target.read_text() == "GIMP Palette\n1 2 3\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "p.gpl"]


# =============================================================================
# Clear errors instead of tracebacks and hangs
# =============================================================================


def test_deeply_nested_json_palette(tmp_path, two_photos, capfd):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    argv = [tmp_path / "1.png", "-o", tmp_path / "o.png"]
    status, out, err = run(argv + ["--palette", tmp_path / "deep.json"], capfd)
    message = one_error_line(err, status, code=2)
    assert "deep.json" in message and "nested too deeply" in message


def test_palette_linked_to_a_device(tmp_path, two_photos, capfd):
    os.symlink("/dev/zero", tmp_path / "zero.hex")
    argv = [tmp_path / "1.png", "-o", tmp_path / "o.png"]
    status, out, err = run(argv + ["--palette", tmp_path / "zero.hex"], capfd)
    message = one_error_line(err, status, code=2)
    assert "zero.hex" in message and "not a regular file" in message


def test_oversized_palette_file(tmp_path, two_photos, capfd):
    (tmp_path / "big.hex").write_bytes(b"#000000\n" * (2 * 2**20 + 1))
    argv = [tmp_path / "1.png", "-o", tmp_path / "o.png"]
    status, out, err = run(argv + ["--palette", tmp_path / "big.hex"], capfd)
    message = one_error_line(err, status, code=2)
    assert "larger than 16 MiB" in message


@pytest.mark.parametrize(
    "name, text, where",
    [
        ("long.gpl", "GIMP Palette\n1 2 3\n" + "9" * 5000 + " 0 0\n", "line 3"),
        ("long.json", '["#102030", [' + "9" * 5000 + ", 0, 0]]", "colors[1]"),
    ],
)
def test_palette_number_with_thousands_of_digits(
    tmp_path, two_photos, capfd, name, text, where
):
    (tmp_path / name).write_text(text)
    argv = [tmp_path / "1.png", "-o", tmp_path / "o.png"]
    status, out, err = run(argv + ["--palette", tmp_path / name], capfd)
    message = one_error_line(err, status, code=2)
    assert name in message and where.replace("colors", "entry ") in message.replace(
        "entry colors", "entry "
    )
    assert "digits" not in message and len(message) < 400


def test_duration_beyond_what_a_gif_stores(tmp_path, two_photos, capfd):
    argv = [tmp_path / "1.png", "--animate", tmp_path / "a.gif"]
    status, out, err = run(argv + ["--duration", "700000"], capfd)
    assert status == 2 and "at most 655350 ms" in err[-1]
    assert not (tmp_path / "a.gif").exists()
    with pytest.raises(ValueError, match=r"\[0, 655350\] milliseconds"):
        skquant.io.write_animated_gif(
            tmp_path / "b.gif", [np.zeros((2, 2), int)], [[0, 0, 0]], duration=700000
        )


def test_file_name_not_in_the_locale_encoding(tmp_path, two_photos):
    odd = os.fsencode(tmp_path) + b"/caf\xe9.png"
    os.rename(tmp_path / "0.png", odd)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONUTF8": "0"}
    env.pop("PYTHONIOENCODING", None)
    proc = subprocess.run(
        [sys.executable, "-m", "skquant", os.fsencode(tmp_path / "1.png"), odd]
        + [b"-k", b"4", b"-o", os.fsencode(tmp_path / "out") + b"/"],
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"Traceback" not in proc.stderr
    assert sorted(os.listdir(os.fsencode(tmp_path / "out"))) == [
        b"1.png",
        b"caf\xe9.png",
    ]
    assert b"caf\\udce9.png" in proc.stdout  # named, escaped


@pytest.mark.parametrize("name", ["download_all", "data_dir", "lfw_subset", "eagle"])
def test_sample_names_are_bundled_images_only(tmp_path, capfd, monkeypatch, name):
    import skimage.data

    def no_download(*args, **kwargs):
        raise AssertionError("skquant asked scikit-image to download data")

    monkeypatch.setattr(skimage.data, "download_all", no_download)
    status, out, err = run([f"sample:{name}", "-o", tmp_path / "o.png"], capfd)
    message = one_error_line(err, status, code=1)
    assert f"unknown sample image {name!r}" in message and "astronaut" in message
    assert not (tmp_path / "o.png").exists()


def test_sample_photos_still_work(tmp_path, capfd, china):
    status, out, err = run(
        ["sample:china.jpg", "-k", "4", "-o", tmp_path / "c.png"], capfd
    )
    assert status == 0, err
    assert read_image(tmp_path / "c.png", mode="rgb").shape == china.shape


def test_recursive_glob_over_a_symlink_loop_ends(tmp_path, two_photos):
    tree = tmp_path / "tree" / "a"
    tree.mkdir(parents=True)
    os.rename(tmp_path / "1.png", tree / "x.png")
    os.symlink("..", tree / "loop")
    os.symlink(".", tree / "self")
    proc = subprocess.run(
        [sys.executable, "-m", "skquant", f"{tmp_path}/tree/**/*.png", "-k", "4"]
        + ["-o", f"{tmp_path}/out/"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(tmp_path / "out") == ["x.png"]


def test_read_only_folder_names_the_output(tmp_path, two_photos, capfd, monkeypatch):
    # Simulated: tests may run as root, for whom no folder is read-only.
    def refuse(folder, base):
        name = os.path.join(folder, f".{base}.1234.tmp")
        raise PermissionError(errno.EACCES, "Permission denied", name)

    monkeypatch.setattr(skquant.io._files, "_open_temporary", refuse)
    status, out, err = run([tmp_path / "1.png", "-o", tmp_path / "o.png"], capfd)
    message = one_error_line(err, status, code=1)
    assert "o.png" in message and "permission denied" in message
    assert ".tmp" not in message


def test_full_disk_names_the_output(tmp_path, two_photos, capfd, monkeypatch):
    def full(pil_image, fp, fmt, **params):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(skquant.io._pillow, "_pil_save", full)
    status, out, err = run([tmp_path / "1.png", "-o", tmp_path / "o.png"], capfd)
    message = one_error_line(err, status, code=1)
    assert "o.png" in message and "no space left on device" in message
    assert "1.png" not in message


def test_unreached_target_speaks_in_option_names(tmp_path, two_photos, capfd):
    argv = [tmp_path / "1.png", "-k", "4", "--min-psnr", "60"]
    status, out, err = run(argv + ["-o", tmp_path / "o.png"], capfd)
    assert status == 0
    (warning,) = [line for line in err if line.startswith("skquant: warning:")]
    assert "-k 4" in warning and "--min-psnr 60" in warning
    assert not re.search(r"max_colors|min_psnr|max_delta_e", warning)


def test_output_in_new_nested_folders(tmp_path, two_photos, capfd):
    out = tmp_path / "new" / "sub" / "x.png"
    status, _, err = run([tmp_path / "1.png", "-k", "4", "-o", out], capfd)
    assert status == 0, err
    assert out.exists()


def test_unexpected_error_is_one_line(tmp_path, two_photos, capfd, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli._running, "expand_inputs", broken)
    status, out, err = run([tmp_path / "1.png", "-o", tmp_path / "o.png"], capfd)
    message = one_error_line(err, status, code=1)
    assert "RuntimeError: a bug" in message


# =============================================================================
# --stats on what shows
# =============================================================================


def test_stats_leave_fully_transparent_pixels_out(tmp_path, china, capfd):
    photo = np.dstack([china, np.full(china.shape[:2], 255, np.uint8)])
    photo[:, : china.shape[1] // 3, 3] = 0
    write_image(tmp_path / "rgba.png", photo)
    argv = [tmp_path / "rgba.png", "-k", "8", "-o", tmp_path / "o.png", "--stats"]
    status, out, err = run(argv, capfd)
    assert status == 0, err
    psnr, delta_e = map(
        float, re.search(r"PSNR (\S+) dB, dE00 (\S+),", out[0]).groups()
    )
    with Image.open(tmp_path / "o.png") as im:
        result = np.array(im.convert("RGBA"))
    visible = photo[..., 3] > 0
    # Outside oracles on the visible pixels only: scikit-image's PSNR and
    # CIEDE2000.
    expected_psnr = skimage_psnr(photo[visible], result[visible], data_range=255)
    lab_true = rgb2lab(photo[visible][None, :, :3])
    lab_test = rgb2lab(result[visible][None, :, :3])
    expected_delta_e = deltaE_ciede2000(lab_true, lab_test).mean()
    assert psnr == pytest.approx(expected_psnr, abs=0.006)
    assert delta_e == pytest.approx(expected_delta_e, abs=0.006)
    # Counting the transparent third would report a far worse figure.
    assert skimage_psnr(photo, result, data_range=255) < psnr - 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-k", "9" * 5000], "expected a positive integer, got '99999"),
        (["-k", "1e3"], "expected a positive integer, got '1e3'"),
        (["--seed", "-1"], "expected an integer in [0, 4294967295], got -1"),
        (["--seed", str(2**40)], "expected an integer in [0, 4294967295]"),
        (["--min-psnr", "nan"], "expected a positive finite number, got 'nan'"),
        (["--sample-size", "9" * 5000], "expected 'auto', 'all' or a positive"),
        (["--\udcff"], "unrecognized arguments: --\\udcff"),
        (["16"], "for 16 colours use -k 16"),
    ],
)
def test_hostile_arguments_are_one_line(tmp_path, two_photos, capfd, argv, message):
    status, out, err = run([tmp_path / "1.png", *argv], capfd)
    line = one_error_line(err, status, code=2)
    assert message in line and len(line) < 200
