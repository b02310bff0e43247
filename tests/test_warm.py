"""Compiling on two cores when numba's cache is cold (skquant._warm)."""

import os
import threading
import time

import pytest

from skquant import _warm
from tests.kernels.test_cache import _python


def kernel_a(x):
    return x


def kernel_b(x):
    return x


@pytest.fixture
def claims(tmp_path, monkeypatch):
    """This process as the helper of its parent (claims in ``tmp_path``)."""
    monkeypatch.setenv(_warm.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(_warm.ENV_MAIN, str(os.getppid()))
    return tmp_path


def test_a_kernel_is_compiled_by_whoever_claims_it_first(claims):
    """The first claim compiles; a second waits until it is saved, then
    loads it (True); other kernels and signatures are claimed apart."""
    assert _warm.before_compile(kernel_a, ("int64",)) is False  # ours
    assert _warm.before_compile(kernel_b, ("int64",)) is False
    assert _warm.before_compile(kernel_a, ("float64",)) is False

    def save():
        time.sleep(0.2)
        with _warm.saving(kernel_a, ("int64",)):
            pass

    saver = threading.Thread(target=save)
    start = time.monotonic()
    saver.start()
    assert _warm.before_compile(kernel_a, ("int64",)) is True
    assert time.monotonic() - start >= 0.15
    saver.join()


def test_no_wait_for_a_process_that_has_gone(claims, monkeypatch):
    """A claim of a process that exited (killed mid-compile, say) is
    compiled here at once."""
    assert _warm.before_compile(kernel_a, ("int32",)) is False
    monkeypatch.setenv(_warm.ENV_MAIN, "1")  # not our parent
    start = time.monotonic()
    assert _warm.before_compile(kernel_a, ("int32",)) is False
    assert time.monotonic() - start < 1


def test_no_claims_and_no_helper_without_a_fit(monkeypatch):
    """Outside a helper and before any fit said what is coming, a compile
    goes as before: nothing is started, nothing is claimed."""
    monkeypatch.delenv(_warm.ENV_DIR, raising=False)
    monkeypatch.setattr(_warm, "_plan", None)
    monkeypatch.setattr(_warm, "_tried", False)
    monkeypatch.setattr(_warm, "_helper", None)
    assert _warm.before_compile(kernel_a, ("int64",)) is False
    assert _warm._helper is None


def _run(code, **env):
    return _python(code, env=dict(os.environ, **env)).split()


_FIT_AND_DITHER = """
import os, sys
import numpy as np
from sklearn.datasets import load_sample_image
from skquant import ColorQuantizer, _warm
from skquant._kernels import _diffusion
photo = load_sample_image("china.jpg")[::4, ::4]
ColorQuantizer(8, random_state=0).fit(photo).transform(photo)
ColorQuantizer(8, random_state=0, dither="floyd-steinberg").fit(photo).transform(photo)
helper = _warm._helper
print(helper is not None, sum(_diffusion._fs_rows.stats.cache_hits.values()))
if helper:
    print(helper["proc"].pid, helper["dir"])
"""


@pytest.mark.slow
def test_a_cold_process_compiles_dithering_in_a_helper(tmp_path):
    """With an empty cache, a fit starts one helper, which compiles the
    dithering kernel the main process then loads (a cache hit, never
    compiled here); the helper is gone and its folder removed after the
    main process exits. The next process finds every kernel in the cache
    and starts nothing."""
    cache = str(tmp_path / "cache")
    out = _run(_FIT_AND_DITHER, NUMBA_CACHE_DIR=cache)
    assert out[:2] == ["True", "1"]
    pid, folder = int(out[2]), out[3]
    assert not os.path.exists(folder)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped (a zombie would still answer)
    assert _run(_FIT_AND_DITHER, NUMBA_CACHE_DIR=cache) == ["False", "1"]
