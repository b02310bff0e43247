"""Hostile files through ``skquant.io.read_image`` and the ``skquant`` command.

Truncated and corrupt images, non-images with an image extension, empty files,
named pipes and devices, and decompression bombs (headers that claim an
enormous size over a few bytes of data) must be refused with one clear
message, before any large allocation. The command must then exit non-zero
with a one-line error, write nothing, and leave existing files untouched,
including when the failure is injected while the output is being written.
"""

import errno
import functools
import io
import os
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

import skquant.io
from skquant._cli import main
from skquant.io import read_image, write_image
from tests._memory import PeakRSS
from tests.io._formats import png_chunk

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: Resident memory a refused file may cost (Pillow's parser, buffers).
REFUSE_RSS_BYTES = 32 * 2**20


# =============================================================================
# Crafting files
# =============================================================================


def png_bomb(width, height, bit_depth=8, colour_type=2):
    """A valid PNG header claiming ``width x height`` over a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + png_chunk(b"IEND", b"")
    )


def gif_bomb(screen, frame):
    """A GIF whose logical screen or first frame claims an enormous size."""
    header = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0)
    colours = b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0)
    return header + colours + descriptor + b"\x02\x02\x4c\x01\x00\x3b"


def jpeg_bomb(jpeg):
    """A real JPEG whose start-of-frame claims 65000 x 65000 pixels."""
    data = bytearray(jpeg)
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 65000, 65000)
    return bytes(data)


def bmp_bomb():
    info = struct.pack("<IiiHHIIiiII", 40, 50000, 50000, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 154, 0, 0, 54) + info + b"\x00" * 100


@functools.cache
def inflates_to_256_mib():
    """About 256 KiB of deflate data that inflate to 256 MiB of zeros."""
    compressor = zlib.compressobj(9)
    zeros = b"\x00" * 2**20
    return b"".join(compressor.compress(zeros) for _ in range(256)) + compressor.flush()


def text_bomb_png(png):
    """A real PNG with a zTXt chunk that inflates to 256 MiB of zeros."""
    ztxt = png_chunk(b"zTXt", b"Comment\x00\x00" + inflates_to_256_mib())
    return png[:33] + ztxt + png[33:]


def encode(image, fmt):
    if image.dtype == np.uint16:
        ok, data = cv2.imencode(".png", image[:, :, ::-1])
        assert ok
        return data.tobytes()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


def flip_bytes(data, start, stop):
    return data[:start] + bytes(b ^ 0xA5 for b in data[start:stop]) + data[stop:]


@pytest.fixture(scope="module")
def encoded(china):
    photo = np.ascontiguousarray(china[::2, ::2])
    return {
        "png": encode(photo, "PNG"),
        "jpg": encode(photo, "JPEG"),
        "gif": encode(photo, "GIF"),
        "png16": encode(photo.astype(np.uint16) * 257, "PNG"),
    }


TRUNCATED = "cannot read image '.*{name}': (?i:.*(truncated|not a recognised|broken))"
CORRUPT = "cannot read image '.*{name}': "
NOT_IMAGE = "cannot read image '.*{name}': not a recognised image format"
EMPTY = "cannot read image '.*{name}': the file is empty"
BOMB = "image '.*{name}' claims .*pixels, more than .*decompression bomb"


def truncated(key, fraction):
    return lambda e: e[key][: int(len(e[key]) * fraction)]


#: name -> (build(encoded) -> bytes, message pattern with {name})
HOSTILE = {}
for _key, _ext in (("png", "png"), ("jpg", "jpg"), ("gif", "gif"), ("png16", "png")):
    for _fraction in (0.02, 0.5, 0.98):
        _name = f"truncated-{_key}-{int(_fraction * 100)}.{_ext}"
        HOSTILE[_name] = (truncated(_key, _fraction), TRUNCATED)
HOSTILE.update(
    {
        "signature-only.png": (lambda e: PNG_SIGNATURE, NOT_IMAGE),
        "bit-flips.png": (lambda e: flip_bytes(e["png"], 200, 400), CORRUPT),
        "bit-flips-16.png": (lambda e: flip_bytes(e["png16"], 200, 400), CORRUPT),
        "bad-deflate.png": (
            lambda e: (
                e["png"][:33]
                + png_chunk(b"IDAT", b"\x78\x9c" + b"\xff" * 500)
                + e["png"][-12:]
            ),
            CORRUPT,
        ),
        "bit-flips.jpg": (lambda e: flip_bytes(e["jpg"], 150, 170), CORRUPT),
        "text.png": (lambda e: b"this is not an image\n" * 20, NOT_IMAGE),
        "page.jpg": (lambda e: b"<!doctype html><title>404</title>", NOT_IMAGE),
        "archive.gif": (lambda e: b"PK\x03\x04" + bytes(200), NOT_IMAGE),
        "nul-bytes.tif": (lambda e: bytes(4096), NOT_IMAGE),
        "zero.png": (lambda e: b"", EMPTY),
        "zero.jpg": (lambda e: b"", EMPTY),
        "zero.gif": (lambda e: b"", EMPTY),
        "bomb.png": (lambda e: png_bomb(100_000, 100_000), BOMB),
        "bomb-16-bit.png": (lambda e: png_bomb(100_000, 100_000, 16, 6), BOMB),
        "bomb-gray.png": (lambda e: png_bomb(100_000, 100_000, 8, 0), BOMB),
        "bomb-max.png": (lambda e: png_bomb(2**31 - 1, 2**31 - 1), BOMB),
        "bomb-just-over.png": (lambda e: png_bomb(12_000, 12_000), BOMB),
        "bomb-screen.gif": (lambda e: gif_bomb((60000, 60000), (10, 10)), BOMB),
        "bomb-frame.gif": (lambda e: gif_bomb((10, 10), (60000, 60000)), BOMB),
        "bomb.jpg": (lambda e: jpeg_bomb(e["jpg"]), BOMB),
        "bomb.bmp": (lambda e: bmp_bomb(), BOMB),
        "zero-width.png": (lambda e: png_bomb(0, 100), NOT_IMAGE),
        "text-bomb.png": (
            lambda e: text_bomb_png(e["png"]),
            "cannot read image .*text-bomb.png.*Decompressed",
        ),
    }
)


def hostile_file(folder, encoded, name):
    """Write the hostile file ``name`` in ``folder``; return (path, data)."""
    data = HOSTILE[name][0](encoded)
    path = folder / name
    path.write_bytes(data)
    return path, data


# =============================================================================
# Memory
# =============================================================================


# =============================================================================
# read_image
# =============================================================================


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_read_image_refuses_hostile_files(tmp_path, encoded, name):
    path, data = hostile_file(tmp_path, encoded, name)
    pattern = HOSTILE[name][1].format(name=name)
    with PeakRSS() as rss, pytest.raises(ValueError, match=pattern):
        read_image(path)
    assert rss.grown < REFUSE_RSS_BYTES, rss.grown / 2**20
    assert path.read_bytes() == data


@pytest.mark.parametrize("fmt", ["jpg", "gif"])
@pytest.mark.parametrize("seed", range(4))
def test_corrupt_scan_data_without_checksums(tmp_path, encoded, fmt, seed):
    """JPEG and GIF carry no checksum: damaged scan data may decode to noise,
    but only ever as a clean error or an image of the declared size."""
    data = bytearray(encoded[fmt])
    rng = np.random.default_rng(seed)
    start = int(rng.integers(len(data) // 4, len(data) // 2))
    data[start : start + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path = tmp_path / f"noise.{fmt}"
    path.write_bytes(bytes(data))
    try:
        image = read_image(path)
    except ValueError as exc:
        assert str(exc).startswith(f"cannot read image '{path}'")
    else:
        assert image.shape == (214, 320, 3) and image.dtype == np.uint8


def test_bomb_below_the_limit_is_decoded_lazily(tmp_path):
    """11000 x 12000 (132 megapixels, under max_pixels) over a 1 KiB IDAT:
    refused as truncated, without touching the 396 MB it claims."""
    path = tmp_path / "big-claim.png"
    path.write_bytes(png_bomb(11_000, 12_000))
    with PeakRSS() as rss, pytest.raises(ValueError, match="truncated"):
        read_image(path)
    assert rss.grown < REFUSE_RSS_BYTES, rss.grown / 2**20


def test_max_pixels_refuses_before_decoding(tmp_path, astronaut):
    path = tmp_path / "astronaut.png"
    write_image(path, astronaut)
    with pytest.raises(ValueError, match=r"claims 512x512 = 262144 pixels"):
        read_image(path, max_pixels=512 * 512 - 1)
    assert read_image(path, max_pixels=512 * 512).shape == (512, 512, 3)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_without_writer_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a recognised image format"):
        read_image(fifo)
    palette = tmp_path / "pipe.gpl"
    os.mkfifo(palette)
    with pytest.raises(ValueError, match="is not a regular file"):
        skquant.io.read_palette(palette)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_not_images(tmp_path, device):
    link = tmp_path / "photo.png"
    link.symlink_to(device)
    with PeakRSS() as rss, pytest.raises(ValueError, match="cannot read image"):
        read_image(link)
    assert rss.grown < REFUSE_RSS_BYTES


def test_folder_and_missing_file(tmp_path):
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(IsADirectoryError, match="folder.png"):
        read_image(tmp_path / "folder.png")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(tmp_path / "missing.png")


# =============================================================================
# The skquant command
# =============================================================================


@pytest.fixture
def workdir(tmp_path, china):
    """A folder with one good photo and a precious existing output."""
    write_image(tmp_path / "good.png", china[::4, ::4])
    (tmp_path / "existing.png").write_bytes(b"precious")
    return tmp_path


def run(argv, capfd):
    """Run the command; return (status, stdout lines, stderr lines).

    ``capfd`` also catches what C libraries (libpng, OpenCV) print.
    """
    status = main([os.fspath(a) for a in argv])
    out, err = capfd.readouterr()
    return status, out.splitlines(), err.splitlines()


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    "name",
    [
        "truncated-png-50.png",
        "truncated-jpg-98.jpg",
        "truncated-gif-50.gif",
        "truncated-png16-50.png",
        "bit-flips-16.png",
        "bad-deflate.png",
        "text.png",
        "zero.png",
        "bomb.png",
        "bomb-16-bit.png",
        "bomb.jpg",
        "text-bomb.png",
    ],
)
def test_command_refuses_hostile_file(workdir, encoded, capfd, name):
    hostile_file(workdir, encoded, name)
    before = listing(workdir)
    with PeakRSS() as rss:
        status, out, err = run([workdir / name, "-o", workdir / "out.png"], capfd)
    assert status == 1
    assert len(err) == 1 and err[0].startswith("skquant: error: ")
    assert name in err[0]
    assert listing(workdir) == before  # no output, no temporary file
    assert rss.grown < REFUSE_RSS_BYTES + 64 * 2**20
    # an existing output survives a failed run, even with --overwrite
    status, out, err = run(
        [workdir / name, "-o", workdir / "existing.png", "--overwrite"], capfd
    )
    assert status == 1 and len(err) == 1
    assert (workdir / "existing.png").read_bytes() == b"precious"
    assert listing(workdir) == before


def test_command_writes_the_good_files_and_reports_the_bad(workdir, encoded, capfd):
    for name in ("bomb.png", "zero.jpg", "truncated-png-50.png"):
        hostile_file(workdir, encoded, name)
    inputs = ["bomb.png", "good.png", "zero.jpg", "truncated-png-50.png"]
    status, out, err = run(
        [*(workdir / n for n in inputs), "-o", workdir / "out/", "-q"], capfd
    )
    assert status == 1
    assert len(err) == 3 and all(e.startswith("skquant: error: ") for e in err)
    assert listing(workdir / "out") == ["good.png"]


def test_shared_palette_writes_nothing_when_a_file_is_hostile(workdir, capfd):
    (workdir / "bomb.png").write_bytes(png_bomb(100_000, 100_000))
    argv = [workdir / "good.png", workdir / "bomb.png", "--shared-palette"]
    status, out, err = run([*argv, "-o", workdir / "out/"], capfd)
    assert status == 1
    assert "decompression bomb" in err[0] and "no file written" in err[-1]
    assert not (workdir / "out").exists() or listing(workdir / "out") == []
    status, out, err = run(
        [*argv[:2], "--animate", workdir / "existing.png", "--overwrite"], capfd
    )
    assert status != 0
    assert (workdir / "existing.png").read_bytes() == b"precious"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_command_on_a_folder_holding_a_named_pipe(workdir, capfd):
    (workdir / "existing.png").unlink()
    os.mkfifo(workdir / "pipe.png")
    status, out, err = run([workdir, "-o", workdir / "out/", "-q"], capfd)
    assert status == 1
    assert len(err) == 1 and "pipe.png" in err[0]
    assert "good.png" in listing(workdir / "out")


def failing_save(exception):
    """A stand-in for skquant.io._pillow._pil_save: writes half a file, then fails."""

    def save(pil_image, fp, fmt, **params):
        fp.write(b"\x89PNG partial data")
        raise exception

    return save


@pytest.mark.parametrize(
    "exception, status, message",
    [
        (OSError(errno.ENOSPC, "No space left on device"), 1, "no space left"),
        (OSError(errno.EIO, "Input/output error"), 1, "input/output error"),
        (ValueError("encoder exploded"), 1, "encoder exploded"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
    ids=["disk full", "I/O error", "encoder", "Ctrl-C"],
)
def test_failure_while_writing_keeps_the_existing_file(
    workdir, capfd, monkeypatch, exception, status, message
):
    monkeypatch.setattr(skquant.io._pillow, "_pil_save", failing_save(exception))
    before = listing(workdir)
    for output in ("existing.png", "new.png"):
        code, out, err = run(
            [workdir / "good.png", "-o", workdir / output, "--overwrite"], capfd
        )
        assert code == status
        assert len(err) == 1 and message in err[0].lower()
        assert (workdir / "existing.png").read_bytes() == b"precious"
        assert listing(workdir) == before  # no partial or temporary file


def full_disk(monkeypatch, keep=16):
    """Make every atomic write fail with ENOSPC after ``keep`` bytes."""
    original = skquant.io._files._open_temporary

    class FullFile:
        def __init__(self, fp):
            self.fp = fp

        def write(self, data):
            self.fp.write(bytes(data[:keep]))
            raise OSError(errno.ENOSPC, "No space left on device")

        def fileno(self):
            # Pillow writes straight to a file descriptor when it gets one
            raise io.UnsupportedOperation("fileno")

        def __getattr__(self, name):
            return getattr(self.fp, name)

        def __enter__(self):
            self.fp.__enter__()
            return self

        def __exit__(self, *exc):
            return self.fp.__exit__(*exc)

    def open_temporary(folder, base):
        tmp, fp = original(folder, base)
        return tmp, FullFile(fp)

    monkeypatch.setattr(skquant.io._files, "_open_temporary", open_temporary)


@pytest.mark.parametrize("output", ["existing.png", "existing.gif", "existing.jpg"])
def test_full_disk_keeps_the_existing_file(workdir, capfd, monkeypatch, output):
    (workdir / output).write_bytes(b"precious")
    before = listing(workdir)
    full_disk(monkeypatch)
    status, out, err = run(
        [workdir / "good.png", "-o", workdir / output, "--overwrite"], capfd
    )
    assert status == 1
    assert len(err) == 1 and "no space left on device" in err[0]
    assert (workdir / output).read_bytes() == b"precious"
    assert listing(workdir) == before


def test_full_disk_keeps_the_existing_palette(workdir, capfd, monkeypatch):
    text = "GIMP Palette\n  1   2   3\n"
    (workdir / "palette.gpl").write_text(text)
    before = listing(workdir)
    full_disk(monkeypatch)
    status, out, err = run(
        [workdir / "good.png", "--save-palette", workdir / "palette.gpl"]
        + ["--overwrite", "-q"],
        capfd,
    )
    assert status == 1
    assert len(err) == 1 and "no space left on device" in err[0]
    assert (workdir / "palette.gpl").read_text() == text
    assert listing(workdir) == before
