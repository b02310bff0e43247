"""Atomic writes: a failed write keeps the existing file; overwrite=False
never replaces one."""

import os
import stat

import numpy as np
import pytest
from PIL import Image

from skquant.io import (
    read_image,
    write_animated_gif,
    write_image,
    write_indexed,
    write_palette,
)
from tests.io._formats import folder_listing


def test_failed_encoder_leaves_existing_file_untouched(tmp_path, astro, monkeypatch):
    path = tmp_path / "keep.png"
    write_image(path, astro)
    before = path.read_bytes()

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"half an image")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="simulated"):
        write_image(path, astro[::-1])
    with pytest.raises(OSError, match="simulated"):
        write_indexed(path, np.zeros((4, 4), int), [[0, 0, 0]])
    with pytest.raises(OSError, match="simulated"):
        write_image(tmp_path / "new.png", astro)
    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == ["keep.png"]


def test_failed_rename_leaves_no_temporary_file(tmp_path, astro, monkeypatch):
    path = tmp_path / "keep.png"
    write_image(path, astro)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise PermissionError("rename refused (simulated)")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PermissionError, match="simulated"):
        write_image(path, astro[::-1].astype(np.uint16))
    with pytest.raises(PermissionError, match="simulated"):
        write_palette(tmp_path / "keep.gpl", [[0, 0, 0]])
    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == ["keep.png"]


def test_overwrite_false(tmp_path, astro, astro_quantized):
    labels, palette = astro_quantized
    path = tmp_path / "a.png"
    write_image(path, astro, overwrite=False)
    write_animated_gif(path.with_suffix(".gif"), [labels], palette, overwrite=False)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="already exists and overwrite=False"):
        write_image(path, astro[::-1], overwrite=False)
    with pytest.raises(FileExistsError):
        write_indexed(path, labels, palette, overwrite=False)
    with pytest.raises(FileExistsError):
        write_animated_gif(path.with_suffix(".gif"), [labels], palette, overwrite=False)
    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == ["a.gif", "a.png"]


def test_overwrite_false_never_replaces_a_file_that_appears(
    tmp_path, astro, monkeypatch
):
    # Another process creates the file after the early existence check.
    path = tmp_path / "race.png"
    path.write_bytes(b"theirs")
    monkeypatch.setattr(os.path, "lexists", lambda p: False)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        write_image(path, astro, overwrite=False)
    assert path.read_bytes() == b"theirs"
    assert folder_listing(tmp_path) == ["race.png"]


def test_overwrite_keeps_permissions(tmp_path, astro):
    path = tmp_path / "a.png"
    write_image(path, astro)
    os.chmod(path, 0o640)
    write_image(path, astro[::-1])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    np.testing.assert_array_equal(read_image(path), astro[::-1])
