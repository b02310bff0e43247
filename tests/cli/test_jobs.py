"""``--jobs N``: threads of the one process (no worker process paying the
import and the compiled kernels again), each image's warnings reported with
that image, and Ctrl-C that starts no more images."""

import os
import threading

import numba
import numpy as np
import pytest

from skquant._cli import _parallel, _running, main
from skquant.io import read_image, write_image


@pytest.fixture
def batch(tmp_path, small_photos):
    """Eight inputs: four real photos, each followed by a two-colour image."""
    folder = tmp_path / "in"
    folder.mkdir()
    flat = np.zeros((40, 60, 3), np.uint8)
    flat[:, 30:] = (200, 120, 40)
    for i, photo in enumerate(small_photos):
        write_image(folder / f"{i}a_photo.png", photo)
        write_image(folder / f"{i}b_flat.png", flat)
    return folder


def run(argv, capsys):
    status = main([os.fspath(a) for a in argv])
    return (status, *capsys.readouterr())


def test_jobs_run_in_threads_of_this_process(batch, tmp_path, monkeypatch, capsys):
    seen = []
    process = _running._process

    def recording(task):
        name = threading.current_thread().name
        seen.append((os.getpid(), name, numba.get_num_threads()))
        return process(task)

    monkeypatch.setattr(_running, "_process", recording)
    status, out, err = run([batch, "-k", "4", "-o", tmp_path / "j/", "-j", "2"], capsys)
    assert (status, err) == (0, "") and len(out.splitlines()) == 8
    assert {pid for pid, _, _ in seen} == {os.getpid()}
    assert len(seen) == 8 and len({name for _, name, _ in seen}) == 2
    # The kernels of each job take half of numba's threads.
    share = max(1, numba.config.NUMBA_NUM_THREADS // 2)
    assert {n for _, _, n in seen} == {share}
    status, _, _ = run([batch, "-k", "4", "-o", tmp_path / "s/"], capsys)
    assert status == 0
    for name in os.listdir(batch):
        np.testing.assert_array_equal(
            read_image(tmp_path / "j" / name), read_image(tmp_path / "s" / name)
        )


def test_each_image_keeps_its_own_warnings(batch, tmp_path, capsys):
    # Four colours reach 60 dB on the two-colour images, not on the photos:
    # the "do not reach the target" warning belongs to the photos only.
    argv = [batch, "-k", "4", "--min-psnr", "60", "-o", tmp_path / "o/", "-j", "2"]
    status, out, err = run(argv, capsys)
    assert status == 0
    warned = [line for line in err.splitlines() if "do not reach" in line]
    assert len(warned) == 4
    assert all("_photo.png" in line and "_flat.png" not in line for line in warned)
    assert len(out.splitlines()) == 8


def test_interrupt_starts_no_more_images(batch, tmp_path, monkeypatch, capsys):
    calls = []

    def interrupted(task):
        calls.append(task.index)
        raise KeyboardInterrupt

    monkeypatch.setattr(_running, "_process", interrupted)
    status, _, err = run([batch, "-k", "4", "-o", tmp_path / "o/", "-j", "2"], capsys)
    assert status == 130 and "interrupted" in err
    assert len(calls) <= 4  # at most two per thread were started
    assert not (tmp_path / "o").exists() or not os.listdir(tmp_path / "o")


def test_main_thread_reads_ahead_while_the_jobs_start(batch, tmp_path, capsys):
    # The first images start at once in the job threads; the others are
    # read by the calling thread meanwhile (the jobs' first images wait for
    # numba and the compiled kernels), then quantized as read: same files.
    readers = []
    read = _running.read_source

    def recording(source):
        readers.append((source.label, threading.current_thread().name))
        return read(source)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_running, "read_source", recording)
        argv = [batch, "-k", "4", "-o", tmp_path / "j/", "-j", "2"]
        status, out, err = run(argv, capsys)
    assert (status, err) == (0, "") and len(out.splitlines()) == 8
    assert len(readers) == 8  # each image read once
    by_main = [label for label, name in readers if name == "MainThread"]
    assert 0 < len(by_main) <= 4  # at most the images not started at once
    status, _, _ = run([batch, "-k", "4", "-o", tmp_path / "s/"], capsys)
    assert status == 0
    for name in os.listdir(batch):
        np.testing.assert_array_equal(
            read_image(tmp_path / "j" / name), read_image(tmp_path / "s" / name)
        )


def test_an_input_that_fails_to_read_ahead_is_reported_as_without(
    batch, tmp_path, capsys
):
    (batch / "9_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    errors = {}
    for jobs in ("1", "2"):
        argv = [batch, "-k", "4", "-o", tmp_path / f"o{jobs}/", "-j", jobs]
        status, out, err = run(argv, capsys)
        assert status == 1 and len(out.splitlines()) == 8
        errors[jobs] = err.replace(f"o{jobs}", "o")
    assert errors["1"] == errors["2"] and "9_broken.png" in errors["2"]


def test_read_ahead_holds_at_most_its_budget(monkeypatch):
    monkeypatch.setattr(_parallel, "READ_AHEAD_BYTES", 250)
    prepared, at_open = [], []
    gate = threading.Event()

    def prepare(item):
        prepared.append(item)
        return item, 100  # bytes

    def work(item):
        gate.wait(10)
        return item

    def open_gate():
        at_open.append(list(prepared))
        gate.set()

    threading.Timer(0.5, open_gate).start()
    results = list(_parallel.run_in_threads(work, range(20), 2, prepare=prepare))
    assert sorted(results) == list(range(20))
    # While the first four ran, three were prepared (300 bytes, the first
    # past 250), then no more; later ones in order as threads took them.
    assert at_open == [[4, 5, 6]]
    assert prepared == sorted(prepared)
