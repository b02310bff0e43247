"""The command's checks of its outputs take time in proportion to the number
of files, not to its square (issue 12: 2,000 files took 65 s)."""

import os

import pytest

from skquant._cli import main
from skquant.io import write_image


def count_file_lookups(monkeypatch, tmp_path, photo, n, extra):
    folder = tmp_path / f"in{n}"
    folder.mkdir()
    for i in range(n):
        write_image(folder / f"img{i:03d}.png", photo)
    calls = 0
    real_stat, real_lstat = os.stat, os.lstat

    def stat(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real_stat(*args, **kwargs)

    def lstat(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real_lstat(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "stat", stat)
        patch.setattr(os, "lstat", lstat)
        out = tmp_path / f"out{n}"
        status = main([os.fspath(folder), "-k", "2", "-q", "-o", f"{out}/", *extra])
    assert status == 0
    assert len(os.listdir(out)) == n
    return calls


@pytest.mark.parametrize(
    "extra", [[], ["--shared-palette"]], ids=["separate", "shared"]
)
def test_output_checks_are_linear_in_the_number_of_files(
    monkeypatch, tmp_path, china, extra
):
    photo = china[:8, :8]
    small = count_file_lookups(monkeypatch, tmp_path, photo, 30, extra)
    large = count_file_lookups(monkeypatch, tmp_path, photo, 90, extra)
    # Three times the files: three times the look-ups (all pairs: nine times).
    assert large < 3.5 * small, (small, large)
