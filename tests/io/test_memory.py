"""Peak memory of reading an image and of the command writing an indexed
PNG, measured in a fresh process (resident high-water mark, Linux)."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from skquant.io import read_image, write_image

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc"
)

MEASURE = r"""
import sys
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
what, path, out = sys.argv[1:4]
import ctypes
# Blocks above 1 MiB always from mmap, returned on free: freed memory kept by
# glibc would hide a later peak from the high-water mark.
ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
import os, numpy as np
from skquant import _cli, io
# Warm up on the same file: imports, compiled kernels and thread pools are
# a fixed cost, not the image's (at 12 MP they would weigh as much as it).
warm = out + ".warm.png"
if what == "read":
    io.read_image(path)
else:
    assert _cli.main([path, "-k", "16", "-o", warm, "-q", "--overwrite"]) == 0
    os.unlink(warm)
ctypes.CDLL("libc.so.6").malloc_trim(0)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = hwm()
if what == "read":
    io.read_image(path)
else:
    assert _cli.main([path, "-k", "16", "-o", out, "-q", "--overwrite"]) == 0
print(hwm() - base)
"""


def peak(what, path, out):
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, what, os.fspath(path), os.fspath(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


@pytest.fixture(scope="module")
def big_photo(tmp_path_factory, china):
    """china.jpg upscaled to 12 MP (36 MB decoded) as PNG and JPEG."""
    photo = cv2.resize(china, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    folder = tmp_path_factory.mktemp("big")
    write_image(folder / "photo.png", photo)
    write_image(folder / "photo.jpg", photo)
    return folder, photo.nbytes


@pytest.mark.parametrize("name", ["photo.png", "photo.jpg"])
def test_read_image_peaks_below_one_and_a_half_images(big_photo, name):
    folder, nbytes = big_photo
    # np.array(pil_image) took 3.3x: Pillow's copy (4 bytes per RGB pixel),
    # a bytes copy and the array.
    assert peak("read", folder / name, folder / "unused.png") <= 1.5 * nbytes


def test_command_writing_an_indexed_png_peaks_below_three_images(big_photo, tmp_path):
    folder, nbytes = big_photo
    out = tmp_path / "out.png"
    # Labels found again from the mapped colours took 14.6x (uint64 keys,
    # sorting, int64 positions).
    assert peak("cli", folder / "photo.png", out) <= 3 * nbytes
    assert out.exists()


def test_zero_filled_png_is_cheap(tmp_path):
    path = tmp_path / "zeros.png"
    write_image(path, np.zeros((3000, 4000, 3), np.uint8))
    assert os.path.getsize(path) < 200_000
    assert peak("cli", path, tmp_path / "out.png") <= 3 * 36e6


def test_read_image_of_an_indexed_png_peaks_below_one_and_a_half_images(
    big_photo, tmp_path
):
    # Indexed PNGs (what skquant writes for K <= 256) went through
    # im.convert("RGB"): 2.7x the RGB image at peak.
    from skquant import quantize

    folder, nbytes = big_photo
    path = tmp_path / "indexed.png"
    write_image(path, quantize(read_image(folder / "photo.png"), 16))
    with Image.open(path) as im:
        assert im.mode == "P"
    assert peak("read", path, tmp_path / "unused.png") <= 1.5 * nbytes
